// Validation of NIfTI-1 headers before ITK reads them (nifti_header.hpp).
#include "gmd/io/nifti_header.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include <fmt/format.h>
#include <znzlib.h>

#include "gmd/common/error.hpp"

namespace gmd::io {
namespace {

constexpr std::size_t kHeaderSize = 348;
// Plausibility bounds of the geometry fields: 10 m per voxel, 10 km of origin offset. Far beyond any scanner, and
// well below the magnitudes that make ITK's orientation code hang.
constexpr double kMaxMmPerVoxel = 1e4;
constexpr double kMaxOffsetMm = 1e7;

struct Reader {
  const unsigned char* b;
  bool swap;
  template <typename T>
  T get(std::size_t off) const {
    unsigned char tmp[sizeof(T)];
    std::memcpy(tmp, b + off, sizeof(T));
    if (swap) std::reverse(tmp, tmp + sizeof(T));
    T v;
    std::memcpy(&v, tmp, sizeof(T));
    return v;
  }
  std::int16_t i16(std::size_t off) const { return get<std::int16_t>(off); }
  std::int32_t i32(std::size_t off) const { return get<std::int32_t>(off); }
  float f32(std::size_t off) const { return get<float>(off); }
};

bool known_datatype(int dt) {
  switch (dt) {
    case 2: case 4: case 8: case 16: case 32: case 64: case 128: case 256: case 512: case 768: case 1024: case 1280:
    case 1536: case 1792: case 2048: case 2304:
      return true;
    default:
      return false;
  }
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::string nifti_header_problem(const unsigned char* bytes, std::size_t size, NiftiLayout layout) {
  if (size < kHeaderSize)
    return fmt::format("truncated NIfTI header: {} bytes, a NIfTI-1 header has {}", size, kHeaderSize);
  std::int32_t sizeof_hdr;
  std::memcpy(&sizeof_hdr, bytes, 4);
  bool swap = false;
  if (sizeof_hdr != 348) {
    std::int32_t swapped = sizeof_hdr;
    unsigned char* p = reinterpret_cast<unsigned char*>(&swapped);
    std::reverse(p, p + 4);
    if (swapped == 348) swap = true;
    else if (sizeof_hdr == 540 || swapped == 540)
      return "NIfTI-2 header: not supported (save the image as NIfTI-1, e.g. with nibabel or c3d)";
    else
      return fmt::format("not a NIfTI-1 header (sizeof_hdr is {}, expected 348)", sizeof_hdr);
  }
  const Reader r{bytes, swap};
  const char* magic = reinterpret_cast<const char*>(bytes + 344);
  const bool n1 = std::memcmp(magic, "n+1\0", 4) == 0;
  const bool ni1 = std::memcmp(magic, "ni1\0", 4) == 0;
  const bool nifti = n1 || ni1;
  if (layout == NiftiLayout::SingleFile && !n1) {
    if (ni1) return "header says the voxel data are in a separate .img file (magic 'ni1'), but this is a .nii file";
    return "not a NIfTI-1 file: no 'n+1' magic at byte 344 (an Analyze header in a .nii file?)";
  }

  const int ndim = r.i16(40);
  if (ndim < 1 || ndim > 7) return fmt::format("invalid dim[0] = {} (number of dimensions, expected 1 to 7)", ndim);
  for (int i = 1; i <= ndim; ++i) {
    const int d = r.i16(40 + 2 * i);
    if (d < 1) return fmt::format("invalid dim[{}] = {} (image size along axis {}, expected >= 1)", i, d, i);
  }
  const int datatype = r.i16(70);
  if (!known_datatype(datatype)) return fmt::format("unknown datatype code {}", datatype);

  for (int i = 1; i <= std::min(ndim, 3); ++i) {
    const float p = r.f32(76 + 4 * i);
    if (!std::isfinite(p)) return fmt::format("invalid voxel spacing pixdim[{}] = {}", i, p);
    if (p == 0.0f) return fmt::format("invalid voxel spacing pixdim[{}] = 0", i);
    if (std::fpclassify(p) == FP_SUBNORMAL) return fmt::format("invalid voxel spacing pixdim[{}] = {:g}", i, p);
    if (std::fabs(p) > kMaxMmPerVoxel)
      return fmt::format("implausible voxel spacing pixdim[{}] = {:g} mm (at most {:g} mm expected)", i, p,
                         kMaxMmPerVoxel);
  }
  const float vox_offset = r.f32(108);
  if (!std::isfinite(vox_offset) || vox_offset < 0.0f || vox_offset != std::floor(vox_offset))
    return fmt::format("invalid vox_offset {} (byte offset of the voxel data)", vox_offset);
  if (layout == NiftiLayout::SingleFile && vox_offset < 352.0f)
    return fmt::format("invalid vox_offset {}: the voxel data of a .nii file start at byte 352 or later (reading from "
                       "byte {} would shift every voxel)",
                       vox_offset, vox_offset);
  if (!nifti) return {};  // Analyze 7.5: no qform/sform, no scaling fields

  const float slope = r.f32(112), inter = r.f32(116);
  if (!std::isfinite(slope) || (slope != 0.0f && !std::isfinite(inter)))
    return fmt::format("invalid intensity scaling scl_slope = {}, scl_inter = {}", slope, inter);

  const int qform_code = r.i16(252), sform_code = r.i16(254);
  if (qform_code > 0) {
    const char* names[6] = {"quatern_b", "quatern_c", "quatern_d", "qoffset_x", "qoffset_y", "qoffset_z"};
    double q[6];
    for (int i = 0; i < 6; ++i) {
      q[i] = r.f32(256 + 4 * i);
      if (!std::isfinite(q[i])) return fmt::format("invalid orientation (qform): {} = {}", names[i], q[i]);
      if (i >= 3 && std::fabs(q[i]) > kMaxOffsetMm)
        return fmt::format("implausible orientation (qform): {} = {:g} mm (at most {:g} mm expected)", names[i], q[i],
                           kMaxOffsetMm);
    }
    const double n2 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2];
    if (n2 > 1.0 + 1e-3)
      return fmt::format("invalid orientation (qform): quaternion (b,c,d) = ({},{},{}) has length {:.4g} > 1", q[0],
                         q[1], q[2], std::sqrt(n2));
  }
  if (sform_code > 0) {
    double m[3][4];
    const char* rows[3] = {"srow_x", "srow_y", "srow_z"};
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 4; ++j) {
        m[i][j] = r.f32(280 + 16 * i + 4 * j);
        if (!std::isfinite(m[i][j]))
          return fmt::format("invalid orientation (sform): {}[{}] = {}", rows[i], j, m[i][j]);
        // Extreme but finite entries (a huge entry with a denormal one) hang VNL's SVD inside ITK for minutes
        // (docs/reliability.md, fuzz finding 7): refuse what no scanner writes.
        if (std::fpclassify(static_cast<float>(m[i][j])) == FP_SUBNORMAL)
          return fmt::format("invalid orientation (sform): {}[{}] = {:g} (a denormal number)", rows[i], j, m[i][j]);
        const double limit = j < 3 ? kMaxMmPerVoxel : kMaxOffsetMm;
        if (std::fabs(m[i][j]) > limit)
          return fmt::format("implausible orientation (sform): {}[{}] = {:g} (at most {:g} mm{} expected)", rows[i], j,
                             m[i][j], limit, j < 3 ? " per voxel" : "");
      }
    const double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
                       m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
                       m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    double scale = 0.0;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) scale = std::max(scale, std::fabs(m[i][j]));
    if (!(std::fabs(det) > 1e-9 * scale * scale * scale) || scale == 0.0)
      return "invalid orientation (sform): the 3x3 matrix of srow_x/y/z is singular (determinant 0)";
  }
  return {};
}

void check_nifti_header(const std::filesystem::path& path) {
  const std::string name = lower(path.filename().string());
  const auto ends = [&](const char* s) {
    const std::size_t n = std::strlen(s);
    return name.size() >= n && name.compare(name.size() - n, n, s) == 0;
  };
  const NiftiLayout layout = (ends(".hdr") || ends(".hdr.gz")) ? NiftiLayout::HeaderOnly : NiftiLayout::SingleFile;
  znzFile fp = znzopen(path.c_str(), "rb", 1);  // zlib reads plain files transparently
  if (znz_isnull(fp)) throw InputError(path.string() + ": cannot open file");
  unsigned char buf[kHeaderSize];
  std::size_t got = 0;
  while (got < kHeaderSize) {
    const std::size_t r = znzread(buf + got, 1, kHeaderSize - got, fp);
    if (r == 0 || r > kHeaderSize - got) break;
    got += r;
  }
  znzclose(fp);
  const std::string problem = nifti_header_problem(buf, got, layout);
  if (!problem.empty()) throw InputError(path.string() + ": " + problem);
}

}  // namespace gmd::io
