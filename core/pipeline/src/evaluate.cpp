#include "gmd/common/regions.hpp"
#include "gmd/common/run_files.hpp"
#include "gmd/pipeline/evaluate.hpp"

#include <spdlog/spdlog.h>

#include <cmath>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/engine/metrics.hpp"
#include "gmd/io/labels.hpp"
#include "pipeline_internal.hpp"

namespace gmd::pipeline {
namespace fs = std::filesystem;

namespace {

std::string fmt_num(double v, int prec) {
  if (std::isnan(v)) return "n/a";
  std::ostringstream s;
  s << std::fixed << std::setprecision(prec) << v;
  return s.str();
}

std::array<double, 3> mean_of(const EvalReport& r, SubsetMask s, bool hd) {
  std::array<double, 3> sum{0, 0, 0};
  int n = 0;
  for (const auto& row : r.rows) {
    if (row.subset != s) continue;
    for (int k = 0; k < 3; ++k) sum[k] += hd ? row.hd95[k] : row.dice[k];
    ++n;
  }
  const double nan = std::nan("");
  if (n == 0) return {nan, nan, nan};
  for (auto& v : sum) v /= n;
  return sum;
}

// Mean over the given subsets of per-subset means (subsets without rows are skipped).
double mean_over(const EvalReport& r, const std::vector<SubsetMask>& subsets, int region, bool hd) {
  double sum = 0;
  int n = 0;
  for (auto s : subsets) {
    const double v = mean_of(r, s, hd)[region];
    if (!std::isnan(v)) {
      sum += v;
      ++n;
    }
  }
  return n ? sum / n : std::nan("");
}

// For every P among `subsets` with two or more modalities: the P-segmentation's voxels of each region split into
// full agreement of the subsets of P and partial, with their errors against the case's reference.
void check_agreement(const io::Case& c, const std::vector<SubsetMask>& subsets, const std::vector<LabelMap>& preds,
                     std::vector<AgreementCheck>& out) {
  const size_t n = c.seg->voxels.size();
  const size_t k = subsets.size();  // <= 15: one bit per subset
  std::array<std::vector<uint16_t>, 3> member;
  for (auto& m : member) m.assign(n, 0);
  for (size_t s = 0; s < k; ++s)
    for (size_t i = 0; i < n; ++i) {
      const uint8_t l = preds[s].voxels[i];
      if (!l) continue;
      for (int r = 0; r < 3; ++r)
        if (label_in_region(l, r)) member[r][i] |= static_cast<uint16_t>(1u << s);
    }
  for (size_t p = 0; p < k; ++p) {
    if (subset_size(subsets[p]) < 2) continue;
    uint16_t within = 0;
    for (size_t s = 0; s < k; ++s)
      if ((subsets[s] & subsets[p]) == subsets[s]) within |= static_cast<uint16_t>(1u << s);
    for (int r = 0; r < 3; ++r) {
      AgreementCheck a;
      a.case_id = c.id;
      a.subset = subsets[p];
      a.region = r;
      for (size_t i = 0; i < n; ++i) {
        const uint16_t b = member[r][i];
        if (!(b >> p & 1u)) continue;
        const bool wrong = !label_in_region(c.seg->voxels[i], r);
        if ((b & within) == within) {
          ++a.full;
          a.full_wrong += wrong;
        } else {
          ++a.partial;
          a.partial_wrong += wrong;
        }
      }
      out.push_back(a);
    }
  }
}
}  // namespace

std::array<double, 3> EvalReport::mean_dice(SubsetMask s) const { return mean_of(*this, s, false); }
std::array<double, 3> EvalReport::mean_hd95(SubsetMask s) const { return mean_of(*this, s, true); }

EvalReport evaluate(const Model& model, const fs::path& data_dir, const SegmentOptions& opt, const Progress& progress) {
  EvalReport rep;
  rep.model_name = model.method() + " (" + model.path().string() + ")";
  const auto cases = io::list_cases(data_dir);
  if (cases.empty()) throw InputError(data_dir.string() + ": no BraTS case folders found");
  int scored = 0;
  for (size_t ci = 0; ci < cases.size(); ++ci) {
    if (progress.cancelled && progress.cancelled()) throw Cancelled();
    const auto files = io::discover_case(cases[ci]);
    if (!files.seg) {
      spdlog::warn("{}: no seg file, skipped", cases[ci].string());
      continue;
    }
    const io::Case c = io::load_case(files);
    const SubsetMask present = c.present() & model.modalities();
    if (present == 0) {
      spdlog::warn("{}: none of the model's modalities present, skipped", c.id);
      continue;
    }
    const std::vector<SubsetMask> subsets = subsets_within(present);
    Progress inner;
    inner.cancelled = progress.cancelled;
    if (progress.report)
      inner.report = [&](const std::string&, double f) { progress.report(c.id, (ci + f) / cases.size()); };
    const auto preds = detail::predict_case(model, detail::restrict_case(c, present), subsets, opt, inner, nullptr);
    const auto& g = c.geom;
    const std::array<int64_t, 3> dims{int64_t(g.size[2]), int64_t(g.size[1]), int64_t(g.size[0])};
    const std::array<double, 3> spacing{g.spacing[2], g.spacing[1], g.spacing[0]};
    const double vml = g.voxel_volume_ml();
    for (size_t i = 0; i < subsets.size(); ++i) {
      const auto sc = engine::score_labels(preds[i].voxels, c.seg->voxels, dims, spacing);
      CaseSubsetScore row;
      row.case_id = c.id;
      row.subset = subsets[i];
      row.dice = sc.dice;
      row.hd95 = sc.hd95;
      for (int k = 0; k < 3; ++k) {
        row.pred_ml[k] = sc.pred_voxels[k] * vml;
        row.true_ml[k] = sc.true_voxels[k] * vml;
      }
      rep.rows.push_back(row);
    }
    check_agreement(c, subsets, preds, rep.agreement);
    ++scored;
    spdlog::info("evaluated {} ({}/{}): full-modality Dice WT {:.3f} TC {:.3f} ET {:.3f}", c.id, ci + 1, cases.size(),
                 rep.rows.back().dice[0], rep.rows.back().dice[1], rep.rows.back().dice[2]);
  }
  if (scored == 0) throw InputError(data_dir.string() + ": no case with a seg file and usable modalities to evaluate");
  return rep;
}

std::string table2_markdown(const EvalReport& r, bool hd95) {
  const auto& subsets = all_subsets();
  std::ostringstream s;
  s << "| Region |";
  for (auto sub : subsets) s << ' ' << subset_name(sub) << " |";
  s << " Avg |\n|---|";
  for (size_t i = 0; i <= subsets.size(); ++i) s << "---:|";
  s << '\n';
  for (int k = 0; k < 3; ++k) {
    s << "| " << region_name(k) << " |";
    for (auto sub : subsets) s << ' ' << fmt_num(mean_of(r, sub, hd95)[k] * (hd95 ? 1 : 100), hd95 ? 2 : 2) << " |";
    s << ' ' << fmt_num(mean_over(r, subsets, k, hd95) * (hd95 ? 1 : 100), 2) << " |\n";
  }
  return s.str();
}

std::string table2_csv(const EvalReport& r) {
  const auto& subsets = all_subsets();
  std::ostringstream s;
  s << "metric,region";
  for (auto sub : subsets) s << ',' << subset_name(sub);
  s << ",Avg\n";
  for (bool hd : {false, true})
    for (int k = 0; k < 3; ++k) {
      s << (hd ? "hd95_mm" : "dice") << ',' << region_name(k);
      for (auto sub : subsets) s << ',' << fmt_num(mean_of(r, sub, hd)[k], 4);
      s << ',' << fmt_num(mean_over(r, subsets, k, hd), 4) << '\n';
    }
  return s.str();
}

std::string table3_markdown(const EvalReport& r) {
  std::map<int, std::vector<SubsetMask>> by_missing;
  for (auto sub : all_subsets()) by_missing[kNumModalities - subset_size(sub)].push_back(sub);
  std::ostringstream s;
  s << "| Region | 3 missing | 2 missing | 1 missing | 0 missing | Avg |\n|---|---:|---:|---:|---:|---:|\n";
  for (int k = 0; k < 3; ++k) {
    s << "| " << region_name(k) << " (Dice %) |";
    for (int miss : {3, 2, 1, 0}) s << ' ' << fmt_num(mean_over(r, by_missing[miss], k, false) * 100, 2) << " |";
    s << ' ' << fmt_num(mean_over(r, all_subsets(), k, false) * 100, 2) << " |\n";
  }
  return s.str();
}

std::string per_case_csv(const EvalReport& r) {
  std::ostringstream s;
  s << "case,subset,region,dice,hd95_mm,pred_ml,true_ml\n";
  for (const auto& row : r.rows)
    for (int k = 0; k < 3; ++k)
      s << row.case_id << ",\"" << subset_name(row.subset) << "\"," << region_name(k) << ',' << fmt_num(row.dice[k], 4)
        << ',' << fmt_num(row.hd95[k], 3) << ',' << fmt_num(row.pred_ml[k], 3) << ',' << fmt_num(row.true_ml[k], 3)
        << '\n';
  return s.str();
}

std::string agreement_markdown(const EvalReport& r) {
  std::ostringstream s;
  s << "| Modalities | Region | Voxels | All subsets agree | Error rate, all agree | Error rate, partial |\n";
  s << "|---|---|---:|---:|---:|---:|\n";
  for (int size = 2; size <= kNumModalities; ++size)
    for (int reg = 0; reg < 3; ++reg) {
      int64_t full = 0, fw = 0, part = 0, pw = 0;
      for (const auto& a : r.agreement)
        if (a.region == reg && subset_size(a.subset) == size) {
          full += a.full;
          fw += a.full_wrong;
          part += a.partial;
          pw += a.partial_wrong;
        }
      if (full + part == 0) continue;
      auto pct = [](int64_t a, int64_t b) { return b ? fmt_num(100.0 * double(a) / double(b), 1) + " %" : std::string("n/a"); };
      s << "| " << size << " | " << region_name(reg) << " | " << full + part << " | " << pct(full, full + part) << " | "
        << pct(fw, full) << " | " << pct(pw, part) << " |\n";
    }
  return s.str();
}

namespace {
void write_report_files(const EvalReport& r, const fs::path& out) {
  std::string t2 = "# Table 2 layout: Dice (%) per region and modality subset\n\nModel: " + r.model_name + "\n\n" +
                   table2_markdown(r, false) + "\n## HD95 (mm)\n\n" + table2_markdown(r, true);
  write_text_atomically(out / "table2.md", t2);
  write_text_atomically(out / "table2.csv", table2_csv(r));
  write_text_atomically(out / "table3.md", "# Table 3 layout: Dice (%) by number of missing modalities\n\nModel: " +
                                               r.model_name + "\n\n" + table3_markdown(r));
  write_text_atomically(out / "per_case.csv", per_case_csv(r));
  write_text_atomically(out / "agreement.md",
                        "# Agreement of subsets vs errors\n\nModel: " + r.model_name +
                            "\n\nFor each case and each set P of two or more modalities: the voxels the P-segmentation "
                            "puts in a region, split by whether every non-empty subset of P also includes them; error "
                            "rate = share not in the reference region. Pooled over cases and over the sets P of each "
                            "size.\n\n" + agreement_markdown(r));
  nlohmann::json j;
  j["model"] = r.model_name;
  std::set<std::string> ids;
  for (const auto& row : r.rows) ids.insert(row.case_id);
  j["cases"] = ids.size();
  for (auto sub : all_subsets()) {
    const auto d = r.mean_dice(sub);
    const auto h = r.mean_hd95(sub);
    if (std::isnan(d[0])) continue;
    j["subsets"][subset_name(sub)] = {{"dice", {{"WT", d[0]}, {"TC", d[1]}, {"ET", d[2]}}},
                                      {"hd95", {{"WT", h[0]}, {"TC", h[1]}, {"ET", h[2]}}}};
  }
  for (int k = 0; k < 3; ++k) j["average_dice"][region_name(k)] = mean_over(r, all_subsets(), k, false);
  write_text_atomically(out / "summary.json", j.dump(2));
}
}  // namespace

AccuracyTable accuracy_table_from(const EvalReport& r, const std::string& test_set) {
  AccuracyTable t;
  t.test_set = test_set;
  std::set<std::string> ids;
  for (const auto& row : r.rows) ids.insert(row.case_id);
  t.cases = static_cast<int>(ids.size());
  for (auto sub : all_subsets()) {
    const auto d = r.mean_dice(sub);
    if (std::isnan(d[0])) continue;
    t.subsets[sub] = SubsetAccuracy{d, r.mean_hd95(sub)};
  }
  return t;
}

namespace {
std::set<std::string> cases_used_for(const Model& model) {
  std::set<std::string> used;
  for (const char* key : {"train_cases", "val_cases"}) {
    const auto p = nlohmann::json::json_pointer("/data/" + std::string(key));
    if (model.card().contains(p) && model.card()[p].is_array())
      for (const auto& id : model.card()[p])
        if (id.is_string()) used.insert(id.get<std::string>());
  }
  return used;
}
void refuse_used_case(const std::set<std::string>& used, const std::string& id) {
  if (used.count(id))
    throw UsageError("--attach: case " + id + " was used to train or validate this model; "
                     "the expected accuracy must come from held-out cases");
}
}  // namespace

void check_held_out(const Model& model, const fs::path& data_dir) {
  const auto used = cases_used_for(model);
  for (const auto& dir : io::list_cases(data_dir)) refuse_used_case(used, io::discover_case(dir).id);
}

void attach_accuracy(const Model& model, const EvalReport& r, const std::string& test_set) {
  nlohmann::json card = model.card();
  const auto used = cases_used_for(model);
  for (const auto& row : r.rows) refuse_used_case(used, row.case_id);
  if (r.rows.empty()) throw UsageError("--attach: the evaluation has no cases");
  const AccuracyTable t = accuracy_table_from(r, test_set);
  nlohmann::json metrics = accuracy_table_json(t);
  // Keep what else the card said about its metrics (e.g. the demo-case check), replace the table.
  if (card.contains("metrics") && card["metrics"].is_object())
    for (const auto& [k, v] : card["metrics"].items())
      if (!metrics.contains(k) && k != "per_subset") metrics[k] = v;
  card["metrics"] = metrics;
  write_text_atomically(model.path() / run_files::kCard, card.dump(2) + "\n");
}

void write_report(const EvalReport& r, const fs::path& out_dir) {
  // All six files or none (a failure midway leaves the folder as it was).
  write_folder_atomically(out_dir, [&](const fs::path& out) { write_report_files(r, out); });
}

}  // namespace gmd::pipeline
