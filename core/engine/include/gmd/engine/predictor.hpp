#pragma once
// Sliding-window inference with overlap and Gaussian weighting, for any list of subsets at once
// (encode once per window, fuse per subset).
#include <torch/torch.h>

#include <functional>
#include <vector>

#include "gmd/engine/net.hpp"

namespace gmd::engine {

struct PredictOptions {
  int64_t patch = 96;       // window edge (voxels); clamped to the volume, rounded to the net's multiple
  double overlap = 0.5;     // fraction of the window shared by neighbours
  bool gaussian = true;     // Gaussian importance weighting: per axis exp(-(i-(p-1)/2)^2 / (2 sigma^2)),
                            // sigma = p/8 (p = the window edge on that axis); probabilities are averaged
  bool amp = true;          // bf16/fp16 autocast on CUDA
  int64_t batch = 0;        // windows per forward pass; 0 = auto (1 on CPU, 2 on CUDA)
  std::function<void(double fraction)> progress;  // 0..1
  std::function<bool()> cancelled;                // throw gmd::Cancelled when it returns true
};

// image: (4,D,H,W) float (zeros for absent channels), `present` says which are real.
// Returns one (3,D,H,W) float32 CPU tensor of sigmoid probabilities per subset.
std::vector<torch::Tensor> predict_subsets(SegModelImpl& model, const torch::Tensor& image, SubsetMask present,
                                           const std::vector<SubsetMask>& subsets, const torch::Device& device,
                                           const PredictOptions& opt = {});

// probs (3,D,H,W) -> labels (D,H,W) uint8 (0/1/2/4), ET > TC > WT precedence, threshold 0.5.
// Post-processing (BraTS practice): if 0 < ET voxels < et_min_voxels, the ET is relabelled as core (1).
torch::Tensor probs_to_labels(const torch::Tensor& probs, double threshold = 0.5, int64_t et_min_voxels = 0);

}  // namespace gmd::engine
