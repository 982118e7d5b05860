// Registers the researcher panels of gui/panels (training, ablation) when that library is built
// (GMD_HAVE_RESEARCH_PANELS, set by gui/CMakeLists.txt), and wires them to the main window:
// "Use this model" loads the run's model; the ablation panel follows the open case, the model and
// the axial slice of the views.
#ifdef GMD_HAVE_RESEARCH_PANELS
#include <QPointer>
#include <optional>

#include "gmd/gui/case_controller.hpp"
#include "gmd/gui/main_window.hpp"
#include "gmd/gui/panel_registry.hpp"
#include "gmd/gui/segmentation_controller.hpp"
#include "gmd/panels/ablation_panel.hpp"
#include "gmd/panels/training_panel.hpp"
#include "gmd/viz/display.hpp"
#include "gmd/viz/view_area.hpp"

namespace {

QWidget* make_training(gmd::gui::StudioContext& ctx, QWidget* parent) {
  auto* p = new gmd::panels::TrainingPanel(parent);
  QObject::connect(p, &gmd::panels::TrainingPanel::useModel, ctx.window, [&ctx](const QString& run_dir) {
    if (ctx.models->loadFrom(run_dir)) ctx.window->selectPanel("model");
  });
  return p;
}

QWidget* make_ablation(gmd::gui::StudioContext& ctx, QWidget* parent) {
  auto* p = new gmd::panels::AblationPanel(parent);
  QPointer<gmd::panels::AblationPanel> panel(p);
  auto sync_model = [panel, &ctx] {
    if (panel && ctx.models->isLoaded()) panel->setModel(*ctx.models->model());
  };
  auto sync_case = [panel, &ctx, sync_model] {
    if (!panel) return;
    if (auto c = ctx.cases->currentCase()) {
      panel->setCase(c);
      sync_model();
    }
  };
  QObject::connect(ctx.cases, &gmd::gui::CaseController::caseChanged, p, sync_case);
  QObject::connect(ctx.models, &gmd::gui::ModelController::modelChanged, p, sync_model);
  // The panel counts slices along the display frame's axes (viz/display.hpp), the views' cursor is a voxel index of
  // the case's grid: convert both ways (they differ for sagittal or coronal acquisitions).
  auto frame = [&ctx]() -> std::optional<gmd::viz::DisplayFrame> {
    const auto c = ctx.cases->currentCase();
    if (!c || !ctx.views->hasImage()) return std::nullopt;
    return gmd::viz::DisplayFrame::from_geometry(c->geom);
  };
  QObject::connect(ctx.views, &gmd::viz::ViewArea::cursorChanged, p, [panel, &ctx, frame] {
    if (!panel) return;
    if (const auto f = frame()) panel->setSlice(2, static_cast<int>(f->to_display(ctx.views->cursorVoxel())[2]));
  });
  QObject::connect(p, &gmd::panels::AblationPanel::sliceChosen, ctx.views, [&ctx, frame](int axis, int index) {
    const auto f = frame();
    if (axis < 0 || axis > 2 || index < 0 || !f || static_cast<std::size_t>(index) >= f->size[static_cast<size_t>(axis)])
      return;
    auto d = f->to_display(ctx.views->cursorVoxel());
    d[static_cast<size_t>(axis)] = static_cast<std::size_t>(index);
    ctx.views->setCursorVoxel(f->to_source(d));
  });
  sync_case();
  return p;
}

}  // namespace

GMD_REGISTER_PANEL(training, "Training", 40, make_training)
GMD_REGISTER_PANEL(ablation, "Ablation", 50, make_ablation)
#endif
