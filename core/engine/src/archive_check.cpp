// check_torch_archive: the zip directory and the pickles of a torch archive, checked before LibTorch trusts their
// sizes (archive_check.hpp).
#include "archive_check.hpp"

#include <cstring>
#include <fstream>
#include <memory>
#include <unordered_map>

#include <zlib.h>

#include "gmd/common/error.hpp"

namespace gmd::engine {
namespace fs = std::filesystem;

namespace {
constexpr uint32_t kEndOfDirectory = 0x06054b50, kZip64End = 0x06064b50, kZip64Locator = 0x07064b50,
                   kDirectoryEntry = 0x02014b50, kLocalHeader = 0x04034b50;
constexpr uint32_t kSize32Escape = 0xffffffffu;
constexpr uint64_t kMaxDeflateRatio = 1032;
constexpr uint64_t kMaxCodeBytes = uint64_t{1} << 30;  // a pickle or TorchScript source record

uint64_t le(const char* p, int bytes) {
  uint64_t v = 0;
  for (int k = bytes - 1; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(p[k]);
  return v;
}

class ArchiveFile {
 public:
  ArchiveFile(const fs::path& file, std::string prefix) : prefix_(std::move(prefix)) {
    in_.open(file, std::ios::binary);
    if (!in_) fail("cannot be opened");
    in_.seekg(0, std::ios::end);
    size_ = static_cast<uint64_t>(in_.tellg());
  }
  uint64_t size() const { return size_; }
  std::string read(uint64_t at, uint64_t n) {
    if (at > size_ || n > size_ - at) fail("a record reaches past the end of the file");
    std::string b(static_cast<std::size_t>(n), '\0');
    in_.seekg(static_cast<std::streamoff>(at));
    in_.read(b.data(), static_cast<std::streamsize>(n));
    if (!in_) fail("read error");
    return b;
  }
  [[noreturn]] void fail(const std::string& problem) const { throw InputError(prefix_ + problem + ")"); }

 private:
  std::ifstream in_;
  uint64_t size_ = 0;
  std::string prefix_;
};

// The zip64 extended-information extra field of a directory entry: the 64-bit values of the fields that hold
// 0xffffffff, in the order uncompressed, compressed, local header offset.
void apply_zip64_extra(const std::string& extra, ZipEntry& e, uint32_t usize32, uint32_t csize32, uint32_t local32,
                       ArchiveFile& f) {
  std::size_t at = 0;
  while (at + 4 <= extra.size()) {
    const uint64_t id = le(extra.data() + at, 2), len = le(extra.data() + at + 2, 2);
    if (at + 4 + len > extra.size()) f.fail("entry '" + e.name + "' has a malformed extra field");
    if (id == 0x0001) {
      std::size_t p = at + 4;
      auto take = [&](uint64_t& field) {
        if (p + 8 > at + 4 + len) f.fail("entry '" + e.name + "' has a short zip64 field");
        field = le(extra.data() + p, 8);
        p += 8;
      };
      if (usize32 == kSize32Escape) take(e.uncompressed);
      if (csize32 == kSize32Escape) take(e.compressed);
      if (local32 == kSize32Escape) take(e.local_header);
      return;
    }
    at += 4 + len;
  }
  if (usize32 == kSize32Escape || csize32 == kSize32Escape || local32 == kSize32Escape)
    f.fail("entry '" + e.name + "' needs a zip64 field it does not have");
}

// A deflated record's bytes, which must inflate to exactly the size its entry declares (bounded above by
// kMaxDeflateRatio times the compressed size, checked before).
std::string inflate_record(const std::string& packed, const ZipEntry& e, ArchiveFile& f) {
  std::string out(static_cast<std::size_t>(e.uncompressed), '\0');
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) f.fail("zlib cannot start");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
  zs.avail_in = static_cast<uInt>(packed.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&zs, Z_FINISH);
  const uint64_t produced = zs.total_out;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || produced != e.uncompressed)
    f.fail("entry '" + e.name + "' does not inflate to the " + std::to_string(e.uncompressed) + " bytes it declares");
  return out;
}
}  // namespace

std::string read_pickle_op(const char* p, std::size_t n, std::size_t& i, PickleOp& op) {
  // Argument shapes of the opcodes (Python's pickletools): a fixed number of bytes, a length of 1/4/8 bytes followed
  // by that many bytes, or one or two newline-terminated lines.
  static constexpr char fixed0[] = "()]}aestuRbN012Qldo\x85\x86\x87\x81\x92\x88\x89\x8f\x90\x91\x93\x94\x97\x98";
  static constexpr char fixed1[] = "Kqh\x80\x82", fixed2[] = "M\x83", fixed4[] = "Jjr\x84", fixed8[] = "G\x95";
  static constexpr char len1[] = "CU\x8c\x8a", len4[] = "XBT\x8b", len8[] = "\x8d\x8e\x96";
  static constexpr char line1[] = "ILFSVPpg", line2[] = "ci";
  op = PickleOp{};
  op.at = i;
  op.code = static_cast<unsigned char>(p[i++]);
  const unsigned char c = op.code;
  auto in = [c](const char* set) { return c != 0 && std::strchr(set, static_cast<char>(c)) != nullptr; };
  const int fixed = in(fixed0) ? 0 : in(fixed1) ? 1 : in(fixed2) ? 2 : in(fixed4) ? 4 : in(fixed8) ? 8 : -1;
  const int lenw = in(len1) ? 1 : in(len4) ? 4 : in(len8) ? 8 : 0;
  const int lines = in(line1) ? 1 : in(line2) ? 2 : 0;
  const std::string cut = "pickle ends inside an opcode at byte " + std::to_string(op.at);
  if (fixed >= 0) {
    if (static_cast<std::size_t>(fixed) > n - i) return cut;
    op.shape = PickleOp::Fixed;
    op.arg = i;
    op.arg_len = static_cast<std::size_t>(fixed);
  } else if (lenw) {
    if (static_cast<std::size_t>(lenw) > n - i) return cut;
    const uint64_t len = le(p + i, lenw);
    i += static_cast<std::size_t>(lenw);
    if (len > n - i)
      return "pickle opcode at byte " + std::to_string(op.at) + " declares " + std::to_string(len) +
             " bytes, more than the " + std::to_string(n - i) + " that follow";
    op.shape = PickleOp::Length;
    op.arg = i;
    op.arg_len = static_cast<std::size_t>(len);
  } else if (lines) {
    op.shape = PickleOp::Lines;
    op.arg = i;
    std::size_t end = i;
    for (int l = 0; l < lines; ++l) {
      while (end < n && p[end] != '\n') ++end;
      if (end == n) return cut;
      ++end;
    }
    op.arg_len = end - i;
  } else {
    op.shape = PickleOp::Unknown;  // an opcode LibTorch does not know either: it refuses it
    return "";
  }
  i = op.arg + op.arg_len;
  return "";
}

std::string pickle_problem(const char* p, std::size_t n) {
  PickleOp op;
  for (std::size_t i = 0; i < n;) {
    const std::string problem = read_pickle_op(p, n, i, op);
    if (!problem.empty()) return problem;
    if (op.code == '.' || op.shape == PickleOp::Unknown) return "";  // STOP, or LibTorch refuses the rest
    if (op.code == 'r' && le(p + op.arg, 4) > n)  // LONG_BINPUT: the unpickler reserves memo space for the index
      return "pickle memo index " + std::to_string(le(p + op.arg, 4)) + " at byte " + std::to_string(op.at) +
             " exceeds the pickle's size";
  }
  return "";  // no STOP: LibTorch reports the pickle as truncated
}

namespace {
// Element sizes of the storage types a pickle's persistent ids name (torch.FloatStorage...).
int storage_element_bytes(const std::string& type) {
  static const std::pair<const char*, int> sizes[] = {
      {"torch.FloatStorage", 4},        {"torch.DoubleStorage", 8},       {"torch.HalfStorage", 2},
      {"torch.BFloat16Storage", 2},     {"torch.LongStorage", 8},         {"torch.IntStorage", 4},
      {"torch.ShortStorage", 2},        {"torch.CharStorage", 1},         {"torch.ByteStorage", 1},
      {"torch.BoolStorage", 1},         {"torch.ComplexFloatStorage", 8}, {"torch.ComplexDoubleStorage", 16},
      {"torch.QInt8Storage", 1},        {"torch.QUInt8Storage", 1},       {"torch.QInt32Storage", 4}};
  for (const auto& [name, bytes] : sizes)
    if (type == name) return bytes;
  return 0;
}

// A value on the stack of pickle_storages' pickle machine: only strings, small ints, globals and tuples are told
// apart, everything else is opaque.
struct PickleValue {
  enum Kind { Opaque, Mark, Str, Int, Global, Tuple } kind = Opaque;
  std::string text;  // Str: the string; Global: "module.name"
  int64_t number = 0;
  std::shared_ptr<const std::vector<PickleValue>> items;  // Tuple
};
}  // namespace

std::vector<PickleStorage> pickle_storages(const char* p, std::size_t n) {
  std::vector<PickleStorage> out;
  std::vector<PickleValue> stack;
  std::unordered_map<uint64_t, PickleValue> memo;
  auto opaque = [] { return PickleValue{}; };
  auto integer = [](int64_t v) { return PickleValue{PickleValue::Int, {}, v, nullptr}; };
  auto tuple = [](std::shared_ptr<std::vector<PickleValue>> items) {
    return PickleValue{PickleValue::Tuple, {}, 0, std::move(items)};
  };
  auto pop_to_mark = [&](std::vector<PickleValue>* items) {  // false when there is no mark
    std::size_t m = stack.size();
    while (m > 0 && stack[m - 1].kind != PickleValue::Mark) --m;
    if (m == 0) return false;
    if (items) items->assign(stack.begin() + static_cast<std::ptrdiff_t>(m), stack.end());
    stack.resize(m - 1);
    return true;
  };
  auto pop = [&](std::size_t k) {
    if (stack.size() < k) return false;
    stack.resize(stack.size() - k);
    return true;
  };
  // The machine stops at STOP, at a malformed or unknown opcode, at an opcode it does not model and at a stack
  // underflow (LibTorch refuses those pickles itself; pickle_problem names the malformed ones).
  PickleOp op;
  for (std::size_t i = 0; i < n;) {
    if (!read_pickle_op(p, n, i, op).empty()) return out;
    const char* arg = p + op.arg;
    switch (op.code) {
      case '.': return out;
      case 0x80: case 0x95: break;                         // PROTO, FRAME
      case '(': stack.push_back({PickleValue::Mark, {}, 0, nullptr}); break;
      case ')': stack.push_back(tuple(std::make_shared<std::vector<PickleValue>>())); break;
      case 't': {
        auto items = std::make_shared<std::vector<PickleValue>>();
        if (!pop_to_mark(items.get())) return out;
        stack.push_back(tuple(std::move(items)));
        break;
      }
      case 0x85: case 0x86: case 0x87: {                   // TUPLE1..3
        const std::size_t k = op.code - 0x84u;
        if (stack.size() < k) return out;
        auto items =
            std::make_shared<std::vector<PickleValue>>(stack.end() - static_cast<std::ptrdiff_t>(k), stack.end());
        pop(k);
        stack.push_back(tuple(std::move(items)));
        break;
      }
      case ']': case '}': case 0x8f: case 'N': case 0x88: case 0x89: case 'G': stack.push_back(opaque()); break;
      case 'l': case 'd': case 0x91: case 'o':             // LIST, DICT, FROZENSET, OBJ
        if (!pop_to_mark(nullptr)) return out;
        stack.push_back(opaque());
        break;
      case 'e': case 'u': case 0x90: case '1':             // APPENDS, SETITEMS, ADDITEMS, POP_MARK
        if (!pop_to_mark(nullptr)) return out;
        break;
      case 'a': case 'b': case '0': if (!pop(1)) return out; break;  // APPEND, BUILD, POP
      case 's': if (!pop(2)) return out; break;                      // SETITEM
      case 'R': case 0x81: case 0x93:                                // REDUCE, NEWOBJ, STACK_GLOBAL
        if (!pop(2)) return out;
        stack.push_back(opaque());
        break;
      case 0x92: if (!pop(3)) return out; stack.push_back(opaque()); break;  // NEWOBJ_EX
      case '2': if (stack.empty()) return out; stack.push_back(stack.back()); break;  // DUP
      case 'Q': {                                          // BINPERSID: ('storage', type, key, location, numel)
        if (stack.empty()) return out;
        const PickleValue id = stack.back();
        stack.back() = opaque();
        if (id.kind == PickleValue::Tuple && id.items->size() == 5) {
          const auto& t = *id.items;
          if (t[0].kind == PickleValue::Str && t[0].text == "storage" && t[1].kind == PickleValue::Global &&
              t[2].kind == PickleValue::Str && t[4].kind == PickleValue::Int)
            out.push_back({t[1].text, t[2].text, t[4].number});
        }
        break;
      }
      case 'K': case 'M': stack.push_back(integer(static_cast<int64_t>(le(arg, static_cast<int>(op.arg_len))))); break;
      case 'J': stack.push_back(integer(static_cast<int32_t>(static_cast<uint32_t>(le(arg, 4))))); break;
      case 0x8a: {                                         // LONG1: little-endian two's-complement bytes
        const std::size_t len = op.arg_len;
        if (len > 8) {
          stack.push_back(opaque());
          break;
        }
        uint64_t v = len ? le(arg, static_cast<int>(len)) : 0;
        if (len && len < 8 && (v >> (8 * len - 1)) & 1) v |= ~uint64_t{0} << (8 * len);
        stack.push_back(integer(static_cast<int64_t>(v)));
        break;
      }
      case 'X': case 0x8c: case 0x8d:                      // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
        stack.push_back({PickleValue::Str, std::string(arg, op.arg_len), 0, nullptr});
        break;
      case 'T': case 'B': case 0x8b: case 'U': case 'C': case 0x8e: case 0x96:  // other strings, bytes, LONG4
        stack.push_back(opaque());
        break;
      case 'c': {                                          // GLOBAL module\nname\n
        const std::string lines(arg, op.arg_len - 1);
        const std::size_t nl = lines.find('\n');
        stack.push_back({PickleValue::Global, lines.substr(0, nl) + "." + lines.substr(nl + 1), 0, nullptr});
        break;
      }
      case 'q': case 'r': case 0x94: {                     // BINPUT, LONG_BINPUT, MEMOIZE
        if (stack.empty()) return out;
        memo[op.code == 0x94 ? memo.size() : le(arg, static_cast<int>(op.arg_len))] = stack.back();
        break;
      }
      case 'h': case 'j': {                                // BINGET, LONG_BINGET
        const auto it = memo.find(le(arg, static_cast<int>(op.arg_len)));
        stack.push_back(it == memo.end() ? opaque() : it->second);
        break;
      }
      default: return out;  // opcodes LibTorch does not write (line-based ones, extensions, buffers)
    }
  }
  return out;
}

namespace {
// A small recursive-descent reader of the TorchScript class definitions LibTorch writes for C++ modules (the only
// code in gmd's archives): every function consumes its construct at s[i] and advances i, or returns false.
struct SourceLine {
  const std::string& s;
  std::size_t i = 0;
  bool literal(const char* t) {
    const std::size_t n = std::strlen(t);
    if (s.compare(i, n, t) != 0) return false;
    i += n;
    return true;
  }
  bool ident() {
    auto start = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
    if (i >= s.size() || !start(s[i])) return false;
    while (i < s.size() && (start(s[i]) || (s[i] >= '0' && s[i] <= '9'))) ++i;
    return true;
  }
  bool dotted() {
    if (!ident()) return false;
    while (i < s.size() && s[i] == '.') {
      ++i;
      if (!ident()) return false;
    }
    return true;
  }
  bool type(int depth = 0) {  // Tensor, __torch__.x.Module, Tuple[float, float], Dict[str, List[Tensor]]
    if (depth > 8 || !dotted()) return false;
    if (!literal("[")) return true;
    do {
      if (!type(depth + 1)) return false;
    } while (literal(", "));
    return literal("]");
  }
  bool string() {
    if (!literal("\"")) return false;
    while (i < s.size() && s[i] != '"' && s[i] != '\\') ++i;
    return literal("\"");
  }
  bool string_list() {  // ["weight", "bias", ] or []
    if (!literal("[")) return false;
    while (string())
      if (!literal(", ")) return false;
    return literal("]");
  }
  bool end() const { return i == s.size(); }
};

bool class_source_line(const std::string& line) {
  if (line.empty()) return true;
  SourceLine l{line};
  if (l.literal("class ")) return l.dotted() && l.literal("(") && l.dotted() && l.literal("):") && l.end();
  if (!l.literal("  ")) return false;
  const std::size_t body = l.i;
  if ((l.literal("__parameters__ = ") || l.literal("__buffers__ = ")) && l.string_list() && l.end()) return true;
  l.i = body;
  if (l.literal("__annotations__ = []") && l.end()) return true;
  l.i = body;
  if (l.literal("__annotations__[") && l.string() && l.literal("] = ") && l.type() && l.end()) return true;
  l.i = body;
  return l.ident() && l.literal(" : ") && l.type() && l.end();
}
}  // namespace

std::string torchscript_problem(const std::string& source) {
  std::size_t at = 0;
  for (int line_no = 1; at <= source.size(); ++line_no) {
    std::size_t nl = source.find('\n', at);
    if (nl == std::string::npos) nl = source.size();
    const std::string line = source.substr(at, nl - at);
    if (!class_source_line(line)) {
      std::string shown = line.substr(0, 60);
      for (char& c : shown)
        if (static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) > 126) c = '?';
      return "line " + std::to_string(line_no) + " is not a module attribute gmd writes: '" + shown +
             (line.size() > 60 ? "...'" : "'");
    }
    at = nl + 1;
  }
  return "";
}

namespace {
// Every storage a pickle declares must fit in its record (pickle_storages).
void check_storages(const std::string& pickle_name, const std::string& pickle,
                    const std::unordered_map<std::string, const ZipEntry*>& by_name, ArchiveFile& f) {
  const std::string folder = pickle_name.substr(0, pickle_name.size() - 4);  // "root/data.pkl" -> "root/data"
  for (const PickleStorage& st : pickle_storages(pickle.data(), pickle.size())) {
    const int bytes = storage_element_bytes(st.type);
    if (bytes == 0) f.fail("'" + pickle_name + "': storage type '" + st.type + "' is not one LibTorch writes");
    if (st.numel < 0) f.fail("'" + pickle_name + "': a storage of " + std::to_string(st.numel) + " elements");
    if (st.numel == 0) continue;
    const auto it = by_name.find(folder + "/" + st.key);
    if (it == by_name.end()) f.fail("'" + pickle_name + "' names a tensor record '" + st.key + "' that is missing");
    if (static_cast<uint64_t>(st.numel) > it->second->uncompressed / static_cast<uint64_t>(bytes))
      f.fail("tensor record '" + it->first + "' holds " + std::to_string(it->second->uncompressed) + " bytes, but " +
             pickle_name.substr(pickle_name.rfind('/') + 1) + " declares " + std::to_string(st.numel) +
             " elements of " + std::to_string(bytes) + " bytes");
  }
}
}  // namespace

std::vector<ZipEntry> check_torch_archive(const fs::path& file, const std::string& what) {
  ArchiveFile f(file, file.string() + ": corrupt or truncated " + what + " (");
  const uint64_t size = f.size();
  if (size < 22) f.fail("too short for an archive: " + std::to_string(size) + " bytes");
  // The end-of-central-directory record: the last 22 bytes, or further back when a comment follows it.
  const uint64_t tail_len = std::min<uint64_t>(size, 22 + 65535);
  const std::string tail = f.read(size - tail_len, tail_len);
  std::size_t eocd = std::string::npos;
  for (std::size_t i = tail.size() - 22 + 1; i-- > 0;)
    if (le(tail.data() + i, 4) == kEndOfDirectory) {
      eocd = i;
      break;
    }
  if (eocd == std::string::npos) f.fail("no zip directory at its end");
  const uint64_t eocd_at = size - tail_len + eocd;
  const char* e = tail.data() + eocd;
  uint64_t count = le(e + 10, 2), dir_size = le(e + 12, 4), dir_at = le(e + 16, 4), dir_end_limit = eocd_at;
  // LibTorch writes a zip64 end record and its locator in front of the end record, and its zip reader (miniz) then
  // takes the directory's place and size from the zip64 record, whatever the 32-bit fields say: so does this check.
  const std::string loc = eocd_at >= 20 ? f.read(eocd_at - 20, 20) : std::string();
  const bool has_locator = !loc.empty() && le(loc.data(), 4) == kZip64Locator;
  if (!has_locator && (count == 0xffff || dir_size == kSize32Escape || dir_at == kSize32Escape))
    f.fail("a zip64 archive without its zip64 locator");
  if (has_locator) {
    const uint64_t z64_at = le(loc.data() + 8, 8);
    if (z64_at > eocd_at - 20 || eocd_at - 20 - z64_at < 56) f.fail("the zip64 end record lies outside the file");
    const std::string z64 = f.read(z64_at, 56);
    if (le(z64.data(), 4) != kZip64End) f.fail("no zip64 end record where its locator points");
    count = le(z64.data() + 32, 8);
    dir_size = le(z64.data() + 40, 8);
    dir_at = le(z64.data() + 48, 8);
    dir_end_limit = z64_at;
  }
  if (dir_at > dir_end_limit || dir_size > dir_end_limit - dir_at)
    f.fail("the zip directory (" + std::to_string(dir_size) + " bytes at " + std::to_string(dir_at) +
           ") lies outside the file");
  if (count > dir_size / 46)
    f.fail("the zip directory declares " + std::to_string(count) + " entries in " + std::to_string(dir_size) +
           " bytes");
  const std::string dir = f.read(dir_at, dir_size);
  std::vector<ZipEntry> entries;
  entries.reserve(static_cast<std::size_t>(count));
  std::size_t at = 0;
  for (uint64_t k = 0; k < count; ++k) {
    if (at + 46 > dir.size() || le(dir.data() + at, 4) != kDirectoryEntry)
      f.fail("zip directory entry " + std::to_string(k) + " is malformed");
    const char* d = dir.data() + at;
    const std::size_t name_len = le(d + 28, 2), extra_len = le(d + 30, 2), comment_len = le(d + 32, 2);
    if (at + 46 + name_len + extra_len + comment_len > dir.size())
      f.fail("zip directory entry " + std::to_string(k) + " runs past the directory");
    ZipEntry z;
    z.name.assign(d + 46, name_len);
    z.method = static_cast<uint16_t>(le(d + 10, 2));
    const auto csize32 = static_cast<uint32_t>(le(d + 20, 4)), usize32 = static_cast<uint32_t>(le(d + 24, 4)),
               local32 = static_cast<uint32_t>(le(d + 42, 4));
    z.compressed = csize32;
    z.uncompressed = usize32;
    z.local_header = local32;
    apply_zip64_extra(std::string(d + 46 + name_len, extra_len), z, usize32, csize32, local32, f);
    at += 46 + name_len + extra_len + comment_len;
    // LibTorch stores records (method 0) and deflates some TorchScript sources (method 8). A stored record's two
    // sizes are equal; a deflated one cannot expand more than deflate's limit, about 1032:1.
    if (z.method != 0 && z.method != 8)
      f.fail("entry '" + z.name + "' uses compression method " + std::to_string(z.method) +
             " (LibTorch writes stored or deflated records)");
    if (z.method == 0 && z.compressed != z.uncompressed)
      f.fail("entry '" + z.name + "' declares " + std::to_string(z.uncompressed) + " bytes but stores " +
             std::to_string(z.compressed));
    if (z.method == 8 && z.uncompressed > kMaxDeflateRatio * z.compressed + 1024)
      f.fail("entry '" + z.name + "' declares " + std::to_string(z.uncompressed) + " bytes, more than its " +
             std::to_string(z.compressed) + " compressed bytes can hold");
    if (z.local_header > dir_at || dir_at - z.local_header < 30)
      f.fail("entry '" + z.name + "' has its header outside the file");
    const std::string local = f.read(z.local_header, 30);
    if (le(local.data(), 4) != kLocalHeader) f.fail("entry '" + z.name + "' has no header where it should");
    z.data = z.local_header + 30 + le(local.data() + 26, 2) + le(local.data() + 28, 2);
    if (z.data > dir_at || z.compressed > dir_at - z.data)
      f.fail("entry '" + z.name + "' declares " + std::to_string(z.compressed) +
             " bytes, more than the file holds before its directory");
    entries.push_back(std::move(z));
  }
  std::unordered_map<std::string, const ZipEntry*> by_name;
  for (const ZipEntry& z : entries) by_name.emplace(z.name, &z);
  auto ends_with = [](const std::string& name, const char* tail) {
    const std::size_t n = std::strlen(tail);
    return name.size() >= n && name.compare(name.size() - n, n, tail) == 0;
  };
  for (const ZipEntry& z : entries) {
    const bool pickle = ends_with(z.name, "pkl"), source = ends_with(z.name, ".py");
    if (!pickle && !source) continue;
    if (z.uncompressed > kMaxCodeBytes)
      f.fail("'" + z.name + "': a record of " + std::to_string(z.uncompressed) + " bytes (gmd writes kilobytes)");
    const std::string bytes = z.method == 0 ? f.read(z.data, z.uncompressed)
                                            : inflate_record(f.read(z.data, z.compressed), z, f);
    const std::string problem = pickle ? pickle_problem(bytes.data(), bytes.size()) : torchscript_problem(bytes);
    if (!problem.empty()) f.fail("'" + z.name + "': " + problem);
    if (pickle && !ends_with(z.name, ".debug_pkl")) check_storages(z.name, bytes, by_name, f);
  }
  return entries;
}

}  // namespace gmd::engine
