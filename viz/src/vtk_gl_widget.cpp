#include "gmd/viz/vtk_gl_widget.hpp"

#include <vtkCallbackCommand.h>
#include <vtkCommand.h>
#include <vtkGenericOpenGLRenderWindow.h>
#include <vtkGenericRenderWindowInteractor.h>
#include <vtkInteractorStyle.h>
#include <vtkOpenGLState.h>
#include <vtkSmartPointer.h>

#include <QGuiApplication>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QOffscreenSurface>
#include <QOpenGLContext>
#include <QOpenGLExtraFunctions>
#include <QPointer>
#include <QSurfaceFormat>
#include <QWheelEvent>
#include <cmath>
#include <cstdlib>

namespace gmd::viz {
namespace {
constexpr unsigned int kDrawFramebuffer = 0x8CA9;  // GL_DRAW_FRAMEBUFFER
constexpr unsigned int kColorAttachment0 = 0x8CE0; // GL_COLOR_ATTACHMENT0
constexpr unsigned int kColorBufferBit = 0x4000;   // GL_COLOR_BUFFER_BIT
}  // namespace

struct VtkGlWidget::Impl {
  vtkSmartPointer<vtkGenericOpenGLRenderWindow> window;
  vtkSmartPointer<vtkGenericRenderWindowInteractor> interactor;
  bool forward = false;
  bool in_paint = false;
  bool gl_ready = false;
  QMetaObject::Connection ctx_conn;
};

VtkGlWidget::VtkGlWidget(QWidget* parent) : QOpenGLWidget(parent), d_(new Impl) {
  d_->window = vtkSmartPointer<vtkGenericOpenGLRenderWindow>::New();
  d_->window->SetReadyForRendering(false);
  d_->window->SetFrameBlitModeToNoBlit();
  d_->window->SetMultiSamples(0);
  d_->window->SetSwapBuffers(true);  // render into the display framebuffer; we blit it ourselves
  d_->interactor = vtkSmartPointer<vtkGenericRenderWindowInteractor>::New();
  d_->interactor->SetRenderWindow(d_->window);
  d_->interactor->EnableRenderOff();  // RenderEvent -> update() instead

  d_->window->AddObserver(vtkCommand::WindowMakeCurrentEvent, this, &VtkGlWidget::onMakeCurrent);
  d_->window->AddObserver(vtkCommand::WindowIsCurrentEvent, this, &VtkGlWidget::onIsCurrent);
  d_->window->AddObserver(vtkCommand::WindowFrameEvent, this, &VtkGlWidget::onFrame);
  d_->window->AddObserver(vtkCommand::WindowSupportsOpenGLEvent, this, &VtkGlWidget::onSupportsOpenGL);
  d_->window->AddObserver(vtkCommand::WindowIsDirectEvent, this, &VtkGlWidget::onIsDirect);
  d_->interactor->AddObserver(vtkCommand::RenderEvent, this, &VtkGlWidget::onInteractorRender);

  setFocusPolicy(Qt::StrongFocus);
  setMouseTracking(true);
  setMinimumSize(64, 64);
}

VtkGlWidget::~VtkGlWidget() {
  if (d_->ctx_conn) QObject::disconnect(d_->ctx_conn);
  cleanupGL();
  d_->window->RemoveAllObservers();
  d_->interactor->RemoveAllObservers();
  delete d_;
}

vtkGenericOpenGLRenderWindow* VtkGlWidget::renderWindow() const { return d_->window; }
vtkGenericRenderWindowInteractor* VtkGlWidget::interactor() const { return d_->interactor; }
void VtkGlWidget::setForwardEventsToInteractor(bool on) { d_->forward = on; }

void VtkGlWidget::setDefaultSurfaceFormat() {
  QSurfaceFormat f;
  f.setRenderableType(QSurfaceFormat::OpenGL);
  f.setVersion(3, 2);
  f.setProfile(QSurfaceFormat::CoreProfile);
  f.setSwapBehavior(QSurfaceFormat::DoubleBuffer);
  f.setRedBufferSize(8);
  f.setGreenBufferSize(8);
  f.setBlueBufferSize(8);
  f.setAlphaBufferSize(8);
  f.setDepthBufferSize(24);
  f.setStencilBufferSize(0);
  f.setSamples(0);
  QSurfaceFormat::setDefaultFormat(f);
}

bool VtkGlWidget::openGLAvailable() {
  static int cached = -1;
  if (cached >= 0) return cached == 1;
  cached = 0;
  if (std::getenv("GMD_NO_OPENGL")) return false;
  if (!qGuiApp) return false;
  const QString platform = QGuiApplication::platformName();
  if (platform == "offscreen" || platform == "minimal" || platform == "vnc") return false;
  QOpenGLContext ctx;
  ctx.setFormat(QSurfaceFormat::defaultFormat());
  if (!ctx.create()) return false;
  QOffscreenSurface surface;
  surface.setFormat(ctx.format());
  surface.create();
  if (!surface.isValid() || !ctx.makeCurrent(&surface)) return false;
  const auto v = ctx.format().version();
  ctx.doneCurrent();
  cached = (v.first > 3 || (v.first == 3 && v.second >= 2)) ? 1 : 0;
  return cached == 1;
}

void VtkGlWidget::onMakeCurrent(vtkObject*, unsigned long, void*) {
  // Only make Qt's context current; QOpenGLWidget::makeCurrent() would also rebind Qt's framebuffer
  // behind VTK's state cache.
  QOpenGLContext* ctx = context();
  if (ctx && QOpenGLContext::currentContext() != ctx && ctx->surface()) ctx->makeCurrent(ctx->surface());
}

void VtkGlWidget::onIsCurrent(vtkObject*, unsigned long, void* call_data) {
  auto* result = static_cast<bool*>(call_data);
  *result = context() != nullptr && QOpenGLContext::currentContext() == context();
}

void VtkGlWidget::onFrame(vtkObject*, unsigned long, void*) {
  if (!d_->in_paint) update();
}

void VtkGlWidget::onSupportsOpenGL(vtkObject*, unsigned long, void* call_data) {
  *static_cast<int*>(call_data) = openGLAvailable() ? 1 : 0;
}

void VtkGlWidget::onIsDirect(vtkObject*, unsigned long, void* call_data) {
  *static_cast<int*>(call_data) = 1;
}

void VtkGlWidget::onInteractorRender(vtkObject*, unsigned long, void*) { update(); }

double VtkGlWidget::pixelRatio() const { return devicePixelRatioF(); }
int VtkGlWidget::pixelWidth() const { return static_cast<int>(std::lround(width() * pixelRatio())); }
int VtkGlWidget::pixelHeight() const { return static_cast<int>(std::lround(height() * pixelRatio())); }

void VtkGlWidget::initializeGL() {
  if (d_->ctx_conn) QObject::disconnect(d_->ctx_conn);
  d_->ctx_conn = connect(context(), &QOpenGLContext::aboutToBeDestroyed, this, [this] { cleanupGL(); },
                         Qt::DirectConnection);
  auto* w = d_->window.Get();
  w->GetState()->Reset();
  w->SetOwnContext(false);
  w->SetReadyForRendering(true);
  w->OpenGLInitContext();
  w->SetSize(pixelWidth(), pixelHeight());
  d_->interactor->SetSize(pixelWidth(), pixelHeight());
  if (!d_->interactor->GetInitialized()) d_->interactor->Initialize();
  d_->gl_ready = true;
}

void VtkGlWidget::cleanupGL() {
  if (!d_->gl_ready) return;
  d_->gl_ready = false;
  QOpenGLContext* ctx = context();
  if (ctx && ctx->isValid()) {
    makeCurrent();
    d_->window->GetState()->Reset();
    d_->window->ReleaseGraphicsResources(d_->window);
    doneCurrent();
  }
  d_->window->SetReadyForRendering(false);
}

void VtkGlWidget::resizeGL(int, int) {
  const int w = pixelWidth(), h = pixelHeight();
  d_->window->SetSize(w, h);
  d_->interactor->SetSize(w, h);
  Q_EMIT resized(w, h);
}

void VtkGlWidget::paintGL() {
  if (!d_->gl_ready) return;
  auto* w = d_->window.Get();
  const int pw = pixelWidth(), ph = pixelHeight();
  if (w->GetSize()[0] != pw || w->GetSize()[1] != ph) {
    w->SetSize(pw, ph);
    d_->interactor->SetSize(pw, ph);
  }
  beforeRender();
  vtkOpenGLState* st = w->GetState();
  st->Reset();
  st->Push();
  d_->in_paint = true;
  w->Render();
  d_->in_paint = false;
  // Blit VTK's display framebuffer into Qt's framebuffer object.
  st->vtkglBindFramebuffer(kDrawFramebuffer, defaultFramebufferObject());
  if (auto* f = context()->extraFunctions()) {
    const GLenum buf = kColorAttachment0;
    f->glDrawBuffers(1, &buf);
  }
  w->BlitDisplayFramebuffer();
  // Opaque alpha, or the compositor blends the widget with what lies behind it.
  st->vtkglColorMask(false, false, false, true);
  st->vtkglClearColor(0.0f, 0.0f, 0.0f, 1.0f);
  st->vtkglClear(kColorBufferBit);
  st->Pop();
}

void VtkGlWidget::forwardMouse(QMouseEvent* e, unsigned long event) {
  const double r = pixelRatio();
  d_->interactor->SetEventInformationFlipY(static_cast<int>(e->position().x() * r),
                                           static_cast<int>(e->position().y() * r),
                                           (e->modifiers() & Qt::ControlModifier) ? 1 : 0,
                                           (e->modifiers() & Qt::ShiftModifier) ? 1 : 0, 0,
                                           e->type() == QEvent::MouseButtonDblClick ? 1 : 0);
  d_->interactor->SetAltKey((e->modifiers() & Qt::AltModifier) ? 1 : 0);
  d_->interactor->InvokeEvent(event, e);
}

void VtkGlWidget::mousePressEvent(QMouseEvent* e) {
  if (!d_->forward) return QOpenGLWidget::mousePressEvent(e);
  switch (e->button()) {
    case Qt::LeftButton: forwardMouse(e, vtkCommand::LeftButtonPressEvent); break;
    case Qt::MiddleButton: forwardMouse(e, vtkCommand::MiddleButtonPressEvent); break;
    case Qt::RightButton: forwardMouse(e, vtkCommand::RightButtonPressEvent); break;
    default: break;
  }
}

void VtkGlWidget::mouseReleaseEvent(QMouseEvent* e) {
  if (!d_->forward) return QOpenGLWidget::mouseReleaseEvent(e);
  switch (e->button()) {
    case Qt::LeftButton: forwardMouse(e, vtkCommand::LeftButtonReleaseEvent); break;
    case Qt::MiddleButton: forwardMouse(e, vtkCommand::MiddleButtonReleaseEvent); break;
    case Qt::RightButton: forwardMouse(e, vtkCommand::RightButtonReleaseEvent); break;
    default: break;
  }
}

void VtkGlWidget::mouseDoubleClickEvent(QMouseEvent* e) {
  if (!d_->forward) return QOpenGLWidget::mouseDoubleClickEvent(e);
  mousePressEvent(e);
}

void VtkGlWidget::mouseMoveEvent(QMouseEvent* e) {
  if (!d_->forward) return QOpenGLWidget::mouseMoveEvent(e);
  forwardMouse(e, vtkCommand::MouseMoveEvent);
}

void VtkGlWidget::wheelEvent(QWheelEvent* e) {
  if (!d_->forward) return QOpenGLWidget::wheelEvent(e);
  const double r = pixelRatio();
  d_->interactor->SetEventInformationFlipY(static_cast<int>(e->position().x() * r),
                                           static_cast<int>(e->position().y() * r),
                                           (e->modifiers() & Qt::ControlModifier) ? 1 : 0,
                                           (e->modifiers() & Qt::ShiftModifier) ? 1 : 0);
  const int delta = e->angleDelta().y();
  if (delta > 0) d_->interactor->InvokeEvent(vtkCommand::MouseWheelForwardEvent, e);
  else if (delta < 0) d_->interactor->InvokeEvent(vtkCommand::MouseWheelBackwardEvent, e);
  e->accept();
}

void VtkGlWidget::enterEvent(QEnterEvent* e) {
  if (d_->forward) d_->interactor->InvokeEvent(vtkCommand::EnterEvent, e);
  QOpenGLWidget::enterEvent(e);
}

void VtkGlWidget::leaveEvent(QEvent* e) {
  if (d_->forward) d_->interactor->InvokeEvent(vtkCommand::LeaveEvent, e);
  QOpenGLWidget::leaveEvent(e);
}

}  // namespace gmd::viz
