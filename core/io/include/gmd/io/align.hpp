#pragma once
// Bringing a case's sequences onto one grid (issue 15): a clinic's sequences come on different grids, and the patient
// moves between them. The reference is T1ce if present, else FLAIR, T1, T2; every other image is registered rigidly
// onto it (register.hpp) and resampled, or, on request, only resampled in scanner coordinates. Used for DICOM series
// (dicom.hpp) and for NIfTI files on different grids (case.hpp, when the caller asks for it).
#include <array>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "gmd/common/image.hpp"
#include "gmd/common/modality.hpp"
#include "gmd/io/register.hpp"

namespace gmd::io {

// Auto: images not on the reference grid are registered, then resampled; Always: every image is registered; Off:
// images not on the reference grid are resampled in scanner coordinates only.
enum class Align { Auto, Always, Off };
Align parse_align(const std::string& text);  // "auto" | "always" | "off"; UsageError otherwise

struct AlignOptions {
  Align mode = Align::Auto;
  RegistrationOptions options;
  // A registration that moves an image further than this is refused (a wrong match, not patient motion).
  double max_angle_deg = 30, max_shift_mm = 50;
  std::function<void(const std::string& what, double fraction)> progress;  // 0..1 over the registrations
};

// The reference modality among those present (T1ce, FLAIR, T1, T2), -1 when none.
int reference_modality(SubsetMask present);

struct Aligned {
  int reference = -1;
  Geometry geom;  // the reference's grid
  std::array<std::optional<Image>, kNumModalities> images;
  std::array<std::optional<Registration>, kNumModalities> registration;  // those registered
};

// `images[m]` on grids of their own -> all on the reference's grid. `source[m]` names each in messages ("DICOM
// series 'AX FLAIR'", "x_flair.nii.gz"); one note per image moved (how, the transform). InputError naming the image
// when it does not overlap the reference in scanner coordinates, or registration moved it implausibly far.
Aligned align_images(std::array<std::optional<Image>, kNumModalities> images,
                     const std::array<std::string, kNumModalities>& source, const AlignOptions& opt,
                     std::vector<std::string>* notes = nullptr);

// An alignment check, as registration tools show it: a 3-D checkerboard of `a` and `b` (one grid) in cubes of
// `tile_mm`, each image scaled so that the 1st..99th percentile of its nonzero voxels spans 0..1000. Where the two
// are aligned, edges run on across the cubes. The cube at the grid's first voxel shows `a`. InputError when the grids
// differ.
Image checkerboard(const Image& a, const Image& b, double tile_mm = 16.0);

}  // namespace gmd::io
