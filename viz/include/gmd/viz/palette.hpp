#pragma once
// Overlay colours and the overlay style (which labels/regions are shown, opacity).
// The palette is resources/colors/brats.json (gmd/common/palette.hpp).
#include <array>
#include <cstdint>
#include <string>

#include "gmd/common/palette.hpp"
#include "gmd/common/regions.hpp"

namespace gmd::viz {

// The palette lives on the ground floor (gmd/common/palette.hpp): the CLI writes viewer files with it too.
using gmd::Palette;
using gmd::Rgb;

// BraTS label values in overlay order: NCR/NET (1), ED (2), ET (4) (gmd/common/regions.hpp).
using gmd::kLabelValues;
const char* label_short_name(int i);  // "NCR/NET", "ED", "ET"
const char* label_long_name(int i);
const char* region_short_name(int r);  // "WT", "TC", "ET"
const char* region_long_name(int r);

// Agreement: the label map shown is a binned subset-agreement map (pipeline::agreement_bins: 1 all subsets, 2 at
// least half, 4 fewer than half); the studio sets it while the agreement overlay is shown.
enum class OverlayMode { Labels, Regions, Agreement };
const char* agreement_bin_name(int i);  // "all", "at least half", "fewer than half" (of the subsets)

struct OverlayStyle {
  OverlayMode mode = OverlayMode::Labels;
  // Labels mode: NCR/NET, ED, ET. Regions mode: WT, TC, ET. Agreement mode: all, at least half, fewer than half.
  std::array<bool, 3> visible{true, true, true};
  double opacity = 0.5;  // slice overlay opacity (0..1)
  bool operator==(const OverlayStyle& o) const {
    return mode == o.mode && visible == o.visible && opacity == o.opacity;
  }
};

// Colour and alpha (0 hidden / 255 shown) of each label value 0..4 on a slice under `style`.
// Regions mode draws nested regions: a voxel takes the colour of the innermost visible region
// containing it (ET inside TC inside WT). Label 3 is drawn like 4 (BraTS 2023 ET).
std::array<std::array<std::uint8_t, 4>, 5> label_rgba(const Palette& p, const OverlayStyle& style);

// 3D surfaces are always the nested regions WT, TC, ET. In labels mode they take the label colours
// (WT<-ED, TC<-NCR/NET, ET<-ET) and the label toggles; in regions mode the region colours/toggles. In agreement
// mode only the outer surface (every voxel any subset includes) is drawn, in the "fewer than half" colour.
Rgb surface_color(const Palette& p, const OverlayStyle& style, int region);
bool surface_visible(const OverlayStyle& style, int region);

}  // namespace gmd::viz
