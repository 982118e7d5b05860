#include "gmd/viz/palette.hpp"

#include "gmd/common/regions.hpp"

namespace gmd::viz {
const char* label_short_name(int i) { return gmd::kLabelNames.at(static_cast<size_t>(i)); }
const char* label_long_name(int i) { return gmd::kLabelLongNames.at(static_cast<size_t>(i)); }
const char* region_short_name(int r) { return gmd::kRegionNames.at(static_cast<size_t>(r)); }
const char* region_long_name(int r) { return gmd::kRegionLongNames.at(static_cast<size_t>(r)); }
const char* agreement_bin_name(int i) {
  static constexpr std::array<const char*, 3> kNames{"all", "at least half", "fewer than half"};
  return kNames.at(static_cast<size_t>(i));
}

std::array<std::array<std::uint8_t, 4>, 5> label_rgba(const Palette& p, const OverlayStyle& s) {
  std::array<std::array<std::uint8_t, 4>, 5> out{};
  auto put = [&](int value, const Rgb* c) {
    if (c) out[value] = {c->r, c->g, c->b, 255};
    else out[value] = {0, 0, 0, 0};
  };
  put(0, nullptr);
  if (s.mode == OverlayMode::Agreement) {
    put(1, s.visible[0] ? &p.agreement[0] : nullptr);
    put(2, s.visible[1] ? &p.agreement[1] : nullptr);
    put(4, s.visible[2] ? &p.agreement[2] : nullptr);
  } else if (s.mode == OverlayMode::Labels) {
    put(1, s.visible[0] ? &p.label[0] : nullptr);
    put(2, s.visible[1] ? &p.label[1] : nullptr);
    put(4, s.visible[2] ? &p.label[2] : nullptr);
  } else {
    const Rgb* wt = s.visible[0] ? &p.region[0] : nullptr;
    const Rgb* tc = s.visible[1] ? &p.region[1] : wt;
    const Rgb* et = s.visible[2] ? &p.region[2] : tc;
    put(2, wt);  // ED: only in WT
    put(1, tc);  // NCR/NET: in TC (and WT)
    put(4, et);  // ET: in ET (and TC, WT)
  }
  out[3] = out[4];
  return out;
}

Rgb surface_color(const Palette& p, const OverlayStyle& s, int region) {
  if (s.mode == OverlayMode::Agreement) return p.agreement[2];
  if (s.mode == OverlayMode::Regions) return p.region.at(static_cast<size_t>(region));
  static constexpr std::array<int, 3> kLabelForRegion{1, 0, 2};  // WT<-ED, TC<-NCR/NET, ET<-ET
  return p.label.at(static_cast<size_t>(kLabelForRegion.at(static_cast<size_t>(region))));
}

bool surface_visible(const OverlayStyle& s, int region) {
  if (s.mode == OverlayMode::Agreement) return region == 0 && (s.visible[0] || s.visible[1] || s.visible[2]);
  if (s.mode == OverlayMode::Regions) return s.visible.at(static_cast<size_t>(region));
  static constexpr std::array<int, 3> kLabelForRegion{1, 0, 2};
  return s.visible.at(static_cast<size_t>(kLabelForRegion.at(static_cast<size_t>(region))));
}

}  // namespace gmd::viz
