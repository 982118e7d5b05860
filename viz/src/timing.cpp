#include "gmd/viz/timing.hpp"

#include <cstdio>
#include <cstdlib>

namespace gmd::viz {
bool timing_enabled() {
  static const bool on = [] {
    const char* e = std::getenv("GMD_TIMING");
    return e && *e && *e != '0';
  }();
  return on;
}
void log_timing(const std::string& what, double ms, const std::string& extra) {
  if (!timing_enabled()) return;
  std::fprintf(stderr, "gmd-timing: %s %.1f ms%s%s\n", what.c_str(), ms, extra.empty() ? "" : ", ", extra.c_str());
}
}  // namespace gmd::viz
