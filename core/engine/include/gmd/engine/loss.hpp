#pragma once
#include <torch/torch.h>

namespace gmd::engine {

// Soft Dice loss per region on sigmoid(logits): logits and target (B,3,D,H,W); target 0/1 any dtype.
// Returns the mean over regions (and batch) of 1 - (2 sum(p t) + s) / (sum p + sum t + s), s = 1.
torch::Tensor soft_dice_loss(const torch::Tensor& logits, const torch::Tensor& target, double smooth = 1.0);
// Soft Dice + (bce_weight > 0 ? bce_weight * BCE-with-logits : 0).
torch::Tensor seg_loss(const torch::Tensor& logits, const torch::Tensor& target, double bce_weight = 0.0);

}  // namespace gmd::engine
