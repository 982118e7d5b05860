#pragma once
// Segmentation runs, off the UI thread (testable without a display).
#include <QObject>
#include <QString>
#include <functional>
#include <memory>

#include "gmd/common/modality.hpp"
#include "gmd/gui/background_job.hpp"
#include "gmd/gui/model_controller.hpp"
#include "gmd/io/case.hpp"
#include "gmd/pipeline/service.hpp"

namespace gmd::gui {

// Runs a segmentation on a worker thread (a BackgroundJob). Progress callbacks from the worker are
// marshalled to this object's thread as progressChanged() signals; cancel() makes the next
// Progress::cancelled() poll return true (the pipeline then throws gmd::Cancelled).
class SegmentationController : public QObject {
  Q_OBJECT
 public:
  using SegmentFn = std::function<pipeline::Segmentation(const io::Case&, SubsetMask, const pipeline::Progress&)>;
  explicit SegmentationController(ModelController* models, QObject* parent = nullptr);
  ~SegmentationController() override;

  // Replaces the real pipeline::segment (tests inject a fake). An empty function restores it.
  void setSegmentFunction(SegmentFn fn);
  void setOptions(const pipeline::SegmentOptions& opt);
  const pipeline::SegmentOptions& options() const;
  // Also predict every subset of the modalities in use and map where they agree (SegmentOptions::agreement).
  void setAgreement(bool on);

  // Starts segmenting `c` with exactly the modalities in `use`. Returns false (and emits failed())
  // when it cannot start: already running, nothing selected, no model, model unusable.
  bool start(std::shared_ptr<const io::Case> c, SubsetMask use);
  void cancel();
  bool isRunning() const;
  // Blocks (processing events) until the current run ends; for tests and headless mode.
  bool waitForFinished(int timeout_ms);

  std::shared_ptr<const pipeline::Segmentation> result() const;
  std::shared_ptr<const io::Case> resultCase() const;  // the case the result belongs to
  QString resultModelName() const;
  QString resultModelPath() const;
  void clearResult();
  // Ties the current result to another object of the same case (after a reload).
  void rebindResult(std::shared_ptr<const io::Case> c);

 Q_SIGNALS:
  void started();
  void progressChanged(const QString& stage, double fraction);
  void finished();                      // result() holds the segmentation
  void failed(const QString& message);  // plain words; names the file/problem
  void cancelled();
  void runningChanged(bool running);
  void optionsChanged();

 private:
  void onJobFinished(const JobOutcome& out);
  ModelController* models_;
  SegmentFn fn_;
  pipeline::SegmentOptions opt_;
  BackgroundJob* job_ = nullptr;
  std::shared_ptr<const pipeline::Segmentation> result_;
  std::shared_ptr<const io::Case> result_case_, pending_case_;
  QString model_name_, model_path_, pending_model_name_, pending_model_path_;
};

}  // namespace gmd::gui
