// TrainRequest: the fields, their JSON object and their command line (see train_request.hpp).
#include "gmd/common/train_request.hpp"

#include <algorithm>
#include <sstream>

#include "gmd/common/error.hpp"

namespace gmd {
namespace {

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i == 0 ? "" : i + 1 == v.size() ? " or " : ", ") + v[i];
  return s;
}

bool one_of(const std::string& s, const std::vector<std::string>& v) { return std::find(v.begin(), v.end(), s) != v.end(); }

template <typename T>
void get(const nlohmann::json& j, const char* key, T& out, const char* where) {
  if (!j.is_object()) return;
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  try {
    out = it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw UsageError(std::string(where) + ": '" + key + "' has the wrong type (" + it->dump() + ")");
  }
}

std::string widths_text(const nlohmann::json& w) {
  if (!w.is_array()) return {};
  std::string s;
  for (const auto& v : w) {
    if (!v.is_number_integer()) return {};
    s += (s.empty() ? "" : ",") + std::to_string(v.get<int64_t>());
  }
  return s;
}

std::string number(double v) {
  std::ostringstream o;
  o.precision(17);
  o << v;
  return o.str();
}

}  // namespace

const std::vector<std::string>& TrainRequest::methods() {
  static const std::vector<std::string> v{"unimodal", "vanilla", "ds", "ds-gmd"};
  return v;
}
const std::vector<std::string>& TrainRequest::policies() {
  static const std::vector<std::string> v{"all", "missing1", "missing2", "missing3", "random"};
  return v;
}
const std::vector<std::string>& TrainRequest::projections() {
  static const std::vector<std::string> v{"sequential", "simultaneous", "none"};
  return v;
}
const std::vector<std::string>& TrainRequest::combines() {
  static const std::vector<std::string> v{"sum", "mean"};
  return v;
}
const std::vector<std::string>& TrainRequest::fusions() {
  static const std::vector<std::string> v{"logit", "feature"};
  return v;
}
const std::vector<std::string>& TrainRequest::devices() {
  static const std::vector<std::string> v{"auto", "cpu", "cuda"};
  return v;
}
const std::vector<std::string>& TrainRequest::amps() {
  static const std::vector<std::string> v{"auto", "none", "bf16", "fp16"};
  return v;
}

const std::vector<std::string>& TrainRequest::dist_backends() {
  static const std::vector<std::string> v{"auto", "gloo", "nccl"};
  return v;
}

std::vector<int64_t> TrainRequest::parse_widths(const std::string& text) {
  std::vector<int64_t> w;
  std::stringstream ss(text);
  std::string tok;
  while (std::getline(ss, tok, ',')) {
    tok.erase(std::remove(tok.begin(), tok.end(), ' '), tok.end());
    try {
      size_t pos = 0;
      const long long v = std::stoll(tok, &pos);
      if (pos != tok.size() || v <= 0 || v > 4096) throw std::invalid_argument(tok);
      w.push_back(v);
    } catch (const std::exception&) {
      throw UsageError("widths: '" + tok + "' is not a positive integer (e.g. 16,32,64,128,256)");
    }
  }
  if (w.size() < 2) throw UsageError("widths: at least 2 levels are needed, e.g. 16,32,64,128,256");
  if (w.size() > 8) throw UsageError("widths: at most 8 levels");
  return w;
}

int64_t TrainRequest::patch_multiple() const {
  try {
    return int64_t{1} << (parse_widths(widths).size() - 1);
  } catch (const UsageError&) {
    return 0;
  }
}

std::string TrainRequest::validate() const {
  if (data_dir.empty()) return "choose a dataset folder or sample cache (--data)";
  if (run_dir.empty()) return "choose a run folder (--out)";
  return validate_options();
}

std::string TrainRequest::validate_options() const {
  const auto check = [](const char* what, const std::string& v, const std::vector<std::string>& allowed) {
    return one_of(v, allowed) ? std::string() : std::string("unknown ") + what + " '" + v + "' (expected " + joined(allowed) + ")";
  };
  for (const std::string& e : {check("method", method, methods()), check("subset policy", policy, policies()),
                               check("GMD projection", projection, projections()),
                               check("GMD combine mode", combine, combines()), check("fusion", fusion, fusions()),
                               check("device", device, devices()), check("mixed precision", amp, amps())})
    if (!e.empty()) return e;
  if (k < 1 || k > 15) return "k must be between 1 and 15";
  if (steps < 1) return "steps must be at least 1";
  if (batch < 1) return "batch must be at least 1";
  std::size_t levels = 0;
  try {
    levels = parse_widths(widths).size();
  } catch (const UsageError& e) {
    return e.what();
  }
  const int64_t mult = int64_t{1} << (levels - 1);
  if (patch < mult || patch % mult != 0)
    return "the patch size (" + std::to_string(patch) + ") must be a multiple of " + std::to_string(mult) + " for " +
           std::to_string(levels) + " levels";
  if (infer_patch != 0 && (infer_patch < mult || infer_patch % mult != 0))
    return "the inference window (" + std::to_string(infer_patch) + ") must be 0 or a multiple of " + std::to_string(mult);
  if (!(lr > 0)) return "the learning rate must be positive";
  if (!(weight_decay >= 0)) return "the weight decay must not be negative";
  if (!(bce >= 0)) return "the BCE weight must not be negative";
  if (!(fg_prob >= 0 && fg_prob <= 1)) return "the class-balanced patch probability must be between 0 and 1";
  if (val_every < 0 || checkpoint_every < 0) return "intervals must not be negative";
  if (val_cases < -1) return "validation cases must be -1 (20 %) or a count";
  if (threads < 0) return "threads must not be negative";
  if (nproc < 1 || nproc > 256) return "processes (--nproc) must be between 1 and 256";
  if (batch % nproc != 0)
    return "the batch (" + std::to_string(batch) + ") is shared out over " + std::to_string(nproc) +
           " processes: it must be a multiple of " + std::to_string(nproc);
  if (const std::string e = check("distributed backend", dist_backend, dist_backends()); !e.empty()) return e;
  if (!(dist_timeout > 0)) return "the distributed timeout must be positive";
  return {};
}

std::vector<std::string> TrainRequest::arguments(bool resume) const {
  std::vector<std::string> a{"train",
                             "--data", data_dir,
                             "--out", run_dir,
                             "--method", method,
                             "--policy", policy,
                             "--k", std::to_string(k),
                             "--steps", std::to_string(steps),
                             "--patch", std::to_string(patch),
                             "--batch", std::to_string(batch),
                             "--widths", widths,
                             "--fusion", fusion,
                             "--projection", projection,
                             "--combine", combine,
                             "--device", device,
                             "--amp", amp,
                             "--seed", std::to_string(seed),
                             "--lr", number(lr),
                             "--weight-decay", number(weight_decay),
                             "--bce", number(bce),
                             "--fg-prob", number(fg_prob),
                             "--checkpoint-every", std::to_string(checkpoint_every),
                             "--val-every", std::to_string(val_every),
                             "--val-cases", std::to_string(val_cases),
                             "--infer-patch", std::to_string(infer_patch),
                             "--threads", std::to_string(threads),
                             "--nproc", std::to_string(nproc),
                             "--dist-backend", dist_backend,
                             "--dist-timeout", number(dist_timeout)};
  if (stem) a.push_back("--stem");
  if (resume) a.push_back("--resume");
  return a;
}

nlohmann::json TrainRequest::to_json() const {
  return {{"data", data_dir},
          {"out", run_dir},
          {"method", method},
          {"policy", policy},
          {"k", k},
          {"steps", steps},
          {"patch", patch},
          {"batch", batch},
          {"widths", widths},
          {"fusion", fusion},
          {"stem", stem},
          {"projection", projection},
          {"combine", combine},
          {"device", device},
          {"amp", amp},
          {"seed", seed},
          {"lr", lr},
          {"weight_decay", weight_decay},
          {"bce", bce},
          {"fg_prob", fg_prob},
          {"checkpoint_every", checkpoint_every},
          {"val_every", val_every},
          {"val_cases", val_cases},
          {"infer_patch", infer_patch},
          {"threads", threads},
          {"nproc", nproc},
          {"dist_backend", dist_backend},
          {"dist_timeout", dist_timeout}};
}

TrainRequest TrainRequest::from_json(const nlohmann::json& j) {
  constexpr const char* where = "training request";
  if (!j.is_object()) throw UsageError(std::string(where) + ": expected a JSON object");
  TrainRequest r;
  get(j, "data", r.data_dir, where);
  get(j, "out", r.run_dir, where);
  get(j, "method", r.method, where);
  get(j, "policy", r.policy, where);
  get(j, "k", r.k, where);
  get(j, "steps", r.steps, where);
  get(j, "patch", r.patch, where);
  get(j, "batch", r.batch, where);
  if (j.contains("widths") && j.at("widths").is_array()) {
    r.widths = widths_text(j.at("widths"));
    if (r.widths.empty()) throw UsageError(std::string(where) + ": 'widths' must hold integers");
  } else {
    get(j, "widths", r.widths, where);
  }
  get(j, "fusion", r.fusion, where);
  get(j, "stem", r.stem, where);
  get(j, "projection", r.projection, where);
  get(j, "combine", r.combine, where);
  get(j, "device", r.device, where);
  get(j, "amp", r.amp, where);
  get(j, "seed", r.seed, where);
  get(j, "lr", r.lr, where);
  get(j, "weight_decay", r.weight_decay, where);
  get(j, "bce", r.bce, where);
  get(j, "fg_prob", r.fg_prob, where);
  get(j, "checkpoint_every", r.checkpoint_every, where);
  get(j, "val_every", r.val_every, where);
  get(j, "val_cases", r.val_cases, where);
  get(j, "infer_patch", r.infer_patch, where);
  get(j, "threads", r.threads, where);
  get(j, "nproc", r.nproc, where);
  get(j, "dist_backend", r.dist_backend, where);
  get(j, "dist_timeout", r.dist_timeout, where);
  return r;
}

TrainRequest TrainRequest::from_run(const nlohmann::json& config, const nlohmann::json& card) {
  constexpr const char* where = "run configuration";
  // config.json is TrainConfig::to_json; an older run may only have the copy inside model.json ("training").
  nlohmann::json cfg = config.is_object() && !config.empty() ? config : nlohmann::json::object();
  if (cfg.empty() && card.is_object() && card.contains("training") && card.at("training").is_object())
    cfg = card.at("training");
  TrainRequest r;
  get(cfg, "method", r.method, where);
  get(cfg, "policy", r.policy, where);
  get(cfg, "k", r.k, where);
  get(cfg, "steps", r.steps, where);
  get(cfg, "patch", r.patch, where);
  get(cfg, "batch", r.batch, where);
  get(cfg, "device", r.device, where);
  get(cfg, "amp", r.amp, where);
  get(cfg, "seed", r.seed, where);
  get(cfg, "lr", r.lr, where);
  get(cfg, "weight_decay", r.weight_decay, where);
  get(cfg, "bce_weight", r.bce, where);
  get(cfg, "fg_prob", r.fg_prob, where);
  get(cfg, "checkpoint_every", r.checkpoint_every, where);
  get(cfg, "val_every", r.val_every, where);
  if (cfg.contains("gmd")) {
    get(cfg.at("gmd"), "projection", r.projection, where);
    get(cfg.at("gmd"), "combine", r.combine, where);
  }
  if (cfg.contains("net") && cfg.at("net").is_object()) {
    const auto& net = cfg.at("net");
    if (net.contains("widths") && !widths_text(net.at("widths")).empty()) r.widths = widths_text(net.at("widths"));
    get(net, "fusion", r.fusion, where);
    get(net, "modality_stem", r.stem, where);
  }
  // What the run's model card records about its data and inference (also inside config.json's extra_card).
  const nlohmann::json extra = cfg.value("extra_card", nlohmann::json::object());
  const auto block = [&](const char* key) {
    if (card.is_object() && card.contains(key) && card.at(key).is_object()) return card.at(key);
    if (extra.is_object() && extra.contains(key) && extra.at(key).is_object()) return extra.at(key);
    return nlohmann::json::object();
  };
  const nlohmann::json data = block("data");
  // --data was the cache when one was used, else the dataset folder.
  get(data, "dir", r.data_dir, where);
  get(data, "cache", r.data_dir, where);
  if (data.contains("val_cases") && data.at("val_cases").is_array())
    r.val_cases = static_cast<int64_t>(data.at("val_cases").size());
  const nlohmann::json inference = block("inference");
  int64_t window = 0;
  get(inference, "patch", window, where);
  r.infer_patch = window == r.patch ? 0 : window;
  // A run trained by several local processes reopens with as many (the card records the last world size).
  if (card.is_object()) get(card, "world_size", r.nproc, where);
  return r;
}

}  // namespace gmd
