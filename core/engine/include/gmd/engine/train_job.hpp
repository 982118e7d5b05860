#pragma once
// The training use case (issue 13, item 5): a TrainRequest (gmd/common/train_request.hpp) and the loaded cases in, a
// trained run folder out. `gmd train` and every other front end only parse and load; the validation split, the
// modalities, the model card and the engine configuration are decided here, once.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "gmd/common/train_request.hpp"
#include "gmd/engine/sample.hpp"
#include "gmd/engine/trainer.hpp"

namespace gmd::engine {

// The request as the engine's configuration: names parsed to enums, widths to levels, the patch checked against
// them. Throws gmd::UsageError with the request's problem (TrainRequest::validate) in plain words.
TrainConfig train_config(const TrainRequest& r);

// The cases a run trains on, with what the model card records about them.
struct TrainingData {
  std::vector<Sample> samples;  // sorted as the dataset lists them; the last val_cases are the validation split
  nlohmann::json preprocessing = nlohmann::json::object();  // how the cases were made (spacing, normalisation...)
  nlohmann::json source = nlohmann::json::object();         // {"cache": FILE, "dir": DATASET} as known
};

// A sample cache written by `gmd cache` (no ITK needed). Throws gmd::InputError when it is empty or a case has no
// segmentation, gmd::UsageError when a case's size is not a multiple of `multiple` (with the command that fixes it).
TrainingData load_training_cache(const std::filesystem::path& file, int64_t multiple);

// Everything train() needs, decided from the request and the data: the validation split (the last val_cases; -1 =
// 20 %), the network's modalities (those present in any training case), the model card's data/inference/
// preprocessing blocks. Throws gmd::UsageError when the split leaves no training case.
struct TrainPlan {
  TrainConfig config;
  std::vector<Sample> train, val;
};
TrainPlan plan_training(const TrainRequest& r, TrainingData data);

// plan_training, then train() into r.run_dir. Throws what they throw.
void run_training(const TrainRequest& r, TrainingData data, bool resume = false, const TrainControl& ctl = {});

}  // namespace gmd::engine
