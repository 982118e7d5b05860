#pragma once
// The per-modality ablation viewer: for the loaded case and model, the segmentation from every
// subset of the case's present modalities (pipeline::ablate, encode once, on a worker thread with
// progress and cancel), as a grid of slice thumbnails with the label overlay synchronized with the
// main view's slice, one shown large; a table and a bar chart of Dice per region per subset (against
// the ground truth when the case has a seg, otherwise against the all-present prediction), region
// volumes, and which modality each region depends on most. Exports: CSV (pipeline::ablation_csv)
// and the grid as PNG.
//
// Embedding: setCase() and setModel() from the main window, setSlice() whenever its slice moves;
// listen to sliceChosen (the user moved the slice here) and subsetChosen (a thumbnail was clicked).
// Headless screenshot: setCase, setModel, runBlocking(), then grab().
#include <QWidget>
#include <memory>
#include <optional>

#include "gmd/io/case.hpp"
#include "gmd/panels/ablation_model.hpp"
#include "gmd/panels/ablation_run.hpp"
#include "gmd/pipeline/service.hpp"

QT_BEGIN_NAMESPACE
class QCheckBox;
class QChartView;
class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QSlider;
class QSpinBox;
class QSplitter;
class QTableWidget;
QT_END_NAMESPACE

namespace gmd::panels {

class AblationGrid;
class SliceView;

class AblationPanel : public QWidget {
  Q_OBJECT
 public:
  explicit AblationPanel(QWidget* parent = nullptr);
  ~AblationPanel() override;  // cancels and waits for a running ablation

  // The case (copied; the shared_ptr overload avoids the copy). Clears the previous result.
  void setCase(const io::Case& c);
  void setCase(std::shared_ptr<const io::Case> c);
  void setModel(const pipeline::Model& m);
  void setSegmentOptions(const pipeline::SegmentOptions& o) { run_->setSegmentOptions(o); }
  // Compute automatically whenever both a case and a model are set (default off: press Compute).
  void setAutoRun(bool on);

  // Starts the ablation on a worker thread (false when no case/model or one is running).
  bool run();
  void cancel();
  bool isRunning() const;
  // Runs (or waits for the running one) while processing events; true when a result is in.
  bool runBlocking();

  const pipeline::Ablation* result() const { return run_->result().get(); }
  QString lastError() const { return run_->lastError(); }
  // The run state (case, model, computation, result) behind the widgets.
  AblationRun* runState() const { return run_; }
  std::vector<RegionDependence> dependence() const;
  // Table contents as shown: rows in paper order, columns as tableHeaders().
  QTableWidget* table() const { return table_; }
  QStringList tableHeaders() const;

  int sliceAxis() const { return axis_; }
  int sliceIndex() const { return index_; }
  SubsetMask selectedSubset() const { return selected_; }
  void setSelectedSubset(SubsetMask s);

  QString csv() const;  // pipeline::ablation_csv of the result ("" without one)
  bool exportCsv(const QString& path, QString* error = nullptr);
  // The thumbnail grid (tile 0 = the reference, then the subsets in paper order) and a tile's
  // rectangle in its coordinates.
  QWidget* gridWidget() const;
  QRect thumbnailRect(int tile) const;
  QImage gridImage() const;  // four columns, for export
  bool exportGridPng(const QString& path, QString* error = nullptr);

 public Q_SLOTS:
  // From the main view: axis 0 sagittal (x), 1 coronal (y), 2 axial (z); index in voxels.
  // Does not emit sliceChosen.
  void setSlice(int axis, int index);

 Q_SIGNALS:
  void sliceChosen(int axis, int index);  // the user moved the slice in this panel
  void subsetChosen(int subset_mask);     // the user clicked a thumbnail
  void progress(double fraction, const QString& stage);
  void finished(bool ok);

 protected:
  void resizeEvent(QResizeEvent* e) override;

 private:
  void onStarted();
  void onFinished(bool ok);
  void onResultCleared();
  void refreshImages();
  void refreshTable();
  void refreshChart();
  void updateControls();
  void emitSlice();

  AblationRun* run_;  // child: the case, the model, the computation and its result
  viz::WindowLevel window_;
  int background_ = -1;
  int axis_ = kAxial, index_ = 0;
  bool slice_from_view_ = false;
  SubsetMask selected_ = 0;

  QPushButton *run_btn_, *cancel_btn_, *csv_btn_, *png_btn_;
  QCheckBox* auto_box_;
  QProgressBar* bar_;
  QLabel *info_, *dep_label_;
  QComboBox *axis_box_, *chart_mode_;
  QSlider* slider_;
  QSpinBox* slice_spin_;
  AblationGrid* grid_;
  SliceView* large_;
  QTableWidget* table_;
  QChartView* chart_;
  QSplitter* top_split_;
};

}  // namespace gmd::panels
