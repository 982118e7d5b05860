#pragma once
// Model choice and segmentation runs, off the UI thread (testable without a display).
#include <QFutureWatcher>
#include <QObject>
#include <QString>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>

#include "gmd/common/modality.hpp"
#include "gmd/io/case.hpp"
#include "gmd/pipeline/service.hpp"

namespace gmd::gui {

// Which model segments: the bundled default (pipeline::Model::default_path()) unless the user
// loads another one from a training run folder. Loading is lazy: nothing is read until needed.
class ModelController : public QObject {
  Q_OBJECT
 public:
  explicit ModelController(QObject* parent = nullptr);
  // Loads the model in `run_or_file`; on failure keeps the previous one and emits errorOccurred.
  bool loadFrom(const QString& run_or_file);
  // Makes sure a model is loaded (the default one if none was chosen). False + errorOccurred
  // (plain words: where it looked) when there is none.
  bool ensureLoaded();
  // Forgets the chosen model (the default is used again).
  void useDefault();
  bool isLoaded() const;
  std::optional<pipeline::Model> model() const;
  QString modelPath() const;    // empty when none is loaded
  QString displayName() const;  // e.g. "default (ds-gmd, FLAIR+T1+T1ce+T2)"
  QString summary() const;      // model card text (Model::summary())
  // "" when the model can segment with `use`, else the reason in plain words (Model::check_usable).
  QString checkUsable(SubsetMask use) const;
  // The loaded model's expected accuracy for `use` (nullopt while no model is loaded).
  std::optional<pipeline::Trust> expectedTrust(SubsetMask use) const;
  QString lastError() const;

 Q_SIGNALS:
  void modelChanged();
  void errorOccurred(const QString& title, const QString& message);

 private:
  std::optional<pipeline::Model> model_;
  bool is_default_ = false;
  QString last_error_;
};

// Runs a segmentation on a worker thread (QtConcurrent). Progress callbacks from the worker are
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
  void onWorkerDone();
  struct Outcome;
  ModelController* models_;
  SegmentFn fn_;
  pipeline::SegmentOptions opt_;
  std::shared_ptr<std::atomic<bool>> cancel_flag_;
  QFutureWatcher<std::shared_ptr<Outcome>>* watcher_ = nullptr;
  bool running_ = false;
  std::shared_ptr<const pipeline::Segmentation> result_;
  std::shared_ptr<const io::Case> result_case_, pending_case_;
  QString model_name_, model_path_, pending_model_name_, pending_model_path_;
};

}  // namespace gmd::gui
