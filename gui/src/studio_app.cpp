#include "gmd/gui/studio_app.hpp"

#include <QApplication>
#include <QCommandLineParser>
#include <QSettings>
#include <QDir>
#include <QDockWidget>
#include <QFileInfo>
#include <QIcon>
#include <QPalette>
#include <QStyleFactory>
#include <QTimer>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <unistd.h>

#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/common/regions.hpp"
#include "gmd/common/resources.hpp"
#include "gmd/gui/case_controller.hpp"
#include "gmd/gui/main_window.hpp"
#include "gmd/gui/panel_registry.hpp"
#include "gmd/gui/segmentation_controller.hpp"
#include "gmd/gui/studio_session.hpp"
#include "gmd/io/case.hpp"
#include "gmd/viz/view_area.hpp"
#include "gmd/viz/vtk_gl_widget.hpp"

#ifndef GMD_SOURCE_RESOURCES
#define GMD_SOURCE_RESOURCES ""
#endif

namespace gmd::gui {
namespace fs = std::filesystem;

std::optional<QString> find_demo_case(QString* why) {
  // The places `gmd info` reports; GMD_DEMO_DIR is an explicit choice: look nowhere else.
  QStringList looked;
  for (const auto& place : resource_places("demo", "GMD_DEMO_DIR", GMD_SOURCE_RESOURCES, /*env_only=*/true)) {
    const QString abs = QDir::cleanPath(QFileInfo(QString::fromStdString(place.path.string())).absoluteFilePath());
    looked << abs;
    if (!QFileInfo(abs).isDir()) continue;
    try {
      const auto cases = io::list_cases(abs.toStdString());
      if (!cases.empty()) return QString::fromStdString(cases.front().string());
      // the folder may be a case itself
      io::discover_case(abs.toStdString());
      return abs;
    } catch (const std::exception&) {
    }
  }
  if (why)
    *why = QString("The demo case is absent: no case folder found in %1. Generate it with "
                   "'gmd synth --cases 1 --seed 7 --size full --out resources/demo' or set GMD_DEMO_DIR.")
               .arg(looked.join(", "));
  return std::nullopt;
}

void apply_theme(QApplication& app) {
  app.setStyle(QStyleFactory::create("Fusion"));
  QPalette p;
  const QColor window(37, 39, 43), base(27, 29, 33), text(222, 224, 228), disabled(120, 124, 130),
      accent(74, 158, 255);
  p.setColor(QPalette::Window, window);
  p.setColor(QPalette::WindowText, text);
  p.setColor(QPalette::Base, base);
  p.setColor(QPalette::AlternateBase, window);
  p.setColor(QPalette::ToolTipBase, QColor(50, 53, 58));
  p.setColor(QPalette::ToolTipText, text);
  p.setColor(QPalette::Text, text);
  p.setColor(QPalette::Button, QColor(48, 51, 56));
  p.setColor(QPalette::ButtonText, text);
  p.setColor(QPalette::BrightText, Qt::white);
  p.setColor(QPalette::Highlight, accent);
  p.setColor(QPalette::HighlightedText, Qt::black);
  p.setColor(QPalette::Link, accent);
  p.setColor(QPalette::PlaceholderText, disabled);
  for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
    p.setColor(QPalette::Disabled, role, disabled);
  app.setPalette(p);
  app.setStyleSheet(
      "#modalityBar { background: #1c1e22; border-bottom: 1px solid #2c2f35; }"
      "QFrame[chip=\"true\"] { background: #262a30; border: 1px solid #3a3f47; border-radius: 6px; }"
      "QFrame[chip=\"true\"][present=\"false\"] { background: #1c1e22; border: 1px dashed #3a3f47; }"
      "QFrame[chip=\"true\"][shown=\"true\"] { background: #1d2b3d; border: 2px solid #4a9eff; }"
      "QFrame[chip=\"true\"][present=\"false\"] QLabel#chipState { color: #7d838c; font-style: italic; }"
      "QLabel#chipState { color: #aeb4bc; }"
      "QFrame[chip=\"true\"] QToolButton::menu-indicator { image: none; width: 0px; }"
      "QToolButton#segmentButton { font-weight: bold; color: #8cc4ff; }"
      "QToolButton#segmentButton:disabled { color: #6b7077; }"
      "QToolTip { border: 1px solid #4a4f57; }"
      "QGroupBox { font-weight: bold; border: 1px solid #3a3f47; border-radius: 6px; margin-top: 10px; padding-top: 6px; }"
      "QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 4px; }"
      "QPushButton#segmentPanelButton { background: #2f6fbf; color: white; font-weight: bold; border-radius: 4px; }"
      "QPushButton#segmentPanelButton:disabled { background: #33373d; color: #80858c; }"
      "QStatusBar QLabel { padding: 0 6px; }");
}

namespace {
int fail(const QString& msg, int code) {
  std::cerr << "gmd-studio: " << msg.toStdString() << std::endl;
  return code;
}
}  // namespace

namespace {
// Without an X server or Wayland (a server, an SSH session, CI), Qt's default xcb platform aborts. --help and
// --version need no display at all; a headless --screenshot renders offscreen. Anything else needs a display: say so
// and exit 2 instead of aborting.
int choose_platform(int argc, char** argv) {
  auto set = [](const char* v) { return v != nullptr && *v != '\0'; };
  if (set(std::getenv("QT_QPA_PLATFORM")) || set(std::getenv("DISPLAY")) || set(std::getenv("WAYLAND_DISPLAY")))
    return 0;
  bool info = false, shot = false;  // --help/--version; --screenshot
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    info = info || a == "-h" || a == "--help" || a == "--help-all" || a == "-v" || a == "--version";
    shot = shot || a == "--screenshot" || a.rfind("--screenshot=", 0) == 0;
  }
  if (!info && !shot) {
    std::cerr << "gmd-studio: no display (DISPLAY and WAYLAND_DISPLAY are not set): run it in a desktop session, "
                 "with ssh -X, or headless with --screenshot OUT.png\n";
    return 2;
  }
  // A screenshot wants rendered views: under a virtual X server when xvfb-run is installed (README's command 1
  // installs it), else Qt's offscreen platform (the views then say that OpenGL is missing).
  if (shot && !info && !set(std::getenv("GMD_STUDIO_IN_XVFB")) && std::system("command -v xvfb-run >/dev/null 2>&1") == 0) {
    setenv("GMD_STUDIO_IN_XVFB", "1", 1);
    std::vector<char*> args{const_cast<char*>("xvfb-run"), const_cast<char*>("-a"), const_cast<char*>("-s"),
                            const_cast<char*>("-screen 0 1920x1080x24")};
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    std::string self = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string(argv[0]);
    args.push_back(self.data());
    for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
    args.push_back(nullptr);
    execvp("xvfb-run", args.data());  // returns only if it could not run: fall through to offscreen
  }
  setenv("QT_QPA_PLATFORM", "offscreen", 1);
  return 0;
}
}  // namespace

int run_studio(int argc, char** argv) {
  if (const int rc = choose_platform(argc, argv)) return rc;
  std::signal(SIGXFSZ, SIG_IGN);  // a file-size limit makes writes fail with a message, not kill the studio
  install_temp_cleanup_handlers();
  viz::VtkGlWidget::setDefaultSurfaceFormat();
  QApplication app(argc, argv);
  QApplication::setApplicationName("GMD Studio");
  QApplication::setOrganizationName("GMD Studio");
  QApplication::setApplicationVersion(GMD_VERSION);
  QApplication::setWindowIcon(QIcon(":/icons/gmd-studio.svg"));
  apply_theme(app);

  QCommandLineParser cli;
  cli.setApplicationDescription("GMD Studio: brain tumour segmentation robust to missing MRI modalities.");
  cli.addHelpOption();
  cli.addVersionOption();
  cli.addPositionalArgument("case", "Case folder (BraTS layout) or image files to open.", "[CASE_DIR | FILES...]");
  QCommandLineOption demo("demo", "Open the bundled demo case and segment it.");
  QCommandLineOption shot("screenshot", "Render the window, write it as a PNG and exit.", "OUT.png");
  QCommandLineOption layout("layout", "View layout: 1x1 or 2x2 (default 2x2).", "LAYOUT", "2x2");
  QCommandLineOption view("view", "View shown in the 1x1 layout: axial, coronal, sagittal, 3d.", "VIEW", "axial");
  QCommandLineOption mods("modalities", "Modalities to segment with, e.g. flair,t2 (default: all present).", "LIST");
  QCommandLineOption panel("panel", "Side panel to show (segment, report, model, ...).", "NAME");
  QCommandLineOption model("model", "Model (training run folder) instead of the bundled default.", "DIR");
  QCommandLineOption segment("segment", "Segment the opened case right away (implied by --demo).");
  QCommandLineOption check_alignment("check-alignment",
                                     "Show the displayed sequence and the reference in alternating cubes (View > Check "
                                     "alignment).");
  QCommandLineOption device("device", "auto, cpu or cuda (default auto: the GPU when there is one).", "DEVICE", "auto");
  QCommandLineOption overlay("overlay",
                             "Overlay: labels, regions, or agreement (segment with subset agreement and show it).",
                             "MODE", "labels");
  QCommandLineOption agreement_region("agreement-region", "Region of the agreement overlay: WT, TC or ET (default WT).",
                                      "REGION", "WT");
  QCommandLineOption size("size", "Window size, e.g. 1440x900.", "WxH");
  QCommandLineOption threads("threads",
                             "CPU threads for the segmentation engine (default: the 'engine/threads' setting, "
                             "else every core this process may use).",
                             "N");
  QCommandLineOption timeout("timeout", "Headless mode: give up after this many seconds (default 900).", "S", "900");
  cli.addOptions({demo, shot, layout, view, mods, panel, model, segment, check_alignment, device, overlay,
                  agreement_region, size, threads, timeout});
  // Options that open something in a panel come from the panels themselves (PanelInfo::options).
  struct PanelOption {
    QCommandLineOption option;
    QString panel;
    PanelOpenOption open;
  };
  const std::vector<PanelInfo> registered = PanelRegistry::instance().panels();
  std::vector<PanelOption> panel_options;
  for (const PanelInfo& p : registered)
    for (const PanelOpenOption& o : p.options) {
      panel_options.push_back({QCommandLineOption(o.name, o.description, o.value_name), p.name, o});
      cli.addOption(panel_options.back().option);
    }
  auto info_of = [&registered](const QString& name) -> const PanelInfo* {
    for (const PanelInfo& p : registered)
      if (p.name == name.toLower()) return &p;
    return nullptr;
  };
  cli.process(app);

  const bool headless = cli.isSet(shot);
  const QString out = cli.value(shot);
  MainWindow w;
  w.setDialogsEnabled(!headless);
  // Interactive: read images on a worker thread. Headless: the simple synchronous path.
  w.setAsyncLoading(!headless);

  // Window layout
  int width = 1440, height = 900;
  if (headless) {
    width = 1280;
    height = 860;
  }
  if (cli.isSet(size)) {
    const QStringList p = cli.value(size).toLower().split('x');
    bool a = false, b = false;
    if (p.size() == 2) {
      width = p[0].toInt(&a);
      height = p[1].toInt(&b);
    }
    if (!a || !b || width < 400 || height < 300) return fail("--size expects WxH, e.g. 1440x900", 2);
  }
  w.resize(width, height);
  const QString lay = cli.value(layout).toLower();
  const auto single = viz::ViewArea::parseViewName(cli.value(view));
  if (!single) return fail(QString("--view: unknown view '%1' (axial, coronal, sagittal, 3d)").arg(cli.value(view)), 2);
  if (lay == "1x1" || lay == "1") w.views()->setLayoutMode(viz::ViewArea::Layout::Single, *single);
  else if (lay == "2x2" || lay == "4") w.views()->setLayoutMode(viz::ViewArea::Layout::Grid, *single);
  else return fail(QString("--layout: unknown layout '%1' (1x1 or 2x2)").arg(cli.value(layout)), 2);
  if (cli.isSet(panel) && !w.selectPanel(cli.value(panel)))
    return fail(QString("--panel: no panel named '%1' (available: %2)").arg(cli.value(panel), w.panelNames().join(", ")),
                2);
  // Panels with charts or thumbnail grids ask for most of the window (PanelInfo::dock_share).
  const PanelInfo* shown_panel = cli.isSet(panel) ? info_of(cli.value(panel)) : nullptr;
  if (shown_panel && shown_panel->dock_share > 0.0)
    if (auto* dock = w.findChild<QDockWidget*>())
      w.resizeDocks({dock}, {static_cast<int>(width * shown_panel->dock_share)}, Qt::Horizontal);
  const QString ov = cli.value(overlay).toLower();
  if (ov != "labels" && ov != "regions" && ov != "agreement")
    return fail("--overlay expects labels, regions or agreement", 2);
  const int agreement_r = region_index(cli.value(agreement_region).toUpper().toStdString().c_str());
  if (agreement_r < 0) return fail("--agreement-region expects WT, TC or ET", 2);
  w.setAgreementRegion(agreement_r);
  w.setAlignmentCheck(cli.isSet(check_alignment));
  if (ov == "regions") {
    auto st = w.overlayStyle();
    st.mode = viz::OverlayMode::Regions;
    w.setOverlayStyle(st);
  }
  {
    // Threads: --threads, else the persistent setting (QSettings "engine/threads"), else all cores.
    QSettings settings;
    bool ok = true;
    int n = cli.isSet(threads) ? cli.value(threads).toInt(&ok) : settings.value("engine/threads", 0).toInt(&ok);
    if (!ok || n < 0) return fail("--threads expects a non-negative integer (0 = all cores)", 2);
    if (cli.isSet(threads)) settings.setValue("engine/threads", n);
    pipeline::set_threads(n);
  }
  pipeline::SegmentOptions opt = w.segmentation()->options();
  opt.device = cli.value(device).toLower().toStdString();
  opt.agreement = ov == "agreement";
  w.segmentation()->setOptions(opt);
  SubsetMask wanted = 0;
  if (cli.isSet(mods)) {
    try {
      wanted = parse_subset(cli.value(mods).toStdString());
    } catch (const std::exception& e) {
      return fail(QString("--modalities: %1").arg(QString::fromStdString(e.what())), 2);
    }
  }
  if (headless && !viz::VtkGlWidget::openGLAvailable())
    std::cerr << "gmd-studio: warning: OpenGL is not available on this display (platform '"
              << QGuiApplication::platformName().toStdString()
              << "'); the views are placeholders. Run under X11 or xvfb-run for rendered views." << std::endl;

  StudioRequest request;
  request.headless = headless;
  request.screenshot = out;
  request.model = cli.isSet(model) ? cli.value(model) : QString();
  request.demo = cli.isSet(demo);
  request.paths = cli.positionalArguments();
  request.modalities = wanted;
  request.segment = cli.isSet(segment);
  request.show_agreement = ov == "agreement";
  for (const PanelOption& po : panel_options)
    if (cli.isSet(po.option)) request.panel_opens.push_back({po.panel, po.open, cli.value(po.option)});
  if (shown_panel) request.shown_panel = *shown_panel;
  bool timeout_ok = false;
  request.timeout_s = cli.value(timeout).toInt(&timeout_ok);
  if (!timeout_ok || request.timeout_s <= 0) request.timeout_s = 900;

  w.show();
  StudioSession session(w, std::move(request));
  QObject::connect(&session, &StudioSession::finished, &app,
                   [&app](int code) { QTimer::singleShot(0, &app, [&app, code] { app.exit(code); }); });
  session.start();
  const int rc = app.exec();
  return session.done() ? session.exitCode() : rc;
}

}  // namespace gmd::gui
