#pragma once
// Where the installation's resources are (issue 17): the bundled model, the demo case, the colour table. Executables
// find them relative to their own location - <exe dir>/../share/gmd-studio/<what> - so a build tree, an install
// prefix and the Debian package (/usr/bin -> /usr/share/gmd-studio) behave alike; an environment variable overrides,
// and a build tree falls back to the source tree's resources/. `gmd info` prints what was found and how.
#include <filesystem>
#include <string>
#include <vector>

namespace gmd {

struct ResourcePlace {
  std::filesystem::path path;
  std::string how;  // "GMD_MODEL_DIR", "next to the executable", "source tree"
};

// The running executable (/proc/self/exe); empty when it cannot be read.
std::filesystem::path executable_path();

// The places to look for share/gmd-studio/<sub>, in order: $env_var when set (then, if `env_only`, nowhere else),
// <exe dir>/../share/gmd-studio/<sub>, then <source_resources>/<sub> when source_resources is not empty.
std::vector<ResourcePlace> resource_places(const std::string& sub, const char* env_var,
                                           const std::string& source_resources, bool env_only = false);

}  // namespace gmd
