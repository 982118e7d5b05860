#pragma once
// std::string -> QString, the one spelling the studio's windows use.
#include <QString>
#include <string>

namespace gmd::gui {

inline QString q(const std::string& s) { return QString::fromStdString(s); }

}  // namespace gmd::gui
