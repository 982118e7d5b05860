// Checked atomic writes, temporaries that do not pile up, SHA-256 (fs_util.hpp).
#include "gmd/common/fs_util.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#if GMD_HAVE_OPENSSL
#include <openssl/evp.h>
#endif

#include "gmd/common/error.hpp"

namespace gmd {
namespace fs = std::filesystem;
namespace {

constexpr const char* kTmpTag = ".gmdtmp-";

// ---- temporaries in flight, for the signal handlers (async-signal-safe access: fixed slots, atomics)
constexpr int kSlots = 64;
constexpr std::size_t kPathMax = 4096;
struct Slot {
  std::atomic<int> state{0};  // 0 free, 1 being filled, 2 file, 3 folder
  char path[kPathMax];
};
Slot g_slots[kSlots];

int register_temp(const fs::path& p, bool folder) {
  const std::string s = p.string();
  if (s.size() >= kPathMax) return -1;
  for (int i = 0; i < kSlots; ++i) {
    int expected = 0;
    if (g_slots[i].state.compare_exchange_strong(expected, 1)) {
      std::memcpy(g_slots[i].path, s.c_str(), s.size() + 1);
      g_slots[i].state.store(folder ? 3 : 2);
      return i;
    }
  }
  return -1;  // more than kSlots writes at once: this one is only cleaned up by the next run
}

void unregister_temp(int slot) {
  if (slot >= 0) g_slots[slot].state.store(0);
}

struct Registered {
  int slot;
  Registered(const fs::path& p, bool folder) : slot(register_temp(p, folder)) {}
  ~Registered() { unregister_temp(slot); }
  Registered(const Registered&) = delete;
  Registered& operator=(const Registered&) = delete;
};

void remove_folder_shallow(const char* dir) {  // only our own flat temporary folders
  if (DIR* d = opendir(dir)) {
    char buf[kPathMax];
    while (dirent* e = readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      const std::size_t a = std::strlen(dir), b = std::strlen(e->d_name);
      if (a + b + 2 > sizeof buf) continue;
      std::memcpy(buf, dir, a);
      buf[a] = '/';
      std::memcpy(buf + a + 1, e->d_name, b + 1);
      unlink(buf);
    }
    closedir(d);
  }
  rmdir(dir);
}

extern "C" void cleanup_and_reraise(int sig) {
  for (auto& s : g_slots) {
    const int st = s.state.load();
    if (st == 2) unlink(s.path);
    else if (st == 3) remove_folder_shallow(s.path);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

[[noreturn]] void fail(const fs::path& target, const std::string& problem) {
  throw InputError(target.string() + ": " + problem);
}

std::string temp_name(const std::string& stem, const std::string& ext) {
  static std::atomic<unsigned> counter{0};
  thread_local std::mt19937 rng{std::random_device{}()};
  return fmt::format("{}{}{}-{}{}{}", stem, kTmpTag, static_cast<long>(getpid()), counter++, rng() % 100000, ext);
}

// "name.ext.gz" -> ("name", ".ext.gz"): the real extension stays last (ITK picks the writer from it).
std::pair<std::string, std::string> split_name(const fs::path& target) {
  const std::string fname = target.filename().string();
  const auto dot = fname.find('.', 1);
  if (dot == std::string::npos) return {fname, ""};
  return {fname.substr(0, dot), fname.substr(dot)};
}

fs::path parent_or_dot(const fs::path& p) { return p.has_parent_path() ? p.parent_path() : fs::path("."); }

void make_parent(const fs::path& target) {
  const fs::path parent = parent_or_dot(target);
  std::error_code ec;
  if (fs::is_directory(parent, ec)) return;
  fs::create_directories(parent, ec);
  if (ec) fail(target, "cannot create folder " + parent.string() + ": " + ec.message());
}

void fsync_path(const fs::path& p, bool directory, const fs::path& target) {
  const int fd = open(p.c_str(), (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (directory) return;  // best effort for folders
    fail(target, "cannot reopen the written data: " + errno_text(errno));
  }
  const int rc = fsync(fd);
  const int err = errno;
  close(fd);
  if (rc != 0 && !directory && err != EINVAL && err != EROFS)
    fail(target, "cannot write: " + errno_text(err) + " (while flushing to disk)");
}

}  // namespace

std::string diagnose_write_failure(const fs::path& dir, const fs::path& partial) {
  struct statvfs st {};
  if (statvfs(dir.c_str(), &st) == 0) {
    if (st.f_flag & ST_RDONLY) return "read-only file system";
    const unsigned long long avail = static_cast<unsigned long long>(st.f_bavail) * st.f_frsize;
    if (avail < (1ull << 20)) return fmt::format("no space left on device ({} bytes free)", avail);
  }
  struct rlimit rl {};
  if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    std::error_code ec;
    const auto size = partial.empty() ? 0 : fs::file_size(partial, ec);
    if (partial.empty() || ec || size + 65536 >= rl.rlim_cur)
      return fmt::format("file size limit reached (ulimit -f: {} bytes)", static_cast<unsigned long long>(rl.rlim_cur));
  }
  if (access(dir.c_str(), W_OK) != 0) return errno_text(errno);
  return {};
}

void check_output_file(const fs::path& path, const std::string& what) {
  std::error_code ec;
  if (path.empty()) throw InputError(what + ": empty path");
  if (fs::is_directory(path, ec)) throw InputError(what + " " + path.string() + ": is a folder, expected a file name");
  fs::path parent = parent_or_dot(path);
  // The nearest existing ancestor must be a writable folder.
  while (!fs::exists(parent, ec)) {
    if (ec) throw InputError(what + " " + path.string() + ": " + ec.message());
    if (!parent.has_parent_path() || parent.parent_path() == parent) break;
    parent = parent.parent_path();
  }
  if (ec) throw InputError(what + " " + path.string() + ": " + ec.message());
  if (!fs::is_directory(parent, ec))
    throw InputError(what + " " + path.string() + ": " + parent.string() + " is not a folder");
  if (access(parent.c_str(), W_OK | X_OK) != 0)
    throw InputError(what + " " + path.string() + ": cannot write in " + parent.string() + ": " + errno_text(errno));
}

void check_output_folder(const fs::path& path, const std::string& what) {
  std::error_code ec;
  if (path.empty()) throw InputError(what + ": empty path");
  if (fs::exists(path, ec) && !fs::is_directory(path, ec))
    throw InputError(what + " " + path.string() + ": exists and is not a folder");
  if (fs::is_directory(path, ec)) {
    if (access(path.c_str(), W_OK | X_OK) != 0)
      throw InputError(what + " " + path.string() + ": cannot write in it: " + errno_text(errno));
    return;
  }
  check_output_file(path, what);  // its parent must be creatable/writable
}

bool same_file(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  const bool eq = fs::equivalent(a, b, ec);
  return !ec && eq;
}

int remove_stale_temporaries(const fs::path& dir) {
  int removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const auto tag = name.find(kTmpTag);
    if (tag == std::string::npos) continue;
    const char* p = name.c_str() + tag + std::strlen(kTmpTag);
    char* endp = nullptr;
    const long pid = std::strtol(p, &endp, 10);
    if (endp == p || *endp != '-' || pid <= 0) continue;
    if (pid == static_cast<long>(getpid())) continue;
    if (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) continue;  // still running
    std::error_code ec2;
    if (fs::remove_all(it->path(), ec2) > 0) ++removed;
  }
  return removed;
}

void install_temp_cleanup_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
      struct sigaction old {};
      if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;  // e.g. nohup
      struct sigaction sa {};
      sa.sa_handler = cleanup_and_reraise;
      sigemptyset(&sa.sa_mask);
      sigaction(sig, &sa, nullptr);
    }
  });
}

void write_atomically(const fs::path& target, const std::function<void(const fs::path&)>& writer,
                      const std::function<void(const fs::path&)>& verify) {
  std::error_code ec;
  if (fs::is_directory(target, ec)) fail(target, "cannot write: is a folder");
  make_parent(target);
  const fs::path dir = parent_or_dot(target);
  remove_stale_temporaries(dir);
  const auto [stem, ext] = split_name(target);
  const fs::path tmp = dir / temp_name(stem, ext);
  // Create it first: an unwritable place is reported with its real cause, before any work.
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail(target, "cannot write: " + errno_text(errno));
  close(fd);
  Registered reg(tmp, false);
  try {
    try {
      writer(tmp);
    } catch (const InputError&) {
      throw;
    } catch (const std::exception& e) {
      const std::string why = diagnose_write_failure(dir, tmp);
      if (!why.empty()) fail(target, "cannot write: " + why);
      throw;
    }
    if (!fs::is_regular_file(tmp, ec)) fail(target, "cannot write: the written data vanished");
    fsync_path(tmp, false, target);
    if (verify) {
      try {
        verify(tmp);
      } catch (const std::exception& e) {
        const std::string why = diagnose_write_failure(dir, tmp);
        fail(target, "cannot write: the written file is incomplete or corrupt (" + (why.empty() ? e.what() : why) + ")");
      }
    }
    fs::rename(tmp, target, ec);
    if (ec) fail(target, "cannot write: cannot move the finished file into place: " + ec.message());
    fsync_path(dir, true, target);
  } catch (...) {
    std::error_code ec2;
    fs::remove(tmp, ec2);
    throw;
  }
}

void write_text_atomically(const fs::path& target, const std::string& content) {
  write_atomically(target, [&](const fs::path& tmp) {
    const int fd = open(tmp.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) fail(target, "cannot write: " + errno_text(errno));
    const char* p = content.data();
    std::size_t left = content.size();
    while (left > 0) {
      const ssize_t w = ::write(fd, p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        const int err = w < 0 ? errno : ENOSPC;
        close(fd);
        fail(target, "cannot write: " + (err == EFBIG ? "file size limit reached (ulimit -f)" : errno_text(err)));
      }
      p += w;
      left -= static_cast<std::size_t>(w);
    }
    if (close(fd) != 0) fail(target, "cannot write: " + errno_text(errno));
  });
}

void write_folder_atomically(const fs::path& target, const std::function<void(const fs::path&)>& writer) {
  std::error_code ec;
  if (fs::exists(target, ec) && !fs::is_directory(target, ec)) fail(target, "exists and is not a folder");
  make_parent(target);
  const fs::path dir = parent_or_dot(target);
  remove_stale_temporaries(dir);
  const fs::path tmp = dir / temp_name(target.filename().string(), "");
  if (mkdir(tmp.c_str(), 0755) != 0) fail(target, "cannot write: " + errno_text(errno));
  Registered reg(tmp, true);
  try {
    writer(tmp);
    if (!fs::exists(target, ec)) {
      fs::rename(tmp, target, ec);
      if (!ec) {
        fsync_path(dir, true, target);
        return;
      }
    }
    fs::create_directories(target, ec);
    if (ec) fail(target, "cannot create folder: " + ec.message());
    for (const auto& e : fs::directory_iterator(tmp)) {
      const fs::path dst = target / e.path().filename();
      if (fs::is_directory(dst, ec)) fail(dst, "cannot replace: is a folder");
      fs::rename(e.path(), dst, ec);
      if (ec) fail(dst, "cannot move the finished file into place: " + ec.message());
    }
    fs::remove(tmp, ec);
    fsync_path(target, true, target);
  } catch (...) {
    std::error_code ec2;
    fs::remove_all(tmp, ec2);
    throw;
  }
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    std::error_code ec;
    if (!fs::exists(path, ec)) throw InputError(path.string() + ": cannot open file: " + (ec ? ec.message() : "not found"));
    throw InputError(path.string() + ": cannot open file" + (err ? ": " + errno_text(err) : std::string()));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw InputError(path.string() + ": read error");
  return ss.str();
}

bool sha256_available() { return GMD_HAVE_OPENSSL != 0; }

#if GMD_HAVE_OPENSSL
namespace {
struct Sha256 {
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
  Sha256() {
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
      throw std::runtime_error("sha256: cannot initialise OpenSSL's digest");
  }
  void update(const void* p, std::size_t n) { EVP_DigestUpdate(ctx.get(), p, n); }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx.get(), md, &len);
    std::string out;
    for (unsigned i = 0; i < len; ++i) out += fmt::format("{:02x}", md[i]);
    return out;
  }
};
}  // namespace
#endif

std::string sha256_text(const std::string& bytes) {
#if GMD_HAVE_OPENSSL
  Sha256 h;
  h.update(bytes.data(), bytes.size());
  return h.hex();
#else
  (void)bytes;
  return {};
#endif
}

std::string sha256_file(const fs::path& path) {
#if GMD_HAVE_OPENSSL
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open file to compute its checksum");
  Sha256 h;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = in.gcount();
    if (n > 0) h.update(buf.data(), static_cast<std::size_t>(n));
  }
  if (in.bad()) throw InputError(path.string() + ": read error while computing its checksum");
  return h.hex();
#else
  (void)path;
  return {};
#endif
}

}  // namespace gmd
