#pragma once
// A Qt 6 QOpenGLWidget that hosts a VTK render window (Debian's VTK Qt module is built for Qt 5,
// so GMD Studio has its own host). VTK renders into its own framebuffer inside Qt's context; the
// widget blits the result into Qt's framebuffer in paintGL(). See docs/gui.md.
#include <QOpenGLWidget>

class vtkGenericOpenGLRenderWindow;
class vtkGenericRenderWindowInteractor;
class vtkObject;

namespace gmd::viz {

class VtkGlWidget : public QOpenGLWidget {
  Q_OBJECT
 public:
  explicit VtkGlWidget(QWidget* parent = nullptr);
  ~VtkGlWidget() override;

  vtkGenericOpenGLRenderWindow* renderWindow() const;
  vtkGenericRenderWindowInteractor* interactor() const;
  // When on, mouse and wheel events go to the VTK interactor (and its interactor style). Key
  // events are never forwarded (VTK's default keys would quit or switch to wireframe).
  void setForwardEventsToInteractor(bool on);

  // Sets the default QSurfaceFormat VTK needs (OpenGL 3.2 core, double buffer, RGBA8 + depth,
  // no multisampling). Call before constructing QApplication.
  static void setDefaultSurfaceFormat();
  // True when an OpenGL 3.2 context can be created on this platform (false e.g. under
  // QT_QPA_PLATFORM=offscreen, where showing a QOpenGLWidget would crash Qt 6.4). Needs a
  // QGuiApplication; the result is cached.
  static bool openGLAvailable();

 Q_SIGNALS:
  void resized(int width_px, int height_px);

 protected:
  void initializeGL() override;
  void paintGL() override;
  void resizeGL(int w, int h) override;
  // Called in paintGL() before VTK renders (the window already has its new size).
  virtual void beforeRender() {}

  void mousePressEvent(QMouseEvent* e) override;
  void mouseMoveEvent(QMouseEvent* e) override;
  void mouseReleaseEvent(QMouseEvent* e) override;
  void mouseDoubleClickEvent(QMouseEvent* e) override;
  void wheelEvent(QWheelEvent* e) override;
  void enterEvent(QEnterEvent* e) override;
  void leaveEvent(QEvent* e) override;

  double pixelRatio() const;
  int pixelWidth() const;
  int pixelHeight() const;

 private:
  void onMakeCurrent(vtkObject*, unsigned long, void*);
  void onIsCurrent(vtkObject*, unsigned long, void*);
  void onFrame(vtkObject*, unsigned long, void*);
  void onSupportsOpenGL(vtkObject*, unsigned long, void*);
  void onIsDirect(vtkObject*, unsigned long, void*);
  void onInteractorRender(vtkObject*, unsigned long, void*);
  void cleanupGL();
  void forwardMouse(QMouseEvent* e, unsigned long event);

  struct Impl;
  Impl* d_;
};

}  // namespace gmd::viz
