#pragma once
// Resampling an image onto another grid in physical (scanner) coordinates: ITK, outside -> 0. Used for a model's
// training spacing (pipeline), for DICOM series acquired on different grids (dicom.hpp) and, with a rigid transform
// found by registration (register.hpp), for sequences between which the patient moved.
#include <array>
#include <string>

#include "gmd/common/image.hpp"

namespace gmd::io {

// A rigid map from the target grid's physical space (LPS, mm) into the resampled image's: p_image = R (p - centre) +
// centre + translation; ITK's convention for the fixed -> moving transform of a registration. Default: identity.
struct RigidTransform {
  std::array<double, 9> rotation{1, 0, 0, 0, 1, 0, 0, 0, 1};  // row-major, orthonormal, det +1
  std::array<double, 3> centre{0, 0, 0};
  std::array<double, 3> translation{0, 0, 0};

  std::array<double, 3> apply(const std::array<double, 3>& p) const;
  RigidTransform inverse() const;
  RigidTransform then(const RigidTransform& next) const;  // p -> next.apply(apply(p))
  double angle_deg() const;                               // rotation angle, 0..180
  std::array<double, 3> axis() const;                     // rotation axis (unit; x when the angle is 0)
  // How far the transform moves a point: max over the 8 corners of the grid's physical box, in mm.
  double max_displacement_mm(const Geometry& g) const;
  bool is_identity() const;
  // "rotation 4.8 deg about (0.00, 0.00, 1.00), translation (+2.0, -5.0, +1.0) mm"
  std::string describe() const;
};

Image resample_linear(const Image& img, const Geometry& target, const RigidTransform& t = {});          // trilinear
LabelMap resample_nearest(const LabelMap& labels, const Geometry& target, const RigidTransform& t = {});  // nearest

}  // namespace gmd::io
