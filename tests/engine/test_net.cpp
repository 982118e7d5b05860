// Networks (net.hpp) and losses (loss.hpp) on tiny nets and 16^3 volumes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <set>

#include "gmd/common/error.hpp"
#include "gmd/engine/loss.hpp"
#include "gmd/engine/net.hpp"

using namespace gmd;
using namespace gmd::engine;

namespace {

using Inputs = std::array<torch::Tensor, kNumModalities>;

NetConfig tiny(Method m, Fusion f = Fusion::Logit, bool stem = false) {
  NetConfig c;
  c.method = m;
  c.widths = {4, 8};
  c.groups = 2;
  c.fusion = f;
  c.modality_stem = stem;
  return c;
}

Inputs random_inputs(int64_t seed, int64_t b = 1, int64_t s = 16) {
  torch::manual_seed(static_cast<uint64_t>(seed));
  Inputs x;
  for (auto& t : x) t = torch::randn({b, 1, s, s, s});
  return x;
}

// Randomises the norm affines so that modality-specific parameters actually differ between modalities
// (at initialisation they are all 1/0).
void randomise(const SegModel& m, int64_t seed) {
  torch::manual_seed(static_cast<uint64_t>(seed));
  torch::NoGradGuard ng;
  for (auto& p : m->named_parameters())
    if (p.key().find("_gamma") != std::string::npos || p.key().find("_beta") != std::string::npos)
      p.value().add_(torch::randn_like(p.value()) * 0.3);
}

std::set<const void*> ids(const std::vector<torch::Tensor>& v) {
  std::set<const void*> s;
  for (const auto& t : v) s.insert(t.unsafeGetTensorImpl());
  return s;
}

NetConfig legacy(NetConfig c) {
  c.half_mid = true;
  return c;
}

std::vector<NetConfig> all_configs() {
  return {tiny(Method::DSGMD), tiny(Method::DS, Fusion::Feature), tiny(Method::DS, Fusion::Logit, true),
          tiny(Method::DS, Fusion::Feature, true), tiny(Method::Vanilla), tiny(Method::Unimodal),
          legacy(tiny(Method::DSGMD)), legacy(tiny(Method::DS, Fusion::Feature)), legacy(tiny(Method::Unimodal))};
}

std::map<std::string, torch::Tensor> named(const SegModel& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m->named_parameters()) out[p.key()] = p.value();
  return out;
}

}  // namespace

TEST(Net, MethodNamesRoundTrip) {
  for (auto m : {Method::Unimodal, Method::Vanilla, Method::DS, Method::DSGMD})
    EXPECT_EQ(parse_method(method_name(m)), m);
  EXPECT_EQ(method_name(Method::DSGMD), "ds-gmd");
  EXPECT_THROW(parse_method("resnet"), UsageError);
}

TEST(Net, ConfigJsonRoundTripAndErrors) {
  NetConfig c = tiny(Method::DS, Fusion::Feature, true);
  c.modalities = 0b1010;
  const auto j = c.to_json();
  EXPECT_EQ(j.at("modalities"), nlohmann::json({"t1", "t2"}));
  EXPECT_EQ(j.at("method"), "ds");
  const NetConfig d = NetConfig::from_json(j);
  EXPECT_EQ(d.method, c.method);
  EXPECT_EQ(d.widths, c.widths);
  EXPECT_EQ(d.groups, c.groups);
  EXPECT_EQ(d.fusion, c.fusion);
  EXPECT_EQ(d.modality_stem, c.modality_stem);
  EXPECT_EQ(d.modalities, c.modalities);
  EXPECT_EQ(d.to_json(), j);

  auto bad = [&](const char* key, nlohmann::json v) {
    auto b = j;
    if (v.is_null()) b.erase(key);
    else b[key] = v;
    EXPECT_THROW(NetConfig::from_json(b), InputError) << key << " = " << v;
  };
  bad("method", "resnet");
  bad("method", 3);
  bad("method", nullptr);
  bad("widths", "16");
  bad("widths", nlohmann::json::array());
  bad("widths", {16, -2});
  bad("widths", {16.5});
  bad("widths", {16, 5000});
  bad("widths", {4096, 4096, 4096, 4096, 4096, 4096, 4096, 4096});  // valid one by one, tens of GB in all (fuzzing)
  bad("widths", {4096});
  bad("groups", 0);
  bad("fusion", "attention");
  bad("modality_stem", "yes");
  bad("modalities", {"flair", "dwi"});
  bad("modalities", {"t1", "t1"});
  bad("modalities", nlohmann::json::array());
  EXPECT_THROW(NetConfig::from_json(nlohmann::json::array()), InputError);
}

TEST(Net, OutputShapeAndInputChecks) {
  for (const auto& cfg : all_configs()) {
    auto m = make_model(cfg);
    EXPECT_EQ(cfg.multiple(), 2);
    auto x = random_inputs(1, 2);
    const auto y = m->forward(x, kFullMask);
    EXPECT_EQ(y.sizes(), torch::IntArrayRef({2, 3, 16, 16, 16})) << method_name(cfg.method);
    // A subset that needs an absent modality.
    x[3] = torch::Tensor();
    EXPECT_THROW(m->forward(x, 0b1001), InputError);
    EXPECT_NO_THROW(m->forward(x, 0b0011));
    EXPECT_THROW(m->forward(x, 0), InputError);
    // Spatial size not a multiple of 2.
    auto odd = random_inputs(2, 1, 16);
    odd[0] = torch::randn({1, 1, 16, 15, 16});
    EXPECT_THROW(m->forward(odd, 0b0001), InputError);
    EXPECT_NO_THROW(m->forward(odd, 0b0010)) << "an unused odd input is never touched";
    // Mismatched shapes between used modalities.
    auto mism = random_inputs(3);
    mism[1] = torch::randn({1, 1, 16, 16, 8});
    EXPECT_THROW(m->forward(mism, 0b0011), InputError);
    // Wrong channel count.
    auto ch = random_inputs(4);
    ch[0] = torch::randn({1, 2, 16, 16, 16});
    EXPECT_THROW(m->forward(ch, 0b0001), InputError);
  }
  // A model built for FLAIR + T1 only.
  auto cfg = tiny(Method::DS);
  cfg.modalities = 0b0011;
  auto m = make_model(cfg);
  const auto x = random_inputs(5);
  EXPECT_NO_THROW(m->forward(x, 0b0011));
  EXPECT_THROW(m->forward(x, 0b0100), InputError);
  EXPECT_EQ(named(m).count("mod_t1ce.enc0a_gamma"), 0u);
}

TEST(Net, ParameterPartitionIsExactAndNamesStable) {
  for (const auto& cfg : all_configs()) {
    auto m = make_model(cfg);
    const auto all = m->parameters();
    const auto sh = m->shared_parameters(), sp = m->specific_parameters();
    EXPECT_EQ(sh.size() + sp.size(), all.size());
    auto u = ids(sh);
    const auto s2 = ids(sp);
    for (const void* p : s2) EXPECT_EQ(u.count(p), 0u) << "shared and specific overlap";
    u.insert(s2.begin(), s2.end());
    EXPECT_EQ(u, ids(all));
    // Names are stable across constructions.
    std::vector<std::string> n1, n2;
    for (const auto& p : m->named_parameters()) n1.push_back(p.key());
    for (const auto& p : make_model(cfg)->named_parameters()) n2.push_back(p.key());
    EXPECT_EQ(n1, n2);
  }
  // DS: shared = convolutions, specific = modality affines (+ stems).
  auto ds = make_model(tiny(Method::DSGMD, Fusion::Logit, true));
  const auto p = named(ds);
  EXPECT_EQ(p.count("unet.dec0r.weight"), 0u) << "the default block has no 1x1 reduction";
  for (const char* k : {"unet.enc0a.weight", "unet.enc1b.bias", "unet.dec0a.weight",
                        "unet.head.weight", "mod_flair.enc0a_gamma", "mod_t2.dec0b_beta", "mod_t1ce.stem.weight",
                        "mod_t1.stem_gamma"})
    EXPECT_EQ(p.count(k), 1u) << k;
  const auto spec = ids(ds->specific_parameters());
  for (const auto& [k, t] : p)
    EXPECT_EQ(spec.count(t.unsafeGetTensorImpl()), k.rfind("mod_", 0) == 0 ? 1u : 0u) << k;
  // Specific parameters per modality: one gamma and one beta per normalised channel.
  auto plain = make_model(tiny(Method::DS));
  int64_t spec_count = 0;
  for (const auto& t : plain->specific_parameters()) spec_count += t.numel();
  // widths {4,8}: enc0 (4, 4), enc1 = bottleneck at 8/2 (4, 4), dec0 (cat 8 -> 4, 4) channels => 24 per
  // modality, x2 (gamma, beta).
  EXPECT_EQ(spec_count, 4 * 2 * (4 + 4 + 4 + 4 + 4 + 4));
  // Feature fusion: decoder affine is shared ("fused"), modality affines cover the encoder only.
  auto feat = make_model(tiny(Method::DS, Fusion::Feature));
  const auto pf = named(feat);
  EXPECT_EQ(pf.count("fused.dec0a_gamma"), 1u);
  EXPECT_EQ(pf.count("mod_flair.dec0a_gamma"), 0u);
  // Vanilla: all shared; unimodal: all specific.
  auto van = make_model(tiny(Method::Vanilla));
  EXPECT_TRUE(van->specific_parameters().empty());
  EXPECT_EQ(named(van).at("unet.enc0a.weight").size(1), 4);
  auto uni = make_model(tiny(Method::Unimodal));
  EXPECT_TRUE(uni->shared_parameters().empty());
  EXPECT_EQ(named(uni).count("net_t1ce.unet.enc0a.weight"), 1u);
  // DS shares the backbone: 4 modalities cost only their affines over one modality.
  auto one = tiny(Method::DS);
  one.modalities = 0b0001;
  EXPECT_EQ(parameter_count(plain) - parameter_count(make_model(one)), 3 * 2 * 24);
  EXPECT_GT(parameter_count(uni), 3 * parameter_count(make_model(one)));
}

TEST(Net, DSAbsentModalityCannotInfluenceOutput) {
  for (const auto& cfg : {tiny(Method::DS), tiny(Method::DS, Fusion::Feature), tiny(Method::DSGMD, Fusion::Logit, true)}) {
    auto m = make_model(cfg);
    randomise(m, 3);
    auto x = random_inputs(10);
    const SubsetMask s = 0b0101;  // FLAIR + T1ce
    const auto ref = m->forward(x, s);
    auto y = x;
    y[1] = torch::randn_like(x[1]) * 100;
    y[3] = torch::full_like(x[3], 7.0);
    EXPECT_TRUE(torch::equal(ref, m->forward(y, s)));
    y[1] = torch::Tensor();
    y[3] = torch::Tensor();
    EXPECT_TRUE(torch::equal(ref, m->forward(y, s))) << "undefined absent inputs";
    // A present modality does matter.
    y[0] = x[0] + 0.5;
    EXPECT_FALSE(torch::allclose(ref, m->forward(y, s)));
  }
}

// A batch of one on the CPU runs its 3x3x3 convolutions on depth halves stacked as a batch of two (net.cpp,
// conv3_forward); a batch of two runs them whole. Both must give the same outputs and the same gradients for the
// same sample - also for odd depths (level 1 of an 18-deep patch is 9 deep) and with a modality stem.
TEST(Net, ABatchOfOneComputesWhatTheSameSampleComputesInABatchOfTwo) {
  for (const auto& cfg : {tiny(Method::DS), tiny(Method::DSGMD, Fusion::Feature, true), tiny(Method::Vanilla)}) {
    NetConfig c = cfg;
    c.widths = {8, 16};  // 8*18*16 and 16*9*8 are under LibTorch's batch-of-one oneDNN threshold: the split runs
    auto m = make_model(c);
    randomise(m, 5);
    torch::manual_seed(11);
    Inputs one, two;
    for (size_t i = 0; i < one.size(); ++i) {
      one[i] = torch::randn({1, 1, 18, 16, 16});
      two[i] = torch::cat({one[i], torch::randn({1, 1, 18, 16, 16})}, 0);
    }
    const SubsetMask s = 0b1011;
    m->zero_grad();
    const auto y1 = m->forward(one, s);
    y1.square().sum().backward();
    std::vector<torch::Tensor> g1;
    for (const auto& p : m->parameters()) g1.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
    m->zero_grad();
    const auto y2 = m->forward(two, s);
    y2.narrow(0, 0, 1).square().sum().backward();
    ASSERT_EQ(y1.sizes(), y2.narrow(0, 0, 1).sizes());
    EXPECT_TRUE(torch::allclose(y1, y2.narrow(0, 0, 1), 1e-4, 1e-4))
        << "max |diff| " << (y1 - y2.narrow(0, 0, 1)).abs().max().item<double>();
    // Gradients: the two ways sum the same products in different orders (and oneDNN's kernels differ between
    // CPUs), so float32 rounding is relative to each gradient's scale: compare the largest difference with the
    // largest entry (elementwise allclose failed on one CPU kind on entries near zero of a gradient in the thousands).
    size_t i = 0;
    for (const auto& p : m->parameters()) {
      const auto g2 = p.grad().defined() ? p.grad() : torch::zeros_like(p);
      const double diff = (g1[i] - g2).abs().max().item<double>();
      const double scale = g2.abs().max().item<double>();
      EXPECT_LE(diff, 1e-4 * scale + 1e-6) << "parameter " << i << " max |diff| " << diff << ", max |grad| " << scale;
      ++i;
    }
  }
}

TEST(Net, ForwardSubsetsEqualsSeparateForwards) {
  for (const auto& cfg : all_configs()) {
    auto m = make_model(cfg);
    randomise(m, 4);
    const auto x = random_inputs(11, 2);
    const auto& subs = all_subsets();
    const auto many = m->forward_subsets(x, subs);
    ASSERT_EQ(many.size(), subs.size());
    for (size_t i = 0; i < subs.size(); ++i) {
      // Only the subset's own inputs are given to the separate call.
      Inputs only;
      for (int mo : subset_modalities(subs[i])) only[static_cast<size_t>(mo)] = x[static_cast<size_t>(mo)];
      const auto sep = m->forward(only, subs[i]);
      EXPECT_TRUE(torch::allclose(many[i], sep, 1e-6, 1e-6))
          << method_name(cfg.method) << " " << subset_name(subs[i]) << " max diff "
          << (many[i] - sep).abs().max().item<double>();
    }
    // Order of the requested subsets does not matter.
    const auto two = m->forward_subsets(x, {subs[14], subs[0]});
    EXPECT_TRUE(torch::allclose(two[0], many[14], 1e-6, 1e-6));
    EXPECT_TRUE(torch::allclose(two[1], many[0], 1e-6, 1e-6));
  }
}

TEST(Net, LogitFusionIsMeanOfSingleModalityOutputs) {
  for (Method meth : {Method::DS, Method::Unimodal}) {
    auto m = make_model(tiny(meth));
    randomise(m, 5);
    const auto x = random_inputs(12);
    const auto single = m->forward_subsets(x, {0b0001, 0b0010, 0b0100, 0b1000});
    EXPECT_FALSE(torch::allclose(single[0], single[1])) << "modalities give different logits";
    for (SubsetMask s : all_subsets()) {
      torch::Tensor mean = torch::zeros_like(single[0]);
      for (int mo : subset_modalities(s)) mean += single[static_cast<size_t>(mo)];
      mean /= subset_size(s);
      EXPECT_TRUE(torch::allclose(m->forward(x, s), mean, 1e-6, 1e-6)) << subset_name(s);
    }
  }
  // Feature fusion is a different model: its {a,b} output is not the mean of its single outputs.
  auto f = make_model(tiny(Method::DS, Fusion::Feature));
  randomise(f, 5);
  const auto x = random_inputs(12);
  const auto o = f->forward_subsets(x, {0b0001, 0b0010, 0b0011});
  EXPECT_FALSE(torch::allclose(o[2], (o[0] + o[1]) / 2, 1e-4, 1e-4));
}

TEST(Net, DSModalitySpecificParametersStaySpecific) {
  for (const auto& cfg : {tiny(Method::DSGMD), tiny(Method::DS, Fusion::Feature, true)}) {
    auto m = make_model(cfg);
    randomise(m, 6);
    const auto x = random_inputs(13);
    const auto target = (torch::rand({1, 3, 16, 16, 16}) > 0.7).to(torch::kFloat32);
    m->zero_grad();
    soft_dice_loss(m->forward(x, 0b0010), target).backward();  // T1 only
    double t1_grad = 0, shared_grad = 0;
    for (const auto& p : m->named_parameters()) {
      const auto& g = p.value().grad();
      const double n = g.defined() ? g.abs().sum().item<double>() : 0.0;
      if (p.key().rfind("mod_", 0) == 0) {
        if (p.key().rfind("mod_t1.", 0) == 0) t1_grad += n;
        else EXPECT_EQ(n, 0.0) << p.key() << " touched by a T1-only loss";
      } else {
        shared_grad += n;
      }
    }
    EXPECT_GT(t1_grad, 0.0);
    EXPECT_GT(shared_grad, 0.0);
    // Changing FLAIR's affine changes FLAIR's output, not T1's.
    const auto before = m->forward_subsets(x, {0b0001, 0b0010});
    {
      torch::NoGradGuard ng;
      named(m).at("mod_flair.enc0b_gamma").mul_(1.7);
    }
    const auto after = m->forward_subsets(x, {0b0001, 0b0010});
    EXPECT_FALSE(torch::allclose(before[0], after[0]));
    EXPECT_TRUE(torch::equal(before[1], after[1]));
  }
}

TEST(Net, VanillaZeroFillsAbsentChannels) {
  auto m = make_model(tiny(Method::Vanilla));
  randomise(m, 7);
  const auto x = random_inputs(14);
  const SubsetMask s = 0b0110;  // T1 + T1ce
  const auto y = m->forward(x, s);
  Inputs z = x;
  z[0] = torch::zeros_like(x[0]);
  z[3] = torch::zeros_like(x[3]);
  EXPECT_TRUE(torch::allclose(y, m->forward(z, kFullMask), 1e-6, 1e-6));
  Inputs u;
  u[1] = x[1];
  u[2] = x[2];
  EXPECT_TRUE(torch::allclose(y, m->forward(u, s), 1e-6, 1e-6));
  EXPECT_FALSE(torch::allclose(y, m->forward(x, kFullMask)));
}

TEST(Net, UnimodalSingleSubsetUsesOnlyItsNet) {
  auto m = make_model(tiny(Method::Unimodal));
  randomise(m, 8);
  const auto x = random_inputs(15);
  const auto before = m->forward_subsets(x, {0b0001, 0b0010});
  {
    torch::NoGradGuard ng;
    for (auto& p : m->named_parameters())
      if (p.key().rfind("net_flair.", 0) == 0) p.value().add_(0.1);
  }
  const auto after = m->forward_subsets(x, {0b0001, 0b0010});
  EXPECT_FALSE(torch::allclose(before[0], after[0]));
  EXPECT_TRUE(torch::equal(before[1], after[1]));
}

TEST(Net, DefaultDSSize) {
  // Default DS (16-32-64-128-256): shared backbone + per-modality affines, paper-sized (a few million).
  auto m = make_model(NetConfig{});
  const int64_t n = parameter_count(m);
  int64_t shared = 0;
  for (const auto& t : m->shared_parameters()) shared += t.numel();
  EXPECT_GT(shared, 0.97 * n) << "nearly all parameters are shared";
  EXPECT_GT(n, 2'500'000);
  EXPECT_LT(n, 4'500'000);
  EXPECT_EQ(m->config().multiple(), 16);
}

TEST(Loss, SoftDiceMatchesFormula) {
  torch::manual_seed(1);
  const auto logits = torch::randn({2, 3, 4, 4, 4});
  const auto target = (torch::rand({2, 3, 4, 4, 4}) > 0.5).to(torch::kUInt8);
  const auto p = torch::sigmoid(logits);
  const auto t = target.to(torch::kFloat32);
  double expect = 0;
  for (int b = 0; b < 2; ++b)
    for (int c = 0; c < 3; ++c) {
      const double inter = (p[b][c] * t[b][c]).sum().item<double>();
      const double sp = p[b][c].sum().item<double>(), st = t[b][c].sum().item<double>();
      expect += 1.0 - (2 * inter + 1.0) / (sp + st + 1.0);
    }
  expect /= 6;
  EXPECT_NEAR(soft_dice_loss(logits, target).item<double>(), expect, 1e-5);
  // Perfect, confident prediction -> ~0; empty target and empty prediction -> 0 thanks to smoothing.
  const auto perfect = (t * 2 - 1) * 50;
  EXPECT_LT(soft_dice_loss(perfect, t).item<double>(), 1e-3);
  EXPECT_NEAR(soft_dice_loss(torch::full({1, 3, 4, 4, 4}, -60.0), torch::zeros({1, 3, 4, 4, 4})).item<double>(), 0.0,
              1e-6);
  // BCE term.
  const double bce = torch::binary_cross_entropy_with_logits(logits, t).item<double>();
  EXPECT_NEAR(seg_loss(logits, target, 0.5).item<double>(), expect + 0.5 * bce, 1e-5);
  EXPECT_NEAR(seg_loss(logits, target).item<double>(), expect, 1e-5);
  EXPECT_THROW(soft_dice_loss(logits, t.slice(1, 0, 2)), InputError);
  // Differentiable.
  auto l = logits.clone().requires_grad_(true);
  soft_dice_loss(l, t).backward();
  EXPECT_GT(l.grad().abs().sum().item<double>(), 0.0);
}
