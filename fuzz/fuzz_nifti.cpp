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
// Findings (docs/reliability.md, ## Fuzzing; reproducers in fuzz/regressions/fuzz_nifti): NaN/Inf or extreme sform
// values aborting or hanging ITK/VNL, huge dims in a tiny file; fixed by the header check before ITK (nifti_header.cpp).
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const unsigned flag = data[0];
  const std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  const unsigned mode = flag & 3;
  const fs::path file = scratch() / (mode == 3 ? "X.NII" : mode == 0 ? "x.nii" : "x.nii.gz");
  write_file(file, mode == 1 ? gzip(bytes) : bytes);
  try {
    if (flag & 4) {
      const gmd::LabelMap l = gmd::io::read_labels(file);
      if (l.voxels.size() != l.geom.voxel_count()) finding("fuzz_nifti", "label map size does not match its geometry");
    } else {
      const gmd::Image img = gmd::io::read_image(file, (flag & 8) == 0);
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
