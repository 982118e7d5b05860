// Sequences onto one grid (see align.hpp).
#include "gmd/io/align.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "gmd/common/error.hpp"
#include "gmd/io/resample.hpp"

namespace gmd::io {

Align parse_align(const std::string& text) {
  if (text == "auto") return Align::Auto;
  if (text == "always") return Align::Always;
  if (text == "off") return Align::Off;
  throw UsageError("--register: '" + text + "' is not one of auto, always, off");
}

int reference_modality(SubsetMask present) {
  for (int m : {2, 0, 1, 3})  // T1ce, FLAIR, T1, T2
    if (subset_has(present, m)) return m;
  return -1;
}

Aligned align_images(std::array<std::optional<Image>, kNumModalities> images,
                     const std::array<std::string, kNumModalities>& source, const AlignOptions& opt,
                     std::vector<std::string>* notes) {
  Aligned out;
  SubsetMask present = 0;
  for (int m = 0; m < kNumModalities; ++m)
    if (images[m]) present |= static_cast<SubsetMask>(1u << m);
  const int ref = reference_modality(present);
  if (ref < 0) throw InputError("no image to align");
  out.reference = ref;
  out.geom = images[ref]->geom;
  // Progress: the registrations to do, in equal parts.
  int to_register = 0, done = 0;
  for (int m = 0; m < kNumModalities; ++m)
    if (m != ref && images[m] && opt.mode != Align::Off &&
        (opt.mode == Align::Always || !images[m]->geom.difference(out.geom).empty()))
      ++to_register;
  for (int m = 0; m < kNumModalities; ++m) {
    if (m == ref || !images[m]) continue;
    Image& img = *images[m];
    const bool same_grid = img.geom.difference(out.geom).empty();
    if (same_grid && opt.mode != Align::Always) continue;
    Image moved = resample_linear(img, out.geom);
    std::size_t inside = 0;
    for (float v : moved.voxels) inside += v != 0.0f;
    if (inside < moved.voxels.size() / 20)
      throw InputError(fmt::format("{} ({}) barely overlaps the {} image in scanner coordinates ({} of {} voxels): "
                                   "they are not of one session, or the scanner frames differ",
                                   source[m], modality_display(m), modality_display(ref), inside, moved.voxels.size()));
    if (opt.mode == Align::Off) {
      if (notes)
        notes->push_back(fmt::format("{}: resampled onto the {} grid in scanner coordinates ({}x{}x{} -> {}x{}x{})",
                                     modality_display(m), modality_display(ref), img.geom.size[0], img.geom.size[1],
                                     img.geom.size[2], out.geom.size[0], out.geom.size[1], out.geom.size[2]));
      img = std::move(moved);
      continue;
    }
    const std::string what = fmt::format("registering {} onto {}", modality_display(m), modality_display(ref));
    Registration reg = register_rigid(*images[ref], img, opt.options, [&](double f) {
      if (opt.progress) opt.progress(what, std::min(1.0, (done + f) / std::max(1, to_register)));
    });
    ++done;
    const double angle = reg.transform.angle_deg();
    const auto& t = reg.transform.translation;
    const double shift = std::hypot(t[0], t[1], t[2]);
    if (angle > opt.max_angle_deg || shift > opt.max_shift_mm)
      throw InputError(fmt::format("{} ({}): registration onto the {} image moved it by {:.1f} deg and {:.1f} mm, more "
                                   "than a patient moves within one session (at most {:.0f} deg, {:.0f} mm); check "
                                   "the images, or read them in scanner coordinates (--register off)",
                                   source[m], modality_display(m), modality_display(ref), angle, shift,
                                   opt.max_angle_deg, opt.max_shift_mm));
    if (notes)
      notes->push_back(fmt::format("{}: registered rigidly onto {} ({}x{}x{} -> {}x{}x{}): {}", modality_display(m),
                                   modality_display(ref), img.geom.size[0], img.geom.size[1], img.geom.size[2],
                                   out.geom.size[0], out.geom.size[1], out.geom.size[2], reg.transform.describe()));
    img = resample_linear(img, out.geom, reg.transform);
    out.registration[m] = std::move(reg);
  }
  if (opt.progress) opt.progress("done", 1.0);
  out.images = std::move(images);
  return out;
}

namespace {
// (lo, hi): the 1st and 99th percentiles of the nonzero voxels; (0, 1) when there are none.
std::pair<float, float> robust_range(const Image& img) {
  std::vector<float> v;
  v.reserve(img.voxels.size());
  for (float x : img.voxels)
    if (x != 0.0f) v.push_back(x);
  if (v.empty()) return {0.0f, 1.0f};
  const auto at = [&](double q) {
    auto it = v.begin() + static_cast<std::ptrdiff_t>(q * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), it, v.end());
    return *it;
  };
  const float lo = at(0.01), hi = at(0.99);
  return {lo, hi > lo ? hi : lo + 1.0f};
}
}  // namespace

Image checkerboard(const Image& a, const Image& b, double tile_mm) {
  if (const std::string diff = a.geom.difference(b.geom); !diff.empty())
    throw InputError("alignment check: the two images are on different grids (" + diff + ")");
  const auto [alo, ahi] = robust_range(a);
  const auto [blo, bhi] = robust_range(b);
  Image out;
  out.geom = a.geom;
  out.voxels.resize(a.voxels.size());
  const Geometry& g = a.geom;
  std::array<double, 3> cells{};
  for (int k = 0; k < 3; ++k) cells[k] = std::max(tile_mm, 1e-3) / g.spacing[k];
  for (std::size_t z = 0; z < g.size[2]; ++z)
    for (std::size_t y = 0; y < g.size[1]; ++y)
      for (std::size_t x = 0; x < g.size[0]; ++x) {
        const auto parity = static_cast<long>(std::floor(x / cells[0])) + static_cast<long>(std::floor(y / cells[1])) +
                            static_cast<long>(std::floor(z / cells[2]));
        const std::size_t i = g.index(x, y, z);
        const bool first = parity % 2 == 0;
        const float v = first ? a.voxels[i] : b.voxels[i];
        const float lo = first ? alo : blo, hi = first ? ahi : bhi;
        out.voxels[i] = v == 0.0f ? 0.0f : std::clamp((v - lo) / (hi - lo), 0.0f, 1.0f) * 1000.0f;
      }
  return out;
}

}  // namespace gmd::io
