#pragma once
// The ablation viewer's run state without widgets (testable without a display): the case and model it segments,
// the computation (pipeline::ablate on a BackgroundJob, with progress and cancel), its result or error, and the
// automatic mode. A new case or model makes a running computation stale: it is cancelled, its outcome is dropped,
// and in automatic mode the next one starts as soon as it has wound down.
#include <QObject>
#include <QString>
#include <memory>
#include <optional>

#include "gmd/gui/background_job.hpp"
#include "gmd/io/case.hpp"
#include "gmd/pipeline/service.hpp"

namespace gmd::panels {

class AblationRun : public QObject {
  Q_OBJECT
 public:
  explicit AblationRun(QObject* parent = nullptr);
  ~AblationRun() override;  // cancels and waits for a running computation

  // Each clears the result (resultCleared), cancels a running computation and, in automatic mode, starts anew.
  void setCase(std::shared_ptr<const io::Case> c);
  void setModel(const pipeline::Model& m);
  void setSegmentOptions(const pipeline::SegmentOptions& o) { opt_ = o; }
  // Compute automatically whenever both a case and a model are set and there is no result yet; the computation
  // starts on the next turn of the event loop (one start for several changes made in one turn).
  void setAutoRun(bool on);
  bool autoRun() const { return auto_run_; }

  const std::shared_ptr<const io::Case>& currentCase() const { return case_; }
  const std::optional<pipeline::Model>& model() const { return model_; }

  // Starts the computation on a worker thread; false when no case / model (lastError() says which) or one runs.
  bool run();
  void cancel();
  bool isRunning() const;
  // Runs (or waits for the running one) while processing events; true when a result is in.
  bool runBlocking();

  const std::shared_ptr<pipeline::Ablation>& result() const { return result_; }
  // "" after a success; "cancelled", "no case loaded", "no model loaded" or the failure's one-line message.
  QString lastError() const { return error_; }

 Q_SIGNALS:
  void started();
  void progress(double fraction, const QString& stage);  // of the current computation only
  void finished(bool ok);                                  // the current computation ended: result() or lastError()
  void resultCleared();                                    // the case or the model changed
  void runningChanged(bool running);                       // also when a stale computation ends

 private:
  void clearResult();
  void maybeAutoRun();
  void onJobFinished(const gui::JobOutcome& out);

  std::shared_ptr<const io::Case> case_;
  std::optional<pipeline::Model> model_;
  pipeline::SegmentOptions opt_;
  std::shared_ptr<pipeline::Ablation> result_;
  QString error_;
  bool auto_run_ = false;
  bool auto_start_pending_ = false;
  // generation_ counts requests (new case, model, run); running_generation_ is the one the job computes.
  uint64_t generation_ = 0, running_generation_ = 0;
  gui::BackgroundJob* job_;
};

}  // namespace gmd::panels
