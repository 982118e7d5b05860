#include "gmd/common/image.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace gmd {
namespace {

std::string triple(const std::array<double, 3>& v, const char* sep) {
  return fmt::format("{:g}{}{:g}{}{:g}", v[0], sep, v[1], sep, v[2]);
}

double det3(const std::array<double, 9>& m) {
  return m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
         m[2] * (m[3] * m[7] - m[4] * m[6]);
}

}  // namespace

std::string Geometry::difference(const Geometry& o, double tol) const {
  std::vector<std::string> parts;

  if (size != o.size)
    parts.push_back(fmt::format("size {}x{}x{} vs {}x{}x{}", size[0], size[1], size[2], o.size[0], o.size[1],
                                o.size[2]));

  double dsp = 0.0;
  for (int i = 0; i < 3; ++i) dsp = std::max(dsp, std::abs(spacing[i] - o.spacing[i]));
  if (!(dsp <= tol))
    parts.push_back(fmt::format("spacing {} vs {} mm (differs by {:.6g} mm)", triple(spacing, "x"),
                                triple(o.spacing, "x"), dsp));

  double dor = 0.0, dor_max = 0.0;
  for (int i = 0; i < 3; ++i) {
    const double d = origin[i] - o.origin[i];
    dor += d * d;
    dor_max = std::max(dor_max, std::abs(d));
  }
  if (!(dor_max <= tol))
    parts.push_back(fmt::format("origin ({}) vs ({}) mm (differs by {:.6g} mm)", triple(origin, ", "),
                                triple(o.origin, ", "), std::sqrt(dor)));

  double ddir = 0.0;
  for (int i = 0; i < 9; ++i) ddir = std::max(ddir, std::abs(direction[i] - o.direction[i]));
  if (!(ddir <= tol)) {
    // Angle of the relative rotation A^T B (meaningful for orthonormal matrices).
    double trace = 0.0;
    for (int i = 0; i < 3; ++i)
      for (int k = 0; k < 3; ++k) trace += direction[k * 3 + i] * o.direction[k * 3 + i];
    std::string what = fmt::format("direction differs (largest cosine difference {:.4g}", ddir);
    if ((det3(direction) < 0) != (det3(o.direction) < 0)) {
      what += ", one is mirrored (axis flip)";
    } else {
      const double c = std::clamp((trace - 1.0) / 2.0, -1.0, 1.0);
      what += fmt::format(", axes rotated by {:.3g} degrees", std::acos(c) * 180.0 / 3.14159265358979323846);
    }
    what += ")";
    parts.push_back(what);
  }

  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += "; ";
    out += p;
  }
  return out;
}

}  // namespace gmd
