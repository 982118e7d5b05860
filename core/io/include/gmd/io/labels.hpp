#pragma once
// BraTS labels <-> region channels. Labels: 0 bg, 1 NCR/NET, 2 ED, 4 ET (3 read as 4).
// Regions (channel order): 0 WT = {1,2,4}, 1 TC = {1,4}, 2 ET = {4}.
#include <array>
#include <cstdint>
#include <vector>

#include "gmd/common/regions.hpp"

namespace gmd::io {

using gmd::kNumRegions;  // gmd/common/regions.hpp (names: gmd::region_name)
enum class Region : int { WT = 0, TC = 1, ET = 2 };

// true for 0,1,2,3,4
bool is_valid_label(std::uint8_t v);
// Regions as 3 binary channels, each of labels.size() voxels, channel-major.
std::vector<std::uint8_t> labels_to_regions(const std::vector<std::uint8_t>& labels);
// 3 binary channels -> labels with ET > TC > WT precedence: ET->4, TC\ET->1, WT\TC->2.
std::vector<std::uint8_t> regions_to_labels(const std::vector<std::uint8_t>& regions, std::size_t voxels);
// Region volumes in voxels: {WT, TC, ET}.
std::array<std::int64_t, 3> region_voxel_counts(const std::vector<std::uint8_t>& labels);

}  // namespace gmd::io
