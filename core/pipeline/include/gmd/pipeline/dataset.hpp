#pragma once
// Bridge io (ITK) -> engine (LibTorch). INCLUDES LIBTORCH: for the CLI and tests only, never for Qt code.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gmd/engine/sample.hpp"
#include "gmd/engine/train_job.hpp"
#include "gmd/io/preprocess.hpp"
#include "gmd/pipeline/service.hpp"

namespace gmd::pipeline {

// (4,D,H,W) float image (zeros for absent channels) + (3,D,H,W) uint8 regions when pp has labels.
engine::Sample to_sample(const io::Preprocessed& pp, const std::string& id);

struct DatasetInfo {
  std::vector<std::string> case_ids;
  int with_seg = 0;
  std::array<int, kNumModalities> modality_counts{};
  std::array<double, 3> spacing{0, 0, 0};  // of the first case (x, y, z mm); a warning is logged if cases differ
};
// Loads every case of a BraTS-layout dataset folder, preprocesses it and converts it to samples.
// require_seg: cases without a seg file are an error (training) — the message names the case.
std::vector<engine::Sample> load_dataset(const std::filesystem::path& dir, const io::PreprocessParams& pp,
                                         bool require_seg, DatasetInfo* info = nullptr, const Progress& progress = {});

// The training use case's data: request.data_dir as a sample cache file (engine::load_training_cache) or a dataset
// folder (load_dataset with segmentations required, cases made to a multiple of the request's patch_multiple()).
engine::TrainingData load_training_data(const TrainRequest& request, const Progress& progress = {});

nlohmann::json preprocess_to_json(const io::PreprocessParams& p);
io::PreprocessParams preprocess_from_json(const nlohmann::json& card);  // defaults when absent

}  // namespace gmd::pipeline
