#include "gmd/viz/surface_scene.hpp"

#include <vtkActor.h>
#include <vtkCamera.h>
#include <vtkDiscreteFlyingEdges3D.h>
#include <vtkFlyingEdges3D.h>
#include <vtkFloatArray.h>
#include <vtkImageData.h>
#include <vtkLight.h>
#include <vtkNew.h>
#include <vtkPointData.h>
#include <vtkPolyData.h>
#include <vtkPolyDataMapper.h>
#include <vtkPolyDataNormals.h>
#include <vtkProperty.h>
#include <vtkQuadricDecimation.h>
#include <vtkRenderer.h>
#include <vtkSmartPointer.h>
#include <vtkUnsignedCharArray.h>
#include <vtkWindowedSincPolyDataFilter.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace gmd::viz {
namespace {

vtkSmartPointer<vtkPolyData> smooth_and_normals(vtkPolyData* in, int iterations, double pass_band,
                                                double decimate_to) {
  vtkSmartPointer<vtkPolyData> cur = in;
  if (decimate_to > 0 && cur->GetNumberOfPolys() > decimate_to) {
    vtkNew<vtkQuadricDecimation> dec;
    dec->SetInputData(cur);
    dec->SetTargetReduction(1.0 - decimate_to / static_cast<double>(cur->GetNumberOfPolys()));
    dec->Update();
    cur = dec->GetOutput();
  }
  vtkNew<vtkWindowedSincPolyDataFilter> smooth;
  smooth->SetInputData(cur);
  smooth->SetNumberOfIterations(iterations);
  smooth->SetPassBand(pass_band);
  smooth->BoundarySmoothingOff();
  smooth->FeatureEdgeSmoothingOff();
  smooth->NonManifoldSmoothingOn();
  smooth->NormalizeCoordinatesOn();
  smooth->Update();
  vtkNew<vtkPolyDataNormals> normals;
  normals->SetInputConnection(smooth->GetOutputPort());
  normals->SetFeatureAngle(120.0);
  normals->SplittingOff();
  normals->ConsistencyOn();
  normals->Update();
  vtkSmartPointer<vtkPolyData> out = normals->GetOutput();
  return out;
}

// Binary mask of one region, cropped to its bounding box plus a zero border, as vtkImageData
// (origin/spacing so that it lies where it does in the full image). nullptr if the region is empty.
vtkSmartPointer<vtkImageData> region_mask(vtkImageData* labels, int region) {
  int dims[3];
  labels->GetDimensions(dims);
  double spacing[3], origin[3];
  labels->GetSpacing(spacing);
  labels->GetOrigin(origin);
  const auto* lab = static_cast<const std::uint8_t*>(labels->GetScalarPointer());
  auto in_region = [region](std::uint8_t v) {
    switch (region) {
      case 0: return v == 1 || v == 2 || v == 3 || v == 4;
      case 1: return v == 1 || v == 3 || v == 4;
      default: return v == 3 || v == 4;
    }
  };
  int lo[3] = {dims[0], dims[1], dims[2]}, hi[3] = {-1, -1, -1};
  size_t i = 0;
  for (int z = 0; z < dims[2]; ++z)
    for (int y = 0; y < dims[1]; ++y)
      for (int x = 0; x < dims[0]; ++x, ++i)
        if (in_region(lab[i])) {
          lo[0] = std::min(lo[0], x); hi[0] = std::max(hi[0], x);
          lo[1] = std::min(lo[1], y); hi[1] = std::max(hi[1], y);
          lo[2] = std::min(lo[2], z); hi[2] = std::max(hi[2], z);
        }
  if (hi[0] < 0) return nullptr;
  // one zero voxel of border on each side (may lie outside the source image)
  int mdims[3];
  for (int a = 0; a < 3; ++a) mdims[a] = hi[a] - lo[a] + 3;
  auto mask = vtkSmartPointer<vtkImageData>::New();
  mask->SetDimensions(mdims);
  mask->SetSpacing(spacing);
  mask->SetOrigin(origin[0] + (lo[0] - 1) * spacing[0], origin[1] + (lo[1] - 1) * spacing[1],
                  origin[2] + (lo[2] - 1) * spacing[2]);
  mask->AllocateScalars(VTK_UNSIGNED_CHAR, 1);
  auto* m = static_cast<std::uint8_t*>(mask->GetScalarPointer());
  std::fill(m, m + static_cast<size_t>(mdims[0]) * mdims[1] * mdims[2], std::uint8_t{0});
  for (int z = lo[2]; z <= hi[2]; ++z)
    for (int y = lo[1]; y <= hi[1]; ++y) {
      const size_t src = (static_cast<size_t>(z) * dims[1] + y) * dims[0];
      const size_t dst = (static_cast<size_t>(z - lo[2] + 1) * mdims[1] + (y - lo[1] + 1)) * mdims[0] + 1;
      for (int x = lo[0]; x <= hi[0]; ++x) m[dst + (x - lo[0])] = in_region(lab[src + x]) ? 1 : 0;
    }
  return mask;
}

}  // namespace

struct SurfaceScene::Impl {
  vtkNew<vtkRenderer> renderer;
  std::array<vtkSmartPointer<vtkActor>, 3> region_actor;
  std::array<long long, 3> region_polys{0, 0, 0};
  vtkNew<vtkActor> brain_actor;
  long long brain_polys = 0;
  bool brain_on = true;
  bool has_brain = false;
  OverlayStyle style;
  Palette palette = Palette::builtin();
  std::array<double, 6> bounds{0, 1, 0, 1, 0, 1};
  bool has_bounds = false;

  void apply_style() {
    static constexpr std::array<double, 3> kOpacity{0.35, 0.7, 1.0};  // WT, TC, ET
    for (int r = 0; r < 3; ++r) {
      auto& a = region_actor[r];
      if (!a) continue;
      const Rgb c = surface_color(palette, style, r);
      a->GetProperty()->SetColor(c.r / 255.0, c.g / 255.0, c.b / 255.0);
      a->GetProperty()->SetOpacity(kOpacity[r]);
      a->SetVisibility(surface_visible(style, r) && region_polys[r] > 0);
    }
    brain_actor->SetVisibility(brain_on && has_brain);
  }
};

SurfaceScene::SurfaceScene() : d_(std::make_unique<Impl>()) {
  auto& d = *d_;
  d.renderer->SetBackground(0.02, 0.02, 0.03);
  d.renderer->SetBackground2(0.13, 0.14, 0.17);
  d.renderer->GradientBackgroundOn();
  d.renderer->SetUseDepthPeeling(true);
  d.renderer->SetMaximumNumberOfPeels(6);
  d.renderer->SetOcclusionRatio(0.05);
  for (int r = 0; r < 3; ++r) {
    d.region_actor[r] = vtkSmartPointer<vtkActor>::New();
    d.region_actor[r]->SetVisibility(false);
    auto* p = d.region_actor[r]->GetProperty();
    p->SetSpecular(0.25);
    p->SetSpecularPower(20);
    p->SetDiffuse(0.8);
    p->SetAmbient(0.15);
    d.renderer->AddActor(d.region_actor[r]);
  }
  const Rgb& b = d.palette.brain_surface;
  auto* bp = d.brain_actor->GetProperty();
  bp->SetColor(b.r / 255.0, b.g / 255.0, b.b / 255.0);
  bp->SetOpacity(0.12);
  bp->SetSpecular(0.1);
  bp->SetDiffuse(0.7);
  bp->SetAmbient(0.2);
  bp->BackfaceCullingOn();
  d.brain_actor->SetVisibility(false);
  d.renderer->AddActor(d.brain_actor);
}

SurfaceScene::~SurfaceScene() = default;

vtkRenderer* SurfaceScene::renderer() const { return d_->renderer; }

void SurfaceScene::set_brain(vtkImageData* image, double threshold, int target_polygons) {
  auto& d = *d_;
  d.has_brain = false;
  d.brain_polys = 0;
  if (!image || image->GetScalarType() != VTK_FLOAT) {
    d.brain_actor->SetMapper(nullptr);
    d.apply_style();
    return;
  }
  int dims[3];
  double spacing[3];
  image->GetDimensions(dims);
  image->GetSpacing(spacing);
  // Half resolution binary mask (mean of 2x2x2 blocks), with a zero border.
  int hd[3];
  for (int a = 0; a < 3; ++a) hd[a] = (dims[a] + 1) / 2 + 2;
  auto half = vtkSmartPointer<vtkImageData>::New();
  half->SetDimensions(hd);
  half->SetSpacing(spacing[0] * 2, spacing[1] * 2, spacing[2] * 2);
  half->SetOrigin(-1.5 * spacing[0], -1.5 * spacing[1], -1.5 * spacing[2]);
  half->AllocateScalars(VTK_FLOAT, 1);
  auto* h = static_cast<float*>(half->GetScalarPointer());
  std::fill(h, h + static_cast<size_t>(hd[0]) * hd[1] * hd[2], 0.0f);
  const auto* src = static_cast<const float*>(image->GetScalarPointer());
  size_t i = 0;
  for (int z = 0; z < dims[2]; ++z)
    for (int y = 0; y < dims[1]; ++y) {
      const size_t row = (static_cast<size_t>(z / 2 + 1) * hd[1] + (y / 2 + 1)) * hd[0] + 1;
      for (int x = 0; x < dims[0]; ++x, ++i)
        if (src[i] > threshold) h[row + x / 2] += 0.125f;
    }
  vtkNew<vtkFlyingEdges3D> fe;
  fe->SetInputData(half);
  fe->SetValue(0, 0.5);
  fe->ComputeNormalsOff();
  fe->ComputeGradientsOff();
  fe->ComputeScalarsOff();
  fe->Update();
  if (fe->GetOutput()->GetNumberOfPolys() == 0) {
    d.apply_style();
    return;
  }
  auto poly = smooth_and_normals(fe->GetOutput(), 12, 0.08, target_polygons);
  vtkNew<vtkPolyDataMapper> mapper;
  mapper->SetInputData(poly);
  mapper->ScalarVisibilityOff();
  d.brain_actor->SetMapper(mapper);
  d.brain_polys = poly->GetNumberOfPolys();
  d.has_brain = true;
  double b[6];
  poly->GetBounds(b);
  std::copy(b, b + 6, d.bounds.begin());
  d.has_bounds = true;
  d.apply_style();
}

void SurfaceScene::set_labels(vtkImageData* labels) {
  auto& d = *d_;
  for (int r = 0; r < 3; ++r) {
    d.region_polys[r] = 0;
    d.region_actor[r]->SetMapper(nullptr);
  }
  if (labels && labels->GetScalarType() == VTK_UNSIGNED_CHAR) {
    for (int r = 0; r < 3; ++r) {
      auto mask = region_mask(labels, r);
      if (!mask) continue;
      vtkNew<vtkDiscreteFlyingEdges3D> fe;
      fe->SetInputData(mask);
      fe->SetValue(0, 1);
      fe->ComputeNormalsOff();
      fe->ComputeGradientsOff();
      fe->ComputeScalarsOff();
      fe->Update();
      if (fe->GetOutput()->GetNumberOfPolys() == 0) continue;
      auto poly = smooth_and_normals(fe->GetOutput(), 20, 0.05, 120000);
      vtkNew<vtkPolyDataMapper> mapper;
      mapper->SetInputData(poly);
      mapper->ScalarVisibilityOff();
      d.region_actor[r]->SetMapper(mapper);
      d.region_polys[r] = poly->GetNumberOfPolys();
      if (!d.has_bounds) {
        // no brain outline: frame the whole label volume
        double b[6];
        labels->GetBounds(b);
        std::copy(b, b + 6, d.bounds.begin());
        d.has_bounds = true;
      }
    }
  }
  d.apply_style();
}

void SurfaceScene::set_overlay_style(const Palette& palette, const OverlayStyle& style) {
  d_->palette = palette;
  d_->style = style;
  d_->apply_style();
}

void SurfaceScene::set_brain_visible(bool on) {
  d_->brain_on = on;
  d_->apply_style();
}
bool SurfaceScene::brain_visible() const { return d_->brain_on; }

void SurfaceScene::reset_camera() {
  auto& d = *d_;
  auto* cam = d.renderer->GetActiveCamera();
  const auto& b = d.bounds;
  const double c[3] = {(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, (b[4] + b[5]) / 2};
  cam->SetFocalPoint(c);
  cam->SetPosition(c[0], c[1] - 500.0, c[2]);  // anterior (-y), looking posterior
  cam->SetViewUp(0, 0, 1);
  cam->Azimuth(-30.0);  // toward the patient's right
  cam->Elevation(20.0);
  cam->OrthogonalizeViewUp();
  d.renderer->ResetCamera(d.bounds.data());
  cam->Zoom(1.25);
  d.renderer->ResetCameraClippingRange();
}

std::array<long long, 3> SurfaceScene::region_polygons() const { return d_->region_polys; }
long long SurfaceScene::brain_polygons() const { return d_->brain_polys; }
bool SurfaceScene::empty() const {
  return !d_->has_brain && d_->region_polys[0] == 0 && d_->region_polys[1] == 0 && d_->region_polys[2] == 0;
}

}  // namespace gmd::viz
