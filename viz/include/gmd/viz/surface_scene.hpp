#pragma once
// A VTK scene for the 3D view (no Qt): the tumour regions WT, TC, ET as smoothed nested surfaces
// (vtkDiscreteFlyingEdges3D + vtkWindowedSincPolyDataFilter), plus an optional decimated,
// translucent brain outline. Geometry is in the display frame (see display.hpp).
#include <array>
#include <memory>

#include "gmd/viz/palette.hpp"

class vtkRenderer;
class vtkImageData;

namespace gmd::viz {

class SurfaceScene {
 public:
  SurfaceScene();
  ~SurfaceScene();
  SurfaceScene(const SurfaceScene&) = delete;
  SurfaceScene& operator=(const SurfaceScene&) = delete;

  vtkRenderer* renderer() const;

  // Brain outline: isosurface of `image` at `threshold`, computed at half resolution, smoothed
  // and decimated to about `target_polygons`. nullptr clears.
  void set_brain(vtkImageData* image, double threshold, int target_polygons = 40000);
  // Tumour surfaces from a uint8 BraTS label map in the display frame. nullptr clears.
  void set_labels(vtkImageData* labels);
  void set_overlay_style(const Palette& palette, const OverlayStyle& style);
  void set_brain_visible(bool on);
  bool brain_visible() const;
  // Front view (patient left on screen right), slightly from above and from the right.
  void reset_camera();

  // Number of polygons of each region surface (WT, TC, ET) and of the brain outline.
  std::array<long long, 3> region_polygons() const;
  long long brain_polygons() const;
  bool empty() const;  // nothing to show

 private:
  struct Impl;
  std::unique_ptr<Impl> d_;
};

}  // namespace gmd::viz
