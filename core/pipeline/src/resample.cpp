#include "resample.hpp"

#include "gmd/common/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace gmd::pipeline::detail {

bool needs_resampling(const Geometry& g, const std::array<double, 3>& spacing) {
  for (int i = 0; i < 3; ++i)
    if (std::abs(g.spacing[i] - spacing[i]) > 0.05 * spacing[i]) return true;
  return false;
}

Geometry resampled_geometry(const Geometry& g, const std::array<double, 3>& spacing) {
  Geometry t = g;
  for (int i = 0; i < 3; ++i) {
    const double extent = g.size[i] * g.spacing[i];
    t.size[i] = static_cast<std::size_t>(std::max(1.0, std::round(extent / spacing[i])));
    t.spacing[i] = spacing[i];
  }
  // Bounded before anything is allocated: a header spacing of 0.01 mm (or a card's 1e-3 mm) would ask for terabytes.
  const double n = double(t.size[0]) * double(t.size[1]) * double(t.size[2]);
  if (n > 512.0 * 512.0 * 512.0)
    throw InputError(fmt::format("resampling the {}x{}x{} image at {:g}x{:g}x{:g} mm to the model's {:g}x{:g}x{:g} mm "
                                 "would need {}x{}x{} voxels (too large: check the image's voxel spacing)",
                                 g.size[0], g.size[1], g.size[2], g.spacing[0], g.spacing[1], g.spacing[2], spacing[0],
                                 spacing[1], spacing[2], t.size[0], t.size[1], t.size[2]));
  for (int i = 0; i < 3; ++i)
    if (t.size[i] < 2 && g.size[i] >= 4)
      throw InputError(fmt::format("resampling the {}x{}x{} image at {:g}x{:g}x{:g} mm to the model's {:g} mm spacing "
                                   "leaves {} voxel along axis {} (the image spans {:g} mm: check its voxel spacing)",
                                   g.size[0], g.size[1], g.size[2], g.spacing[0], g.spacing[1], g.spacing[2],
                                   spacing[i], t.size[i], i, g.size[i] * g.spacing[i]));
  // Keep the outer corner of the first voxel fixed: centre moves by half the spacing change along each axis.
  for (int r = 0; r < 3; ++r) {
    double shift = 0;
    for (int c = 0; c < 3; ++c) shift += g.direction[3 * r + c] * 0.5 * (spacing[c] - g.spacing[c]);
    t.origin[r] = g.origin[r] + shift;
  }
  return t;
}

io::Case resample_case(const io::Case& c, const Geometry& target) {
  io::Case r;
  r.id = c.id;
  r.files = c.files;
  r.geom = target;
  for (int m = 0; m < kNumModalities; ++m)
    if (c.images[m]) r.images[m] = resample_linear(*c.images[m], target);
  if (c.seg) r.seg = io::resample_nearest(*c.seg, target);
  return r;
}

}  // namespace gmd::pipeline::detail
