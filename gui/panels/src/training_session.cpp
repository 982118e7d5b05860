// TrainingSession: `gmd train` in a child process, its metrics.jsonl followed live.
#include "gmd/panels/training_session.hpp"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QFileSystemWatcher>
#include <QStandardPaths>
#include <QTimer>
#include <fstream>
#include <sstream>

#include "gmd/common/run_files.hpp"
#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/common/modality.hpp"
#include "gmd/io/case.hpp"

namespace gmd::panels {
namespace fs = std::filesystem;

namespace {
constexpr int kPollMs = 500;
constexpr int kMaxOutputLines = 400;

nlohmann::json read_json(const fs::path& p) {
  try {
    return nlohmann::json::parse(read_text(p));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(p.string() + ": not valid JSON (" + e.what() + ")");
  }
}

bool run_has_files(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / run_files::kMetrics, ec) || fs::exists(dir / run_files::kCheckpoint, ec);
}
}  // namespace

// ---- settings -----------------------------------------------------------------------------------

namespace {
QStringList arguments_of(const TrainRequest& r, bool resume) {
  QStringList a;
  for (const auto& x : r.arguments(resume)) a << QString::fromStdString(x);
  return a;
}
}  // namespace

TrainRequest settings_from_run(const fs::path& run_dir) {
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) throw InputError(run_dir.string() + ": run folder not found");
  const fs::path studio = run_dir / kStudioSettingsFile;
  TrainRequest s;
  if (fs::exists(studio, ec)) {
    try {
      s = TrainRequest::from_json(read_json(studio));
    } catch (const UsageError& e) {
      throw InputError(studio.string() + ": " + e.what());
    }
  } else {
    const fs::path cfg_file = run_dir / run_files::kConfig;
    const fs::path card_file = run_dir / run_files::kCard;
    if (!fs::exists(cfg_file, ec) && !fs::exists(card_file, ec))
      throw InputError(run_dir.string() + ": not a training run (no " + kStudioSettingsFile +
                       ", config.json or model.json)");
    const nlohmann::json cfg = fs::exists(cfg_file, ec) ? read_json(cfg_file) : nlohmann::json::object();
    const nlohmann::json card = fs::exists(card_file, ec) ? read_json(card_file) : nlohmann::json::object();
    try {
      s = TrainRequest::from_run(cfg, card);
    } catch (const UsageError& e) {
      throw InputError(run_dir.string() + ": " + e.what());
    }
  }
  // A relative data folder (a CLI run started elsewhere): as given if it exists from here, else
  // next to the run folder (where `gmd train --data DIR --out RUN` is usually run from).
  if (!s.data_dir.empty() && fs::path(s.data_dir).is_relative()) {
    const fs::path next_to_run = fs::absolute(run_dir).parent_path() / s.data_dir;
    if (!fs::exists(s.data_dir, ec) && fs::exists(next_to_run, ec)) s.data_dir = next_to_run.lexically_normal().string();
  }
  s.run_dir = run_dir.string();
  return s;
}

std::string DatasetSummary::text() const {
  if (!error.empty()) return error;
  std::ostringstream o;
  o << cases << (cases == 1 ? " case" : " cases");
  for (int m = 0; m < kNumModalities; ++m) o << " \u00b7 " << modality_display(m) << ' ' << per_modality[static_cast<std::size_t>(m)];
  o << " \u00b7 " << with_seg << " with seg";
  if (!problems.empty()) o << " \u00b7 " << problems.size() << (problems.size() == 1 ? " problem" : " problems");
  return o.str();
}

DatasetSummary scan_dataset(const fs::path& dir) {
  DatasetSummary s;
  s.dir = dir.string();
  std::vector<fs::path> cases;
  try {
    cases = io::list_cases(dir);
  } catch (const std::exception& e) {
    s.error = e.what();
    return s;
  }
  if (cases.empty()) {
    s.error = dir.string() + ": no case folders (expected DIR/<case>/<case>_flair.nii.gz ...)";
    return s;
  }
  for (const auto& c : cases) {
    try {
      const io::CaseFiles f = io::discover_case(c);
      ++s.cases;
      for (int m = 0; m < kNumModalities; ++m)
        if (f.modality[static_cast<std::size_t>(m)]) ++s.per_modality[static_cast<std::size_t>(m)];
      if (f.seg) ++s.with_seg;
    } catch (const std::exception& e) {
      s.problems.push_back(e.what());
    }
  }
  return s;
}

// ---- session ------------------------------------------------------------------------------------

TrainingSession::TrainingSession(QObject* parent) : QObject(parent), gmd_(defaultGmdExecutable()) {
  timer_ = new QTimer(this);
  timer_->setInterval(kPollMs);
  connect(timer_, &QTimer::timeout, this, [this] { poll(); });
  watcher_ = new QFileSystemWatcher(this);
  connect(watcher_, &QFileSystemWatcher::fileChanged, this, [this] { poll(); });
  connect(watcher_, &QFileSystemWatcher::directoryChanged, this, [this] {
    watch();  // metrics.jsonl may have been created or atomically replaced
    poll();
  });
}

TrainingSession::~TrainingSession() {
  if (proc_ && proc_->state() != QProcess::NotRunning) {
    proc_->disconnect(this);
    proc_->terminate();  // SIGTERM: the trainer writes its checkpoint and model
    if (!proc_->waitForFinished(20000)) {
      proc_->kill();
      proc_->waitForFinished(2000);
    }
  }
}

QString TrainingSession::defaultGmdExecutable() {
  const QString env = qEnvironmentVariable("GMD_CLI");
  if (!env.isEmpty()) return env;
  const QString app = QCoreApplication::instance() ? QCoreApplication::applicationDirPath() : QString();
  if (!app.isEmpty()) {
    for (const QString& rel : {QStringLiteral("/../gmd/gmd"), QStringLiteral("/gmd")}) {
      const QFileInfo fi(app + rel);
      if (fi.isFile() && fi.isExecutable()) return fi.canonicalFilePath();
    }
  }
  const QString onPath = QStandardPaths::findExecutable(QStringLiteral("gmd"));
  return onPath.isEmpty() ? QStringLiteral("gmd") : onPath;
}

QString TrainingSession::stateName(State s) {
  switch (s) {
    case State::Idle: return QStringLiteral("idle");
    case State::Running: return QStringLiteral("running");
    case State::Pausing: return QStringLiteral("pausing (finishing the step, writing a checkpoint)");
    case State::Paused: return QStringLiteral("paused");
    case State::Stopping: return QStringLiteral("stopping (finishing the step, writing the model)");
    case State::Stopped: return QStringLiteral("stopped");
    case State::Finished: return QStringLiteral("finished");
    case State::Failed: return QStringLiteral("failed");
  }
  return {};
}

bool TrainingSession::isActive() const { return proc_ && proc_->state() != QProcess::NotRunning; }

bool TrainingSession::canResume() const {
  if (isActive() || settings_.run_dir.empty()) return false;
  std::error_code ec;
  if (!fs::exists(fs::path(settings_.run_dir) / run_files::kCheckpoint, ec)) return false;
  const int64_t total = totalSteps();
  return log_.last_step() < total;
}

bool TrainingSession::hasModel() const {
  std::error_code ec;
  const fs::path d(settings_.run_dir);
  return !settings_.run_dir.empty() && fs::exists(d / run_files::kWeights, ec) && fs::exists(d / run_files::kCard, ec);
}

void TrainingSession::setState(State s) {
  if (s == state_) return;
  state_ = s;
  Q_EMIT stateChanged(s);
}

bool TrainingSession::openRun(const QString& dir) {
  if (isActive()) {
    error_ = QStringLiteral("a training is running; pause or stop it first");
    return false;
  }
  try {
    settings_ = settings_from_run(dir.toStdString());
  } catch (const std::exception& e) {
    error_ = QString::fromStdString(e.what());
    return false;
  }
  error_.clear();
  output_.clear();
  log_.clear();
  follower_.reset(fs::path(settings_.run_dir) / run_files::kMetrics);
  follower_.poll(log_);
  watch();
  const int64_t total = totalSteps();
  std::error_code ec;
  if (log_.last_step() >= total && total > 0)
    setState(State::Finished);
  else if (fs::exists(fs::path(settings_.run_dir) / run_files::kCheckpoint, ec))
    setState(State::Paused);
  else if (hasModel())
    setState(State::Stopped);
  else
    setState(State::Idle);
  Q_EMIT metricsChanged();
  emitProgress();
  return true;
}

bool TrainingSession::start(bool overwrite) {
  if (isActive()) {
    error_ = QStringLiteral("a training is already running");
    return false;
  }
  const std::string why = settings_.validate();
  if (!why.empty()) {
    error_ = QString::fromStdString(why);
    return false;
  }
  const fs::path run(settings_.run_dir);
  if (!overwrite && run_has_files(run)) {
    error_ = QStringLiteral("%1 already holds a run; open it to resume, or choose another folder")
                 .arg(QString::fromStdString(settings_.run_dir));
    return false;
  }
  return launch(false);
}

bool TrainingSession::resume() {
  if (isActive()) {
    error_ = QStringLiteral("a training is already running");
    return false;
  }
  std::error_code ec;
  if (!fs::exists(fs::path(settings_.run_dir) / run_files::kCheckpoint, ec)) {
    error_ = QStringLiteral("%1 has no checkpoint.pt to resume from").arg(QString::fromStdString(settings_.run_dir));
    return false;
  }
  return launch(true);
}

bool TrainingSession::launch(bool resume) {
  const fs::path run(settings_.run_dir);
  try {
    fs::create_directories(run);
    // The settings travel with the run: resuming after a restart of the application reads them back.
    nlohmann::json j = settings_.to_json();
    j["gmd_train_arguments"] = settings_.arguments(false);
    write_text_atomically(run / kStudioSettingsFile, j.dump(2) + "\n");
  } catch (const std::exception& e) {
    error_ = QString::fromStdString(e.what());
    return false;
  }
  error_.clear();
  output_.clear();
  partial_out_.clear();
  if (!resume) log_.clear();
  follower_.reset(run / run_files::kMetrics);
  if (resume) follower_.poll(log_);

  delete proc_;
  proc_ = new QProcess(this);
  proc_->setProcessChannelMode(QProcess::MergedChannels);
  connect(proc_, &QProcess::readyReadStandardOutput, this, &TrainingSession::onOutput);
  connect(proc_, &QProcess::finished, this, &TrainingSession::onFinished);
  connect(proc_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError e) {
    if (e == QProcess::FailedToStart) {
      error_ = QStringLiteral("cannot start %1: %2").arg(gmd_, proc_->errorString());
      timer_->stop();
      setState(State::Failed);
      Q_EMIT finished(false);
    }
  });
  proc_->start(gmd_, arguments_of(settings_, resume));
  if (!proc_->waitForStarted(10000)) {
    if (state_ != State::Failed) {
      error_ = QStringLiteral("cannot start %1: %2").arg(gmd_, proc_->errorString());
      setState(State::Failed);
    }
    return false;
  }
  watch();
  timer_->start();
  setState(State::Running);
  Q_EMIT metricsChanged();
  return true;
}

void TrainingSession::pause() {
  if (!isActive() || state_ != State::Running) return;
  setState(State::Pausing);
  proc_->terminate();
}

void TrainingSession::stop() {
  if (!isActive() || (state_ != State::Running && state_ != State::Pausing)) return;
  setState(State::Stopping);
  proc_->terminate();
}

void TrainingSession::watch() {
  if (settings_.run_dir.empty()) return;
  const QString dir = QString::fromStdString(settings_.run_dir);
  const QString file = QDir(dir).filePath(QString::fromUtf8(run_files::kMetrics));
  if (QFileInfo(dir).isDir() && !watcher_->directories().contains(dir)) {
    if (!watcher_->directories().isEmpty()) watcher_->removePaths(watcher_->directories());
    watcher_->addPath(dir);
  }
  if (QFileInfo::exists(file) && !watcher_->files().contains(file)) {
    if (!watcher_->files().isEmpty()) watcher_->removePaths(watcher_->files());
    watcher_->addPath(file);
  }
}

bool TrainingSession::poll() {
  if (!follower_.poll(log_)) return false;
  Q_EMIT metricsChanged();
  emitProgress();
  return true;
}

int64_t TrainingSession::totalSteps() const {
  // The saved settings win over the log's config record: a resume may raise the number of steps.
  return settings_.steps > 0 ? settings_.steps : log_.total_steps();
}

void TrainingSession::emitProgress() {
  Speed sp = training_speed(log_);
  const int64_t total = totalSteps();
  if (sp.steps_per_s > 0) sp.eta_s = std::max<double>(0.0, static_cast<double>(total - log_.last_step()) / sp.steps_per_s);
  Q_EMIT progressChanged(std::max<int64_t>(0, log_.last_step()), total, sp.steps_per_s, sp.eta_s);
}

void TrainingSession::onOutput() {
  partial_out_ += proc_->readAllStandardOutput();
  int nl;
  while ((nl = partial_out_.indexOf('\n')) >= 0) {
    const QString line = QString::fromUtf8(partial_out_.left(nl)).trimmed();
    partial_out_.remove(0, nl + 1);
    if (line.isEmpty()) continue;
    output_ << line;
    if (output_.size() > kMaxOutputLines) output_.removeFirst();
    Q_EMIT outputLine(line);
  }
}

void TrainingSession::onFinished(int code, QProcess::ExitStatus status) {
  onOutput();
  if (!partial_out_.trimmed().isEmpty()) {
    output_ << QString::fromUtf8(partial_out_).trimmed();
    Q_EMIT outputLine(output_.back());
  }
  partial_out_.clear();
  timer_->stop();
  poll();
  const bool ok = status == QProcess::NormalExit && code == 0;
  const int64_t total = totalSteps();
  if (ok) {
    if (state_ == State::Pausing)
      setState(log_.last_step() >= total ? State::Finished : State::Paused);
    else if (state_ == State::Stopping)
      setState(log_.last_step() >= total ? State::Finished : State::Stopped);
    else
      setState(log_.last_step() >= total ? State::Finished : State::Stopped);
  } else if (state_ == State::Pausing || state_ == State::Stopping) {
    // Killed before the trainer installed its signal handler (still loading data): the last
    // checkpoint, if any, is intact.
    setState(state_ == State::Pausing ? State::Paused : State::Stopped);
  } else {
    QString last;
    for (int i = std::max(0, static_cast<int>(output_.size()) - 3); i < output_.size(); ++i)
      last += (last.isEmpty() ? QString() : QStringLiteral("\n")) + output_[i];
    error_ = status == QProcess::CrashExit
                 ? QStringLiteral("gmd train crashed")
                 : QStringLiteral("gmd train exited with code %1").arg(code);
    if (!last.isEmpty()) error_ += QStringLiteral(": ") + last;
    setState(State::Failed);
  }
  Q_EMIT finished(ok);
}

}  // namespace gmd::panels
