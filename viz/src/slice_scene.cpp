#include "gmd/viz/slice_scene.hpp"

#include <vtkActor.h>
#include <vtkCamera.h>
#include <vtkCellArray.h>
#include <vtkCoordinate.h>
#include <vtkImageActor.h>
#include <vtkImageData.h>
#include <vtkImageProperty.h>
#include <vtkLookupTable.h>
#include <vtkNew.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkPolyDataMapper.h>
#include <vtkProperty.h>
#include <vtkRenderer.h>
#include <vtkSmartPointer.h>
#include <vtkTextActor.h>
#include <vtkTextProperty.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace gmd::viz {

const char* view_axis_name(ViewAxis a) {
  switch (a) {
    case ViewAxis::Axial: return "Axial";
    case ViewAxis::Coronal: return "Coronal";
    case ViewAxis::Sagittal: return "Sagittal";
  }
  return "?";
}

namespace {
using V3 = std::array<double, 3>;

struct AxisSetup {
  int normal, h, v;  // display axes: slice normal, screen-horizontal, screen-vertical
  V3 dop;            // direction of projection (camera looks along it)
  V3 right, up;      // screen right / up in world
  const char* left_letter;
  const char* right_letter;
  const char* top_letter;
  const char* bottom_letter;
};

AxisSetup setup_for(ViewAxis a) {
  switch (a) {
    case ViewAxis::Axial:  // from the feet; anterior (-y) up; patient left (+x) on screen right
      return {2, 0, 1, {0, 0, 1}, {1, 0, 0}, {0, -1, 0}, "R", "L", "A", "P"};
    case ViewAxis::Coronal:  // from the front; superior up; patient left on screen right
      return {1, 0, 2, {0, 1, 0}, {1, 0, 0}, {0, 0, 1}, "R", "L", "S", "I"};
    case ViewAxis::Sagittal:  // from the patient's left; anterior on screen left
    default:
      return {0, 1, 2, {-1, 0, 0}, {0, 1, 0}, {0, 0, 1}, "A", "P", "S", "I"};
  }
}

vtkSmartPointer<vtkTextActor> make_text(const Rgb& c, int size, bool bold) {
  auto t = vtkSmartPointer<vtkTextActor>::New();
  auto* p = t->GetTextProperty();
  p->SetFontFamilyToArial();
  p->SetFontSize(size);
  p->SetBold(bold);
  p->SetShadow(true);
  p->SetShadowOffset(1, -1);
  p->SetColor(c.r / 255.0, c.g / 255.0, c.b / 255.0);
  t->GetPositionCoordinate()->SetCoordinateSystemToNormalizedViewport();
  t->SetPickable(false);
  return t;
}
}  // namespace

struct SliceScene::Impl {
  ViewAxis axis;
  AxisSetup s;
  vtkNew<vtkRenderer> renderer;
  vtkNew<vtkImageActor> image_actor;
  vtkNew<vtkImageActor> label_actor;
  vtkNew<vtkLookupTable> lut;
  vtkNew<vtkPolyData> cross_poly;
  vtkNew<vtkActor> cross_actor;
  vtkSmartPointer<vtkTextActor> letters[4];  // left, right, top, bottom
  vtkSmartPointer<vtkTextActor> title, slice_text, wl_text;
  vtkSmartPointer<vtkImageData> image, labels;
  std::array<int, 3> dims{0, 0, 0};
  V3 spacing{1, 1, 1};
  V3 cursor{0, 0, 0};
  WindowLevel wl;
  bool crosshair_on = true;
  bool labels_any_visible = true;
  int slice = 0;
  int vp_w = 1, vp_h = 1;

  explicit Impl(ViewAxis a) : axis(a), s(setup_for(a)) {}

  double extent_mm(int axis_index) const { return dims[axis_index] * spacing[axis_index]; }
  V3 center() const {
    V3 c{};
    for (int i = 0; i < 3; ++i) c[i] = (dims[i] - 1) * spacing[i] / 2.0;
    return c;
  }

  void update_slice() {
    if (!image) return;
    const int n = s.normal;
    slice = std::clamp(static_cast<int>(std::lround(cursor[n] / spacing[n])), 0, std::max(0, dims[n] - 1));
    int ext[6] = {0, dims[0] - 1, 0, dims[1] - 1, 0, dims[2] - 1};
    ext[2 * n] = ext[2 * n + 1] = slice;
    image_actor->SetDisplayExtent(ext);
    label_actor->SetDisplayExtent(ext);
    // The overlay sits a little toward the camera so that it is drawn over the image.
    V3 off{0, 0, 0};
    off[n] = toward() * 0.1 * spacing[n];
    label_actor->SetPosition(off.data());
    update_crosshair();
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s %d / %d", view_axis_name(axis), slice + 1, dims[n]);
    slice_text->SetInput(buf);
    renderer->ResetCameraClippingRange();
  }

  // Sign of the direction toward the camera along the slice normal (the camera looks along dop).
  double toward() const { return s.dop[s.normal] > 0 ? -1.0 : 1.0; }

  void update_crosshair() {
    const int n = s.normal, h = s.h, v = s.v;
    const double pn = slice * spacing[n] + toward() * 0.3 * spacing[n];
    const double h0 = -0.5 * spacing[h], h1 = (dims[h] - 0.5) * spacing[h];
    const double v0 = -0.5 * spacing[v], v1 = (dims[v] - 0.5) * spacing[v];
    const double ch = cursor[h], cv = cursor[v];
    const double gap = 4.0 * std::max(spacing[h], spacing[v]);
    vtkNew<vtkPoints> pts;
    vtkNew<vtkCellArray> lines;
    auto add = [&](double a0, double b0, double a1, double b1) {
      V3 p0{}, p1{};
      p0[n] = p1[n] = pn;
      p0[h] = a0; p0[v] = b0;
      p1[h] = a1; p1[v] = b1;
      const vtkIdType i0 = pts->InsertNextPoint(p0.data());
      const vtkIdType i1 = pts->InsertNextPoint(p1.data());
      const vtkIdType ids[2] = {i0, i1};
      lines->InsertNextCell(2, ids);
    };
    if (ch - gap > h0) add(h0, cv, ch - gap, cv);
    if (ch + gap < h1) add(ch + gap, cv, h1, cv);
    if (cv - gap > v0) add(ch, v0, ch, cv - gap);
    if (cv + gap < v1) add(ch, cv + gap, ch, v1);
    cross_poly->SetPoints(pts);
    cross_poly->SetLines(lines);
    cross_poly->Modified();
    cross_actor->SetVisibility(crosshair_on && image != nullptr);
  }

  void update_wl_text() {
    char buf[96];
    std::snprintf(buf, sizeof buf, "W %.4g  L %.4g", wl.window, wl.level);
    wl_text->SetInput(buf);
  }

  void update_label_visibility() {
    label_actor->SetVisibility(labels != nullptr && image != nullptr && labels_any_visible);
  }

  double world_per_pixel() const {
    return 2.0 * renderer->GetActiveCamera()->GetParallelScale() / std::max(1, vp_h);
  }
  void refresh_viewport_size() {
    const int* sz = renderer->GetSize();
    if (sz && sz[0] > 0 && sz[1] > 0) {
      vp_w = sz[0];
      vp_h = sz[1];
    }
  }
};

SliceScene::SliceScene(ViewAxis axis) : d_(std::make_unique<Impl>(axis)) {
  auto& d = *d_;
  d.renderer->SetBackground(0, 0, 0);
  d.renderer->GetActiveCamera()->ParallelProjectionOn();
  d.image_actor->GetProperty()->SetInterpolationTypeToLinear();
  d.image_actor->SetPickable(false);
  d.image_actor->SetVisibility(false);

  d.lut->SetNumberOfTableValues(5);
  d.lut->SetTableRange(0, 4);
  d.lut->Build();
  auto* lp = d.label_actor->GetProperty();
  lp->SetLookupTable(d.lut);
  lp->UseLookupTableScalarRangeOn();
  lp->SetInterpolationTypeToNearest();
  lp->SetOpacity(0.5);
  d.label_actor->SetPickable(false);
  d.label_actor->SetVisibility(false);

  vtkNew<vtkPolyDataMapper> cm;
  cm->SetInputData(d.cross_poly);
  d.cross_actor->SetMapper(cm);
  d.cross_actor->GetProperty()->SetLineWidth(1.0);
  d.cross_actor->GetProperty()->SetOpacity(0.75);
  d.cross_actor->GetProperty()->LightingOff();
  d.cross_actor->SetPickable(false);
  d.cross_actor->SetVisibility(false);

  const Palette& pal = Palette::builtin();
  const Rgb& cc = pal.crosshair;
  d.cross_actor->GetProperty()->SetColor(cc.r / 255.0, cc.g / 255.0, cc.b / 255.0);

  const char* letters[4] = {d.s.left_letter, d.s.right_letter, d.s.top_letter, d.s.bottom_letter};
  const double pos[4][2] = {{0.012, 0.5}, {0.988, 0.5}, {0.5, 0.985}, {0.5, 0.015}};
  for (int i = 0; i < 4; ++i) {
    auto t = make_text(pal.orientation_text, 16, true);
    t->SetInput(letters[i]);
    auto* p = t->GetTextProperty();
    p->SetJustification(i == 0 ? VTK_TEXT_LEFT : i == 1 ? VTK_TEXT_RIGHT : VTK_TEXT_CENTERED);
    p->SetVerticalJustification(i == 2 ? VTK_TEXT_TOP : i == 3 ? VTK_TEXT_BOTTOM : VTK_TEXT_CENTERED);
    t->GetPositionCoordinate()->SetValue(pos[i][0], pos[i][1]);
    t->SetVisibility(false);
    d.letters[i] = t;
    d.renderer->AddActor2D(t);
  }
  d.title = make_text(pal.info_text, 13, false);
  d.title->GetTextProperty()->SetVerticalJustificationToTop();
  d.title->GetPositionCoordinate()->SetValue(0.012, 0.985);
  d.slice_text = make_text(pal.info_text, 13, false);
  d.slice_text->GetPositionCoordinate()->SetValue(0.012, 0.015);
  d.wl_text = make_text(pal.info_text, 13, false);
  d.wl_text->GetTextProperty()->SetJustificationToRight();
  d.wl_text->GetPositionCoordinate()->SetValue(0.988, 0.015);
  for (auto* t : {d.title.Get(), d.slice_text.Get(), d.wl_text.Get()}) {
    t->SetVisibility(false);
    d.renderer->AddActor2D(t);
  }

  d.renderer->AddViewProp(d.image_actor);
  d.renderer->AddViewProp(d.label_actor);
  d.renderer->AddActor(d.cross_actor);
  set_overlay_style(pal, OverlayStyle{});
}

SliceScene::~SliceScene() = default;

ViewAxis SliceScene::axis() const { return d_->axis; }
vtkRenderer* SliceScene::renderer() const { return d_->renderer; }
bool SliceScene::has_image() const { return d_->image != nullptr; }

void SliceScene::set_image(vtkImageData* image) {
  auto& d = *d_;
  const bool had = d.image != nullptr;
  std::array<int, 3> old_dims = d.dims;
  V3 old_spacing = d.spacing;
  d.image = image;
  const bool on = image != nullptr;
  d.image_actor->SetVisibility(on);
  d.cross_actor->SetVisibility(on && d.crosshair_on);
  for (auto& t : d.letters) t->SetVisibility(on);
  d.title->SetVisibility(on);
  d.slice_text->SetVisibility(on);
  d.wl_text->SetVisibility(on);
  if (!on) {
    d.labels = nullptr;
    d.update_label_visibility();
    d.image_actor->SetInputData(nullptr);
    return;
  }
  image->GetDimensions(d.dims.data());
  image->GetSpacing(d.spacing.data());
  d.image_actor->SetInputData(image);
  if (!had || old_dims != d.dims || old_spacing != d.spacing) d.cursor = d.center();
  d.update_label_visibility();
  d.update_slice();
  d.update_wl_text();
}

void SliceScene::set_labels(vtkImageData* labels) {
  auto& d = *d_;
  d.labels = labels;
  d.label_actor->SetInputData(labels);
  d.update_label_visibility();
  if (labels) d.update_slice();
}

void SliceScene::set_overlay_style(const Palette& palette, const OverlayStyle& style) {
  auto& d = *d_;
  const auto rgba = label_rgba(palette, style);
  d.labels_any_visible = false;
  for (int v = 0; v < 5; ++v) {
    d.lut->SetTableValue(v, rgba[v][0] / 255.0, rgba[v][1] / 255.0, rgba[v][2] / 255.0, rgba[v][3] / 255.0);
    if (v > 0 && rgba[v][3] > 0) d.labels_any_visible = true;
  }
  d.lut->Modified();
  d.label_actor->GetProperty()->SetOpacity(std::clamp(style.opacity, 0.0, 1.0));
  if (style.opacity <= 0.0) d.labels_any_visible = false;
  d.update_label_visibility();
}

void SliceScene::set_window_level(const WindowLevel& wl) {
  auto& d = *d_;
  d.wl = wl;
  d.image_actor->GetProperty()->SetColorWindow(wl.window);
  d.image_actor->GetProperty()->SetColorLevel(wl.level);
  d.update_wl_text();
}

void SliceScene::set_interpolate(bool linear) {
  if (linear) d_->image_actor->GetProperty()->SetInterpolationTypeToLinear();
  else d_->image_actor->GetProperty()->SetInterpolationTypeToNearest();
}

void SliceScene::set_cursor(const std::array<double, 3>& world) {
  auto& d = *d_;
  for (int i = 0; i < 3; ++i) {
    const double hi = std::max(0, d.dims[i] - 1) * d.spacing[i];
    d.cursor[i] = std::clamp(world[i], 0.0, hi);
  }
  d.update_slice();
}

std::array<double, 3> SliceScene::cursor() const { return d_->cursor; }

void SliceScene::set_crosshair_visible(bool on) {
  d_->crosshair_on = on;
  d_->cross_actor->SetVisibility(on && d_->image != nullptr);
}

void SliceScene::set_title(const std::string& text) { d_->title->SetInput(text.c_str()); }

int SliceScene::slice_index() const { return d_->slice; }
int SliceScene::slice_count() const { return d_->dims[d_->s.normal]; }
double SliceScene::slice_spacing() const { return d_->spacing[d_->s.normal]; }

void SliceScene::reset_camera(int width_px, int height_px) {
  auto& d = *d_;
  d.vp_w = std::max(1, width_px);
  d.vp_h = std::max(1, height_px);
  auto* cam = d.renderer->GetActiveCamera();
  const V3 c = d.center();
  const double dist = 1000.0 + 2.0 * std::max({d.extent_mm(0), d.extent_mm(1), d.extent_mm(2)});
  cam->SetFocalPoint(c[0], c[1], c[2]);
  cam->SetPosition(c[0] - d.s.dop[0] * dist, c[1] - d.s.dop[1] * dist, c[2] - d.s.dop[2] * dist);
  cam->SetViewUp(d.s.up[0], d.s.up[1], d.s.up[2]);
  const double w = std::max(1e-6, d.extent_mm(d.s.h)), h = std::max(1e-6, d.extent_mm(d.s.v));
  const double aspect = static_cast<double>(d.vp_w) / d.vp_h;
  cam->SetParallelScale(std::max(h / 2.0, w / 2.0 / aspect) * 1.04);
  d.renderer->ResetCameraClippingRange();
}

void SliceScene::zoom(double factor) {
  if (factor <= 0) return;
  auto* cam = d_->renderer->GetActiveCamera();
  cam->SetParallelScale(cam->GetParallelScale() / factor);
  d_->renderer->ResetCameraClippingRange();
}

void SliceScene::pan(double dx_px, double dy_px, int width_px, int height_px) {
  auto& d = *d_;
  d.vp_w = std::max(1, width_px);
  d.vp_h = std::max(1, height_px);
  auto* cam = d.renderer->GetActiveCamera();
  const double wpp = d.world_per_pixel();
  double f[3], p[3];
  cam->GetFocalPoint(f);
  cam->GetPosition(p);
  for (int i = 0; i < 3; ++i) {
    const double delta = -(dx_px * d.s.right[i] + dy_px * d.s.up[i]) * wpp;
    f[i] += delta;
    p[i] += delta;
  }
  cam->SetFocalPoint(f);
  cam->SetPosition(p);
  d.renderer->ResetCameraClippingRange();
}

std::optional<std::array<double, 3>> SliceScene::world_at(double x_px, double y_px) const {
  auto& d = *d_;
  if (!d.image) return std::nullopt;
  d.refresh_viewport_size();
  auto* cam = d.renderer->GetActiveCamera();
  double f[3];
  cam->GetFocalPoint(f);
  const double wpp = d.world_per_pixel();
  const double dx = (x_px - d.vp_w / 2.0) * wpp, dy = (y_px - d.vp_h / 2.0) * wpp;
  std::array<double, 3> w{};
  for (int i = 0; i < 3; ++i) w[i] = f[i] + dx * d.s.right[i] + dy * d.s.up[i];
  w[d.s.normal] = d.slice * d.spacing[d.s.normal];
  return w;
}

std::array<double, 2> SliceScene::display_of(const std::array<double, 3>& world) const {
  auto& d = *d_;
  d.refresh_viewport_size();
  auto* cam = d.renderer->GetActiveCamera();
  double f[3];
  cam->GetFocalPoint(f);
  const double wpp = d.world_per_pixel();
  double dx = 0, dy = 0;
  for (int i = 0; i < 3; ++i) {
    dx += (world[i] - f[i]) * d.s.right[i];
    dy += (world[i] - f[i]) * d.s.up[i];
  }
  return {d.vp_w / 2.0 + dx / wpp, d.vp_h / 2.0 + dy / wpp};
}

}  // namespace gmd::viz
