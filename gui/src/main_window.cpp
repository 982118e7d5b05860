#include <algorithm>

#include "gmd/gui/main_window.hpp"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QScrollArea>
#include <QSettings>
#include <QPainter>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>
#include <iostream>

#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/gui/case_controller.hpp"
#include "gmd/gui/dicom_series_dialog.hpp"
#include "gmd/gui/modality_bar.hpp"
#include "gmd/gui/qtext.hpp"
#include "gmd/gui/recent_cases.hpp"
#include "gmd/gui/segmentation_controller.hpp"
#include "gmd/io/align.hpp"
#include "gmd/pipeline/service.hpp"
#include "gmd/pipeline/trust.hpp"
#include "gmd/viz/view_area.hpp"
#include "gmd/viz/vtk_gl_widget.hpp"

namespace gmd::gui {
struct MainWindow::Impl {
  CaseController* cases = nullptr;
  ModelController* models = nullptr;
  SegmentationController* seg = nullptr;
  viz::ViewArea* views = nullptr;
  ModalityBar* bar = nullptr;
  QTabWidget* tabs = nullptr;
  QDockWidget* dock = nullptr;
  QLabel* cursor_label = nullptr;
  QProgressBar* load_progress = nullptr;
  std::optional<Image> check_image;  // View > Check alignment: the displayed modality and the reference in cubes  // reading a case (a DICOM folder: reading and registering the series)
  QLabel* status_label = nullptr;
  StudioContext ctx;
  std::map<QString, QPointer<QWidget>> panels;
  std::unique_ptr<QSettings> settings;
  std::unique_ptr<RecentCases> recent;
  bool dialogs = true;
  bool async = false;
  QString pending_recent;
  OverlayModel* overlay = nullptr;
  // actions
  QAction *open_folder = nullptr, *open_files = nullptr, *segment = nullptr, *cancel = nullptr,
          *export_labels = nullptr, *export_report = nullptr, *export_agreement = nullptr, *export_dicom_seg = nullptr, *dicom_series = nullptr, *screenshot = nullptr, *reset_views = nullptr,
          *layout_1x1 = nullptr, *layout_2x2 = nullptr, *crosshair = nullptr, *check_alignment = nullptr, *load_model = nullptr,
          *default_model = nullptr, *quit = nullptr;
  QMenu* recent_menu = nullptr;
  QComboBox* single_view = nullptr;
  QComboBox* wl_preset = nullptr;
};

MainWindow::MainWindow(QWidget* parent) : MainWindow(viz::VtkGlWidget::openGLAvailable(), parent) {}

MainWindow::MainWindow(bool rendering, QWidget* parent) : QMainWindow(parent), d_(std::make_unique<Impl>()) {
  setWindowTitle("GMD Studio");
  setObjectName("mainWindow");
  setAcceptDrops(true);
  d_->settings = std::make_unique<QSettings>();
  d_->recent = std::make_unique<RecentCases>(d_->settings.get());
  d_->cases = new CaseController(this);
  d_->models = new ModelController(this);
  d_->seg = new SegmentationController(d_->models, this);
  d_->overlay = new OverlayModel(d_->cases, d_->seg, this);
  buildActions();
  buildUi(rendering);

  connect(d_->cases, &CaseController::errorOccurred, this, &MainWindow::showError);
  connect(d_->models, &ModelController::errorOccurred, this, [this](const QString& t, const QString& m) {
    // ensureLoaded() failures are reported by the segmentation controller's failed() as well
    if (t != "No model") showError(t, m);
  });
  connect(d_->cases, &CaseController::caseChanged, this, &MainWindow::onCaseChanged);
  connect(d_->cases, &CaseController::displayedChanged, this, &MainWindow::onDisplayedChanged);
  connect(d_->cases, &CaseController::selectionChanged, this, [this] { updateActions(); });
  connect(d_->cases, &CaseController::loadingChanged, this, [this](bool loading) {
    if (loading) {
      QApplication::setOverrideCursor(Qt::BusyCursor);
      setStatus("Loading the case...");
      d_->load_progress->setValue(0);
    } else {
      QApplication::restoreOverrideCursor();
    }
    d_->load_progress->setVisible(loading);
    updateActions();
  });
  connect(d_->cases, &CaseController::loadProgress, this, [this](const QString& stage, double f) {
    if (!d_->cases->isLoading()) return;
    d_->load_progress->setValue(qRound(f * 100));
    setStatus(QString("Loading the case: %1...").arg(stage));
  });
  connect(d_->cases, &CaseController::loaded, this, [this](bool ok) {
    if (ok && !d_->cases->inputNotes().isEmpty()) {
      const auto c = d_->cases->currentCase();
      const bool from_dicom = c && std::any_of(c->files.series.begin(), c->files.series.end(),
                                               [](const std::string& s) { return !s.empty(); });
      setStatus(QString("%1: %2").arg(from_dicom ? QString("Read from DICOM series") : QString("Read"),
                                      d_->cases->inputNotes().join("; ")));
    }
    if (ok && !d_->pending_recent.isEmpty()) {
      d_->recent->add(d_->pending_recent);
      refreshRecentMenu();
    }
    d_->pending_recent.clear();
  });
  connect(d_->seg, &SegmentationController::finished, this, &MainWindow::onSegmentationFinished);
  connect(d_->seg, &SegmentationController::failed, this,
          [this](const QString& msg) { showError("Segmentation failed", msg); });
  connect(d_->seg, &SegmentationController::cancelled, this, [this] { setStatus("Segmentation cancelled."); });
  connect(d_->seg, &SegmentationController::runningChanged, this, [this] { updateActions(); });
  connect(d_->seg, &SegmentationController::progressChanged, this, [this](const QString& stage, double f) {
    if (d_->seg->isRunning()) setStatus(QString("Segmenting: %1 (%2 %)").arg(stage).arg(qRound(f * 100)));
  });
  connect(d_->models, &ModelController::modelChanged, this, [this] { updateActions(); });
  connect(d_->overlay, &OverlayModel::labelsChanged, this, &MainWindow::redrawLabels);
  connect(d_->overlay, &OverlayModel::styleChanged, this, [this] {
    d_->views->setOverlayStyle(d_->overlay->viewStyle());
    Q_EMIT overlayChanged();
  });
  connect(d_->bar, &ModalityBar::assignRequested, this, &MainWindow::chooseAssign);
  connect(d_->cases, &CaseController::dicomAssignmentNeeded, this, [this](const QString& folder) {
    if (!d_->dialogs) {  // headless: no one to ask
      showError("DICOM series", QString("%1: the series' descriptions name no sequence (FLAIR, T1, T1ce, T2); say "
                                        "which is which in File > DICOM series, or with gmd segment --assign")
                                    .arg(folder));
      return;
    }
    setStatus(QString("%1: the series' descriptions name no sequence; say which is which.").arg(folder));
    DicomSeriesDialog dlg(d_->cases->unassignedSeries(), {}, this);
    if (dlg.exec() == QDialog::Accepted) d_->cases->openDicomFolder(folder, dlg.assignment(), d_->async);
  });
  connect(d_->views, &viz::ViewArea::cursorChanged, d_->cursor_label, &QLabel::setText);
  connect(d_->views, &viz::ViewArea::hoverChanged, d_->cursor_label, &QLabel::setText);

  d_->ctx = StudioContext{this, d_->cases, d_->models, d_->seg, d_->views};
  for (const PanelInfo& p : PanelRegistry::instance().panels()) addPanel(p);
  if (d_->tabs->count() > 0) d_->tabs->setCurrentIndex(0);
  refreshRecentMenu();
  updateActions();
  resize(1440, 900);
  resizeDocks({d_->dock}, {380}, Qt::Horizontal);
}

MainWindow::~MainWindow() {
  if (d_->seg->isRunning()) d_->seg->cancel();
}

CaseController* MainWindow::cases() const { return d_->cases; }
ModelController* MainWindow::models() const { return d_->models; }
SegmentationController* MainWindow::segmentation() const { return d_->seg; }
viz::ViewArea* MainWindow::views() const { return d_->views; }
ModalityBar* MainWindow::modalityBar() const { return d_->bar; }
StudioContext& MainWindow::context() { return d_->ctx; }

// ------------------------------------------------------------------------------------------ UI
void MainWindow::buildActions() {
  auto& d = *d_;
  d.open_folder = new QAction("&Open case folder...", this);
  d.open_folder->setShortcut(QKeySequence::Open);
  d.open_folder->setToolTip("Open a BraTS case folder (*_flair, *_t1, *_t1ce, *_t2 .nii.gz)");
  d.open_folder->setIconText("Open");
  connect(d.open_folder, &QAction::triggered, this, &MainWindow::chooseFolder);
  d.open_files = new QAction("Open &files...", this);
  connect(d.open_files, &QAction::triggered, this, &MainWindow::chooseFiles);
  d.segment = new QAction("&Segment", this);
  d.segment->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
  d.segment->setToolTip("Segment the tumour with the ticked modalities");
  connect(d.segment, &QAction::triggered, this, [this] { startSegmentation(); });
  d.cancel = new QAction("Cancel", this);
  d.cancel->setShortcut(QKeySequence(Qt::Key_Escape));
  connect(d.cancel, &QAction::triggered, this, &MainWindow::cancelSegmentation);
  d.export_labels = new QAction("Export &label map...", this);
  connect(d.export_labels, &QAction::triggered, this, &MainWindow::chooseExportLabels);
  d.export_report = new QAction("Export &report...", this);
  connect(d.export_report, &QAction::triggered, this, &MainWindow::chooseExportReport);
  d.export_agreement = new QAction("Export subset &agreement maps...", this);
  d.export_agreement->setToolTip("Fraction of the subsets of the sequences in use that include each voxel in WT, TC "
                                 "and ET (three float NIfTI files); segment with 'Map subset agreement' first");
  connect(d.export_agreement, &QAction::triggered, this, &MainWindow::chooseExportAgreement);
  d.export_dicom_seg = new QAction("Export &DICOM SEG...", this);
  d.export_dicom_seg->setToolTip("The segmentation as a DICOM Segmentation object referring to the DICOM series the "
                                 "case was read from (for a PACS or a DICOM viewer)");
  connect(d.export_dicom_seg, &QAction::triggered, this, &MainWindow::chooseExportDicomSeg);
  d.dicom_series = new QAction("DICOM &series...", this);
  d.dicom_series->setToolTip("Which series of the DICOM folder is which sequence: confirm or change the proposals");
  connect(d.dicom_series, &QAction::triggered, this, &MainWindow::chooseDicomSeries);
  d.screenshot = new QAction("Save screens&hot...", this);
  connect(d.screenshot, &QAction::triggered, this, &MainWindow::chooseScreenshot);
  d.reset_views = new QAction("Reset views", this);
  d.reset_views->setToolTip("Fit the slices, recentre the 3D view and reset window/level");
  connect(d.reset_views, &QAction::triggered, this, [this] {
    d_->views->resetViews();
    d_->views->applyWindowPreset(0);
    if (d_->wl_preset) d_->wl_preset->setCurrentIndex(0);
  });
  auto* layouts = new QActionGroup(this);
  d.layout_1x1 = new QAction("1x1", layouts);
  d.layout_1x1->setCheckable(true);
  d.layout_1x1->setToolTip("One view (choose which on the right)");
  d.layout_2x2 = new QAction("2x2", layouts);
  d.layout_2x2->setCheckable(true);
  d.layout_2x2->setChecked(true);
  d.layout_2x2->setToolTip("Axial, sagittal, coronal and 3D");
  connect(d.layout_1x1, &QAction::triggered, this, [this] {
    d_->views->setLayoutMode(viz::ViewArea::Layout::Single,
                             static_cast<viz::ViewArea::ViewId>(d_->single_view ? d_->single_view->currentIndex() : 0));
  });
  connect(d.layout_2x2, &QAction::triggered, this,
          [this] { d_->views->setLayoutMode(viz::ViewArea::Layout::Grid, d_->views->singleView()); });
  d.crosshair = new QAction("Crosshair", this);
  d.crosshair->setCheckable(true);
  d.crosshair->setChecked(true);
  connect(d.crosshair, &QAction::toggled, this, [this](bool on) { d_->views->setCrosshairVisible(on); });
  d.check_alignment = new QAction("Check alignment", this);
  d.check_alignment->setCheckable(true);
  d.check_alignment->setToolTip("Show the displayed sequence and the reference (T1ce, else FLAIR, T1, T2) in alternating "
                                "16 mm cubes: where they are aligned, edges run on across the cubes");
  connect(d.check_alignment, &QAction::toggled, this, [this] { showDisplayedImage(false); });
  d.load_model = new QAction("Load model from run folder...", this);
  connect(d.load_model, &QAction::triggered, this, &MainWindow::chooseModel);
  d.default_model = new QAction("Use the default model", this);
  connect(d.default_model, &QAction::triggered, this, [this] { d_->models->useDefault(); });
  d.quit = new QAction("&Quit", this);
  d.quit->setShortcut(QKeySequence::Quit);
  connect(d.quit, &QAction::triggered, this, &QWidget::close);
}

void MainWindow::buildUi(bool rendering) {
  auto& d = *d_;
  // Menus
  QMenu* file = menuBar()->addMenu("&File");
  file->addAction(d.open_folder);
  file->addAction(d.open_files);
  d.recent_menu = file->addMenu("Open &recent");
  file->addAction(d.dicom_series);
  file->addSeparator();
  file->addAction(d.export_labels);
  file->addAction(d.export_report);
  file->addAction(d.export_agreement);
  file->addAction(d.export_dicom_seg);
  file->addAction(d.screenshot);
  file->addSeparator();
  file->addAction(d.quit);
  QMenu* segm = menuBar()->addMenu("&Segmentation");
  segm->addAction(d.segment);
  segm->addAction(d.cancel);
  segm->addSeparator();
  segm->addAction(d.load_model);
  segm->addAction(d.default_model);
  QMenu* view = menuBar()->addMenu("&View");
  view->addAction(d.layout_1x1);
  view->addAction(d.layout_2x2);
  view->addAction(d.reset_views);
  view->addAction(d.crosshair);
  view->addAction(d.check_alignment);
  QMenu* help = menuBar()->addMenu("&Help");
  help->addAction("Mouse and keys", this, [this] {
    QMessageBox::information(
        this, "Mouse and keys",
        "Slice views:\n"
        "  left click / drag: move the crosshair (all views follow)\n"
        "  wheel, Up/Down, PageUp/PageDown: previous / next slice\n"
        "  Ctrl+wheel, +/-: zoom;  middle drag or Shift+left drag: pan\n"
        "  right drag: window (left/right) and level (up/down)\n"
        "  double click: this view alone / back to 2x2;  R: reset the view\n"
        "3D view: left drag rotates, middle drag pans, right drag or wheel zooms, R resets.\n"
        "Display: radiological convention (patient left on screen right in axial and coronal views).");
  });
  help->addAction("About GMD Studio", this, [this] {
    QMessageBox::about(this, "About GMD Studio",
                       QStringLiteral("GMD Studio %1: brain tumour segmentation robust to missing MRI modalities\n"
                                      "(Dynamic Sharing + Gradient-guided Modality Decoupling).\n"
                                      "Research software; not a medical device.")
                           .arg(QCoreApplication::applicationVersion()));
  });

  // Toolbar
  QToolBar* tb = addToolBar("Main");
  tb->setObjectName("mainToolbar");
  tb->setMovable(false);
  tb->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
  tb->setIconSize(QSize(16, 16));
  d.open_folder->setIcon(style()->standardIcon(QStyle::SP_DirOpenIcon));
  {
    // a play triangle in the accent colour (the style's media icons are dark on a dark theme)
    QPixmap pm(32, 32);
    pm.fill(Qt::transparent);
    QPainter p(&pm);
    p.setRenderHint(QPainter::Antialiasing);
    p.setPen(Qt::NoPen);
    p.setBrush(QColor(90, 170, 255));
    p.drawPolygon(QPolygonF({QPointF(8, 5), QPointF(27, 16), QPointF(8, 27)}));
    QIcon icon(pm);
    QPixmap off(32, 32);
    off.fill(Qt::transparent);
    QPainter po(&off);
    po.setRenderHint(QPainter::Antialiasing);
    po.setPen(Qt::NoPen);
    po.setBrush(QColor(100, 104, 110));
    po.drawPolygon(QPolygonF({QPointF(8, 5), QPointF(27, 16), QPointF(8, 27)}));
    icon.addPixmap(off, QIcon::Disabled);
    d.segment->setIcon(icon);
  }
  d.cancel->setIcon(style()->standardIcon(QStyle::SP_BrowserStop));
  d.reset_views->setIcon(style()->standardIcon(QStyle::SP_BrowserReload));
  d.screenshot->setIcon(style()->standardIcon(QStyle::SP_DialogSaveButton));
  auto* open_btn = new QToolButton(tb);
  open_btn->setDefaultAction(d.open_folder);
  open_btn->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
  open_btn->setText("Open");
  open_btn->setPopupMode(QToolButton::MenuButtonPopup);
  open_btn->setMenu(d.recent_menu);
  tb->addWidget(open_btn);
  tb->addSeparator();
  tb->addAction(d.segment);
  tb->widgetForAction(d.segment)->setObjectName("segmentButton");
  tb->addAction(d.cancel);
  tb->addSeparator();
  tb->addWidget(new QLabel(" Layout ", tb));
  tb->addAction(d.layout_1x1);
  tb->addAction(d.layout_2x2);
  d.single_view = new QComboBox(tb);
  d.single_view->addItems({"Axial", "Coronal", "Sagittal", "3D"});
  d.single_view->setToolTip("View shown in the 1x1 layout");
  connect(d.single_view, &QComboBox::activated, this, [this](int i) {
    d_->views->setLayoutMode(viz::ViewArea::Layout::Single, static_cast<viz::ViewArea::ViewId>(i));
  });
  tb->addWidget(d.single_view);
  tb->addSeparator();
  tb->addWidget(new QLabel(" Window ", tb));
  d.wl_preset = new QComboBox(tb);
  for (const auto& p : viz::window_presets()) d.wl_preset->addItem(p.name);
  d.wl_preset->setToolTip("Window/level preset (percentiles of brain voxels); right-drag in a view to adjust");
  connect(d.wl_preset, &QComboBox::activated, this, [this](int i) { d_->views->applyWindowPreset(i); });
  tb->addWidget(d.wl_preset);
  tb->addAction(d.reset_views);
  tb->addSeparator();
  tb->addAction(d.screenshot);

  // Central: modality bar + views
  auto* central = new QWidget(this);
  auto* lay = new QVBoxLayout(central);
  lay->setContentsMargins(0, 0, 0, 0);
  lay->setSpacing(0);
  d.bar = new ModalityBar(d.cases, central);
  lay->addWidget(d.bar);
  d.views = new viz::ViewArea(rendering, central);
  lay->addWidget(d.views, 1);
  setCentralWidget(central);
  connect(d.views, &viz::ViewArea::layoutModeChanged, this, [this] {
    const bool single = d_->views->layoutMode() == viz::ViewArea::Layout::Single;
    d_->layout_1x1->setChecked(single);
    d_->layout_2x2->setChecked(!single);
    d_->single_view->setCurrentIndex(static_cast<int>(d_->views->singleView()));
  });

  // Side dock with the panels
  d.dock = new QDockWidget("Panels", this);
  d.dock->setObjectName("panelDock");
  d.dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable);
  d.dock->setTitleBarWidget(new QWidget(d.dock));
  d.tabs = new QTabWidget(d.dock);
  d.tabs->setObjectName("panelTabs");
  d.tabs->setDocumentMode(true);
  d.dock->setWidget(d.tabs);
  d.dock->setMinimumWidth(340);
  addDockWidget(Qt::RightDockWidgetArea, d.dock);

  // Status bar
  d.status_label = new QLabel(this);
  d.cursor_label = new QLabel(this);
  d.cursor_label->setObjectName("cursorReadout");
  statusBar()->addWidget(d.status_label, 1);
  statusBar()->addPermanentWidget(d.cursor_label);
  d.load_progress = new QProgressBar(this);
  d.load_progress->setObjectName("loadProgress");
  d.load_progress->setRange(0, 100);
  d.load_progress->setMaximumWidth(180);
  d.load_progress->setVisible(false);
  statusBar()->addPermanentWidget(d.load_progress);
  setStatus(rendering ? "Open a case folder (File > Open, drag and drop, or gmd-studio CASE_DIR)."
                      : "OpenGL is not available: the views are disabled (run under X11 or xvfb-run).");
}

void MainWindow::addPanel(const PanelInfo& info) {
  auto& d = *d_;
  if (!info.create) return;
  const QString name = info.name.toLower();
  if (auto it = d.panels.find(name); it != d.panels.end() && it->second) {
    for (int i = 0; i < d.tabs->count(); ++i)
      if (d.tabs->widget(i)->property("panelName").toString() == name) {
        QWidget* old = d.tabs->widget(i);
        d.tabs->removeTab(i);
        old->deleteLater();
        break;
      }
  }
  // Each panel sits in a scroll area, so that a panel with a large minimum size cannot force the
  // dock (and so the views) to give up width; the user can widen the dock with its splitter.
  auto* scroll = new QScrollArea(d.tabs);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  QWidget* w = info.create(d.ctx, scroll);
  if (!w) {
    delete scroll;
    return;
  }
  w->setObjectName(QString("panel_%1").arg(name));
  scroll->setWidget(w);
  scroll->setProperty("panelName", name);
  scroll->setProperty("panelOrder", info.order);
  // keep tabs ordered by `order`
  int pos = d.tabs->count();
  for (int i = 0; i < d.tabs->count(); ++i)
    if (d.tabs->widget(i)->property("panelOrder").toInt() > info.order) {
      pos = i;
      break;
    }
  d.tabs->insertTab(pos, scroll, info.title);
  d.panels[name] = w;
}

QStringList MainWindow::panelNames() const {
  QStringList out;
  for (int i = 0; i < d_->tabs->count(); ++i) out << d_->tabs->widget(i)->property("panelName").toString();
  return out;
}

bool MainWindow::selectPanel(const QString& name) {
  auto it = d_->panels.find(name.toLower());
  if (it == d_->panels.end() || !it->second) return false;
  d_->dock->show();
  for (int i = 0; i < d_->tabs->count(); ++i)
    if (d_->tabs->widget(i)->property("panelName").toString() == name.toLower()) d_->tabs->setCurrentIndex(i);
  return true;
}

QString MainWindow::currentPanel() const {
  QWidget* w = d_->tabs->currentWidget();
  return w ? w->property("panelName").toString() : QString();
}

QWidget* MainWindow::panel(const QString& name) const {
  auto it = d_->panels.find(name.toLower());
  return it == d_->panels.end() ? nullptr : it->second.data();
}

void MainWindow::setDialogsEnabled(bool on) { d_->dialogs = on; }

void MainWindow::showError(const QString& title, const QString& message) {
  setStatus(QString("%1: %2").arg(title, message.section('\n', 0, 0)));
  Q_EMIT errorShown(title, message);
  if (d_->dialogs) QMessageBox::warning(this, title, message);
  else std::cerr << "gmd-studio: " << title.toStdString() << ": " << message.toStdString() << "\n";
}

void MainWindow::setStatus(const QString& text) {
  d_->status_label->setText(text);
  Q_EMIT statusChanged(text);
}

// ------------------------------------------------------------------------------------------ case
void MainWindow::setAsyncLoading(bool on) { d_->async = on; }

bool MainWindow::openCase(const QString& dir) {
  if (d_->cases->isLoading()) {
    setStatus("Still loading the previous case; try again in a moment.");
    return false;
  }
  if (d_->async) {
    d_->pending_recent = QDir(dir).absolutePath();
    return d_->cases->openFolderAsync(dir);
  }
  QApplication::setOverrideCursor(Qt::WaitCursor);
  const bool ok = d_->cases->openFolder(dir);
  QApplication::restoreOverrideCursor();
  if (ok) {
    d_->recent->add(QDir(dir).absolutePath());
    refreshRecentMenu();
  }
  return ok;
}

bool MainWindow::openPaths(const QStringList& paths) {
  if (paths.isEmpty()) return false;
  for (const QString& p : paths)
    if (!QFileInfo::exists(p)) {
      showError("Cannot open", QString("%1: file or folder not found").arg(p));
      return false;
    }
  if (paths.size() == 1 && QFileInfo(paths.front()).isDir()) return openCase(paths.front());
  QStringList files;
  for (const QString& p : paths) {
    if (QFileInfo(p).isDir()) {
      showError("Cannot open", QString("%1: drop one case folder, or image files, not both").arg(p));
      return false;
    }
    files << p;
  }
  const FileSorting s = sort_files(files);
  QHash<QString, int> assigned;
  for (const QString& f : s.unknown) {
    if (!d_->dialogs) break;  // headless: the controller reports the unclear file
    bool ok = false;
    const QString choice = QInputDialog::getItem(
        this, "Which modality?",
        QString("The name of %1 does not say which modality it is.\nAssign it to:").arg(QFileInfo(f).fileName()),
        {"FLAIR", "T1", "T1ce", "T2", "Segmentation (labels)"}, 0, false, &ok);
    if (!ok) return false;
    const int slot = choice.startsWith("Seg") ? kSegSlot : *parse_modality(choice.toStdString());
    assigned.insert(f, slot);
  }
  if (d_->async) {
    d_->pending_recent.clear();
    return d_->cases->openFilesAsync(files, assigned);
  }
  QApplication::setOverrideCursor(Qt::WaitCursor);
  const bool ok = d_->cases->openFiles(files, assigned);
  QApplication::restoreOverrideCursor();
  return ok;
}

void MainWindow::onCaseChanged() {
  auto& d = *d_;
  if (d.seg->isRunning()) d.seg->cancel();  // the run belongs to the previous case
  const auto c = d.cases->currentCase();
  if (const auto rc = d.seg->resultCase(); rc && rc != c) {
    // Same case re-read (a file assigned or removed) with the same geometry: the result stays.
    if (c && rc->id == c->id && rc->geom == c->geom) d.seg->rebindResult(c);
    else d.seg->clearResult();
  }
  showDisplayedImage(true);
  d.overlay->resetForCase();
  if (c) {
    setWindowTitle(QString("GMD Studio - %1").arg(q(c->id)));
    setStatus(QString("Opened %1: %2%3.")
                  .arg(q(c->id), q(subset_name(c->present())),
                       c->seg ? QString(" (with a reference segmentation)") : QString()));
  } else {
    setWindowTitle("GMD Studio");
  }
  updateActions();
}

void MainWindow::onDisplayedChanged(int m) {
  const auto c = d_->cases->currentCase();
  if (!c || m < 0 || !c->images[static_cast<size_t>(m)]) return;
  showDisplayedImage(false);
  redrawLabels();
}

void MainWindow::setAlignmentCheck(bool on) { d_->check_alignment->setChecked(on); }
bool MainWindow::alignmentCheck() const { return d_->check_image.has_value(); }

void MainWindow::showDisplayedImage(bool new_case) {
  auto& d = *d_;
  const auto c = d.cases->currentCase();
  const int m = d.cases->displayed();
  const Image* img = c && m >= 0 && c->images[static_cast<size_t>(m)] ? &*c->images[static_cast<size_t>(m)] : nullptr;
  QString name = m >= 0 ? q(std::string(modality_display(m))) : QString();
  d.check_image.reset();
  d.check_alignment->setEnabled(c && subset_size(c->present()) >= 2);
  if (img && d.check_alignment->isChecked() && d.check_alignment->isEnabled()) {
    // Against the reference; the reference itself against the next sequence present.
    int other = io::reference_modality(c->present());
    if (other == m)
      for (int k = 0; k < kNumModalities; ++k)
        if (k != m && c->images[static_cast<size_t>(k)]) {
          other = k;
          break;
        }
    d.check_image = io::checkerboard(*img, *c->images[static_cast<size_t>(other)]);
    img = &*d.check_image;
    name = QString("%1 | %2 (alignment check)").arg(name, q(std::string(modality_display(other))));
    const auto& reg = c->registration[static_cast<size_t>(m)];
    setStatus(QString("Alignment check: %1 and %2 in alternating 16 mm cubes; edges must run on across them.%3")
                  .arg(q(std::string(modality_display(m))), q(std::string(modality_display(other))),
                       reg ? QString(" %1 was registered: %2.").arg(q(std::string(modality_display(m))),
                                                                  q(reg->transform.describe()))
                           : QString()));
  }
  d.views->setImage(img, name, new_case);
  if (d.wl_preset) d.wl_preset->setCurrentIndex(0);
}

bool MainWindow::startSegmentation() {
  if (!d_->cases->hasCase()) {
    showError("Cannot segment", "No case is open: open a case folder first.");
    return false;
  }
  return d_->seg->start(d_->cases->currentCase(), d_->cases->selected());
}

void MainWindow::cancelSegmentation() { d_->seg->cancel(); }

void MainWindow::onSegmentationFinished() {
  auto r = d_->seg->result();
  if (!r || d_->seg->resultCase() != d_->cases->currentCase()) return;
  d_->overlay->showSegmentation();
  setStatus(QString("Segmented %1 with %2 in %3 s on %4.")
                .arg(d_->cases->caseId(), q(subset_name(r->used)))
                .arg(r->seconds, 0, 'f', 1)
                .arg(QString::fromStdString(r->device).toUpper()));
  updateActions();
}

// ------------------------------------------------------------------------------------------ overlay
// The state and the rules are OverlayModel's; the window draws it and shows what went wrong.
OverlayModel* MainWindow::overlay() const { return d_->overlay; }
MainWindow::OverlaySource MainWindow::overlaySource() const { return d_->overlay->source(); }
bool MainWindow::hasSegmentation() const { return d_->overlay->hasSegmentation(); }
bool MainWindow::hasReference() const { return d_->overlay->hasReference(); }
bool MainWindow::hasAgreement() const { return d_->overlay->hasAgreement(); }
int MainWindow::agreementRegion() const { return d_->overlay->agreementRegion(); }
void MainWindow::setAgreementRegion(int region) { d_->overlay->setAgreementRegion(region); }
bool MainWindow::setOverlaySource(OverlaySource s) { return d_->overlay->setSource(s); }
const LabelMap* MainWindow::shownLabels() const { return d_->overlay->shownLabels(); }
void MainWindow::setOverlayStyle(const viz::OverlayStyle& style) { d_->overlay->setStyle(style); }
viz::OverlayStyle MainWindow::overlayStyle() const { return d_->overlay->style(); }
std::optional<Report> MainWindow::report() const { return d_->overlay->report(); }

void MainWindow::drawOverlay() {
  d_->overlay->drawLabels([this](const LabelMap* labels) { d_->views->setLabels(labels); });  // views copy
  d_->views->setOverlayStyle(d_->overlay->viewStyle());
}

void MainWindow::redrawLabels() {
  drawOverlay();
  Q_EMIT overlayChanged();
  Q_EMIT reportChanged();
}

// ------------------------------------------------------------------------------------------ exports
bool MainWindow::runExport(const QString& failure_title,
                           QString (OverlayModel::*exporter)(const QString&, QString*) const, const QString& path) {
  QString done;
  const QString why = (d_->overlay->*exporter)(path, &done);
  if (!why.isEmpty()) {
    showError(failure_title, why);
    return false;
  }
  setStatus(done);
  return true;
}

bool MainWindow::exportLabels(const QString& path) {
  return runExport("Cannot export label map", &OverlayModel::exportLabels, path);
}
bool MainWindow::exportReport(const QString& path) {
  return runExport("Cannot export report", &OverlayModel::exportReport, path);
}
bool MainWindow::exportAgreement(const QString& path) {
  return runExport("Cannot export agreement maps", &OverlayModel::exportAgreement, path);
}
bool MainWindow::exportDicomSeg(const QString& path) {
  return runExport("Cannot export DICOM SEG", &OverlayModel::exportDicomSeg, path);
}

QImage MainWindow::grabWindowImage() {
  d_->views->refresh();
  QApplication::processEvents();
  return grab().toImage();
}

bool MainWindow::saveScreenshot(const QString& path) {
  const QImage img = grabWindowImage();
  if (img.isNull()) {
    showError("Cannot save screenshot", "the window could not be captured");
    return false;
  }
  try {
    write_atomically(path.toStdString(), [&](const std::filesystem::path& tmp) {
      if (!img.save(QString::fromStdString(tmp.string()), "PNG"))
        throw InputError(path.toStdString() + ": cannot write the PNG file");
    });
    setStatus(QString("Screenshot written to %1").arg(path));
    return true;
  } catch (const std::exception& e) {
    showError("Cannot save screenshot", q(e.what()));
  }
  return false;
}

// ------------------------------------------------------------------------------------------ dialogs
void MainWindow::chooseFolder() {
  const QString start = d_->recent->list().value(0);
  const QString dir = QFileDialog::getExistingDirectory(this, "Open case folder", start.isEmpty() ? QDir::homePath()
                                                                                                  : QFileInfo(start).path());
  if (!dir.isEmpty()) openCase(dir);
}

void MainWindow::chooseFiles() {
  const QStringList files = QFileDialog::getOpenFileNames(this, "Open image files", d_->cases->caseFolder(),
                                                          "NIfTI images (*.nii *.nii.gz);;All files (*)");
  if (!files.isEmpty()) openPaths(files);
}

void MainWindow::chooseDicomSeries() {
  if (!d_->cases->isDicomCase()) return;
  DicomSeriesDialog dlg(d_->cases->dicomSeries(), d_->cases->dicomChosen(), this);
  if (dlg.exec() == QDialog::Accepted) d_->cases->reassignDicom(dlg.assignment(), d_->async);
}

void MainWindow::chooseAssign(int slot) {
  if (d_->cases->isDicomCase() && slot < kNumModalities) {  // a DICOM case: which series is which
    chooseDicomSeries();
    return;
  }
  const QString name = slot == kSegSlot ? QString("segmentation") : q(std::string(modality_display(slot)));
  const QString f = QFileDialog::getOpenFileName(this, QString("Assign a file to %1").arg(name), d_->cases->caseFolder(),
                                                 "NIfTI images (*.nii *.nii.gz);;All files (*)");
  if (f.isEmpty()) return;
  if (d_->cases->hasCase()) d_->cases->assignFile(slot, f);
  else d_->cases->openFiles({f}, {{f, slot}});
}

void MainWindow::chooseExportLabels() {
  const QString def = QDir(d_->cases->caseFolder()).filePath(d_->cases->caseId() + "_pred.nii.gz");
  const QString f = QFileDialog::getSaveFileName(this, "Export label map", def, "NIfTI (*.nii.gz *.nii)");
  if (!f.isEmpty()) exportLabels(f);
}

void MainWindow::chooseExportReport() {
  const QString def = QDir(d_->cases->caseFolder()).filePath(d_->cases->caseId() + "_report.json");
  const QString f = QFileDialog::getSaveFileName(this, "Export report", def, "JSON (*.json);;CSV (*.csv)");
  if (!f.isEmpty()) exportReport(f);
}

void MainWindow::chooseExportAgreement() {
  const QString def = QDir(d_->cases->caseFolder()).filePath(d_->cases->caseId() + "_agreement.nii.gz");
  const QString f = QFileDialog::getSaveFileName(this, "Export subset agreement maps (_WT, _TC, _ET are appended)",
                                                 def, "NIfTI (*.nii.gz *.nii)");
  if (!f.isEmpty()) exportAgreement(f);
}

void MainWindow::chooseExportDicomSeg() {
  const QString def = QDir(d_->cases->caseFolder()).filePath(d_->cases->caseId() + "_seg.dcm");
  const QString f = QFileDialog::getSaveFileName(this, "Export DICOM SEG", def, "DICOM (*.dcm);;All files (*)");
  if (!f.isEmpty()) exportDicomSeg(f);
}

void MainWindow::chooseScreenshot() {
  const QString def = QDir(d_->cases->caseFolder()).filePath(d_->cases->caseId() + "_screenshot.png");
  const QString f = QFileDialog::getSaveFileName(this, "Save screenshot", def, "PNG (*.png)");
  if (!f.isEmpty()) saveScreenshot(f);
}

void MainWindow::chooseModel() {
  const QString dir = QFileDialog::getExistingDirectory(this, "Load model from a training run folder");
  if (!dir.isEmpty()) d_->models->loadFrom(dir);
}

void MainWindow::refreshRecentMenu() {
  auto& d = *d_;
  d.recent_menu->clear();
  const QStringList l = d.recent->list();
  for (const QString& f : l) d.recent_menu->addAction(QFileInfo(f).fileName(), this, [this, f] { openCase(f); })->setToolTip(f);
  if (l.isEmpty()) d.recent_menu->addAction("(none)")->setEnabled(false);
  else {
    d.recent_menu->addSeparator();
    d.recent_menu->addAction("Clear list", this, [this] {
      d_->recent->clear();
      refreshRecentMenu();
    });
  }
}

void MainWindow::updateActions() {
  auto& d = *d_;
  const bool running = d.seg->isRunning();
  const bool has_case = d.cases->hasCase();
  const bool loading = d.cases->isLoading();
  d.segment->setEnabled(has_case && !running && !loading && d.cases->selected() != 0);
  d.cancel->setEnabled(running);
  d.open_folder->setEnabled(!loading);
  d.open_files->setEnabled(!loading);
  d.export_labels->setEnabled(d.overlay->canExportLabels());
  d.export_report->setEnabled(d.overlay->canExportReport());
  d.export_agreement->setEnabled(d.overlay->canExportAgreement());
  d.export_dicom_seg->setEnabled(d.overlay->canExportDicomSeg());
  d.dicom_series->setEnabled(d.cases->isDicomCase() && !d.cases->isLoading());
  d.screenshot->setEnabled(true);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* e) {
  if (e->mimeData()->hasUrls()) e->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* e) {
  QStringList paths;
  for (const QUrl& u : e->mimeData()->urls())
    if (u.isLocalFile()) paths << u.toLocalFile();
  if (paths.isEmpty()) return;
  e->acceptProposedAction();
  openPaths(paths);
}

void MainWindow::closeEvent(QCloseEvent* e) {
  if (d_->seg->isRunning()) {
    d_->seg->cancel();
    d_->seg->waitForFinished(10000);
  }
  QMainWindow::closeEvent(e);
}

}  // namespace gmd::gui
