#pragma once
// A preprocessed case in the engine's frame (what io/pipeline hands to the engine).
#include <torch/torch.h>

#include <filesystem>
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

// Dataset cache for machines without ITK (e.g. the GPU machine): torch archive of samples.
void save_samples(const std::filesystem::path& file, const std::vector<Sample>& samples);  // atomic
std::vector<Sample> load_samples(const std::filesystem::path& file);  // gmd::InputError if corrupt

// Per-modality view of a (4,D,H,W) or (B,4,D,H,W) image: (B,1,D,H,W) slices for present modalities,
// undefined tensors for absent ones.
std::array<torch::Tensor, kNumModalities> split_modalities(const torch::Tensor& image, SubsetMask present);

}  // namespace gmd::engine
