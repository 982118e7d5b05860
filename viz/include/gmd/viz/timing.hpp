#pragma once
// Opt-in timing log for performance checks: set GMD_TIMING=1 to print lines such as
// "gmd-timing: slice paint 4.5 ms" to stderr.
#include <string>

namespace gmd::viz {
bool timing_enabled();
void log_timing(const std::string& what, double ms, const std::string& extra = {});
}  // namespace gmd::viz
