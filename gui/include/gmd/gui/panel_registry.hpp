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
// time MainWindow::addPanel() adds one too. A panel that needs more from the studio's command line (an option that
// opens something in it, work before a headless screenshot, a wider dock) says so in its PanelInfo and registers
// with GMD_REGISTER_PANEL_INFO(id, info): the shell (studio_app.cpp) reads the hooks and knows no panel by name.
// See docs/gui.md.
#include <QString>
#include <QWidget>
#include <functional>
#include <vector>

#include <QStringList>

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

// A gmd-studio command-line option that opens something in a panel, e.g. the training panel's --run DIR.
struct PanelOpenOption {
  QString name;         // the option without dashes: "run"
  QString description;  // its --help text
  QString value_name;   // "DIR"
  // Opens `value` in the panel widget (the one `create` made); "" on success, else the reason in one line.
  std::function<QString(QWidget* panel, const QString& value)> open;
  bool needs_no_case = false;  // what it opens is worth a screenshot without a case
};

struct PanelInfo {
  QString name;   // id for --panel and selectPanel(): lower case, e.g. "segment", "training"
  QString title;  // tab text
  int order = 100;
  std::function<QWidget*(StudioContext&, QWidget* parent)> create;
  // Optional hooks (empty: none).
  std::vector<PanelOpenOption> options{};
  // Before a headless screenshot showing this panel, once the case is segmented: compute what the panel shows.
  // false when that failed (the screenshot is still taken, with a warning).
  std::function<bool(QWidget* panel)> prepare_screenshot{};
  // The side dock's share of the window width when the panel is chosen with --panel (0: the default width).
  double dock_share = 0.0;
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

// The panel widget `create` made, or the first T inside it (a panel may come wrapped); nullptr when none.
template <typename T>
T* panel_widget(QWidget* w) {
  if (!w) return nullptr;
  if (auto* p = qobject_cast<T*>(w)) return p;
  return w->findChild<T*>();
}

namespace detail {
bool register_panel(const char* name, const char* title, int order,
                    std::function<QWidget*(StudioContext&, QWidget*)> create);
bool register_panel_info(PanelInfo info);
}

}  // namespace gmd::gui

#define GMD_REGISTER_PANEL(ID, TITLE, ORDER, ...)                                                   \
  namespace {                                                                                      \
  [[maybe_unused]] const bool gmd_panel_registered_##ID =                                          \
      ::gmd::gui::detail::register_panel(#ID, TITLE, ORDER, __VA_ARGS__);                          \
  }

// INFO: an expression giving the whole PanelInfo (with its hooks).
#define GMD_REGISTER_PANEL_INFO(ID, ...)                                                             \
  namespace {                                                                                      \
  [[maybe_unused]] const bool gmd_panel_registered_##ID = ::gmd::gui::detail::register_panel_info(__VA_ARGS__); \
  }
