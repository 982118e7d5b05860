// ITK-SNAP label descriptions and 3D Slicer colour tables for our label maps (see viewer_files.hpp).
#include "gmd/common/viewer_files.hpp"

#include <fmt/format.h>

#include <array>

#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/common/regions.hpp"

namespace gmd {
namespace {

struct Entry {
  int value;
  std::string name;
  Rgb rgb;
};

std::array<Entry, 3> entries(const Palette& p, int et_label) {
  std::array<Entry, 3> e{};
  for (size_t i = 0; i < 3; ++i) e[i] = {i == 2 ? et_label : kLabelValues[i], kLabelNames[i], p.label[i]};
  return e;
}

// Slicer's colour table names are single words.
std::string slicer_name(const std::string& s) {
  std::string out;
  for (char c : s) out += (c == ' ' || c == '/') ? '_' : c;
  return out;
}

}  // namespace

int check_et_label(int et_label) {
  if (et_label != 4 && et_label != 3)
    throw UsageError("--et-label must be 4 (BraTS 2018-2021) or 3 (BraTS 2023), not " + std::to_string(et_label));
  return et_label;
}

void set_et_label(LabelMap& labels, int et_label) {
  const auto v = static_cast<std::uint8_t>(check_et_label(et_label));
  for (auto& x : labels.voxels)
    if (x == 4 || x == 3) x = v;
}

std::string itksnap_label_description(const Palette& palette, int et_label) {
  check_et_label(et_label);
  std::string s =
      "################################################\n"
      "# ITK-SnAP Label Description File\n"
      "# Written by GMD Studio (brain tumour labels, BraTS convention)\n"
      "# File format: \n"
      "# IDX   -R-  -G-  -B-  -A--  VIS MSH  LABEL\n"
      "# Fields: \n"
      "#    IDX:   Zero-based index \n"
      "#    -R-:   Red color component (0..255)\n"
      "#    -G-:   Green color component (0..255)\n"
      "#    -B-:   Blue color component (0..255)\n"
      "#    -A-:   Label transparency (0.00 .. 1.00)\n"
      "#    VIS:   Label visibility (0 or 1)\n"
      "#    IDX:   Label mesh visibility (0 or 1)\n"
      "#  LABEL:   Label description \n"
      "################################################\n";
  s += fmt::format("{:>5} {:>5} {:>4} {:>4} {:>8} {:>2} {:>2}    \"{}\"\n", 0, 0, 0, 0, 0, 0, 0, "Clear Label");
  for (const Entry& e : entries(palette, et_label))
    s += fmt::format("{:>5} {:>5} {:>4} {:>4} {:>8} {:>2} {:>2}    \"{}\"\n", e.value, int(e.rgb.r), int(e.rgb.g),
                     int(e.rgb.b), 1, 1, 1, e.name);
  return s;
}

std::string slicer_color_table(const Palette& palette, int et_label) {
  check_et_label(et_label);
  std::string s = "# Color table file written by GMD Studio (brain tumour labels, BraTS convention)\n# 4 values\n";
  s += "0 Background 0 0 0 0\n";
  for (const Entry& e : entries(palette, et_label))
    s += fmt::format("{} {} {} {} {} 255\n", e.value, slicer_name(e.name), int(e.rgb.r), int(e.rgb.g), int(e.rgb.b));
  return s;
}

ViewerFiles viewer_file_paths(const std::filesystem::path& label_map) {
  std::string base = label_map.string();
  for (const char* ext : {".nii.gz", ".nii"}) {
    const std::string e(ext);
    if (base.size() > e.size() && base.compare(base.size() - e.size(), e.size(), e) == 0) {
      base.resize(base.size() - e.size());
      break;
    }
  }
  return {base + "_itksnap_labels.txt", base + "_slicer_colors.ctbl"};
}

ViewerFiles write_viewer_files(const std::filesystem::path& label_map, const Palette& palette, int et_label) {
  const ViewerFiles f = viewer_file_paths(label_map);
  write_text_atomically(f.itksnap, itksnap_label_description(palette, et_label));
  write_text_atomically(f.slicer, slicer_color_table(palette, et_label));
  return f;
}

}  // namespace gmd
