#include "gmd/synth/noise.hpp"

#include <algorithm>
#include <cmath>

namespace gmd::synth {
namespace {

// Cubic B-spline weights for the 4 coefficients around a point at fraction f in [0, 1).
inline void bspline_weights(double f, std::array<double, 4>& w) {
  const double g = 1.0 - f;
  w[0] = g * g * g / 6.0;
  w[1] = (3.0 * f * f * f - 6.0 * f * f + 4.0) / 6.0;
  w[2] = (-3.0 * f * f * f + 3.0 * f * f + 3.0 * f + 1.0) / 6.0;
  w[3] = f * f * f / 6.0;
}

// Mean variance of B-spline-interpolated unit white noise in 3D: (integral of B3^2)^3 = (151/315)^3.
const double kUnitScale = 1.0 / std::pow(151.0 / 315.0, 1.5);

}  // namespace

NoiseField::NoiseField(Rng& rng, const std::array<double, 3>& lo_mm, const std::array<double, 3>& hi_mm,
                       double cell_mm)
    : lo_(lo_mm), cell_(cell_mm) {
  std::size_t total = 1;
  for (int a = 0; a < 3; ++a) {
    n_[a] = static_cast<int>(std::ceil(std::max(0.0, hi_mm[a] - lo_mm[a]) / cell_mm)) + 4;
    total *= static_cast<std::size_t>(n_[a]);
  }
  coef_.resize(total);
  for (auto& c : coef_) c = static_cast<float>(rng.normal() * kUnitScale);
}

void NoiseField::taps(int a, double v, int& j0, std::array<double, 4>& w) const {
  // Coefficient g sits at lo + (g - 1) * cell.
  const double t = (v - lo_[a]) / cell_ + 1.0;
  double j = std::floor(t);
  double f = t - j;
  if (j < 1) {
    j = 1;
    f = 0;
  } else if (j > n_[a] - 3) {
    j = n_[a] - 3;
    f = 0;
  }
  j0 = static_cast<int>(j) - 1;
  bspline_weights(f, w);
}

double NoiseField::at(double x, double y, double z) const {
  int jx, jy, jz;
  std::array<double, 4> wx, wy, wz;
  taps(0, x, jx, wx);
  taps(1, y, jy, wy);
  taps(2, z, jz, wz);
  double s = 0;
  for (int c = 0; c < 4; ++c) {
    double sy = 0;
    for (int b = 0; b < 4; ++b) {
      const float* row = &coef_[(static_cast<std::size_t>(jz + c) * n_[1] + (jy + b)) * n_[0] + jx];
      sy += wy[b] * (wx[0] * row[0] + wx[1] * row[1] + wx[2] * row[2] + wx[3] * row[3]);
    }
    s += wz[c] * sy;
  }
  return s;
}

NoiseField::Slicer NoiseField::prepare(const std::vector<double>& xs, const std::vector<double>& ys,
                                       const std::vector<double>& zs) const {
  Slicer s;
  s.nx_ = xs.size();
  s.ny_ = ys.size();
  const std::size_t nx = xs.size(), ny = ys.size();
  // x pass: [gz][gy][ix]
  std::vector<float> tx(static_cast<std::size_t>(n_[2]) * n_[1] * nx);
  for (std::size_t ix = 0; ix < nx; ++ix) {
    int j;
    std::array<double, 4> w;
    taps(0, xs[ix], j, w);
    for (int gz = 0; gz < n_[2]; ++gz)
      for (int gy = 0; gy < n_[1]; ++gy) {
        const float* row = &coef_[(static_cast<std::size_t>(gz) * n_[1] + gy) * n_[0] + j];
        tx[(static_cast<std::size_t>(gz) * n_[1] + gy) * nx + ix] =
            static_cast<float>(w[0] * row[0] + w[1] * row[1] + w[2] * row[2] + w[3] * row[3]);
      }
  }
  // y pass: [gz][iy][ix]
  s.xy_.assign(static_cast<std::size_t>(n_[2]) * ny * nx, 0.0f);
  for (std::size_t iy = 0; iy < ny; ++iy) {
    int j;
    std::array<double, 4> w;
    taps(1, ys[iy], j, w);
    for (int gz = 0; gz < n_[2]; ++gz) {
      float* dst = &s.xy_[(static_cast<std::size_t>(gz) * ny + iy) * nx];
      for (int b = 0; b < 4; ++b) {
        const float* src = &tx[(static_cast<std::size_t>(gz) * n_[1] + (j + b)) * nx];
        const float wb = static_cast<float>(w[b]);
        for (std::size_t ix = 0; ix < nx; ++ix) dst[ix] += wb * src[ix];
      }
    }
  }
  s.z0_.resize(zs.size());
  s.wz_.resize(zs.size());
  for (std::size_t iz = 0; iz < zs.size(); ++iz) {
    std::array<double, 4> w;
    taps(2, zs[iz], s.z0_[iz], w);
    for (int c = 0; c < 4; ++c) s.wz_[iz][c] = static_cast<float>(w[c]);
  }
  return s;
}

void NoiseField::Slicer::slice(std::size_t iz, float* out, float scale) const {
  const std::size_t n = nx_ * ny_;
  const auto& w = wz_[iz];
  const float* p0 = &xy_[static_cast<std::size_t>(z0_[iz]) * n];
  const float* p1 = p0 + n;
  const float* p2 = p1 + n;
  const float* p3 = p2 + n;
  const float w0 = w[0] * scale, w1 = w[1] * scale, w2 = w[2] * scale, w3 = w[3] * scale;
  for (std::size_t i = 0; i < n; ++i) out[i] = w0 * p0[i] + w1 * p1[i] + w2 * p2[i] + w3 * p3[i];
}

}  // namespace gmd::synth
