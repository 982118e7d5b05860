#pragma once
// Private to the engine (not installed): the pieces of engine::train (trainer.cpp), one file each:
// train_steps.cpp (what one step of each method does), train_checkpoint.cpp (checkpoint, metrics.jsonl writing and
// truncation on resume), train_validation.cpp (validation Dice during training).
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "gmd/engine/net.hpp"
#include "gmd/engine/subsets.hpp"
#include "gmd/engine/trainer.hpp"

namespace gmd::engine::detail {

using Clock = std::chrono::steady_clock;

// Dynamic loss scaling for fp16 autocast (bf16 and fp32 do not need it).
struct LossScaler {
  bool enabled = false;
  double scale = 1.0;
  int64_t good_steps = 0;
  // Returns true if the (already unscaled) gradients are finite; updates the scale.
  bool update(bool finite) {
    if (!enabled) return true;
    if (!finite) {
      scale *= 0.5;
      good_steps = 0;
      return false;
    }
    if (++good_steps >= 2000) {
      scale *= 2.0;
      good_steps = 0;
    }
    return true;
  }
};

// ---- one step (train_steps.cpp) --------------------------------------------------------------------------------

// The subsets a step trains, by method: ds/ds-gmd draw them with the sampler (the available set when it gives none),
// vanilla keeps a random proper subset with probability cfg.modality_dropout (zero-fill of the rest), unimodal trains
// each available modality's own network.
std::vector<SubsetMask> step_subsets(const TrainConfig& cfg, const SubsetSampler& sampler, int64_t step,
                                     SubsetMask available);

// The parameters of a model as GMD sees them: shared (projected) and modality-specific (summed).
struct ParameterSplit {
  std::vector<torch::Tensor> all, shared, specific;
};
ParameterSplit split_parameters(SegModelImpl& model);  // throws std::logic_error if they do not partition

// ds-gmd: one backward pass per subset loss, GMD on the shared parameters' gradients (Gram matrix, projection,
// combination), sums for the specific ones; the gradients are set on the parameters. Returns the step's "gmd"
// metrics object, or null when the Gram matrix is not finite (fp16 overflow: the step is skipped, *finite = false).
// With several ranks (comm), the per-subset and specific gradients are averaged over the ranks first, in one
// all-reduce, so everything after runs identically on every rank.
nlohmann::json backward_gmd(const std::vector<torch::Tensor>& losses, const ParameterSplit& params,
                            const LossScaler& scaler, const TrainConfig& cfg, int64_t step, bool* finite,
                            Communicator* comm = nullptr);
// Averages the tensors over the ranks in place (one all-reduce); nothing for null or world 1.
void average_over_ranks(Communicator* comm, const std::vector<torch::Tensor>& tensors, int64_t step);
// The defined gradients of the parameters (the tensors themselves, so averaging them sets the parameters' gradients).
std::vector<torch::Tensor> grads_of(const std::vector<torch::Tensor>& params);
// Every other method: one backward pass of the summed subset losses.
void backward_sum(const std::vector<torch::Tensor>& losses, const std::vector<torch::Tensor>& params,
                  const LossScaler& scaler);
void clear_grads(const std::vector<torch::Tensor>& params);
bool grads_finite(const std::vector<torch::Tensor>& params);

// ---- checkpoint and metrics file (train_checkpoint.cpp) ---------------------------------------------------------

// Appends records to metrics.jsonl (flushed per record) and hands each to TrainControl::on_record.
class MetricsWriter {
 public:
  MetricsWriter(const std::filesystem::path& file, const TrainControl& ctl);
  void write(const nlohmann::json& rec);

 private:
  const TrainControl& ctl_;
  std::ofstream out_;
  std::filesystem::path path_;
};

// Keeps only the records of steps <= `step` (and the config record); drops torn lines.
void truncate_metrics(const std::filesystem::path& file, int64_t step);

// Atomic; model, optimizer, step, configuration, loss scale, elapsed time, last validation record.
void save_checkpoint(const std::filesystem::path& file, const SegModel& model, torch::optim::Adam& optim, int64_t step,
                     const TrainConfig& cfg, const LossScaler& scaler, double elapsed, const nlohmann::json& last_val);
struct Resumed {
  int64_t step = 0;
  double elapsed = 0;
  nlohmann::json last_val;
};

// Restores model, optimizer and scaler. gmd::InputError when missing, corrupt, of another format or network.
Resumed load_checkpoint(const std::filesystem::path& file, const SegModel& model, torch::optim::Adam& optim,
                        const TrainConfig& cfg, LossScaler& scaler, const torch::Device& device);

// ---- validation (train_validation.cpp) --------------------------------------------------------------------------

struct ValResult {
  nlohmann::json record;
  std::array<double, 3> dice{};
};

// Validation Dice (WT/TC/ET) of the available modalities, and per subset for cases up to 128^3 voxels; the "val"
// metrics record.
// With several ranks (comm), rank r validates cases r, r + world, ... and the Dice sums are all-reduced: every rank
// returns the same result.
ValResult run_validation(SegModelImpl& model, const std::vector<Sample>& val, const TrainConfig& cfg,
                         const torch::Device& device, int64_t step, Communicator* comm = nullptr);

}  // namespace gmd::engine::detail
