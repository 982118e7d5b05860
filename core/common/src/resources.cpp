// Resource places relative to the executable (resources.hpp).
#include "gmd/common/resources.hpp"

#include <cstdlib>
#include <system_error>

namespace gmd {
namespace fs = std::filesystem;

fs::path executable_path() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : p;
}

std::vector<ResourcePlace> resource_places(const std::string& sub, const char* env_var,
                                           const std::string& source_resources, bool env_only) {
  std::vector<ResourcePlace> out;
  if (env_var != nullptr) {
    if (const char* v = std::getenv(env_var); v != nullptr && *v != '\0') {
      out.push_back({fs::path(v), env_var});
      if (env_only) return out;
    }
  }
  if (const fs::path exe = executable_path(); !exe.empty())
    out.push_back({(exe.parent_path().parent_path() / "share" / "gmd-studio" / sub).lexically_normal(),
                   "next to the executable"});
  if (!source_resources.empty()) out.push_back({fs::path(source_resources) / sub, "source tree"});
  return out;
}

}  // namespace gmd
