// Dice / HD95 / score_labels on hand-built volumes, against hand-computed values and a brute-force reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <vector>

#include "gmd/common/error.hpp"
#include "gmd/engine/metrics.hpp"

using namespace gmd::engine;

namespace {
struct Vol {
  std::array<int64_t, 3> dims;
  std::vector<std::uint8_t> v;
  explicit Vol(std::array<int64_t, 3> d) : dims(d), v(static_cast<size_t>(d[0] * d[1] * d[2]), 0) {}
  std::uint8_t& at(int64_t z, int64_t y, int64_t x) { return v[static_cast<size_t>((z * dims[1] + y) * dims[2] + x)]; }
  std::uint8_t get(int64_t z, int64_t y, int64_t x) const {
    if (z < 0 || y < 0 || x < 0 || z >= dims[0] || y >= dims[1] || x >= dims[2]) return 0;
    return v[static_cast<size_t>((z * dims[1] + y) * dims[2] + x)];
  }
  void box(int64_t z0, int64_t z1, int64_t y0, int64_t y1, int64_t x0, int64_t x1, std::uint8_t val = 1) {
    for (int64_t z = z0; z <= z1; ++z)
      for (int64_t y = y0; y <= y1; ++y)
        for (int64_t x = x0; x <= x1; ++x) at(z, y, x) = val;
  }
};

// Independent reference: brute-force nearest surface voxel, numpy-style 95th percentile.
double brute_hd95(const Vol& a, const Vol& b, const std::array<double, 3>& sp) {
  auto surface = [](const Vol& m) {
    std::vector<std::array<int64_t, 3>> s;
    for (int64_t z = 0; z < m.dims[0]; ++z)
      for (int64_t y = 0; y < m.dims[1]; ++y)
        for (int64_t x = 0; x < m.dims[2]; ++x)
          if (m.get(z, y, x) && !(m.get(z - 1, y, x) && m.get(z + 1, y, x) && m.get(z, y - 1, x) &&
                                  m.get(z, y + 1, x) && m.get(z, y, x - 1) && m.get(z, y, x + 1)))
            s.push_back({z, y, x});
    return s;
  };
  const auto sa = surface(a), sb = surface(b);
  std::vector<double> d;
  auto directed = [&](const auto& from, const auto& to) {
    for (const auto& p : from) {
      double best = 1e300;
      for (const auto& q : to) {
        double s = 0;
        for (int k = 0; k < 3; ++k) s += std::pow(static_cast<double>(p[k] - q[k]) * sp[k], 2);
        best = std::min(best, s);
      }
      d.push_back(std::sqrt(best));
    }
  };
  directed(sa, sb);
  directed(sb, sa);
  std::sort(d.begin(), d.end());
  const double h = 0.95 * static_cast<double>(d.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(h));
  if (lo + 1 >= d.size()) return d[lo];
  return d[lo] + (h - static_cast<double>(lo)) * (d[lo + 1] - d[lo]);
}
}  // namespace

TEST(Metrics, DiceHandComputed) {
  // pred: 4 voxels, truth: 6 voxels, 3 shared -> 2*3/(4+6) = 0.6
  std::vector<std::uint8_t> p{1, 1, 1, 1, 0, 0, 0, 0, 0, 0};
  std::vector<std::uint8_t> t{0, 1, 1, 1, 1, 1, 1, 0, 0, 0};
  EXPECT_DOUBLE_EQ(dice(p.data(), t.data(), p.size()), 0.6);
  EXPECT_DOUBLE_EQ(dice(p.data(), p.data(), p.size()), 1.0);
  std::vector<std::uint8_t> z(10, 0);
  EXPECT_DOUBLE_EQ(dice(z.data(), z.data(), z.size()), 1.0);  // both empty
  EXPECT_DOUBLE_EQ(dice(p.data(), z.data(), z.size()), 0.0);  // one empty
  EXPECT_DOUBLE_EQ(dice(z.data(), t.data(), z.size()), 0.0);
}

TEST(Metrics, Hd95ParallelPlanesExact) {
  // One-voxel-thick planes x=2 and x=7 spanning the whole (y,z) extent: every surface voxel is exactly
  // 5 voxels from the other plane.
  Vol a({6, 7, 12}), b({6, 7, 12});
  a.box(0, 5, 0, 6, 2, 2);
  b.box(0, 5, 0, 6, 7, 7);
  EXPECT_NEAR(hd95(a.v.data(), b.v.data(), a.dims, {1.0, 1.0, 1.0}), 5.0, 1e-9);
  // Anisotropic spacing: x spacing 2 mm -> 10 mm; z/y spacing irrelevant.
  EXPECT_NEAR(hd95(a.v.data(), b.v.data(), a.dims, {3.0, 0.5, 2.0}), 10.0, 1e-9);
  // Planes along z with z spacing 2.5: distance 4 slices = 10 mm.
  Vol c({10, 5, 5}), d({10, 5, 5});
  c.box(1, 1, 0, 4, 0, 4);
  d.box(5, 5, 0, 4, 0, 4);
  EXPECT_NEAR(hd95(c.v.data(), d.v.data(), c.dims, {2.5, 1.0, 1.0}), 10.0, 1e-9);
  // Symmetric and zero for identical masks.
  EXPECT_NEAR(hd95(d.v.data(), c.v.data(), c.dims, {2.5, 1.0, 1.0}), 10.0, 1e-9);
  EXPECT_DOUBLE_EQ(hd95(c.v.data(), c.v.data(), c.dims, {2.5, 1.0, 1.0}), 0.0);
}

TEST(Metrics, Hd95ShiftedCubesMatchBruteForce) {
  // Two 6^3 cubes shifted by 3 voxels along x (and 1 along y), isotropic and anisotropic spacing.
  Vol a({16, 16, 20}), b({16, 16, 20});
  a.box(4, 9, 4, 9, 3, 8);
  b.box(4, 9, 5, 10, 6, 11);
  for (const std::array<double, 3>& sp : {std::array<double, 3>{1, 1, 1}, std::array<double, 3>{2.0, 0.7, 1.3}}) {
    const double ref = brute_hd95(a, b, sp);
    EXPECT_NEAR(hd95(a.v.data(), b.v.data(), a.dims, sp), ref, 1e-9);
    EXPECT_GT(ref, 0.0);
  }
  // Pure shift along x by 3: the largest surface distance is 3 voxels; the far faces are exactly 3 away.
  Vol c({12, 12, 16});
  c.box(3, 8, 3, 8, 6, 11);
  Vol a2({12, 12, 16});
  a2.box(3, 8, 3, 8, 3, 8);
  const double h = hd95(a2.v.data(), c.v.data(), c.dims, {1, 1, 1});
  EXPECT_NEAR(h, brute_hd95(a2, c, {1, 1, 1}), 1e-9);
  EXPECT_LE(h, 3.0 + 1e-9);
  EXPECT_GT(h, 0.0);
}

TEST(Metrics, Hd95RandomBlobsMatchBruteForce) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 4; ++trial) {
    Vol a({10, 12, 14}), b({10, 12, 14});
    std::bernoulli_distribution bit(0.3);
    for (int64_t z = 2; z < 8; ++z)
      for (int64_t y = 2; y < 10; ++y)
        for (int64_t x = 1; x < 13; ++x) {
          a.at(z, y, x) = bit(rng);
          b.at(z, y, x) = bit(rng);
        }
    const std::array<double, 3> sp{1.5, 1.0, 0.8};
    EXPECT_NEAR(hd95(a.v.data(), b.v.data(), a.dims, sp), brute_hd95(a, b, sp), 1e-9) << "trial " << trial;
  }
}

TEST(Metrics, EmptyConventions) {
  Vol a({4, 5, 6}), e({4, 5, 6});
  a.box(1, 2, 1, 2, 1, 2);
  const std::array<double, 3> sp{2.0, 1.0, 0.5};
  const double diag = std::sqrt(8.0 * 8.0 + 5.0 * 5.0 + 3.0 * 3.0);
  EXPECT_DOUBLE_EQ(hd95(e.v.data(), e.v.data(), e.dims, sp), 0.0);
  EXPECT_NEAR(hd95(a.v.data(), e.v.data(), a.dims, sp), diag, 1e-12);
  EXPECT_NEAR(hd95(e.v.data(), a.v.data(), a.dims, sp), diag, 1e-12);
  EXPECT_THROW(hd95(a.v.data(), e.v.data(), a.dims, {0.0, 1.0, 1.0}), gmd::InputError);
}

TEST(Metrics, ScoreLabelsRegions) {
  // Truth: 8 voxels ED(2), 4 NCR(1), 4 ET(4). Prediction: ET written as 3 (BraTS 2023), NCR missed.
  const std::array<int64_t, 3> dims{1, 4, 4};
  std::vector<std::uint8_t> truth{2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 4, 4, 4, 4};
  std::vector<std::uint8_t> pred{2, 2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 3, 3, 3, 3};
  const RegionScores s = score_labels(pred, truth, dims, {1, 1, 1});
  EXPECT_EQ(s.true_voxels[0], 16);
  EXPECT_EQ(s.true_voxels[1], 8);
  EXPECT_EQ(s.true_voxels[2], 4);
  EXPECT_EQ(s.pred_voxels[0], 12);
  EXPECT_EQ(s.pred_voxels[1], 4);
  EXPECT_EQ(s.pred_voxels[2], 4);
  EXPECT_DOUBLE_EQ(s.dice[0], 2.0 * 12 / 28);
  EXPECT_DOUBLE_EQ(s.dice[1], 2.0 * 4 / 12);
  EXPECT_DOUBLE_EQ(s.dice[2], 1.0);
  EXPECT_DOUBLE_EQ(s.hd95[2], 0.0);
  EXPECT_GT(s.hd95[1], 0.0);
  // No tumour anywhere: perfect by convention.
  std::vector<std::uint8_t> zero(16, 0);
  const RegionScores z = score_labels(zero, zero, dims, {1, 1, 1});
  for (int r = 0; r < 3; ++r) {
    EXPECT_DOUBLE_EQ(z.dice[r], 1.0);
    EXPECT_DOUBLE_EQ(z.hd95[r], 0.0);
  }
  EXPECT_THROW(score_labels(zero, std::vector<std::uint8_t>(15, 0), dims, {1, 1, 1}), gmd::InputError);
}

TEST(Metrics, Hd95FastOnBratsSize) {
  // Two large overlapping spheres on a 240x240x155 grid.
  const std::array<int64_t, 3> dims{155, 240, 240};
  Vol a(dims), b(dims);
  for (int64_t z = 0; z < dims[0]; ++z)
    for (int64_t y = 0; y < dims[1]; ++y)
      for (int64_t x = 0; x < dims[2]; ++x) {
        if ((z - 77) * (z - 77) + (y - 120) * (y - 120) + (x - 110) * (x - 110) < 40 * 40) a.at(z, y, x) = 1;
        if ((z - 80) * (z - 80) + (y - 118) * (y - 118) + (x - 125) * (x - 125) < 35 * 35) b.at(z, y, x) = 1;
      }
  const auto t0 = std::chrono::steady_clock::now();
  const double h = hd95(a.v.data(), b.v.data(), dims, {1, 1, 1});
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("hd95 on 240x240x155 (two spheres r=40/35): %.3f s, %.2f mm\n", secs, h);
  // Centres 15.4 mm apart, radii 40 and 35: HD95 lies between the radius difference and centre distance + 5.
  EXPECT_GT(h, 5.0);
  EXPECT_LT(h, 21.0);
  EXPECT_LT(secs, 3.0);  // typically ~0.1-0.3 s; generous for a loaded 2-core machine
}
