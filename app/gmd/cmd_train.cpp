// gmd train: trains one of unimodal|vanilla|ds|ds-gmd on a BraTS-layout dataset.
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "cli_util.hpp"
#include "commands.hpp"
#include "gmd/common/error.hpp"
#include "gmd/common/run_files.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/engine/threads.hpp"
#include "gmd/engine/sample.hpp"
#include "gmd/engine/trainer.hpp"
#if GMD_CLI_FULL
#include "gmd/pipeline/dataset.hpp"
#endif

namespace gmd::cli {
namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

std::vector<int64_t> parse_widths(const std::string& s) {
  std::vector<int64_t> w;
  std::stringstream ss(s);
  std::string tok;
  while (std::getline(ss, tok, ',')) {
    try {
      size_t pos = 0;
      const long v = std::stol(tok, &pos);
      if (pos != tok.size() || v <= 0) throw std::invalid_argument(tok);
      w.push_back(v);
    } catch (const std::exception&) {
      throw UsageError("--widths: '" + tok + "' is not a positive integer");
    }
  }
  if (w.size() < 2) throw UsageError("--widths needs at least 2 levels, e.g. 16,32,64,128,256");
  return w;
}
}  // namespace

void add_train(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a segmentation model (writes RUN/model.pt, model.json, metrics.jsonl)");
  struct Opts {
    std::string data, method = "ds-gmd", out, policy = "random", widths = "16,32,64,128,256", device = "auto",
                      amp = "auto", projection = "sequential", combine = "sum", fusion = "logit";
    int64_t steps = 1000, patch = 64, batch = 1, ckpt = 100, val_every = 100, val_cases = -1, infer_patch = 0;
    int k = 5, threads = 0;
    uint64_t seed = 1;
    double lr = 8e-4, wd = 1e-5, bce = 1.0, fg = 0.67;
    bool resume = false, stem = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--data", o->data, "Dataset folder (BraTS layout) or a sample cache file written by `gmd cache`")
      ->required();
  cmd->add_option("--method", o->method, "unimodal|vanilla|ds|ds-gmd")->capture_default_str();
  cmd->add_option("--out", o->out, "Run folder")->required();
  cmd->add_option("--steps", o->steps, "Training steps")->capture_default_str();
  cmd->add_option("--patch", o->patch, "Patch edge (voxels, multiple of 2^(levels-1))")->capture_default_str();
  cmd->add_option("--batch", o->batch, "Patches per step")->capture_default_str();
  cmd->add_option("--k", o->k, "Subsets per step for --policy random")->capture_default_str();
  cmd->add_option("--policy", o->policy, "all|missing1|missing2|missing3|random")->capture_default_str();
  cmd->add_option("--widths", o->widths, "U-Net widths per level")->capture_default_str();
  cmd->add_option("--device", o->device, "auto|cpu|cuda")->capture_default_str();
  cmd->add_option("--amp", o->amp, "auto|none|bf16|fp16 (CUDA only)")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Random seed")->capture_default_str();
  cmd->add_option("--lr", o->lr, "Adam learning rate")->capture_default_str();
  cmd->add_option("--weight-decay", o->wd, "Adam weight decay")->capture_default_str();
  cmd->add_option("--bce", o->bce, "Weight of BCE added to soft Dice (0 = the paper's Dice-only loss)")->capture_default_str();
  cmd->add_option("--fg-prob", o->fg, "Probability of a class-balanced patch (a tumour class present in the case, then a voxel of it; else a random patch)")->capture_default_str();
  cmd->add_option("--projection", o->projection, "GMD projection: sequential|simultaneous|none (none = the study's GMD control: GMD's k backward passes, no projection)")->capture_default_str();
  cmd->add_option("--combine", o->combine, "GMD combination: sum|mean")->capture_default_str();
  cmd->add_option("--fusion", o->fusion, "DS fusion: logit|feature")->capture_default_str();
  cmd->add_flag("--stem", o->stem, "DS: per-modality conv stem");
  cmd->add_option("--checkpoint-every", o->ckpt, "Checkpoint interval (steps)")->capture_default_str();
  cmd->add_option("--val-every", o->val_every, "Validation interval (steps; 0 = end only)")->capture_default_str();
  cmd->add_option("--val-cases", o->val_cases, "Held-out validation cases (last N; -1 = 20%)")->capture_default_str();
  cmd->add_option("--infer-patch", o->infer_patch, "Sliding-window size recorded for inference (0 = the training patch: GroupNorm statistics depend on the window)")->capture_default_str();
  add_threads_option(cmd, o->threads);
  cmd->add_flag("--resume", o->resume, "Continue from RUN/checkpoint.pt");
  cmd->callback([o] {
    // Before minutes of data loading: an --out that cannot be a run folder, a resume without a checkpoint.
    check_output_folder(o->out, "--out");
    if (o->resume && !std::filesystem::is_regular_file(std::filesystem::path(o->out) / run_files::kCheckpoint))
      throw InputError(o->out + "/checkpoint.pt: no checkpoint to resume from (start without --resume)");
    const int threads = engine::set_threads(o->threads);
    engine::TrainConfig cfg;
    cfg.net.method = engine::parse_method(o->method);
    cfg.net.widths = parse_widths(o->widths);
    if (o->fusion == "logit") cfg.net.fusion = engine::Fusion::Logit;
    else if (o->fusion == "feature") cfg.net.fusion = engine::Fusion::Feature;
    else throw UsageError("--fusion must be logit or feature");
    cfg.net.modality_stem = o->stem;
    cfg.steps = o->steps;
    cfg.patch = o->patch;
    cfg.batch = o->batch;
    cfg.k = o->k;
    cfg.policy = engine::parse_policy(o->policy);
    cfg.gmd.projection = engine::parse_projection(o->projection);
    cfg.gmd.combine = engine::parse_combine(o->combine);
    cfg.lr = o->lr;
    cfg.weight_decay = o->wd;
    cfg.bce_weight = o->bce;
    cfg.fg_prob = o->fg;
    cfg.seed = o->seed;
    cfg.device = o->device;
    cfg.amp = o->amp;
    cfg.checkpoint_every = o->ckpt;
    cfg.val_every = o->val_every;
    if (cfg.patch % cfg.net.multiple() != 0)
      throw UsageError("--patch " + std::to_string(cfg.patch) + " must be a multiple of " +
                       std::to_string(cfg.net.multiple()) + " for " + std::to_string(cfg.net.widths.size()) + " levels");

    std::vector<engine::Sample> samples;
    nlohmann::json prep, data_card;
    if (std::filesystem::is_regular_file(o->data)) {
      // A sample cache: already preprocessed (its meta records how); the engine reads it without ITK.
      nlohmann::json meta;
      samples = engine::load_samples(o->data, &meta);
      if (samples.empty()) throw InputError(o->data + ": the sample cache holds no case");
      for (const auto& s : samples) {
        if (!s.target.defined())
          throw InputError(o->data + ": case '" + s.id + "' has no segmentation (training needs one per case)");
        for (int a = 1; a <= 3; ++a)
          if (s.image.size(a) % cfg.net.multiple() != 0)
            throw UsageError(o->data + ": case '" + s.id + "' is " + std::to_string(s.image.size(1)) + "x" +
                             std::to_string(s.image.size(2)) + "x" + std::to_string(s.image.size(3)) +
                             " voxels, not a multiple of " + std::to_string(cfg.net.multiple()) + " for " +
                             std::to_string(cfg.net.widths.size()) + " levels: rebuild it with gmd cache --multiple " +
                             std::to_string(cfg.net.multiple()));
      }
      prep = meta.value("preprocessing", nlohmann::json::object());
      data_card = {{"cache", std::filesystem::absolute(o->data).lexically_normal().string()},
                   {"dir", meta.value("source", std::string())}};
    } else {
#if GMD_CLI_FULL
      io::PreprocessParams pp;
      pp.multiple = std::max<int>(16, static_cast<int>(cfg.net.multiple()));
      pipeline::DatasetInfo info;
      pipeline::Progress progress;
      samples = pipeline::load_dataset(o->data, pp, /*require_seg=*/true, &info, progress);
      prep = pipeline::preprocess_to_json(pp);
      prep["spacing"] = info.spacing;
      data_card = {{"dir", o->data}};
#else
      throw UsageError("--data " + o->data +
                       ": this gmd is the engine-only build (no ITK) and reads only sample cache files; make one "
                       "with `gmd cache DATA FILE` on a full build");
#endif
    }
    int64_t n_val = o->val_cases >= 0 ? o->val_cases : static_cast<int64_t>(samples.size()) / 5;
    if (n_val >= static_cast<int64_t>(samples.size()))
      throw UsageError("--val-cases " + std::to_string(n_val) + " leaves no training case (dataset has " +
                       std::to_string(samples.size()) + ")");
    std::vector<engine::Sample> val(samples.end() - n_val, samples.end());
    samples.resize(samples.size() - static_cast<size_t>(n_val));
    SubsetMask known = 0;
    for (const auto& s : samples) known |= s.present;
    cfg.net.modalities = known;
    std::vector<std::string> train_ids, val_ids;
    for (const auto& s : samples) train_ids.push_back(s.id);
    for (const auto& s : val) val_ids.push_back(s.id);
    data_card["train_cases"] = train_ids;
    data_card["val_cases"] = val_ids;
    cfg.extra_card = {{"preprocessing", prep},
                      {"inference", {{"patch", o->infer_patch > 0 ? o->infer_patch : cfg.patch}, {"overlap", 0.5}, {"threshold", 0.5}}},
                      {"data", data_card}};
    spdlog::info("training {} on {} cases ({} validation), modalities {}, {} steps of {}^3 patches, {} CPU threads",
                 o->method, samples.size(), val.size(), subset_name(known), cfg.steps, cfg.patch, threads);
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    engine::TrainControl ctl;
    ctl.stop = &g_stop;
    engine::train(cfg, samples, val, o->out, o->resume, ctl);
    std::cout << (g_stop ? "stopped; checkpoint and model written to " : "done; model written to ") << o->out << "\n";
  });
}

}  // namespace gmd::cli
