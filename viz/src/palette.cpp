#include "gmd/viz/palette.hpp"

#include <nlohmann/json.hpp>

#include "gmd/common/error.hpp"
#include "gmd/common/regions.hpp"
#include "gmd_palette_data.hpp"

namespace gmd::viz {
namespace {
Rgb parse_rgb(const nlohmann::json& j, const std::string& what, const std::string& origin) {
  if (!j.is_array() || j.size() != 3)
    throw InputError(origin + ": '" + what + "' must be an [r, g, b] array");
  Rgb c;
  std::array<std::uint8_t*, 3> dst{&c.r, &c.g, &c.b};
  for (size_t i = 0; i < 3; ++i) {
    if (!j[i].is_number_integer() || j[i].get<int>() < 0 || j[i].get<int>() > 255)
      throw InputError(origin + ": '" + what + "' components must be integers 0..255");
    *dst[i] = static_cast<std::uint8_t>(j[i].get<int>());
  }
  return c;
}
}  // namespace

const char* label_short_name(int i) { return gmd::kLabelNames.at(static_cast<size_t>(i)); }
const char* label_long_name(int i) { return gmd::kLabelLongNames.at(static_cast<size_t>(i)); }
const char* region_short_name(int r) { return gmd::kRegionNames.at(static_cast<size_t>(r)); }
const char* region_long_name(int r) { return gmd::kRegionLongNames.at(static_cast<size_t>(r)); }
const char* agreement_bin_name(int i) {
  static constexpr std::array<const char*, 3> kNames{"all", "at least half", "fewer than half"};
  return kNames.at(static_cast<size_t>(i));
}

Palette Palette::from_json(const std::string& text, const std::string& origin) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(origin + ": not valid JSON (" + e.what() + ")");
  }
  Palette p;
  if (!j.contains("labels") || !j["labels"].is_array())
    throw InputError(origin + ": missing 'labels' array");
  std::array<bool, 3> seen_label{};
  for (const auto& e : j["labels"]) {
    if (!e.contains("value") || !e.contains("rgb")) throw InputError(origin + ": a label entry lacks 'value' or 'rgb'");
    const int v = e["value"].get<int>();
    int idx = -1;
    for (int i = 0; i < 3; ++i)
      if (kLabelValues[i] == v) idx = i;
    if (idx < 0) throw InputError(origin + ": label value " + std::to_string(v) + " is not a BraTS label (1, 2, 4)");
    p.label[idx] = parse_rgb(e["rgb"], "labels[" + std::to_string(v) + "].rgb", origin);
    seen_label[idx] = true;
  }
  if (!j.contains("regions") || !j["regions"].is_array())
    throw InputError(origin + ": missing 'regions' array");
  std::array<bool, 3> seen_region{};
  for (const auto& e : j["regions"]) {
    const std::string key = e.value("key", "");
    int idx = key == "wt" ? 0 : key == "tc" ? 1 : key == "et" ? 2 : -1;
    if (idx < 0) throw InputError(origin + ": region key '" + key + "' is not wt, tc or et");
    p.region[idx] = parse_rgb(e.at("rgb"), "regions[" + key + "].rgb", origin);
    seen_region[idx] = true;
  }
  for (int i = 0; i < 3; ++i) {
    if (!seen_label[i]) throw InputError(origin + ": no colour for label " + std::to_string(kLabelValues[i]));
    if (!seen_region[i]) throw InputError(origin + std::string(": no colour for region ") + gmd::kRegionNames[i]);
  }
  if (j.contains("agreement")) {
    const auto& a = j["agreement"];
    if (!a.is_object()) throw InputError(origin + ": 'agreement' must be an object with all, most, few");
    static constexpr std::array<const char*, 3> kKeys{"all", "most", "few"};
    for (size_t i = 0; i < 3; ++i)
      if (a.contains(kKeys[i])) p.agreement[i] = parse_rgb(a[kKeys[i]], std::string("agreement.") + kKeys[i], origin);
  }
  if (j.contains("crosshair")) p.crosshair = parse_rgb(j["crosshair"], "crosshair", origin);
  if (j.contains("orientation_text")) p.orientation_text = parse_rgb(j["orientation_text"], "orientation_text", origin);
  if (j.contains("info_text")) p.info_text = parse_rgb(j["info_text"], "info_text", origin);
  if (j.contains("brain_surface")) p.brain_surface = parse_rgb(j["brain_surface"], "brain_surface", origin);
  return p;
}

const Palette& Palette::builtin() {
  static const Palette p = from_json(detail::kBuiltinPaletteJson, "resources/colors/brats.json");
  return p;
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
