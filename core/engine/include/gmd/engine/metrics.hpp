#pragma once
// Segmentation metrics on binary volumes (no torch in this header). Volumes are [z][y][x] arrays.
// Conventions (design.md §5): both empty -> Dice 1, HD95 0; exactly one empty -> Dice 0,
// HD95 = the image diagonal in mm.
#include <array>
#include <cstdint>
#include <vector>

namespace gmd::engine {

double dice(const std::uint8_t* pred, const std::uint8_t* truth, std::size_t n);
// 95th percentile of the symmetric surface distances (mm). dims = {D,H,W}, spacing = {sz,sy,sx}.
double hd95(const std::uint8_t* pred, const std::uint8_t* truth, const std::array<int64_t, 3>& dims,
            const std::array<double, 3>& spacing);

struct RegionScores {
  std::array<double, 3> dice{};      // WT, TC, ET
  std::array<double, 3> hd95{};      // mm
  std::array<int64_t, 3> pred_voxels{};
  std::array<int64_t, 3> true_voxels{};
};
// From two BraTS label maps (0/1/2/4) of the same dims.
RegionScores score_labels(const std::vector<std::uint8_t>& pred, const std::vector<std::uint8_t>& truth,
                          const std::array<int64_t, 3>& dims, const std::array<double, 3>& spacing);

}  // namespace gmd::engine
