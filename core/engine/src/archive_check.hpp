#pragma once
// A look at a torch archive (model.pt, checkpoint.pt, a sample cache) before LibTorch reads it.
//
// LibTorch trusts the sizes an archive declares: its zip reader allocates the size a central-directory record states
// before it reads the record, and its unpickler reserves the length a pickle opcode states before it reads the bytes
// (docs/reliability.md, ## Fuzzing, findings 5 and 9). A corrupt 20 KB model.pt could so make gmd allocate 4 GB (an
// out-of-memory kill on a small machine) before failing. check_torch_archive() reads the zip's directory and every
// pickle record and refuses, with an InputError, any size that cannot be true: a record whose bytes would lie beyond
// the end of the file, a stored record whose two sizes differ, a deflated one declaring more than deflate can expand
// to, a pickle opcode whose argument is longer than the rest of its pickle, a memo index larger than the pickle. It
// reads the directory and the pickle records only (kilobytes), not the tensor data.
//
// It also reads the TorchScript sources (code/**/*.py): LibTorch's module archives hold the class definitions of the
// modules, which its importer compiles, and LibTorch 1.13's compiler crashes (SEGV) on some malformed class
// bodies (fuzz finding 6). gmd's archives (models, checkpoints, sample caches: C++ modules) hold only class headers
// and attribute declarations, so any other line is refused before the compiler sees it (torchscript_problem).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace gmd::engine {

// One entry of a zip archive's central directory.
struct ZipEntry {
  std::string name;
  uint16_t method = 0;          // 0 = stored, 8 = deflated (LibTorch deflates some TorchScript sources)
  uint64_t compressed = 0;      // bytes in the file
  uint64_t uncompressed = 0;    // bytes LibTorch allocates for it
  uint64_t local_header = 0;    // offset of its local header
  uint64_t data = 0;            // offset of its bytes (from the local header), filled by check_torch_archive
};

// Checks `file` as described above; throws gmd::InputError("<file>: corrupt or truncated <what> (<problem>)").
// Returns the entries (for tests and diagnostics).
std::vector<ZipEntry> check_torch_archive(const std::filesystem::path& file, const std::string& what);

// One opcode of a pickle and where its argument lies: `arg_len` bytes from `arg` (a fixed-size argument, the payload
// of a length-prefixed one, or the line(s) of a text one, newlines included).
struct PickleOp {
  enum Shape { Fixed, Length, Lines, Unknown } shape = Unknown;
  unsigned char code = 0;
  std::size_t at = 0;       // offset of the opcode
  std::size_t arg = 0;
  std::size_t arg_len = 0;
};
// Reads the opcode at p[i] (i < n) into `op` and moves i past it: "" when its argument lies inside the pickle, else
// what is wrong. An opcode outside protocols 0-5 has the shape Unknown (i is then just past the opcode byte). The one
// table of opcode shapes, shared by pickle_problem and pickle_storages.
std::string read_pickle_op(const char* p, std::size_t n, std::size_t& i, PickleOp& op);

// The pickle part, on its own: "" when every length-prefixed argument of the pickle `p` (protocols 0-5) lies inside
// it and no memo index exceeds its size, else what is wrong. Stops at STOP or at an opcode it does not know (LibTorch
// refuses those itself).
std::string pickle_problem(const char* p, std::size_t n);

// The tensor storages a pickle declares through its persistent ids ('storage', torch.FloatStorage, key, location,
// numel): LibTorch builds each storage of numel elements over the record `<pickle name without .pkl>/<key>` as it is,
// so a record shorter than numel elements would be read past its end (a heap over-read, garbage weights). Stops at
// the first malformed opcode (pickle_problem names it).
struct PickleStorage {
  std::string type;  // "torch.FloatStorage"
  std::string key;   // record name under the pickle's folder
  int64_t numel = 0;
};
std::vector<PickleStorage> pickle_storages(const char* p, std::size_t n);

// The TorchScript part, on its own: "" when every line of `source` is one LibTorch writes for a C++ module (a class
// header `class A(B):`, `__parameters__ = [...]`, `__buffers__ = [...]`, `__annotations__ = []`,
// `__annotations__["x"] = T`, `name : T` with T a type such as Tensor or Tuple[float, float], blank lines), else
// which line is not.
std::string torchscript_problem(const std::string& source);

}  // namespace gmd::engine
