// Sliding-window predictor: coverage and normalisation, Gaussian weighting, encode-once equivalence,
// cancel / progress, label conversion.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "gmd/common/error.hpp"
#include "gmd/engine/predictor.hpp"
#include "gmd/engine/sample.hpp"

using namespace gmd::engine;
using gmd::kFullMask;
using gmd::kNumModalities;
using gmd::SubsetMask;
using torch::indexing::Slice;

namespace {
// A position-independent (pointwise) model: logits of subset s = mean of its inputs times (1, -2, 0.5).
// Any correct sliding-window stitching must give exactly sigmoid(pointwise) everywhere.
class PointwiseModel : public SegModelImpl {
 public:
  explicit PointwiseModel(NetConfig c) : SegModelImpl(std::move(c)) {}
  std::vector<torch::Tensor> forward_subsets(const std::array<torch::Tensor, kNumModalities>& x,
                                             const std::vector<SubsetMask>& subsets) override {
    std::vector<torch::Tensor> out;
    for (SubsetMask s : subsets) {
      torch::Tensor sum;
      for (int m : gmd::subset_modalities(s)) {
        if (!x[m].defined()) throw gmd::InputError("missing input");
        EXPECT_EQ(x[m].size(2) % cfg_.multiple(), 0);
        sum = sum.defined() ? sum + x[m] : x[m].clone();
      }
      sum = sum / static_cast<double>(gmd::subset_size(s));
      out.push_back(torch::cat({sum, -2.0 * sum, 0.5 * sum}, 1));
      ++calls_per_subset;
    }
    ++forward_calls;
    return out;
  }
  std::vector<torch::Tensor> shared_parameters() override { return {}; }
  std::vector<torch::Tensor> specific_parameters() override { return {}; }
  int forward_calls = 0;
  int calls_per_subset = 0;
};

// Every voxel of a window gets the window's mean input (per batch item): stitching = weighted mean.
class WindowMeanModel : public SegModelImpl {
 public:
  explicit WindowMeanModel(NetConfig c) : SegModelImpl(std::move(c)) {}
  std::vector<torch::Tensor> forward_subsets(const std::array<torch::Tensor, kNumModalities>& x,
                                             const std::vector<SubsetMask>& subsets) override {
    std::vector<torch::Tensor> out;
    for (SubsetMask s : subsets) {
      const int m = gmd::subset_modalities(s)[0];
      const torch::Tensor mean = x[m].mean({1, 2, 3, 4}, true);  // (B,1,1,1,1)
      out.push_back(mean.expand({x[m].size(0), 3, x[m].size(2), x[m].size(3), x[m].size(4)}).clone());
    }
    return out;
  }
  std::vector<torch::Tensor> shared_parameters() override { return {}; }
  std::vector<torch::Tensor> specific_parameters() override { return {}; }
};

// Fails like an exhausted CUDA caching allocator.
class OomModel : public SegModelImpl {
 public:
  OomModel(NetConfig c, std::string msg) : SegModelImpl(std::move(c)), msg_(std::move(msg)) {}
  std::vector<torch::Tensor> forward_subsets(const std::array<torch::Tensor, kNumModalities>&,
                                             const std::vector<SubsetMask>&) override {
    TORCH_CHECK(false, msg_);
  }
  std::string msg_;
  std::vector<torch::Tensor> shared_parameters() override { return {}; }
  std::vector<torch::Tensor> specific_parameters() override { return {}; }
};

NetConfig cfg_levels(int levels) {
  NetConfig c;
  c.method = Method::DS;
  c.widths.clear();
  for (int i = 0; i < levels; ++i) c.widths.push_back(4 << i);
  c.groups = 2;
  return c;
}
}  // namespace

TEST(Predictor, PointwiseModelIsReproducedExactlyAnyTiling) {
  PointwiseModel model(cfg_levels(3));  // multiple 4
  torch::manual_seed(1);
  const torch::Tensor img = torch::randn({4, 20, 27, 13});  // not multiples of anything; 13 < window
  for (bool gaussian : {true, false})
    for (double overlap : {0.0, 0.5, 0.75}) {
      PredictOptions opt;
      opt.patch = 8;
      opt.overlap = overlap;
      opt.gaussian = gaussian;
      const auto probs = predict_subsets(model, img, kFullMask, {0b0001, 0b0110}, torch::kCPU, opt);
      ASSERT_EQ(probs.size(), 2u);
      EXPECT_EQ(probs[0].sizes(), torch::IntArrayRef({3, 20, 27, 13}));
      EXPECT_EQ(probs[0].dtype(), torch::kFloat);
      const torch::Tensor f = img[0];
      const torch::Tensor ex0 = torch::sigmoid(torch::stack({f, -2 * f, 0.5 * f}));
      const torch::Tensor m12 = (img[1] + img[2]) / 2;
      const torch::Tensor ex1 = torch::sigmoid(torch::stack({m12, -2 * m12, 0.5 * m12}));
      EXPECT_TRUE(torch::allclose(probs[0], ex0, 1e-5, 1e-6)) << "overlap " << overlap << " gaussian " << gaussian;
      EXPECT_TRUE(torch::allclose(probs[1], ex1, 1e-5, 1e-6)) << "overlap " << overlap << " gaussian " << gaussian;
    }
}

TEST(Predictor, GaussianWeightingMatchesDocumentedFormula) {
  WindowMeanModel model(cfg_levels(2));
  // Windows of 8 along x at 0, 4, 8 (overlap 0.5 over 16 voxels); one window along z and y.
  torch::Tensor img = torch::zeros({4, 8, 8, 16});
  img[0] = torch::linspace(-3, 3, 16).view({1, 1, 16}).expand({8, 8, 16});
  PredictOptions opt;
  opt.patch = 8;
  opt.overlap = 0.5;
  const torch::Tensor g = predict_subsets(model, img, 0b0001, {0b0001}, torch::kCPU, opt)[0];
  opt.gaussian = false;
  const torch::Tensor u = predict_subsets(model, img, 0b0001, {0b0001}, torch::kCPU, opt)[0];

  const std::vector<int64_t> starts{0, 4, 8};
  std::vector<double> means;
  for (int64_t s : starts) means.push_back(img[0].index({Slice(), Slice(), Slice(s, s + 8)}).mean().item<double>());
  const double sigma = 8.0 / 8.0, c = 3.5;
  for (int64_t x = 0; x < 16; ++x) {
    double num = 0, den = 0, unum = 0, uden = 0;
    for (size_t w = 0; w < starts.size(); ++w) {
      if (x < starts[w] || x >= starts[w] + 8) continue;
      const double i = static_cast<double>(x - starts[w]);
      const double wt = std::exp(-(i - c) * (i - c) / (2 * sigma * sigma));
      const double p = 1.0 / (1.0 + std::exp(-means[w]));
      num += wt * p;
      den += wt;
      unum += p;
      uden += 1;
    }
    EXPECT_NEAR(g[0][3][4][x].item<double>(), num / den, 1e-5) << "x=" << x;
    EXPECT_NEAR(u[0][3][4][x].item<double>(), unum / uden, 1e-5) << "x=" << x;
  }
  // The Gaussian result really differs from plain averaging where windows overlap.
  EXPECT_GT((g - u).abs().max().item<double>(), 1e-3);
}

TEST(Predictor, RealNetWindowsAndEncodeOnce) {
  NetConfig c = cfg_levels(2);
  c.method = Method::DSGMD;
  torch::manual_seed(5);
  SegModel model = make_model(c);
  torch::Tensor img = torch::randn({4, 8, 8, 16});
  img[1].zero_();  // T1 absent
  const SubsetMask present = 0b1101;

  // Exactly tiled (overlap 0, two windows along x): each half equals the forward pass of that half.
  PredictOptions opt;
  opt.patch = 8;
  opt.overlap = 0.0;
  const torch::Tensor p = predict_subsets(*model, img, present, {present}, torch::kCPU, opt)[0];
  {
    torch::NoGradGuard ng;
    model->eval();
    for (int64_t s : {0, 8}) {
      const torch::Tensor half = img.index({Slice(), Slice(), Slice(), Slice(s, s + 8)});
      const torch::Tensor ref = torch::sigmoid(model->forward(split_modalities(half, present), present))[0];
      EXPECT_TRUE(torch::allclose(p.index({Slice(), Slice(), Slice(), Slice(s, s + 8)}), ref, 1e-5, 1e-6));
    }
    // A window covering the whole volume equals the whole-volume forward pass.
    opt.patch = 16;
    const torch::Tensor whole = predict_subsets(*model, img, present, {present}, torch::kCPU, opt)[0];
    const torch::Tensor ref = torch::sigmoid(model->forward(split_modalities(img, present), present))[0];
    EXPECT_TRUE(torch::allclose(whole, ref, 1e-5, 1e-6));
  }

  // All subsets of the present modalities at once == one call per subset (encode once is exact).
  opt.patch = 8;
  opt.overlap = 0.5;
  const auto subs = gmd::subsets_within(present);
  ASSERT_EQ(subs.size(), 7u);
  const auto all = predict_subsets(*model, img, present, subs, torch::kCPU, opt);
  for (size_t j = 0; j < subs.size(); ++j) {
    const auto single = predict_subsets(*model, img, present, {subs[j]}, torch::kCPU, opt)[0];
    EXPECT_TRUE(torch::allclose(all[j], single, 1e-5, 1e-6)) << gmd::subset_name(subs[j]);
  }
  // Different subsets give different predictions (the fusion is really per subset).
  EXPECT_GT((all[0] - all[6]).abs().max().item<double>(), 1e-4);
  // The model's training mode is restored.
  model->train();
  predict_subsets(*model, img, present, {present}, torch::kCPU, opt);
  EXPECT_TRUE(model->is_training());
  // Asking for a subset with an absent modality is an input error.
  EXPECT_THROW(predict_subsets(*model, img, present, {0b0011}, torch::kCPU, opt), gmd::InputError);
}

TEST(Predictor, ProgressCancelAndBatching) {
  PointwiseModel model(cfg_levels(2));
  const torch::Tensor img = torch::randn({4, 8, 8, 24});
  PredictOptions opt;
  opt.patch = 8;
  opt.overlap = 0.5;  // 5 windows along x
  std::vector<double> progress;
  opt.progress = [&](double f) { progress.push_back(f); };
  const auto a = predict_subsets(model, img, kFullMask, {kFullMask}, torch::kCPU, opt);
  ASSERT_EQ(progress.size(), 5u);
  EXPECT_DOUBLE_EQ(progress.back(), 1.0);
  for (size_t i = 1; i < progress.size(); ++i) EXPECT_GT(progress[i], progress[i - 1]);
  EXPECT_EQ(model.forward_calls, 5);

  // Batched windows: fewer forward calls, same result.
  model.forward_calls = 0;
  opt.batch = 2;
  const auto b = predict_subsets(model, img, kFullMask, {kFullMask}, torch::kCPU, opt);
  EXPECT_EQ(model.forward_calls, 3);
  EXPECT_TRUE(torch::allclose(a[0], b[0], 1e-6, 1e-7));

  int polls = 0;
  opt.cancelled = [&] { return ++polls >= 2; };
  EXPECT_THROW(predict_subsets(model, img, kFullMask, {kFullMask}, torch::kCPU, opt), gmd::Cancelled);
  EXPECT_EQ(polls, 2);
}

TEST(Predictor, OutOfMemoryBecomesInputError) {
  OomModel model(cfg_levels(2), "CUDA out of memory. Tried to allocate 2.00 GiB");
  try {
    predict_subsets(model, torch::zeros({4, 8, 8, 8}), kFullMask, {kFullMask}, torch::kCPU);
    FAIL() << "no error";
  } catch (const gmd::InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("out of memory"), std::string::npos) << msg;
    EXPECT_NE(msg.find("smaller patch"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  // Other torch errors are not disguised as input errors.
  OomModel other(cfg_levels(2), "some other failure");
  EXPECT_THROW(predict_subsets(other, torch::zeros({4, 8, 8, 8}), kFullMask, {kFullMask}, torch::kCPU), c10::Error);
}

TEST(Predictor, ProbsToLabels) {
  torch::Tensor probs = torch::zeros({3, 1, 1, 6});
  // voxel: 0 bg, 1 WT only -> ED(2), 2 WT+TC -> NCR(1), 3 all -> ET(4), 4 ET only -> 4, 5 at threshold -> bg
  probs[0][0][0][1] = 0.9;
  probs[0][0][0][2] = 0.9;
  probs[1][0][0][2] = 0.8;
  probs[0][0][0][3] = 0.9;
  probs[1][0][0][3] = 0.9;
  probs[2][0][0][3] = 0.7;
  probs[2][0][0][4] = 0.6;
  probs[0][0][0][5] = 0.5;
  const torch::Tensor l = probs_to_labels(probs);
  EXPECT_EQ(l.dtype(), torch::kUInt8);
  EXPECT_EQ(l.sizes(), torch::IntArrayRef({1, 1, 6}));
  const std::vector<int> expect{0, 2, 1, 4, 4, 0};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(l[0][0][i].item<int>(), expect[static_cast<size_t>(i)]) << i;
  // Small ET (2 voxels < 3) becomes core.
  const torch::Tensor pp = probs_to_labels(probs, 0.5, 3);
  EXPECT_EQ(pp[0][0][3].item<int>(), 1);
  EXPECT_EQ(pp[0][0][4].item<int>(), 1);
  // Enough ET voxels: kept.
  EXPECT_EQ(probs_to_labels(probs, 0.5, 2)[0][0][3].item<int>(), 4);
  // Threshold is a parameter.
  EXPECT_EQ(probs_to_labels(probs, 0.95)[0][0][1].item<int>(), 0);
  EXPECT_THROW(probs_to_labels(torch::zeros({2, 1, 1, 1})), gmd::InputError);
}
