#pragma once
// Model files: DIR/model.pt (weights, torch archive) + DIR/model.json (the model card: NetConfig
// under "net", training config, preprocessing, metrics...). Written atomically.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "gmd/engine/net.hpp"

namespace gmd::engine {

struct LoadedModel {
  SegModel model;
  nlohmann::json card;  // model.json contents; card["net"] is the NetConfig
  std::filesystem::path dir;
};

// Writes dir/model.pt and dir/model.json (card["net"] is set from the model's config; with libcrypto,
// card["weights_sha256"] = SHA-256 of model.pt and card["net_sha256"] = SHA-256 of card["net"].dump()).
void save_model(const std::filesystem::path& dir, const SegModel& model, nlohmann::json card);
// `path` is a run folder (holding model.pt + model.json), or a model.pt / model.json file.
// Throws gmd::InputError with a clear one-line message: missing files, corrupt checkpoint, bad card, checksums that
// do not match (model.pt altered, or the card's "net" edited after training).
LoadedModel load_model(const std::filesystem::path& path, const torch::Device& device = torch::kCPU);

// Checks the model card's fields against the schema (docs/reliability.md): types and ranges of inference.patch
// (a multiple of the network's input multiple), .overlap, .threshold, preprocessing.margin/.multiple/.spacing,
// method == net.method, checksum formats. Throws gmd::InputError naming `file` and the field.
void validate_model_card(const nlohmann::json& card, const NetConfig& net, const std::filesystem::path& file);

// "auto" -> cuda if available else cpu; "cpu"; "cuda" (InputError if CUDA is not available).
torch::Device resolve_device(const std::string& name);

}  // namespace gmd::engine
