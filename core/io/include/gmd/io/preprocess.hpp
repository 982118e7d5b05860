#pragma once
// Preprocessing with an exact inverse: brain mask (union of nonzero voxels of the present
// modalities) -> crop to its bounding box + margin -> per-modality z-score (statistics where every present modality
// is nonzero, applied inside the mask) ->
// zero-pad to a multiple of `multiple`. restore_labels() maps a label map in the padded frame back
// voxel-for-voxel into the original geometry.
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "gmd/io/case.hpp"

namespace gmd::io {

struct PreprocessParams {
  int margin = 4;     // voxels around the mask's bounding box (clamped to the image)
  int multiple = 16;  // padded size is a multiple of this in every axis
};

struct Preprocessed {
  // Frame: dims in z, y, x order (D, H, W), matching a C array [z][y][x] / a torch tensor (D,H,W).
  std::array<std::int64_t, 3> dims{0, 0, 0};       // padded D, H, W
  std::array<std::int64_t, 3> crop_lo{0, 0, 0};    // crop start in original voxels (z, y, x)
  std::array<std::int64_t, 3> crop_size{0, 0, 0};  // crop extent (z, y, x)
  std::array<std::int64_t, 3> pad_lo{0, 0, 0};     // zero padding before the crop (z, y, x)
  Geometry original;                               // geometry of the source case
  SubsetMask present = 0;
  // Normalised channels in the padded frame, D*H*W each, [z][y][x]; nullopt for absent modalities.
  std::array<std::optional<std::vector<float>>, kNumModalities> channels;
  std::vector<std::uint8_t> mask;  // brain mask in the padded frame
  std::optional<std::vector<std::uint8_t>> labels;  // seg labels (0/1/2/4) in the padded frame, if any
  std::int64_t voxel_count() const { return dims[0] * dims[1] * dims[2]; }
};

Preprocessed preprocess(const Case& c, const PreprocessParams& p = {});
// Labels in the padded frame (dims) -> original geometry (zeros outside the crop).
LabelMap restore_labels(const std::vector<std::uint8_t>& padded_labels, const Preprocessed& pp);
// Any per-voxel float map (e.g. a probability) -> original geometry.
Image restore_image(const std::vector<float>& padded, const Preprocessed& pp);

}  // namespace gmd::io
