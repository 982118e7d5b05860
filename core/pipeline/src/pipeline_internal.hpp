#pragma once
// Private to core/pipeline (includes LibTorch).
#include <mutex>
#include <optional>

#include "gmd/engine/model_io.hpp"
#include "gmd/io/preprocess.hpp"
#include "gmd/pipeline/service.hpp"

namespace gmd::pipeline {

struct Model::Impl {
  engine::LoadedModel loaded;
  io::PreprocessParams params;
  std::optional<std::array<double, 3>> spacing;  // training spacing (x,y,z mm); inputs are resampled to it
  std::optional<AccuracyTable> accuracy;  // model.json "metrics" (checked at load)
  std::mutex mutex;  // the network is moved between devices and run by one caller at a time
};

namespace detail {
io::Case restrict_case(const io::Case& c, SubsetMask use);
void check_case_for_model(const Model& model, const io::Case& c, SubsetMask use);
// Per-subset probabilities (3,D,H,W) in the preprocessed frame.
std::vector<torch::Tensor> run_model(const Model& model, const io::Preprocessed& pp, const std::vector<SubsetMask>& subsets,
                                     const SegmentOptions& opt, const Progress& progress, std::string* device_name);
// Label maps in the geometry of `c`, one per subset (resampling to the model's spacing and back when needed).
// With `agreement`: also the per-voxel agreement of all `subsets` (in the geometry of `c`); then only the label map
// of the last subset is returned (the others are only counted).
std::vector<LabelMap> predict_case(const Model& model, const io::Case& c, const std::vector<SubsetMask>& subsets,
                                       const SegmentOptions& opt, const Progress& progress, std::string* device_name,
                                       Agreement* agreement = nullptr);
// Thresholded BraTS labels in the padded frame, zero outside the brain mask.
std::vector<uint8_t> probs_to_masked_labels(const torch::Tensor& probs, const io::Preprocessed& pp, int64_t et_min);
}  // namespace detail

}  // namespace gmd::pipeline
