// Ablation viewer logic: slice rendering, background choice, region dependence.
#include "gmd/panels/ablation_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "gmd/common/modality.hpp"
#include "gmd/panels/style.hpp"

namespace gmd::panels {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Sign of the physical direction (LPS) that voxel axis `a` mostly points along, and which
// physical axis that is.
std::pair<int, double> dominant(const io::Geometry& g, int a) {
  int best = a;
  double v = 0.0;
  for (int r = 0; r < 3; ++r) {
    const double d = g.direction[static_cast<std::size_t>(r * 3 + a)];
    if (std::fabs(d) > std::fabs(v)) {
      v = d;
      best = r;
    }
  }
  return {best, v >= 0 ? 1.0 : -1.0};
}

// Screen layout of a slice: which voxel axes run along the columns and rows, and whether each is
// flipped so that the picture follows the radiological convention.
struct SliceLayout {
  int col_axis, row_axis;
  bool flip_col, flip_row;
};
SliceLayout layout_for(const io::Geometry& g, int axis) {
  SliceLayout l{};
  if (axis == kAxial) {
    l.col_axis = 0;
    l.row_axis = 1;
  } else if (axis == kCoronal) {
    l.col_axis = 0;
    l.row_axis = 2;
  } else {
    l.col_axis = 1;
    l.row_axis = 2;
  }
  // Columns: increasing towards patient left (+x in LPS) for x; towards posterior (+y) for the
  // sagittal view, so that anterior is on the left.
  const auto [pc, sc] = dominant(g, l.col_axis);
  (void)pc;
  l.flip_col = sc < 0;
  // Rows: top = anterior (-y) in the axial view; top = superior (+z) otherwise.
  const auto [pr, sr] = dominant(g, l.row_axis);
  (void)pr;
  l.flip_row = axis == kAxial ? sr < 0 : sr > 0;
  return l;
}
}  // namespace

QString axis_name(int axis) {
  switch (axis) {
    case kSagittal: return QStringLiteral("sagittal");
    case kCoronal: return QStringLiteral("coronal");
    default: return QStringLiteral("axial");
  }
}

int slice_count(const io::Geometry& g, int axis) {
  return static_cast<int>(g.size[static_cast<std::size_t>(std::clamp(axis, 0, 2))]);
}

GreyWindow grey_window(const io::Image& img) {
  std::vector<float> v;
  const std::size_t n = img.voxels.size();
  const std::size_t stride = std::max<std::size_t>(1, n / 2000000);
  v.reserve(n / stride + 1);
  for (std::size_t i = 0; i < n; i += stride)
    if (img.voxels[i] != 0.0f && std::isfinite(img.voxels[i])) v.push_back(img.voxels[i]);
  GreyWindow w;
  if (v.empty()) return w;
  auto pct = [&](double p) {
    const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
  };
  w.lo = pct(0.005);
  w.hi = pct(0.995);
  if (!(w.hi > w.lo)) w.hi = w.lo + 1.0f;
  return w;
}

QImage render_slice(const io::Geometry& geom, const io::Image* image, const GreyWindow& w,
                    const io::LabelMap* labels, int axis, int index, double opacity) {
  axis = std::clamp(axis, 0, 2);
  const SliceLayout l = layout_for(geom, axis);
  const int cols = static_cast<int>(geom.size[static_cast<std::size_t>(l.col_axis)]);
  const int rows = static_cast<int>(geom.size[static_cast<std::size_t>(l.row_axis)]);
  if (cols <= 0 || rows <= 0) return {};
  index = std::clamp(index, 0, slice_count(geom, axis) - 1);
  QImage out(cols, rows, QImage::Format_RGB32);
  const bool use_image = image && image->voxels.size() == geom.voxel_count();
  const bool use_labels = labels && labels->voxels.size() == geom.voxel_count();
  const double a = std::clamp(opacity, 0.0, 1.0);
  std::array<QColor, 5> lc{};
  for (int v = 1; v <= 4; ++v) lc[static_cast<std::size_t>(v)] = label_color(v);
  const float scale = 255.0f / (w.hi - w.lo);
  for (int r = 0; r < rows; ++r) {
    auto* line = reinterpret_cast<QRgb*>(out.scanLine(r));
    const int vr = l.flip_row ? rows - 1 - r : r;
    for (int c = 0; c < cols; ++c) {
      const int vc = l.flip_col ? cols - 1 - c : c;
      std::array<std::size_t, 3> ijk{};
      ijk[static_cast<std::size_t>(axis)] = static_cast<std::size_t>(index);
      ijk[static_cast<std::size_t>(l.col_axis)] = static_cast<std::size_t>(vc);
      ijk[static_cast<std::size_t>(l.row_axis)] = static_cast<std::size_t>(vr);
      const std::size_t at = geom.index(ijk[0], ijk[1], ijk[2]);
      int g = 0;
      if (use_image) g = static_cast<int>(std::clamp((image->voxels[at] - w.lo) * scale, 0.0f, 255.0f));
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

QSizeF slice_extent_mm(const io::Geometry& geom, int axis) {
  const SliceLayout l = layout_for(geom, std::clamp(axis, 0, 2));
  return {static_cast<double>(geom.size[static_cast<std::size_t>(l.col_axis)]) *
              geom.spacing[static_cast<std::size_t>(l.col_axis)],
          static_cast<double>(geom.size[static_cast<std::size_t>(l.row_axis)]) *
              geom.spacing[static_cast<std::size_t>(l.row_axis)]};
}

int tumour_slice(const io::LabelMap& labels, int axis) {
  axis = std::clamp(axis, 0, 2);
  const auto& g = labels.geom;
  const int n = slice_count(g, axis);
  if (n <= 0) return 0;
  std::vector<int64_t> count(static_cast<std::size_t>(n), 0);
  if (labels.voxels.size() == g.voxel_count())
    for (std::size_t z = 0; z < g.size[2]; ++z)
      for (std::size_t y = 0; y < g.size[1]; ++y)
        for (std::size_t x = 0; x < g.size[0]; ++x)
          if (labels.voxels[g.index(x, y, z)] != 0) {
            const std::size_t s = axis == 0 ? x : axis == 1 ? y : z;
            ++count[s];
          }
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
  static const char* kRegion[3] = {"WT", "TC", "ET"};
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
      t << kRegion[r] << ": a single modality, nothing to remove";
    } else {
      const std::string mod(modality_display(d.modality));
      if (d.drop >= 0.25 && d.without <= 0.5 * d.with)
        t << kRegion[r] << " collapses without " << mod;
      else if (d.drop > 0.02)
        t << kRegion[r] << " depends most on " << mod;
      else
        t << kRegion[r] << " hardly depends on any single modality (most: " << mod << ")";
      t << " (mean Dice " << d.with << " \u2192 " << d.without << " without it)";
    }
    d.text = t.str();
    out.push_back(d);
  }
  return out;
}

}  // namespace gmd::panels
