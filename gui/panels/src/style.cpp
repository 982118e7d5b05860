#include "gmd/panels/style.hpp"

#include <array>
#include <functional>

#include "gmd/panels/metrics.hpp"
#include "gmd/viz/palette.hpp"

namespace gmd::panels {

namespace {
// 15 colours in the paper's subset order: single modalities strong primaries, pairs mid tones,
// triples dark, all four magenta. Chosen to stay distinguishable on white and in legends.
constexpr std::array<std::array<int, 3>, 15> kSubsetRgb{{
    {31, 119, 180},   // FLAIR
    {255, 127, 14},   // T1
    {44, 160, 44},    // T1ce
    {214, 39, 40},    // T2
    {148, 103, 189},  // FLAIR+T1
    {140, 86, 75},    // FLAIR+T1ce
    {227, 119, 194},  // FLAIR+T2
    {127, 127, 127},  // T1+T1ce
    {188, 189, 34},   // T1+T2
    {23, 190, 207},   // T1ce+T2
    {0, 0, 128},      // FLAIR+T1+T1ce
    {170, 110, 0},    // FLAIR+T1+T2
    {0, 110, 60},     // FLAIR+T1ce+T2
    {128, 0, 0},      // T1+T1ce+T2
    {200, 0, 200},    // FLAIR+T1+T1ce+T2
}};
}  // namespace

QColor subset_color(const std::string& name) {
  if (name == "total") return QColor(0, 0, 0);
  const int o = subset_order(name);
  if (o >= 0 && o < 15) {
    const auto& c = kSubsetRgb[static_cast<std::size_t>(o)];
    return QColor(c[0], c[1], c[2]);
  }
  const std::size_t h = std::hash<std::string>{}(name);
  return QColor::fromHsv(static_cast<int>(h % 360), 160 + static_cast<int>((h >> 9) % 80),
                         120 + static_cast<int>((h >> 17) % 100));
}

QColor region_color(int r) {
  switch (r) {
    case 0: return QColor(40, 150, 255);   // WT
    case 1: return QColor(240, 70, 190);   // TC
    default: return QColor(230, 190, 0);   // ET (a darker yellow than the overlay, legible on white)
  }
}

QColor label_color(int label) {
  const auto& pal = viz::Palette::builtin().label;  // resources/colors/brats.json, as in the main views
  for (std::size_t i = 0; i < viz::kLabelValues.size(); ++i)
    if (label == viz::kLabelValues[i] || (label == 3 && viz::kLabelValues[i] == 4))
      return QColor(pal[i].r, pal[i].g, pal[i].b);
  return QColor();
}

QString short_subset_name(const std::string& name) {
  QString s = QString::fromStdString(name);
  s.replace(QStringLiteral("FLAIR"), QStringLiteral("F"));
  s.replace(QStringLiteral("T1ce"), QStringLiteral("T1c"));
  return s;
}

}  // namespace gmd::panels
