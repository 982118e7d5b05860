#include "gmd/gui/model_controller.hpp"

#include <QFileInfo>
#include <new>

#include "gmd/gui/qtext.hpp"

namespace gmd::gui {

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

}  // namespace gmd::gui
