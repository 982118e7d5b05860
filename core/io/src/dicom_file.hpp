#pragma once
// Private to gmd_io: whether a file is a DICOM Part 10 file (128-byte preamble, then "DICM"). Used by the folder
// scan (dicom.cpp) and the DICOMDIR writer (dicomdir.cpp).
#include <filesystem>
#include <fstream>

namespace gmd::io::detail {

inline bool has_dicom_preamble(const std::filesystem::path& f) {
  std::ifstream in(f, std::ios::binary);
  char buf[132];
  if (!in.read(buf, sizeof buf)) return false;
  return buf[128] == 'D' && buf[129] == 'I' && buf[130] == 'C' && buf[131] == 'M';
}

}  // namespace gmd::io::detail
