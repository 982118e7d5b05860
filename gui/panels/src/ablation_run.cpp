#include "gmd/panels/ablation_run.hpp"

#include <QEventLoop>
#include <algorithm>

namespace gmd::panels {

AblationRun::AblationRun(QObject* parent) : QObject(parent) {
  job_ = new gui::BackgroundJob(QString(),
                                QStringLiteral("out of memory while segmenting every subset; close other programs"),
                                this);
  connect(job_, &gui::BackgroundJob::finished, this, &AblationRun::onJobFinished);
  connect(job_, &gui::BackgroundJob::runningChanged, this, &AblationRun::runningChanged);
  connect(job_, &gui::BackgroundJob::progressChanged, this, [this](const QString& stage, double f) {
    if (running_generation_ == generation_) Q_EMIT progress(f, stage);  // not a stale run winding down
  });
}

// The job, a child, cancels a running computation and waits for it when it is destroyed.
AblationRun::~AblationRun() = default;

void AblationRun::setCase(std::shared_ptr<const io::Case> c) {
  cancel();
  case_ = std::move(c);
  clearResult();
  maybeAutoRun();
}

void AblationRun::setModel(const pipeline::Model& m) {
  cancel();
  model_ = m;
  clearResult();
  maybeAutoRun();
}

void AblationRun::setAutoRun(bool on) {
  auto_run_ = on;
  maybeAutoRun();
}

void AblationRun::clearResult() {
  ++generation_;  // a running computation's result is stale now
  result_.reset();
  error_.clear();
  Q_EMIT resultCleared();
}

void AblationRun::maybeAutoRun() {
  // On the next turn of the event loop, once: the caller finishes what it does with the new case or model (the panel
  // draws it) before the computation starts, and several changes in one turn start one computation, for the last.
  if (!auto_run_ || auto_start_pending_) return;
  auto_start_pending_ = true;
  QMetaObject::invokeMethod(
      this,
      [this] {
        auto_start_pending_ = false;
        if (auto_run_ && case_ && model_ && !result_ && !isRunning()) run();
      },
      Qt::QueuedConnection);
}

bool AblationRun::isRunning() const { return job_->isRunning(); }

void AblationRun::cancel() { job_->cancel(); }

bool AblationRun::run() {
  if (!case_ || !model_) {
    error_ = !case_ ? QStringLiteral("no case loaded") : QStringLiteral("no model loaded");
    return false;
  }
  if (isRunning()) return false;
  error_.clear();
  running_generation_ = ++generation_;
  job_->start([c = case_, m = *model_, opt = opt_](const gui::JobControl& control) -> std::any {
    pipeline::Progress p;
    p.cancelled = control.cancelled_fn();
    p.report = control.report_fn();
    return std::make_shared<pipeline::Ablation>(pipeline::ablate(m, *c, opt, p));
  });
  Q_EMIT started();
  return true;
}

bool AblationRun::runBlocking() {
  if (isRunning() && running_generation_ != generation_) {
    // A stale computation (the case or model changed since) is still winding down: let it end (in automatic mode
    // its end starts the current one).
    QEventLoop loop;
    connect(job_, &gui::BackgroundJob::finished, &loop, &QEventLoop::quit);
    if (isRunning()) loop.exec();
  }
  if (!isRunning() && !run()) return false;
  QEventLoop loop;
  connect(this, &AblationRun::finished, &loop, &QEventLoop::quit);
  if (isRunning()) loop.exec();
  return result_ != nullptr && error_.isEmpty();
}

void AblationRun::onJobFinished(const gui::JobOutcome& out) {
  if (running_generation_ != generation_) {
    maybeAutoRun();  // a request that arrived while the stale one ran (automatic mode, new case or model)
    return;
  }
  const auto* got = std::any_cast<std::shared_ptr<pipeline::Ablation>>(&out.value);
  result_ = got ? *got : nullptr;
  error_ = result_ ? QString() : out.cancelled ? QStringLiteral("cancelled") : out.error;
  Q_EMIT finished(result_ != nullptr);
}

}  // namespace gmd::panels
