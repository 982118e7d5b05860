#pragma once
// Small text helpers shared by every layer that writes tables.
#include <string>

namespace gmd {

// A CSV field (RFC 4180): quoted, with quotes doubled, when it holds a comma, a quote or a line break.
inline std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace gmd
