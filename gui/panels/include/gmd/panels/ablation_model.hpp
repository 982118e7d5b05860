#pragma once
// The ablation viewer's logic without widgets: slice rendering of a modality with a label overlay
// (QImage), which modality to show under the labels, and which modality each region depends on.
#include <QImage>
#include <QSizeF>
#include <QString>
#include <array>
#include <string>
#include <vector>

#include "gmd/common/image.hpp"
#include "gmd/pipeline/service.hpp"
#include "gmd/viz/display.hpp"

namespace gmd::panels {

// Slice axes of the display frame (viz/display.hpp: x = patient left, y = posterior, z = superior), whatever the
// acquisition: 0 = sagittal (x fixed), 1 = coronal (y fixed), 2 = axial (z fixed). Slice indices count along that
// display axis, as in the main views.
inline constexpr int kSagittal = 0, kCoronal = 1, kAxial = 2;
QString axis_name(int axis);
int slice_count(const Geometry& g, int axis);

// Grey-level window of an image: the main views' default (0.5th-99.5th percentile of the brain voxels).
viz::WindowLevel grey_window(const Image& img);

// Renders one slice: the image (grey, or black without one) under the label overlay (the main views' palette,
// resources/colors/brats.json) blended with `opacity`. One pixel per voxel, laid out as the main views lay out the
// display frame (radiological: patient's right on the left, anterior / superior up). `index` is clamped.
QImage render_slice(const Geometry& geom, const Image* image, const viz::WindowLevel& w,
                    const LabelMap* labels, int axis, int index, double opacity = 0.5);
// Physical width/height (mm) of a rendered slice, for drawing it with the right aspect ratio.
QSizeF slice_extent_mm(const Geometry& geom, int axis);
// The slice (along `axis`) with the most tumour voxels in `labels`; the middle slice when empty.
int tumour_slice(const LabelMap& labels, int axis);

// The modality drawn under the labels: the first present of FLAIR, T1ce, T2, T1 (-1 when none).
int background_modality(SubsetMask present);

// For each region (WT, TC, ET): the modality whose removal lowers the mean Dice the most. The drop
// of modality m is the mean over subsets S that contain m and another modality of
// Dice(S) - Dice(S without m); `with` / `without` are the means of Dice(S) and Dice(S without m).
struct RegionDependence {
  int region = 0;       // 0 WT, 1 TC, 2 ET
  int modality = -1;    // -1 when the case has a single modality (nothing to remove)
  double with = 0.0, without = 0.0, drop = 0.0;
  std::array<double, 4> drop_by_modality{};  // NaN for modalities the case lacks
  std::string text;     // e.g. "ET collapses without T1ce (mean Dice 0.82 -> 0.12)"
};
std::vector<RegionDependence> region_dependence(const pipeline::Ablation& a);

// The entry of a subset, or nullptr.
const pipeline::AblationEntry* find_entry(const pipeline::Ablation& a, SubsetMask s);

}  // namespace gmd::panels
