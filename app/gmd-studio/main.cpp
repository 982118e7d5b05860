// gmd-studio: the GMD Studio GUI. All of it lives in gui/ (gmd::gui::run_studio) and viz/.
#include "gmd/gui/studio_app.hpp"

int main(int argc, char** argv) { return gmd::gui::run_studio(argc, argv); }
