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

}  // namespace gmd::fuzz
