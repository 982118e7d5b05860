#include "gmd/gui/panel_registry.hpp"

#include <algorithm>

namespace gmd::gui {

PanelRegistry& PanelRegistry::instance() {
  static PanelRegistry r;
  return r;
}

void PanelRegistry::add(PanelInfo info) {
  info.name = info.name.toLower();
  auto it = std::find_if(panels_.begin(), panels_.end(), [&](const PanelInfo& p) { return p.name == info.name; });
  if (it != panels_.end()) *it = std::move(info);
  else panels_.push_back(std::move(info));
}

std::vector<PanelInfo> PanelRegistry::panels() const {
  auto out = panels_;
  std::stable_sort(out.begin(), out.end(), [](const PanelInfo& a, const PanelInfo& b) {
    return a.order != b.order ? a.order < b.order : a.name < b.name;
  });
  return out;
}

namespace detail {
bool register_panel(const char* name, const char* title, int order,
                    std::function<QWidget*(StudioContext&, QWidget*)> create) {
  PanelRegistry::instance().add(PanelInfo{QString::fromUtf8(name), QString::fromUtf8(title), order, std::move(create)});
  return true;
}

bool register_panel_info(PanelInfo info) {
  PanelRegistry::instance().add(std::move(info));
  return true;
}
}  // namespace detail

}  // namespace gmd::gui
