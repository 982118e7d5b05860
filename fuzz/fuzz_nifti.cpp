// libFuzzer target: the NIfTI header check + reader, gmd::io::read_image / read_labels (ITK + niftilib, and
// nifti.cpp's own voxel-stream scan).
// Contract: an Image / LabelMap, or gmd::InputError. Anything else (a crash, another exception type, a sanitizer
// report, an abort, an allocation beyond libFuzzer's -malloc_limit_mb) is a finding.
//
// Input: one flag byte, then the file's bytes.
//   flag & 3: 0 -> written as x.nii; 1 -> gzipped here, written as x.nii.gz (the header/voxel bytes are fuzzed, the
//             gzip stream is valid); 2 -> written as x.nii.gz unchanged (the gzip stream itself is fuzzed: CRC,
//             truncation); 3 -> written as X.NII (upper-case extension)
//   flag & 4: read_labels instead of read_image
//   flag & 8: read_image(path, reject_all_zero = false)
// GMD_FUZZ_SKIP_KNOWN=1 skips inputs that hit a known, reported and not yet fixed finding (docs/reliability.md).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_util.hpp"
#include "gmd/common/error.hpp"
#include "gmd/io/nifti.hpp"

namespace {
using namespace gmd::fuzz;

// NIfTI-1 header fields of the (uncompressed) file bytes; false if they do not hold a NIfTI-1 header.
struct Hdr {
  bool swap = false;
  const unsigned char* p = nullptr;
  int16_t i16(std::size_t at) const {
    uint16_t v;
    std::memcpy(&v, p + at, 2);
    if (swap) v = static_cast<uint16_t>((v >> 8) | (v << 8));
    return static_cast<int16_t>(v);
  }
  float f32(std::size_t at) const {
    uint32_t v;
    std::memcpy(&v, p + at, 4);
    if (swap) v = __builtin_bswap32(v);
    float f;
    std::memcpy(&f, &v, 4);
    return f;
  }
};
bool nifti1_header(const std::string& bytes, Hdr& h) {
  // As niftilib: the byte order is the one in which dim[0] is 1..7; sizeof_hdr itself is not insisted on (a header
  // with a garbage sizeof_hdr is read).
  if (bytes.size() < 348) return false;
  h.p = reinterpret_cast<const unsigned char*>(bytes.data());
  h.swap = false;
  const int16_t d0 = h.i16(40);
  if (d0 >= 1 && d0 <= 7) return true;
  h.swap = true;
  const int16_t d0s = h.i16(40);
  return d0s >= 1 && d0s <= 7;
}

// Known findings, reported and not yet fixed in core/io/src/nifti.cpp (docs/reliability.md, ## Fuzzing):
//   nonfinite-sform: sform_code > 0 with a NaN/Inf in srow_x/y/z aborts inside ITK/VNL (vnl_svd / matrix
//                    inverse of the direction cosines) before read_image can reject it.
//   svd-hang-extreme-sform: finite but extreme srow values (e.g. -4.2e34 next to a denormal 1.6e-43) make VNL's
//                    LINPACK SVD (v3p_netlib_ssvdc_, from SetImageIOOrientationFromNIfTI) run for minutes (> 5 min).
//   huge-dims:       a header declaring a huge volume (e.g. 2086x2048x256, 1.1 G voxels, under read_image's 2^31
//                    limit) in a file of a few hundred bytes: ITK allocates the float buffer (4.4 GB; niftilib then
//                    zero-fills it for the short read) before read_image finds the file truncated.
const char* known_issue(const std::string& file_bytes) {
  Hdr h;
  if (!nifti1_header(file_bytes, h)) return nullptr;
  double nvox = 1.0;
  for (std::size_t at = 42; at < 48; at += 2) nvox *= std::max<int16_t>(1, h.i16(at));
  // Inputs are a few KB: a header promising more than 64 M voxels is this finding (ITK allocates the file's and the
  // float buffer: 8 x 23302 x 1280 int64 voxels reached 3 GB).
  if (nvox > double(1 << 26)) return "huge-dims";
  if (h.i16(254) > 0)
    for (std::size_t at = 280; at < 328; at += 4) {
      const float v = h.f32(at);
      if (!std::isfinite(v)) return "nonfinite-sform";
      if (std::fabs(v) > 1e6f || (v != 0.0f && std::fabs(v) < 1e-20f)) return "svd-hang-extreme-sform";
    }
  return nullptr;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const bool skip_known = [] {
    const char* e = std::getenv("GMD_FUZZ_SKIP_KNOWN");
    return e && std::string(e) == "1";
  }();
  const unsigned flag = data[0];
  const std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  const unsigned mode = flag & 3;
  if (skip_known) {
    const std::string plain = mode == 2 ? gunzip_prefix(bytes, 352) : bytes;
    if (known_issue(plain)) return -1;  // -1: not added to the corpus
  }
  const fs::path file = scratch() / (mode == 3 ? "X.NII" : mode == 0 ? "x.nii" : "x.nii.gz");
  write_file(file, mode == 1 ? gzip(bytes) : bytes);
  try {
    if (flag & 4) {
      const gmd::io::LabelMap l = gmd::io::read_labels(file);
      if (l.voxels.size() != l.geom.voxel_count()) finding("fuzz_nifti", "label map size does not match its geometry");
    } else {
      const gmd::io::Image img = gmd::io::read_image(file, (flag & 8) == 0);
      if (img.voxels.size() != img.geom.voxel_count()) finding("fuzz_nifti", "image size does not match its geometry");
      for (float v : img.voxels)
        if (!std::isfinite(v)) finding("fuzz_nifti", "read_image returned a non-finite voxel");
      for (int i = 0; i < 3; ++i)
        if (!(img.geom.spacing[i] > 0.0) || !std::isfinite(img.geom.spacing[i]))
          finding("fuzz_nifti", "read_image returned an invalid spacing");
    }
  } catch (const gmd::InputError&) {
  } catch (const std::exception& e) {
    finding("fuzz_nifti", describe(e));
  } catch (...) {
    finding("fuzz_nifti", "non-std exception");
  }
  return 0;
}
