#pragma once
// How far to trust each region for the modalities a case has (torch-free header):
// - the model's evaluation table (model.json "metrics": Dice and HD95 per region for each modality subset, on
//   held-out cases) read as the expected accuracy of the modalities in use, with a plain flag, and the missing
//   sequence that would help each region most;
// - the per-voxel agreement of every subset of the present modalities (the fraction of subsets whose prediction
//   puts a voxel in WT / TC / ET).
// Thresholds and their meaning: docs/trust.md.
#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "gmd/common/modality.hpp"
#include "gmd/common/image.hpp"

namespace gmd::pipeline {

struct SubsetAccuracy {
  std::array<double, 3> dice{};  // WT, TC, ET (0..1), mean over the held-out cases
  std::array<double, 3> hd95{};  // mm
};

struct AccuracyTable {
  std::string test_set;  // which held-out cases (plain words)
  int cases = 0;
  std::map<SubsetMask, SubsetAccuracy> subsets;
};

// The table of a model card (model.json "metrics": {"test_set", "cases", "per_subset": {"FLAIR+T2": {"dice":
// {"WT",...}, "hd95": {...}}}}). nullopt when the card has none (the model was not evaluated). Throws
// gmd::InputError naming `origin` when the block is there but malformed (a Dice outside 0..1, a bad subset name...).
std::optional<AccuracyTable> accuracy_table(const nlohmann::json& card, const std::string& origin);
// The card's "metrics" block for a table (what accuracy_table reads back), with "average_dice" over its subsets.
nlohmann::json accuracy_table_json(const AccuracyTable& t);

enum class TrustFlag { Good, Limited, Unreliable };
inline constexpr double kGoodDice = 0.80;     // expected Dice >= 0.80: good
inline constexpr double kLimitedDice = 0.50;  // 0.50 <= Dice < 0.80: limited; below: unreliable
// A missing sequence is named as the one that would help when it raises the expected Dice by at least this much.
inline constexpr double kUsefulGain = 0.02;
TrustFlag trust_flag(double dice);
const char* trust_flag_name(TrustFlag f);  // "good", "limited", "unreliable"

struct RegionTrust {
  double dice = 0.0, hd95 = 0.0;  // expected, for the subset in use
  TrustFlag flag = TrustFlag::Unreliable;
  int best_addition = -1;         // modality index that raises the expected Dice most when added; -1: none helps
  double dice_with_addition = 0.0;
};

struct Trust {
  bool evaluated = false;
  std::string not_evaluated_reason;  // when !evaluated, plain words ("the model card has no evaluation table")
  SubsetMask used = 0;
  int cases = 0;
  std::string test_set;
  std::array<RegionTrust, 3> region{};  // WT, TC, ET
};

// Expected accuracy of `used` from the table; `known` = the modalities the model can use (candidates for the
// "would help most" hint are known \ used).
Trust expected_trust(const std::optional<AccuracyTable>& table, SubsetMask used, SubsetMask known);
nlohmann::json trust_json(const Trust& t);
// "Expected Dice with FLAIR+T2 (10 held-out cases): WT 0.89 good; TC 0.61 limited, adding T1ce: 0.85; ..."
// or "Expected accuracy: not evaluated (...)".
std::string trust_text(const Trust& t);

// Per-voxel agreement of the subsets of the present modalities.
struct Agreement {
  SubsetMask present = 0;
  int subsets = 0;                      // non-empty subsets of `present` (1, 3, 7 or 15)
  std::array<Image, 3> fraction;    // WT, TC, ET: fraction of the subsets that include the voxel (0..1)
  // Among the voxels of the region in `labels` (the segmentation with every present modality), the share that
  // every subset includes (fraction >= 0.999); NaN for an empty region.
  std::array<double, 3> full_agreement_share{};
  std::array<double, 3> region_ml{};    // the segmentation's region volumes, for the summary
};
// Counts, per voxel, the subsets whose label map puts it in each region. All label maps share one geometry.
Agreement agreement_from_labels(const std::vector<LabelMap>& per_subset, SubsetMask present);
// Fills full_agreement_share/region_ml from the segmentation with every present modality.
void summarise_agreement(Agreement& a, const LabelMap& segmentation);
nlohmann::json agreement_json(const Agreement& a);
std::string agreement_text(const Agreement& a);
// The agreement of region r (0 WT, 1 TC, 2 ET) binned into a label map for display: 1 where every subset includes
// the voxel (fraction >= 0.999), 2 where at least half do, 4 where fewer than half but at least one do (fraction
// >= 0.5 / subsets, so linear resampling's fringe below one subset stays 0), 0 elsewhere.
LabelMap agreement_bins(const Agreement& a, int region);
// The base of the agreement maps written next to a segmentation: "path/seg.nii.gz" or ".nii" (any case) -> "path/seg";
// any other name is its own base.
std::string agreement_base(const std::string& segmentation_path);
// Writes the three fraction maps as float NIfTI: <base>_WT.nii.gz, <base>_TC.nii.gz, <base>_ET.nii.gz
// (`base` = a path without the extension). Returns the files written.
std::vector<std::string> write_agreement(const Agreement& a, const std::string& base);

}  // namespace gmd::pipeline
