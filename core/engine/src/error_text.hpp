#pragma once
// One line of an exception's text for the one-line errors the engine raises (design.md: "exit 2 with one line naming
// the file and the problem"): LibTorch's c10::Error carries a C++ backtrace and nlohmann's and zlib's messages can span
// lines, so callers quote only the first line.
#include <c10/util/Exception.h>

#include <exception>
#include <string>

namespace gmd::engine {

inline std::string first_line(std::string s) {
  if (const auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  return s;
}

// c10::Error without its backtrace; any other exception's what().
inline std::string first_line(const std::exception& e) {
  if (const auto* ce = dynamic_cast<const c10::Error*>(&e)) return first_line(ce->what_without_backtrace());
  return first_line(std::string(e.what()));
}

}  // namespace gmd::engine
