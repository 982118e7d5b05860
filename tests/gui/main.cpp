// GUI tests. Controllers and widgets run with QT_QPA_PLATFORM=offscreen (ctest sets it); the
// Render* suites need OpenGL and run under xvfb-run (registered so in tests/gui/CMakeLists.txt).
#include <gtest/gtest.h>

#include <QApplication>
#include <QSettings>
#include <cstdlib>

#include "gmd/viz/vtk_gl_widget.hpp"

int main(int argc, char** argv) {
  if (!std::getenv("DISPLAY") && !std::getenv("QT_QPA_PLATFORM")) setenv("QT_QPA_PLATFORM", "offscreen", 1);
  gmd::viz::VtkGlWidget::setDefaultSurfaceFormat();
  QApplication app(argc, argv);
  QCoreApplication::setOrganizationName("GMD Studio Tests");
  QCoreApplication::setApplicationName("test_gui");
  QSettings::setDefaultFormat(QSettings::IniFormat);
  QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, QString(GMD_BINARY_DIR) + "/tests/gui/settings");
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
