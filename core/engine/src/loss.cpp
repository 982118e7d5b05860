#include "gmd/engine/loss.hpp"

#include <string>

#include "gmd/common/error.hpp"

namespace gmd::engine {
namespace {
std::string shape_str(const torch::Tensor& t) {
  std::string s;
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? "x" : "") + std::to_string(t.size(i));
  return s;
}
void check(const torch::Tensor& logits, const torch::Tensor& target) {
  if (!logits.defined() || !target.defined()) throw InputError("segmentation loss: undefined tensor");
  if (logits.dim() < 3 || logits.sizes() != target.sizes())
    throw InputError("segmentation loss: logits " + shape_str(logits) + " and target " + shape_str(target) +
                     " must have the same shape (B,C,spatial...)");
}
// Reduced-precision logits (AMP) are promoted: sums over a 128^3 patch overflow in fp16.
torch::Tensor as_float(const torch::Tensor& t) {
  return (t.scalar_type() == torch::kFloat64) ? t : t.to(torch::kFloat32);
}
}  // namespace

torch::Tensor soft_dice_loss(const torch::Tensor& logits, const torch::Tensor& target, double smooth) {
  check(logits, target);
  const auto x = as_float(logits);
  const auto p = torch::sigmoid(x);
  const auto t = target.to(x.scalar_type());
  std::vector<int64_t> dims;
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  const auto inter = (p * t).sum(dims);
  const auto denom = p.sum(dims) + t.sum(dims);
  const auto dice = (2.0 * inter + smooth) / (denom + smooth);  // (B, C)
  return (1.0 - dice).mean();
}

torch::Tensor seg_loss(const torch::Tensor& logits, const torch::Tensor& target, double bce_weight) {
  auto loss = soft_dice_loss(logits, target);
  if (bce_weight > 0.0) {
    const auto x = as_float(logits);
    loss = loss + bce_weight * torch::binary_cross_entropy_with_logits(x, target.to(x.scalar_type()));
  }
  return loss;
}

}  // namespace gmd::engine
