#include "gmd/io/labels.hpp"

#include <stdexcept>
#include <string>

#include "gmd/common/error.hpp"

namespace gmd::io {
namespace {
// Bit r set = voxel belongs to region r (WT=1, TC=2, ET=4), indexed by label value 0..4.
constexpr std::uint8_t kRegionBits[5] = {0u, 1u | 2u, 1u, 1u | 2u | 4u, 1u | 2u | 4u};

[[noreturn]] void bad_label(std::uint8_t v) {
  throw InputError("label map holds unknown label " + std::to_string(v) + " (expected 0, 1, 2, 4; 3 is read as 4)");
}
}  // namespace

bool is_valid_label(std::uint8_t v) { return v <= 4; }

std::vector<std::uint8_t> labels_to_regions(const std::vector<std::uint8_t>& labels) {
  const std::size_t n = labels.size();
  std::vector<std::uint8_t> out(3 * n, 0);
  std::uint8_t* wt = out.data();
  std::uint8_t* tc = wt + n;
  std::uint8_t* et = tc + n;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t v = labels[i];
    if (v > 4) bad_label(v);
    const std::uint8_t b = kRegionBits[v];
    wt[i] = b & 1u;
    tc[i] = (b >> 1) & 1u;
    et[i] = (b >> 2) & 1u;
  }
  return out;
}

std::vector<std::uint8_t> regions_to_labels(const std::vector<std::uint8_t>& regions, std::size_t voxels) {
  if (regions.size() != 3 * voxels)
    throw std::invalid_argument("regions_to_labels: got " + std::to_string(regions.size()) + " values, expected 3 x " +
                                std::to_string(voxels));
  std::vector<std::uint8_t> out(voxels, 0);
  const std::uint8_t* wt = regions.data();
  const std::uint8_t* tc = wt + voxels;
  const std::uint8_t* et = tc + voxels;
  for (std::size_t i = 0; i < voxels; ++i)
    out[i] = et[i] ? 4 : tc[i] ? 1 : wt[i] ? 2 : 0;
  return out;
}

std::array<std::int64_t, 3> region_voxel_counts(const std::vector<std::uint8_t>& labels) {
  std::array<std::int64_t, 5> hist{0, 0, 0, 0, 0};
  for (std::uint8_t v : labels) {
    if (v > 4) bad_label(v);
    ++hist[v];
  }
  const std::int64_t et = hist[3] + hist[4];
  return {hist[1] + hist[2] + et, hist[1] + et, et};
}

}  // namespace gmd::io
