#pragma once
// Training patches: class-balanced centre sampling (as nnU-Net), flips and intensity jitter. draw(step) is
// a pure function of (seed, step) and the data, so it can run ahead on another thread and resume anywhere.
#include <torch/torch.h>

#include <array>
#include <string>
#include <vector>

#include "gmd/engine/sample.hpp"
#include "gmd/engine/trainer.hpp"

namespace gmd::engine {

// Tumour classes used to balance patch centres (BraTS labels, from the WT/TC/ET regions).
enum class PatchClass : int { Random = -1, NCR = 0, ED = 1, ET = 2 };

struct Batch {
  torch::Tensor image;   // (B,4,p,p,p) float
  torch::Tensor target;  // (B,3,p,p,p) float
  SubsetMask available = 0;
  std::vector<std::string> ids;
  std::vector<PatchClass> centre_class;   // per patch: the class its centre was drawn from (Random: anywhere)
  std::vector<std::array<int64_t, 3>> centre;  // per patch: the centre voxel (before flips)
};

class PatchSampler {
 public:
  // `set` must outlive the sampler.
  PatchSampler(const TrainConfig& cfg, const std::vector<Sample>& set);
  // With probability fg_prob: a class uniformly among the tumour classes present in the case (NCR =
  // TC without ET, ED = WT without TC, ET), then a voxel of that class uniformly, as the patch centre;
  // otherwise a centre uniformly in the volume. Thread-safe once prepare() has run.
  // Distributed (world > 1): cfg.batch is the global batch, drawn identically on every rank (its cases, patch size,
  // shared modalities and every random number); rank r crops items [r*batch/world, (r+1)*batch/world), so the ranks
  // together train on exactly the patches one process would draw. When the cases share no modality, the batch is its
  // first case alone, on every rank. batch must be a multiple of world (std::invalid_argument otherwise).
  Batch draw(int64_t step, int rank = 0, int world = 1) const;
  // Builds the per-case voxel lists; the constructor already calls it (a no-op when they exist).
  void prepare();

 private:
  // Every random number of one patch, drawn in a fixed order (the sequence never depends on the data).
  struct CropDraw {
    double u_fg = 0, u_cls = 0, u_vox = 0;
    std::array<int64_t, 3> centre{};
    std::array<bool, 3> flip{};
    std::array<double, kNumModalities> scale{}, shift{};
  };
  static CropDraw draw_crop(const Sample& s, std::mt19937_64& rng);
  std::pair<torch::Tensor, torch::Tensor> crop(size_t i, const std::array<int64_t, 3>& p, SubsetMask avail,
                                               const CropDraw& d, PatchClass& cls,
                                               std::array<int64_t, 3>& centre) const;
  TrainConfig cfg_;
  const std::vector<Sample>& set_;
  std::vector<std::array<torch::Tensor, 3>> class_voxels_;  // per case, per class: flat indices (int64)
};

}  // namespace gmd::engine
