// libFuzzer target: model loading, gmd::engine::load_model with the input as model.pt (a torch archive: a zip of a
// pickle, TorchScript code and tensor records) next to a valid model.json.
// Contract: a LoadedModel, or gmd::InputError. Anything else (including a crash inside LibTorch's reader) is a finding.
// Each input is loaded as is and, when it is a zip whose stored entries' CRC-32s no longer match, a second time with
// the CRCs recomputed (so that mutations inside an entry reach the unpickler instead of the CRC check). When the card
// carries a SHA-256 of model.pt (64 hex digits), it is rewritten to the input's, so the weights still reach LibTorch.
#include <cstdint>
#include <string>

#include "fuzz_util.hpp"
#include "gmd/common/error.hpp"
#include "model_fixture.hpp"

namespace {
using namespace gmd::fuzz;
fs::path g_dir;
nlohmann::json g_card;
bool g_card_has_sha = false;

void try_load(const std::string& pt) {
  write_file(g_dir / "model.pt", pt);
  if (g_card_has_sha) {
    nlohmann::json card = g_card;
    set_sha(card, sha256_hex(pt));
    write_file(g_dir / "model.json", card.dump(2));
  }
  try {
    const gmd::engine::LoadedModel m = gmd::engine::load_model(g_dir);
    if (!m.model) finding("fuzz_model_pt", "load_model returned no model");
  } catch (const gmd::InputError&) {
  } catch (const std::exception& e) {
    finding("fuzz_model_pt", "load_model: " + describe(e));
  }
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  g_dir = scratch() / "model";
  write_model(g_dir);
  g_card = nlohmann::json::parse(read_file(g_dir / "model.json"));
  nlohmann::json probe = g_card;
  g_card_has_sha = set_sha(probe, std::string(64, '0'));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string pt(reinterpret_cast<const char*>(data), size);
  try_load(pt);
  std::string fixed = pt;
  if (fix_zip_crcs(fixed) && fixed != pt) try_load(fixed);
  return 0;
}
