#pragma once
// Evaluation on all 15 subsets (torch-free header): per case and subset, Dice and HD95 on thresholded
// predictions for WT/TC/ET; tables in the paper's Table 2 / Table 3 layouts.
#include <filesystem>
#include <string>
#include <vector>

#include "gmd/pipeline/service.hpp"
#include "gmd/pipeline/trust.hpp"

namespace gmd::pipeline {

struct CaseSubsetScore {
  std::string case_id;
  SubsetMask subset = 0;
  std::array<double, 3> dice{}, hd95{}, pred_ml{}, true_ml{};
};

// Does the agreement of subsets say where to trust a segmentation? For a case, the modalities P of a segmentation
// (|P| >= 2) and a region: the voxels the P-segmentation puts in the region, split by whether every non-empty subset
// of P includes them (full agreement) or not, and how many of each are wrong (not in the reference region).
struct AgreementCheck {
  std::string case_id;
  SubsetMask subset = 0;  // P
  int region = 0;
  int64_t full = 0, full_wrong = 0, partial = 0, partial_wrong = 0;
};

struct EvalReport {
  std::string model_name;  // method + path
  std::vector<CaseSubsetScore> rows;  // case x subset
  std::vector<AgreementCheck> agreement;  // case x subset (|P| >= 2) x region
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
// Error rates of fully vs partly agreed voxels by number of modalities (agreement.md).
std::string agreement_markdown(const EvalReport& r);
// The report as a model's evaluation table (mean Dice/HD95 per subset; `test_set` says which cases, in words).
AccuracyTable accuracy_table_from(const EvalReport& r, const std::string& test_set);
// Stores the table in the model's model.json ("metrics", atomically, the rest of the card unchanged) so that
// segmentations show the expected accuracy for the modalities in use. Refuses (gmd::UsageError) a report on any case
// the model was trained or validated on (model.json data.train_cases / data.val_cases).
void attach_accuracy(const Model& model, const EvalReport& r, const std::string& test_set);
// The same refusal before evaluating: throws gmd::UsageError when a case of `data_dir` was used for the model.
void check_held_out(const Model& model, const std::filesystem::path& data_dir);

// Writes table2.md, table2.csv, table3.md, per_case.csv, agreement.md, summary.json into out_dir (atomically).
void write_report(const EvalReport& r, const std::filesystem::path& out_dir);

}  // namespace gmd::pipeline
