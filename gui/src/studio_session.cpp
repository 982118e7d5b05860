#include "gmd/gui/studio_session.hpp"

#include <QApplication>
#include <QTimer>
#include <iostream>

#include "gmd/gui/case_controller.hpp"
#include "gmd/gui/main_window.hpp"
#include "gmd/gui/model_controller.hpp"
#include "gmd/gui/segmentation_controller.hpp"
#include "gmd/gui/studio_app.hpp"
#include "gmd/viz/view_area.hpp"

namespace gmd::gui {

StudioSession::StudioSession(MainWindow& window, StudioRequest request, QObject* parent)
    : QObject(parent), w_(window), r_(std::move(request)) {
  SegmentationController* seg = w_.segmentation();
  connect(seg, &SegmentationController::finished, this, [this] {
    if (r_.show_agreement) w_.setOverlaySource(MainWindow::OverlaySource::Agreement);
    if (!r_.headless) return;
    // Let the shown panel compute what it shows (e.g. the ablation grid) before the window is grabbed.
    if (r_.shown_panel && r_.shown_panel->prepare_screenshot &&
        !r_.shown_panel->prepare_screenshot(w_.panel(r_.shown_panel->name)))
      std::cerr << "gmd-studio: the " << r_.shown_panel->name.toStdString() << " panel could not compute its view"
                << std::endl;
    capture();
  });
  connect(seg, &SegmentationController::failed, this, [this](const QString&) {
    if (r_.headless) finish(3);
  });
  connect(seg, &SegmentationController::cancelled, this, [this] {
    if (r_.headless) finish(3);
  });
}

void StudioSession::start() {
  QTimer::singleShot(0, this, [this] { run(); });  // once the window is shown and sized
  if (r_.headless)
    QTimer::singleShot((r_.timeout_s > 0 ? r_.timeout_s : 900) * 1000, this, [this] {
      if (w_.segmentation()->isRunning()) w_.segmentation()->cancel();
      std::cerr << "gmd-studio: timed out" << std::endl;
      finish(5);
    });
}

void StudioSession::finish(int code) {
  if (done_) return;
  done_ = true;
  exit_code_ = code;
  Q_EMIT finished(code);
}

int StudioSession::reportError(const QString& message, int code) {
  if (r_.headless) {
    std::cerr << "gmd-studio: " << message.toStdString() << std::endl;
    return code;
  }
  w_.showError("GMD Studio", message);
  return 0;
}

void StudioSession::capture() {
  if (!r_.headless) return;
  // Centre on the tumour, let the OpenGL views paint, then grab the window.
  if (w_.shownLabels()) w_.views()->centreOnTumour();
  QTimer::singleShot(600, this, [this] {
    w_.views()->refresh();
    QApplication::processEvents();
    QTimer::singleShot(300, this, [this] {
      if (w_.saveScreenshot(r_.screenshot)) {
        std::cout << "gmd-studio: screenshot written to " << r_.screenshot.toStdString() << std::endl;
        finish(0);
      } else {
        finish(4);
      }
    });
  });
}

void StudioSession::run() {
  if (!r_.model.isEmpty() && !w_.models()->loadFrom(r_.model)) {
    if (r_.headless) return finish(2);
  }
  bool opened_without_case = false;
  for (const PanelOpenRequest& o : r_.panel_opens) {
    w_.selectPanel(o.panel);
    const QString why = o.option.open(w_.panel(o.panel), o.value);
    if (!why.isEmpty()) {
      const int rc = reportError(QString("--%1: %2").arg(o.option.name, why), 2);
      if (r_.headless) return finish(rc);
    } else if (o.option.needs_no_case) {
      opened_without_case = true;
    }
  }
  if (r_.demo) {
    QString why;
    const auto d = find_demo_case(&why);
    if (!d) {
      const int rc = reportError(why, 2);
      if (r_.headless) finish(rc);
      return;
    }
    r_.paths = QStringList{*d};
  }
  if (r_.paths.isEmpty()) {
    if (opened_without_case) return capture();  // e.g. a training run: the panel needs no case
    if (r_.headless) {
      std::cerr << "gmd-studio: --screenshot needs a case: give CASE_DIR or --demo" << std::endl;
      finish(2);
    }
    return;  // interactive without a case: the empty window
  }
  openCaseAndSegment();
}

void StudioSession::openCaseAndSegment() {
  const bool opened = r_.demo ? w_.openCase(r_.paths.front()) : w_.openPaths(r_.paths);
  if (!opened) {
    if (r_.headless) finish(2);
    return;
  }
  CaseController* cases = w_.cases();
  if (cases->isLoading()) {
    // interactive: continue when the images are in (the event loop keeps running meanwhile)
    if (!cases->waitForLoaded(600000) || !cases->hasCase()) return;
  }
  if (r_.modalities) {
    const SubsetMask missing = static_cast<SubsetMask>(r_.modalities & ~cases->present() & kFullMask);
    if (missing) {
      const int rc = reportError(QString("--modalities: %1 not present in case %2 (it has %3)")
                                     .arg(QString::fromStdString(subset_name(missing)), cases->caseId(),
                                          QString::fromStdString(subset_name(cases->present()))),
                                 2);
      if (r_.headless) return finish(rc);
    }
    cases->setSelected(r_.modalities);
    for (int m : {0, 2, 3, 1})
      if (subset_has(r_.modalities & cases->present(), m)) {
        cases->setDisplayed(m);
        break;
      }
  }
  if (r_.demo || r_.segment) {
    if (!w_.startSegmentation() && r_.headless) finish(3);
    return;  // capture() runs when the segmentation has finished
  }
  capture();
}

}  // namespace gmd::gui
