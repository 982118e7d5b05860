// BraTS labels <-> WT/TC/ET region channels.
#include <gtest/gtest.h>

#include <stdexcept>

#include "gmd/common/error.hpp"
#include "gmd/io/labels.hpp"

using namespace gmd;
using namespace gmd::io;

TEST(Labels, RegionNamesAndValidity) {
  EXPECT_STREQ(gmd::region_name(0), "WT");
  EXPECT_STREQ(gmd::region_name(1), "TC");
  EXPECT_STREQ(gmd::region_name(2), "ET");
  EXPECT_STREQ(gmd::region_name(3), "?");
  EXPECT_EQ(gmd::region_index("TC"), 1);
  EXPECT_EQ(gmd::region_index("T"), -1);
  EXPECT_EQ(gmd::region_index("ETX"), -1);
  EXPECT_EQ(static_cast<int>(Region::ET), 2);
  for (int v = 0; v <= 4; ++v) EXPECT_TRUE(is_valid_label(static_cast<std::uint8_t>(v))) << v;
  for (int v : {5, 6, 100, 255}) EXPECT_FALSE(is_valid_label(static_cast<std::uint8_t>(v))) << v;
}

TEST(Labels, LabelsToRegionsIsChannelMajorAndNested) {
  const std::vector<std::uint8_t> labels{0, 1, 2, 3, 4};
  const auto r = labels_to_regions(labels);
  ASSERT_EQ(r.size(), 15u);
  const std::vector<std::uint8_t> wt(r.begin(), r.begin() + 5), tc(r.begin() + 5, r.begin() + 10),
      et(r.begin() + 10, r.end());
  EXPECT_EQ(wt, (std::vector<std::uint8_t>{0, 1, 1, 1, 1}));  // WT = {1,2,4}
  EXPECT_EQ(tc, (std::vector<std::uint8_t>{0, 1, 0, 1, 1}));  // TC = {1,4}
  EXPECT_EQ(et, (std::vector<std::uint8_t>{0, 0, 0, 1, 1}));  // ET = {4} (3 read as 4)
}

TEST(Labels, RegionsToLabelsPrecedenceEtOverTcOverWt) {
  // All 8 combinations of (WT, TC, ET), one voxel each.
  const std::size_t n = 8;
  std::vector<std::uint8_t> regions(3 * n, 0);
  for (std::size_t v = 0; v < n; ++v) {
    regions[v] = v & 1u;                   // WT
    regions[n + v] = (v >> 1) & 1u;        // TC
    regions[2 * n + v] = (v >> 2) & 1u;    // ET
  }
  const auto labels = regions_to_labels(regions, n);
  //                                      -  WT TC WT+TC ET ET+WT ET+TC all
  EXPECT_EQ(labels, (std::vector<std::uint8_t>{0, 2, 1, 1, 4, 4, 4, 4}));
}

TEST(Labels, NonzeroRegionValuesCountAsSet) {
  const std::vector<std::uint8_t> regions{255, 0, 0, 7, 0, 0};
  EXPECT_EQ(regions_to_labels(regions, 2), (std::vector<std::uint8_t>{2, 1}));  // WT=255 -> 2; TC=7 -> 1
}

TEST(Labels, RoundTripOfValidBratsLabels) {
  std::vector<std::uint8_t> labels;
  for (int i = 0; i < 1000; ++i) labels.push_back(static_cast<std::uint8_t>((i * 7919) % 5));
  const auto back = regions_to_labels(labels_to_regions(labels), labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) EXPECT_EQ(back[i], labels[i] == 3 ? 4 : labels[i]) << i;
}

TEST(Labels, RegionVoxelCounts) {
  const std::vector<std::uint8_t> labels{0, 0, 1, 2, 2, 2, 3, 4, 4, 0};
  const auto c = region_voxel_counts(labels);
  EXPECT_EQ(c[0], 7);  // WT: 1,2,2,2,3,4,4
  EXPECT_EQ(c[1], 4);  // TC: 1,3,4,4
  EXPECT_EQ(c[2], 3);  // ET: 3,4,4
  EXPECT_EQ(region_voxel_counts({}), (std::array<std::int64_t, 3>{0, 0, 0}));
}

TEST(Labels, BadInput) {
  EXPECT_THROW(labels_to_regions({0, 1, 9}), gmd::InputError);
  EXPECT_THROW(region_voxel_counts({5}), gmd::InputError);
  try {
    labels_to_regions({0, 1, 9});
  } catch (const gmd::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown label 9"), std::string::npos) << e.what();
  }
  EXPECT_THROW(regions_to_labels(std::vector<std::uint8_t>(7, 0), 2), std::invalid_argument);
}
