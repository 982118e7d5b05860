#include "gmd/viz/display.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace gmd::viz {

DisplayFrame DisplayFrame::from_geometry(const Geometry& g) {
  DisplayFrame f;
  f.source_size = g.size;
  // direction is row-major: D[world][voxel axis]. Assign each world axis the voxel axis that
  // points most nearly along it, largest |cosine| first (robust for oblique images).
  std::array<bool, 3> world_used{}, axis_used{};
  for (int round = 0; round < 3; ++round) {
    double best = -1.0;
    int bw = -1, ba = -1;
    for (int w = 0; w < 3; ++w) {
      if (world_used[w]) continue;
      for (int a = 0; a < 3; ++a) {
        if (axis_used[a]) continue;
        const double v = std::abs(g.direction[static_cast<size_t>(w * 3 + a)]);
        if (v > best) {
          best = v;
          bw = w;
          ba = a;
        }
      }
    }
    world_used[bw] = axis_used[ba] = true;
    f.src_axis[bw] = ba;
    f.flip[bw] = g.direction[static_cast<size_t>(bw * 3 + ba)] < 0.0;
  }
  for (int d = 0; d < 3; ++d) {
    f.size[d] = g.size[static_cast<size_t>(f.src_axis[d])];
    f.spacing[d] = g.spacing[static_cast<size_t>(f.src_axis[d])];
  }
  return f;
}

std::array<std::size_t, 3> DisplayFrame::to_source(const std::array<std::size_t, 3>& d) const {
  std::array<std::size_t, 3> s{};
  for (int k = 0; k < 3; ++k) {
    const auto a = static_cast<size_t>(src_axis[k]);
    s[a] = flip[k] ? size[k] - 1 - d[k] : d[k];
  }
  return s;
}

std::array<std::size_t, 3> DisplayFrame::to_display(const std::array<std::size_t, 3>& s) const {
  std::array<std::size_t, 3> d{};
  for (int k = 0; k < 3; ++k) {
    const auto a = static_cast<size_t>(src_axis[k]);
    d[k] = flip[k] ? size[k] - 1 - s[a] : s[a];
  }
  return d;
}

template <typename T>
std::vector<T> to_display(const std::vector<T>& source, const DisplayFrame& f) {
  std::vector<T> out(f.voxel_count());
  if (source.size() != out.size() || out.empty()) return out;
  const std::array<std::ptrdiff_t, 3> src_stride{
      1, static_cast<std::ptrdiff_t>(f.source_size[0]),
      static_cast<std::ptrdiff_t>(f.source_size[0] * f.source_size[1])};
  std::array<std::ptrdiff_t, 3> step{}, start{};
  for (int d = 0; d < 3; ++d) {
    const auto st = src_stride[static_cast<size_t>(f.src_axis[d])];
    step[d] = f.flip[d] ? -st : st;
    start[d] = f.flip[d] ? st * static_cast<std::ptrdiff_t>(f.size[d] - 1) : 0;
  }
  size_t o = 0;
  const T* src = source.data();
  for (std::size_t z = 0; z < f.size[2]; ++z) {
    const std::ptrdiff_t oz = start[2] + step[2] * static_cast<std::ptrdiff_t>(z);
    for (std::size_t y = 0; y < f.size[1]; ++y) {
      std::ptrdiff_t idx = oz + start[1] + step[1] * static_cast<std::ptrdiff_t>(y) + start[0];
      for (std::size_t x = 0; x < f.size[0]; ++x, idx += step[0]) out[o++] = src[idx];
    }
  }
  return out;
}

template std::vector<float> to_display(const std::vector<float>&, const DisplayFrame&);
template std::vector<std::uint8_t> to_display(const std::vector<std::uint8_t>&, const DisplayFrame&);

WindowLevel WindowLevel::from_range(double lo, double hi) {
  if (!(hi > lo)) hi = lo + 1.0;
  return WindowLevel{hi - lo, (hi + lo) / 2.0};
}

std::array<double, 2> brain_percentiles(const float* voxels, std::size_t count, double lo_pct, double hi_pct) {
  if (count == 0) return {0.0, 1.0};
  size_t nonzero = 0;
  for (size_t i = 0; i < count; ++i) nonzero += voxels[i] != 0.0f;
  const bool all = nonzero == 0;
  const size_t n = all ? count : nonzero;
  const size_t stride = std::max<size_t>(1, n / 2000000);
  std::vector<float> sample;
  sample.reserve(n / stride + 1);
  size_t k = 0;
  for (size_t i = 0; i < count; ++i) {
    const float v = voxels[i];
    if (!all && v == 0.0f) continue;
    if (k++ % stride == 0) sample.push_back(v);
  }
  auto pick = [&](double pct) {
    const double pos = std::clamp(pct, 0.0, 100.0) / 100.0 * static_cast<double>(sample.size() - 1);
    const auto i = static_cast<size_t>(std::llround(pos));
    std::nth_element(sample.begin(), sample.begin() + static_cast<std::ptrdiff_t>(i), sample.end());
    return static_cast<double>(sample[i]);
  };
  const double lo = pick(lo_pct);
  const double hi = pick(hi_pct);
  return {lo, hi};
}

WindowLevel auto_window_level(const float* voxels, std::size_t n) {
  const auto p = brain_percentiles(voxels, n, 0.5, 99.5);
  return WindowLevel::from_range(p[0], p[1]);
}

const std::array<WindowPreset, 4>& window_presets() {
  static const std::array<WindowPreset, 4> p{{{"Auto (0.5-99.5 %)", 0.5, 99.5},
                                              {"Soft (2-98 %)", 2.0, 98.0},
                                              {"High contrast (10-90 %)", 10.0, 90.0},
                                              {"Full range", -1.0, -1.0}}};
  return p;
}

WindowLevel preset_window_level(const float* voxels, std::size_t n, const WindowPreset& p) {
  if (p.lo_pct < 0) {
    if (n == 0) return WindowLevel{};
    const auto [mn, mx] = std::minmax_element(voxels, voxels + n);
    return WindowLevel::from_range(*mn, *mx);
  }
  const auto r = brain_percentiles(voxels, n, p.lo_pct, p.hi_pct);
  return WindowLevel::from_range(r[0], r[1]);
}

}  // namespace gmd::viz
