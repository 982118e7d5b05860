// Modality keys, subset naming, paper order and parsing (core/common/modality.cpp).
#include <gtest/gtest.h>

#include <set>

#include "gmd/common/error.hpp"
#include "gmd/common/modality.hpp"

using namespace gmd;

TEST(Modality, KeysAndDisplayNamesInOrder) {
  EXPECT_EQ(modality_key(0), "flair");
  EXPECT_EQ(modality_key(1), "t1");
  EXPECT_EQ(modality_key(2), "t1ce");
  EXPECT_EQ(modality_key(3), "t2");
  EXPECT_EQ(modality_display(0), "FLAIR");
  EXPECT_EQ(modality_display(1), "T1");
  EXPECT_EQ(modality_display(2), "T1ce");
  EXPECT_EQ(modality_display(3), "T2");
  EXPECT_EQ(static_cast<int>(Modality::T1ce), 2);
}

TEST(Modality, ParseAcceptsKeysDisplayNamesAndAliases) {
  for (int m = 0; m < kNumModalities; ++m) {
    EXPECT_EQ(parse_modality(modality_key(m)), m);
    EXPECT_EQ(parse_modality(modality_display(m)), m);
  }
  EXPECT_EQ(parse_modality(" FLAIR "), 0);
  EXPECT_EQ(parse_modality("T1CE"), 2);
  EXPECT_EQ(parse_modality("t1c"), 2);
  EXPECT_EQ(parse_modality("T1Gd"), 2);
  EXPECT_EQ(parse_modality("t1"), 1);  // not T1ce
  EXPECT_FALSE(parse_modality("t3"));
  EXPECT_FALSE(parse_modality(""));
  EXPECT_FALSE(parse_modality("t1ce2"));
}

TEST(Subset, SizeMembersAndNames) {
  EXPECT_EQ(subset_size(0), 0);
  EXPECT_EQ(subset_size(kFullMask), 4);
  EXPECT_EQ(subset_size(0b0101), 2);
  EXPECT_TRUE(subset_has(0b0100, 2));
  EXPECT_FALSE(subset_has(0b0100, 1));
  EXPECT_EQ(subset_modalities(0b1010), (std::vector<int>{1, 3}));
  EXPECT_EQ(subset_name(0b0101), "FLAIR+T1ce");
  EXPECT_EQ(subset_name(kFullMask), "FLAIR+T1+T1ce+T2");
  EXPECT_EQ(subset_name(0), "none");
  EXPECT_EQ(subset_keys(0b0101), "flair,t1ce");
  EXPECT_EQ(subset_keys(0b1000), "t2");
}

TEST(Subset, AllSubsetsFollowThePaperTableOrder) {
  const auto& all = all_subsets();
  ASSERT_EQ(all.size(), 15u);
  const std::vector<std::string> expected = {
      "FLAIR", "T1", "T1ce", "T2",                                                       // 1 modality
      "FLAIR+T1", "FLAIR+T1ce", "FLAIR+T2", "T1+T1ce", "T1+T2", "T1ce+T2",                // 2
      "FLAIR+T1+T1ce", "FLAIR+T1+T2", "FLAIR+T1ce+T2", "T1+T1ce+T2", "FLAIR+T1+T1ce+T2"};  // 3, 4
  std::set<SubsetMask> distinct;
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(subset_name(all[i]), expected[i]) << i;
    distinct.insert(all[i]);
    EXPECT_NE(all[i], 0);
    EXPECT_EQ(all[i] & ~kFullMask, 0);
  }
  EXPECT_EQ(distinct.size(), 15u);
}

TEST(Subset, SubsetsWithinKeepsOrderAndOnlyAvailable) {
  const auto s = subsets_within(0b0101);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(subset_name(s[0]), "FLAIR");
  EXPECT_EQ(subset_name(s[1]), "T1ce");
  EXPECT_EQ(subset_name(s[2]), "FLAIR+T1ce");
  EXPECT_EQ(subsets_within(kFullMask), all_subsets());
  EXPECT_TRUE(subsets_within(0).empty());
  EXPECT_EQ(subsets_within(0b1000).size(), 1u);
}

TEST(Subset, ParseRoundTripsEveryNameAndKeyList) {
  for (SubsetMask s : all_subsets()) {
    EXPECT_EQ(parse_subset(subset_name(s)), s);
    EXPECT_EQ(parse_subset(subset_keys(s)), s);
  }
  EXPECT_EQ(parse_subset("all"), kFullMask);
  EXPECT_EQ(parse_subset(" ALL "), kFullMask);
  EXPECT_EQ(parse_subset("t2, flair"), 0b1001);
  EXPECT_EQ(parse_subset("T1c+t1"), 0b0110);
  EXPECT_EQ(parse_subset("t1,t1"), 0b0010);
}

TEST(Subset, ParseRejectsUnknownAndEmpty) {
  try {
    parse_subset("flair,t3");
    FAIL() << "no exception";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'t3'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_subset(""), UsageError);
  EXPECT_THROW(parse_subset(" , "), UsageError);
}
