#include "gmd/viz/views.hpp"

#include <vtkAnnotatedCubeActor.h>
#include <vtkGenericOpenGLRenderWindow.h>
#include <vtkGenericRenderWindowInteractor.h>
#include <vtkInteractorStyleTrackballCamera.h>
#include <vtkNew.h>
#include <vtkOrientationMarkerWidget.h>
#include <vtkProperty.h>
#include <vtkRenderer.h>
#include <vtkTextProperty.h>

#include <QElapsedTimer>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>

#include "gmd/viz/timing.hpp"

namespace gmd::viz {

// ---------------------------------------------------------------------------------------------
struct SliceView::Impl {
  explicit Impl(ViewAxis a) : scene(a) {}
  SliceScene scene;
  WindowLevel wl;
  bool fitted = true;       // camera follows widget size until the user zooms/pans
  bool need_fit = true;
  enum class Drag { None, Cursor, Pan, WindowLevel } drag = Drag::None;
  QPointF press_pos, last_pos;
  WindowLevel press_wl;
  double wheel_accum = 0;
};

SliceView::SliceView(ViewAxis axis, QWidget* parent) : VtkGlWidget(parent), d_(std::make_unique<Impl>(axis)) {
  renderWindow()->AddRenderer(d_->scene.renderer());
  setCursor(Qt::CrossCursor);
}
SliceView::~SliceView() = default;

SliceScene& SliceView::scene() { return d_->scene; }
const SliceScene& SliceView::scene() const { return d_->scene; }

void SliceView::setWindowLevel(const WindowLevel& wl) {
  d_->wl = wl;
  d_->scene.set_window_level(wl);
  update();
}

void SliceView::resetView() {
  d_->fitted = true;
  d_->need_fit = true;
  update();
}

void SliceView::paintGL() {
  QElapsedTimer timer;
  timer.start();
  VtkGlWidget::paintGL();
  log_timing(std::string("paint ") + view_axis_name(d_->scene.axis()), timer.nsecsElapsed() / 1e6);
}

void SliceView::beforeRender() {
  if (d_->need_fit && d_->scene.has_image()) {
    d_->scene.reset_camera(pixelWidth(), pixelHeight());
    d_->need_fit = false;
  }
}

void SliceView::resizeGL(int w, int h) {
  VtkGlWidget::resizeGL(w, h);
  if (d_->fitted) d_->need_fit = true;
}

std::array<double, 2> SliceView::vtkPos(const QPointF& p) const {
  const double r = pixelRatio();
  return {p.x() * r, pixelHeight() - p.y() * r};
}

void SliceView::mousePressEvent(QMouseEvent* e) {
  d_->press_pos = d_->last_pos = e->position();
  d_->press_wl = d_->wl;
  if (e->button() == Qt::LeftButton && !(e->modifiers() & Qt::ShiftModifier)) {
    d_->drag = Impl::Drag::Cursor;
    const auto p = vtkPos(e->position());
    if (auto w = d_->scene.world_at(p[0], p[1])) Q_EMIT cursorRequested((*w)[0], (*w)[1], (*w)[2]);
  } else if (e->button() == Qt::MiddleButton || e->button() == Qt::LeftButton) {
    d_->drag = Impl::Drag::Pan;
    setCursor(Qt::ClosedHandCursor);
  } else if (e->button() == Qt::RightButton) {
    d_->drag = Impl::Drag::WindowLevel;
  }
  e->accept();
}

void SliceView::mouseMoveEvent(QMouseEvent* e) {
  const auto p = vtkPos(e->position());
  switch (d_->drag) {
    case Impl::Drag::Cursor:
      if (auto w = d_->scene.world_at(p[0], p[1])) Q_EMIT cursorRequested((*w)[0], (*w)[1], (*w)[2]);
      break;
    case Impl::Drag::Pan: {
      const double r = pixelRatio();
      const QPointF delta = e->position() - d_->last_pos;
      d_->scene.pan(delta.x() * r, -delta.y() * r, pixelWidth(), pixelHeight());
      d_->fitted = false;
      update();
      break;
    }
    case Impl::Drag::WindowLevel: {
      const QPointF delta = e->position() - d_->press_pos;
      const double w0 = std::max(1e-6, d_->press_wl.window);
      WindowLevel wl;
      wl.window = std::max(1e-6, w0 * std::exp(delta.x() / 250.0));
      wl.level = d_->press_wl.level + delta.y() * w0 / 400.0;  // drag up: brighter
      Q_EMIT windowLevelRequested(wl.window, wl.level);
      break;
    }
    case Impl::Drag::None:
      if (auto w = d_->scene.world_at(p[0], p[1])) Q_EMIT hovered((*w)[0], (*w)[1], (*w)[2]);
      break;
  }
  d_->last_pos = e->position();
  e->accept();
}

void SliceView::mouseReleaseEvent(QMouseEvent* e) {
  d_->drag = Impl::Drag::None;
  setCursor(Qt::CrossCursor);
  e->accept();
}

void SliceView::mouseDoubleClickEvent(QMouseEvent* e) {
  if (e->button() == Qt::LeftButton) Q_EMIT maximizeRequested();
  e->accept();
}

void SliceView::stepSlice(int delta) {
  if (!d_->scene.has_image() || delta == 0) return;
  const int idx = d_->scene.slice_index() + delta;
  if (idx < 0 || idx >= d_->scene.slice_count()) return;
  auto c = d_->scene.cursor();
  const int n = static_cast<int>(d_->scene.axis());
  c[n] = idx * d_->scene.slice_spacing();
  Q_EMIT cursorRequested(c[0], c[1], c[2]);
}

void SliceView::wheelEvent(QWheelEvent* e) {
  d_->wheel_accum += e->angleDelta().y();
  const int steps = static_cast<int>(d_->wheel_accum / 120.0);
  if (steps != 0) {
    d_->wheel_accum -= steps * 120.0;
    if (e->modifiers() & Qt::ControlModifier) {
      d_->scene.zoom(std::pow(1.15, steps));
      d_->fitted = false;
      update();
    } else {
      stepSlice(steps);
    }
  }
  e->accept();
}

void SliceView::keyPressEvent(QKeyEvent* e) {
  switch (e->key()) {
    case Qt::Key_Up:
    case Qt::Key_PageUp: stepSlice(1); break;
    case Qt::Key_Down:
    case Qt::Key_PageDown: stepSlice(-1); break;
    case Qt::Key_R: resetView(); break;
    case Qt::Key_Plus:
    case Qt::Key_Equal:
      d_->scene.zoom(1.15);
      d_->fitted = false;
      update();
      break;
    case Qt::Key_Minus:
      d_->scene.zoom(1.0 / 1.15);
      d_->fitted = false;
      update();
      break;
    default: VtkGlWidget::keyPressEvent(e); return;
  }
  e->accept();
}

// ---------------------------------------------------------------------------------------------
struct SurfaceView::Impl {
  SurfaceScene scene;
  vtkNew<vtkInteractorStyleTrackballCamera> style;
  vtkNew<vtkAnnotatedCubeActor> cube;
  vtkNew<vtkOrientationMarkerWidget> marker;
  bool marker_on = false;
};

SurfaceView::SurfaceView(QWidget* parent) : VtkGlWidget(parent), d_(std::make_unique<Impl>()) {
  renderWindow()->AddRenderer(d_->scene.renderer());
  interactor()->SetInteractorStyle(d_->style);
  d_->style->SetDefaultRenderer(d_->scene.renderer());
  setForwardEventsToInteractor(true);
  // Orientation cube in the display frame (x = patient left, y = posterior, z = superior).
  auto& c = *d_->cube;
  c.SetXPlusFaceText("L");
  c.SetXMinusFaceText("R");
  c.SetYPlusFaceText("P");
  c.SetYMinusFaceText("A");
  c.SetZPlusFaceText("S");
  c.SetZMinusFaceText("I");
  c.SetFaceTextScale(0.6);
  c.GetCubeProperty()->SetColor(0.25, 0.27, 0.32);
  c.GetTextEdgesProperty()->SetColor(0.6, 0.6, 0.6);
  c.GetTextEdgesProperty()->SetLineWidth(1);
  for (auto* p : {c.GetXPlusFaceProperty(), c.GetXMinusFaceProperty(), c.GetYPlusFaceProperty(),
                  c.GetYMinusFaceProperty(), c.GetZPlusFaceProperty(), c.GetZMinusFaceProperty()})
    p->SetColor(1.0, 0.78, 0.35);
}

SurfaceView::~SurfaceView() {
  if (d_->marker_on) d_->marker->SetEnabled(0);
}

SurfaceScene& SurfaceView::scene() { return d_->scene; }

void SurfaceView::initializeGL() {
  VtkGlWidget::initializeGL();
  if (!d_->marker_on) {
    d_->marker->SetOrientationMarker(d_->cube);
    d_->marker->SetInteractor(interactor());
    d_->marker->SetViewport(0.0, 0.0, 0.13, 0.13);
    d_->marker->SetEnabled(1);
    d_->marker->InteractiveOff();
    d_->marker_on = true;
  }
}

void SurfaceView::resetView() {
  d_->scene.reset_camera();
  update();
}

void SurfaceView::keyPressEvent(QKeyEvent* e) {
  if (e->key() == Qt::Key_R) {
    resetView();
    e->accept();
    return;
  }
  VtkGlWidget::keyPressEvent(e);
}

void SurfaceView::mouseDoubleClickEvent(QMouseEvent* e) {
  if (e->button() == Qt::LeftButton) {
    Q_EMIT maximizeRequested();
    e->accept();
    return;
  }
  VtkGlWidget::mouseDoubleClickEvent(e);
}

}  // namespace gmd::viz
