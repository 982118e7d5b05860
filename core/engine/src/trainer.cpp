// One trainer for unimodal / vanilla / ds / ds-gmd: the run (configuration checks, model, optimizer, resume, the step
// loop, the model card). What a step does per method is in train_steps.cpp, the checkpoint and metrics file in
// train_checkpoint.cpp, validation in train_validation.cpp (train_internal.hpp declares them).
#include "gmd/engine/trainer.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <string>

#include "amp.hpp"
#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/common/metrics_schema.hpp"
#include "gmd/common/run_files.hpp"
#include "gmd/engine/cuda.hpp"
#include "gmd/engine/dist.hpp"
#include "gmd/engine/loss.hpp"
#include "gmd/engine/model_io.hpp"
#include "gmd/engine/patches.hpp"
#include "gmd/engine/threads.hpp"
#include "train_internal.hpp"

namespace gmd::engine {
namespace fs = std::filesystem;
using namespace detail;

namespace {
constexpr int64_t kLogEvery = 10;

void check_samples(const std::vector<Sample>& set, const char* what, const NetConfig& net) {
  for (const Sample& s : set) {
    const std::string name = std::string(what) + " sample '" + s.id + "'";
    if (!s.image.defined() || s.image.dim() != 4 || s.image.size(0) != kNumModalities)
      throw UsageError(name + ": image must be a (4,D,H,W) tensor");
    if (!s.image.is_floating_point()) throw UsageError(name + ": image must be floating point");
    if ((s.present & ~kFullMask) != 0)
      throw UsageError(name + ": unknown modality in mask " + std::to_string(int(s.present)));
    if ((s.present & net.modalities) == 0)
      throw UsageError(name + ": has none of the model's modalities (" + subset_name(net.modalities) + ")");
    if (!s.target.defined()) throw UsageError(name + ": has no segmentation (training needs one)");
    if (s.target.dim() != 4 || s.target.size(0) != 3 || s.target.size(1) != s.image.size(1) ||
        s.target.size(2) != s.image.size(2) || s.target.size(3) != s.image.size(3))
      throw UsageError(name + ": target must be (3,D,H,W) matching the image");
    if (!torch::isfinite(s.image).all().item<bool>())
      throw UsageError(name + ": image contains NaN or infinite values");
  }
}

void validate_config(const TrainConfig& cfg) {
  const int64_t mult = cfg.net.multiple();
  if (cfg.net.widths.empty()) throw UsageError("network needs at least one level");
  if (cfg.patch <= 0 || cfg.patch % mult != 0)
    throw UsageError("patch " + std::to_string(cfg.patch) + " must be a positive multiple of " + std::to_string(mult) +
                     " (the network has " + std::to_string(cfg.net.widths.size()) + " levels)");
  if (cfg.val_patch < 0) throw UsageError("val_patch must be >= 0 (0 = the training patch)");
  if (cfg.steps < 0) throw UsageError("steps must be >= 0");
  if (cfg.batch < 1) throw UsageError("batch must be >= 1");
  if (cfg.k < 1) throw UsageError("k must be >= 1");
  if (!(cfg.lr > 0)) throw UsageError("lr must be positive");
  if (cfg.weight_decay < 0) throw UsageError("weight_decay must be >= 0");
  if (cfg.bce_weight < 0) throw UsageError("bce_weight must be >= 0");
  if (!(cfg.fg_prob >= 0 && cfg.fg_prob <= 1)) throw UsageError("fg_prob must be in [0,1]");
  if (!(cfg.modality_dropout >= 0 && cfg.modality_dropout <= 1)) throw UsageError("modality_dropout must be in [0,1]");
  if (cfg.checkpoint_every < 0 || cfg.val_every < 0) throw UsageError("checkpoint_every/val_every must be >= 0");
  if (cfg.lr_schedule != "poly" && cfg.lr_schedule != "constant")
    throw UsageError("unknown lr_schedule '" + cfg.lr_schedule + "' (expected poly or constant)");
  if (cfg.amp != "auto" && cfg.amp != "none" && cfg.amp != "bf16" && cfg.amp != "fp16")
    throw UsageError("unknown amp mode '" + cfg.amp + "' (expected auto, none, bf16 or fp16)");
  if ((cfg.net.modalities & kFullMask) == 0 || (cfg.net.modalities & ~kFullMask) != 0)
    throw UsageError("the network's modality set is empty or invalid");
}

double lr_at(const TrainConfig& cfg, int64_t step) {
  if (cfg.lr_schedule == "constant" || cfg.steps <= 0) return cfg.lr;
  const double frac = std::min(1.0, static_cast<double>(step) / static_cast<double>(cfg.steps));
  return cfg.lr * std::pow(1.0 - frac, 0.9);
}

// Every rank must hold the same parameters (same seed, same checkpoint): their sums and sums of squares are compared.
void check_same_parameters(const std::vector<torch::Tensor>& params, Communicator* comm, const std::string& when) {
  if (comm == nullptr || comm->world() == 1) return;
  const int world = comm->world(), rank = comm->rank();
  torch::Tensor table = torch::zeros({2 * world}, torch::kFloat64);
  double sum = 0, sq = 0;
  for (const auto& p : params) {
    const torch::Tensor d = p.detach().to(torch::kCPU, torch::kDouble);
    sum += d.sum().item<double>();
    sq += d.square().sum().item<double>();
  }
  table[2 * rank] = sum;
  table[2 * rank + 1] = sq;
  comm->sum({table}, "the parameter check " + when);
  // The sums are reduced in an order that may depend on a rank's thread count: equal to 1e-9, not bit for bit.
  const auto differs = [](double a, double b) { return std::abs(a - b) > 1e-9 * std::max(1.0, std::abs(b)); };
  for (int r = 0; r < world; ++r)
    if (differs(table[2 * r].item<double>(), sum) || differs(table[2 * r + 1].item<double>(), sq))
      throw DistError("rank " + std::to_string(rank) + ": rank " + std::to_string(r) +
                      " holds other parameters " + when +
                      " (every rank must use the same seed, configuration and checkpoint)");
}

}  // namespace

void train(const TrainConfig& cfg, const std::vector<Sample>& train_set, const std::vector<Sample>& val_set,
           const fs::path& out_dir, bool resume, const TrainControl& ctl) {
  validate_config(cfg);
  Communicator* comm = ctl.comm;
  const int world = comm != nullptr ? comm->world() : 1;
  const int rank = comm != nullptr ? comm->rank() : 0;
  const bool root = rank == 0;
  if (cfg.batch % world != 0)
    throw UsageError("batch " + std::to_string(cfg.batch) + " is the global batch, split over " +
                     std::to_string(world) + " processes: it must be a multiple of " + std::to_string(world));
  if (train_set.empty()) throw UsageError("empty training set");
  check_samples(train_set, "training", cfg.net);
  check_samples(val_set, "validation", cfg.net);
  const torch::Device device = resolve_device(cfg.device);
  const auto amp = detail::amp_dtype(cfg.amp, device);
  if (!device.is_cuda() && (cfg.amp == "bf16" || cfg.amp == "fp16"))
    spdlog::warn("amp '{}' is used on CUDA only; training on CPU in float32", cfg.amp);
  if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);

  const fs::path metrics_file = out_dir / run_files::kMetrics;
  const fs::path ckpt_file = out_dir / run_files::kCheckpoint;
  // Checked before the run folder is created: no empty folder is left behind by a failed start.
  // Rank 0 alone writes the run folder; every rank reads its checkpoint on resume.
  if (root) check_output_folder(out_dir, "run folder");
  if (resume && !fs::is_regular_file(ckpt_file))
    throw InputError(ckpt_file.string() + ": no checkpoint to resume from (start without --resume)" +
                     (root ? std::string() : " [rank " + std::to_string(rank) +
                                                 ": every rank must see the run folder, e.g. on a shared filesystem]"));
  if (root) fs::create_directories(out_dir);

  torch::manual_seed(cfg.seed);
  SegModel model = make_model(cfg.net);
  model->to(device);
  model->train();
  const ParameterSplit split = split_parameters(*model);
  const std::vector<torch::Tensor>& params = split.all;
  torch::optim::Adam optim(params, torch::optim::AdamOptions(cfg.lr).weight_decay(cfg.weight_decay));

  LossScaler scaler;
  if (amp && *amp == at::kHalf) {
    scaler.enabled = true;
    scaler.scale = 65536.0;
  }
  int64_t step = 0;
  double elapsed_before = 0;
  nlohmann::json last_val;
  if (resume) {
    const Resumed r = load_checkpoint(ckpt_file, model, optim, cfg, scaler, device);
    step = r.step;
    elapsed_before = r.elapsed;
    last_val = r.last_val;
    if (root) truncate_metrics(metrics_file, step);
    spdlog::info("resuming {} from step {} ({})", method_name(cfg.net.method), step, ckpt_file.string());
  } else if (root) {
    std::error_code ec;
    fs::remove(metrics_file, ec);
  }
  check_same_parameters(params, comm, resume ? "after reading the checkpoint" : "at the start");
  if (root) write_text_atomically(out_dir / run_files::kConfig, cfg.to_json().dump(2) + "\n");

  std::optional<MetricsWriter> log_file;
  if (root) log_file.emplace(metrics_file, ctl);
  auto emit = [&](const nlohmann::json& rec) {
    if (log_file) log_file->write(rec);
  };
  const std::string backend = comm != nullptr && world > 1 ? comm->backend() : "none";
  if (!resume) {
    nlohmann::json names = nlohmann::json::array();
    for (SubsetMask s : subsets_within(cfg.net.modalities)) names.push_back(subset_name(s));
    emit({{metrics::kType, metrics::kConfigRecord},
          {metrics::kConfig, cfg.to_json()},
          {metrics::kMethod, method_name(cfg.net.method)},
          {metrics::kSubsetNames, names},
          {metrics::kParameters, parameter_count(model)},
          {metrics::kDevice, device.str()},
          {metrics::kThreads, current_threads()},
          {metrics::kAmp, amp ? (*amp == at::kHalf ? "fp16" : "bf16") : "none"},
          {metrics::kTrainCases, train_set.size()},
          {metrics::kValCases, val_set.size()},
          {metrics::kWorldSize, world},
          {metrics::kDistBackend, backend}});
  }

  const Method method = cfg.net.method;
  const SubsetSampler sampler(cfg.policy, cfg.k, cfg.seed);
  PatchSampler patches(cfg, train_set);
  const auto t_start = Clock::now();
  int64_t last_val_step = last_val.is_object() ? last_val.value("step", int64_t{-1}) : -1;
  int64_t last_ckpt_step = resume ? step : -1;
  auto elapsed = [&] { return elapsed_before + std::chrono::duration<double>(Clock::now() - t_start).count(); };
  auto validate_now = [&](int64_t s) {
    if (val_set.empty() || last_val_step == s) return;
    ValResult v = run_validation(*model, val_set, cfg, device, s, comm);
    model->train();
    last_val = v.record;
    last_val_step = s;
    emit(v.record);
    spdlog::info("step {}: validation Dice WT {:.3f} TC {:.3f} ET {:.3f} ({:.1f} s)", s, v.dice[0], v.dice[1],
                 v.dice[2], v.record[metrics::kTimeS].get<double>());
  };
  auto checkpoint_now = [&](int64_t s) {
    if (last_ckpt_step == s || !root) return;
    save_checkpoint(ckpt_file, model, optim, s, cfg, scaler, elapsed(), last_val);
    last_ckpt_step = s;
  };
  if (step == 0)
    spdlog::info("training {} ({} parameters) on {} ({} threads{}) for {} steps, patch {}, batch {}",
                 method_name(method), parameter_count(model), device.str(), current_threads(),
                 world > 1 ? fmt::format(" x {} processes, {}", world, backend) : std::string(), cfg.steps, cfg.patch,
                 cfg.batch);

  bool stopped = false;
  try {
    while (step < cfg.steps) {
      const auto t0 = Clock::now();
      const double comm_before = comm != nullptr ? comm->comm_seconds() : 0.0;
      const Batch batch = patches.draw(step, rank, world);
      const double data_time = std::chrono::duration<double>(Clock::now() - t0).count();
      const torch::Tensor x_all = batch.image.to(device);
      const torch::Tensor target = batch.target.to(device);

      const std::vector<SubsetMask> subs = step_subsets(cfg, sampler, step, batch.available);
      SubsetMask needed = 0;
      for (SubsetMask s : subs) needed |= s;

      const double lr = lr_at(cfg, step);
      for (auto& group : optim.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
      clear_grads(params);

      std::vector<torch::Tensor> losses;
      {
        detail::AutocastGuard autocast(amp);
        const auto outs = model->forward_subsets(split_modalities(x_all, needed), subs);
        if (outs.size() != subs.size()) throw std::logic_error("forward_subsets returned a wrong number of outputs");
        for (const auto& o : outs) losses.push_back(seg_loss(o.to(torch::kFloat), target, cfg.bce_weight));
      }
      torch::Tensor loss_values = torch::stack(losses).detach().to(torch::kCPU, torch::kDouble);
      // One process: the stop flag is read at the end of the step. Several: every rank's flag travels with the loss
      // values, so all stop after the same step.
      bool stop_agreed = false;
      if (world > 1) {
        const bool mine = ctl.stop != nullptr && ctl.stop->load();
        const torch::Tensor packed = torch::cat({loss_values, torch::full({1}, mine ? 1.0 : 0.0, torch::kFloat64)});
        comm->sum({packed}, "the loss all-reduce of step " + std::to_string(step + 1));
        loss_values = packed.narrow(0, 0, loss_values.size(0)) / static_cast<double>(world);
        stop_agreed = packed[loss_values.size(0)].item<double>() > 0;
      }
      if (!torch::isfinite(loss_values).all().item<bool>() && !scaler.enabled)
        throw std::runtime_error("training diverged at step " + std::to_string(step + 1) +
                                 " (loss is not finite); try a lower learning rate");

      nlohmann::json gmd_json;
      bool finite = true;
      if (method == Method::DSGMD) {
        gmd_json = backward_gmd(losses, split, scaler, cfg, step, &finite, comm);
      } else {
        backward_sum(losses, params, scaler);
        average_over_ranks(comm, grads_of(params), step);
      }
      if (scaler.enabled && finite) finite = grads_finite(params);
      if (!finite && !scaler.enabled)
        throw std::runtime_error("training diverged at step " + std::to_string(step + 1) +
                                 " (gradients are not finite); try a lower learning rate");
      if (scaler.update(finite)) {
        optim.step();
      } else {
        spdlog::warn("step {}: non-finite fp16 gradients, step skipped (loss scale now {})", step + 1, scaler.scale);
      }
      clear_grads(params);
      ++step;

      const double step_time = std::chrono::duration<double>(Clock::now() - t0).count();
      nlohmann::json rec;
      rec[metrics::kType] = metrics::kStepRecord;
      rec[metrics::kStep] = step;
      double mean = 0;
      nlohmann::json lmap = nlohmann::json::object(), names = nlohmann::json::array();
      for (size_t j = 0; j < subs.size(); ++j) {
        const double v = loss_values[static_cast<int64_t>(j)].item<double>();
        mean += v;
        lmap[subset_name(subs[j])] = v;
        names.push_back(subset_name(subs[j]));
      }
      mean /= static_cast<double>(subs.size());
      rec[metrics::kLoss] = mean;
      rec[metrics::kLosses] = lmap;
      rec[metrics::kSubsets] = names;
      rec[metrics::kLr] = lr;
      rec[metrics::kTimeS] = step_time;
      rec[metrics::kDataS] = data_time;
      rec[metrics::kElapsedS] = elapsed();
      rec[metrics::kWorldSize] = world;
      rec[metrics::kCommS] = comm != nullptr ? comm->comm_seconds() - comm_before : 0.0;
      if (!gmd_json.is_null()) rec[metrics::kGmd] = gmd_json;
      emit(rec);
      if (step == 1 || step % kLogEvery == 0 || step == cfg.steps)
        spdlog::info(
            "step {}/{}: loss {:.4f} lr {:.2e} ({:.2f} s/step){}", step, cfg.steps, mean, lr, step_time,
            gmd_json.is_null() ? std::string() : fmt::format(", {} conflicts", gmd_json[metrics::kConflicts].get<int64_t>()));

      if (cfg.val_every > 0 && step % cfg.val_every == 0 && step < cfg.steps) validate_now(step);
      if (cfg.checkpoint_every > 0 && step % cfg.checkpoint_every == 0) checkpoint_now(step);
      if (world > 1 ? stop_agreed : ctl.stop && ctl.stop->load()) {
        stopped = true;
        spdlog::info("stop requested: checkpoint and model written at step {}", step);
        break;
      }
    }
  } catch (const c10::Error& e) {
    if (!detail::is_oom_message(e.what_without_backtrace())) throw;
    if (device.is_cuda()) cuda::release_cached_memory();
    throw InputError(std::string(device.is_cuda() ? "GPU" : "CPU") + " out of memory while training at step " +
                     std::to_string(step + 1) + " (patch " + std::to_string(cfg.patch) + ", batch " +
                     std::to_string(cfg.batch) + ", k " + std::to_string(cfg.k) +
                     "); retry with a smaller patch, batch or k" + (device.is_cuda() ? ", or --device cpu" : "") +
                     "; resume from the last checkpoint with --resume");
  }
  if (!stopped) validate_now(step);
  checkpoint_now(step);
  if (!root) return;

  nlohmann::json card;
  card["method"] = method_name(method);
  card["training"] = cfg.to_json();
  card["steps_done"] = step;
  card["complete"] = step >= cfg.steps;
  card["parameters"] = parameter_count(model);
  card["val_dice"] = last_val.is_object() ? last_val[metrics::kDice] : nlohmann::json();
  if (last_val.is_object() && last_val.contains(metrics::kDiceSubsets))
    card["val_dice_subsets"] = last_val[metrics::kDiceSubsets];
  card["train_time_s"] = elapsed();
  card["train_cases"] = train_set.size();
  card["val_cases"] = val_set.size();
  card[metrics::kWorldSize] = world;
  card[metrics::kDistBackend] = backend;
  if (cfg.extra_card.is_object()) card.update(cfg.extra_card);
  save_model(out_dir, model, card);
}

}  // namespace gmd::engine
