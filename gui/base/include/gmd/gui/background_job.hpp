#pragma once
// BackgroundJob: the one way the studio runs long work (loading a case, segmenting, the ablation) off the UI
// thread. The work runs on Qt's thread pool (QtConcurrent); it sees a JobControl (has the user cancelled? report
// progress); what it returns or throws comes back on the UI thread as one JobOutcome through finished(). Progress
// reports are posted to the UI thread, at most one per 0.5 % unless the stage changes or the work is done.
// Exceptions become one-line messages: gmd::Cancelled -> cancelled, InputError / UsageError -> their message
// (they name the file and the problem), std::bad_alloc -> the job's out-of-memory message, any other exception
// -> the job's failure prefix + its message.
#include <QObject>
#include <QString>

#include <any>
#include <functional>
#include <memory>
#include <string>

namespace gmd::gui {

// Handed to the work; cheap to copy, safe to use from the worker thread.
class JobControl {
 public:
  bool cancelled() const;
  void report(const std::string& stage, double fraction) const;
  // The same two as plain callbacks, shaped like pipeline::Progress's members.
  std::function<bool()> cancelled_fn() const;
  std::function<void(const std::string&, double)> report_fn() const;

 private:
  friend class BackgroundJob;
  struct State;
  std::shared_ptr<State> s_;
};

struct JobOutcome {
  std::any value;          // what the work returned; empty when it failed or was cancelled
  QString error;           // one line; empty when the work returned
  bool cancelled = false;  // the work ended by throwing gmd::Cancelled
  bool ok() const { return !cancelled && error.isEmpty(); }
};

class BackgroundJob : public QObject {
  Q_OBJECT
 public:
  using Work = std::function<std::any(const JobControl&)>;
  // failed_prefix: put before the message of an unexpected exception ("Segmentation failed: "; may be empty);
  // out_of_memory: the message for std::bad_alloc.
  BackgroundJob(QString failed_prefix, QString out_of_memory, QObject* parent = nullptr);
  // Cancels a running job and waits for it; its outcome is dropped (finished() is not emitted).
  ~BackgroundJob() override;

  // Starts `work` on a worker thread; false when a job is running. out_of_memory, when not empty, replaces the
  // job's out-of-memory message for this run (e.g. to name the file being read).
  bool start(Work work, const QString& out_of_memory = {});
  // Asks the running job to stop (JobControl::cancelled() turns true); it still ends through finished().
  void cancel();
  bool isRunning() const;
  // Processes events until the running job has delivered its outcome or timeout_ms passed (< 0: no limit);
  // true when no job is running any more. For tests, scripts and headless runs.
  bool wait(int timeout_ms = -1);

 Q_SIGNALS:
  void runningChanged(bool running);
  void progressChanged(const QString& stage, double fraction);
  // Emitted on the UI thread after isRunning() turned false, so a receiver may start the next job.
  void finished(const gmd::gui::JobOutcome& outcome);

 private:
  struct Impl;
  std::unique_ptr<Impl> d_;
};

}  // namespace gmd::gui
