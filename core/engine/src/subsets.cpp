// Subset policies (paper Table 5) and a deterministic, resumable sampler.
#include "gmd/engine/subsets.hpp"

#include <algorithm>
#include <cctype>
#include <random>

#include "gmd/common/error.hpp"

namespace gmd::engine {

std::string policy_name(SubsetPolicy p) {
  switch (p) {
    case SubsetPolicy::All: return "all";
    case SubsetPolicy::Missing1: return "missing1";
    case SubsetPolicy::Missing2: return "missing2";
    case SubsetPolicy::Missing3: return "missing3";
    case SubsetPolicy::Random: return "random";
  }
  return "?";
}

SubsetPolicy parse_policy(const std::string& s) {
  std::string l;
  for (unsigned char c : s)
    if (c != '-' && c != '_' && !std::isspace(c)) l += static_cast<char>(std::tolower(c));
  if (l == "all") return SubsetPolicy::All;
  if (l == "missing1") return SubsetPolicy::Missing1;
  if (l == "missing2") return SubsetPolicy::Missing2;
  if (l == "missing3") return SubsetPolicy::Missing3;
  if (l == "random") return SubsetPolicy::Random;
  throw UsageError("unknown subset policy '" + s + "' (expected all, missing1, missing2, missing3, random)");
}

SubsetSampler::SubsetSampler(SubsetPolicy policy, int k, uint64_t seed) : policy_(policy), k_(k), seed_(seed) {
  if (policy_ == SubsetPolicy::Random && k_ < 1)
    throw UsageError("subset policy random needs k >= 1 (got " + std::to_string(k_) + ")");
}

namespace {
uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
}  // namespace

// Policies select from the subsets within `available`; Missing-n keeps those with 4-n modalities. When a
// policy has no subset within `available` (e.g. missing1 for a case with 2 modalities) the sampler
// falls back to the single subset `available` itself, so that every case still contributes a loss.
// The result is in the table order of gmd::all_subsets().
std::vector<SubsetMask> SubsetSampler::subsets(int64_t step, SubsetMask available) const {
  available &= kFullMask;
  const std::vector<SubsetMask> within = subsets_within(available);
  if (within.empty()) return {};
  std::vector<SubsetMask> out;
  switch (policy_) {
    case SubsetPolicy::All: out = within; break;
    case SubsetPolicy::Missing1:
    case SubsetPolicy::Missing2:
    case SubsetPolicy::Missing3: {
      const int missing = policy_ == SubsetPolicy::Missing1 ? 1 : policy_ == SubsetPolicy::Missing2 ? 2 : 3;
      for (SubsetMask s : within)
        if (subset_size(s) == kNumModalities - missing) out.push_back(s);
      break;
    }
    case SubsetPolicy::Random: {
      // A fresh generator per step, seeded from (seed, step): a pure function of both.
      std::mt19937_64 rng(splitmix64(seed_ ^ splitmix64(static_cast<uint64_t>(step))));
      std::vector<size_t> idx(within.size());
      for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
      const size_t n = std::min(static_cast<size_t>(k_), idx.size());
      // Partial Fisher-Yates with a portable index draw (std distributions are implementation-defined).
      for (size_t i = 0; i < n; ++i) std::swap(idx[i], idx[i + rng() % (idx.size() - i)]);
      idx.resize(n);
      std::sort(idx.begin(), idx.end());
      for (size_t i : idx) out.push_back(within[i]);
      break;
    }
  }
  if (out.empty()) out.push_back(available);
  return out;
}

}  // namespace gmd::engine
