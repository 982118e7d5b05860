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
// by the checksum it should hold: that of the card's "net" (compact dump) when its key names the net (e.g.
// "net_sha256"), else `weights_sha` (the SHA-256 of model.pt, e.g. "weights_sha256"). A card that carries checksums
// then still matches the fuzzed model.pt / net, so LibTorch's reader and the net parser are reached whatever the
// card's keys for them are. Returns whether anything changed.
inline bool set_sha(nlohmann::json& card, const std::string& weights_sha) {
  std::string net_sha;
  if (card.is_object() && card.contains("net")) net_sha = sha256_hex(card["net"].dump());
  bool changed = false;
  auto walk = [&](auto&& self, nlohmann::json& j, const std::string& key, int depth) -> void {
    if (depth > 4) return;
    if (j.is_string()) {
      const auto& s = j.get_ref<const std::string&>();
      const bool names_net = key.find("net") != std::string::npos && !net_sha.empty();
      const std::string& want = names_net ? net_sha : weights_sha;
      if (is_sha256_hex(s) && s != want) {
        j = want;
        changed = true;
      }
    } else if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) self(self, it.value(), it.key(), depth + 1);
    } else if (j.is_array()) {
      for (auto& v : j) self(self, v, key, depth + 1);
    }
  };
  walk(walk, card, "", 0);
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
