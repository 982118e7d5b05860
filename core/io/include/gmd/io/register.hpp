#pragma once
// Rigid co-registration of one MR sequence onto another (issue 15): the patient moves between sequences, and a
// clinic's series come on different grids. ITK v4 registration: a versor rigid transform (3 rotations, 3 shifts),
// Mattes mutual information (the sequences' intensities differ), regular-step gradient descent with scales from
// physical shifts, three resolution levels (shrink 4, 2, 1; smoothing 2, 1, 0 voxels), a fixed number of random
// samples per level so the cost does not grow with the grid. Starts from the scanner coordinates (identity): the
// best prior for series of one session.
#include <functional>
#include <string>

#include "gmd/common/image.hpp"
#include "gmd/io/resample.hpp"

namespace gmd::io {

struct RegistrationOptions {
  int levels = 3;                  // shrink factors 2^(levels-1) .. 1
  int bins = 32;                   // Mattes histogram bins
  int samples = 60000;             // random samples per level (all voxels when fewer)
  int iterations = 150;            // per level
  unsigned seed = 12345;           // the sampling's seed (results are reproducible)
};

struct Registration {
  RigidTransform transform;  // fixed (reference) physical point -> moving image's physical point
  double metric = 0;         // final Mattes MI value (more negative = better)
  int iterations = 0;        // over all levels
  std::string stop;          // the optimizer's stop condition at the last level
};

// Registers `moving` rigidly onto `fixed`; `progress(fraction)` (0..1) after each iteration when given.
// InputError when an image is empty or all zero.
Registration register_rigid(const Image& fixed, const Image& moving, const RegistrationOptions& opt = {},
                            const std::function<void(double)>& progress = {});

}  // namespace gmd::io
