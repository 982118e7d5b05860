// One trainer for unimodal / vanilla / ds / ds-gmd: tumour-biased patch sampling with flips and intensity
// jitter, Adam, GMD on the shared parameters, metrics.jsonl, atomic checkpoints, bit-exact resume on CPU.
#include "gmd/engine/trainer.hpp"

#include "gmd/common/metrics_schema.hpp"
#include "gmd/common/regions.hpp"
#include "gmd/common/run_files.hpp"
#include "gmd/engine/cuda.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include "amp.hpp"
#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#include "archive_io.hpp"
#include "gmd/engine/loss.hpp"
#include "gmd/engine/model_io.hpp"
#include "gmd/engine/patches.hpp"
#include "gmd/engine/predictor.hpp"
#include "gmd/engine/random.hpp"
#include "gmd/engine/threads.hpp"

namespace gmd::engine {
namespace fs = std::filesystem;

namespace {
using torch::indexing::Slice;
using Clock = std::chrono::steady_clock;

constexpr int64_t kCheckpointFormat = 1;
constexpr int64_t kLogEvery = 10;
constexpr int64_t kPerSubsetValVoxels = int64_t{128} * 128 * 128;  // per-subset validation dice up to this size
constexpr double kValOverlap = 0.25;

std::string first_line(const std::string& s) {
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

nlohmann::json matrix_json(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kCPU, torch::kDouble).contiguous();
  nlohmann::json out = nlohmann::json::array();
  if (c.dim() == 1) {
    for (int64_t i = 0; i < c.size(0); ++i) out.push_back(c[i].item<double>());
    return out;
  }
  for (int64_t i = 0; i < c.size(0); ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (int64_t j = 0; j < c.size(1); ++j) row.push_back(c[i][j].item<double>());
    out.push_back(std::move(row));
  }
  return out;
}

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

// Uniform non-empty proper subset of `avail` (the kept modalities of vanilla modality dropout).
SubsetMask dropout_keep(SubsetMask avail, std::mt19937_64& rng, double prob) {
  const double u = uniform01(rng);
  std::vector<SubsetMask> proper;
  for (SubsetMask s : subsets_within(avail))
    if (s != avail) proper.push_back(s);
  const int64_t pick = proper.empty() ? 0 : uniform_int(rng, 0, static_cast<int64_t>(proper.size()) - 1);
  if (proper.empty() || u >= prob) return avail;
  return proper[static_cast<size_t>(pick)];
}

struct ValResult {
  nlohmann::json record;
  std::array<double, 3> dice{};
};

ValResult run_validation(SegModelImpl& model, const std::vector<Sample>& val, const TrainConfig& cfg,
                         const torch::Device& device, int64_t step) {
  const auto t0 = Clock::now();
  std::array<double, 3> sum{};
  std::map<SubsetMask, std::array<double, 3>> sub_sum;
  std::map<SubsetMask, int64_t> sub_count;
  PredictOptions opt;
  opt.patch = cfg.val_patch > 0 ? cfg.val_patch : cfg.patch;
  opt.overlap = kValOverlap;
  opt.amp = detail::amp_dtype(cfg.amp, device).has_value();
  for (const Sample& s : val) {
    const SubsetMask avail = static_cast<SubsetMask>(s.present & cfg.net.modalities);
    std::vector<SubsetMask> subs{avail};
    const bool per_subset = s.image[0].numel() <= kPerSubsetValVoxels;
    if (per_subset) subs = subsets_within(avail);  // ends with `avail` itself
    const auto probs = predict_subsets(model, s.image, avail, subs, device, opt);
    const torch::Tensor truth = s.target.to(torch::kCPU) != 0;
    for (size_t j = 0; j < subs.size(); ++j) {
      const torch::Tensor pred = probs[j] > 0.5;
      std::array<double, 3> d{};
      for (int r = 0; r < 3; ++r) {
        const double inter = (pred[r] & truth[r]).sum().item<double>();
        const double np = pred[r].sum().item<double>(), nt = truth[r].sum().item<double>();
        d[static_cast<size_t>(r)] = (np + nt) == 0 ? 1.0 : 2.0 * inter / (np + nt);
      }
      if (subs[j] == avail)
        for (int r = 0; r < 3; ++r) sum[static_cast<size_t>(r)] += d[static_cast<size_t>(r)];
      if (per_subset) {
        auto& acc = sub_sum[subs[j]];
        for (int r = 0; r < 3; ++r) acc[static_cast<size_t>(r)] += d[static_cast<size_t>(r)];
        ++sub_count[subs[j]];
      }
    }
  }
  ValResult out;
  const auto n = static_cast<double>(val.size());
  for (int r = 0; r < 3; ++r) out.dice[static_cast<size_t>(r)] = sum[static_cast<size_t>(r)] / n;
  out.record = {{metrics::kType, metrics::kValRecord},
                {metrics::kStep, step},
                {metrics::kDice, {{region_name(0), out.dice[0]}, {region_name(1), out.dice[1]}, {region_name(2), out.dice[2]}}},
                {metrics::kCases, val.size()}};
  if (!sub_sum.empty()) {
    nlohmann::json subs = nlohmann::json::object();
    for (SubsetMask m : all_subsets()) {
      const auto it = sub_sum.find(m);
      if (it == sub_sum.end()) continue;
      const double c = static_cast<double>(sub_count[m]);
      subs[subset_name(m)] = {it->second[0] / c, it->second[1] / c, it->second[2] / c};
    }
    out.record[metrics::kDiceSubsets] = subs;
  }
  out.record[metrics::kTimeS] = std::chrono::duration<double>(Clock::now() - t0).count();
  return out;
}

class MetricsLog {
 public:
  MetricsLog(const fs::path& file, const TrainControl& ctl) : ctl_(ctl) {
    out_.open(file, std::ios::app);
    if (!out_) throw InputError(file.string() + ": cannot open for writing");
    path_ = file;
  }
  void write(const nlohmann::json& rec) {
    out_ << rec.dump() << '\n';
    out_.flush();
    if (!out_) throw InputError(path_.string() + ": write failed");
    if (ctl_.on_record) ctl_.on_record(rec);
  }

 private:
  const TrainControl& ctl_;
  std::ofstream out_;
  fs::path path_;
};

// Keeps only the records of steps <= `step` (and the config record); drops torn lines.
void truncate_metrics(const fs::path& file, int64_t step) {
  if (!fs::exists(file)) return;
  std::istringstream in(read_text(file));
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    nlohmann::json rec;
    try {
      rec = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      continue;
    }
    if (!rec.is_object()) continue;
    const bool keep = !rec.contains(metrics::kStep) ||
                      (rec[metrics::kStep].is_number_integer() && rec[metrics::kStep].get<int64_t>() <= step);
    if (keep) kept += line + "\n";
  }
  write_text_atomically(file, kept);
}

void save_checkpoint(const fs::path& file, const SegModel& model, torch::optim::Adam& optim, int64_t step,
                     const TrainConfig& cfg, const LossScaler& scaler, double elapsed, const nlohmann::json& last_val) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive m, o;
  model->save(m);
  optim.save(o);
  archive.write("format", c10::IValue(kCheckpointFormat));
  archive.write("model", m);
  archive.write("optimizer", o);
  archive.write("step", c10::IValue(step));
  archive.write("config", c10::IValue(cfg.to_json().dump()));
  archive.write("loss_scale", c10::IValue(scaler.scale));
  archive.write("loss_scale_good", c10::IValue(scaler.good_steps));
  archive.write("elapsed_s", c10::IValue(elapsed));
  archive.write("last_val", c10::IValue(last_val.dump()));
  save_archive_atomically(archive, file);
}

struct Resumed {
  int64_t step = 0;
  double elapsed = 0;
  nlohmann::json last_val;
};

Resumed load_checkpoint(const fs::path& file, const SegModel& model, torch::optim::Adam& optim, const TrainConfig& cfg,
                        LossScaler& scaler, const torch::Device& device) {
  const std::string where = file.string();
  if (!fs::is_regular_file(file)) throw InputError(where + ": no checkpoint to resume from");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(where, device);
  } catch (const c10::Error& e) {
    throw InputError(where + ": corrupt or truncated checkpoint (" + first_line(e.what_without_backtrace()) + ")");
  } catch (const std::exception& e) {
    throw InputError(where + ": corrupt or truncated checkpoint (" + first_line(e.what()) + ")");
  }
  Resumed r;
  try {
    c10::IValue v;
    archive.read("format", v);
    if (!v.isInt() || v.toInt() != kCheckpointFormat) throw InputError(where + ": unsupported checkpoint format");
    archive.read("config", v);
    const nlohmann::json saved = nlohmann::json::parse(v.toStringRef());
    if (saved.value("net", nlohmann::json()) != cfg.net.to_json())
      throw InputError(where + ": checkpoint was trained with a different network (" +
                       saved.value("net", nlohmann::json()).dump() + "); resume with the same network settings");
    archive.read("step", v);
    r.step = v.toInt();
    archive.read("loss_scale", v);
    scaler.scale = v.toDouble();
    archive.read("loss_scale_good", v);
    scaler.good_steps = v.toInt();
    archive.read("elapsed_s", v);
    r.elapsed = v.toDouble();
    archive.read("last_val", v);
    r.last_val = nlohmann::json::parse(v.toStringRef());
    torch::serialize::InputArchive m, o;
    archive.read("model", m);
    archive.read("optimizer", o);
    model->load(m);
    optim.load(o);
  } catch (const c10::Error& e) {
    throw InputError(where + ": corrupt checkpoint (" + first_line(e.what_without_backtrace()) + ")");
  } catch (const nlohmann::json::exception& e) {
    throw InputError(where + ": corrupt checkpoint (" + first_line(e.what()) + ")");
  }
  if (r.step < 0) throw InputError(where + ": corrupt checkpoint (negative step)");
  return r;
}

void clear_grads(const std::vector<torch::Tensor>& params) {
  for (const auto& p : params) p.mutable_grad() = torch::Tensor();
}

bool grads_finite(const std::vector<torch::Tensor>& params) {
  for (const auto& p : params)
    if (p.grad().defined() && !torch::isfinite(p.grad()).all().item<bool>()) return false;
  return true;
}
}  // namespace

void train(const TrainConfig& cfg, const std::vector<Sample>& train_set, const std::vector<Sample>& val_set,
           const fs::path& out_dir, bool resume, const TrainControl& ctl) {
  validate_config(cfg);
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
  check_output_folder(out_dir, "run folder");
  if (resume && !fs::is_regular_file(ckpt_file))
    throw InputError(ckpt_file.string() + ": no checkpoint to resume from (start without --resume)");
  fs::create_directories(out_dir);

  torch::manual_seed(cfg.seed);
  SegModel model = make_model(cfg.net);
  model->to(device);
  model->train();
  const std::vector<torch::Tensor> params = model->parameters();
  const std::vector<torch::Tensor> shared = model->shared_parameters();
  const std::vector<torch::Tensor> specific = model->specific_parameters();
  if (shared.size() + specific.size() != params.size())
    throw std::logic_error("shared + specific parameters do not partition the model's parameters");
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
    truncate_metrics(metrics_file, step);
    spdlog::info("resuming {} from step {} ({})", method_name(cfg.net.method), step, ckpt_file.string());
  } else {
    std::error_code ec;
    fs::remove(metrics_file, ec);
  }
  write_text_atomically(out_dir / run_files::kConfig, cfg.to_json().dump(2) + "\n");

  MetricsLog log(metrics_file, ctl);
  if (!resume) {
    nlohmann::json names = nlohmann::json::array();
    for (SubsetMask s : subsets_within(cfg.net.modalities)) names.push_back(subset_name(s));
    log.write({{metrics::kType, metrics::kConfigRecord},
               {metrics::kConfig, cfg.to_json()},
               {metrics::kMethod, method_name(cfg.net.method)},
               {metrics::kSubsetNames, names},
               {metrics::kParameters, parameter_count(model)},
               {metrics::kDevice, device.str()},
               {metrics::kThreads, current_threads()},
               {metrics::kAmp, amp ? (*amp == at::kHalf ? "fp16" : "bf16") : "none"},
               {metrics::kTrainCases, train_set.size()},
               {metrics::kValCases, val_set.size()}});
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
    ValResult v = run_validation(*model, val_set, cfg, device, s);
    model->train();
    last_val = v.record;
    last_val_step = s;
    log.write(v.record);
    spdlog::info("step {}: validation Dice WT {:.3f} TC {:.3f} ET {:.3f} ({:.1f} s)", s, v.dice[0], v.dice[1],
                 v.dice[2], v.record[metrics::kTimeS].get<double>());
  };
  auto checkpoint_now = [&](int64_t s) {
    if (last_ckpt_step == s) return;
    save_checkpoint(ckpt_file, model, optim, s, cfg, scaler, elapsed(), last_val);
    last_ckpt_step = s;
  };
  if (step == 0)
    spdlog::info("training {} ({} parameters) on {} ({} threads) for {} steps, patch {}, batch {}",
                 method_name(method), parameter_count(model), device.str(), current_threads(), cfg.steps, cfg.patch,
                 cfg.batch);

  bool stopped = false;
  try {
    while (step < cfg.steps) {
      const auto t0 = Clock::now();
      const Batch batch = patches.draw(step);
      const double data_time = std::chrono::duration<double>(Clock::now() - t0).count();
      const torch::Tensor x_all = batch.image.to(device);
      const torch::Tensor target = batch.target.to(device);

      std::vector<SubsetMask> subs;
      if (method == Method::DS || method == Method::DSGMD) {
        subs = sampler.subsets(step, batch.available);
        if (subs.empty()) subs = {batch.available};
      } else if (method == Method::Vanilla) {
        auto rng = step_rng(cfg.seed, step, kTagSubsets);
        subs = {dropout_keep(batch.available, rng, cfg.modality_dropout)};
      } else {
        for (int m : subset_modalities(batch.available)) subs.push_back(static_cast<SubsetMask>(1u << m));
      }
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
      const torch::Tensor loss_values = torch::stack(losses).detach().to(torch::kCPU, torch::kDouble);
      if (!torch::isfinite(loss_values).all().item<bool>() && !scaler.enabled)
        throw std::runtime_error("training diverged at step " + std::to_string(step + 1) +
                                 " (loss is not finite); try a lower learning rate");

      nlohmann::json gmd_json;
      bool finite = true;
      if (method == Method::DSGMD) {
        std::vector<torch::Tensor> inputs = shared;
        inputs.insert(inputs.end(), specific.begin(), specific.end());
        const size_t k = losses.size();
        std::vector<std::vector<torch::Tensor>> gshared(k);
        std::vector<torch::Tensor> gspec(specific.size());
        for (size_t j = 0; j < k; ++j) {
          const torch::Tensor lj = scaler.enabled ? losses[j] * scaler.scale : losses[j];
          auto g = torch::autograd::grad({lj}, inputs, {}, /*retain_graph=*/j + 1 < k, /*create_graph=*/false,
                                         /*allow_unused=*/true);
          if (scaler.enabled)
            for (auto& t : g)
              if (t.defined()) t = t / scaler.scale;
          gshared[j].assign(g.begin(), g.begin() + static_cast<std::ptrdiff_t>(shared.size()));
          for (size_t p = 0; p < specific.size(); ++p) {
            const torch::Tensor& t = g[shared.size() + p];
            if (!t.defined()) continue;
            gspec[p] = gspec[p].defined() ? gspec[p] + t : t;
          }
        }
        const torch::Tensor gram = gram_matrix(gshared);
        finite = torch::isfinite(gram).all().item<bool>();
        if (finite) {
          auto rng = step_rng(cfg.seed, step, kTagGmd);
          const GmdResult r = gmd_from_gram(gram, cfg.gmd, &rng);
          const std::vector<torch::Tensor> combined = combine_gradients(gshared, r.weights);
          for (size_t p = 0; p < shared.size(); ++p)
            if (p < combined.size() && combined[p].defined())
              shared[p].mutable_grad() = combined[p].to(shared[p].dtype()).detach();
          for (size_t p = 0; p < specific.size(); ++p)
            if (gspec[p].defined()) specific[p].mutable_grad() = gspec[p].detach();
          gmd_json = {{metrics::kCos, matrix_json(r.cos)},
                      {metrics::kCosAfter, matrix_json(r.cos_after)},
                      {metrics::kNorms, matrix_json(r.norms)},
                      {metrics::kWeights, matrix_json(r.weights)},
                      {metrics::kConflicts, r.conflicts}};
        }
      } else {
        torch::Tensor total = losses[0];
        for (size_t j = 1; j < losses.size(); ++j) total = total + losses[j];
        if (scaler.enabled) total = total * scaler.scale;
        total.backward();
        if (scaler.enabled)
          for (const auto& p : params)
            if (p.grad().defined()) p.mutable_grad().div_(scaler.scale);
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
      if (!gmd_json.is_null()) rec[metrics::kGmd] = gmd_json;
      log.write(rec);
      if (step == 1 || step % kLogEvery == 0 || step == cfg.steps)
        spdlog::info(
            "step {}/{}: loss {:.4f} lr {:.2e} ({:.2f} s/step){}", step, cfg.steps, mean, lr, step_time,
            gmd_json.is_null() ? std::string() : fmt::format(", {} conflicts", gmd_json[metrics::kConflicts].get<int64_t>()));

      if (cfg.val_every > 0 && step % cfg.val_every == 0 && step < cfg.steps) validate_now(step);
      if (cfg.checkpoint_every > 0 && step % cfg.checkpoint_every == 0) checkpoint_now(step);
      if (ctl.stop && ctl.stop->load()) {
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
  if (cfg.extra_card.is_object()) card.update(cfg.extra_card);
  save_model(out_dir, model, card);
}

}  // namespace gmd::engine
