#pragma once
// Side panels of the main window, registered by name. The main window shows every registered
// panel as a tab of its side dock, in `order`; `gmd-studio --panel NAME` selects one. A new panel
// needs no change to the main window: put a .cpp file in gui/src/ with
//
//   GMD_REGISTER_PANEL(training, "Training", 40, [](gmd::gui::StudioContext& ctx, QWidget* parent) {
//     return new TrainingPanel(ctx, parent);
//   })
//
// (gmd_gui is an OBJECT library, so such self-registering files are always linked in). At run
// time MainWindow::addPanel() adds one too. See docs/gui.md.
#include <QString>
#include <QWidget>
#include <functional>
#include <vector>

namespace gmd::viz {
class ViewArea;
}

namespace gmd::gui {

class MainWindow;
class CaseController;
class ModelController;
class SegmentationController;

// What a panel may use. All pointers stay valid for the panel's lifetime.
struct StudioContext {
  MainWindow* window = nullptr;
  CaseController* cases = nullptr;
  ModelController* models = nullptr;
  SegmentationController* segmentation = nullptr;
  viz::ViewArea* views = nullptr;
};

struct PanelInfo {
  QString name;   // id for --panel and selectPanel(): lower case, e.g. "segment", "training"
  QString title;  // tab text
  int order = 100;
  std::function<QWidget*(StudioContext&, QWidget* parent)> create;
};

class PanelRegistry {
 public:
  static PanelRegistry& instance();
  // Adds a panel; a later registration with the same name replaces the earlier one.
  void add(PanelInfo info);
  std::vector<PanelInfo> panels() const;  // sorted by order, then name

 private:
  std::vector<PanelInfo> panels_;
};

namespace detail {
bool register_panel(const char* name, const char* title, int order,
                    std::function<QWidget*(StudioContext&, QWidget*)> create);
}

}  // namespace gmd::gui

#define GMD_REGISTER_PANEL(ID, TITLE, ORDER, ...)                                                   \
  namespace {                                                                                      \
  [[maybe_unused]] const bool gmd_panel_registered_##ID =                                          \
      ::gmd::gui::detail::register_panel(#ID, TITLE, ORDER, __VA_ARGS__);                          \
  }
