#pragma once
// One trainer for all methods (unimodal, vanilla, ds, ds-gmd): same data, same budget, same seeds.
#include <atomic>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gmd/engine/gmd.hpp"
#include "gmd/engine/net.hpp"
#include "gmd/engine/sample.hpp"
#include "gmd/engine/subsets.hpp"

namespace gmd::engine {

// The names of model.json's "gmd" block and of `gmd train --projection/--combine`: "sequential" | "simultaneous" |
// "none", "sum" | "mean"; anything else throws gmd::UsageError.
GmdProjection parse_projection(const std::string&);
GmdCombine parse_combine(const std::string&);

struct TrainConfig {
  NetConfig net;
  int64_t steps = 1000;
  int64_t patch = 64;
  int64_t batch = 1;
  int k = 5;
  SubsetPolicy policy = SubsetPolicy::Random;
  GmdOptions gmd;
  double lr = 8e-4;
  std::string lr_schedule = "poly";  // poly: lr * (1 - step/steps)^0.9 (nnU-Net style) | constant
  double weight_decay = 1e-5;
  double bce_weight = 1.0;        // Dice + BCE (0 = the paper's Dice only: no gradient on empty regions)
  double fg_prob = 0.67;          // probability of a class-balanced patch: a tumour class present in the
                                  // case (NCR, ED, ET), uniformly, then a voxel of it; else a random patch
  double modality_dropout = 0.5;  // vanilla: probability per step of zero-filling a random subset of inputs
  uint64_t seed = 1;
  std::string device = "auto";    // auto|cpu|cuda
  std::string amp = "auto";       // auto (bf16 on CUDA, none on CPU)|none|bf16|fp16
  int64_t checkpoint_every = 100;
  int64_t val_every = 100;        // 0 = only at the end
  int64_t val_patch = 0;          // sliding-window size for validation; 0 = the training patch (GroupNorm
                                  // statistics depend on the window: validate with the size trained on)
  nlohmann::json extra_card;      // merged into model.json (e.g. preprocessing parameters, data info)
  nlohmann::json to_json() const;
  static TrainConfig from_json(const nlohmann::json& j);
};

class Communicator;  // gmd/engine/dist.hpp

struct TrainControl {
  std::function<void(const nlohmann::json& record)> on_record;  // every metrics.jsonl record, as written
  std::atomic<bool>* stop = nullptr;  // checked every step: checkpoint + model written, then return
  // Data-parallel training (null or world 1: one process). Every rank calls train() with the same configuration and
  // data; cfg.batch is the global batch (a multiple of the world size), each rank crops its share of it
  // (PatchSampler::draw). Per step the ranks average the loss values and the gradients in one all-reduce - for
  // ds-gmd the k per-subset gradients, before the Gram matrix, so GMD runs identically on every rank on the union
  // batch's gradients - and agree on a stop. Validation cases are shared out and their Dice sums all-reduced. Rank 0
  // alone writes the run folder; every rank reads the checkpoint on resume (a shared filesystem), whatever world size
  // wrote it. A peer that dies or hangs ends train() with gmd::engine::DistError on every surviving rank.
  Communicator* comm = nullptr;
};

// Trains into out_dir: config.json, metrics.jsonl (one JSON object per step: {"type":"step", step,
// loss, losses{subset name: value}, subsets[], lr, time_s, gmd{cos[[..]], cos_after, norms[], weights[],
// conflicts}}, and {"type":"val", step, dice{WT,TC,ET}, ...}), checkpoint.pt (model + optimizer + step,
// atomic, every checkpoint_every steps), model.pt + model.json (final, and on stop).
// "loss" is the mean of the step's subset losses (the optimised objective of ds/ds-gmd/unimodal is their
// sum); gmd rows/columns follow "subsets". All randomness derives from (seed, step).
// resume=true continues from out_dir/checkpoint.pt bit-exactly on CPU (metrics.jsonl truncated to the
// checkpoint's step). Throws gmd::InputError / gmd::UsageError for bad data or config. Distributed: see
// TrainControl::comm; the records and model.json then carry "world_size" and "dist_backend".
void train(const TrainConfig& cfg, const std::vector<Sample>& train_set, const std::vector<Sample>& val_set,
           const std::filesystem::path& out_dir, bool resume = false, const TrainControl& ctl = {});

}  // namespace gmd::engine
