#pragma once
// The display frame: every volume is shown in one canonical voxel grid whose axes point to the
// patient's Left (x), Posterior (y) and Superior (z) (ITK's LPS world axes). Any ITK-readable
// orientation is brought into it by permuting and flipping voxel axes (nearest axis for oblique
// images; no resampling). Views then apply radiological conventions on top of this frame.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "gmd/common/image.hpp"

namespace gmd::viz {

struct DisplayFrame {
  std::array<int, 3> src_axis{0, 1, 2};      // display axis d reads source voxel axis src_axis[d]
  std::array<bool, 3> flip{false, false, false};  // display axis d runs opposite to that source axis
  std::array<std::size_t, 3> size{0, 0, 0};  // display voxels (x=L, y=P, z=S)
  std::array<double, 3> spacing{1.0, 1.0, 1.0};
  std::array<std::size_t, 3> source_size{0, 0, 0};

  static DisplayFrame from_geometry(const Geometry& g);
  std::size_t voxel_count() const { return size[0] * size[1] * size[2]; }
  std::array<std::size_t, 3> to_source(const std::array<std::size_t, 3>& display_index) const;
  std::array<std::size_t, 3> to_display(const std::array<std::size_t, 3>& source_index) const;
  bool operator==(const DisplayFrame& o) const {
    return src_axis == o.src_axis && flip == o.flip && size == o.size && spacing == o.spacing;
  }
  bool operator!=(const DisplayFrame& o) const { return !(*this == o); }
};

// Copies a source buffer (x fastest) into display order.
template <typename T>
std::vector<T> to_display(const std::vector<T>& source, const DisplayFrame& f);

struct WindowLevel {
  double window = 1.0;
  double level = 0.5;
  double lower() const { return level - window / 2.0; }
  double upper() const { return level + window / 2.0; }
  static WindowLevel from_range(double lo, double hi);
};

// Percentiles (0..100) of the brain voxels (non-zero voxels; all voxels if none is non-zero).
// Large volumes are subsampled (at most ~2 M voxels are sorted).
std::array<double, 2> brain_percentiles(const float* voxels, std::size_t n, double lo_pct, double hi_pct);
inline std::array<double, 2> brain_percentiles(const std::vector<float>& v, double lo_pct, double hi_pct) {
  return brain_percentiles(v.data(), v.size(), lo_pct, hi_pct);
}
// Default window: 0.5-99.5 percentile of the brain voxels.
WindowLevel auto_window_level(const float* voxels, std::size_t n);
inline WindowLevel auto_window_level(const std::vector<float>& v) { return auto_window_level(v.data(), v.size()); }

// Window/level presets offered in the GUI (percentile ranges of brain voxels, or the full range).
struct WindowPreset {
  const char* name;
  double lo_pct;  // < 0: full range (min..max)
  double hi_pct;
};
const std::array<WindowPreset, 4>& window_presets();
WindowLevel preset_window_level(const float* voxels, std::size_t n, const WindowPreset& p);
inline WindowLevel preset_window_level(const std::vector<float>& v, const WindowPreset& p) {
  return preset_window_level(v.data(), v.size(), p);
}

}  // namespace gmd::viz
