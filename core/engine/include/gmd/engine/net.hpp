#pragma once
// Segmentation networks: DS (Dynamic Sharing), vanilla (4-channel, zero-fill), unimodal (4 dedicated nets).
#include <torch/torch.h>

#include <array>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gmd/common/modality.hpp"

namespace gmd::engine {

enum class Method { Unimodal, Vanilla, DS, DSGMD };
std::string method_name(Method m);      // "unimodal", "vanilla", "ds", "ds-gmd"
Method parse_method(const std::string&);  // throws gmd::UsageError

enum class Fusion { Logit, Feature };

struct NetConfig {
  Method method = Method::DSGMD;
  std::vector<int64_t> widths{16, 32, 64, 128, 256};  // one per U-Net level
  int64_t groups = 8;            // GroupNorm groups (reduced to a divisor of the width when needed)
  Fusion fusion = Fusion::Logit; // DS only: mean of output logits (default) or of encoder features
  bool modality_stem = false;    // DS only: a per-modality 3x3x3 conv stem before the shared backbone
  SubsetMask modalities = kFullMask;  // modalities the model was built for
  // U-Net block: false (default) = the paper's U-Net (encoder in->w->w, 1->16->16 at level 0; bottleneck
  // at w/2; decoder without 1x1 reduction); true = the legacy block of models made before 2026-12 (encoder
  // in->max(w/2,in)->w, 1x1 reduction in the decoder; JSON "block": "half"; files without "block" are legacy).
  bool half_mid = false;
  int64_t multiple() const { return int64_t{1} << (widths.size() - 1); }  // input size multiple
  nlohmann::json to_json() const;
  static NetConfig from_json(const nlohmann::json& j);  // throws gmd::InputError on bad content
};

// Common interface of all methods. Inputs are per-modality tensors (B,1,D,H,W); an undefined tensor
// means the modality is absent. Absent modalities are never zero-filled in DS: they are skipped.
class SegModelImpl : public torch::nn::Module {
 public:
  explicit SegModelImpl(NetConfig cfg) : cfg_(std::move(cfg)) {}
  // Runs each modality needed by `subsets` once ("encode once") and returns the fused logits
  // (B,3,D,H,W) of every requested subset, in order. Throws gmd::InputError if a subset needs a
  // modality whose input is undefined or that the model does not know.
  virtual std::vector<torch::Tensor> forward_subsets(const std::array<torch::Tensor, kNumModalities>& x,
                                                     const std::vector<SubsetMask>& subsets) = 0;
  torch::Tensor forward(const std::array<torch::Tensor, kNumModalities>& x, SubsetMask subset) {
    return forward_subsets(x, {subset}).at(0);
  }
  // Parameters shared by all modalities (GMD de-conflicts their gradients) and modality-specific
  // ones (ordinary gradients). Together they are exactly parameters().
  virtual std::vector<torch::Tensor> shared_parameters() = 0;
  virtual std::vector<torch::Tensor> specific_parameters() = 0;
  const NetConfig& config() const { return cfg_; }

 protected:
  NetConfig cfg_;
};
using SegModel = std::shared_ptr<SegModelImpl>;

SegModel make_model(const NetConfig& cfg);
int64_t parameter_count(const SegModel& m);

}  // namespace gmd::engine
