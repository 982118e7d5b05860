// libFuzzer target: model loading, gmd::engine::load_model with the input as model.pt (a torch archive: a zip of a
// pickle, TorchScript code and tensor records) next to a valid model.json.
// Contract: a LoadedModel, or gmd::InputError. Anything else (including a crash inside LibTorch's reader) is a finding.
// (LibTorch's zip reader does not check CRC-32s, so mutations inside a record reach the unpickler and the TorchScript
// importer as they are: no CRC repair is needed.) When the card
// carries a SHA-256 of model.pt (64 hex digits), it is rewritten to the input's, so the weights still reach LibTorch.
// GMD_FUZZ_SKIP_KNOWN=1 skips inputs that hit a known, reported and not yet fixed finding (docs/reliability.md).
// (Findings 5 and 9, sizes LibTorch trusts, are fixed by load_model's archive check, core/engine/src/archive_check.cpp:
// their inputs are fuzzed, not skipped.)
#include <cstdint>
#include <cstdio>
#include <string>

#include "fuzz_util.hpp"
#include "gmd/common/error.hpp"
#include "model_fixture.hpp"

namespace {
using namespace gmd::fuzz;
fs::path g_dir;
nlohmann::json g_card;
bool g_card_has_sha = false;
bool g_skip_known = false;
bool g_show_errors = false;  // GMD_FUZZ_SHOW_ERRORS=1: print each InputError (why a replayed input is refused)

// Known finding torchscript-class-constant-segv (docs/reliability.md, ## Fuzzing): model.pt holds the module's
// TorchScript class definitions (code/__torch__/*.py), which torch::jit::load compiles; a class-level assignment other
// than __parameters__ / __buffers__ (e.g. `__paramtr__see = ["weight", ]`, one mutated name) is parsed as a class
// constant and ScriptTypeParser::parseClassConstant dereferences a bad pointer (SEGV, LibTorch 1.13). Rough check:
// a class-level line "  NAME = ..." / "  NAME=..." (any spacing around '=': CI's fuzz run of 2026-12-02 found
// `  __parametesr_=_  ["weight", ]`) in a .py record, with NAME not __parameters__ / __buffers__.
bool odd_class_assignment(const std::string& z) {
  bool hit = false;
  for_each_stored_entry(z, [&](const std::string& name, std::size_t data, std::size_t size, std::size_t, std::size_t) {
    if (hit || name.size() < 3 || name.compare(name.size() - 3, 3, ".py") != 0) return;
    const std::string code = z.substr(data, size);
    for (std::size_t at = 0; at < code.size() && !hit;) {
      std::size_t nl = code.find('\n', at);
      if (nl == std::string::npos) nl = code.size();
      const std::string line = code.substr(at, nl - at);
      at = nl + 1;
      if (line.size() < 3 || line.compare(0, 2, "  ") != 0 || line[2] == ' ' || line.compare(2, 4, "def ") == 0)
        continue;
      const auto eq = line.find('=');
      if (eq == std::string::npos) continue;
      std::string lhs = line.substr(2, eq - 2);
      while (!lhs.empty() && lhs.back() == ' ') lhs.pop_back();
      if (lhs != "__parameters__" && lhs != "__buffers__") hit = true;
    }
  });
  return hit;
}

void try_load(const std::string& pt) {
  if (g_skip_known && odd_class_assignment(pt)) return;
  write_file(g_dir / "model.pt", pt);
  if (g_card_has_sha) {
    nlohmann::json card = g_card;
    set_sha(card, sha256_hex(pt));
    write_file(g_dir / "model.json", card.dump(2));
  }
  try {
    const gmd::engine::LoadedModel m = gmd::engine::load_model(g_dir);
    if (!m.model) finding("fuzz_model_pt", "load_model returned no model");
  } catch (const gmd::InputError& e) {
    if (g_show_errors) std::fprintf(stderr, "InputError: %s\n", e.what());
  } catch (const std::exception& e) {
    finding("fuzz_model_pt", "load_model: " + describe(e));
  }
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  const char* e = std::getenv("GMD_FUZZ_SKIP_KNOWN");
  g_skip_known = e && std::string(e) == "1";
  const char* show = std::getenv("GMD_FUZZ_SHOW_ERRORS");
  g_show_errors = show && std::string(show) == "1";
  g_dir = scratch() / "model";
  write_model(g_dir);
  g_card = nlohmann::json::parse(read_file(g_dir / "model.json"));
  nlohmann::json probe = g_card;
  g_card_has_sha = set_sha(probe, std::string(64, '0'));
  // The fixture must load through the same path (checksum fix-up included), or the target would test nothing.
  write_file(g_dir / "model.json", g_card.dump(2));
  try {
    gmd::engine::load_model(g_dir);
  } catch (const std::exception& e) {
    finding("fuzz_model_pt", std::string("the valid fixture does not load: ") + e.what());
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string pt(reinterpret_cast<const char*>(data), size);
  try_load(pt);
  return 0;
}
