// TrainingPanel: settings form, run controls and live charts (see training_panel.hpp).
#include "gmd/common/run_files.hpp"
#include "gmd/panels/training_panel.hpp"

#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QResizeEvent>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

namespace gmd::panels {

namespace {
QString format_duration(double s) {
  if (!(s > 0)) return QStringLiteral("\u2013");
  const qint64 t = static_cast<qint64>(s + 0.5);
  if (t < 60) return QStringLiteral("%1 s").arg(t);
  if (t < 3600) return QStringLiteral("%1 min %2 s").arg(t / 60).arg(t % 60, 2, 10, QLatin1Char('0'));
  return QStringLiteral("%1 h %2 min").arg(t / 3600).arg((t % 3600) / 60, 2, 10, QLatin1Char('0'));
}

QSpinBox* spin(int lo, int hi, int value, int step = 1) {
  auto* s = new QSpinBox;
  s->setRange(lo, hi);
  s->setValue(value);
  s->setSingleStep(step);
  return s;
}

void set_combo(QComboBox* c, const std::string& v) {
  const int i = c->findData(QString::fromStdString(v));
  if (i >= 0) c->setCurrentIndex(i);
}
}  // namespace

TrainingPanel::TrainingPanel(QWidget* parent) : QWidget(parent), session_(new TrainingSession(this)) {
  refresh_timer_ = new QTimer(this);
  refresh_timer_->setSingleShot(true);
  refresh_timer_->setInterval(250);
  connect(refresh_timer_, &QTimer::timeout, this, &TrainingPanel::refreshCharts);

  // Vertical (form above the charts) until the panel is wide enough for side by side.
  split_ = new QSplitter(Qt::Vertical, this);
  form_ = buildForm();
  auto* scroll = new QScrollArea;
  form_scroll_ = scroll;
  scroll->setWidget(form_);
  scroll->setWidgetResizable(true);
  scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  scroll->setMinimumWidth(form_->minimumSizeHint().width() + 24);
  split_->addWidget(scroll);
  charts_page_ = buildCharts();
  split_->addWidget(charts_page_);
  split_->setStretchFactor(0, 0);
  split_->setStretchFactor(1, 1);
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(2, 2, 2, 2);
  lay->setSizeConstraint(QLayout::SetNoConstraint);  // minimumSizeHint() below decides
  lay->addWidget(split_);

  connect(session_, &TrainingSession::metricsChanged, this, &TrainingPanel::scheduleRefresh);
  connect(session_, &TrainingSession::progressChanged, this, &TrainingPanel::updateProgress);
  connect(session_, &TrainingSession::outputLine, this, [this](const QString& l) { output_->appendPlainText(l); });
  connect(session_, &TrainingSession::stateChanged, this, [this](TrainingSession::State s) {
    updateButtons();
    if (s == TrainingSession::State::Failed)
      setStatus(session_->lastError(), true);
    else
      setStatus(TrainingSession::stateName(s));
    refreshCharts();
    Q_EMIT stateChanged(s);
  });
  connect(&scan_watch_, &QFutureWatcher<DatasetSummary>::finished, this,
          [this] { showDataset(scan_watch_.result()); });
  updateButtons();
  setStatus(QStringLiteral("choose a dataset folder and press Start, or open a run"));
}

QWidget* TrainingPanel::buildForm() {
  auto* w = new QWidget;
  auto* v = new QVBoxLayout(w);
  v->setContentsMargins(4, 4, 4, 4);

  auto* data_box = new QGroupBox(QStringLiteral("Dataset"));
  auto* df = new QFormLayout(data_box);
  data_edit_ = new QLineEdit;
  data_edit_->setPlaceholderText(QStringLiteral("BraTS-layout folder: DIR/<case>/<case>_flair.nii.gz ..."));
  auto* data_btn = new QToolButton;
  data_btn->setText(QStringLiteral("\u2026"));
  data_btn->setToolTip(QStringLiteral("Choose the dataset folder"));
  auto* drow = new QHBoxLayout;
  drow->addWidget(data_edit_);
  drow->addWidget(data_btn);
  df->addRow(QStringLiteral("Folder"), drow);
  data_label_ = new QLabel(QStringLiteral("no dataset chosen"));
  data_label_->setWordWrap(true);
  df->addRow(data_label_);
  val_cases_ = spin(-1, 100000, -1);
  val_cases_->setSpecialValueText(QStringLiteral("auto (20 %)"));
  val_cases_->setToolTip(QStringLiteral("Held-out validation cases: the last N cases of the sorted list"));
  df->addRow(QStringLiteral("Validation cases"), val_cases_);
  v->addWidget(data_box);
  connect(data_btn, &QToolButton::clicked, this, [this] {
    const QString d = QFileDialog::getExistingDirectory(this, QStringLiteral("Dataset folder"), data_edit_->text());
    if (!d.isEmpty()) {
      data_edit_->setText(d);
      scanDataset();
    }
  });
  connect(data_edit_, &QLineEdit::editingFinished, this, &TrainingPanel::scanDataset);

  auto* m_box = new QGroupBox(QStringLiteral("Method"));
  auto* mf = new QFormLayout(m_box);
  method_ = new QComboBox;
  method_->addItem(QStringLiteral("DS + GMD (ours)"), QStringLiteral("ds-gmd"));
  method_->addItem(QStringLiteral("DS (dynamic sharing)"), QStringLiteral("ds"));
  method_->addItem(QStringLiteral("Vanilla multimodal"), QStringLiteral("vanilla"));
  method_->addItem(QStringLiteral("Unimodal baselines"), QStringLiteral("unimodal"));
  mf->addRow(QStringLiteral("Method"), method_);
  policy_ = new QComboBox;
  policy_->addItem(QStringLiteral("random k subsets"), QStringLiteral("random"));
  policy_->addItem(QStringLiteral("all 15 subsets"), QStringLiteral("all"));
  policy_->addItem(QStringLiteral("1 modality missing"), QStringLiteral("missing1"));
  policy_->addItem(QStringLiteral("2 modalities missing"), QStringLiteral("missing2"));
  policy_->addItem(QStringLiteral("3 modalities missing"), QStringLiteral("missing3"));
  mf->addRow(QStringLiteral("Subsets"), policy_);
  k_ = spin(1, 15, 5);
  mf->addRow(QStringLiteral("k"), k_);
  steps_ = spin(1, 10000000, 1000, 100);
  mf->addRow(QStringLiteral("Steps"), steps_);
  patch_ = spin(16, 512, 64, 16);
  patch_->setSuffix(QStringLiteral("\u00b3"));
  mf->addRow(QStringLiteral("Patch"), patch_);
  widths_edit_ = new QLineEdit(QStringLiteral("16,32,64,128,256"));
  widths_edit_->setToolTip(QStringLiteral("U-Net channels per level"));
  mf->addRow(QStringLiteral("Widths"), widths_edit_);
  device_ = new QComboBox;
  device_->addItem(QStringLiteral("auto"), QStringLiteral("auto"));
  device_->addItem(QStringLiteral("CPU"), QStringLiteral("cpu"));
  device_->addItem(QStringLiteral("CUDA"), QStringLiteral("cuda"));
  mf->addRow(QStringLiteral("Device"), device_);
  batch_ = spin(1, 4096, 1);
  batch_->setToolTip(QStringLiteral("Patches per step (the global batch: processes share it out)"));
  mf->addRow(QStringLiteral("Batch"), batch_);
  nproc_ = spin(1, 256, 1);
  nproc_->setToolTip(QStringLiteral(
      "Processes on this machine training together (gmd train --nproc: data parallel over c10d, Gloo on CPU, NCCL on "
      "CUDA). The batch must be a multiple of it; the run is one run (rank 0 writes it)."));
  mf->addRow(QStringLiteral("Processes"), nproc_);
  seed_ = spin(0, 1 << 30, 1);
  mf->addRow(QStringLiteral("Seed"), seed_);
  val_every_ = spin(0, 1000000, 100, 10);
  val_every_->setSpecialValueText(QStringLiteral("at the end"));
  mf->addRow(QStringLiteral("Validate every"), val_every_);
  ckpt_every_ = spin(0, 1000000, 100, 10);
  ckpt_every_->setSpecialValueText(QStringLiteral("at the end"));
  mf->addRow(QStringLiteral("Checkpoint every"), ckpt_every_);
  v->addWidget(m_box);
  auto sync_k = [this] {
    const bool gmd_like = method_->currentData().toString().startsWith(QStringLiteral("ds"));
    policy_->setEnabled(gmd_like && !session_->isActive());
    k_->setEnabled(gmd_like && policy_->currentData().toString() == QStringLiteral("random") && !session_->isActive());
  };
  connect(method_, &QComboBox::currentIndexChanged, this, sync_k);
  connect(policy_, &QComboBox::currentIndexChanged, this, sync_k);

  auto* r_box = new QGroupBox(QStringLiteral("Run"));
  auto* rv = new QVBoxLayout(r_box);
  run_edit_ = new QLineEdit;
  run_edit_->setPlaceholderText(QStringLiteral("output folder (default ~/gmd-runs/<method>-<time>)"));
  auto* run_btn = new QToolButton;
  run_btn->setText(QStringLiteral("\u2026"));
  auto* rrow = new QHBoxLayout;
  rrow->addWidget(run_edit_);
  rrow->addWidget(run_btn);
  rv->addLayout(rrow);
  connect(run_btn, &QToolButton::clicked, this, [this] {
    const QString d = QFileDialog::getExistingDirectory(this, QStringLiteral("Run folder"), run_edit_->text());
    if (!d.isEmpty()) run_edit_->setText(d);
  });
  auto* grid = new QGridLayout;
  start_btn_ = new QPushButton(QStringLiteral("Start"));
  pause_btn_ = new QPushButton(QStringLiteral("Pause"));
  resume_btn_ = new QPushButton(QStringLiteral("Resume"));
  stop_btn_ = new QPushButton(QStringLiteral("Stop"));
  open_btn_ = new QPushButton(QStringLiteral("Open run\u2026"));
  use_btn_ = new QPushButton(QStringLiteral("Use this model"));
  start_btn_->setToolTip(QStringLiteral("Start a new run with these settings"));
  pause_btn_->setToolTip(QStringLiteral("Finish the current step, write a checkpoint and pause"));
  resume_btn_->setToolTip(QStringLiteral("Continue from the run's last checkpoint"));
  stop_btn_->setToolTip(QStringLiteral("Finish the current step and write the model"));
  use_btn_->setToolTip(QStringLiteral("Load this run's model for segmentation"));
  grid->addWidget(start_btn_, 0, 0);
  grid->addWidget(pause_btn_, 0, 1);
  grid->addWidget(resume_btn_, 1, 0);
  grid->addWidget(stop_btn_, 1, 1);
  grid->addWidget(open_btn_, 2, 0);
  grid->addWidget(use_btn_, 2, 1);
  rv->addLayout(grid);
  progress_ = new QProgressBar;
  progress_->setRange(0, 1);
  progress_->setValue(0);
  progress_->setFormat(QStringLiteral("%v / %m steps"));
  rv->addWidget(progress_);
  status_ = new QLabel;
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  rv->addWidget(status_);
  output_ = new QPlainTextEdit;
  output_->setReadOnly(true);
  output_->setMaximumBlockCount(400);
  output_->setPlaceholderText(QStringLiteral("output of gmd train"));
  QFont mono(QStringLiteral("DejaVu Sans Mono"));
  mono.setStyleHint(QFont::Monospace);
  mono.setPointSizeF(std::max(6.0, font().pointSizeF() - 1.5));
  output_->setFont(mono);
  output_->setMinimumHeight(90);
  rv->addWidget(output_, 1);
  v->addWidget(r_box, 1);

  connect(start_btn_, &QPushButton::clicked, this, &TrainingPanel::onStartClicked);
  connect(pause_btn_, &QPushButton::clicked, this, &TrainingPanel::pause);
  connect(resume_btn_, &QPushButton::clicked, this, [this] { resume(); });
  connect(stop_btn_, &QPushButton::clicked, this, &TrainingPanel::stop);
  connect(open_btn_, &QPushButton::clicked, this, &TrainingPanel::onOpenClicked);
  connect(use_btn_, &QPushButton::clicked, this, [this] { Q_EMIT useModel(session_->runDir()); });
  return w;
}

QWidget* TrainingPanel::buildCharts() {
  auto* w = new QWidget;
  auto* v = new QVBoxLayout(w);
  v->setContentsMargins(0, 0, 0, 0);
  auto* bar = new QGridLayout;
  bar->setHorizontalSpacing(6);
  bar->setVerticalSpacing(2);
  smooth_ = spin(1, 100000, 10);
  smooth_->setPrefix(QStringLiteral("smoothing "));
  smooth_->setSuffix(QStringLiteral(" steps"));
  smooth_->setToolTip(QStringLiteral("Trailing mean over this many steps (loss, angles, conflicts, norms); 1 = raw"));
  wwin_ = spin(1, 100000, 100);
  wwin_->setPrefix(QStringLiteral("weights "));
  wwin_->setSuffix(QStringLiteral(" steps"));
  wwin_->setToolTip(QStringLiteral("Trailing mean of the GMD weights (paper Fig. 4 uses 100 steps)"));
  log_loss_ = new QCheckBox(QStringLiteral("log loss"));
  angle_mode_ = new QComboBox;
  angle_mode_->addItem(QStringLiteral("angles: min / mean / max"));
  angle_mode_->addItem(QStringLiteral("angles: every pair"));
  after_ = new QCheckBox(QStringLiteral("after GMD"));
  after_->setChecked(true);
  after_->setToolTip(QStringLiteral("Also draw the angles after GMD's projection (dashed/blue)"));
  heat_mode_ = new QComboBox;
  heat_mode_->addItem(QStringLiteral("cosines before GMD"));
  heat_mode_->addItem(QStringLiteral("cosines after GMD"));
  export_btn_ = new QPushButton(QStringLiteral("Export\u2026"));
  export_btn_->setToolTip(QStringLiteral("Save every chart as PNG and SVG, and its data as CSV"));
  // Two rows, so that the panel still fits a narrow side panel.
  bar->addWidget(smooth_, 0, 0);
  bar->addWidget(wwin_, 0, 1);
  bar->addWidget(log_loss_, 0, 2);
  bar->addWidget(export_btn_, 0, 4);
  bar->addWidget(angle_mode_, 1, 0);
  bar->addWidget(heat_mode_, 1, 1);
  bar->addWidget(after_, 1, 2);
  bar->setColumnStretch(3, 1);
  v->addLayout(bar);
  for (auto* s : {smooth_, wwin_}) connect(s, &QSpinBox::valueChanged, this, &TrainingPanel::refreshCharts);
  for (auto* c : {log_loss_, after_}) connect(c, &QCheckBox::toggled, this, &TrainingPanel::refreshCharts);
  for (auto* c : {angle_mode_, heat_mode_})
    connect(c, &QComboBox::currentIndexChanged, this, &TrainingPanel::refreshCharts);
  connect(export_btn_, &QPushButton::clicked, this, &TrainingPanel::onExportClicked);

  for (Figure f : all_figures()) {
    auto* c = new SeriesChart;
    c->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(c, &QWidget::customContextMenuRequested, this, [this, c, f](const QPoint& p) { chartMenu(c, f, p); });
    charts_[f] = c;
  }
  heat_ = new CosHeatmap;
  tabs_ = new QTabWidget;
  auto* t1 = new QSplitter(Qt::Vertical);
  t1->addWidget(charts_[Figure::Loss]);
  t1->addWidget(charts_[Figure::ValDice]);
  t1->setStretchFactor(0, 3);
  t1->setStretchFactor(1, 2);
  tabs_->addTab(t1, QStringLiteral("Loss && Dice"));
  auto* t2 = new QSplitter(Qt::Vertical);
  t2->addWidget(charts_[Figure::ConflictAngles]);
  auto* t2b = new QSplitter(Qt::Horizontal);
  t2b->addWidget(charts_[Figure::ConflictFraction]);
  t2b->addWidget(heat_);
  t2->addWidget(t2b);
  tabs_->addTab(t2, QStringLiteral("Conflicts"));
  tabs_->addTab(charts_[Figure::GradNorms], QStringLiteral("Norms (Fig. 3)"));
  tabs_->addTab(charts_[Figure::GmdWeights], QStringLiteral("Weights (Fig. 4)"));
  v->addWidget(tabs_, 1);
  return w;
}

QSize TrainingPanel::minimumSizeHint() const {
  // The stacked (vertical) layout's needs: the panel fits a narrow side panel.
  return {std::max(form_scroll_->minimumSizeHint().width(), charts_page_->minimumSizeHint().width()) + 8, 420};
}

void TrainingPanel::resizeEvent(QResizeEvent* e) {
  QWidget::resizeEvent(e);
  // Side by side only when both halves fit; in a narrow side panel the form goes above the charts.
  const int side_by_side = form_scroll_->minimumSizeHint().width() + charts_page_->minimumSizeHint().width() + 60;
  const Qt::Orientation o = e->size().width() < std::max(900, side_by_side) ? Qt::Vertical : Qt::Horizontal;
  if (split_->orientation() != o) {
    split_->setOrientation(o);
    const int total = o == Qt::Vertical ? e->size().height() : e->size().width();
    const int first = o == Qt::Vertical ? total * 2 / 5 : std::min(total / 3, form_->sizeHint().width() + 30);
    split_->setSizes({first, total - first});
  }
}

void TrainingPanel::setGmdExecutable(const QString& path) { session_->setGmdExecutable(path); }

TrainRequest TrainingPanel::settings() const {
  // The fields the form does not show (learning rate, GMD projection...) keep the values of the open run, or
  // the defaults.
  TrainRequest s = session_->settings();
  // Absolute paths: the child process and a later resume may run from another folder.
  auto abs = [](const QString& p) { return p.isEmpty() ? std::string() : QFileInfo(p).absoluteFilePath().toStdString(); };
  s.data_dir = abs(data_edit_->text().trimmed());
  s.run_dir = abs(run_edit_->text().trimmed());
  s.method = method_->currentData().toString().toStdString();
  s.policy = policy_->currentData().toString().toStdString();
  s.k = k_->value();
  s.steps = steps_->value();
  s.patch = patch_->value();
  s.widths = widths_edit_->text().remove(QLatin1Char(' ')).toStdString();
  s.device = device_->currentData().toString().toStdString();
  s.batch = batch_->value();
  s.nproc = nproc_->value();
  s.seed = static_cast<uint64_t>(seed_->value());
  s.val_cases = val_cases_->value();
  s.val_every = val_every_->value();
  s.checkpoint_every = ckpt_every_->value();
  return s;
}

void TrainingPanel::setSettings(const TrainRequest& s) {
  data_edit_->setText(QString::fromStdString(s.data_dir));
  run_edit_->setText(QString::fromStdString(s.run_dir));
  set_combo(method_, s.method);
  set_combo(policy_, s.policy);
  set_combo(device_, s.device);
  batch_->setValue(static_cast<int>(s.batch));
  nproc_->setValue(s.nproc);
  k_->setValue(s.k);
  steps_->setValue(static_cast<int>(s.steps));
  patch_->setValue(static_cast<int>(s.patch));
  widths_edit_->setText(QString::fromStdString(s.widths));
  seed_->setValue(static_cast<int>(s.seed));
  val_cases_->setValue(static_cast<int>(s.val_cases));
  val_every_->setValue(static_cast<int>(s.val_every));
  ckpt_every_->setValue(static_cast<int>(s.checkpoint_every));
  scanDataset();
}

bool TrainingPanel::openRun(const QString& dir) {
  if (!session_->openRun(dir)) {
    setStatus(session_->lastError(), true);
    return false;
  }
  setSettings(session_->settings());
  output_->clear();
  refreshCharts();
  updateButtons();
  setStatus(QStringLiteral("%1: %2").arg(QDir(dir).dirName(), TrainingSession::stateName(session_->state())));
  Q_EMIT runOpened(session_->runDir());
  return true;
}

DatasetSummary TrainingPanel::scanDatasetBlocking() {
  const DatasetSummary s = scan_dataset(data_edit_->text().trimmed().toStdString());
  scanned_dir_ = data_edit_->text().trimmed();
  showDataset(s);
  return s;
}

void TrainingPanel::scanDataset() {
  const QString d = data_edit_->text().trimmed();
  if (d.isEmpty()) {
    data_label_->setText(QStringLiteral("no dataset chosen"));
    return;
  }
  if (d == scanned_dir_ && !scan_watch_.isRunning()) return;
  scanned_dir_ = d;
  data_label_->setText(QStringLiteral("scanning\u2026"));
  scan_watch_.setFuture(QtConcurrent::run([p = d.toStdString()] { return scan_dataset(p); }));
}

void TrainingPanel::showDataset(const DatasetSummary& s) {
  if (QString::fromStdString(s.dir) != data_edit_->text().trimmed()) return;  // a stale scan
  QString t = QString::fromStdString(s.text());
  if (!s.problems.empty()) t += QStringLiteral("\n") + QString::fromStdString(s.problems.front());
  if (s.ok() && s.with_seg < s.cases)
    t += QStringLiteral("\n%1 case(s) without seg cannot be used for training").arg(s.cases - s.with_seg);
  data_label_->setText(t);
  data_label_->setStyleSheet(s.ok() ? QString() : QStringLiteral("color: #b00020"));
}

SeriesChart* TrainingPanel::chart(Figure f) const {
  const auto it = charts_.find(f);
  return it == charts_.end() ? nullptr : it->second;
}

FigureOptions TrainingPanel::figureOptions() const {
  FigureOptions o;
  o.smoothing = smooth_->value();
  o.weight_window = wwin_->value();
  o.log_loss = log_loss_->isChecked();
  o.angles_per_pair = angle_mode_->currentIndex() == 1;
  o.angles_after = after_->isChecked();
  return o;
}

void TrainingPanel::setFigureOptions(const FigureOptions& o) {
  const QSignalBlocker b1(smooth_), b2(wwin_), b3(log_loss_), b4(angle_mode_), b5(after_);
  smooth_->setValue(static_cast<int>(o.smoothing));
  wwin_->setValue(static_cast<int>(o.weight_window));
  log_loss_->setChecked(o.log_loss);
  angle_mode_->setCurrentIndex(o.angles_per_pair ? 1 : 0);
  after_->setChecked(o.angles_after);
  refreshCharts();
}

void TrainingPanel::showFigure(Figure f) {
  switch (f) {
    case Figure::Loss:
    case Figure::ValDice: tabs_->setCurrentIndex(0); break;
    case Figure::ConflictAngles:
    case Figure::ConflictFraction: tabs_->setCurrentIndex(1); break;
    case Figure::GradNorms: tabs_->setCurrentIndex(2); break;
    case Figure::GmdWeights: tabs_->setCurrentIndex(3); break;
  }
}

void TrainingPanel::scheduleRefresh() {
  if (!refresh_timer_->isActive()) refresh_timer_->start();
}

void TrainingPanel::refreshCharts() {
  refresh_timer_->stop();
  const MetricsLog& log = session_->log();
  const FigureOptions o = figureOptions();
  for (auto& [f, c] : charts_) show_figure(*c, f, log, o);
  heat_->setMatrix(cos_matrix(log), heat_mode_->currentIndex() == 1);
  drawn_revision_ = log.revision();
  updateButtons();
}

bool TrainingPanel::exportCharts(const QString& dir, QString* error) {
  QString err;
  const QStringList files = export_figures(session_->log(), figureOptions(), dir, QSize(900, 540), &err);
  if (error) *error = err;
  if (!err.isEmpty()) {
    setStatus(err, true);
    return false;
  }
  setStatus(QStringLiteral("%1 files written to %2").arg(files.size()).arg(dir));
  return true;
}

bool TrainingPanel::start() {
  TrainRequest s = settings();
  if (s.run_dir.empty() && !s.data_dir.empty()) {
    s.run_dir = QDir::home()
                    .filePath(QStringLiteral("gmd-runs/%1-%2")
                                  .arg(QString::fromStdString(s.method),
                                       QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss"))))
                    .toStdString();
    run_edit_->setText(QString::fromStdString(s.run_dir));
  }
  session_->setSettings(s);
  output_->clear();
  if (!session_->start(false)) {
    setStatus(session_->lastError(), true);
    return false;
  }
  return true;
}

void TrainingPanel::onStartClicked() {
  const TrainRequest s = settings();
  if (!s.run_dir.empty()) {
    const QDir d(QString::fromStdString(s.run_dir));
    if (d.exists(QString::fromUtf8(run_files::kMetrics)) || d.exists(QString::fromUtf8(run_files::kCheckpoint))) {
      const auto a = QMessageBox::question(
          this, QStringLiteral("Run folder in use"),
          QStringLiteral("%1 already holds a run. Start over and overwrite it?\n(Choose No and use Resume to "
                         "continue it.)")
              .arg(d.path()));
      if (a != QMessageBox::Yes) return;
      session_->setSettings(s);
      output_->clear();
      if (!session_->start(true)) setStatus(session_->lastError(), true);
      return;
    }
  }
  start();
}

void TrainingPanel::pause() { session_->pause(); }

bool TrainingPanel::resume() {
  // Settings that cannot change across a resume come from the run; steps may be raised.
  TrainRequest s = session_->settings();
  if (s.run_dir.empty()) s = settings();
  s.steps = std::max<int64_t>(s.steps, steps_->value());
  session_->setSettings(s);
  if (!session_->resume()) {
    setStatus(session_->lastError(), true);
    return false;
  }
  return true;
}

void TrainingPanel::stop() { session_->stop(); }

void TrainingPanel::onOpenClicked() {
  const QString d = QFileDialog::getExistingDirectory(this, QStringLiteral("Open a training run"), run_edit_->text());
  if (!d.isEmpty()) openRun(d);
}

void TrainingPanel::onExportClicked() {
  const QString d = QFileDialog::getExistingDirectory(this, QStringLiteral("Export charts to"),
                                                      session_->runDir().isEmpty() ? QDir::homePath()
                                                                                   : session_->runDir());
  if (!d.isEmpty()) exportCharts(d);
}

void TrainingPanel::chartMenu(SeriesChart* c, Figure f, const QPoint& pos) {
  QMenu menu(this);
  const QString stem = QString::fromLatin1(figure_stem(f));
  const QString base = QDir(session_->runDir().isEmpty() ? QDir::homePath() : session_->runDir()).filePath(stem);
  menu.addAction(QStringLiteral("Save as PNG\u2026"), this, [this, c, base] {
    const QString p = QFileDialog::getSaveFileName(this, QStringLiteral("Save chart"), base + ".png",
                                                   QStringLiteral("PNG (*.png)"));
    QString err;
    if (!p.isEmpty() && !save_png(c, p, &err)) setStatus(err, true);
  });
  menu.addAction(QStringLiteral("Save as SVG\u2026"), this, [this, c, base] {
    const QString p = QFileDialog::getSaveFileName(this, QStringLiteral("Save chart"), base + ".svg",
                                                   QStringLiteral("SVG (*.svg)"));
    QString err;
    if (!p.isEmpty() && !save_svg(c, p, c->title(), &err)) setStatus(err, true);
  });
  menu.addAction(QStringLiteral("Save data as CSV\u2026"), this, [this, f, base] {
    const QString p = QFileDialog::getSaveFileName(this, QStringLiteral("Save data"), base + ".csv",
                                                   QStringLiteral("CSV (*.csv)"));
    QString err;
    if (!p.isEmpty() && !save_text(p, figure_csv(f, session_->log(), figureOptions()), &err)) setStatus(err, true);
  });
  menu.exec(c->mapToGlobal(pos));
}

void TrainingPanel::updateButtons() {
  using S = TrainingSession::State;
  const S s = session_->state();
  const bool active = session_->isActive();
  start_btn_->setEnabled(!active);
  pause_btn_->setEnabled(active && s == S::Running);
  stop_btn_->setEnabled(active && (s == S::Running || s == S::Pausing));
  resume_btn_->setEnabled(session_->canResume());
  open_btn_->setEnabled(!active);
  use_btn_->setEnabled(!active && session_->hasModel());
  for (QWidget* x : std::initializer_list<QWidget*>{data_edit_, run_edit_, widths_edit_, method_, device_, batch_,
                                                    nproc_, steps_, patch_, seed_, val_cases_, val_every_, ckpt_every_})
    x->setEnabled(!active);
  const bool gmd_like = method_->currentData().toString().startsWith(QStringLiteral("ds"));
  policy_->setEnabled(!active && gmd_like);
  k_->setEnabled(!active && gmd_like && policy_->currentData().toString() == QStringLiteral("random"));
}

void TrainingPanel::updateProgress(qint64 step, qint64 total, double steps_per_s, double eta_s) {
  progress_->setRange(0, static_cast<int>(std::max<qint64>(1, total)));
  progress_->setValue(static_cast<int>(std::min(step, std::max<qint64>(1, total))));
  if (session_->isActive()) {
    QString speed = steps_per_s > 0 ? (steps_per_s >= 1 ? QStringLiteral("%1 steps/s").arg(steps_per_s, 0, 'f', 2)
                                                        : QStringLiteral("%1 s/step").arg(1.0 / steps_per_s, 0, 'f', 1))
                                    : QStringLiteral("measuring speed");
    setStatus(QStringLiteral("%1 \u00b7 step %2/%3 \u00b7 %4 \u00b7 ETA %5")
                  .arg(TrainingSession::stateName(session_->state()))
                  .arg(step)
                  .arg(total)
                  .arg(speed, format_duration(eta_s)));
  }
}

QString TrainingPanel::statusText() const { return status_->text(); }

void TrainingPanel::setStatus(const QString& s, bool error) {
  status_->setText(s);
  status_->setStyleSheet(error ? QStringLiteral("color: #b00020") : QString());
}

}  // namespace gmd::panels
