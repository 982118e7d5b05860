#pragma once
// Subset policies for training (paper Table 5) and a seeded sampler.
#include <cstdint>
#include <string>
#include <vector>

#include "gmd/common/modality.hpp"

namespace gmd::engine {

enum class SubsetPolicy {
  All,       // all subsets every step (15 with 4 modalities)
  Missing1,  // the subsets with exactly 1 modality missing (4)
  Missing2,  // exactly 2 missing (6; the public code's default)
  Missing3,  // exactly 3 missing (4 single-modality subsets)
  Random     // k subsets drawn uniformly without replacement from all 15 (default k=5)
};
std::string policy_name(SubsetPolicy p);       // "all", "missing1", ...
SubsetPolicy parse_policy(const std::string&);  // throws gmd::UsageError

// Deterministic: subsets(step) depends only on (policy, k, available, seed, step), so training
// resumes bit-exactly. Only subsets within `available` are returned (a case missing modalities).
class SubsetSampler {
 public:
  SubsetSampler(SubsetPolicy policy, int k, uint64_t seed);
  std::vector<SubsetMask> subsets(int64_t step, SubsetMask available = kFullMask) const;

 private:
  SubsetPolicy policy_;
  int k_;
  uint64_t seed_;
};

}  // namespace gmd::engine
