#pragma once
// Qt widgets for the slice views and the 3D view (VTK scenes hosted in VtkGlWidget).
#include <array>
#include <memory>

#include "gmd/viz/display.hpp"
#include "gmd/viz/slice_scene.hpp"
#include "gmd/viz/surface_scene.hpp"
#include "gmd/viz/vtk_gl_widget.hpp"

namespace gmd::viz {

// One 2D slice view. Mouse: left click/drag moves the linked crosshair; wheel or Up/Down/PageUp/
// PageDown scrolls slices; Ctrl+wheel zooms; middle drag (or Shift+left drag) pans; right drag
// sets window (horizontal) and level (vertical); double click asks to maximise; R resets the view.
class SliceView : public VtkGlWidget {
  Q_OBJECT
 public:
  explicit SliceView(ViewAxis axis, QWidget* parent = nullptr);
  ~SliceView() override;
  SliceScene& scene();
  const SliceScene& scene() const;
  void setWindowLevel(const WindowLevel& wl);
  // Fit the slice to the widget again (after zoom/pan) and re-render.
  void resetView();
  // Schedules a re-render.
  void refresh() { update(); }

 Q_SIGNALS:
  void cursorRequested(double x, double y, double z);  // display-frame world (mm)
  void hovered(double x, double y, double z);
  void windowLevelRequested(double window, double level);
  void maximizeRequested();

 protected:
  void beforeRender() override;
  void paintGL() override;
  void mousePressEvent(QMouseEvent* e) override;
  void mouseMoveEvent(QMouseEvent* e) override;
  void mouseReleaseEvent(QMouseEvent* e) override;
  void mouseDoubleClickEvent(QMouseEvent* e) override;
  void wheelEvent(QWheelEvent* e) override;
  void keyPressEvent(QKeyEvent* e) override;
  void resizeGL(int w, int h) override;

 private:
  std::array<double, 2> vtkPos(const QPointF& p) const;
  void stepSlice(int delta);
  struct Impl;
  std::unique_ptr<Impl> d_;
};

// The 3D view: trackball rotation (left), pan (middle), zoom (right/wheel); R resets.
class SurfaceView : public VtkGlWidget {
  Q_OBJECT
 public:
  explicit SurfaceView(QWidget* parent = nullptr);
  ~SurfaceView() override;
  SurfaceScene& scene();
  void resetView();
  void refresh() { update(); }

 Q_SIGNALS:
  void maximizeRequested();

 protected:
  void initializeGL() override;
  void keyPressEvent(QKeyEvent* e) override;
  void mouseDoubleClickEvent(QMouseEvent* e) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> d_;
};

}  // namespace gmd::viz
