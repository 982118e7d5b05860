#pragma once
// Smooth random fields for the generator: i.i.d. N(0,1) coefficients on a regular grid (cell size
// in mm) over an axis-aligned box, interpolated with the cubic B-spline (C2-smooth), scaled to about
// unit standard deviation. Point evaluation, and fast separable rendering on axis-aligned grids.
#include <array>
#include <cstddef>
#include <vector>

#include "gmd/synth/rng.hpp"

namespace gmd::synth {

class NoiseField {
 public:
  NoiseField() = default;
  // Draws the coefficients from `rng` (the number drawn depends only on the box and the cell size).
  NoiseField(Rng& rng, const std::array<double, 3>& lo_mm, const std::array<double, 3>& hi_mm, double cell_mm);
  double at(double x, double y, double z) const;
  bool empty() const { return coef_.empty(); }

  // Renders the field on the grid xs x ys x zs (physical coordinates per axis, each sorted or not):
  // prepare() does the x and y passes once, slice() the z pass for one z index (thread-safe).
  class Slicer {
   public:
    void slice(std::size_t iz, float* out, float scale = 1.0f) const;  // out: xs.size() * ys.size()
   private:
    friend class NoiseField;
    std::size_t nx_ = 0, ny_ = 0;
    std::vector<float> xy_;               // [gz][iy][ix]
    std::vector<int> z0_;                 // first coefficient per iz
    std::vector<std::array<float, 4>> wz_;
  };
  Slicer prepare(const std::vector<double>& xs, const std::vector<double>& ys, const std::vector<double>& zs) const;

 private:
  // Coefficient index and weights for coordinate v along axis a.
  void taps(int a, double v, int& j0, std::array<double, 4>& w) const;
  std::array<double, 3> lo_{};
  double cell_ = 1.0;
  std::array<int, 3> n_{0, 0, 0};
  std::vector<float> coef_;  // [gz][gy][gx], pre-scaled to unit std
};

}  // namespace gmd::synth
