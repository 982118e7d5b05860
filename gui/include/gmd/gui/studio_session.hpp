#pragma once
// What gmd-studio does once its window is up, from its command line (parsed in studio_app.cpp): load the model
// asked for, open what the panels were asked to open (PanelInfo::options), open the case (folder, files or the
// demo), tick the modalities asked for, segment, let the shown panel prepare its view, and in headless mode grab
// the window and end with the documented exit status (2 bad input, 3 segmentation failed or cancelled, 4 the PNG
// could not be written, 5 timeout). Kept apart from the parsing so the sequence reads on its own.
#include <QObject>
#include <QString>
#include <QStringList>
#include <optional>
#include <vector>

#include "gmd/common/modality.hpp"
#include "gmd/gui/panel_registry.hpp"

namespace gmd::gui {

class MainWindow;

// A panel option given on the command line (e.g. the training panel's --run DIR).
struct PanelOpenRequest {
  QString panel;  // the panel's name
  PanelOpenOption option;
  QString value;
};

struct StudioRequest {
  bool headless = false;            // --screenshot: grab the window, then end
  QString screenshot;               // its PNG
  QString model;                    // --model DIR; "" = the bundled default
  bool demo = false;                // --demo: the demo case, segmented
  QStringList paths;                // the case folder or image files
  SubsetMask modalities = 0;        // --modalities; 0 = every present one
  bool segment = false;             // --segment (implied by --demo)
  bool show_agreement = false;      // --overlay agreement: show the agreement once segmented
  std::vector<PanelOpenRequest> panel_opens;
  std::optional<PanelInfo> shown_panel;  // --panel
  int timeout_s = 900;              // headless only
};

class StudioSession : public QObject {
  Q_OBJECT
 public:
  StudioSession(MainWindow& window, StudioRequest request, QObject* parent = nullptr);
  // Runs the sequence once the event loop runs.
  void start();
  bool done() const { return done_; }
  int exitCode() const { return exit_code_; }

 Q_SIGNALS:
  void finished(int exit_code);  // headless: the program should end with this status

 private:
  void run();
  void openCaseAndSegment();
  void capture();
  void finish(int code);
  int reportError(const QString& message, int code);  // headless: stderr; interactive: the window's error
  MainWindow& w_;
  StudioRequest r_;
  bool done_ = false;
  int exit_code_ = 0;
};

}  // namespace gmd::gui
