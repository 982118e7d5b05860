#include <fstream>
#include <random>
#include <sstream>

#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"

namespace gmd {
namespace fs = std::filesystem;

void write_atomically(const fs::path& target, const std::function<void(const fs::path&)>& writer) {
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  std::random_device rd;
  // Keep the real extension last (ITK picks the writer from it): name.tmp123.nii.gz
  const std::string fname = target.filename().string();
  const auto dot = fname.find('.');
  const std::string stem = dot == std::string::npos ? fname : fname.substr(0, dot);
  const std::string ext = dot == std::string::npos ? "" : fname.substr(dot);
  const fs::path tmp = target.parent_path() / (stem + ".tmp" + std::to_string(rd() % 1000000) + ext);
  try {
    writer(tmp);
    fs::rename(tmp, target);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
}

void write_text_atomically(const fs::path& target, const std::string& content) {
  write_atomically(target, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    if (!out) throw InputError("cannot write " + tmp.string());
    out << content;
    out.flush();
    if (!out) throw InputError("write failed: " + tmp.string());
  });
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace gmd
