#pragma once
// Resampling an image onto another grid in physical (scanner) coordinates: ITK, identity transform, outside -> 0.
// Used for a model's training spacing (pipeline) and for DICOM series acquired on different grids (dicom.hpp).
#include "gmd/common/image.hpp"

namespace gmd::io {

Image resample_linear(const Image& img, const Geometry& target);          // trilinear
LabelMap resample_nearest(const LabelMap& labels, const Geometry& target);  // nearest neighbour

}  // namespace gmd::io
