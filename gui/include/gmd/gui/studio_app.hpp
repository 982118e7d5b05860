#pragma once
// The gmd-studio program: command line, demo case lookup, theme; what it then does is a StudioSession
// (studio_session.hpp).
#include <QString>
#include <optional>

class QApplication;

namespace gmd::gui {

// Folder of the demo case: the first case (io::list_cases) under $GMD_DEMO_DIR when it is set (a dataset folder or a
// case folder; nowhere else is searched then), else under <exe dir>/../share/gmd-studio/demo, then the source tree's
// resources/demo (gmd::resource_places, the places `gmd info` reports). nullopt with `why` set (where it looked) when
// there is none.
std::optional<QString> find_demo_case(QString* why = nullptr);

// Dark Fusion theme (images are read on a dark background).
void apply_theme(QApplication& app);

// Whole program; returns the exit status. Sets the default surface format and creates the
// QApplication itself.
int run_studio(int argc, char** argv);

}  // namespace gmd::gui
