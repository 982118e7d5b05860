// Subset policies and the deterministic sampler (subsets.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "gmd/common/error.hpp"
#include "gmd/engine/subsets.hpp"

using namespace gmd;
using namespace gmd::engine;

namespace {
bool in_table_order(const std::vector<SubsetMask>& v) {
  const auto& all = all_subsets();
  std::vector<size_t> pos;
  for (SubsetMask s : v) pos.push_back(static_cast<size_t>(std::find(all.begin(), all.end(), s) - all.begin()));
  return std::is_sorted(pos.begin(), pos.end()) && std::adjacent_find(pos.begin(), pos.end()) == pos.end();
}
}  // namespace

TEST(Subsets, PolicyNamesRoundTrip) {
  for (auto p : {SubsetPolicy::All, SubsetPolicy::Missing1, SubsetPolicy::Missing2, SubsetPolicy::Missing3,
                 SubsetPolicy::Random})
    EXPECT_EQ(parse_policy(policy_name(p)), p);
  EXPECT_EQ(policy_name(SubsetPolicy::Missing2), "missing2");
  EXPECT_EQ(parse_policy("Missing-2"), SubsetPolicy::Missing2);
  EXPECT_THROW(parse_policy("missing4"), UsageError);
  EXPECT_THROW(parse_policy(""), UsageError);
  EXPECT_THROW(SubsetSampler(SubsetPolicy::Random, 0, 1), UsageError);
}

TEST(Subsets, PolicySizesAndContents) {
  const std::map<SubsetPolicy, std::pair<size_t, int>> expect{{SubsetPolicy::All, {15, -1}},
                                                              {SubsetPolicy::Missing1, {4, 3}},
                                                              {SubsetPolicy::Missing2, {6, 2}},
                                                              {SubsetPolicy::Missing3, {4, 1}}};
  for (const auto& [policy, e] : expect) {
    SubsetSampler s(policy, 5, 42);
    const auto v = s.subsets(0);
    EXPECT_EQ(v.size(), e.first) << policy_name(policy);
    EXPECT_TRUE(in_table_order(v));
    for (SubsetMask m : v)
      if (e.second > 0) EXPECT_EQ(subset_size(m), e.second);
    EXPECT_EQ(s.subsets(17), v) << "fixed policies do not depend on the step";
  }
  EXPECT_EQ(SubsetSampler(SubsetPolicy::All, 5, 1).subsets(3), all_subsets());
  for (int k : {1, 3, 5, 15}) {
    SubsetSampler s(SubsetPolicy::Random, k, 9);
    for (int64_t step = 0; step < 20; ++step) {
      const auto v = s.subsets(step);
      EXPECT_EQ(v.size(), static_cast<size_t>(k));
      EXPECT_TRUE(in_table_order(v)) << "distinct subsets, table order";
    }
  }
  EXPECT_EQ(SubsetSampler(SubsetPolicy::Random, 40, 9).subsets(0).size(), 15u);
}

TEST(Subsets, RandomIsDeterministicPerSeedAndStep) {
  SubsetSampler a(SubsetPolicy::Random, 5, 123), b(SubsetPolicy::Random, 5, 123), c(SubsetPolicy::Random, 5, 124);
  std::set<std::vector<SubsetMask>> distinct;
  int differs_from_other_seed = 0;
  // Query b in reverse order: results must not depend on call history.
  std::vector<std::vector<SubsetMask>> rev;
  for (int64_t step = 49; step >= 0; --step) rev.push_back(b.subsets(step));
  std::reverse(rev.begin(), rev.end());
  for (int64_t step = 0; step < 50; ++step) {
    const auto v = a.subsets(step);
    EXPECT_EQ(v, rev[static_cast<size_t>(step)]);
    EXPECT_EQ(v, a.subsets(step));
    distinct.insert(v);
    if (v != c.subsets(step)) ++differs_from_other_seed;
  }
  EXPECT_GT(distinct.size(), 30u) << "different steps draw different subsets";
  EXPECT_GT(differs_from_other_seed, 30);
  // Every subset gets drawn over many steps.
  std::map<SubsetMask, int> counts;
  for (int64_t step = 0; step < 600; ++step)
    for (SubsetMask m : a.subsets(step)) ++counts[m];
  EXPECT_EQ(counts.size(), 15u);
  for (const auto& [m, n] : counts) {
    EXPECT_GT(n, 120) << subset_name(m);  // expectation 200 (= 600 * 5 / 15)
    EXPECT_LT(n, 280) << subset_name(m);
  }
}

TEST(Subsets, RespectsAvailable) {
  const SubsetMask avail = 0b0101;  // FLAIR + T1ce
  EXPECT_EQ(SubsetSampler(SubsetPolicy::All, 5, 1).subsets(0, avail), subsets_within(avail));
  EXPECT_EQ(SubsetSampler(SubsetPolicy::All, 5, 1).subsets(0, avail).size(), 3u);
  const auto m3 = SubsetSampler(SubsetPolicy::Missing3, 5, 1).subsets(0, avail);
  EXPECT_EQ(m3, (std::vector<SubsetMask>{0b0001, 0b0100}));
  const auto m2 = SubsetSampler(SubsetPolicy::Missing2, 5, 1).subsets(0, avail);
  EXPECT_EQ(m2, (std::vector<SubsetMask>{0b0101}));
  // No 3-modality subset within 2 modalities: falls back to the available set itself.
  EXPECT_EQ(SubsetSampler(SubsetPolicy::Missing1, 5, 1).subsets(0, avail), (std::vector<SubsetMask>{avail}));
  for (int64_t step = 0; step < 30; ++step) {
    const auto r = SubsetSampler(SubsetPolicy::Random, 5, 77).subsets(step, avail);
    EXPECT_EQ(r.size(), 3u) << "min(k, #available subsets)";
    const auto r2 = SubsetSampler(SubsetPolicy::Random, 2, 77).subsets(step, 0b1011);
    EXPECT_EQ(r2.size(), 2u);
    for (SubsetMask m : r2) EXPECT_EQ(m & ~SubsetMask{0b1011}, 0) << subset_name(m);
  }
  EXPECT_TRUE(SubsetSampler(SubsetPolicy::Random, 5, 1).subsets(0, 0).empty());
}
