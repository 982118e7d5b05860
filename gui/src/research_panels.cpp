// Registers the researcher panels of gui/panels (training, ablation) when that library is built
// (GMD_HAVE_RESEARCH_PANELS, set by gui/CMakeLists.txt), and wires them to the main window:
// "Use this model" loads the run's model; the ablation panel follows the open case, the model and
// the axial slice of the views. Their command-line hooks: the training panel opens a run with --run DIR (no case
// needed for a screenshot); the ablation panel computes every subset before a headless screenshot; both want a
// wide dock.
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

gmd::gui::PanelInfo training_info() {
  gmd::gui::PanelInfo info{"training", "Training", 40, make_training};
  gmd::gui::PanelOpenOption run;
  run.name = "run";
  run.description = "Training run folder to open in the training panel (replays its charts).";
  run.value_name = "DIR";
  run.open = [](QWidget* w, const QString& dir) -> QString {
    auto* p = gmd::gui::panel_widget<gmd::panels::TrainingPanel>(w);
    if (!p || !p->openRun(dir)) return QString("cannot open training run '%1'").arg(dir);
    return {};
  };
  run.needs_no_case = true;
  info.options.push_back(run);
  info.dock_share = 0.62;  // charts
  return info;
}

gmd::gui::PanelInfo ablation_info() {
  gmd::gui::PanelInfo info{"ablation", "Ablation", 50, make_ablation};
  // The grid of every subset is computed on demand (encode once); a screenshot shows it computed.
  info.prepare_screenshot = [](QWidget* w) {
    auto* p = gmd::gui::panel_widget<gmd::panels::AblationPanel>(w);
    return p && p->runBlocking();
  };
  info.dock_share = 0.62;  // thumbnail grid
  return info;
}

}  // namespace

GMD_REGISTER_PANEL_INFO(training, training_info())
GMD_REGISTER_PANEL_INFO(ablation, ablation_info())
#endif
