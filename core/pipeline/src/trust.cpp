#include "gmd/pipeline/trust.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cmath>
#include <filesystem>
#include <limits>
#include <stdexcept>

#include "gmd/common/error.hpp"
#include "gmd/common/regions.hpp"
#include "gmd/io/nifti.hpp"

namespace gmd::pipeline {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// block[region] as a number in lo..hi; errors read "ORIGIN: model.json FIELD.REGION ...".
double number_in(const nlohmann::json& block, const char* region, const std::string& origin, const std::string& field,
                 double lo, double hi) {
  if (!block.is_object() || !block.contains(region) || !block[region].is_number())
    throw InputError(fmt::format("{}: model.json {} has no number for {}", origin, field, region));
  const double v = block[region].get<double>();
  if (!std::isfinite(v) || v < lo || v > hi)
    throw InputError(fmt::format("{}: model.json {}.{} = {} is outside {}..{}", origin, field, region, v, lo, hi));
  return v;
}

}  // namespace

std::optional<AccuracyTable> accuracy_table(const nlohmann::json& card, const std::string& origin) {
  if (!card.is_object() || !card.contains("metrics")) return std::nullopt;
  const auto& m = card["metrics"];
  if (!m.is_object() || !m.contains("per_subset")) return std::nullopt;
  const auto& ps = m["per_subset"];
  if (!ps.is_object())
    throw InputError(origin + ": model.json metrics.per_subset is not an object of subsets");
  AccuracyTable t;
  t.test_set = m.contains("test_set") && m["test_set"].is_string() ? m["test_set"].get<std::string>() : "";
  if (m.contains("cases")) {
    if (!m["cases"].is_number_integer() || m["cases"].get<int64_t>() < 1 || m["cases"].get<int64_t>() > 1000000)
      throw InputError(origin + ": model.json metrics.cases is not a positive whole number");
    t.cases = m["cases"].get<int>();
  }
  for (const auto& [name, entry] : ps.items()) {
    SubsetMask s = 0;
    try {
      s = parse_subset(name);
    } catch (const std::exception&) {
      throw InputError(origin + ": model.json metrics.per_subset has an unknown subset '" + name + "'");
    }
    SubsetAccuracy a;
    const std::string field = "metrics.per_subset." + name;
    for (int r = 0; r < 3; ++r) {
      a.dice[r] = number_in(entry.is_object() && entry.contains("dice") ? entry["dice"] : nlohmann::json(),
                            region_name(r), origin, field + ".dice", 0.0, 1.0);
      a.hd95[r] = entry.is_object() && entry.contains("hd95")
                      ? number_in(entry["hd95"], region_name(r), origin, field + ".hd95", 0.0, 1e6)
                      : kNaN;
    }
    t.subsets[s] = a;
  }
  if (t.subsets.empty()) return std::nullopt;
  return t;
}

nlohmann::json accuracy_table_json(const AccuracyTable& t) {
  nlohmann::json j;
  j["test_set"] = t.test_set;
  j["cases"] = t.cases;
  nlohmann::json ps = nlohmann::json::object();
  std::array<double, 3> sum{0, 0, 0};
  for (const auto& [s, a] : t.subsets) {
    nlohmann::json e;
    for (int r = 0; r < 3; ++r) {
      e["dice"][region_name(r)] = a.dice[r];
      if (std::isfinite(a.hd95[r])) e["hd95"][region_name(r)] = a.hd95[r];
      sum[r] += a.dice[r];
    }
    ps[subset_name(s)] = e;
  }
  j["per_subset"] = ps;
  if (!t.subsets.empty())
    for (int r = 0; r < 3; ++r) j["average_dice"][region_name(r)] = sum[r] / static_cast<double>(t.subsets.size());
  return j;
}

TrustFlag trust_flag(double dice) {
  if (dice >= kGoodDice) return TrustFlag::Good;
  if (dice >= kLimitedDice) return TrustFlag::Limited;
  return TrustFlag::Unreliable;
}

const char* trust_flag_name(TrustFlag f) {
  switch (f) {
    case TrustFlag::Good: return "good";
    case TrustFlag::Limited: return "limited";
    default: return "unreliable";
  }
}

Trust expected_trust(const std::optional<AccuracyTable>& table, SubsetMask used, SubsetMask known) {
  Trust t;
  t.used = used;
  if (!table) {
    t.not_evaluated_reason = "the model card has no evaluation table (gmd evaluate --attach adds one)";
    return t;
  }
  const auto it = table->subsets.find(used);
  if (it == table->subsets.end()) {
    t.not_evaluated_reason = "the model's evaluation table has no row for " + subset_name(used);
    return t;
  }
  t.evaluated = true;
  t.cases = table->cases;
  t.test_set = table->test_set;
  for (int r = 0; r < 3; ++r) {
    RegionTrust& rt = t.region[r];
    rt.dice = it->second.dice[r];
    rt.hd95 = it->second.hd95[r];
    rt.flag = trust_flag(rt.dice);
    double best_gain = kUsefulGain - 1e-12;
    for (int m = 0; m < kNumModalities; ++m) {
      if (!subset_has(known, m) || subset_has(used, m)) continue;
      const auto with = table->subsets.find(static_cast<SubsetMask>(used | (1u << m)));
      if (with == table->subsets.end()) continue;
      const double gain = with->second.dice[r] - rt.dice;
      if (gain > best_gain) {
        best_gain = gain;
        rt.best_addition = m;
        rt.dice_with_addition = with->second.dice[r];
      }
    }
  }
  return t;
}

nlohmann::json trust_json(const Trust& t) {
  nlohmann::json j;
  j["modalities"] = subset_keys(t.used);
  j["evaluated"] = t.evaluated;
  if (!t.evaluated) {
    j["status"] = "not evaluated";
    j["reason"] = t.not_evaluated_reason;
    return j;
  }
  j["cases"] = t.cases;
  j["test_set"] = t.test_set;
  j["thresholds"] = {{"good", kGoodDice}, {"limited", kLimitedDice}};
  for (int r = 0; r < 3; ++r) {
    const RegionTrust& rt = t.region[r];
    nlohmann::json e{{"expected_dice", rt.dice}, {"flag", trust_flag_name(rt.flag)}};
    if (std::isfinite(rt.hd95)) e["expected_hd95_mm"] = rt.hd95;
    if (rt.best_addition >= 0)
      e["would_help_most"] = {{"modality", std::string(modality_key(rt.best_addition))},
                              {"expected_dice", rt.dice_with_addition}};
    j["regions"][region_name(r)] = e;
  }
  return j;
}

std::string trust_text(const Trust& t) {
  if (!t.evaluated) return "Expected accuracy with " + subset_name(t.used) + ": not evaluated (" + t.not_evaluated_reason + ")";
  std::string s = fmt::format("Expected Dice with {} ({} held-out cases):", subset_name(t.used), t.cases);
  for (int r = 0; r < 3; ++r) {
    const RegionTrust& rt = t.region[r];
    s += fmt::format("{} {} {:.2f} {}", r ? ";" : "", region_name(r), rt.dice, trust_flag_name(rt.flag));
    if (rt.best_addition >= 0)
      s += fmt::format(", adding {}: {:.2f}", modality_display(rt.best_addition), rt.dice_with_addition);
  }
  return s;
}

Agreement agreement_from_labels(const std::vector<LabelMap>& per_subset, SubsetMask present) {
  if (per_subset.empty()) throw std::invalid_argument("agreement_from_labels: no label maps");
  Agreement a;
  a.present = present;
  a.subsets = static_cast<int>(per_subset.size());
  const Geometry& g = per_subset.front().geom;
  const size_t n = g.voxel_count();
  std::array<std::vector<uint16_t>, 3> count;
  for (auto& c : count) c.assign(n, 0);
  for (const auto& lm : per_subset) {
    if (lm.voxels.size() != n) throw std::invalid_argument("agreement_from_labels: label maps of different sizes");
    for (size_t i = 0; i < n; ++i) {
      const uint8_t l = lm.voxels[i];
      if (l == 0) continue;
      for (int r = 0; r < 3; ++r) count[r][i] += label_in_region(l, r);
    }
  }
  const float inv = 1.0f / static_cast<float>(a.subsets);
  for (int r = 0; r < 3; ++r) {
    a.fraction[r].geom = g;
    a.fraction[r].voxels.resize(n);
    for (size_t i = 0; i < n; ++i) a.fraction[r].voxels[i] = static_cast<float>(count[r][i]) * inv;
  }
  a.full_agreement_share.fill(kNaN);
  return a;
}

void summarise_agreement(Agreement& a, const LabelMap& seg) {
  const double v = seg.geom.voxel_volume_ml();
  for (int r = 0; r < 3; ++r) {
    int64_t inside = 0, full = 0;
    const auto& f = a.fraction[r].voxels;
    for (size_t i = 0; i < seg.voxels.size() && i < f.size(); ++i) {
      if (!label_in_region(seg.voxels[i], r)) continue;
      ++inside;
      full += f[i] >= 0.999f;
    }
    a.region_ml[r] = static_cast<double>(inside) * v;
    a.full_agreement_share[r] = inside ? static_cast<double>(full) / static_cast<double>(inside) : kNaN;
  }
}

nlohmann::json agreement_json(const Agreement& a) {
  nlohmann::json j;
  j["modalities"] = subset_keys(a.present);
  j["subsets"] = a.subsets;
  j["definition"] = "per voxel, the fraction of the non-empty subsets of the present modalities whose prediction "
                    "includes the voxel in the region";
  for (int r = 0; r < 3; ++r) {
    nlohmann::json e{{"volume_ml", a.region_ml[r]}};
    e["all_subsets_agree_share"] =
        std::isfinite(a.full_agreement_share[r]) ? nlohmann::json(a.full_agreement_share[r]) : nlohmann::json();
    j["regions"][region_name(r)] = e;
  }
  return j;
}

std::string agreement_text(const Agreement& a) {
  if (a.subsets <= 1)
    return "Agreement: one sequence only (" + subset_name(a.present) + "), nothing to cross-check";
  std::string s = fmt::format("Agreement of the {} subsets of {}: share of each region that every subset includes:",
                              a.subsets, subset_name(a.present));
  for (int r = 0; r < 3; ++r) {
    if (std::isfinite(a.full_agreement_share[r]))
      s += fmt::format("{} {} {:.0f} %", r ? ";" : "", region_name(r), 100.0 * a.full_agreement_share[r]);
    else
      s += fmt::format("{} {} empty", r ? ";" : "", region_name(r));
  }
  return s;
}

LabelMap agreement_bins(const Agreement& a, int region) {
  if (region < 0 || region >= kNumRegions) throw std::invalid_argument("agreement_bins: region must be 0, 1 or 2");
  const Image& f = a.fraction[static_cast<size_t>(region)];
  LabelMap m;
  m.geom = f.geom;
  m.voxels.assign(f.voxels.size(), 0);
  const float some = a.subsets > 0 ? 0.5f / static_cast<float>(a.subsets) : 1.0f;
  for (size_t i = 0; i < f.voxels.size(); ++i) {
    const float v = f.voxels[i];
    m.voxels[i] = v >= 0.999f ? 1 : v >= 0.5f ? 2 : v >= some ? 4 : 0;
  }
  return m;
}

std::string agreement_base(const std::string& p) {
  std::string lower = p;
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const std::string ext : {".nii.gz", ".nii"})
    if (lower.size() > ext.size() && lower.compare(lower.size() - ext.size(), std::string::npos, ext) == 0)
      return p.substr(0, p.size() - ext.size());
  return p;
}

std::vector<std::string> write_agreement(const Agreement& a, const std::string& base) {
  std::vector<std::string> written;
  try {
    for (int r = 0; r < 3; ++r) {
      const std::string file = base + "_" + region_name(r) + ".nii.gz";
      io::write_image(file, a.fraction[r]);
      written.push_back(file);
    }
  } catch (...) {
    std::error_code ec;
    for (const auto& f : written) std::filesystem::remove(f, ec);  // all three or none
    throw;
  }
  return written;
}

}  // namespace gmd::pipeline
