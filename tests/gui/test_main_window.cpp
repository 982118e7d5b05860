// MainWindow without OpenGL (offscreen): panels by name, overlay sources, report, exports,
// screenshot, errors as named messages (dialogs off), the gmd-studio command line's failures.
#include <gtest/gtest.h>

#include <QApplication>
#include <QCheckBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QMimeData>
#include <QUrl>
#include <QLabel>
#include <QProcess>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableWidget>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gmd/gui/case_controller.hpp"
#include "gmd/gui/main_window.hpp"
#include "gmd/gui/panel_registry.hpp"
#include "gmd/gui/segmentation_controller.hpp"
#include "gmd/io/nifti.hpp"
#include "gmd/pipeline/service.hpp"
#include "gmd/viz/view_area.hpp"
#include "gui_test_util.hpp"

using namespace gmd;
using namespace gmd::gui;
namespace fs = std::filesystem;

namespace {
QString qs(const fs::path& p) { return QString::fromStdString(p.string()); }
}  // namespace

TEST(MainWindow, PanelsAreRegisteredByNameAndSelectable) {
  MainWindow w(false, nullptr);
  const QStringList names = w.panelNames();
  ASSERT_GE(names.size(), 3);
  EXPECT_EQ(names.mid(0, 3), (QStringList{"segment", "report", "model"}));
  EXPECT_EQ(w.currentPanel(), "segment");
  EXPECT_TRUE(w.selectPanel("Report"));
  EXPECT_EQ(w.currentPanel(), "report");
  EXPECT_FALSE(w.selectPanel("no-such-panel"));
  EXPECT_EQ(w.currentPanel(), "report");

  // a panel added at run time (as the training/ablation panels are) appears by order and name
  w.addPanel(PanelInfo{"extra", "Extra", 25, [](StudioContext& ctx, QWidget* parent) -> QWidget* {
                         EXPECT_NE(ctx.cases, nullptr);
                         EXPECT_NE(ctx.views, nullptr);
                         auto* l = new QLabel("hello", parent);
                         return l;
                       }});
  EXPECT_EQ(w.panelNames().indexOf("extra"), 2);
  EXPECT_TRUE(w.selectPanel("extra"));
  ASSERT_NE(w.panel("extra"), nullptr);
  EXPECT_EQ(qobject_cast<QLabel*>(w.panel("extra"))->text(), "hello");
  // and the registry holds the built-ins for every new window
  int builtin = 0;
  for (const auto& p : PanelRegistry::instance().panels())
    builtin += p.name == "segment" || p.name == "report" || p.name == "model";
  EXPECT_EQ(builtin, 3);
}

TEST(MainWindow, ReferenceOverlayReportAndExports) {
  const fs::path root = test::scratch_dir("mw_ref");
  const fs::path dir = test::write_tiny_case(root, "ref");
  MainWindow w(false, nullptr);
  w.setDialogsEnabled(false);
  QSignalSpy errors(&w, &MainWindow::errorShown);
  ASSERT_TRUE(w.openCase(qs(dir)));
  EXPECT_TRUE(w.hasReference());
  EXPECT_FALSE(w.hasSegmentation());
  EXPECT_EQ(w.overlaySource(), MainWindow::OverlaySource::Reference);
  ASSERT_NE(w.shownLabels(), nullptr);
  EXPECT_TRUE(w.views()->hasLabels());
  const auto r = w.report();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->source, "reference");
  const io::LabelMap truth = test::tiny_labels({});
  const auto expect = pipeline::region_volumes_ml(truth);
  for (int i = 0; i < 3; ++i) EXPECT_DOUBLE_EQ(r->region_ml[static_cast<size_t>(i)], expect[static_cast<size_t>(i)]);
  EXPECT_GT(r->region_ml[0], r->region_ml[1]);
  EXPECT_GT(r->region_ml[1], r->region_ml[2]);
  // the report panel shows the same numbers
  auto* table = w.findChild<QTableWidget*>("volumeTable");
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->item(0, 1)->text(), QString::number(expect[0], 'f', 2));

  EXPECT_TRUE(w.exportLabels(qs(root / "out" / "labels.nii.gz")));
  EXPECT_EQ(io::read_labels(root / "out" / "labels.nii.gz").voxels, truth.voxels);
  EXPECT_TRUE(w.exportReport(qs(root / "out" / "report.json")));
  std::ifstream in(root / "out" / "report.json");
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["case"], "ref");
  EXPECT_DOUBLE_EQ(j["volume_ml"]["WT"].get<double>(), expect[0]);
  EXPECT_TRUE(w.exportReport(qs(root / "out" / "report.csv")));
  EXPECT_TRUE(fs::file_size(root / "out" / "report.csv") > 50);
  EXPECT_FALSE(w.exportReport(qs(root / "out" / "report.txt")));
  ASSERT_EQ(errors.count(), 1);
  EXPECT_TRUE(errors.back().at(1).toString().contains("report.txt"));
  EXPECT_TRUE(w.saveScreenshot(qs(root / "out" / "window.png")));
  const QImage img(qs(root / "out" / "window.png"));
  EXPECT_EQ(img.size(), w.size());

  // overlay source "none" hides it; the report follows
  EXPECT_TRUE(w.setOverlaySource(MainWindow::OverlaySource::None));
  EXPECT_FALSE(w.views()->hasLabels());
  EXPECT_FALSE(w.report());
  EXPECT_FALSE(w.exportLabels(qs(root / "out" / "none.nii.gz")));
  EXPECT_FALSE(w.setOverlaySource(MainWindow::OverlaySource::Segmentation)) << "no segmentation yet";
}

TEST(MainWindow, SegmentShowsTheResultAndKeepsItAcrossModalityChanges) {
  const fs::path root = test::scratch_dir("mw_seg");
  test::TinyCaseSpec spec;
  spec.with_seg = false;
  const fs::path dir = test::write_tiny_case(root, "s", spec);
  MainWindow w(false, nullptr);
  w.setDialogsEnabled(false);
  SubsetMask used = 0;
  w.segmentation()->setSegmentFunction([&](const io::Case& c, SubsetMask use, const pipeline::Progress& p) {
    used = use;
    p.report("segmenting", 0.5);
    pipeline::Segmentation s;
    s.labels = test::tiny_labels({});
    s.labels.geom = c.geom;
    s.used = use;
    s.device = "cpu";
    s.region_ml = pipeline::region_volumes_ml(s.labels);
    s.label_ml = pipeline::label_volumes_ml(s.labels);
    return s;
  });
  ASSERT_TRUE(w.openCase(qs(dir)));
  EXPECT_EQ(w.overlaySource(), MainWindow::OverlaySource::None);
  EXPECT_FALSE(w.report());
  // untick T1 in the bar, then press the panel's Segment button
  w.cases()->setModalitySelected(1, false);
  auto* button = w.findChild<QPushButton*>("segmentPanelButton");
  ASSERT_NE(button, nullptr);
  ASSERT_TRUE(button->isEnabled());
  button->click();
  ASSERT_TRUE(w.segmentation()->waitForFinished(5000));
  EXPECT_EQ(used, parse_subset("flair,t1ce,t2"));
  EXPECT_EQ(w.overlaySource(), MainWindow::OverlaySource::Segmentation);
  ASSERT_TRUE(w.report());
  EXPECT_EQ(w.report()->used, parse_subset("flair,t1ce,t2"));
  EXPECT_EQ(w.report()->source, "segmentation");
  EXPECT_EQ(w.findChild<QProgressBar*>("segmentProgress")->value(), 1000);
  // switching the displayed modality keeps the overlay
  w.cases()->setDisplayed(3);
  EXPECT_EQ(w.overlaySource(), MainWindow::OverlaySource::Segmentation);
  EXPECT_TRUE(w.views()->hasLabels());
  // overlay toggles and opacity reach the view area
  auto* et = w.findChild<QCheckBox*>("overlayToggle2");
  ASSERT_NE(et, nullptr);
  et->setChecked(false);
  EXPECT_FALSE(w.views()->overlayStyle().visible[2]);
  EXPECT_TRUE(w.views()->overlayStyle().visible[0]);
  // opening another case drops the result
  const fs::path dir2 = test::write_tiny_case(root, "t", spec);
  ASSERT_TRUE(w.openCase(qs(dir2)));
  EXPECT_FALSE(w.hasSegmentation());
  EXPECT_FALSE(w.report());
}

TEST(MainWindow, DroppingAFolderOrFilesOpensThem) {
  const fs::path root = test::scratch_dir("mw_drop");
  const fs::path dir = test::write_tiny_case(root, "dropped");
  MainWindow w(false, nullptr);
  w.setDialogsEnabled(false);
  auto drop = [&](const QList<QUrl>& urls) {
    QMimeData mime;
    mime.setUrls(urls);
    QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &enter);
    EXPECT_TRUE(enter.isAccepted());
    QDropEvent ev(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(&w, &ev);
  };
  drop({QUrl::fromLocalFile(qs(dir))});
  EXPECT_EQ(w.cases()->caseId(), "dropped");
  EXPECT_EQ(w.cases()->present(), kFullMask);
  // two files of another case
  test::TinyCaseSpec spec;
  spec.with_seg = false;
  const fs::path other = test::write_tiny_case(root, "files", spec);
  drop({QUrl::fromLocalFile(qs(other / "files_t1ce.nii.gz")), QUrl::fromLocalFile(qs(other / "files_t2.nii.gz"))});
  EXPECT_EQ(w.cases()->caseId(), "files");
  EXPECT_EQ(w.cases()->present(), parse_subset("t1ce,t2"));
  EXPECT_FALSE(w.hasReference());
}

TEST(MainWindow, ErrorsAreShownWithTheFileNamed) {
  MainWindow w(false, nullptr);
  w.setDialogsEnabled(false);
  QSignalSpy errors(&w, &MainWindow::errorShown);
  EXPECT_FALSE(w.openCase("/nonexistent/case_17"));
  ASSERT_EQ(errors.count(), 1);
  EXPECT_TRUE(errors.back().at(1).toString().contains("/nonexistent/case_17"));
  EXPECT_FALSE(w.startSegmentation());
  EXPECT_EQ(errors.count(), 2);
  EXPECT_TRUE(errors.back().at(1).toString().contains("No case"));
}

namespace {
struct Proc {
  int rc;
  QString out;
};
Proc run_studio(const QStringList& args, const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment()) {
  QProcess p;
  p.setProcessEnvironment(env);
  p.setProcessChannelMode(QProcess::MergedChannels);
  p.start(GMD_STUDIO_PATH, args);
  if (!p.waitForFinished(300000)) {
    p.kill();
    return {-1, "timeout"};
  }
  return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromLocal8Bit(p.readAll())};
}
}  // namespace

TEST(StudioCli, FailuresExitNonZeroWithAMessage) {
  const fs::path root = test::scratch_dir("cli_fail");
  auto env = QProcessEnvironment::systemEnvironment();
  env.insert("QT_QPA_PLATFORM", "offscreen");
  auto r = run_studio({"/nonexistent/case_3", "--screenshot", qs(root / "x.png")}, env);
  EXPECT_EQ(r.rc, 2) << r.out.toStdString();
  EXPECT_TRUE(r.out.contains("/nonexistent/case_3")) << r.out.toStdString();
  EXPECT_FALSE(fs::exists(root / "x.png"));

  const fs::path dir = test::write_tiny_case(root, "c");
  r = run_studio({qs(dir), "--panel", "nosuch", "--screenshot", qs(root / "x.png")}, env);
  EXPECT_EQ(r.rc, 2) << r.out.toStdString();
  EXPECT_TRUE(r.out.contains("nosuch") && r.out.contains("segment, report, model")) << r.out.toStdString();

  r = run_studio({qs(dir), "--layout", "3x3", "--screenshot", qs(root / "x.png")}, env);
  EXPECT_EQ(r.rc, 2) << r.out.toStdString();
  EXPECT_TRUE(r.out.contains("3x3")) << r.out.toStdString();

  // demo case absent: says so
  env.insert("GMD_DEMO_DIR", qs(root / "no_demo_here"));
  r = run_studio({"--demo", "--screenshot", qs(root / "x.png")}, env);
  EXPECT_EQ(r.rc, 2) << r.out.toStdString();
  EXPECT_TRUE(r.out.contains("demo case is absent")) << r.out.toStdString();
  EXPECT_TRUE(r.out.contains("no_demo_here")) << r.out.toStdString();

  // demo case present but no model: says so (unless a bundled default model exists)
  const bool has_bundled = [] {
    try {
      pipeline::Model::default_path();
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }();
  if (!has_bundled) {
    env.insert("GMD_DEMO_DIR", qs(root));  // holds case folder "c"
    env.insert("GMD_MODEL_DIR", qs(root / "no_model_dir"));
    r = run_studio({"--demo", "--screenshot", qs(root / "x.png")}, env);
    EXPECT_EQ(r.rc, 3) << r.out.toStdString();
    EXPECT_TRUE(r.out.contains("default model was not found")) << r.out.toStdString();
    env.remove("GMD_MODEL_DIR");
  }

  // a model that cannot be loaded: named
  env.remove("GMD_DEMO_DIR");
  r = run_studio({qs(dir), "--model", qs(root / "no_model"), "--segment", "--screenshot", qs(root / "x.png")}, env);
  EXPECT_NE(r.rc, 0) << r.out.toStdString();
  EXPECT_TRUE(r.out.contains("no_model")) << r.out.toStdString();

  // a modality the case does not have
  test::TinyCaseSpec spec;
  spec.modalities = parse_subset("flair,t1");
  const fs::path d2 = test::write_tiny_case(root, "d2", spec);
  r = run_studio({qs(d2), "--modalities", "flair,t2", "--screenshot", qs(root / "x.png")}, env);
  EXPECT_EQ(r.rc, 2) << r.out.toStdString();
  EXPECT_TRUE(r.out.contains("T2 not present")) << r.out.toStdString();
  EXPECT_FALSE(fs::exists(root / "x.png"));
}
