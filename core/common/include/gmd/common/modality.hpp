#pragma once
// Modalities and modality subsets. Order everywhere: FLAIR, T1, T1ce, T2 (index 0..3).
// A subset is a 4-bit mask (bit m set = modality m present); there are 15 non-empty subsets.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gmd {

inline constexpr int kNumModalities = 4;
enum class Modality : int { Flair = 0, T1 = 1, T1ce = 2, T2 = 3 };

// Lower-case file suffix / CLI name: "flair", "t1", "t1ce", "t2".
std::string_view modality_key(int m);
// Display name: "FLAIR", "T1", "T1ce", "T2".
std::string_view modality_display(int m);
// Parses a key or display name, case-insensitive ("t1c" and "t1gd" accepted for T1ce).
std::optional<int> parse_modality(std::string_view s);

using SubsetMask = std::uint8_t;
inline constexpr SubsetMask kFullMask = 0x0F;

inline constexpr bool subset_has(SubsetMask s, int m) { return (s >> m) & 1u; }
int subset_size(SubsetMask s);
std::vector<int> subset_modalities(SubsetMask s);
// "FLAIR+T1ce"; "none" for 0.
std::string subset_name(SubsetMask s);
// "flair,t1ce"
std::string subset_keys(SubsetMask s);
// Parses "flair,t1ce" / "FLAIR+T1ce" / "all"; throws gmd::UsageError on unknown names.
SubsetMask parse_subset(std::string_view s);

// The 15 non-empty subsets in the paper's table order: 1 modality (F, T1, T1ce, T2),
// then 2, then 3, then all 4; within a size in lexicographic order of modality index.
const std::vector<SubsetMask>& all_subsets();
// Non-empty subsets of `available`, in the same order.
std::vector<SubsetMask> subsets_within(SubsetMask available);

}  // namespace gmd
