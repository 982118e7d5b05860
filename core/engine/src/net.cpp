// Segmentation networks: DS (Dynamic Sharing), vanilla (4-channel, zero-fill), unimodal (4 dedicated nets).
//
// All three share one 3D U-Net shape (UNetCore below):
//   encoder level l (l = 0..L-1, L = widths.size()): [max-pool 2 if l > 0], conv3 in->w_l, norm, ReLU,
//     conv3 w_l->w_l, norm, ReLU (the paper's U-Net; legacy models, NetConfig::half_mid, used
//     in->max(w_l/2, in)->w_l, which starves level 0: 1->4->8 with widths 8..64);
//   the deepest level runs at w_{L-1}/2; decoder level l (l = L-2..0): trilinear upsample to the skip's
//     size, concat [skip, up], conv3 -> half the concatenated channels, norm, ReLU, conv3 -> w_{l-1} (w_0 at
//     level 0), norm, ReLU (see make_layout; the legacy decoder had a 1x1x1 reduction w_{l+1}->w_l first,
//     then 2w_l->w_l->w_l);
//   head: 1x1x1 conv w_0->3 (WT, TC, ET logits).
// Convolutions carry a bias. The norm is GroupNorm (groups reduced to a divisor of the width) computed
// by F::group_norm with an affine (gamma, beta) chosen per call: that is how DS gets modality-specific
// normalisation on top of shared convolution weights. With widths 16-32-64-128-256 the DS model has
// 3,245,235 parameters (3,236,403 shared + 4 x 2,208 modality-specific), the public code's 3.25 M; the
// legacy block ("half") gave 3,583,619.
//
// Parameter names (stable, used by checkpoints):
//   DS:       unet.enc0a.weight ... unet.dec0a.weight ... unet.head.weight   (shared; legacy: + unet.dec0r.*)
//             mod_<key>.enc0a_gamma / _beta, mod_<key>.dec0a_gamma ...       (specific to modality <key>)
//             mod_<key>.stem.weight, mod_<key>.stem_gamma ...                 (modality_stem only)
//             fused.dec0a_gamma ...                                           (Fusion::Feature only, shared)
//   Vanilla:  unet.*, gn.enc0a_gamma ...
//   Unimodal: net_<key>.unet.*, net_<key>.gn.*
#include "gmd/engine/net.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "gmd/common/error.hpp"

namespace gmd::engine {
namespace F = torch::nn::functional;

// ---------------------------------------------------------------------------------------------
// Method / config
// ---------------------------------------------------------------------------------------------
std::string method_name(Method m) {
  switch (m) {
    case Method::Unimodal: return "unimodal";
    case Method::Vanilla: return "vanilla";
    case Method::DS: return "ds";
    case Method::DSGMD: return "ds-gmd";
  }
  return "?";
}

Method parse_method(const std::string& s) {
  std::string l(s);
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::replace(l.begin(), l.end(), '_', '-');
  if (l == "unimodal") return Method::Unimodal;
  if (l == "vanilla") return Method::Vanilla;
  if (l == "ds") return Method::DS;
  if (l == "ds-gmd" || l == "dsgmd" || l == "ds+gmd" || l == "gmd") return Method::DSGMD;
  throw UsageError("unknown method '" + s + "' (expected unimodal, vanilla, ds, ds-gmd)");
}

namespace {
std::string fusion_name(Fusion f) { return f == Fusion::Logit ? "logit" : "feature"; }

void validate_config(const NetConfig& c, const std::string& where) {
  if (c.widths.empty() || c.widths.size() > 8)
    throw UsageError(where + ": widths must have 1..8 entries (got " + std::to_string(c.widths.size()) + ")");
  for (int64_t w : c.widths)
    if (w < 1 || w > 4096) throw UsageError(where + ": bad width " + std::to_string(w));
  // GroupNorm groups are clamped per norm site to a divisor of its channels (tiny test nets keep the default 8);
  // an edit of a trained model's groups is caught by the card's net_sha256 (model_io.cpp).
  if (c.groups < 1 || c.groups > 4096) throw UsageError(where + ": groups must be 1 to 4096");
  if ((c.modalities & kFullMask) == 0 || (c.modalities & ~kFullMask) != 0)
    throw UsageError(where + ": the model needs at least one modality");
  // Widths valid one by one can still describe a network too large to build: a model card with widths 4096 x 8
  // made make_model allocate tens of gigabytes (found writing fuzz/fuzz_model_json). An upper bound of the convolution
  // weights (3x3x3; per level in->w, w->w and a decoder conv on [w_l, w_l+1] both ways; one net per modality for
  // unimodal) is capped at 400 million (1.6 GB of float weights); the paper's widths 16..256 give 10.6 million by
  // this bound (3.2 million real), unimodal 42 million.
  double bound = 0.0, in = 4.0;
  for (std::size_t l = 0; l < c.widths.size(); ++l) {
    const double w = static_cast<double>(c.widths[l]);
    const double up = l + 1 < c.widths.size() ? static_cast<double>(c.widths[l + 1]) : 0.0;
    bound += 27.0 * (in * w + w * w + (w + up) * (w + up));
    in = w;
  }
  if (c.method == Method::Unimodal) bound *= static_cast<double>(subset_modalities(c.modalities).size());
  if (bound > 4e8)
    throw UsageError(where + ": network too large (widths give up to " +
                     std::to_string(static_cast<int64_t>(bound / 1e6)) + " million parameters, at most 400 million)");
}
}  // namespace

nlohmann::json NetConfig::to_json() const {
  nlohmann::json mods = nlohmann::json::array();
  for (int m : subset_modalities(modalities)) mods.push_back(std::string(modality_key(m)));
  return {{"method", method_name(method)},
          {"widths", widths},
          {"groups", groups},
          {"fusion", fusion_name(fusion)},
          {"modality_stem", modality_stem},
          {"block", half_mid ? "half" : "double"},
          {"modalities", mods}};
}

NetConfig NetConfig::from_json(const nlohmann::json& j) {
  const std::string where = "network config";
  if (!j.is_object()) throw InputError(where + ": expected a JSON object");
  NetConfig c;
  try {
    if (!j.contains("method")) throw InputError(where + ": missing 'method'");
    if (!j.at("method").is_string()) throw InputError(where + ": 'method' must be a string");
    try {
      c.method = parse_method(j.at("method").get<std::string>());
    } catch (const UsageError& e) {
      throw InputError(where + ": " + e.what());
    }
    if (!j.contains("widths")) throw InputError(where + ": missing 'widths'");
    const auto& w = j.at("widths");
    if (!w.is_array() || w.empty()) throw InputError(where + ": 'widths' must be a non-empty list of integers");
    c.widths.clear();
    for (const auto& v : w) {
      if (!v.is_number_integer()) throw InputError(where + ": 'widths' must hold integers");
      c.widths.push_back(v.get<int64_t>());
    }
    if (j.contains("groups")) {
      if (!j.at("groups").is_number_integer()) throw InputError(where + ": 'groups' must be an integer");
      c.groups = j.at("groups").get<int64_t>();
    }
    if (j.contains("fusion")) {
      if (!j.at("fusion").is_string()) throw InputError(where + ": 'fusion' must be a string");
      const auto f = j.at("fusion").get<std::string>();
      if (f == "logit") c.fusion = Fusion::Logit;
      else if (f == "feature") c.fusion = Fusion::Feature;
      else throw InputError(where + ": unknown fusion '" + f + "' (expected logit or feature)");
    }
    if (j.contains("modality_stem")) {
      if (!j.at("modality_stem").is_boolean()) throw InputError(where + ": 'modality_stem' must be true/false");
      c.modality_stem = j.at("modality_stem").get<bool>();
    }
    // Files written before the block layout was recorded used the half-width first conv.
    c.half_mid = true;
    if (j.contains("block")) {
      if (!j.at("block").is_string()) throw InputError(where + ": 'block' must be a string");
      const auto b = j.at("block").get<std::string>();
      if (b == "double") c.half_mid = false;
      else if (b != "half") throw InputError(where + ": unknown block '" + b + "' (expected double or half)");
    }
    if (j.contains("modalities")) {
      const auto& ms = j.at("modalities");
      if (!ms.is_array() || ms.empty()) throw InputError(where + ": 'modalities' must be a non-empty list");
      SubsetMask mask = 0;
      for (const auto& v : ms) {
        if (!v.is_string()) throw InputError(where + ": 'modalities' must hold names");
        const auto m = parse_modality(v.get<std::string>());
        if (!m) throw InputError(where + ": unknown modality '" + v.get<std::string>() + "'");
        const auto bit = static_cast<SubsetMask>(1u << *m);
        if (mask & bit) throw InputError(where + ": modality '" + v.get<std::string>() + "' listed twice");
        mask |= bit;
      }
      c.modalities = mask;
    }
  } catch (const nlohmann::json::exception& e) {
    throw InputError(where + ": " + e.what());
  }
  try {
    validate_config(c, where);
  } catch (const UsageError& e) {
    throw InputError(e.what());
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------
namespace {

int64_t group_count(int64_t channels, int64_t groups) {
  int64_t g = std::max<int64_t>(1, std::min(groups, channels));
  while (channels % g != 0) --g;
  return g;
}

torch::nn::Conv3d conv3(int64_t in, int64_t out) {
  return torch::nn::Conv3d(torch::nn::Conv3dOptions(in, out, 3).padding(1).bias(true));
}
torch::nn::Conv3d conv1(int64_t in, int64_t out) {
  return torch::nn::Conv3d(torch::nn::Conv3dOptions(in, out, 1).bias(true));
}

// A 3x3x3 convolution (conv3: stride 1, padding 1) of a batch of one on the CPU. LibTorch hands a float CPU
// convolution to oneDNN only when the batch has more than one sample or N*C*D*H exceeds 20480 (ATen's
// ConvParams::use_mkldnn: "for some case, native is faster"); below that it runs its native im2col kernel, which for
// our 16-32 channel maps of 16^3-32^3 voxels is 8-12x slower (forward and backward; docs/performance.md). DS encodes
// every modality as its own batch, training patches come one per step by default and CPU inference slides one window
// at a time, so nearly every convolution of the default model took that path. Here the depth is split into two
// halves with a one-voxel halo and stacked as a batch of two, so oneDNN runs; the halves' outputs without their halo
// row are the convolution of the whole (the same sums, rounded in another order) and autograd carries the
// gradients through the slices. Inputs the condition does not concern go straight to the module.
bool native_conv_would_run(const torch::Tensor& x) {
  return x.device().is_cpu() && x.scalar_type() == torch::kFloat && x.dim() == 5 && x.size(0) == 1 &&
         x.size(1) > 1 &&  // one input channel: the native kernel is as fast (measured)
         x.size(1) * x.size(2) * x.size(3) <= 20480 && at::hasMKLDNN() && at::globalContext().userEnabledMkldnn();
}

torch::Tensor conv3_forward(torch::nn::Conv3d& conv, const torch::Tensor& x) {
  constexpr int64_t kMinDepth = 8;  // the halo costs 2/D extra work
  if (!native_conv_would_run(x) || x.size(2) < kMinDepth) return conv->forward(x);
  const int64_t d = x.size(2), h = d / 2;
  torch::Tensor top = x.narrow(2, 0, h + 1);           // rows 0..h: outputs 0..h-1 are exact
  const torch::Tensor bottom = x.narrow(2, h - 1, d - h + 1);  // rows h-1..d-1: outputs 1.. are rows h..d-1
  if (bottom.size(2) > top.size(2)) top = F::pad(top, F::PadFuncOptions({0, 0, 0, 0, 0, 1}));  // odd depth
  const torch::Tensor y =
      F::conv3d(torch::cat({top, bottom}, 0), conv->weight, F::Conv3dFuncOptions().bias(conv->bias).padding(1));
  return torch::cat({y.narrow(0, 0, 1).narrow(2, 0, h), y.narrow(0, 1, 1).narrow(2, 1, d - h)}, 2);
}

// Channel counts at every convolution / norm site of the U-Net, in forward order.
//   block "double" (default, the paper's U-Net): encoder level l: in->w_l->w_l, except the deepest level,
//     which runs at b = w_{L-1}/2 (in->b->b) so that the upsampled features match the skip they are
//     concatenated with; decoder level l: concat [skip w_l, up u] -> conv (w_l+u)->m, m = (w_l+u)/2,
//     -> conv m->o, o = w_{l-1} (w_0 at level 0); no 1x1 reduction. Widths 16..256: 3.24 M shared parameters.
//   block "half" (legacy): encoder in->max(w_l/2,in)->w_l; decoder 1x1 w_{l+1}->w_l, concat 2w_l -> w_l -> w_l.
struct Layout {
  bool legacy = false;
  std::vector<std::string> enc_names, dec_names;  // "enc0a", "enc0b", ...; "dec2a", ... (deepest first)
  std::vector<int64_t> enc_in, enc_ch, dec_in, dec_ch;
  int64_t out_ch = 0;  // channels entering the head
};

Layout make_layout(int64_t in_ch, const std::vector<int64_t>& widths, bool half_mid) {
  Layout lay;
  lay.legacy = half_mid;
  const size_t L = widths.size();
  int64_t in = in_ch;
  for (size_t l = 0; l < L; ++l) {
    const bool deepest = l + 1 == L && L > 1;
    const int64_t w = (!half_mid && deepest) ? std::max<int64_t>(1, widths[l] / 2) : widths[l];
    const int64_t mid = half_mid ? std::max(widths[l] / 2, in) : w;
    lay.enc_names.push_back("enc" + std::to_string(l) + "a");
    lay.enc_in.push_back(in);
    lay.enc_ch.push_back(mid);
    lay.enc_names.push_back("enc" + std::to_string(l) + "b");
    lay.enc_in.push_back(mid);
    lay.enc_ch.push_back(w);
    in = w;
  }
  int64_t up = in;  // channels of the features coming up from below
  for (int l = static_cast<int>(L) - 2; l >= 0; --l) {
    const auto lu = static_cast<size_t>(l);
    const std::string n = "dec" + std::to_string(l);
    if (half_mid) {
      lay.dec_names.push_back(n + "a");
      lay.dec_in.push_back(2 * widths[lu]);
      lay.dec_ch.push_back(widths[lu]);
      lay.dec_names.push_back(n + "b");
      lay.dec_in.push_back(widths[lu]);
      lay.dec_ch.push_back(widths[lu]);
      up = widths[lu];
    } else {
      const int64_t cat = widths[lu] + up;
      const int64_t mid = std::max<int64_t>(1, cat / 2);
      const int64_t out = l > 0 ? widths[lu - 1] : widths[0];
      lay.dec_names.push_back(n + "a");
      lay.dec_in.push_back(cat);
      lay.dec_ch.push_back(mid);
      lay.dec_names.push_back(n + "b");
      lay.dec_in.push_back(mid);
      lay.dec_ch.push_back(out);
      up = out;
    }
  }
  lay.out_ch = up;
  return lay;
}

// A set of GroupNorm affines (gamma, beta) for the encoder and/or decoder norm sites, optionally with a
// 3x3x3 conv stem (1 -> stem_ch channels, norm, ReLU) in front of the backbone.
class AffineSetImpl : public torch::nn::Module {
 public:
  AffineSetImpl(const Layout& lay, bool enc, bool dec, int64_t stem_ch) {
    if (stem_ch > 0) {
      stem = register_module("stem", conv3(1, stem_ch));
      stem_gamma = register_parameter("stem_gamma", torch::ones({stem_ch}));
      stem_beta = register_parameter("stem_beta", torch::zeros({stem_ch}));
    }
    if (enc)
      for (size_t i = 0; i < lay.enc_names.size(); ++i) {
        enc_gamma.push_back(register_parameter(lay.enc_names[i] + "_gamma", torch::ones({lay.enc_ch[i]})));
        enc_beta.push_back(register_parameter(lay.enc_names[i] + "_beta", torch::zeros({lay.enc_ch[i]})));
      }
    if (dec)
      for (size_t i = 0; i < lay.dec_names.size(); ++i) {
        dec_gamma.push_back(register_parameter(lay.dec_names[i] + "_gamma", torch::ones({lay.dec_ch[i]})));
        dec_beta.push_back(register_parameter(lay.dec_names[i] + "_beta", torch::zeros({lay.dec_ch[i]})));
      }
  }
  torch::nn::Conv3d stem{nullptr};
  torch::Tensor stem_gamma, stem_beta;
  std::vector<torch::Tensor> enc_gamma, enc_beta, dec_gamma, dec_beta;
};
TORCH_MODULE(AffineSet);

torch::Tensor norm_act(const torch::Tensor& x, int64_t groups, const torch::Tensor& gamma,
                       const torch::Tensor& beta) {
  // GroupNorm statistics without affine + the caller's (e.g. the modality's own) affine, fused in one op.
  auto y = F::group_norm(x, F::GroupNormFuncOptions(group_count(x.size(1), groups)).weight(gamma).bias(beta));
  return torch::relu_(y);
}

// The shared convolutions of the U-Net (no norm affine of its own).
class UNetCoreImpl : public torch::nn::Module {
 public:
  UNetCoreImpl(int64_t in_ch, std::vector<int64_t> widths, int64_t groups, bool half_mid)
      : widths_(std::move(widths)), groups_(groups), layout_(make_layout(in_ch, widths_, half_mid)) {
    for (size_t l = 0; l < widths_.size(); ++l) {
      enc_a_.push_back(register_module("enc" + std::to_string(l) + "a", conv3(layout_.enc_in[2 * l], layout_.enc_ch[2 * l])));
      enc_b_.push_back(
          register_module("enc" + std::to_string(l) + "b", conv3(layout_.enc_in[2 * l + 1], layout_.enc_ch[2 * l + 1])));
    }
    for (int l = static_cast<int>(widths_.size()) - 2, i = 0; l >= 0; --l, ++i) {
      const auto lu = static_cast<size_t>(l);
      const auto iu = static_cast<size_t>(i);
      const std::string n = "dec" + std::to_string(l);
      if (layout_.legacy) dec_r_.push_back(register_module(n + "r", conv1(widths_[lu + 1], widths_[lu])));
      dec_a_.push_back(register_module(n + "a", conv3(layout_.dec_in[2 * iu], layout_.dec_ch[2 * iu])));
      dec_b_.push_back(register_module(n + "b", conv3(layout_.dec_in[2 * iu + 1], layout_.dec_ch[2 * iu + 1])));
    }
    head_ = register_module("head", conv1(layout_.out_ch, 3));
    // Initialisation: He (fan-out, ReLU) normal for the 3x3x3 and 1x1x1 convolutions with zero bias
    // (as nnU-Net does); the head keeps LibTorch's default weights and gets a prior-probability bias
    // (sigmoid = 0.05: tumour is a small part of a patch), which speeds up early Dice training.
    torch::NoGradGuard no_grad;
    for (auto* list : {&enc_a_, &enc_b_, &dec_r_, &dec_a_, &dec_b_})
      for (auto& c : *list) {
        torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
        c->bias.zero_();
      }
    head_->bias.fill_(std::log(0.05 / 0.95));
  }
  const Layout& layout() const { return layout_; }

  // Feature maps of every level (skips ... bottleneck).
  std::vector<torch::Tensor> encode(torch::Tensor x, const AffineSetImpl& a) {
    std::vector<torch::Tensor> feats;
    for (size_t l = 0; l < widths_.size(); ++l) {
      if (l > 0) x = F::max_pool3d(x, F::MaxPool3dFuncOptions(2));
      x = norm_act(conv3_forward(enc_a_[l], x), groups_, a.enc_gamma[2 * l], a.enc_beta[2 * l]);
      x = norm_act(conv3_forward(enc_b_[l], x), groups_, a.enc_gamma[2 * l + 1], a.enc_beta[2 * l + 1]);
      feats.push_back(x);
    }
    return feats;
  }
  // Logits (B,3,...) from the feature maps of every level.
  torch::Tensor decode(const std::vector<torch::Tensor>& feats, const AffineSetImpl& a) {
    torch::Tensor y = feats.back();
    for (size_t i = 0; i < dec_a_.size(); ++i) {
      const size_t l = widths_.size() - 2 - i;
      const auto& skip = feats[l];
      if (layout_.legacy) y = dec_r_[i]->forward(y);
      y = F::interpolate(y, F::InterpolateFuncOptions()
                                .size(std::vector<int64_t>{skip.size(2), skip.size(3), skip.size(4)})
                                .mode(torch::kTrilinear)
                                .align_corners(false));
      y = torch::cat({skip, y}, 1);
      y = norm_act(conv3_forward(dec_a_[i], y), groups_, a.dec_gamma[2 * i], a.dec_beta[2 * i]);
      y = norm_act(conv3_forward(dec_b_[i], y), groups_, a.dec_gamma[2 * i + 1], a.dec_beta[2 * i + 1]);
    }
    return head_->forward(y);
  }
  torch::Tensor stem(const torch::Tensor& x, AffineSetImpl& a) {
    return norm_act(conv3_forward(a.stem, x), groups_, a.stem_gamma, a.stem_beta);
  }

 private:
  std::vector<int64_t> widths_;
  int64_t groups_;
  Layout layout_;
  std::vector<torch::nn::Conv3d> enc_a_, enc_b_, dec_r_, dec_a_, dec_b_;
  torch::nn::Conv3d head_{nullptr};
};
TORCH_MODULE(UNetCore);

// ---------------------------------------------------------------------------------------------
// Input checks shared by all models
// ---------------------------------------------------------------------------------------------
std::string shape_str(const torch::Tensor& t) {
  std::string s;
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? "x" : "") + std::to_string(t.size(i));
  return s;
}

// Checks the requested subsets against the inputs and the model's modalities; returns their union.
SubsetMask check_inputs(const NetConfig& cfg, const std::array<torch::Tensor, kNumModalities>& x,
                        const std::vector<SubsetMask>& subsets) {
  const std::string who = method_name(cfg.method) + " model";
  SubsetMask needed = 0;
  for (SubsetMask s : subsets) {
    if ((s & kFullMask) == 0 || (s & ~kFullMask) != 0)
      throw InputError(who + ": invalid modality subset " + std::to_string(int(s)));
    for (int m : subset_modalities(s)) {
      if (!subset_has(cfg.modalities, m))
        throw InputError(who + ": subset " + subset_name(s) + " needs " + std::string(modality_display(m)) +
                         ", which this model was not trained with (model modalities: " +
                         subset_name(cfg.modalities) + ")");
      if (!x[static_cast<size_t>(m)].defined())
        throw InputError(who + ": subset " + subset_name(s) + " needs " + std::string(modality_display(m)) +
                         ", whose input is missing");
    }
    needed |= s;
  }
  const int64_t mult = cfg.multiple();
  torch::Tensor ref;
  for (int m : subset_modalities(needed)) {
    const auto& t = x[static_cast<size_t>(m)];
    const std::string name(modality_display(m));
    if (t.dim() != 5 || t.size(1) != 1)
      throw InputError(who + ": input " + name + " must have shape (B,1,D,H,W), got " + shape_str(t));
    for (int d = 2; d < 5; ++d)
      if (t.size(d) < 1 || t.size(d) % mult != 0)
        throw InputError(who + ": input " + name + " size " + shape_str(t) + ": spatial sizes must be multiples of " +
                         std::to_string(mult));
    if (!t.is_floating_point()) throw InputError(who + ": input " + name + " must be a floating-point tensor");
    if (ref.defined() && t.sizes() != ref.sizes())
      throw InputError(who + ": input " + name + " has shape " + shape_str(t) + ", others " + shape_str(ref));
    if (!ref.defined()) ref = t;
  }
  return needed;
}

std::vector<torch::Tensor> params_with_prefix(torch::nn::Module& mod, const std::vector<std::string>& prefixes,
                                              bool with) {
  std::vector<torch::Tensor> out;
  for (const auto& p : mod.named_parameters(true)) {
    bool match = false;
    for (const auto& pre : prefixes)
      if (p.key().rfind(pre, 0) == 0) match = true;
    if (match == with) out.push_back(p.value());
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// DS: shared convolutions, modality-specific norm affines (and optional stems)
// ---------------------------------------------------------------------------------------------
class DSNetImpl : public SegModelImpl {
 public:
  explicit DSNetImpl(NetConfig cfg) : SegModelImpl(std::move(cfg)) {
    const int64_t in_ch = cfg_.modality_stem ? cfg_.widths[0] : 1;
    unet_ = register_module("unet", UNetCore(in_ch, cfg_.widths, cfg_.groups, cfg_.half_mid));
    const bool feature = cfg_.fusion == Fusion::Feature;
    for (int m : subset_modalities(cfg_.modalities))
      mods_[static_cast<size_t>(m)] = register_module(
          "mod_" + std::string(modality_key(m)),
          AffineSet(unet_->layout(), true, !feature, cfg_.modality_stem ? cfg_.widths[0] : 0));
    if (feature) fused_ = register_module("fused", AffineSet(unet_->layout(), false, true, 0));
  }

  std::vector<torch::Tensor> forward_subsets(const std::array<torch::Tensor, kNumModalities>& x,
                                             const std::vector<SubsetMask>& subsets) override {
    const SubsetMask needed = check_inputs(cfg_, x, subsets);
    std::vector<torch::Tensor> out;
    out.reserve(subsets.size());
    if (cfg_.fusion == Fusion::Logit) {
      // Encode once: one full pass per needed modality, then a mean of logits per subset.
      std::array<torch::Tensor, kNumModalities> logits;
      for (int m : subset_modalities(needed)) {
        const auto& a = *mods_[static_cast<size_t>(m)];
        logits[static_cast<size_t>(m)] = unet_->decode(unet_->encode(input(x, m), a), a);
      }
      for (SubsetMask s : subsets) {
        const auto ms = subset_modalities(s);
        torch::Tensor sum = logits[static_cast<size_t>(ms[0])];
        if (ms.size() == 1) {
          out.push_back(sum);
          continue;
        }
        for (size_t i = 1; i < ms.size(); ++i) sum = sum + logits[static_cast<size_t>(ms[i])];
        out.push_back(sum / static_cast<double>(ms.size()));
      }
    } else {
      // Encode once per modality; mean of the features at every scale per subset; one decoder pass per
      // subset with the shared "fused" decoder affine.
      std::array<std::vector<torch::Tensor>, kNumModalities> feats;
      for (int m : subset_modalities(needed))
        feats[static_cast<size_t>(m)] = unet_->encode(input(x, m), *mods_[static_cast<size_t>(m)]);
      for (SubsetMask s : subsets) {
        const auto ms = subset_modalities(s);
        std::vector<torch::Tensor> fused = feats[static_cast<size_t>(ms[0])];
        if (ms.size() > 1) {
          for (size_t lvl = 0; lvl < fused.size(); ++lvl) {
            torch::Tensor sum = fused[lvl];
            for (size_t i = 1; i < ms.size(); ++i) sum = sum + feats[static_cast<size_t>(ms[i])][lvl];
            fused[lvl] = sum / static_cast<double>(ms.size());
          }
        }
        out.push_back(unet_->decode(fused, *fused_));
      }
    }
    return out;
  }

  std::vector<torch::Tensor> shared_parameters() override { return params_with_prefix(*this, {"mod_"}, false); }
  std::vector<torch::Tensor> specific_parameters() override { return params_with_prefix(*this, {"mod_"}, true); }

 private:
  torch::Tensor input(const std::array<torch::Tensor, kNumModalities>& x, int m) {
    auto& a = *mods_[static_cast<size_t>(m)];
    return cfg_.modality_stem ? unet_->stem(x[static_cast<size_t>(m)], a) : x[static_cast<size_t>(m)];
  }
  UNetCore unet_{nullptr};
  std::array<AffineSet, kNumModalities> mods_{AffineSet(nullptr), AffineSet(nullptr), AffineSet(nullptr),
                                              AffineSet(nullptr)};
  AffineSet fused_{nullptr};
};

// ---------------------------------------------------------------------------------------------
// Vanilla: one 4-channel U-Net, absent modalities zero-filled
// ---------------------------------------------------------------------------------------------
class VanillaNetImpl : public SegModelImpl {
 public:
  explicit VanillaNetImpl(NetConfig cfg) : SegModelImpl(std::move(cfg)) {
    unet_ = register_module("unet", UNetCore(kNumModalities, cfg_.widths, cfg_.groups, cfg_.half_mid));
    gn_ = register_module("gn", AffineSet(unet_->layout(), true, true, 0));
  }
  std::vector<torch::Tensor> forward_subsets(const std::array<torch::Tensor, kNumModalities>& x,
                                             const std::vector<SubsetMask>& subsets) override {
    check_inputs(cfg_, x, subsets);
    std::vector<torch::Tensor> out;
    out.reserve(subsets.size());
    for (SubsetMask s : subsets) {
      torch::Tensor ref = x[static_cast<size_t>(subset_modalities(s)[0])];
      std::vector<torch::Tensor> ch;
      for (int m = 0; m < kNumModalities; ++m)
        ch.push_back(subset_has(s, m) ? x[static_cast<size_t>(m)] : torch::zeros_like(ref));
      out.push_back(unet_->decode(unet_->encode(torch::cat(ch, 1), *gn_), *gn_));
    }
    return out;
  }
  std::vector<torch::Tensor> shared_parameters() override { return parameters(); }
  std::vector<torch::Tensor> specific_parameters() override { return {}; }

 private:
  UNetCore unet_{nullptr};
  AffineSet gn_{nullptr};
};

// ---------------------------------------------------------------------------------------------
// Unimodal: one dedicated 1-channel U-Net per modality; multi-modality subsets = mean of their logits
// ---------------------------------------------------------------------------------------------
class PlainNetImpl : public torch::nn::Module {
 public:
  PlainNetImpl(const std::vector<int64_t>& widths, int64_t groups, bool half_mid) {
    unet = register_module("unet", UNetCore(1, widths, groups, half_mid));
    gn = register_module("gn", AffineSet(unet->layout(), true, true, 0));
  }
  torch::Tensor forward(const torch::Tensor& x) { return unet->decode(unet->encode(x, *gn), *gn); }
  UNetCore unet{nullptr};
  AffineSet gn{nullptr};
};
TORCH_MODULE(PlainNet);

class UnimodalNetImpl : public SegModelImpl {
 public:
  explicit UnimodalNetImpl(NetConfig cfg) : SegModelImpl(std::move(cfg)) {
    for (int m : subset_modalities(cfg_.modalities))
      nets_[static_cast<size_t>(m)] =
          register_module("net_" + std::string(modality_key(m)), PlainNet(cfg_.widths, cfg_.groups, cfg_.half_mid));
  }
  std::vector<torch::Tensor> forward_subsets(const std::array<torch::Tensor, kNumModalities>& x,
                                             const std::vector<SubsetMask>& subsets) override {
    const SubsetMask needed = check_inputs(cfg_, x, subsets);
    std::array<torch::Tensor, kNumModalities> logits;
    for (int m : subset_modalities(needed))
      logits[static_cast<size_t>(m)] = nets_[static_cast<size_t>(m)]->forward(x[static_cast<size_t>(m)]);
    std::vector<torch::Tensor> out;
    for (SubsetMask s : subsets) {
      const auto ms = subset_modalities(s);
      torch::Tensor sum = logits[static_cast<size_t>(ms[0])];
      if (ms.size() > 1) {
        for (size_t i = 1; i < ms.size(); ++i) sum = sum + logits[static_cast<size_t>(ms[i])];
        sum = sum / static_cast<double>(ms.size());
      }
      out.push_back(sum);
    }
    return out;
  }
  // Every parameter belongs to exactly one modality's dedicated network: nothing is shared.
  std::vector<torch::Tensor> shared_parameters() override { return {}; }
  std::vector<torch::Tensor> specific_parameters() override { return parameters(); }

 private:
  std::array<PlainNet, kNumModalities> nets_{PlainNet(nullptr), PlainNet(nullptr), PlainNet(nullptr),
                                             PlainNet(nullptr)};
};

}  // namespace

SegModel make_model(const NetConfig& cfg) {
  validate_config(cfg, "make_model");
  switch (cfg.method) {
    case Method::DS:
    case Method::DSGMD: return std::make_shared<DSNetImpl>(cfg);
    case Method::Vanilla: return std::make_shared<VanillaNetImpl>(cfg);
    case Method::Unimodal: return std::make_shared<UnimodalNetImpl>(cfg);
  }
  throw UsageError("make_model: unknown method");
}

int64_t parameter_count(const SegModel& m) {
  int64_t n = 0;
  for (const auto& p : m->parameters()) n += p.numel();
  return n;
}

}  // namespace gmd::engine
