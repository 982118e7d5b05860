// The training use case: request + cases -> TrainConfig, validation split, model card -> train().
#include "gmd/engine/train_job.hpp"

#include <spdlog/spdlog.h>

#include "gmd/common/error.hpp"
#include "gmd/common/modality.hpp"

namespace gmd::engine {

TrainConfig train_config(const TrainRequest& r) {
  // The run folder and data are not the configuration's business; check the rest with the request's own words.
  if (const std::string e = r.validate_options(); !e.empty()) throw UsageError(e);
  TrainConfig c;
  c.net.method = parse_method(r.method);
  c.net.widths = TrainRequest::parse_widths(r.widths);
  c.net.fusion = r.fusion == "feature" ? Fusion::Feature : Fusion::Logit;
  c.net.modality_stem = r.stem;
  c.steps = r.steps;
  c.patch = r.patch;
  c.batch = r.batch;
  c.k = r.k;
  c.policy = parse_policy(r.policy);
  c.gmd.projection = parse_projection(r.projection);
  c.gmd.combine = parse_combine(r.combine);
  c.lr = r.lr;
  c.weight_decay = r.weight_decay;
  c.bce_weight = r.bce;
  c.fg_prob = r.fg_prob;
  c.seed = r.seed;
  c.device = r.device;
  c.amp = r.amp;
  c.checkpoint_every = r.checkpoint_every;
  c.val_every = r.val_every;
  return c;
}

TrainingData load_training_cache(const std::filesystem::path& file, int64_t multiple) {
  TrainingData d;
  nlohmann::json meta;
  d.samples = load_samples(file, &meta);
  const std::string f = file.string();
  if (d.samples.empty()) throw InputError(f + ": the sample cache holds no case");
  for (const auto& s : d.samples) {
    if (!s.target.defined())
      throw InputError(f + ": case '" + s.id + "' has no segmentation (training needs one per case)");
    for (int a = 1; a <= 3; ++a)
      if (multiple > 0 && s.image.size(a) % multiple != 0)
        throw UsageError(f + ": case '" + s.id + "' is " + std::to_string(s.image.size(1)) + "x" +
                         std::to_string(s.image.size(2)) + "x" + std::to_string(s.image.size(3)) +
                         " voxels, not a multiple of " + std::to_string(multiple) +
                         " for these widths: rebuild it with gmd cache --multiple " + std::to_string(multiple));
  }
  d.preprocessing = meta.value("preprocessing", nlohmann::json::object());
  d.source = {{"cache", std::filesystem::absolute(file).lexically_normal().string()},
              {"dir", meta.value("source", std::string())}};
  return d;
}

TrainPlan plan_training(const TrainRequest& r, TrainingData data) {
  TrainPlan p;
  p.config = train_config(r);
  auto& samples = data.samples;
  const auto n = static_cast<int64_t>(samples.size());
  const int64_t n_val = r.val_cases >= 0 ? r.val_cases : n / 5;
  if (n_val >= n)
    throw UsageError("--val-cases " + std::to_string(n_val) + " leaves no training case (the dataset has " +
                     std::to_string(n) + ")");
  p.val.assign(std::make_move_iterator(samples.end() - n_val), std::make_move_iterator(samples.end()));
  samples.resize(static_cast<size_t>(n - n_val));
  p.train = std::move(samples);
  SubsetMask known = 0;
  for (const auto& s : p.train) known |= s.present;
  p.config.net.modalities = known;
  nlohmann::json card = data.source.is_object() ? data.source : nlohmann::json::object();
  std::vector<std::string> train_ids, val_ids;
  for (const auto& s : p.train) train_ids.push_back(s.id);
  for (const auto& s : p.val) val_ids.push_back(s.id);
  card["train_cases"] = train_ids;
  card["val_cases"] = val_ids;
  p.config.extra_card = {
      {"preprocessing", data.preprocessing},
      {"inference", {{"patch", r.infer_patch > 0 ? r.infer_patch : p.config.patch}, {"overlap", 0.5}, {"threshold", 0.5}}},
      {"data", card}};
  return p;
}

void run_training(const TrainRequest& r, TrainingData data, bool resume, const TrainControl& ctl) {
  TrainPlan p = plan_training(r, std::move(data));
  spdlog::info("training {} on {} cases ({} validation), modalities {}, {} steps of {}^3 patches", r.method,
               p.train.size(), p.val.size(), subset_name(p.config.net.modalities), p.config.steps, p.config.patch);
  train(p.config, p.train, p.val, r.run_dir, resume, ctl);
}

}  // namespace gmd::engine
