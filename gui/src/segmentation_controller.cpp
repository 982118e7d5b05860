#include "gmd/gui/segmentation_controller.hpp"

#include <QDeadlineTimer>
#include <QEventLoop>
#include <QFileInfo>
#include <QPointer>
#include <QTimer>
#include <QtConcurrent/QtConcurrentRun>
#include <chrono>
#include <new>

#include "gmd/common/error.hpp"
#include "gmd/gui/qtext.hpp"

namespace gmd::gui {
// ---------------------------------------------------------------- ModelController
ModelController::ModelController(QObject* parent) : QObject(parent) {}

bool ModelController::loadFrom(const QString& run_or_file) {
  try {
    pipeline::Model m = pipeline::Model::load(run_or_file.toStdString());
    model_ = std::move(m);
    is_default_ = false;
    last_error_.clear();
    Q_EMIT modelChanged();
    return true;
  } catch (const std::bad_alloc&) {
    last_error_ = run_or_file + ": out of memory while loading the model";
  } catch (const std::exception& e) {
    last_error_ = q(e.what());
  }
  Q_EMIT errorOccurred("Cannot load model", last_error_);
  return false;
}

bool ModelController::ensureLoaded() {
  if (model_) return true;
  try {
    const auto path = pipeline::Model::default_path();
    model_ = pipeline::Model::load(path);
    is_default_ = true;
    last_error_.clear();
    Q_EMIT modelChanged();
    return true;
  } catch (const std::exception& e) {
    last_error_ = QString("No model to segment with: %1").arg(q(e.what()));
  }
  Q_EMIT errorOccurred("No model", last_error_);
  return false;
}

void ModelController::useDefault() {
  model_.reset();
  is_default_ = false;
  Q_EMIT modelChanged();
}

bool ModelController::isLoaded() const { return model_.has_value(); }
std::optional<pipeline::Model> ModelController::model() const { return model_; }
QString ModelController::modelPath() const { return model_ ? q(model_->path().string()) : QString(); }
QString ModelController::lastError() const { return last_error_; }

QString ModelController::displayName() const {
  if (!model_) return QString("default model (not loaded yet)");
  const QString name = is_default_ ? QString("default") : QFileInfo(modelPath()).fileName();
  return QString("%1 (%2, %3)").arg(name, q(model_->method()), q(subset_name(model_->modalities())));
}

QString ModelController::summary() const {
  if (!model_) return QString("No model loaded. The bundled default model is loaded when you segment.");
  try {
    return q(model_->summary());
  } catch (const std::exception& e) {
    return QString("model card unavailable: %1").arg(q(e.what()));
  }
}

QString ModelController::checkUsable(SubsetMask use) const {
  if (!model_) return {};
  return q(model_->check_usable(use));
}

std::optional<pipeline::Trust> ModelController::expectedTrust(SubsetMask use) const {
  if (!model_ || use == 0 || !model_->check_usable(use).empty()) return std::nullopt;
  return model_->expected_trust(use);
}

// ---------------------------------------------------------------- SegmentationController
struct SegmentationController::Outcome {
  std::optional<pipeline::Segmentation> seg;
  QString error;
  bool cancelled = false;
};

SegmentationController::SegmentationController(ModelController* models, QObject* parent)
    : QObject(parent), models_(models) {
  watcher_ = new QFutureWatcher<std::shared_ptr<Outcome>>(this);
  connect(watcher_, &QFutureWatcher<std::shared_ptr<Outcome>>::finished, this, &SegmentationController::onWorkerDone);
}

SegmentationController::~SegmentationController() {
  if (running_) {
    if (cancel_flag_) cancel_flag_->store(true);
    watcher_->disconnect(this);
    watcher_->waitForFinished();
  }
}

void SegmentationController::setSegmentFunction(SegmentFn fn) { fn_ = std::move(fn); }
void SegmentationController::setOptions(const pipeline::SegmentOptions& opt) {
  opt_ = opt;
  Q_EMIT optionsChanged();
}
const pipeline::SegmentOptions& SegmentationController::options() const { return opt_; }
void SegmentationController::setAgreement(bool on) {
  if (opt_.agreement == on) return;
  opt_.agreement = on;
  Q_EMIT optionsChanged();
}
bool SegmentationController::isRunning() const { return running_; }
std::shared_ptr<const pipeline::Segmentation> SegmentationController::result() const { return result_; }
std::shared_ptr<const io::Case> SegmentationController::resultCase() const { return result_case_; }
QString SegmentationController::resultModelName() const { return model_name_; }
QString SegmentationController::resultModelPath() const { return model_path_; }

void SegmentationController::clearResult() {
  result_.reset();
  result_case_.reset();
  model_name_.clear();
  model_path_.clear();
}

void SegmentationController::rebindResult(std::shared_ptr<const io::Case> c) {
  if (result_) result_case_ = std::move(c);
}

bool SegmentationController::start(std::shared_ptr<const io::Case> c, SubsetMask use) {
  if (running_) {
    Q_EMIT failed("A segmentation is already running; wait for it or cancel it.");
    return false;
  }
  if (!c) {
    Q_EMIT failed("No case is open: open a case folder first.");
    return false;
  }
  use = static_cast<SubsetMask>(use & kFullMask);
  if (use == 0) {
    Q_EMIT failed("No modality selected: tick at least one modality in the modality bar.");
    return false;
  }
  const SubsetMask missing = static_cast<SubsetMask>(use & ~c->present() & kFullMask);
  if (missing) {
    Q_EMIT failed(QString("%1 is not present in case %2.").arg(q(subset_name(missing)), q(c->id)));
    return false;
  }
  SegmentFn fn = fn_;
  QString model_name = "injected segmenter", model_path;
  if (!fn) {
    if (!models_ || !models_->ensureLoaded()) {
      Q_EMIT failed(models_ ? models_->lastError() : QString("No model to segment with."));
      return false;
    }
    const QString why = models_->checkUsable(use);
    if (!why.isEmpty()) {
      Q_EMIT failed(QString("The model cannot segment this case: %1.").arg(why));
      return false;
    }
    const pipeline::Model model = *models_->model();
    const pipeline::SegmentOptions opt = opt_;
    fn = [model, opt](const io::Case& cs, SubsetMask u, const pipeline::Progress& p) {
      return pipeline::segment(model, cs, u, opt, p);
    };
    model_name = models_->displayName();
    model_path = models_->modelPath();
  }

  auto flag = std::make_shared<std::atomic<bool>>(false);
  cancel_flag_ = flag;
  pending_case_ = c;
  pending_model_name_ = model_name;
  pending_model_path_ = model_path;
  pipeline::Progress progress;
  // Runs on the worker: post to the UI thread, at most one update per 0.5 % or stage change.
  auto last_stage = std::make_shared<std::string>();
  auto last_fraction = std::make_shared<double>(-1.0);
  progress.report = [this, last_stage, last_fraction](const std::string& stage, double fraction) {
    if (stage == *last_stage && std::abs(fraction - *last_fraction) < 0.005 && fraction < 1.0) return;
    *last_stage = stage;
    *last_fraction = fraction;
    const QString st = q(stage);
    QMetaObject::invokeMethod(this, [this, st, fraction] { Q_EMIT progressChanged(st, fraction); },
                              Qt::QueuedConnection);
  };
  progress.cancelled = [flag] { return flag->load(); };

  running_ = true;
  Q_EMIT runningChanged(true);
  Q_EMIT started();
  Q_EMIT progressChanged("starting", 0.0);
  auto future = QtConcurrent::run([fn, c, use, progress]() -> std::shared_ptr<Outcome> {
    auto out = std::make_shared<Outcome>();
    try {
      out->seg = fn(*c, use, progress);
    } catch (const Cancelled&) {
      out->cancelled = true;
    } catch (const InputError& e) {
      out->error = q(e.what());
    } catch (const UsageError& e) {
      out->error = q(e.what());
    } catch (const std::bad_alloc&) {
      out->error = "Out of memory while segmenting; close other programs or use fewer modalities.";
    } catch (const std::exception& e) {
      out->error = QString("Segmentation failed: %1").arg(q(e.what()));
    } catch (...) {
      out->error = "Segmentation failed (unknown error).";
    }
    return out;
  });
  watcher_->setFuture(future);
  return true;
}

void SegmentationController::cancel() {
  if (running_ && cancel_flag_) cancel_flag_->store(true);
}

void SegmentationController::onWorkerDone() {
  std::shared_ptr<Outcome> out = watcher_->result();
  running_ = false;
  cancel_flag_.reset();
  auto c = std::move(pending_case_);
  pending_case_.reset();
  Q_EMIT runningChanged(false);
  if (!out) {
    Q_EMIT failed("Segmentation failed (no result).");
    return;
  }
  if (out->cancelled) {
    Q_EMIT cancelled();
    return;
  }
  if (!out->error.isEmpty()) {
    Q_EMIT failed(out->error);
    return;
  }
  if (!out->seg) {
    Q_EMIT failed("Segmentation failed (no result).");
    return;
  }
  if (c && out->seg->labels.geom.size != c->geom.size) {
    Q_EMIT failed(QString("The segmentation has size %1x%2x%3 but case %4 has %5x%6x%7.")
                      .arg(out->seg->labels.geom.size[0]).arg(out->seg->labels.geom.size[1])
                      .arg(out->seg->labels.geom.size[2]).arg(q(c->id)).arg(c->geom.size[0])
                      .arg(c->geom.size[1]).arg(c->geom.size[2]));
    return;
  }
  result_ = std::make_shared<const pipeline::Segmentation>(std::move(*out->seg));
  result_case_ = c;
  model_name_ = pending_model_name_;
  model_path_ = pending_model_path_;
  Q_EMIT progressChanged("done", 1.0);
  Q_EMIT finished();
}

bool SegmentationController::waitForFinished(int timeout_ms) {
  QDeadlineTimer deadline(timeout_ms);
  while (running_ && !deadline.hasExpired()) {
    QEventLoop loop;
    QTimer::singleShot(20, &loop, &QEventLoop::quit);
    loop.exec();
  }
  return !running_;
}

}  // namespace gmd::gui
