#pragma once
// Resampling to a model's training spacing and back (ITK; private to core/pipeline).
#include <array>

#include "gmd/io/case.hpp"
#include "gmd/io/resample.hpp"
#include "gmd/common/image.hpp"

namespace gmd::pipeline::detail {

// true when any axis of `g` differs from `spacing` by more than 5 %.
bool needs_resampling(const Geometry& g, const std::array<double, 3>& spacing);
// Geometry covering the same physical extent as `g` with the given spacing (same origin corner, direction).
Geometry resampled_geometry(const Geometry& g, const std::array<double, 3>& spacing);
using io::resample_linear;
// Every image (and the seg, nearest neighbour) of the case onto `target`.
io::Case resample_case(const io::Case& c, const Geometry& target);

}  // namespace gmd::pipeline::detail
