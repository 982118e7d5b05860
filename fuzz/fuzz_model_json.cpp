// libFuzzer target: the model card, model.json: gmd::engine::NetConfig::from_json and gmd::engine::load_model with
// the input as model.json next to a valid model.pt.
// Contract: a NetConfig / LoadedModel, or gmd::InputError. Anything else is a finding.
// When the card carries a SHA-256 (64 hex digits, e.g. of model.pt) that is not the weights', the card is loaded a
// second time with the right checksum, so that the card's network description is still exercised past such a check.
// (Fixed: huge-net, widths valid one by one describing a network of tens of GB; fuzz/regressions/fuzz_model_json.)
#include <cstdint>
#include <string>

#include "fuzz_util.hpp"
#include "gmd/common/error.hpp"
#include "model_fixture.hpp"

namespace {
using namespace gmd::fuzz;
fs::path g_dir;
std::string g_pt_sha;

void try_config(const nlohmann::json& j) {
  try {
    const gmd::engine::NetConfig c = gmd::engine::NetConfig::from_json(j);
    // What from_json accepts, to_json writes back and from_json reads to the same network.
    const gmd::engine::NetConfig again = gmd::engine::NetConfig::from_json(c.to_json());
    if (again.to_json() != c.to_json())
      finding("fuzz_model_json", "NetConfig does not round-trip: " + c.to_json().dump());
  } catch (const gmd::InputError&) {
  } catch (const std::exception& e) {
    finding("fuzz_model_json", "NetConfig::from_json: " + describe(e));
  }
}

void try_load(const std::string& card_text) {
  write_file(g_dir / "model.json", card_text);
  try {
    const gmd::engine::LoadedModel m = gmd::engine::load_model(g_dir);
    if (!m.model) finding("fuzz_model_json", "load_model returned no model");
  } catch (const gmd::InputError&) {
  } catch (const std::exception& e) {
    finding("fuzz_model_json", "load_model: " + describe(e));
  }
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  g_dir = scratch() / "model";
  write_model(g_dir);
  g_pt_sha = sha256_hex(read_file(g_dir / "model.pt"));
  // The fixture's own card, and the card with its checksums recomputed here, must load (or the target tests nothing).
  nlohmann::json card = nlohmann::json::parse(read_file(g_dir / "model.json"));
  set_sha(card, std::string(64, '0'));
  set_sha(card, g_pt_sha);
  write_file(g_dir / "model.json", card.dump(2));
  try {
    gmd::engine::load_model(g_dir);
  } catch (const std::exception& e) {
    finding("fuzz_model_json", std::string("the valid fixture does not load: ") + e.what());
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) {
    try_config(j);
    if (j.is_object() && j.contains("net")) try_config(j["net"]);
  }
  try_load(text);
  if (!j.is_discarded() && set_sha(j, g_pt_sha)) try_load(j.dump());
  return 0;
}
