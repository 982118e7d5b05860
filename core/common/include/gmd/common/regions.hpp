#pragma once
// BraTS labels and evaluation regions: the one table of their names (CLI, reports, metrics.jsonl keys, charts,
// overlays and legends all spell them from here).
//   labels  1 NCR/NET (necrotic / non-enhancing core), 2 ED (edema), 4 ET (enhancing; BraTS 2023 writes 3)
//   regions WT = {1, 2, 4} (whole tumour), TC = {1, 4} (tumour core), ET = {4} (enhancing tumour)
#include <array>
#include <cstddef>

namespace gmd {

inline constexpr int kNumRegions = 3;
inline constexpr std::array<const char*, kNumRegions> kRegionNames{"WT", "TC", "ET"};
inline constexpr std::array<const char*, kNumRegions> kRegionLongNames{"whole tumour", "tumour core",
                                                                        "enhancing tumour"};
// Label values in overlay order and their names (index i <-> kLabelValues[i]).
inline constexpr std::array<int, 3> kLabelValues{1, 2, 4};
inline constexpr std::array<const char*, 3> kLabelNames{"NCR/NET", "ED", "ET"};
inline constexpr std::array<const char*, 3> kLabelLongNames{"necrotic / non-enhancing tumour core",
                                                             "peritumoral edema", "enhancing tumour"};

// Whether a voxel labelled `label` lies in region r (0 WT, 1 TC, 2 ET; false for any other r). Label 3 is read as
// ET (BraTS 2023).
constexpr bool label_in_region(int label, int r) {
  switch (r) {
    case 0: return label == 1 || label == 2 || label == 3 || label == 4;
    case 1: return label == 1 || label == 3 || label == 4;
    case 2: return label == 3 || label == 4;
    default: return false;
  }
}
static_assert(label_in_region(2, 0) && !label_in_region(2, 1) && label_in_region(3, 2) && !label_in_region(0, 0));

// "WT", "TC", "ET" for r = 0, 1, 2; "?" otherwise.
constexpr const char* region_name(int r) {
  return r >= 0 && r < kNumRegions ? kRegionNames[static_cast<std::size_t>(r)] : "?";
}
// 0, 1, 2 for "WT", "TC", "ET"; -1 otherwise.
inline int region_index(const char* name) {
  for (int r = 0; r < kNumRegions; ++r) {
    const char* a = kRegionNames[static_cast<std::size_t>(r)];
    const char* b = name;
    while (*a && *a == *b) ++a, ++b;
    if (*a == 0 && *b == 0) return r;
  }
  return -1;
}

}  // namespace gmd
