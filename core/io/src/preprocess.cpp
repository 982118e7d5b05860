#include "gmd/io/preprocess.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gmd/common/error.hpp"

namespace gmd::io {
namespace {

using i64 = std::int64_t;

void check_volume_size(std::size_t have, const Geometry& g, const std::string& what, const std::string& id) {
  if (have != g.voxel_count())
    throw InputError(fmt::format("case {}: {} holds {} voxels, but the case geometry {}x{}x{} needs {}", id, what,
                                 have, g.size[0], g.size[1], g.size[2], g.voxel_count()));
}

// Source index range [lo, lo+size) in x of row (z, y) of the crop, mapped into the padded frame.
struct Frame {
  i64 D, H, W;        // padded
  i64 cz, cy, cx;     // crop size
  i64 oz, oy, ox;     // crop start in the original
  i64 pz, py, px;     // pad before
  i64 NX, NY;         // original x/y size
  std::size_t src(i64 z, i64 y) const { return static_cast<std::size_t>(((oz + z) * NY + (oy + y)) * NX + ox); }
  std::size_t dst(i64 z, i64 y) const { return static_cast<std::size_t>(((pz + z) * H + (py + y)) * W + px); }
};

Frame frame_of(const Preprocessed& pp) {
  Frame f;
  f.D = pp.dims[0], f.H = pp.dims[1], f.W = pp.dims[2];
  f.cz = pp.crop_size[0], f.cy = pp.crop_size[1], f.cx = pp.crop_size[2];
  f.oz = pp.crop_lo[0], f.oy = pp.crop_lo[1], f.ox = pp.crop_lo[2];
  f.pz = pp.pad_lo[0], f.py = pp.pad_lo[1], f.px = pp.pad_lo[2];
  f.NX = static_cast<i64>(pp.original.size[0]);
  f.NY = static_cast<i64>(pp.original.size[1]);
  return f;
}

template <typename T>
Volume<T> restore(const std::vector<T>& padded, const Preprocessed& pp, const char* what) {
  if (static_cast<i64>(padded.size()) != pp.voxel_count())
    throw std::invalid_argument(fmt::format("{}: got {} voxels, expected {}x{}x{} = {} (the preprocessed frame)", what,
                                            padded.size(), pp.dims[0], pp.dims[1], pp.dims[2], pp.voxel_count()));
  Volume<T> out;
  out.geom = pp.original;
  out.voxels.assign(pp.original.voxel_count(), T{});
  const Frame f = frame_of(pp);
  for (i64 z = 0; z < f.cz; ++z)
    for (i64 y = 0; y < f.cy; ++y)
      std::memcpy(out.voxels.data() + f.src(z, y), padded.data() + f.dst(z, y), sizeof(T) * f.cx);
  return out;
}

}  // namespace

Preprocessed preprocess(const Case& c, const PreprocessParams& p) {
  const Geometry& g = c.geom;
  const SubsetMask present = c.present();
  if (present == 0) throw InputError("case " + c.id + ": no modality image to preprocess");
  if (g.voxel_count() == 0) throw InputError("case " + c.id + ": empty geometry");
  for (int m = 0; m < kNumModalities; ++m)
    if (c.images[m]) check_volume_size(c.images[m]->voxels.size(), g, std::string(modality_display(m)), c.id);
  if (c.seg) check_volume_size(c.seg->voxels.size(), g, "segmentation", c.id);

  const i64 NX = static_cast<i64>(g.size[0]), NY = static_cast<i64>(g.size[1]), NZ = static_cast<i64>(g.size[2]);
  const std::size_t n = g.voxel_count();

  // Brain mask in the original frame: nonzero in any present modality. Bounding box on the way.
  // The statistics of the z-scores come from where every present modality is nonzero: the same voxels as the mask
  // for skull-stripped, co-registered data (BraTS, the synthetic cases), but without the rim of partial values and
  // the field-of-view gaps that resampling a sequence onto another grid adds (registered DICOM series).
  std::vector<std::uint8_t> mask(n, 0), core(n, 1);
  for (int m = 0; m < kNumModalities; ++m) {
    if (!c.images[m]) continue;
    const float* v = c.images[m]->voxels.data();
    std::uint8_t* mk = mask.data();
    std::uint8_t* co = core.data();
    for (std::size_t i = 0; i < n; ++i) {
      const auto nz = static_cast<std::uint8_t>(v[i] != 0.0f);
      mk[i] |= nz;
      co[i] &= nz;
    }
  }
  std::size_t in_mask = 0, in_core = 0;
  for (std::size_t i = 0; i < n; ++i) in_mask += mask[i], in_core += core[i];
  // Too little common ground (a sequence covering a slab of the brain): the union, as before.
  const std::vector<std::uint8_t>& stats_mask = in_core * 4 >= in_mask ? core : mask;
  i64 lo[3] = {NX, NY, NZ}, hi[3] = {-1, -1, -1};  // x, y, z
  for (i64 z = 0; z < NZ; ++z) {
    for (i64 y = 0; y < NY; ++y) {
      const std::uint8_t* row = mask.data() + (z * NY + y) * NX;
      i64 x0 = 0;
      while (x0 < NX && !row[x0]) ++x0;
      if (x0 == NX) continue;
      i64 x1 = NX - 1;
      while (!row[x1]) --x1;
      lo[0] = std::min(lo[0], x0), hi[0] = std::max(hi[0], x1);
      lo[1] = std::min(lo[1], y), hi[1] = std::max(hi[1], y);
      lo[2] = std::min(lo[2], z), hi[2] = std::max(hi[2], z);
    }
  }
  if (hi[0] < 0) throw InputError("case " + c.id + ": every voxel is zero in all present modalities (empty brain mask)");

  const i64 margin = std::max(0, p.margin);
  const i64 multiple = std::max(1, p.multiple);
  const i64 size_xyz[3] = {NX, NY, NZ};
  Preprocessed pp;
  pp.original = g;
  pp.present = present;
  for (int a = 0; a < 3; ++a) {  // a: x, y, z; stored at index 2 - a (z, y, x order)
    const i64 l = std::max<i64>(0, lo[a] - margin);
    const i64 h = std::min<i64>(size_xyz[a] - 1, hi[a] + margin);
    const i64 extent = h - l + 1;
    const i64 padded = (extent + multiple - 1) / multiple * multiple;
    pp.crop_lo[2 - a] = l;
    pp.crop_size[2 - a] = extent;
    pp.dims[2 - a] = padded;
    pp.pad_lo[2 - a] = (padded - extent) / 2;
  }
  const Frame f = frame_of(pp);
  const std::size_t np = static_cast<std::size_t>(pp.voxel_count());

  pp.mask.assign(np, 0);
  for (i64 z = 0; z < f.cz; ++z)
    for (i64 y = 0; y < f.cy; ++y) std::memcpy(pp.mask.data() + f.dst(z, y), mask.data() + f.src(z, y), f.cx);

  // Per-modality z-score: statistics over stats_mask, applied over the mask (both inside the crop); 0 outside it.
  for (int m = 0; m < kNumModalities; ++m) {
    if (!c.images[m]) continue;
    const float* v = c.images[m]->voxels.data();
    double sum = 0.0;
    std::size_t count = 0;
    for (i64 z = 0; z < f.cz; ++z)
      for (i64 y = 0; y < f.cy; ++y) {
        const float* row = v + f.src(z, y);
        const std::uint8_t* mrow = stats_mask.data() + f.src(z, y);
        for (i64 x = 0; x < f.cx; ++x)
          if (mrow[x]) sum += row[x], ++count;
      }
    const double mean = sum / static_cast<double>(count);
    double ss = 0.0;
    for (i64 z = 0; z < f.cz; ++z)
      for (i64 y = 0; y < f.cy; ++y) {
        const float* row = v + f.src(z, y);
        const std::uint8_t* mrow = stats_mask.data() + f.src(z, y);
        for (i64 x = 0; x < f.cx; ++x)
          if (mrow[x]) {
            const double d = row[x] - mean;
            ss += d * d;
          }
      }
    const double sd = std::sqrt(ss / static_cast<double>(count));
    // A constant modality inside the mask carries no contrast: it normalises to 0, not to Inf/NaN.
    const float inv = sd > 1e-8 * std::max(1.0, std::abs(mean)) ? static_cast<float>(1.0 / sd) : 0.0f;
    const float fmean = static_cast<float>(mean);
    std::vector<float> ch(np, 0.0f);
    for (i64 z = 0; z < f.cz; ++z)
      for (i64 y = 0; y < f.cy; ++y) {
        const float* row = v + f.src(z, y);
        const std::uint8_t* mrow = mask.data() + f.src(z, y);
        float* out = ch.data() + f.dst(z, y);
        for (i64 x = 0; x < f.cx; ++x) out[x] = mrow[x] ? (row[x] - fmean) * inv : 0.0f;
      }
    pp.channels[m] = std::move(ch);
  }

  if (c.seg) {
    const std::uint8_t* s = c.seg->voxels.data();
    std::vector<std::uint8_t> lab(np, 0);
    std::size_t kept = 0;
    for (i64 z = 0; z < f.cz; ++z)
      for (i64 y = 0; y < f.cy; ++y) {
        const std::uint8_t* row = s + f.src(z, y);
        std::uint8_t* out = lab.data() + f.dst(z, y);
        for (i64 x = 0; x < f.cx; ++x) {
          const std::uint8_t l = row[x] == 3 ? 4 : row[x];
          out[x] = l;
          kept += l != 0;
        }
      }
    std::size_t total = 0;
    for (std::size_t i = 0; i < n; ++i) total += s[i] != 0;
    if (total != kept)
      spdlog::warn("case {}: {} tumour voxels of the segmentation lie outside the brain-mask crop and are dropped",
                   c.id, total - kept);
    pp.labels = std::move(lab);
  }
  return pp;
}

LabelMap restore_labels(const std::vector<std::uint8_t>& padded_labels, const Preprocessed& pp) {
  return restore(padded_labels, pp, "restore_labels");
}

Image restore_image(const std::vector<float>& padded, const Preprocessed& pp) {
  return restore(padded, pp, "restore_image");
}

}  // namespace gmd::io
