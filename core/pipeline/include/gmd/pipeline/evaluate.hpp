#pragma once
// Evaluation on all 15 subsets (torch-free header): per case and subset, Dice and HD95 on thresholded
// predictions for WT/TC/ET; tables in the paper's Table 2 / Table 3 layouts.
#include <filesystem>
#include <string>
#include <vector>

#include "gmd/pipeline/service.hpp"

namespace gmd::pipeline {

struct CaseSubsetScore {
  std::string case_id;
  SubsetMask subset = 0;
  std::array<double, 3> dice{}, hd95{}, pred_ml{}, true_ml{};
};

struct EvalReport {
  std::string model_name;  // method + path
  std::vector<CaseSubsetScore> rows;  // case x subset
  // Mean over cases per subset (paper order of all_subsets()) and region.
  std::array<double, 3> mean_dice(SubsetMask s) const;
  std::array<double, 3> mean_hd95(SubsetMask s) const;
};

// Evaluates every case of `data_dir` that has a seg, on every subset of its present modalities that the
// model knows (encode once per case).
EvalReport evaluate(const Model& model, const std::filesystem::path& data_dir, const SegmentOptions& opt = {},
                    const Progress& progress = {});

// Paper layout. Table 2: rows WT/TC/ET, columns the 15 subsets + Avg. Table 3: missing 3/2/1/0 + Avg.
std::string table2_markdown(const EvalReport& r, bool hd95 = false);
std::string table2_csv(const EvalReport& r);
std::string table3_markdown(const EvalReport& r);
std::string per_case_csv(const EvalReport& r);
// Writes table2.md, table2.csv, table3.md, per_case.csv, summary.json into out_dir (atomically).
void write_report(const EvalReport& r, const std::filesystem::path& out_dir);

}  // namespace gmd::pipeline
