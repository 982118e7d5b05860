// TrainConfig <-> JSON (config.json, the "training" object of model.json, the checkpoint).
#include <spdlog/spdlog.h>

#include <set>
#include <string>

#include "gmd/common/error.hpp"
#include "gmd/engine/trainer.hpp"

namespace gmd::engine {

GmdProjection parse_projection(const std::string& s) {
  if (s == "simultaneous") return GmdProjection::Simultaneous;
  if (s == "sequential") return GmdProjection::Sequential;
  if (s == "none") return GmdProjection::None;
  throw UsageError("unknown GMD projection '" + s + "' (expected sequential, simultaneous or none)");
}
GmdCombine parse_combine(const std::string& s) {
  if (s == "sum") return GmdCombine::Sum;
  if (s == "mean") return GmdCombine::Mean;
  throw UsageError("unknown GMD combine mode '" + s + "' (expected sum or mean)");
}

namespace {
std::string projection_name(GmdProjection p) {
  switch (p) {
    case GmdProjection::Simultaneous: return "simultaneous";
    case GmdProjection::Sequential: return "sequential";
    case GmdProjection::None: return "none";
  }
  return "sequential";
}
std::string combine_name(GmdCombine c) { return c == GmdCombine::Mean ? "mean" : "sum"; }

template <typename T>
void get(const nlohmann::json& j, const char* key, T& out) {
  if (!j.contains(key)) return;
  try {
    out = j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw UsageError(std::string("training config: '") + key + "' has the wrong type (" + j.at(key).dump() + ")");
  }
}
}  // namespace

nlohmann::json TrainConfig::to_json() const {
  nlohmann::json j;
  j["net"] = net.to_json();
  j["method"] = method_name(net.method);
  j["steps"] = steps;
  j["patch"] = patch;
  j["batch"] = batch;
  j["k"] = k;
  j["policy"] = policy_name(policy);
  j["gmd"] = {{"projection", projection_name(gmd.projection)}, {"combine", combine_name(gmd.combine)}};
  j["lr"] = lr;
  j["lr_schedule"] = lr_schedule;
  j["weight_decay"] = weight_decay;
  j["bce_weight"] = bce_weight;
  j["fg_prob"] = fg_prob;
  j["modality_dropout"] = modality_dropout;
  j["seed"] = seed;
  j["device"] = device;
  j["amp"] = amp;
  j["checkpoint_every"] = checkpoint_every;
  j["val_every"] = val_every;
  j["val_patch"] = val_patch;
  j["extra_card"] = extra_card.is_null() ? nlohmann::json::object() : extra_card;
  return j;
}

TrainConfig TrainConfig::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw UsageError("training config must be a JSON object");
  static const std::set<std::string> known{"net",          "method",
                                           "steps",        "patch",
                                           "batch",        "k",
                                           "policy",       "gmd",
                                           "lr",           "lr_schedule",
                                           "weight_decay", "bce_weight",
                                           "fg_prob",      "modality_dropout",
                                           "seed",         "device",
                                           "amp",          "checkpoint_every",
                                           "val_every",    "val_patch",
                                           "extra_card"};
  for (const auto& item : j.items())
    if (!known.count(item.key())) spdlog::warn("training config: unknown key '{}' ignored", item.key());
  TrainConfig c;
  if (j.contains("net")) {
    try {
      c.net = NetConfig::from_json(j.at("net"));
    } catch (const InputError& e) {
      throw UsageError(std::string("training config: ") + e.what());
    }
  }
  if (j.contains("method")) {
    if (!j.at("method").is_string()) throw UsageError("training config: 'method' must be a string");
    c.net.method = parse_method(j.at("method").get<std::string>());
  }
  get(j, "steps", c.steps);
  get(j, "patch", c.patch);
  get(j, "batch", c.batch);
  get(j, "k", c.k);
  if (j.contains("policy")) {
    if (!j.at("policy").is_string()) throw UsageError("training config: 'policy' must be a string");
    c.policy = parse_policy(j.at("policy").get<std::string>());
  }
  if (j.contains("gmd")) {
    const auto& g = j.at("gmd");
    if (!g.is_object()) throw UsageError("training config: 'gmd' must be an object");
    std::string s;
    if (g.contains("projection")) {
      get(g, "projection", s);
      c.gmd.projection = parse_projection(s);
    }
    if (g.contains("combine")) {
      get(g, "combine", s);
      c.gmd.combine = parse_combine(s);
    }
  }
  get(j, "lr", c.lr);
  get(j, "lr_schedule", c.lr_schedule);
  get(j, "weight_decay", c.weight_decay);
  get(j, "bce_weight", c.bce_weight);
  get(j, "fg_prob", c.fg_prob);
  get(j, "modality_dropout", c.modality_dropout);
  get(j, "seed", c.seed);
  get(j, "device", c.device);
  get(j, "amp", c.amp);
  get(j, "checkpoint_every", c.checkpoint_every);
  get(j, "val_every", c.val_every);
  get(j, "val_patch", c.val_patch);
  if (j.contains("extra_card")) c.extra_card = j.at("extra_card");
  return c;
}

}  // namespace gmd::engine
