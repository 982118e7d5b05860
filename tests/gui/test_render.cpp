// Rendering tests (need OpenGL: run under xvfb-run, see CMakeLists.txt). They look at pixels:
// the overlay colours appear where the label map says, radiological orientation, a 3D view that
// is not blank, and gmd-studio --screenshot end to end.
#include <gtest/gtest.h>

#include <vtkGenericOpenGLRenderWindow.h>

#include <QApplication>
#include <QImage>
#include <QProcess>
#include <QTest>
#include <cmath>

#include "gmd/gui/case_controller.hpp"
#include "gmd/viz/display.hpp"
#include "gmd/viz/view_area.hpp"
#include "gmd/viz/views.hpp"
#include "gmd/viz/vtk_gl_widget.hpp"
#include "gui_test_util.hpp"

using namespace gmd;
using viz::ViewArea;
namespace fs = std::filesystem;

namespace {
QString qs(const fs::path& p) { return QString::fromStdString(p.string()); }

// Qt image pixel of a display-frame world point in a slice view.
QPoint pixel_of(viz::SliceView* v, const std::array<double, 3>& world, const QImage& img) {
  const auto d = v->scene().display_of(world);
  const double sx = img.width() / static_cast<double>(v->renderWindow()->GetSize()[0]);
  return QPoint(static_cast<int>(std::lround(d[0] * sx)), static_cast<int>(std::lround(img.height() - 1 - d[1] * sx)));
}

// World point (display frame, mm) of a source voxel.
std::array<double, 3> world_of(const viz::DisplayFrame& f, std::array<std::size_t, 3> src) {
  const auto d = f.to_display(src);
  return {d[0] * f.spacing[0], d[1] * f.spacing[1], d[2] * f.spacing[2]};
}

bool yellowish(QRgb c) { return qRed(c) > qBlue(c) + 60 && qGreen(c) > qBlue(c) + 60; }
bool greenish(QRgb c) { return qGreen(c) > qRed(c) + 50 && qGreen(c) > qBlue(c) + 50; }
// neutral grey (image without overlay), any brightness
bool greyish(QRgb c) { return std::abs(qRed(c) - qGreen(c)) < 12 && std::abs(qGreen(c) - qBlue(c)) < 12; }

class RenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(viz::VtkGlWidget::openGLAvailable())
        << "these tests need OpenGL: run them under xvfb-run -a -s \"-screen 0 1280x1024x24\"";
  }
};
}  // namespace

class RenderSlices : public RenderTest {};

TEST_F(RenderSlices, OverlayColoursAppearWhereTheLabelMapSays) {
  const fs::path root = test::scratch_dir("render_overlay");
  test::TinyCaseSpec spec;
  const fs::path dir = test::write_tiny_case(root, "r", spec);
  gui::CaseController cases;
  ASSERT_TRUE(cases.openFolder(qs(dir)));
  const auto c = cases.currentCase();

  ViewArea area(true, nullptr);
  area.resize(900, 800);
  area.setLayoutMode(ViewArea::Layout::Single, ViewArea::ViewId::Axial);
  area.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&area));
  area.setImage(&*c->images[0], "FLAIR", true);
  area.setLabels(&*c->seg);
  const std::array<std::size_t, 3> centre{12, 24, 16};  // the tumour centre (source voxels)
  area.setCursorVoxel(centre);
  test::pump(100);
  auto* v = area.sliceView(ViewArea::ViewId::Axial);
  ASSERT_NE(v, nullptr);
  QImage img = v->grabFramebuffer();
  ASSERT_FALSE(img.isNull());

  const auto& f = area.frame();
  const QPoint et = pixel_of(v, world_of(f, centre), img);
  const QPoint ed = pixel_of(v, world_of(f, {12 + 6, 24, 16}), img);  // 6 mm from the centre: edema
  const QPoint brain = pixel_of(v, world_of(f, {30, 24, 16}), img);   // no label
  const QPoint outside = QPoint(5, img.height() / 2);                  // background
  EXPECT_TRUE(yellowish(img.pixel(et))) << "ET pixel " << qRed(img.pixel(et)) << "," << qGreen(img.pixel(et)) << ","
                                        << qBlue(img.pixel(et));
  EXPECT_TRUE(greenish(img.pixel(ed))) << "ED pixel " << qRed(img.pixel(ed)) << "," << qGreen(img.pixel(ed)) << ","
                                       << qBlue(img.pixel(ed));
  EXPECT_TRUE(greyish(img.pixel(brain))) << "brain pixel " << qRed(img.pixel(brain)) << "," << qGreen(img.pixel(brain))
                                         << "," << qBlue(img.pixel(brain));
  EXPECT_LT(qGray(img.pixel(outside)), 20) << "dark background";

  // count overlay pixels: about the ET disc area of this slice (radius 3 mm, 1 mm pixels, zoomed)
  const double px_per_mm = std::abs(pixel_of(v, world_of(f, {13, 24, 16}), img).x() - et.x());
  int yellow = 0;
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < img.width(); ++x) yellow += yellowish(img.pixel(x, y));
  const double expected = M_PI * 3.0 * 3.0 * px_per_mm * px_per_mm;
  EXPECT_GT(yellow, 0.5 * expected);
  EXPECT_LT(yellow, 2.0 * expected);

  // hide ET: that pixel is no longer yellow; ED stays green
  viz::OverlayStyle s;
  s.visible = {true, true, false};
  area.setOverlayStyle(s);
  img = v->grabFramebuffer();
  EXPECT_FALSE(yellowish(img.pixel(et)));
  EXPECT_TRUE(greenish(img.pixel(ed)));
  // opacity 0 hides all
  s.visible = {true, true, true};
  s.opacity = 0.0;
  area.setOverlayStyle(s);
  img = v->grabFramebuffer();
  EXPECT_TRUE(greyish(img.pixel(ed)));
}

TEST_F(RenderSlices, RadiologicalOrientationAndLinkedCrosshair) {
  const fs::path root = test::scratch_dir("render_orient");
  test::TinyCaseSpec spec;
  // direction diag(-1,-1,1): source x grows toward patient RIGHT, y toward ANTERIOR.
  // Put the tumour at small x (patient left) and large y (anterior).
  spec.tumour = {8, 38, 16};
  const fs::path dir = test::write_tiny_case(root, "o", spec);
  gui::CaseController cases;
  ASSERT_TRUE(cases.openFolder(qs(dir)));
  const auto c = cases.currentCase();
  ViewArea area(true, nullptr);
  area.resize(1000, 900);
  area.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&area));
  area.setImage(&*c->images[2], "T1ce", true);
  area.setLabels(&*c->seg);
  ASSERT_TRUE(area.centreOnLabel(4));
  test::pump(100);
  const auto cur = area.cursorVoxel();
  EXPECT_NEAR(static_cast<double>(cur[0]), 8, 1);
  EXPECT_NEAR(static_cast<double>(cur[1]), 38, 1);
  EXPECT_NEAR(static_cast<double>(cur[2]), 16, 1);

  auto centroid_of_yellow = [](const QImage& img) {
    double sx = 0, sy = 0;
    int n = 0;
    for (int y = 0; y < img.height(); ++y)
      for (int x = 0; x < img.width(); ++x)
        if (yellowish(img.pixel(x, y))) {
          sx += x;
          sy += y;
          ++n;
        }
    return n ? QPointF(sx / n / img.width(), sy / n / img.height()) : QPointF(-1, -1);
  };
  // Axial: patient left on screen right, anterior on top
  const QPointF ax = centroid_of_yellow(area.sliceView(ViewArea::ViewId::Axial)->grabFramebuffer());
  EXPECT_GT(ax.x(), 0.55) << "patient left must be on the screen's right (radiological)";
  EXPECT_LT(ax.y(), 0.45) << "anterior must be at the top";
  // Coronal: patient left on screen right
  const QPointF co = centroid_of_yellow(area.sliceView(ViewArea::ViewId::Coronal)->grabFramebuffer());
  EXPECT_GT(co.x(), 0.55);
  // Sagittal: anterior on screen left
  const QPointF sa = centroid_of_yellow(area.sliceView(ViewArea::ViewId::Sagittal)->grabFramebuffer());
  EXPECT_LT(sa.x(), 0.45);

  // Clicking in the axial view moves the crosshair of all views (linked)
  auto* axial = area.sliceView(ViewArea::ViewId::Axial);
  const auto before_cor = area.sliceView(ViewArea::ViewId::Coronal)->scene().slice_index();
  QTest::mouseClick(axial, Qt::LeftButton, Qt::NoModifier, QPoint(axial->width() / 2, axial->height() / 2));
  test::pump(50);
  const auto after = area.cursorVoxel();
  EXPECT_EQ(after[2], cur[2]) << "clicking in the axial view keeps the axial slice";
  EXPECT_NE(area.sliceView(ViewArea::ViewId::Coronal)->scene().slice_index(), before_cor);
  // wheel scrolls one slice
  const int z0 = axial->scene().slice_index();
  QWheelEvent wheel(QPointF(50, 50), axial->mapToGlobal(QPointF(50, 50)), QPoint(), QPoint(0, 120), Qt::NoButton,
                    Qt::NoModifier, Qt::NoScrollPhase, false);
  QApplication::sendEvent(axial, &wheel);
  EXPECT_EQ(axial->scene().slice_index(), z0 + 1);
  // right drag changes window/level
  const auto wl0 = area.windowLevel();
  QTest::mousePress(axial, Qt::RightButton, Qt::NoModifier, QPoint(100, 100));
  QMouseEvent move(QEvent::MouseMove, QPointF(180, 100), axial->mapToGlobal(QPointF(180, 100)), Qt::NoButton,
                   Qt::RightButton, Qt::NoModifier);
  QApplication::sendEvent(axial, &move);
  QTest::mouseRelease(axial, Qt::RightButton, Qt::NoModifier, QPoint(180, 100));
  EXPECT_GT(area.windowLevel().window, wl0.window * 1.2);
}

TEST_F(RenderSlices, AnisotropicSpacingKeepsTheAspect) {
  const fs::path root = test::scratch_dir("render_aspect");
  test::TinyCaseSpec spec;
  spec.size = {40, 40, 20};
  spec.spacing = {1.0, 1.0, 3.0};  // thick slices
  spec.tumour = {20, 20, 10};
  const fs::path dir = test::write_tiny_case(root, "a", spec);
  gui::CaseController cases;
  ASSERT_TRUE(cases.openFolder(qs(dir)));
  ViewArea area(true, nullptr);
  area.resize(800, 800);
  area.setLayoutMode(ViewArea::Layout::Single, ViewArea::ViewId::Coronal);
  area.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&area));
  area.setImage(&*cases.currentCase()->images[1], "T1", true);  // T1: brain bright, tumour darker
  area.setCursorVoxel({20, 20, 10});
  test::pump(50);
  auto* v = area.sliceView(ViewArea::ViewId::Coronal);
  const QImage img = v->grabFramebuffer();
  // The brain ellipsoid has semi-axes 18.4 mm (left-right) and 27.6 mm (superior-inferior) in
  // this coronal plane. Pixels 16 mm left/right and 25 mm up/down of the centre are brain (bright);
  // with a wrong aspect (3 mm slices drawn as 1 mm) the vertical ones would be black.
  const auto& f = area.frame();
  const std::array<double, 3> c{19.5 * f.spacing[0], 20 * f.spacing[1], 9.5 * f.spacing[2]};
  auto value_at = [&](double dx_mm, double dz_mm) {
    return qGray(img.pixel(pixel_of(v, {c[0] + dx_mm, c[1], c[2] + dz_mm}, img)));
  };
  for (double dx : {-16.0, 16.0}) EXPECT_GT(value_at(dx, 0), 40) << "dx " << dx;
  for (double dz : {-25.0, 25.0}) EXPECT_GT(value_at(0, dz), 40) << "dz " << dz;
  for (double dx : {-24.0, 24.0}) EXPECT_LT(value_at(dx, 0), 15) << "dx " << dx;
  // and the pixel scale is the same in both directions
  const QPoint p0 = pixel_of(v, c, img), px = pixel_of(v, {c[0] + 10, c[1], c[2]}, img),
               pz = pixel_of(v, {c[0], c[1], c[2] + 10}, img);
  EXPECT_NEAR(std::abs(px.x() - p0.x()), std::abs(pz.y() - p0.y()), 1.0);
}

class Render3D : public RenderTest {};

TEST_F(Render3D, SurfacesAreBuiltAndTheViewIsNotBlank) {
  const fs::path root = test::scratch_dir("render_3d");
  const fs::path dir = test::write_tiny_case(root, "s");
  gui::CaseController cases;
  ASSERT_TRUE(cases.openFolder(qs(dir)));
  ViewArea area(true, nullptr);
  area.resize(700, 700);
  area.setLayoutMode(ViewArea::Layout::Single, ViewArea::ViewId::ThreeD);
  area.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&area));
  area.setImage(&*cases.currentCase()->images[0], "FLAIR", true);
  auto* sv = area.surfaceView();
  ASSERT_NE(sv, nullptr);
  const QImage empty = sv->grabFramebuffer();
  area.setLabels(&*cases.currentCase()->seg);
  test::pump(50);
  const auto polys = sv->scene().region_polygons();
  EXPECT_GT(polys[0], 100);
  EXPECT_GT(polys[1], 50);
  EXPECT_GT(polys[2], 20);
  EXPECT_GT(sv->scene().brain_polygons(), 100);
  const QImage img = sv->grabFramebuffer();
  ASSERT_FALSE(img.isNull());
  // not blank: many pixels differ from the background, and the tumour colours are there
  int differ = 0, coloured = 0;
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < img.width(); ++x) {
      const QRgb a = img.pixel(x, y), b = empty.pixel(x, y);
      if (std::abs(qRed(a) - qRed(b)) + std::abs(qGreen(a) - qGreen(b)) + std::abs(qBlue(a) - qBlue(b)) > 30) ++differ;
      if (greenish(a)) ++coloured;
    }
  EXPECT_GT(differ, img.width() * img.height() / 100);
  EXPECT_GT(coloured, 200) << "the edema (WT) surface is drawn in the ED colour";
  // hide every region: no green left
  viz::OverlayStyle s;
  s.visible = {false, false, false};
  area.setOverlayStyle(s);
  const QImage hidden = sv->grabFramebuffer();
  int green = 0;
  for (int y = 0; y < hidden.height(); ++y)
    for (int x = 0; x < hidden.width(); ++x) green += greenish(hidden.pixel(x, y));
  EXPECT_LT(green, 20);
}

class RenderStudio : public RenderTest {};

TEST_F(RenderStudio, ScreenshotModeWritesTheWindowWithTheSegmentation) {
  std::string why;
  const fs::path model = test::tiny_model(&why);
  ASSERT_FALSE(model.empty()) << why;
  const fs::path root = test::scratch_dir("render_cli");
  // 1. a case with a reference segmentation, no model: the reference overlay is shown
  const fs::path dir = test::write_tiny_case(root, "shot");
  QProcess p;
  p.setProcessChannelMode(QProcess::MergedChannels);
  p.start(GMD_STUDIO_PATH, {qs(dir), "--screenshot", qs(root / "ref.png"), "--layout", "1x1", "--view", "axial",
                            "--size", "1280x800"});
  ASSERT_TRUE(p.waitForFinished(120000));
  const QString out = QString::fromLocal8Bit(p.readAll());
  ASSERT_EQ(p.exitCode(), 0) << out.toStdString();
  QImage img(qs(root / "ref.png"));
  ASSERT_FALSE(img.isNull());
  EXPECT_EQ(img.size(), QSize(1280, 800));
  int yellow = 0;
  for (int y = 0; y < img.height(); ++y)
    for (int x = 0; x < img.width(); ++x) yellow += yellowish(img.pixel(x, y));
  EXPECT_GT(yellow, 100) << "the ET overlay is visible in the screenshot";

  // 2. --demo with GMD_DEMO_DIR / GMD_MODEL_DIR: opens the demo case, segments, 2x2, report panel
  auto env = QProcessEnvironment::systemEnvironment();
  env.insert("GMD_DEMO_DIR", qs(test::tiny_dataset()));
  env.insert("GMD_MODEL_DIR", qs(model));
  QProcess d;
  d.setProcessEnvironment(env);
  d.setProcessChannelMode(QProcess::MergedChannels);
  d.start(GMD_STUDIO_PATH, {"--demo", "--screenshot", qs(root / "demo.png"), "--layout", "2x2", "--modalities",
                            "flair,t2", "--panel", "report", "--device", "cpu"});
  ASSERT_TRUE(d.waitForFinished(300000));
  const QString dout = QString::fromLocal8Bit(d.readAll());
  ASSERT_EQ(d.exitCode(), 0) << dout.toStdString();
  EXPECT_TRUE(dout.contains("screenshot written")) << dout.toStdString();
  const QImage demo(qs(root / "demo.png"));
  EXPECT_EQ(demo.size(), QSize(1280, 860));
}
