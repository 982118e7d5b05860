#pragma once
// Which model the studio segments with (testable without a display).
#include <QObject>
#include <QString>
#include <optional>

#include "gmd/common/modality.hpp"
#include "gmd/pipeline/service.hpp"
#include "gmd/pipeline/trust.hpp"

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

}  // namespace gmd::gui
