// The ablation viewer: its table equals `gmd ablate` for the same model and case, the reference is
// the all-present prediction when there is no seg, the dependence summary, slice rendering and sync.
#include <gtest/gtest.h>

#include <QCoreApplication>
#include <QDir>
#include <QImage>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTest>
#include <fstream>
#include <sstream>

#include "gmd/common/modality.hpp"
#include "gmd/io/case.hpp"
#include "gmd/panels/ablation_panel.hpp"
#include "gmd/panels/charts.hpp"
#include "gmd/pipeline/trust.hpp"
#include "gmd/viz/display.hpp"
#include "gmd/viz/palette.hpp"
#include "panels_test_env.hpp"

using namespace gmd::panels;
using panels_test::env;
namespace fs = std::filesystem;

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
QString out_dir() {
  const QString d = QStringLiteral(GMD_PANELS_TEST_OUT) + "/screens";
  QDir().mkpath(d);
  return d;
}
fs::path first_case() { return gmd::io::list_cases(env().data).at(0); }
gmd::pipeline::SegmentOptions cpu() {
  gmd::pipeline::SegmentOptions o;
  o.device = "cpu";
  return o;
}
// The last `n` comma-separated fields of a CSV line (the numeric columns of ablation.csv).
std::vector<double> last_fields(const std::string& line, std::size_t n) {
  std::vector<std::string> f;
  std::stringstream ss(line);
  std::string t;
  while (std::getline(ss, t, ',')) f.push_back(t);
  std::vector<double> out;
  for (std::size_t i = f.size() - n; i < f.size(); ++i) out.push_back(std::stod(f[i]));
  return out;
}
}  // namespace

TEST(AblationPanel, TableEqualsGmdAblateForTheSameModelAndCase) {
  ASSERT_TRUE(env().ok) << env().error;
  const auto c = gmd::io::load_case(gmd::io::discover_case(first_case()));
  const auto model = gmd::pipeline::Model::load(env().cli_run);
  AblationPanel panel;
  panel.resize(1100, 1000);
  panel.setSegmentOptions(cpu());
  panel.setCase(c);
  panel.setModel(model);
  QSignalSpy progress(&panel, &AblationPanel::progress);
  ASSERT_TRUE(panel.runBlocking()) << panel.lastError().toStdString();
  EXPECT_GE(progress.count(), 1);
  ASSERT_NE(panel.result(), nullptr);
  EXPECT_TRUE(panel.result()->against_truth);  // synthetic cases come with a seg
  EXPECT_EQ(panel.result()->entries.size(), 15u);

  const fs::path out = env().root / "cli_ablate";
  const auto r = panels_test::gmd({"ablate", "--model", QString::fromStdString(env().cli_run.string()), "--case",
                                   QString::fromStdString(first_case().string()), "--device", "cpu", "--out",
                                   QString::fromStdString(out.string())});
  ASSERT_EQ(r.rc, 0) << r.out.toStdString();
  const std::string cli_csv = slurp(out / "ablation.csv");
  EXPECT_EQ(panel.csv().toStdString(), cli_csv);

  // The table shows the same numbers, row by row in paper order.
  QTableWidget* t = panel.table();
  ASSERT_EQ(t->rowCount(), 15);
  std::stringstream lines(cli_csv);
  std::string line;
  std::getline(lines, line);  // header
  for (int row = 0; row < 15; ++row) {
    ASSERT_TRUE(static_cast<bool>(std::getline(lines, line)));
    const auto v = last_fields(line, 9);  // dice x3, hd95 x3, mL x3
    EXPECT_EQ(t->item(row, 0)->text().toStdString(), gmd::subset_name(gmd::all_subsets()[static_cast<std::size_t>(row)]));
    for (int k = 0; k < 9; ++k)
      EXPECT_NEAR(t->item(row, 2 + k)->text().toDouble(), v[static_cast<std::size_t>(k)], k < 3 ? 1e-4 : 1e-2)
          << "row " << row << " column " << k;
  }
  QString err;
  const QString csv_path = out_dir() + "/ablation_panel.csv";
  ASSERT_TRUE(panel.exportCsv(csv_path, &err)) << err.toStdString();
  EXPECT_EQ(slurp(csv_path.toStdString()), cli_csv);
  ASSERT_TRUE(panel.exportGridPng(out_dir() + "/ablation_grid.png", &err));
  const QImage grid(out_dir() + "/ablation_grid.png");
  EXPECT_GT(grid.width(), 600);
  render_widget(&panel).save(out_dir() + "/ablation_panel.png");
  panel.resize(520, 900);  // as in a narrow side panel
  render_widget(&panel).save(out_dir() + "/ablation_panel_narrow.png");
}

// A copy of the first case without its seg and without T2.
fs::path no_seg_case() {
  const fs::path src = first_case();
  const fs::path dst = env().root / "no_seg" / src.filename();
  fs::create_directories(dst);
  for (const auto& f : fs::directory_iterator(src)) {
    const std::string n = f.path().filename().string();
    if (n.find("_seg") != std::string::npos || n.find("_t2.") != std::string::npos) continue;
    fs::copy_file(f.path(), dst / n, fs::copy_options::overwrite_existing);
  }
  return dst;
}

TEST(AblationPanel, WithoutSegTheReferenceIsTheAllPresentPrediction) {
  ASSERT_TRUE(env().ok) << env().error;
  const auto c = gmd::io::load_case(gmd::io::discover_case(no_seg_case()));
  ASSERT_FALSE(c.seg.has_value());
  AblationPanel panel;
  panel.setSegmentOptions(cpu());
  panel.setCase(c);
  panel.setModel(gmd::pipeline::Model::load(env().cli_run));
  ASSERT_TRUE(panel.runBlocking()) << panel.lastError().toStdString();
  const auto& a = *panel.result();
  EXPECT_FALSE(a.against_truth);
  EXPECT_EQ(a.entries.size(), 7u);  // the non-empty subsets of FLAIR, T1, T1ce
  EXPECT_EQ(a.reference_subset, gmd::parse_subset("flair,t1,t1ce"));
  const auto* ref = find_entry(a, a.reference_subset);
  ASSERT_NE(ref, nullptr);
  for (double d : ref->dice) EXPECT_DOUBLE_EQ(d, 1.0);  // the reference against itself
  EXPECT_EQ(panel.table()->rowCount(), 7);
  EXPECT_EQ(panel.dependence().size(), 3u);
  // Without ground truth the table says what each subset is expected to get: the tiny model carries no accuracy
  // table, so "n/e" (not evaluated) and never a number.
  ASSERT_EQ(panel.table()->columnCount(), 14);
  EXPECT_EQ(panel.table()->horizontalHeaderItem(11)->text(), "Exp. WT");
  for (int row = 0; row < 7; ++row) EXPECT_EQ(panel.table()->item(row, 11)->text(), "n/e");

  // The same model with an evaluation table in its model.json: the expected Dice of each subset, from the table.
  const fs::path evaluated = env().root / "evaluated_model";
  fs::create_directories(evaluated);
  for (const char* f : {"model.pt", "model.json"})
    fs::copy_file(env().cli_run / f, evaluated / f, fs::copy_options::overwrite_existing);
  gmd::pipeline::AccuracyTable table;
  table.test_set = "test";
  table.cases = 4;
  for (gmd::SubsetMask m : gmd::all_subsets())
    table.subsets[m].dice = {0.5 + 0.01 * m, 0.4 + 0.01 * m, 0.3 + 0.01 * m};
  table.subsets.erase(gmd::parse_subset("flair"));  // a subset the table lacks stays "n/e"
  auto card = nlohmann::json::parse(slurp(evaluated / "model.json"));
  card["metrics"] = gmd::pipeline::accuracy_table_json(table);
  std::ofstream(evaluated / "model.json") << card.dump(2);
  panel.setModel(gmd::pipeline::Model::load(evaluated));
  ASSERT_TRUE(panel.runBlocking()) << panel.lastError().toStdString();
  ASSERT_EQ(panel.table()->rowCount(), 7);
  for (int row = 0; row < 7; ++row) {
    const auto m = static_cast<gmd::SubsetMask>(panel.table()->item(row, 0)->data(Qt::UserRole).toInt());
    for (int k = 0; k < 3; ++k) {
      const QString shown = panel.table()->item(row, 11 + k)->text();
      if (m == gmd::parse_subset("flair")) {
        EXPECT_EQ(shown, "n/e");
      } else {
        EXPECT_NEAR(shown.toDouble(), table.subsets.at(m).dice[static_cast<std::size_t>(k)], 0.005)
            << gmd::subset_name(m) << " region " << k;
      }
    }
  }
}

TEST(AblationPanel, ANewCaseDuringARunDiscardsTheStaleResult) {
  ASSERT_TRUE(env().ok) << env().error;
  AblationPanel panel;
  panel.setSegmentOptions(cpu());
  panel.setModel(gmd::pipeline::Model::load(env().cli_run));
  panel.setCase(gmd::io::load_case(gmd::io::discover_case(first_case())));
  QSignalSpy done(&panel, &AblationPanel::finished);
  ASSERT_TRUE(panel.run());
  EXPECT_TRUE(panel.isRunning());
  panel.setCase(gmd::io::load_case(gmd::io::discover_case(no_seg_case())));  // while it runs
  ASSERT_TRUE(panel.runBlocking()) << panel.lastError().toStdString();
  ASSERT_NE(panel.result(), nullptr);
  EXPECT_EQ(panel.result()->entries.size(), 7u);  // the new case's subsets, not the old one's 15
  EXPECT_FALSE(panel.result()->against_truth);
  EXPECT_EQ(done.count(), 1);  // the stale run finished silently
}

TEST(AblationPanel, DependenceFindsTheModalityWhoseRemovalHurtsMost) {
  // Made-up Dice: ET only with T1ce; WT mostly from FLAIR; TC flat.
  gmd::pipeline::Ablation a;
  a.against_truth = true;
  a.reference_subset = gmd::kFullMask;
  for (gmd::SubsetMask s : gmd::all_subsets()) {
    gmd::pipeline::AblationEntry e;
    e.subset = s;
    e.dice[0] = gmd::subset_has(s, 0) ? 0.9 : 0.6;
    e.dice[1] = 0.7;
    e.dice[2] = gmd::subset_has(s, 2) ? 0.8 : 0.1;
    a.entries.push_back(e);
  }
  const auto d = region_dependence(a);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].modality, 0);
  EXPECT_NEAR(d[0].drop, 0.3, 1e-12);
  EXPECT_EQ(d[2].modality, 2);
  EXPECT_NEAR(d[2].with, 0.8, 1e-12);
  EXPECT_NEAR(d[2].without, 0.1, 1e-12);
  EXPECT_NE(d[2].text.find("ET collapses without T1ce"), std::string::npos) << d[2].text;
  EXPECT_NE(d[1].text.find("hardly depends"), std::string::npos) << d[1].text;
  EXPECT_NEAR(d[2].drop_by_modality[1], 0.0, 1e-12);  // T1 changes nothing for ET
}

// The colour the main slice views give label value v at full opacity (viz::label_rgba, default style).
QColor main_view_colour(int v) {
  const auto rgba = gmd::viz::label_rgba(gmd::viz::Palette::builtin(), gmd::viz::OverlayStyle{});
  const auto& c = rgba[static_cast<std::size_t>(v)];
  return QColor(c[0], c[1], c[2]);
}

TEST(AblationPanel, SliceRenderingUsesTheMainViewsColoursAndRadiologicalOrientation) {
  gmd::Geometry g;
  g.size = {4, 3, 2};
  gmd::LabelMap lab;
  lab.geom = g;
  lab.voxels.assign(g.voxel_count(), 0);
  lab.at(0, 0, 1) = 4;
  lab.at(1, 0, 1) = 2;
  lab.at(2, 0, 1) = 1;
  const QImage img = render_slice(g, nullptr, {}, &lab, kAxial, 1, 1.0);
  ASSERT_EQ(img.size(), QSize(4, 3));
  // Identity direction: x grows towards patient left, y towards posterior: no flips. Thumbnail colours are the
  // main views' colours for the same labels.
  EXPECT_EQ(QColor(img.pixel(0, 0)), main_view_colour(4));
  EXPECT_EQ(QColor(img.pixel(1, 0)), main_view_colour(2));
  EXPECT_EQ(QColor(img.pixel(2, 0)), main_view_colour(1));
  EXPECT_EQ(QColor(img.pixel(3, 2)), QColor(0, 0, 0));
  EXPECT_NE(main_view_colour(1), main_view_colour(2));
  // BraTS-like direction diag(-1,-1,1): both in-plane axes flip.
  g.direction = {-1, 0, 0, 0, -1, 0, 0, 0, 1};
  lab.geom = g;
  const QImage f = render_slice(g, nullptr, {}, &lab, kAxial, 1, 1.0);
  EXPECT_EQ(QColor(f.pixel(3, 2)), main_view_colour(4));
  // Coronal: slices count along the display frame's posterior axis; voxel y = 0 runs anterior here, so it is the
  // last coronal slice (2). Superior (z = 1) at the top.
  EXPECT_EQ(tumour_slice(lab, kCoronal), 2);
  const QImage cor = render_slice(g, nullptr, {}, &lab, kCoronal, 2, 1.0);
  ASSERT_EQ(cor.size(), QSize(4, 2));
  EXPECT_EQ(QColor(cor.pixel(3, 0)), main_view_colour(4));
  EXPECT_EQ(tumour_slice(lab, kAxial), 1);
  EXPECT_EQ(background_modality(gmd::parse_subset("t1,t2")), 3);
}

// A sagittal acquisition (voxel axes: 0 -> superior, 1 -> anterior, 2 -> patient right) shows the anatomical planes
// as the main views do: every thumbnail equals the thumbnail of the same volume resampled into the display frame
// (viz::to_display, identity direction), slice counts, extents and the tumour slice are the display frame's.
TEST(AblationPanel, NonAxialAcquisitionsShowAnatomicalPlanes) {
  gmd::Geometry g;
  g.size = {5, 4, 3};
  g.spacing = {1.0, 2.0, 3.0};
  g.direction = {0, 0, -1,   // world x (L) <- -voxel axis 2
                 0, -1, 0,   // world y (P) <- -voxel axis 1
                 1, 0, 0};   // world z (S) <- +voxel axis 0
  gmd::LabelMap lab;
  lab.geom = g;
  gmd::Image img;
  img.geom = g;
  constexpr std::array<std::uint8_t, 11> kScatter{0, 0, 0, 0, 0, 0, 1, 2, 4, 0, 0};
  for (std::size_t i = 0; i < g.voxel_count(); ++i) {
    lab.voxels.push_back(kScatter[(i * i * 31 + i * 7) % 11]);
    img.voxels.push_back(static_cast<float>((i * 37) % 101));
  }
  for (std::size_t z = 0; z < 3; ++z)  // most tumour in the top axial slice (voxel x = 4)
    for (std::size_t y = 0; y < 4; ++y) lab.at(4, y, z) = 4;
  const auto frame = gmd::viz::DisplayFrame::from_geometry(g);
  ASSERT_EQ(frame.size, (std::array<std::size_t, 3>{3, 4, 5}));
  gmd::Geometry d;
  d.size = frame.size;
  d.spacing = frame.spacing;
  gmd::LabelMap dlab{d, gmd::viz::to_display(lab.voxels, frame)};
  gmd::Image dimg{d, gmd::viz::to_display(img.voxels, frame)};
  const auto w = grey_window(img);
  for (int axis : {kSagittal, kCoronal, kAxial}) {
    ASSERT_EQ(slice_count(g, axis), static_cast<int>(frame.size[static_cast<std::size_t>(axis)])) << axis;
    EXPECT_EQ(slice_extent_mm(g, axis), slice_extent_mm(d, axis)) << axis;
    EXPECT_EQ(tumour_slice(lab, axis), tumour_slice(dlab, axis)) << axis;
    for (int i = 0; i < slice_count(g, axis); ++i)
      EXPECT_EQ(render_slice(g, &img, w, &lab, axis, i, 0.5), render_slice(d, &dimg, w, &dlab, axis, i, 0.5))
          << axis_name(axis).toStdString() << " " << i;
  }
  EXPECT_EQ(slice_count(g, kAxial), 5);  // along superior: voxel axis 0
  EXPECT_EQ(tumour_slice(lab, kAxial), 4);
}

TEST(AblationPanel, FollowsTheMainViewSliceAndReportsUserChoices) {
  ASSERT_TRUE(env().ok) << env().error;
  const auto c = gmd::io::load_case(gmd::io::discover_case(first_case()));
  AblationPanel panel;
  panel.resize(900, 900);
  panel.setSegmentOptions(cpu());
  panel.setCase(c);
  panel.setModel(gmd::pipeline::Model::load(env().cli_run));
  // Before the run, the slice goes through the tumour of the seg.
  EXPECT_EQ(panel.sliceIndex(), tumour_slice(*c.seg, kAxial));
  ASSERT_TRUE(panel.runBlocking());
  QSignalSpy slice(&panel, &AblationPanel::sliceChosen);
  QSignalSpy subset(&panel, &AblationPanel::subsetChosen);
  panel.setSlice(kCoronal, 7);
  EXPECT_EQ(panel.sliceAxis(), kCoronal);
  EXPECT_EQ(panel.sliceIndex(), 7);
  EXPECT_EQ(slice.count(), 0);  // programmatic: no echo back to the main view
  panel.setSlice(kAxial, 100000);  // clamped
  EXPECT_EQ(panel.sliceIndex(), static_cast<int>(c.geom.size[2]) - 1);
  // The user moves the slider: the main view hears about it.
  auto* slider = panel.findChild<QSlider*>();
  ASSERT_NE(slider, nullptr);
  slider->setValue(3);
  ASSERT_EQ(slice.count(), 1);
  EXPECT_EQ(slice.at(0).at(0).toInt(), kAxial);
  EXPECT_EQ(slice.at(0).at(1).toInt(), 3);
  // The user clicks the second thumbnail (the first subset, FLAIR).
  panel.show();
  QWidget* grid = panel.gridWidget();
  const QRect tile = panel.thumbnailRect(1);
  ASSERT_TRUE(grid->rect().contains(tile)) << "every thumbnail fits in the grid";
  ASSERT_TRUE(grid->rect().contains(panel.thumbnailRect(15)));
  QTest::mouseClick(grid, Qt::LeftButton, {}, tile.center());
  ASSERT_EQ(subset.count(), 1);
  EXPECT_EQ(subset.at(0).at(0).toInt(), static_cast<int>(gmd::parse_subset("flair")));
  EXPECT_EQ(panel.selectedSubset(), gmd::parse_subset("flair"));
}

// The run state without widgets (AblationRun): automatic mode restarts for the newest request only, cancel ends
// as "cancelled" without a result, and a missing case or model is said in words.
TEST(AblationRun, AutomaticModeComputesOnlyTheNewestCase) {
  ASSERT_TRUE(env().ok) << env().error;
  AblationRun run;
  run.setSegmentOptions(cpu());
  QSignalSpy done(&run, &AblationRun::finished);
  QSignalSpy started(&run, &AblationRun::started);
  run.setAutoRun(true);
  run.setModel(gmd::pipeline::Model::load(env().cli_run));
  QCoreApplication::processEvents();
  EXPECT_FALSE(run.isRunning());  // no case yet
  const auto first = std::make_shared<const gmd::io::Case>(gmd::io::load_case(gmd::io::discover_case(first_case())));
  // Several changes in one turn of the event loop: one start, after the caller is done, for the last state.
  run.setCase(first);
  run.setModel(gmd::pipeline::Model::load(env().cli_run));
  run.setCase(first);
  EXPECT_FALSE(run.isRunning());
  ASSERT_TRUE(started.wait(10000));  // started by itself
  EXPECT_TRUE(run.isRunning());
  EXPECT_EQ(started.count(), 1);
  run.setCase(std::make_shared<const gmd::io::Case>(gmd::io::load_case(gmd::io::discover_case(no_seg_case()))));
  EXPECT_EQ(run.result(), nullptr);
  ASSERT_TRUE(run.runBlocking()) << run.lastError().toStdString();
  ASSERT_NE(run.result(), nullptr);
  EXPECT_EQ(run.result()->entries.size(), 7u);  // the second case's three modalities
  EXPECT_EQ(done.count(), 1);                   // the stale computation ended silently
  EXPECT_EQ(started.count(), 2);                // the first, then the newest once the first had wound down
  EXPECT_FALSE(run.isRunning());
}

TEST(AblationRun, CancelEndsWithoutAResultAndMissingInputsAreSaid) {
  ASSERT_TRUE(env().ok) << env().error;
  AblationRun run;
  run.setSegmentOptions(cpu());
  EXPECT_FALSE(run.run());
  EXPECT_EQ(run.lastError(), QStringLiteral("no case loaded"));
  run.setCase(std::make_shared<const gmd::io::Case>(gmd::io::load_case(gmd::io::discover_case(first_case()))));
  EXPECT_FALSE(run.run());
  EXPECT_EQ(run.lastError(), QStringLiteral("no model loaded"));
  run.setModel(gmd::pipeline::Model::load(env().cli_run));
  QSignalSpy done(&run, &AblationRun::finished);
  ASSERT_TRUE(run.run());
  EXPECT_FALSE(run.run());  // one at a time
  run.cancel();
  ASSERT_TRUE(done.wait(60000));
  EXPECT_FALSE(done.at(0).at(0).toBool());
  EXPECT_EQ(run.lastError(), QStringLiteral("cancelled"));
  EXPECT_EQ(run.result(), nullptr);
  ASSERT_TRUE(run.runBlocking()) << run.lastError().toStdString();  // and it computes again afterwards
  EXPECT_EQ(run.result()->entries.size(), 15u);
}
