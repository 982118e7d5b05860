#pragma once
// A VTK scene for one 2D slice view (no Qt): grey-level image, label overlay, crosshair,
// orientation letters and info text, drawn with radiological conventions in the display frame
// (x = patient Left, y = Posterior, z = Superior; world position = display index * spacing).
//   Axial:    looked at from the feet, anterior up, patient left on screen right.
//   Coronal:  looked at from the front, superior up, patient left on screen right.
//   Sagittal: looked at from the patient's left, superior up, anterior on screen left.
#include <array>
#include <memory>
#include <optional>
#include <string>

#include "gmd/viz/display.hpp"
#include "gmd/viz/palette.hpp"

class vtkRenderer;
class vtkImageData;

namespace gmd::viz {

enum class ViewAxis { Sagittal = 0, Coronal = 1, Axial = 2 };  // value = display axis normal to the slice
const char* view_axis_name(ViewAxis a);  // "Axial", ...

class SliceScene {
 public:
  explicit SliceScene(ViewAxis axis);
  ~SliceScene();
  SliceScene(const SliceScene&) = delete;
  SliceScene& operator=(const SliceScene&) = delete;

  ViewAxis axis() const;
  vtkRenderer* renderer() const;

  // Float image in the display frame (origin 0); nullptr clears everything.
  void set_image(vtkImageData* image);
  // uint8 BraTS label map in the display frame (same dimensions as the image); nullptr hides it.
  void set_labels(vtkImageData* labels);
  void set_overlay_style(const Palette& palette, const OverlayStyle& style);
  void set_window_level(const WindowLevel& wl);
  void set_interpolate(bool linear);
  // Cursor in display-frame world coordinates (mm): selects the slice and places the crosshair.
  void set_cursor(const std::array<double, 3>& world);
  std::array<double, 3> cursor() const;
  void set_crosshair_visible(bool on);
  // Free text shown at the top-left corner (e.g. the modality name).
  void set_title(const std::string& text);

  int slice_index() const;  // along the view normal
  int slice_count() const;
  double slice_spacing() const;  // voxel spacing along the view normal (mm)

  // Fits the slice into a viewport of the given size (pixels), keeping the aspect ratio of the
  // voxel spacing.
  void reset_camera(int width_px, int height_px);
  void zoom(double factor);
  // Moves the image by (dx, dy) pixels (VTK display coordinates, y up).
  void pan(double dx_px, double dy_px, int width_px, int height_px);
  // World point on the current slice under a display pixel (VTK display coordinates, y up);
  // nullopt when there is no image.
  std::optional<std::array<double, 3>> world_at(double x_px, double y_px) const;
  // Display pixel (VTK coordinates, y up) of a world point (for tests and picking).
  std::array<double, 2> display_of(const std::array<double, 3>& world) const;

  bool has_image() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> d_;
};

}  // namespace gmd::viz
