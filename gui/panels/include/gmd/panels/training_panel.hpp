#pragma once
// The training panel: dataset and run settings, Start / Pause / Resume / Stop of a `gmd train` child
// process, progress with steps/s and ETA, and live charts of its metrics.jsonl (loss, validation
// Dice, gradient-conflict angles and fraction, cosine heat map, gradient norms = paper Fig. 3,
// GMD weights = paper Fig. 4). A finished or paused run can be reopened and replayed.
//
// Embedding: a plain QWidget. Connect useModel(run_dir) to load the run as the segmentation model.
// Headless screenshot: panel.openRun(dir) (synchronous), panel.showFigure(...), then grab().
#include <QFutureWatcher>
#include <QWidget>

#include "gmd/panels/charts.hpp"
#include "gmd/panels/training_session.hpp"

QT_BEGIN_NAMESPACE
class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QSplitter;
class QTabWidget;
class QTimer;
QT_END_NAMESPACE

namespace gmd::panels {

class TrainingPanel : public QWidget {
  Q_OBJECT
 public:
  explicit TrainingPanel(QWidget* parent = nullptr);

  TrainingSession* session() const { return session_; }
  void setGmdExecutable(const QString& path);

  TrainRequest settings() const;  // as edited in the form
  void setSettings(const TrainRequest& s);

  // Opens a run folder and replays its charts synchronously (they are drawn when this returns).
  // False (and a message in the status line) when the folder is not a run.
  bool openRun(const QString& dir);
  // Scans the form's dataset folder now (the form does it in the background as the folder changes).
  DatasetSummary scanDatasetBlocking();

  SeriesChart* chart(Figure f) const;
  CosHeatmap* heatmap() const { return heat_; }
  FigureOptions figureOptions() const;
  void setFigureOptions(const FigureOptions& o);
  void showFigure(Figure f);  // brings the figure's tab to the front
  // Writes every figure as PNG + SVG + CSV into dir (the names gmd-plot uses).
  bool exportCharts(const QString& dir, QString* error = nullptr);
  void refreshCharts();  // redraws from session()->log() now
  QString statusText() const;
  QSize minimumSizeHint() const override;  // fits a narrow side panel (form above the charts)

 public Q_SLOTS:
  bool start();  // with the form's settings; refuses a folder that already holds a run
  void pause();
  bool resume();
  void stop();

 Q_SIGNALS:
  void useModel(const QString& run_dir);  // "Use this model"
  void runOpened(const QString& run_dir);
  void stateChanged(gmd::panels::TrainingSession::State state);

 protected:
  void resizeEvent(QResizeEvent* e) override;

 private:
  QWidget* buildForm();
  QWidget* buildCharts();
  void updateButtons();
  void updateProgress(qint64 step, qint64 total, double steps_per_s, double eta_s);
  void scheduleRefresh();
  void scanDataset();
  void showDataset(const DatasetSummary& s);
  void onStartClicked();
  void onOpenClicked();
  void onExportClicked();
  void chartMenu(SeriesChart* c, Figure f, const QPoint& pos);
  void setStatus(const QString& s, bool error = false);

  TrainingSession* session_;
  // form
  QLineEdit *data_edit_, *run_edit_, *widths_edit_;
  QLabel* data_label_;
  QComboBox *method_, *policy_, *device_;
  QSpinBox *k_, *steps_, *patch_, *seed_, *val_cases_, *val_every_, *ckpt_every_, *batch_, *nproc_;
  QPushButton *start_btn_, *pause_btn_, *resume_btn_, *stop_btn_, *open_btn_, *use_btn_, *export_btn_;
  QProgressBar* progress_;
  QLabel* status_;
  QPlainTextEdit* output_;
  QWidget* form_;
  QWidget* form_scroll_;
  QWidget* charts_page_;
  // charts
  QSplitter* split_;
  QTabWidget* tabs_;
  std::map<Figure, SeriesChart*> charts_;
  CosHeatmap* heat_;
  QSpinBox *smooth_, *wwin_;
  QCheckBox *log_loss_, *after_;
  QComboBox *angle_mode_, *heat_mode_;
  QTimer* refresh_timer_;
  QFutureWatcher<DatasetSummary> scan_watch_;
  QString scanned_dir_;
  uint64_t drawn_revision_ = ~uint64_t{0};
};

}  // namespace gmd::panels
