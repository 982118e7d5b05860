#include "gmd/common/modality.hpp"

#include <algorithm>
#include <bitset>
#include <cctype>

#include "gmd/common/error.hpp"

namespace gmd {
namespace {
constexpr std::array<std::string_view, kNumModalities> kKeys{"flair", "t1", "t1ce", "t2"};
constexpr std::array<std::string_view, kNumModalities> kDisplay{"FLAIR", "T1", "T1ce", "T2"};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}
std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}
}  // namespace

std::string_view modality_key(int m) { return kKeys.at(static_cast<size_t>(m)); }
std::string_view modality_display(int m) { return kDisplay.at(static_cast<size_t>(m)); }

std::optional<int> parse_modality(std::string_view s) {
  const std::string l = lower(trim(s));
  for (int m = 0; m < kNumModalities; ++m)
    if (l == kKeys[m]) return m;
  if (l == "t1c" || l == "t1gd" || l == "t1-ce" || l == "t1_ce") return 2;
  return std::nullopt;
}

int subset_size(SubsetMask s) { return static_cast<int>(std::bitset<8>(s & kFullMask).count()); }

std::vector<int> subset_modalities(SubsetMask s) {
  std::vector<int> out;
  for (int m = 0; m < kNumModalities; ++m)
    if (subset_has(s, m)) out.push_back(m);
  return out;
}

std::string subset_name(SubsetMask s) {
  std::string out;
  for (int m : subset_modalities(s)) {
    if (!out.empty()) out += '+';
    out += kDisplay[m];
  }
  return out.empty() ? "none" : out;
}

std::string subset_keys(SubsetMask s) {
  std::string out;
  for (int m : subset_modalities(s)) {
    if (!out.empty()) out += ',';
    out += kKeys[m];
  }
  return out;
}

SubsetMask parse_subset(std::string_view s) {
  const std::string l = lower(trim(s));
  if (l == "all") return kFullMask;
  SubsetMask mask = 0;
  size_t start = 0;
  while (start <= l.size()) {
    size_t end = l.find_first_of(",+ ", start);
    if (end == std::string::npos) end = l.size();
    const std::string tok = l.substr(start, end - start);
    if (!tok.empty()) {
      auto m = parse_modality(tok);
      if (!m) throw UsageError("unknown modality '" + tok + "' (expected flair, t1, t1ce, t2)");
      mask |= static_cast<SubsetMask>(1u << *m);
    }
    start = end + 1;
  }
  if (mask == 0) throw UsageError("empty modality list '" + std::string(s) + "'");
  return mask;
}

const std::vector<SubsetMask>& all_subsets() {
  static const std::vector<SubsetMask> subsets = [] {
    std::vector<SubsetMask> v;
    for (int size = 1; size <= kNumModalities; ++size) {
      std::vector<SubsetMask> same;
      for (SubsetMask s = 1; s <= kFullMask; ++s)
        if (subset_size(s) == size) same.push_back(s);
      // lexicographic order of the sorted modality index lists
      std::sort(same.begin(), same.end(), [](SubsetMask a, SubsetMask b) {
        return subset_modalities(a) < subset_modalities(b);
      });
      v.insert(v.end(), same.begin(), same.end());
    }
    return v;
  }();
  return subsets;
}

std::vector<SubsetMask> subsets_within(SubsetMask available) {
  std::vector<SubsetMask> out;
  for (SubsetMask s : all_subsets())
    if ((s & available) == s) out.push_back(s);
  return out;
}

}  // namespace gmd
