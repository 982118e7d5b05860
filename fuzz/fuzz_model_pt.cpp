// libFuzzer target: model loading, gmd::engine::load_model with the input as model.pt (a torch archive: a zip of a
// pickle, TorchScript code and tensor records) next to a valid model.json.
// Contract: a LoadedModel, or gmd::InputError. Anything else (including a crash inside LibTorch's reader) is a finding.
// (LibTorch's zip reader does not check CRC-32s, so mutations inside a record reach the unpickler and the TorchScript
// importer as they are: no CRC repair is needed.) When the card
// carries a SHA-256 of model.pt (64 hex digits), it is rewritten to the input's, so the weights still reach LibTorch.
// GMD_FUZZ_SKIP_KNOWN=1 skips inputs that hit a known, reported and not yet fixed finding (docs/reliability.md).
#include <cstdint>
#include <cstring>
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

// Known finding unpickler-huge-reserve (docs/reliability.md, ## Fuzzing): LibTorch's Unpickler::readBytes reserves a
// std::string of the length a pickle opcode declares before it reads the bytes, so a 14 KB model.pt whose data.pkl
// says BINUNICODE of 4 GiB makes it allocate 4 GiB (and gigabytes of shadow memory under ASan).
// pickle_overlong(): walks a pickle's opcodes (protocols 0-5) and says whether a length-prefixed argument is longer
// than the rest of the pickle (this check, run on every *.pkl record of model.pt before LibTorch sees it, is the
// proposed fix in core/engine/src/model_io.cpp). Stops, answering false, at STOP or an unknown opcode.
bool pickle_overlong(const char* p, std::size_t n) {
  auto le = [&](std::size_t at, int w) {
    uint64_t v = 0;
    for (int k = w - 1; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(p[at + k]);
    return v;
  };
  std::size_t i = 0;
  while (i < n) {
    const unsigned char op = static_cast<unsigned char>(p[i++]);
    if (op == '.') return false;  // STOP
    // Argument shapes of the opcodes (pickletools): fixed size, length-prefixed, newline-terminated lines.
    static constexpr char fixed0[] = "()]}aestuRbN012Qldo\x85\x86\x87\x81\x92\x88\x89\x8f\x90\x91\x93\x94\x97\x98";
    static constexpr char fixed1[] = "Kqh\x80\x82", fixed2[] = "M\x83", fixed4[] = "Jrj\x84", fixed8[] = "G\x95";
    static constexpr char len1[] = "CU\x8c\x8a", len4[] = "XBT\x8b", len8[] = "\x8d\x8e\x96";
    static constexpr char line1[] = "ILFSVPpg", line2[] = "ci";
    auto in = [op](const char* set) { return op != 0 && std::strchr(set, static_cast<char>(op)) != nullptr; };
    const int fixed = in(fixed0) ? 0 : in(fixed1) ? 1 : in(fixed2) ? 2 : in(fixed4) ? 4 : in(fixed8) ? 8 : -1;
    const int lenw = in(len1) ? 1 : in(len4) ? 4 : in(len8) ? 8 : 0;
    const int lines = in(line1) ? 1 : in(line2) ? 2 : 0;
    if (fixed < 0 && !lenw && !lines) return false;  // unknown opcode: LibTorch rejects it
    if (fixed >= 0) {
      i += static_cast<std::size_t>(fixed);
    } else if (lenw) {
      if (i + lenw > n) return true;
      const uint64_t len = le(i, lenw);
      i += static_cast<std::size_t>(lenw);
      if (len > n - i) return true;
      i += static_cast<std::size_t>(len);
    } else {
      for (int l = 0; l < lines; ++l) {
        while (i < n && p[i] != '\n') ++i;
        ++i;
      }
    }
  }
  return false;
}

bool huge_pickle_length(const std::string& z) {
  bool hit = false;
  for_each_stored_entry(z, [&](const std::string& name, std::size_t data, std::size_t size, std::size_t, std::size_t) {
    if (name.size() >= 3 && name.compare(name.size() - 3, 3, "pkl") == 0 && pickle_overlong(z.data() + data, size))
      hit = true;
  });
  return hit;
}

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
  if (g_skip_known && (huge_pickle_length(pt) || odd_class_assignment(pt))) return;
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
  const char* e = std::getenv("GMD_FUZZ_SKIP_KNOWN");
  g_skip_known = e && std::string(e) == "1";
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
