#include "gmd/gui/background_job.hpp"

#include "gmd/common/error.hpp"

#include <QDeadlineTimer>
#include <QEventLoop>
#include <QFutureWatcher>
#include <QMetaObject>
#include <QPointer>
#include <QTimer>
#include <QtConcurrent/QtConcurrentRun>

#include <atomic>
#include <cmath>
#include <mutex>
#include <new>

namespace gmd::gui {

struct JobControl::State {
  std::atomic<bool> cancel{false};
  QPointer<BackgroundJob> job;  // where progress goes (the job outlives its work: its destructor waits)
  std::mutex mu;                // the throttle below, if the work reports from several threads
  std::string last_stage;
  double last_fraction = -1.0;
};

bool JobControl::cancelled() const { return s_ && s_->cancel.load(); }

void JobControl::report(const std::string& stage, double fraction) const {
  if (!s_) return;
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    if (stage == s_->last_stage && std::abs(fraction - s_->last_fraction) < 0.005 && fraction < 1.0) return;
    s_->last_stage = stage;
    s_->last_fraction = fraction;
  }
  BackgroundJob* job = s_->job.data();
  if (!job) return;
  const QString st = QString::fromStdString(stage);
  QMetaObject::invokeMethod(job, [job, st, fraction] { Q_EMIT job->progressChanged(st, fraction); },
                            Qt::QueuedConnection);
}

std::function<bool()> JobControl::cancelled_fn() const {
  return [s = s_] { return s && s->cancel.load(); };
}

std::function<void(const std::string&, double)> JobControl::report_fn() const {
  return [c = *this](const std::string& stage, double fraction) { c.report(stage, fraction); };
}

struct BackgroundJob::Impl {
  QString failed_prefix, out_of_memory;
  QFutureWatcher<std::shared_ptr<JobOutcome>>* watcher = nullptr;
  std::shared_ptr<JobControl::State> state;  // of the running job
  bool running = false;
};

BackgroundJob::BackgroundJob(QString failed_prefix, QString out_of_memory, QObject* parent)
    : QObject(parent), d_(std::make_unique<Impl>()) {
  d_->failed_prefix = std::move(failed_prefix);
  d_->out_of_memory = std::move(out_of_memory);
  d_->watcher = new QFutureWatcher<std::shared_ptr<JobOutcome>>(this);
  connect(d_->watcher, &QFutureWatcher<std::shared_ptr<JobOutcome>>::finished, this, [this] {
    std::shared_ptr<JobOutcome> out = d_->watcher->result();
    if (!out) {
      out = std::make_shared<JobOutcome>();
      out->error = d_->failed_prefix + QStringLiteral("no result");
    }
    d_->running = false;
    d_->state.reset();
    Q_EMIT runningChanged(false);
    Q_EMIT finished(*out);
  });
}

BackgroundJob::~BackgroundJob() {
  if (d_->running) {
    if (d_->state) d_->state->cancel.store(true);
    d_->watcher->disconnect(this);
    d_->watcher->waitForFinished();
  }
}

bool BackgroundJob::start(Work work, const QString& out_of_memory) {
  if (d_->running || !work) return false;
  auto state = std::make_shared<JobControl::State>();
  state->job = this;
  d_->state = state;
  d_->running = true;
  JobControl control;
  control.s_ = state;
  const QString prefix = d_->failed_prefix;
  const QString oom = out_of_memory.isEmpty() ? d_->out_of_memory : out_of_memory;
  Q_EMIT runningChanged(true);
  d_->watcher->setFuture(QtConcurrent::run([work = std::move(work), control, prefix, oom] {
    auto out = std::make_shared<JobOutcome>();
    try {
      out->value = work(control);
    } catch (const Cancelled&) {
      out->cancelled = true;
    } catch (const InputError& e) {
      out->error = QString::fromStdString(e.what());
    } catch (const UsageError& e) {
      out->error = QString::fromStdString(e.what());
    } catch (const std::bad_alloc&) {
      out->error = oom;
    } catch (const std::exception& e) {
      out->error = prefix + QString::fromStdString(e.what());
    } catch (...) {
      out->error = prefix + QStringLiteral("unknown error");
    }
    return out;
  }));
  return true;
}

void BackgroundJob::cancel() {
  if (d_->running && d_->state) d_->state->cancel.store(true);
}

bool BackgroundJob::isRunning() const { return d_->running; }

bool BackgroundJob::wait(int timeout_ms) {
  const QDeadlineTimer deadline(timeout_ms < 0 ? qint64{-1} : qint64{timeout_ms});  // -1: never expires
  while (d_->running && !deadline.hasExpired()) {
    QEventLoop loop;
    QTimer::singleShot(10, &loop, &QEventLoop::quit);
    loop.exec();
  }
  return !d_->running;
}

}  // namespace gmd::gui
