#pragma once
// The central view area: axial, coronal and sagittal slice views with a linked crosshair and a 3D
// view, in a 2x2 grid or one view at a time. Without OpenGL (e.g. QT_QPA_PLATFORM=offscreen) it
// shows placeholders instead of the views, so that the rest of the GUI still works.
#include <QString>
#include <QWidget>
#include <array>
#include <memory>
#include <optional>

#include "gmd/common/image.hpp"
#include "gmd/viz/display.hpp"
#include "gmd/viz/palette.hpp"

namespace gmd::viz {

class SliceView;
class SurfaceView;

class ViewArea : public QWidget {
  Q_OBJECT
 public:
  enum class ViewId { Axial = 0, Coronal = 1, Sagittal = 2, ThreeD = 3 };
  enum class Layout { Single, Grid };
  static QString viewName(ViewId v);                     // "axial", "coronal", "sagittal", "3d"
  static std::optional<ViewId> parseViewName(const QString& s);

  // `rendering`: create OpenGL views (default: VtkGlWidget::openGLAvailable()).
  explicit ViewArea(QWidget* parent = nullptr);
  ViewArea(bool rendering, QWidget* parent);
  ~ViewArea() override;
  bool renderingAvailable() const;

  // Shows `image` (copied into the display frame). new_case=true recentres the crosshair, refits
  // the views, recomputes the default window/level and the 3D brain outline; false (another
  // modality of the same case) keeps them when the geometry is the same. nullptr clears the views.
  void setImage(const Image* image, const QString& name, bool new_case);
  // Label map (BraTS labels) in the same geometry as the image, copied into the display frame (the caller's map
  // need not outlive the call); nullptr hides the overlay.
  void setLabels(const LabelMap* labels);
  bool hasImage() const;
  bool hasLabels() const;
  const DisplayFrame& frame() const;

  void setOverlayStyle(const OverlayStyle& style);
  const OverlayStyle& overlayStyle() const;
  void setBrainOutlineVisible(bool on);
  bool brainOutlineVisible() const;
  void setCrosshairVisible(bool on);

  void setWindowLevel(const WindowLevel& wl);
  const WindowLevel& windowLevel() const;
  WindowLevel presetWindowLevel(int preset_index) const;  // see window_presets()
  void applyWindowPreset(int preset_index);

  void setLayoutMode(Layout layout, ViewId single = ViewId::Axial);
  Layout layoutMode() const;
  ViewId singleView() const;

  // Crosshair in source voxel indices of the loaded image.
  void setCursorVoxel(const std::array<std::size_t, 3>& source_index);
  std::array<std::size_t, 3> cursorVoxel() const;
  // Moves the crosshair into the main mass of label `value` (e.g. 4 for ET): on each axis, the
  // slice holding most of its voxels (robust to scattered small blobs). False if absent.
  bool centreOnLabel(int value);
  // centreOnLabel for ET, else NCR/NET, else ED.
  bool centreOnTumour();
  void resetViews();
  void refresh();

  SliceView* sliceView(ViewId v) const;  // nullptr without rendering / for ThreeD
  SurfaceView* surfaceView() const;
  QWidget* viewWidget(ViewId v) const;   // view or placeholder

  // Text describing the crosshair position: voxel, intensity, label.
  QString cursorText() const;

 Q_SIGNALS:
  void cursorChanged(const QString& text);
  void hoverChanged(const QString& text);
  void windowLevelChanged(double window, double level);
  void layoutModeChanged();

 private:
  void setCursorWorld(const std::array<double, 3>& w);
  QString describe(const std::array<double, 3>& w) const;
  void rebuildLayout();
  struct Impl;
  std::unique_ptr<Impl> d_;
};

}  // namespace gmd::viz
