// The palette: resources/colors/brats.json, compiled in (see core/CMakeLists.txt), parsed once.
#include "gmd/common/palette.hpp"

#include <nlohmann/json.hpp>

#include "gmd/common/error.hpp"
#include "gmd/common/regions.hpp"
#include "gmd_palette_data.hpp"

namespace gmd {
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

}  // namespace gmd
