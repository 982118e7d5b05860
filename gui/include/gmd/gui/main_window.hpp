#pragma once
// GMD Studio's main window: toolbar + modality bar on top, the view area in the centre, a side
// dock of tabbed panels (see panel_registry.hpp), status bar with the crosshair readout.
#include <QImage>
#include <QMainWindow>
#include <QPointer>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "gmd/gui/overlay_model.hpp"
#include "gmd/gui/panel_registry.hpp"
#include "gmd/gui/report.hpp"
#include "gmd/common/image.hpp"
#include "gmd/viz/palette.hpp"

class QTabWidget;
class QDockWidget;
class QLabel;
class QMenu;
class QAction;
class QComboBox;
class QActionGroup;

namespace gmd::gui {

class CaseController;
class ModelController;
class SegmentationController;
class ModalityBar;
class RecentCases;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  using OverlaySource = OverlayModel::Source;

  // rendering: create the OpenGL views (default: when OpenGL is available).
  explicit MainWindow(QWidget* parent = nullptr);
  MainWindow(bool rendering, QWidget* parent);
  ~MainWindow() override;

  CaseController* cases() const;
  ModelController* models() const;
  SegmentationController* segmentation() const;
  viz::ViewArea* views() const;
  ModalityBar* modalityBar() const;
  OverlayModel* overlay() const;  // what the views overlay and the exports write (the methods below forward to it)
  StudioContext& context();

  // Panels
  QStringList panelNames() const;
  bool selectPanel(const QString& name);
  QString currentPanel() const;
  QWidget* panel(const QString& name) const;
  void addPanel(const PanelInfo& info);

  // Errors: with dialogs on (default) a message box; always errorShown() and the status bar.
  void setDialogsEnabled(bool on);
  void showError(const QString& title, const QString& message);

  // Case / segmentation. With asynchronous loading on (the interactive default of gmd-studio),
  // images are read on a worker thread and these return true when loading has started.
  void setAsyncLoading(bool on);
  bool openCase(const QString& dir);
  bool openPaths(const QStringList& paths);  // folder or files (asks for unknown modalities)
  bool startSegmentation();
  void cancelSegmentation();

  // Overlay
  OverlaySource overlaySource() const;
  bool setOverlaySource(OverlaySource s);
  bool hasSegmentation() const;  // for the current case
  bool hasReference() const;     // the case has a _seg file
  bool hasAgreement() const;     // the segmentation carries subset agreement maps
  int agreementRegion() const;   // 0 WT, 1 TC, 2 ET
  void setAgreementRegion(int region);
  const LabelMap* shownLabels() const;
  void setOverlayStyle(const viz::OverlayStyle& style);
  viz::OverlayStyle overlayStyle() const;

  // Report (of the shown overlay) and exports; each returns false after showing the error.
  std::optional<Report> report() const;
  bool exportLabels(const QString& path);
  bool exportReport(const QString& path);  // .csv or .json by extension
  // The three agreement maps (fraction of subsets, float NIfTI): <base>_WT/_TC/_ET.nii.gz; `path` may end in
  // .nii.gz / .nii (stripped) or be the base itself. Returns false after showing the error.
  bool exportAgreement(const QString& path);
  bool exportDicomSeg(const QString& path);
  bool saveScreenshot(const QString& path);
  QImage grabWindowImage();

  // The same with file dialogs (used by the menus and panels).
  void chooseFolder();
  void chooseExportLabels();
  void chooseExportReport();
  void chooseExportAgreement();
  void chooseExportDicomSeg();
  void chooseDicomSeries();  // a DICOM case: which series is which sequence
  // View > Check alignment: the displayed sequence and the reference in alternating cubes.
  void setAlignmentCheck(bool on);
  bool alignmentCheck() const;
  void chooseScreenshot();
  void chooseModel();

 Q_SIGNALS:
  void overlayChanged();
  void reportChanged();
  void errorShown(const QString& title, const QString& message);
  void statusChanged(const QString& text);

 protected:
  void dragEnterEvent(QDragEnterEvent* e) override;
  void dropEvent(QDropEvent* e) override;
  void closeEvent(QCloseEvent* e) override;

 private:
  void buildActions();
  void buildUi(bool rendering);
  void onCaseChanged();
  void onDisplayedChanged(int m);
  // The displayed modality in the views (with the alignment check: as a checkerboard with the reference).
  void showDisplayedImage(bool new_case);
  void onSegmentationFinished();
  void drawOverlay();
  void redrawLabels();  // drawOverlay, then overlayChanged and reportChanged
  // One export of the overlay model: its error in a dialog titled `failure_title`, or its success in the status bar.
  bool runExport(const QString& failure_title, QString (OverlayModel::*exporter)(const QString&, QString*) const,
                 const QString& path);
  void refreshRecentMenu();
  void updateActions();
  void setStatus(const QString& text);
  void chooseFiles();
  void chooseAssign(int slot);

  struct Impl;
  std::unique_ptr<Impl> d_;
};

}  // namespace gmd::gui
