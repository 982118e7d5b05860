#pragma once
// What a user asks of a training run, written once for everything that starts or reopens one (issue 13, item 5):
// the CLI binds its `gmd train` options to these fields, the training panel edits them and saves them in
// RUN/studio-train.json, and the engine turns them into its TrainConfig (gmd/engine/train_job.hpp). Torch-free.
//
// Three forms, kept equal by tests: the fields, the JSON object (to_json / from_json) and the command line
// (arguments(): `train --data ... --out ...`, every field spelled out, which `gmd train` parses back to the same
// request). from_run rebuilds the request of a run started elsewhere from its config.json and model.json.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gmd {

struct TrainRequest {
  std::string data_dir;  // --data: dataset folder (BraTS layout) or a sample cache file
  std::string run_dir;   // --out: the run folder
  std::string method = "ds-gmd";  // unimodal | vanilla | ds | ds-gmd
  std::string policy = "random";  // all | missing1 | missing2 | missing3 | random
  int k = 5;                      // subsets per step (policy random)
  int64_t steps = 1000;
  int64_t patch = 64;             // patch edge in voxels, a multiple of 2^(levels-1)
  int64_t batch = 1;
  std::string widths = "16,32,64,128,256";  // U-Net channels per level, comma-separated
  std::string fusion = "logit";             // DS fusion: logit | feature
  bool stem = false;                        // DS: per-modality conv stem
  std::string projection = "sequential";    // GMD: sequential | simultaneous | none (the study's control)
  std::string combine = "sum";              // GMD: sum | mean
  std::string device = "auto";              // auto | cpu | cuda
  std::string amp = "auto";                 // auto | none | bf16 | fp16
  uint64_t seed = 1;
  double lr = 8e-4;
  double weight_decay = 1e-5;
  double bce = 1.0;      // weight of BCE added to soft Dice (0 = the paper's Dice-only loss)
  double fg_prob = 0.67; // probability of a class-balanced patch
  int64_t checkpoint_every = 100;
  int64_t val_every = 100;   // 0 = only at the end
  int64_t val_cases = -1;    // held-out validation cases (the last N of the sorted list); -1 = 20 %
  int64_t infer_patch = 0;   // sliding window recorded for inference; 0 = the training patch
  int threads = 0;           // CPU threads (0 = the default; per process)
  int nproc = 1;             // local processes training together (`gmd train --nproc`; the batch is shared out)
  std::string dist_backend = "auto";  // auto | gloo | nccl: the c10d backend of a multi-process run
  double dist_timeout = 300;          // seconds a rank waits for the others before the run ends with an error

  // The values the engine accepts, one list each (the panel's choices, validate(), the CLI's help).
  static const std::vector<std::string>& methods();
  static const std::vector<std::string>& policies();
  static const std::vector<std::string>& projections();
  static const std::vector<std::string>& combines();
  static const std::vector<std::string>& fusions();
  static const std::vector<std::string>& devices();
  static const std::vector<std::string>& amps();
  static const std::vector<std::string>& dist_backends();

  // "16,32,64" -> {16, 32, 64}; throws gmd::UsageError naming the bad part (at least two positive integers).
  static std::vector<int64_t> parse_widths(const std::string& text);
  // 2^(levels-1): what the patch (and the cases) must be a multiple of; 0 when the widths do not parse.
  int64_t patch_multiple() const;

  // Empty when usable; otherwise the first problem, in plain words ("unknown method 'x' (expected ...)").
  std::string validate() const;
  // validate() without the folders (data, run): the training configuration alone.
  std::string validate_options() const;
  // `gmd` arguments, starting with "train"; every field is spelled out (defaults too), `--resume` last.
  std::vector<std::string> arguments(bool resume = false) const;

  nlohmann::json to_json() const;
  // Missing keys keep their defaults; a key of the wrong type throws gmd::UsageError; widths may be the text or an
  // array of integers (config.json's form). Unknown keys are ignored (files written by later versions still load).
  static TrainRequest from_json(const nlohmann::json& j);
  // The request of a finished or interrupted run, from its config.json (TrainConfig::to_json) and, for what the
  // config does not hold (the data folder, the validation split, the inference window), its model.json; either may
  // be an empty object. data_dir is as recorded (possibly relative to where the run was started).
  static TrainRequest from_run(const nlohmann::json& config, const nlohmann::json& card);

  bool operator==(const TrainRequest& o) const { return to_json() == o.to_json(); }
  bool operator!=(const TrainRequest& o) const { return !(*this == o); }
};

}  // namespace gmd
