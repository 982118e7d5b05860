#pragma once
// The label and region colours of everything GMD Studio draws or writes (the studio's views, the panels' thumbnails,
// the viewer files next to a label map): resources/colors/brats.json, compiled into gmd_common, parsed once.
#include <array>
#include <cstdint>
#include <string>

namespace gmd {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb& o) const { return r == o.r && g == o.g && b == o.b; }
};

struct Palette {
  std::array<Rgb, 3> label{};   // index i <-> kLabelValues[i]
  std::array<Rgb, 3> region{};  // WT, TC, ET
  // Subset agreement bins: all subsets, at least half, fewer than half (pipeline::agreement_bins).
  std::array<Rgb, 3> agreement{Rgb{60, 140, 255}, Rgb{255, 170, 30}, Rgb{230, 40, 160}};
  Rgb crosshair{70, 160, 255};
  Rgb orientation_text{255, 200, 90};
  Rgb info_text{215, 215, 215};
  Rgb brain_surface{210, 210, 215};

  // The compiled-in resources/colors/brats.json.
  static const Palette& builtin();
  // Parses a palette JSON document (same schema); throws gmd::InputError naming `origin` on errors.
  static Palette from_json(const std::string& text, const std::string& origin = "palette");
};

}  // namespace gmd
