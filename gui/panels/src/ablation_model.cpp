// Ablation viewer logic: slice rendering, background choice, region dependence.
#include "gmd/panels/ablation_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "gmd/common/modality.hpp"
#include "gmd/common/regions.hpp"
#include "gmd/panels/style.hpp"
#include "gmd/viz/display.hpp"

namespace gmd::panels {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Screen layout of a slice in the display frame (x = patient left, y = posterior, z = superior; viz/display.hpp),
// in the main views' radiological convention: which display axes run along the columns and rows, and whether the
// rows run against their axis. Axial: patient left on the screen's right, anterior up; coronal: left on the right,
// superior up; sagittal: anterior on the left, superior up.
struct SliceLayout {
  int col_axis, row_axis;
  bool flip_row;
};
SliceLayout layout_for(int axis) {
  if (axis == kAxial) return {0, 1, false};
  if (axis == kCoronal) return {0, 2, true};
  return {1, 2, true};
}
}  // namespace

QString axis_name(int axis) {
  switch (axis) {
    case kSagittal: return QStringLiteral("sagittal");
    case kCoronal: return QStringLiteral("coronal");
    default: return QStringLiteral("axial");
  }
}

int slice_count(const Geometry& g, int axis) {
  return static_cast<int>(viz::DisplayFrame::from_geometry(g).size[static_cast<std::size_t>(std::clamp(axis, 0, 2))]);
}

viz::WindowLevel grey_window(const Image& img) { return viz::auto_window_level(img.voxels); }

QImage render_slice(const Geometry& geom, const Image* image, const viz::WindowLevel& w,
                    const LabelMap* labels, int axis, int index, double opacity) {
  axis = std::clamp(axis, 0, 2);
  const viz::DisplayFrame f = viz::DisplayFrame::from_geometry(geom);
  const SliceLayout l = layout_for(axis);
  const int cols = static_cast<int>(f.size[static_cast<std::size_t>(l.col_axis)]);
  const int rows = static_cast<int>(f.size[static_cast<std::size_t>(l.row_axis)]);
  if (cols <= 0 || rows <= 0) return {};
  index = std::clamp(index, 0, static_cast<int>(f.size[static_cast<std::size_t>(axis)]) - 1);
  QImage out(cols, rows, QImage::Format_RGB32);
  const bool use_image = image && image->voxels.size() == geom.voxel_count();
  const bool use_labels = labels && labels->voxels.size() == geom.voxel_count();
  const double a = std::clamp(opacity, 0.0, 1.0);
  std::array<QColor, 5> lc{};
  for (int v = 1; v <= 4; ++v) lc[static_cast<std::size_t>(v)] = label_color(v);
  const double lo = w.lower(), scale = 255.0 / std::max(1e-12, w.upper() - w.lower());
  for (int r = 0; r < rows; ++r) {
    auto* line = reinterpret_cast<QRgb*>(out.scanLine(r));
    std::array<std::size_t, 3> d{};
    d[static_cast<std::size_t>(axis)] = static_cast<std::size_t>(index);
    d[static_cast<std::size_t>(l.row_axis)] = static_cast<std::size_t>(l.flip_row ? rows - 1 - r : r);
    for (int c = 0; c < cols; ++c) {
      d[static_cast<std::size_t>(l.col_axis)] = static_cast<std::size_t>(c);
      const auto s = f.to_source(d);
      const std::size_t at = geom.index(s[0], s[1], s[2]);
      int g = 0;
      if (use_image) g = static_cast<int>(std::clamp((image->voxels[at] - lo) * scale, 0.0, 255.0));
      int R = g, G = g, B = g;
      if (use_labels) {
        const int lab = labels->voxels[at];
        if (lab >= 1 && lab <= 4) {
          const QColor& k = lc[static_cast<std::size_t>(lab)];
          R = static_cast<int>(R * (1 - a) + k.red() * a);
          G = static_cast<int>(G * (1 - a) + k.green() * a);
          B = static_cast<int>(B * (1 - a) + k.blue() * a);
        }
      }
      line[c] = qRgb(R, G, B);
    }
  }
  return out;
}

QSizeF slice_extent_mm(const Geometry& geom, int axis) {
  const viz::DisplayFrame f = viz::DisplayFrame::from_geometry(geom);
  const SliceLayout l = layout_for(std::clamp(axis, 0, 2));
  const auto c = static_cast<std::size_t>(l.col_axis), r = static_cast<std::size_t>(l.row_axis);
  return {static_cast<double>(f.size[c]) * f.spacing[c], static_cast<double>(f.size[r]) * f.spacing[r]};
}

int tumour_slice(const LabelMap& labels, int axis) {
  axis = std::clamp(axis, 0, 2);
  const auto& g = labels.geom;
  const viz::DisplayFrame f = viz::DisplayFrame::from_geometry(g);
  const int n = static_cast<int>(f.size[static_cast<std::size_t>(axis)]);
  if (n <= 0) return 0;
  std::vector<int64_t> count(static_cast<std::size_t>(n), 0);
  if (labels.voxels.size() == g.voxel_count())
    for (std::size_t z = 0; z < g.size[2]; ++z)
      for (std::size_t y = 0; y < g.size[1]; ++y)
        for (std::size_t x = 0; x < g.size[0]; ++x)
          if (labels.voxels[g.index(x, y, z)] != 0) ++count[f.to_display({x, y, z})[static_cast<std::size_t>(axis)]];
  const auto it = std::max_element(count.begin(), count.end());
  if (*it == 0) return n / 2;
  return static_cast<int>(it - count.begin());
}

int background_modality(SubsetMask present) {
  for (int m : {0, 2, 3, 1})
    if (subset_has(present, m)) return m;
  return -1;
}

const pipeline::AblationEntry* find_entry(const pipeline::Ablation& a, SubsetMask s) {
  for (const auto& e : a.entries)
    if (e.subset == s) return &e;
  return nullptr;
}

std::vector<RegionDependence> region_dependence(const pipeline::Ablation& a) {
  std::vector<RegionDependence> out;
  SubsetMask present = 0;
  for (const auto& e : a.entries) present |= e.subset;
  for (int r = 0; r < 3; ++r) {
    RegionDependence d;
    d.region = r;
    d.drop_by_modality.fill(kNaN);
    double best = -1e300;
    for (int m = 0; m < kNumModalities; ++m) {
      if (!subset_has(present, m)) continue;
      double sum_with = 0, sum_without = 0;
      int n = 0;
      for (const auto& e : a.entries) {
        if (!subset_has(e.subset, m) || subset_size(e.subset) < 2) continue;
        const auto* without = find_entry(a, static_cast<SubsetMask>(e.subset & ~(1u << m)));
        if (!without) continue;
        sum_with += e.dice[static_cast<std::size_t>(r)];
        sum_without += without->dice[static_cast<std::size_t>(r)];
        ++n;
      }
      if (n == 0) continue;
      const double drop = (sum_with - sum_without) / n;
      d.drop_by_modality[static_cast<std::size_t>(m)] = drop;
      if (drop > best) {
        best = drop;
        d.modality = m;
        d.with = sum_with / n;
        d.without = sum_without / n;
        d.drop = drop;
      }
    }
    std::ostringstream t;
    t.setf(std::ios::fixed);
    t.precision(2);
    if (d.modality < 0) {
      t << region_name(r) << ": a single modality, nothing to remove";
    } else {
      const std::string mod(modality_display(d.modality));
      if (d.drop >= 0.25 && d.without <= 0.5 * d.with)
        t << region_name(r) << " collapses without " << mod;
      else if (d.drop > 0.02)
        t << region_name(r) << " depends most on " << mod;
      else
        t << region_name(r) << " hardly depends on any single modality (most: " << mod << ")";
      t << " (mean Dice " << d.with << " \u2192 " << d.without << " without it)";
    }
    d.text = t.str();
    out.push_back(d);
  }
  return out;
}

}  // namespace gmd::panels
