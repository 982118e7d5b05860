#pragma once
// The public, torch-free API of core for the GUI and the CLI: models, segmentation, ablation,
// datasets, evaluation. Implemented on top of io (ITK) and engine (LibTorch); this header includes
// neither LibTorch nor ITK, so Qt translation units can include it.
#include <array>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "gmd/common/modality.hpp"
#include "gmd/io/case.hpp"
#include "gmd/common/image.hpp"
#include "gmd/pipeline/trust.hpp"

namespace gmd::pipeline {

// LibTorch's CPU threads for this process: n > 0 exactly n, n <= 0 the cores this process may use
// (sched_getaffinity). Returns the count in effect. Call before segmenting/training.
int set_threads(int n);
// The cores this process may use.
int available_cores();

struct Progress {
  std::function<void(const std::string& stage, double fraction)> report;  // may be empty
  std::function<bool()> cancelled;  // may be empty; when true the operation throws gmd::Cancelled
};

// Where this installation's resources are and how each was found (`gmd info`): the executable, the bundled model
// (GMD_MODEL_DIR, <exe>/../share/gmd-studio/models/default, the source tree), the demo case (GMD_DEMO_DIR or the
// same places), the colour table. One line each; "not found (looked in ...)" for a missing one.
std::string installation_report();

class Model {
 public:
  // A run folder (model.pt + model.json) or a model.pt/model.json file. Throws gmd::InputError.
  static Model load(const std::filesystem::path& run_or_file);
  // The bundled default model (resources/models/default, found next to the executable's install
  // prefix or the source tree; GMD_MODEL_DIR overrides). Throws InputError when absent.
  static std::filesystem::path default_path();

  SubsetMask modalities() const;      // modalities the model knows
  std::string method() const;         // "ds-gmd", ...
  const nlohmann::json& card() const; // model.json
  std::string summary() const;        // multi-line human readable model card
  std::filesystem::path path() const;
  // Checks that the model can segment with `use` (subset of the model's modalities); returns an empty
  // string or a plain-words reason ("the model was trained without T2 ...").
  std::string check_usable(SubsetMask use) const;
  // The evaluation table of the model card (model.json "metrics"; checked when the model is loaded); nullopt for a
  // model that was not evaluated.
  const std::optional<AccuracyTable>& accuracy() const;
  // Expected Dice per region for segmenting with `used`, with its flag ("not evaluated" without a table).
  Trust expected_trust(SubsetMask used) const;

  struct Impl;
  std::shared_ptr<Impl> impl;  // opaque
};

struct Segmentation {
  LabelMap labels;                  // BraTS labels in the case's geometry
  SubsetMask used = 0;
  std::array<double, 3> region_ml{};    // WT, TC, ET
  std::array<double, 3> label_ml{};     // NCR/NET (1), ED (2), ET (4)
  std::string device;                   // "cpu" / "cuda"
  double seconds = 0.0;
  std::optional<Agreement> agreement;   // with SegmentOptions::agreement (summarised against `labels`)
  Trust trust;                          // the model's expected accuracy for `used` (Model::expected_trust)
};

struct SegmentOptions {
  std::string device = "auto";
  int64_t patch = 0;            // 0 = from the model card (or 96)
  double overlap = 0.5;
  int64_t et_min_voxels = 0;    // post-processing: small ET -> core (0 = off)
  // Also predict every non-empty subset of the modalities in use (encode once) and return their per-voxel
  // agreement. With resampling, the subsets are thresholded on the model's grid and the fractions are resampled
  // (linear) to the case's grid; the segmentation itself is unchanged.
  bool agreement = false;
};

// Runs the model on exactly the modalities in `use` (must be present in the case and known to the
// model, else gmd::InputError in plain words). Out-of-memory on the GPU -> InputError saying so.
Segmentation segment(const Model& model, const io::Case& c, SubsetMask use, const SegmentOptions& opt = {},
                     const Progress& progress = {});

struct AblationEntry {
  SubsetMask subset = 0;
  LabelMap labels;
  std::array<double, 3> region_ml{};
  std::array<double, 3> dice{};   // vs reference
  std::array<double, 3> hd95{};
};
struct Ablation {
  std::vector<AblationEntry> entries;  // every subset of the case's present modalities (paper order)
  bool against_truth = false;          // reference = the case's seg; otherwise the all-present prediction
  SubsetMask reference_subset = 0;
};
// Encode-once prediction for every subset of the present modalities.
Ablation ablate(const Model& model, const io::Case& c, const SegmentOptions& opt = {}, const Progress& progress = {});
// Writes DIR/<subset keys>.nii.gz for each entry and DIR/ablation.csv (atomically).
void write_ablation(const Ablation& a, const std::filesystem::path& dir);
std::string ablation_csv(const Ablation& a);

// Region/label volumes of a label map, in mL.
std::array<double, 3> region_volumes_ml(const LabelMap& labels);
std::array<double, 3> label_volumes_ml(const LabelMap& labels);

}  // namespace gmd::pipeline
