#pragma once
// Gradient-guided Modality Decoupling (Wang et al., AAAI 2024, eqs. 5, 8, 9), computed in the
// coefficient space of the k subset gradients: every de-conflicted gradient G'_i is a linear
// combination sum_j C_ij G_j of the originals, so everything follows from the k x k Gram matrix.
#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <vector>

namespace gmd::engine {

enum class GmdProjection {
  Simultaneous,  // G'_i = G_i - sum_{j: cos_ij<0} (G_i.G_j/|G_j|^2) G_j, against the ORIGINAL gradients.
                 // Option only: for k >= 3 it can remove a weak subset's opposing component twice and
                 // amplify the dominant direction (G_i=(-1,1), G_a=(1,0), G_b=(1,0.01): sum (2,2)).
  Sequential,    // Default. PCGrad style: G'_i projected in a seeded random order against the originals,
                 // using the current G'_i (project only while G'_i.G_j < 0); the example above gives (1,2)
  None           // The GMD control of the study: the same k per-subset backward passes, cosines and norms,
                 // but no projection (weights all 1, or 1/k for Mean): the combined gradient is DS's.
};
enum class GmdCombine { Sum, Mean };

struct GmdOptions {
  GmdProjection projection = GmdProjection::Sequential;  // the default (PCGrad / the public code)
  GmdCombine combine = GmdCombine::Sum;
};

struct GmdResult {
  torch::Tensor cos;        // (k,k) float64, pairwise cosine of the original gradients (diag 1; 0 if a norm is 0)
  torch::Tensor norms;      // (k) float64, |G_j|
  torch::Tensor coeff;      // (k,k) float64, G'_i = sum_j coeff[i][j] G_j
  torch::Tensor weights;    // (k) float64, combined = sum_j weights[j] G_j (includes 1/k for Mean)
  torch::Tensor cos_after;  // (k,k) float64, pairwise cosine of the de-conflicted gradients
  int64_t conflicts = 0;    // pairs i<j with cos < 0
};

// gram: (k,k) G_i.G_j (any float dtype, any device; computed in float64 on CPU).
// rng is used only for the Sequential order (may be null: identity order).
GmdResult gmd_from_gram(const torch::Tensor& gram, const GmdOptions& opt, std::mt19937_64* rng = nullptr);

// grads[j][p] = gradient of subset j's loss w.r.t. parameter p (undefined = zero).
torch::Tensor gram_matrix(const std::vector<std::vector<torch::Tensor>>& grads);
// out[p] = sum_j weights[j] * grads[j][p]
std::vector<torch::Tensor> combine_gradients(const std::vector<std::vector<torch::Tensor>>& grads,
                                             const torch::Tensor& weights);

}  // namespace gmd::engine
