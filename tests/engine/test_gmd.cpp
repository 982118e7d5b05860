// GMD math (gmd.hpp) against hand-computed vectors and a direct vector implementation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <random>
#include <set>

#include "gmd/engine/gmd.hpp"

using namespace gmd::engine;

namespace {

using Vec = std::vector<double>;

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}
Vec axpy(const Vec& y, double a, const Vec& x) {  // y + a x
  Vec r = y;
  for (size_t i = 0; i < r.size(); ++i) r[i] += a * x[i];
  return r;
}

// One parameter per gradient vector, or split into two parameters (to exercise accumulation).
std::vector<std::vector<torch::Tensor>> as_grads(const std::vector<Vec>& g, bool split) {
  std::vector<std::vector<torch::Tensor>> out;
  for (const auto& v : g) {
    auto t = torch::tensor(v, torch::kFloat64);
    if (!split) {
      out.push_back({t});
    } else {
      const int64_t h = t.size(0) / 2;
      out.push_back({t.slice(0, 0, h).clone(), t.slice(0, h).clone()});
    }
  }
  return out;
}

Vec flatten(const std::vector<torch::Tensor>& ps) {
  Vec out;
  for (const auto& p : ps) {
    auto c = p.to(torch::kFloat64).contiguous();
    for (int64_t i = 0; i < c.numel(); ++i) out.push_back(c.data_ptr<double>()[i]);
  }
  return out;
}

// Direct eq. 8: every G'_i projected against the ORIGINAL conflicting gradients.
std::vector<Vec> direct_simultaneous(const std::vector<Vec>& g) {
  std::vector<Vec> out;
  for (size_t i = 0; i < g.size(); ++i) {
    Vec gi = g[i];
    for (size_t j = 0; j < g.size(); ++j) {
      const double d = dot(g[i], g[j]);
      if (j != i && d < 0 && dot(g[j], g[j]) > 0) gi = axpy(gi, -d / dot(g[j], g[j]), g[j]);
    }
    out.push_back(gi);
  }
  return out;
}

// Direct PCGrad for one i and an explicit order of the others.
Vec direct_sequential(const std::vector<Vec>& g, size_t i, const std::vector<size_t>& order) {
  Vec gi = g[i];
  for (size_t j : order) {
    const double d = dot(gi, g[j]);
    if (d < 0 && dot(g[j], g[j]) > 0) gi = axpy(gi, -d / dot(g[j], g[j]), g[j]);
  }
  return gi;
}

Vec coeff_row_times(const torch::Tensor& coeff, size_t i, const std::vector<Vec>& g) {
  Vec r(g[0].size(), 0.0);
  for (size_t j = 0; j < g.size(); ++j) r = axpy(r, coeff[i][j].item<double>(), g[j]);
  return r;
}

void expect_vec_near(const Vec& a, const Vec& b, double tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tol) << "component " << i;
}

bool all_finite(const GmdResult& r) {
  for (const auto& t : {r.cos, r.norms, r.coeff, r.weights, r.cos_after})
    if (!torch::isfinite(t).all().item<bool>()) return false;
  return true;
}

}  // namespace

TEST(Gmd, TwoConflictingGradientsMatchHandComputedProjections) {
  // g1 = (2,1), g2 = (-1,1): g1.g2 = -1, |g1|^2 = 5, |g2|^2 = 2.
  // eq. 8: g1' = g1 + 1/2 g2 = (1.5, 1.5); g2' = g2 + 1/5 g1 = (-0.6, 1.2).
  const std::vector<Vec> g{{2, 1}, {-1, 1}};
  const auto grads = as_grads(g, false);
  const auto gram = gram_matrix(grads);
  EXPECT_DOUBLE_EQ(gram[0][1].item<double>(), -1.0);
  EXPECT_DOUBLE_EQ(gram[0][0].item<double>(), 5.0);
  const auto r = gmd_from_gram(gram, {});
  EXPECT_EQ(r.conflicts, 1);
  EXPECT_NEAR(r.cos[0][1].item<double>(), -1.0 / std::sqrt(10.0), 1e-15);
  EXPECT_NEAR(r.norms[0].item<double>(), std::sqrt(5.0), 1e-15);
  EXPECT_NEAR(r.norms[1].item<double>(), std::sqrt(2.0), 1e-15);
  expect_vec_near(coeff_row_times(r.coeff, 0, g), {1.5, 1.5}, 1e-12);
  expect_vec_near(coeff_row_times(r.coeff, 1, g), {-0.6, 1.2}, 1e-12);
  // eq. 9: combined = (1 - g1.g2/|g1|^2) g1 + (1 - g1.g2/|g2|^2) g2 = 1.2 g1 + 1.5 g2 = (0.9, 2.7).
  EXPECT_NEAR(r.weights[0].item<double>(), 1.0 - (-1.0) / 5.0, 1e-12);
  EXPECT_NEAR(r.weights[1].item<double>(), 1.0 - (-1.0) / 2.0, 1e-12);
  const auto combined = combine_gradients(grads, r.weights);
  expect_vec_near(flatten(combined), {0.9, 2.7}, 1e-12);
  // De-conflicted pair: each projected gradient is orthogonal to the other original.
  EXPECT_NEAR(dot(coeff_row_times(r.coeff, 0, g), g[1]), 0.0, 1e-12);
  EXPECT_GE(r.cos_after[0][1].item<double>(), 0.0);
}

TEST(Gmd, ThreeDimensionalPairSplitAcrossParameters) {
  const std::vector<Vec> g{{1, 2, -1, 0.5}, {-2, 0.5, 1, 0}};
  const auto grads = as_grads(g, true);  // two "parameters" of 2 entries each
  const auto r = gmd_from_gram(gram_matrix(grads), {});
  const double d = dot(g[0], g[1]);
  ASSERT_LT(d, 0);
  const Vec g1p = axpy(g[0], -d / dot(g[1], g[1]), g[1]);
  const Vec g2p = axpy(g[1], -d / dot(g[0], g[0]), g[0]);
  expect_vec_near(coeff_row_times(r.coeff, 0, g), g1p, 1e-12);
  expect_vec_near(coeff_row_times(r.coeff, 1, g), g2p, 1e-12);
  expect_vec_near(flatten(combine_gradients(grads, r.weights)), axpy(g1p, 1.0, g2p), 1e-12);
}

TEST(Gmd, NoConflictIsThePlainSum) {
  const std::vector<Vec> g{{1, 0.5, 0}, {0.2, 1, 0.3}, {0, 0, 2}};
  const auto grads = as_grads(g, false);
  const auto r = gmd_from_gram(gram_matrix(grads), {});
  EXPECT_EQ(r.conflicts, 0);
  EXPECT_TRUE(torch::allclose(r.coeff, torch::eye(3, torch::kFloat64)));
  EXPECT_TRUE(torch::allclose(r.weights, torch::ones({3}, torch::kFloat64)));
  EXPECT_TRUE(torch::allclose(r.cos_after, r.cos));
  expect_vec_near(flatten(combine_gradients(grads, r.weights)), {1.2, 1.5, 2.3}, 1e-12);
}

TEST(Gmd, ProjectionNoneIsTheControl) {
  // The study's GMD control: conflicts are measured and counted, nothing is projected, the sum is DS's gradient.
  const std::vector<Vec> g{{2, 1}, {-1, 1}, {0.5, -3}};
  const auto grads = as_grads(g, false);
  const auto gram = gram_matrix(grads);
  const auto r = gmd_from_gram(gram, {GmdProjection::None, GmdCombine::Sum});
  const auto projected = gmd_from_gram(gram, {GmdProjection::Sequential, GmdCombine::Sum});
  EXPECT_EQ(r.conflicts, projected.conflicts);
  EXPECT_EQ(r.conflicts, 3);  // every pair here has a negative dot product
  EXPECT_TRUE(torch::allclose(r.coeff, torch::eye(3, torch::kFloat64)));
  EXPECT_TRUE(torch::allclose(r.weights, torch::ones({3}, torch::kFloat64)));
  EXPECT_TRUE(torch::allclose(r.cos_after, r.cos));
  EXPECT_FALSE(torch::allclose(projected.weights, r.weights));  // the projection would have changed them
  expect_vec_near(flatten(combine_gradients(grads, r.weights)), {1.5, -1.0}, 1e-12);
  const auto m = gmd_from_gram(gram, {GmdProjection::None, GmdCombine::Mean});
  EXPECT_TRUE(torch::allclose(m.weights, torch::full({3}, 1.0 / 3.0, torch::kFloat64)));
}

TEST(Gmd, ManyGradientsMatchDirectVectorImplementation) {
  std::mt19937_64 gen(7);
  std::normal_distribution<double> nd(0.0, 1.0);
  int trials_with_conflicts = 0;
  for (int trial = 0; trial < 10; ++trial) {
    const size_t k = 3 + trial % 4, n = 6;
    std::vector<Vec> g(k, Vec(n));
    for (auto& v : g)
      for (auto& x : v) x = nd(gen);
    const auto grads = as_grads(g, true);
    const auto r = gmd_from_gram(gram_matrix(grads), {GmdProjection::Simultaneous, GmdCombine::Sum});
    if (r.conflicts > 0) ++trials_with_conflicts;
    const auto direct = direct_simultaneous(g);
    Vec sum(n, 0.0);
    for (size_t i = 0; i < k; ++i) {
      expect_vec_near(coeff_row_times(r.coeff, i, g), direct[i], 1e-10);
      sum = axpy(sum, 1.0, direct[i]);
      for (size_t j = 0; j < k; ++j) {
        const double c = dot(g[i], g[j]) / std::sqrt(dot(g[i], g[i]) * dot(g[j], g[j]));
        EXPECT_NEAR(r.cos[i][j].item<double>(), c, 1e-12);
        const double ca = dot(direct[i], direct[j]) / std::sqrt(dot(direct[i], direct[i]) * dot(direct[j], direct[j]));
        EXPECT_NEAR(r.cos_after[i][j].item<double>(), ca, 1e-9);
      }
    }
    // The weights reproduce the combined gradient: sum_j w_j G_j == sum_i G'_i.
    expect_vec_near(flatten(combine_gradients(grads, r.weights)), sum, 1e-10);
  }
  EXPECT_GT(trials_with_conflicts, 5);
}

TEST(Gmd, ZeroGradientIsSafe) {
  const std::vector<Vec> g{{1, -1, 0}, {0, 0, 0}, {-1, 0.5, 1}};
  for (auto proj : {GmdProjection::Simultaneous, GmdProjection::Sequential}) {
    std::mt19937_64 rng(3);
    const auto grads = as_grads(g, false);
    const auto r = gmd_from_gram(gram_matrix(grads), {proj, GmdCombine::Sum}, &rng);
    EXPECT_TRUE(all_finite(r));
    EXPECT_EQ(r.norms[1].item<double>(), 0.0);
    for (int j = 0; j < 3; ++j) {
      EXPECT_EQ(r.cos[1][j].item<double>(), 0.0);
      EXPECT_EQ(r.cos_after[1][j].item<double>(), 0.0);
    }
    // The two non-zero gradients still de-conflict exactly as a pair.
    const auto direct = direct_simultaneous(g);
    expect_vec_near(coeff_row_times(r.coeff, 0, g), direct[0], 1e-12);
    expect_vec_near(coeff_row_times(r.coeff, 2, g), direct[2], 1e-12);
    for (const auto& t : flatten(combine_gradients(grads, r.weights))) EXPECT_TRUE(std::isfinite(t));
  }
  // All-zero Gram matrix.
  const auto r0 = gmd_from_gram(torch::zeros({4, 4}), {});
  EXPECT_TRUE(all_finite(r0));
  EXPECT_TRUE(torch::allclose(r0.weights, torch::ones({4}, torch::kFloat64)));
}

TEST(Gmd, SequentialOrderMattersAndUsesTheRng) {
  // For i = 0 the two visiting orders give different results (hand-checked: (-0.077, 0.385) vs
  // (-0.077, -0.077)); the direct implementation computes both.
  const std::vector<Vec> g{{1, 0}, {-1, 1}, {-1, -0.2}};
  const auto gram = gram_matrix(as_grads(g, false));
  const GmdOptions seq{GmdProjection::Sequential, GmdCombine::Sum};

  // Null rng: identity order.
  const auto id = gmd_from_gram(gram, seq, nullptr);
  for (size_t i = 0; i < 3; ++i) {
    std::vector<size_t> order;
    for (size_t j = 0; j < 3; ++j)
      if (j != i) order.push_back(j);
    expect_vec_near(coeff_row_times(id.coeff, i, g), direct_sequential(g, i, order), 1e-12);
  }
  const Vec a = direct_sequential(g, 0, {1, 2}), b = direct_sequential(g, 0, {2, 1});
  ASSERT_GT(std::abs(a[1] - b[1]), 0.1);

  std::set<int> seen;
  for (uint64_t seed = 0; seed < 32; ++seed) {
    std::mt19937_64 rng(seed), rng2(seed);
    const auto r = gmd_from_gram(gram, seq, &rng);
    const auto r2 = gmd_from_gram(gram, seq, &rng2);
    EXPECT_TRUE(torch::equal(r.coeff, r2.coeff)) << "same seed, same result";
    const Vec row0 = coeff_row_times(r.coeff, 0, g);
    const bool is_a = std::abs(row0[0] - a[0]) < 1e-12 && std::abs(row0[1] - a[1]) < 1e-12;
    const bool is_b = std::abs(row0[0] - b[0]) < 1e-12 && std::abs(row0[1] - b[1]) < 1e-12;
    EXPECT_TRUE(is_a || is_b);
    seen.insert(is_a ? 0 : 1);
    // Weights still reproduce the sum of the de-conflicted gradients.
    Vec sum(2, 0.0);
    for (size_t i = 0; i < 3; ++i) sum = axpy(sum, 1.0, coeff_row_times(r.coeff, i, g));
    expect_vec_near(flatten(combine_gradients(as_grads(g, false), r.weights)), sum, 1e-12);
  }
  EXPECT_EQ(seen.size(), 2u) << "the rng must drive the projection order";
  // Sequential differs from simultaneous here.
  const auto sim = gmd_from_gram(gram, {GmdProjection::Simultaneous, GmdCombine::Sum});
  EXPECT_FALSE(torch::allclose(sim.coeff, id.coeff));
}

TEST(Gmd, MeanIsSumOverK) {
  const std::vector<Vec> g{{1, 2, 0}, {-2, 0.1, 1}, {0.5, -3, 0.2}, {1, 1, 1}};
  const auto gram = gram_matrix(as_grads(g, false));
  const auto s = gmd_from_gram(gram, {GmdProjection::Simultaneous, GmdCombine::Sum});
  const auto m = gmd_from_gram(gram, {GmdProjection::Simultaneous, GmdCombine::Mean});
  EXPECT_TRUE(torch::allclose(m.weights * 4.0, s.weights, 1e-14, 1e-14));
  EXPECT_TRUE(torch::equal(m.coeff, s.coeff));
}

TEST(Gmd, CosAfterNonNegativeForPairs) {
  std::mt19937_64 gen(11);
  std::normal_distribution<double> nd(0.0, 1.0);
  int conflicting = 0;
  for (int t = 0; t < 50; ++t) {
    std::vector<Vec> g(2, Vec(5));
    for (auto& v : g)
      for (auto& x : v) x = nd(gen);
    const auto r = gmd_from_gram(gram_matrix(as_grads(g, false)), {});
    if (r.cos[0][1].item<double>() < 0) ++conflicting;
    EXPECT_GE(r.cos_after[0][1].item<double>(), -1e-12);
  }
  EXPECT_GT(conflicting, 10);
}

TEST(Gmd, GramMatrixTreatsUndefinedAsZeroAndAcceptsFloat32) {
  auto a = torch::tensor({1.0f, 2.0f}), b = torch::tensor({3.0f});
  std::vector<std::vector<torch::Tensor>> grads{{a, b}, {torch::Tensor(), b * -1.0f}};
  std::vector<std::vector<torch::Tensor>> zeros{{a, b}, {torch::zeros({2}), b * -1.0f}};
  const auto g = gram_matrix(grads);
  EXPECT_EQ(g.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(torch::equal(g, gram_matrix(zeros)));
  EXPECT_DOUBLE_EQ(g[0][0].item<double>(), 14.0);
  EXPECT_DOUBLE_EQ(g[0][1].item<double>(), -9.0);
  EXPECT_DOUBLE_EQ(g[1][1].item<double>(), 9.0);
  // A parameter no subset reaches stays undefined in the combination.
  std::vector<std::vector<torch::Tensor>> partial{{a, torch::Tensor()}, {a, torch::Tensor()}};
  const auto c = combine_gradients(partial, torch::tensor({0.5, 2.0}, torch::kFloat64));
  EXPECT_TRUE(torch::allclose(c[0], a * 2.5f));
  EXPECT_FALSE(c[1].defined());
}

TEST(Gmd, RejectsMalformedInput) {
  EXPECT_THROW(gmd_from_gram(torch::zeros({2, 3}), {}), std::invalid_argument);
  EXPECT_THROW(gmd_from_gram(torch::full({2, 2}, std::nan("")), {}), std::invalid_argument);
  EXPECT_THROW(combine_gradients({{torch::ones({2})}}, torch::ones({2})), std::invalid_argument);
}
