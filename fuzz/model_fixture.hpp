#pragma once
// The model targets' fixture (fuzz_model_json, fuzz_model_pt) and their seeds (seed_corpus.cpp): a tiny valid model
// and the SHA-256 fix-up of its card.
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_util.hpp"
#include "gmd/engine/model_io.hpp"
#include "gmd/engine/net.hpp"

namespace gmd::fuzz {

// DS, one U-Net level of width 2: a few hundred parameters, a model.pt of a few KB (fast to load, small to mutate).
inline engine::NetConfig tiny_net() {
  engine::NetConfig c;
  c.method = engine::Method::DS;
  c.widths = {2};
  c.groups = 1;
  return c;
}

// Writes dir/model.pt + dir/model.json (save_model, the project's writer: whatever it puts in the card, e.g. a
// SHA-256 of model.pt, is there).
inline void write_model(const fs::path& dir, const engine::NetConfig& c = tiny_net()) {
  torch::manual_seed(0);
  engine::save_model(dir, engine::make_model(c), nlohmann::json{{"name", "fuzz"}, {"note", "gmd fuzz fixture"}});
}

// Replaces, in the card (objects and arrays, 4 levels deep), every string that looks like a SHA-256 (64 hex digits)
// and differs from `sha` by `sha`: a card that carries the checksum of model.pt then still matches the (fuzzed)
// model.pt, so LibTorch's reader is reached whatever the card's key for it is. Returns whether anything changed.
inline bool set_sha(nlohmann::json& j, const std::string& sha, int depth = 0) {
  bool changed = false;
  if (depth > 4) return false;
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (is_sha256_hex(s) && s != sha) {
      j = sha;
      return true;
    }
    return false;
  }
  if (j.is_object() || j.is_array())
    for (auto& v : j) changed = set_sha(v, sha, depth + 1) || changed;
  return changed;
}

// Known finding (docs/reliability.md, ## Fuzzing; not yet fixed in core/engine/src/net.cpp): a card whose widths are
// valid one by one (1..4096, up to 8 levels) but describe a huge network makes make_model allocate gigabytes
// (widths [4096]: 1.8 GB for one convolution). Rough parameter count of the card's "net", 0 if it has none.
inline double card_parameter_estimate(const nlohmann::json& card) {
  if (!card.is_object() || !card.contains("net") || !card["net"].is_object()) return 0.0;
  const auto& net = card["net"];
  if (!net.contains("widths") || !net["widths"].is_array()) return 0.0;
  double sum = 0.0, prev = 4.0;
  for (const auto& w : net["widths"]) {
    if (!w.is_number()) return 0.0;
    const double v = w.get<double>();
    sum += 27.0 * (prev * v + 3.0 * v * v);
    prev = v;
  }
  return sum * 4.0;  // unimodal: 4 networks
}

}  // namespace gmd::fuzz
