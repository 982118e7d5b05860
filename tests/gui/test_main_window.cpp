// MainWindow without OpenGL (offscreen): panels by name, overlay sources, report, exports,
// screenshot, errors as named messages (dialogs off), the gmd-studio command line's failures.
#include <gtest/gtest.h>

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
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
#include "gmd/pipeline/trust.hpp"
#include "gmd/common/regions.hpp"
#include "gmd/viz/view_area.hpp"
#include "gui_test_util.hpp"

using namespace gmd;
using namespace gmd::gui;
namespace fs = std::filesystem;

namespace {
QString qs(const fs::path& p) { return QString::fromStdString(p.string()); }
fs::path tiny_case_without_seg(const fs::path& root, const std::string& id) {
  test::TinyCaseSpec spec;
  spec.with_seg = false;
  return test::write_tiny_case(root, id, spec);
}
// What a segment function injected into the SegmentationController returns: the tiny case's labels.
pipeline::Segmentation fake_segmentation(const io::Case& c, SubsetMask use) {
    pipeline::Segmentation s;
    s.labels = test::tiny_labels({});
    s.labels.geom = c.geom;
    s.used = use;
    s.device = "cpu";
    s.region_ml = pipeline::region_volumes_ml(s.labels);
    s.label_ml = pipeline::label_volumes_ml(s.labels);
  return s;
}
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
  const LabelMap truth = test::tiny_labels({});
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
  const fs::path dir = tiny_case_without_seg(root, "s");
  MainWindow w(false, nullptr);
  w.setDialogsEnabled(false);
  SubsetMask used = 0;
  w.segmentation()->setSegmentFunction([&](const io::Case& c, SubsetMask use, const pipeline::Progress& p) {
    used = use;
    p.report("segmenting", 0.5);
    return fake_segmentation(c, use);
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
  const fs::path dir2 = tiny_case_without_seg(root, "t");
  ASSERT_TRUE(w.openCase(qs(dir2)));
  EXPECT_FALSE(w.hasSegmentation());
  EXPECT_FALSE(w.report());
}

// The subset agreement overlay: offered once a segmentation carries agreement maps, drawn in the agreement bins of
// the chosen region, exported as three float NIfTI files; reports stay those of the segmentation.
TEST(MainWindow, AgreementOverlayShowsBinsAndExports) {
  const fs::path root = test::scratch_dir("mw_agreement");
  const fs::path dir = tiny_case_without_seg(root, "a");
  MainWindow w(false, nullptr);
  w.setDialogsEnabled(false);
  bool with_agreement = false;
  w.segmentation()->setSegmentFunction([&](const io::Case& c, SubsetMask use, const pipeline::Progress&) {
    pipeline::Segmentation s = fake_segmentation(c, use);
    if (with_agreement) {
      // Three subsets: the first takes the whole segmentation, the other two only the voxels of label 4.
      LabelMap only_et = s.labels;
      for (auto& v : only_et.voxels) v = v == 4 ? 4 : 0;
      pipeline::Agreement a = pipeline::agreement_from_labels({s.labels, only_et, only_et}, use);
      pipeline::summarise_agreement(a, s.labels);
      s.agreement = std::move(a);
    }
    return s;
  });
  ASSERT_TRUE(w.openCase(qs(dir)));
  w.cases()->setSelected(parse_subset("flair,t2"));
  ASSERT_TRUE(w.startSegmentation());
  ASSERT_TRUE(w.segmentation()->waitForFinished(5000));
  // Without agreement maps: not offered, nothing to export (a named error, no file).
  EXPECT_FALSE(w.hasAgreement());
  EXPECT_FALSE(w.setOverlaySource(MainWindow::OverlaySource::Agreement));
  QSignalSpy errors(&w, &MainWindow::errorShown);
  EXPECT_FALSE(w.exportAgreement(qs(root / "none.nii.gz")));
  ASSERT_EQ(errors.count(), 1);
  EXPECT_TRUE(errors.back().at(1).toString().contains("Map subset agreement"));
  EXPECT_FALSE(fs::exists(root / "none_WT.nii.gz"));

  // The panel's checkbox asks for them.
  auto* check = w.findChild<QCheckBox*>("agreementCheck");
  ASSERT_NE(check, nullptr);
  check->setChecked(true);
  EXPECT_TRUE(w.segmentation()->options().agreement);
  with_agreement = true;
  ASSERT_TRUE(w.startSegmentation());
  ASSERT_TRUE(w.segmentation()->waitForFinished(5000));
  ASSERT_TRUE(w.hasAgreement());
  auto* source = w.findChild<QComboBox*>("overlaySource");
  ASSERT_NE(source, nullptr);
  EXPECT_GE(source->findData(static_cast<int>(MainWindow::OverlaySource::Agreement)), 0);
  ASSERT_TRUE(w.setOverlaySource(MainWindow::OverlaySource::Agreement));
  EXPECT_EQ(w.views()->overlayStyle().mode, viz::OverlayMode::Agreement);
  EXPECT_TRUE(w.views()->hasLabels());
  EXPECT_EQ(w.overlayStyle().mode, viz::OverlayMode::Labels);  // the user's style is kept for the other sources
  auto* t0 = w.findChild<QCheckBox*>("overlayToggle0");
  ASSERT_NE(t0, nullptr);
  EXPECT_TRUE(t0->text().contains("all of the subsets")) << t0->text().toStdString();
  // The crosshair readout names agreement bins, not BraTS labels, while the agreement map is shown.
  const QString readout = w.views()->cursorText();
  EXPECT_TRUE(readout.contains("agreement: ")) << readout.toStdString();
  EXPECT_FALSE(readout.contains("(ET)")) << readout.toStdString();
  w.setAgreementRegion(2);
  EXPECT_EQ(w.agreementRegion(), 2);
  // The report and the label export stay those of the segmentation.
  ASSERT_TRUE(w.report());
  EXPECT_EQ(w.report()->source, "segmentation");
  EXPECT_EQ(w.shownLabels()->voxels, w.segmentation()->result()->labels.voxels);

  ASSERT_TRUE(w.exportAgreement(qs(root / "case_agreement.nii.gz")));
  const auto& a = *w.segmentation()->result()->agreement;
  for (int r = 0; r < 3; ++r) {
    const fs::path f = root / (std::string("case_agreement_") + region_name(r) + ".nii.gz");
    ASSERT_TRUE(fs::exists(f)) << f;
    const Image back = io::read_image(f.string());
    EXPECT_EQ(back.geom.size, a.fraction[static_cast<size_t>(r)].geom.size);
    EXPECT_EQ(back.voxels, a.fraction[static_cast<size_t>(r)].voxels) << region_name(r);
  }
  // Back to the segmentation: the views get the label style again.
  ASSERT_TRUE(w.setOverlaySource(MainWindow::OverlaySource::Segmentation));
  EXPECT_EQ(w.views()->overlayStyle().mode, viz::OverlayMode::Labels);
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
  const fs::path other = tiny_case_without_seg(root, "files");
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

// The studio shell knows no panel by name: --run, the wide dock and the ablation's computation before a screenshot
// are hooks the panels register (PanelInfo), read by studio_app.cpp.
TEST(StudioCli, PanelOptionsAndHooksComeFromThePanelRegistry) {
  const auto panels = PanelRegistry::instance().panels();
  auto find = [&](const QString& name) -> const PanelInfo* {
    for (const auto& p : panels)
      if (p.name == name) return &p;
    return nullptr;
  };
  const PanelInfo* training = find("training");
  const PanelInfo* ablation = find("ablation");
  ASSERT_TRUE(training && ablation);
  ASSERT_EQ(training->options.size(), 1u);
  EXPECT_EQ(training->options[0].name, QString("run"));
  EXPECT_TRUE(training->options[0].needs_no_case);
  EXPECT_TRUE(static_cast<bool>(ablation->prepare_screenshot));
  EXPECT_GT(ablation->dock_share, 0.5);
  EXPECT_EQ(find("segment")->dock_share, 0.0);  // the built-in panels keep the default dock
  {
    MainWindow w;  // without a case the ablation has nothing to compute: its hook says so
    EXPECT_FALSE(ablation->prepare_screenshot(w.panel("ablation")));
  }

  const fs::path root = test::scratch_dir("cli_panel_hooks");
  auto env = QProcessEnvironment::systemEnvironment();
  env.insert("QT_QPA_PLATFORM", "offscreen");
  auto r = run_studio({"--help"}, env);
  EXPECT_EQ(r.rc, 0) << r.out.toStdString();
  EXPECT_TRUE(r.out.contains("--run <DIR>") && r.out.contains("replays its charts")) << r.out.toStdString();

  r = run_studio({"--run", qs(root / "no_such_run"), "--screenshot", qs(root / "x.png")}, env);
  EXPECT_EQ(r.rc, 2) << r.out.toStdString();
  EXPECT_TRUE(r.out.contains("--run: cannot open training run")) << r.out.toStdString();
  EXPECT_FALSE(fs::exists(root / "x.png"));

  std::string why;
  const fs::path run = test::tiny_model(&why);
  ASSERT_FALSE(run.empty()) << why;
  r = run_studio({"--run", qs(run), "--screenshot", qs(root / "run.png")}, env);  // no case needed
  EXPECT_EQ(r.rc, 0) << r.out.toStdString();
  EXPECT_TRUE(fs::exists(root / "run.png"));
}
