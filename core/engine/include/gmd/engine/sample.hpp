#pragma once
// A preprocessed case in the engine's frame (what io/pipeline hands to the engine).
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gmd/common/modality.hpp"

namespace gmd::engine {

struct Sample {
  std::string id;
  torch::Tensor image;         // (4,D,H,W) float32, normalised; channels of absent modalities are zero
                               // and are never read for them (only `present` ones are used)
  SubsetMask present = 0;      // modalities present in this case
  torch::Tensor target;        // (3,D,H,W) uint8 regions WT/TC/ET; undefined when there is no seg
};

// Sample cache: the preprocessed training set in a compact file that the engine reads without ITK (`gmd cache`
// writes it; `gmd train --data FILE` reads it, also in the engine-only build on a GPU machine). A torch archive
// (format 2) holding, per case, the id, the modality mask, the image quantised to 8 bits per channel (0 and only 0
// decodes to 0, so zeros outside the brain and absent channels stay 0 and non-zero values stay non-zero; the error
// is at most half a step, step = channel range / 254, recorded per case, except for values within half a step of 0,
// which decode to +-1 step) and the WT/TC/ET regions packed into the bits of one
// uint8 per voxel, both zlib-compressed (the zlib checksum detects corruption); plus `meta`, a JSON document
// the caller chooses (preprocessing, spacing, source). Format 1 files (float32, uncompressed) still load.
struct SampleCacheStats {
  double max_abs_error = 0;  // largest quantisation error of any present channel (z-score units)
  int64_t raw_bytes = 0;     // float32 images + uint8 regions, as the engine holds them
  int64_t file_bytes = 0;    // the file written
};
SampleCacheStats save_samples(const std::filesystem::path& file, const std::vector<Sample>& samples,
                              const nlohmann::json& meta = nlohmann::json::object());  // atomic
// gmd::InputError (naming the file) if missing, truncated, corrupt or of an unknown format. meta (optional)
// receives the stored JSON document (an empty object for format 1).
std::vector<Sample> load_samples(const std::filesystem::path& file, nlohmann::json* meta = nullptr);

// Per-modality view of a (4,D,H,W) or (B,4,D,H,W) image: (B,1,D,H,W) slices for present modalities,
// undefined tensors for absent ones.
std::array<torch::Tensor, kNumModalities> split_modalities(const torch::Tensor& image, SubsetMask present);

}  // namespace gmd::engine
