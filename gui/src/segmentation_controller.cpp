#include "gmd/gui/segmentation_controller.hpp"

#include "gmd/gui/qtext.hpp"

namespace gmd::gui {

SegmentationController::SegmentationController(ModelController* models, QObject* parent)
    : QObject(parent), models_(models) {
  job_ = new BackgroundJob(QStringLiteral("Segmentation failed: "),
                           QStringLiteral("Out of memory while segmenting; close other programs or use fewer "
                                          "modalities."),
                           this);
  connect(job_, &BackgroundJob::progressChanged, this, &SegmentationController::progressChanged);
  connect(job_, &BackgroundJob::finished, this, &SegmentationController::onJobFinished);
}

// The job, a child, cancels a running segmentation and waits for it when it is destroyed.
SegmentationController::~SegmentationController() = default;

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
bool SegmentationController::isRunning() const { return job_->isRunning(); }
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
  if (isRunning()) {
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

  pending_case_ = c;
  pending_model_name_ = model_name;
  pending_model_path_ = model_path;
  job_->start([fn, c, use](const JobControl& control) -> std::any {
    pipeline::Progress progress;
    progress.report = control.report_fn();
    progress.cancelled = control.cancelled_fn();
    return std::make_shared<pipeline::Segmentation>(fn(*c, use, progress));
  });
  Q_EMIT runningChanged(true);
  Q_EMIT started();
  Q_EMIT progressChanged("starting", 0.0);
  return true;
}

void SegmentationController::cancel() { job_->cancel(); }

void SegmentationController::onJobFinished(const JobOutcome& out) {
  auto c = std::move(pending_case_);
  pending_case_.reset();
  Q_EMIT runningChanged(false);
  if (out.cancelled) {
    Q_EMIT cancelled();
    return;
  }
  if (!out.error.isEmpty()) {
    Q_EMIT failed(out.error);
    return;
  }
  const auto* seg = std::any_cast<std::shared_ptr<pipeline::Segmentation>>(&out.value);
  if (!seg || !*seg) {
    Q_EMIT failed("Segmentation failed (no result).");
    return;
  }
  const auto& labels = (*seg)->labels;
  if (c && labels.geom.size != c->geom.size) {
    Q_EMIT failed(QString("The segmentation has size %1x%2x%3 but case %4 has %5x%6x%7.")
                      .arg(labels.geom.size[0]).arg(labels.geom.size[1]).arg(labels.geom.size[2]).arg(q(c->id))
                      .arg(c->geom.size[0]).arg(c->geom.size[1]).arg(c->geom.size[2]));
    return;
  }
  result_ = *seg;
  result_case_ = c;
  model_name_ = pending_model_name_;
  model_path_ = pending_model_path_;
  Q_EMIT progressChanged("done", 1.0);
  Q_EMIT finished();
}

bool SegmentationController::waitForFinished(int timeout_ms) { return job_->wait(timeout_ms); }

}  // namespace gmd::gui
