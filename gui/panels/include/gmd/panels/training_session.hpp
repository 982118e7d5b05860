#pragma once
// The training panel's model (no widgets; tests drive it headless): the settings of a run, the
// dataset summary, and a TrainingSession that runs `gmd train` in a child process (QProcess) and
// follows its RUN/metrics.jsonl (QFileSystemWatcher + a polling timer).
//
// Pause and Stop send SIGTERM: the trainer finishes the current step, writes RUN/checkpoint.pt,
// RUN/model.pt and RUN/model.json, and exits 0. Resume starts `gmd train ... --resume` with the
// settings saved in RUN/studio-train.json, also after the application was restarted.
#include <QElapsedTimer>
#include <QObject>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <array>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gmd/common/train_request.hpp"
#include "gmd/panels/metrics.hpp"

QT_BEGIN_NAMESPACE
class QFileSystemWatcher;
class QTimer;
QT_END_NAMESPACE

namespace gmd::panels {

// The settings of a run are one gmd::TrainRequest (gmd/common/train_request.hpp): the form edits it, the child is
// started with its arguments(), RUN/studio-train.json keeps its to_json() (plus the arguments, for people).

// RUN/studio-train.json (written by the panel), else TrainRequest::from_run of RUN/config.json and RUN/model.json
// (a run started with the CLI); a relative data folder is resolved as the CLI would have seen it. Throws gmd::InputError when the folder holds neither.
TrainRequest settings_from_run(const std::filesystem::path& run_dir);
inline constexpr const char* kStudioSettingsFile = "studio-train.json";

struct DatasetSummary {
  std::string dir;
  int cases = 0;                // case folders found
  int with_seg = 0;             // cases with a _seg file
  std::array<int, 4> per_modality{};  // cases holding FLAIR, T1, T1ce, T2
  std::vector<std::string> problems;  // unreadable folders etc. (plain words)
  std::string error;                  // the folder itself is unusable
  bool ok() const { return error.empty() && cases > 0; }
  // "12 cases · FLAIR 12 · T1 12 · T1ce 12 · T2 11 · 12 with seg"
  std::string text() const;
};
// io::list_cases + io::discover_case for every case (file names only, no image is read). Never throws.
DatasetSummary scan_dataset(const std::filesystem::path& dir);

class TrainingSession : public QObject {
  Q_OBJECT
 public:
  enum class State { Idle, Running, Pausing, Paused, Stopping, Stopped, Finished, Failed };
  Q_ENUM(State)

  explicit TrainingSession(QObject* parent = nullptr);
  // A running child is asked to stop (checkpoint written) and waited for up to 20 s.
  ~TrainingSession() override;

  // Path of the `gmd` executable. Default: $GMD_CLI, then <app dir>/../gmd/gmd (build tree),
  // <app dir>/gmd (installed), then `gmd` on PATH.
  void setGmdExecutable(const QString& path) { gmd_ = path; }
  QString gmdExecutable() const { return gmd_; }
  static QString defaultGmdExecutable();

  const TrainRequest& settings() const { return settings_; }
  void setSettings(const TrainRequest& s) { settings_ = s; }
  State state() const { return state_; }
  static QString stateName(State s);
  bool isActive() const;  // a child process is running
  const MetricsLog& log() const { return log_; }
  QString runDir() const { return QString::fromStdString(settings_.run_dir); }
  // A checkpoint exists, no child runs and the run has steps left.
  bool canResume() const;
  // The run folder holds a model (model.pt + model.json).
  bool hasModel() const;
  QString lastError() const { return error_; }
  int64_t totalSteps() const;  // the run's planned steps
  QStringList output() const { return output_; }  // the child's recent output lines

  // Opens a run folder: loads its settings and replays its metrics.jsonl synchronously. The state
  // becomes Paused (resumable), Stopped, Finished or Idle. False + lastError() when unusable.
  bool openRun(const QString& dir);

 public Q_SLOTS:
  // Fresh run into settings().run_dir (RUN/studio-train.json written first). With overwrite=false it
  // refuses a folder that already holds a run (metrics or checkpoint).
  bool start(bool overwrite = false);
  bool resume();  // `--resume` from RUN/checkpoint.pt with the saved settings
  void pause();   // -> Pausing -> Paused (checkpoint written)
  void stop();    // -> Stopping -> Stopped (checkpoint and model written)
  bool poll();    // reads new metrics records now; true when the log changed

 Q_SIGNALS:
  void stateChanged(gmd::panels::TrainingSession::State state);
  void metricsChanged();
  void progressChanged(qint64 step, qint64 total, double steps_per_s, double eta_s);
  void outputLine(const QString& line);
  void finished(bool ok);

 private:
  bool launch(bool resume);
  void setState(State s);
  void onFinished(int code, QProcess::ExitStatus status);
  void onOutput();
  void watch();
  void emitProgress();

  QString gmd_;
  TrainRequest settings_;
  State state_ = State::Idle;
  MetricsLog log_;
  MetricsFollower follower_;
  QProcess* proc_ = nullptr;
  QFileSystemWatcher* watcher_ = nullptr;
  QTimer* timer_ = nullptr;
  QString error_;
  QStringList output_;
  QByteArray partial_out_;
};

}  // namespace gmd::panels
