// Tests of the synthetic BraTS generator (core/synth). Small and tiny sizes only (fast).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>

#include "gmd/common/error.hpp"
#include "gmd/common/modality.hpp"
#include "gmd/io/case.hpp"
#include "gmd/io/labels.hpp"
#include "gmd/io/nifti.hpp"
#include "gmd/synth/anatomy.hpp"
#include "gmd/synth/noise.hpp"
#include "gmd/synth/rng.hpp"
#include "gmd/synth/synth.hpp"

namespace fs = std::filesystem;
using namespace gmd;
using namespace gmd::synth;

namespace {

enum Mod { FL = 0, T1 = 1, T1CE = 2, T2 = 3 };

struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("gmd_test_synth_" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

SynthOptions opts(SynthSize size, std::uint64_t seed, TumourGrade grade = TumourGrade::Random) {
  SynthOptions o;
  o.size = size;
  o.seed = seed;
  o.grade = grade;
  return o;
}

// Mean of image m over voxels where pred(label, tissue) holds.
template <typename Pred>
double mean_where(const SynthResult& r, int m, Pred pred, std::size_t* count = nullptr) {
  double s = 0;
  std::size_t n = 0;
  const auto& img = r.c.images[m]->voxels;
  for (std::size_t i = 0; i < img.size(); ++i)
    if (pred(r.c.seg->voxels[i], r.tissue.voxels[i])) {
      s += img[i];
      ++n;
    }
  if (count) *count = n;
  return n ? s / n : std::nan("");
}

struct RegionMeans {
  // [modality][region]: 0 ET, 1 ED, 2 NCR/NET (label 1), 3 TC, 4 CSF, 5 GM, 6 WM (normal tissue)
  std::array<std::array<double, 7>, 4> m{};
  std::array<std::size_t, 7> n{};
};

RegionMeans region_means(const SynthResult& r) {
  RegionMeans out;
  for (int mod = 0; mod < 4; ++mod) {
    out.m[mod][0] = mean_where(r, mod, [](auto l, auto) { return l == 4; }, &out.n[0]);
    out.m[mod][1] = mean_where(r, mod, [](auto l, auto) { return l == 2; }, &out.n[1]);
    out.m[mod][2] = mean_where(r, mod, [](auto l, auto) { return l == 1; }, &out.n[2]);
    out.m[mod][3] = mean_where(r, mod, [](auto l, auto) { return l == 1 || l == 4; }, &out.n[3]);
    for (int t = 1; t <= 3; ++t)
      out.m[mod][3 + t] = mean_where(r, mod, [t](auto l, auto tis) { return l == 0 && tis == t; }, &out.n[3 + t]);
  }
  return out;
}

void print_means(const std::string& title, const RegionMeans& rm) {
  static const char* mods[4] = {"FLAIR", "T1", "T1ce", "T2"};
  std::printf("  %s   ET      ED      NCR     TC      CSF     GM      WM\n", title.c_str());
  for (int mod = 0; mod < 4; ++mod) {
    std::printf("  %-6s", mods[mod]);
    for (double v : rm.m[mod]) std::printf(" %7.1f", v);
    std::printf("\n");
  }
}

// The first index (from 0) whose tumour satisfies `want`.
template <typename Want>
SynthResult find_case(const SynthOptions& o, Want want) {
  for (int i = 0; i < 40; ++i) {
    auto r = generate_case_full(o, i);
    if (want(r.tumour)) return r;
  }
  throw std::runtime_error("no case with the wanted tumour in 40 tries");
}

// Shared small-size cases for the contrast tests (generated once).
const SynthResult& hgg_small() {
  static const SynthResult r = find_case(opts(SynthSize::Small, 11, TumourGrade::HGG),
                                         [](const TumourInfo& t) { return t.has_necrosis && !t.patchy_enhancement; });
  return r;
}
const SynthResult& lgg_small() {
  static const SynthResult r = generate_case_full(opts(SynthSize::Small, 12, TumourGrade::LGG), 0);
  return r;
}

bool same_case(const io::Case& a, const io::Case& b) {
  for (int m = 0; m < 4; ++m)
    if (a.images[m]->voxels != b.images[m]->voxels) return false;
  return a.seg->voxels == b.seg->voxels && a.geom == b.geom && a.id == b.id;
}

}  // namespace

// ------------------------------------------------------------------------------------------------
TEST(SynthRng, MatchesStandardEngineAndHasUnitMoments) {
  Rng r(123);
  std::mt19937_64 ref(splitmix64(123));
  for (int i = 0; i < 100; ++i) ASSERT_EQ(r.bits(), ref());
  Rng a(5), b(5), c(6);
  double s = 0, s2 = 0, umin = 1, umax = 0;
  const int n = 200000;
  bool differ = false;
  for (int i = 0; i < n; ++i) {
    const double x = a.normal();
    ASSERT_EQ(x, b.normal());
    differ |= (x != c.normal());
    s += x;
    s2 += x * x;
    const double u = a.uniform();
    b.uniform();
    c.uniform();
    umin = std::min(umin, u);
    umax = std::max(umax, u);
  }
  EXPECT_TRUE(differ);
  EXPECT_NEAR(s / n, 0.0, 0.01);
  EXPECT_NEAR(std::sqrt(s2 / n), 1.0, 0.01);
  EXPECT_GE(umin, 0.0);
  EXPECT_LT(umax, 1.0);
  EXPECT_NE(derive_seed(1, 2, 3), derive_seed(1, 3, 2));
}

TEST(SynthNoise, SeparableRenderingMatchesPointEvaluationAndIsSmooth) {
  Rng r(3);
  NoiseField f(r, {0, 0, 0}, {60, 50, 40}, 8.0);
  std::vector<double> xs, ys, zs;
  for (double v = 0; v <= 60; v += 1.5) xs.push_back(v);
  for (double v = 0; v <= 50; v += 2.0) ys.push_back(v);
  for (double v = 0; v <= 40; v += 2.5) zs.push_back(v);
  const auto sl = f.prepare(xs, ys, zs);
  std::vector<float> buf(xs.size() * ys.size());
  double s2 = 0, step2 = 0;
  std::size_t n = 0, nstep = 0;
  for (std::size_t iz = 0; iz < zs.size(); ++iz) {
    sl.slice(iz, buf.data());
    for (std::size_t iy = 0; iy < ys.size(); ++iy)
      for (std::size_t ix = 0; ix < xs.size(); ++ix) {
        const double v = buf[iy * xs.size() + ix];
        ASSERT_NEAR(v, f.at(xs[ix], ys[iy], zs[iz]), 1e-4);
        s2 += v * v;
        ++n;
        if (ix > 0) {
          step2 += std::pow(v - buf[iy * xs.size() + ix - 1], 2);
          ++nstep;
        }
      }
  }
  const double sd = std::sqrt(s2 / n);
  EXPECT_GT(sd, 0.5);
  EXPECT_LT(sd, 1.6);
  // Smooth: neighbouring samples 1.5 mm apart differ by far less than the field's spread.
  EXPECT_LT(std::sqrt(step2 / nstep), 0.3 * sd);
}

TEST(SynthSizes, GeometryAndNames) {
  const auto full = brats_geometry(SynthSize::Full);
  EXPECT_EQ(full.size, (std::array<std::size_t, 3>{240, 240, 155}));
  EXPECT_EQ(full.spacing, (std::array<double, 3>{1, 1, 1}));
  EXPECT_EQ(full.origin, (std::array<double, 3>{0, -239, 0}));
  EXPECT_EQ(full.direction, (std::array<double, 9>{1, 0, 0, 0, 1, 0, 0, 0, 1}));
  const auto small = brats_geometry(SynthSize::Small);
  EXPECT_EQ(small.size, (std::array<std::size_t, 3>{120, 120, 78}));
  EXPECT_EQ(small.spacing, (std::array<double, 3>{2, 2, 2}));
  EXPECT_EQ(small.origin, (std::array<double, 3>{0.5, -238.5, 0.5}));
  const auto tiny = brats_geometry(SynthSize::Tiny);
  EXPECT_EQ(tiny.size, (std::array<std::size_t, 3>{60, 60, 39}));
  for (auto s : {SynthSize::Full, SynthSize::Small, SynthSize::Tiny}) EXPECT_EQ(parse_size(size_name(s)), s);
  EXPECT_EQ(parse_size("SMALL"), SynthSize::Small);
  EXPECT_THROW(parse_size("medium"), UsageError);
  EXPECT_EQ(case_name(42, 7), "SYN_42_007");
  EXPECT_EQ(case_name(1, 1234), "SYN_1_1234");
}

TEST(SynthTemplate, TissueModelOfColin27IsOrdered) {
  auto a = Anatomy::load(default_template_path(), 0.0);
  EXPECT_EQ(a->size, (std::array<std::size_t, 3>{181, 217, 181}));
  const auto& t = a->tissue;
  EXPECT_LT(t.mean[kCSF], t.mean[kGM]);
  EXPECT_LT(t.mean[kGM], t.mean[kWM]);
  // Colin27's histogram peaks: CSF about 31, GM about 86, WM about 114.
  EXPECT_NEAR(t.mean[kWM], 114, 8);
  EXPECT_NEAR(t.mean[kGM], 86, 12);
  EXPECT_EQ(a->posterior(static_cast<float>(t.mean[kWM] + 5))[kWM], 1.0f);
  EXPECT_EQ(a->posterior(static_cast<float>(t.mean[kCSF] - 5))[kCSF], 1.0f);
  EXPECT_GT(a->posterior(static_cast<float>(t.mean[kGM]))[kGM], 0.6f);
  // Deep CSF (ventricles) lies near the brain centre.
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(a->ventricle_centre[i], a->brain_centre[i], 40);
}

TEST(SynthTemplate, MissingTemplateIsAnInputErrorNamingTheFile) {
  auto o = opts(SynthSize::Tiny, 1);
  o.template_path = "/nonexistent/colin.nii.gz";
  try {
    generate_case(o, 0);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/colin.nii.gz"), std::string::npos);
  }
  EXPECT_THROW(generate_case(opts(SynthSize::Tiny, 1), -1), UsageError);
}

// ------------------------------------------------------------------------------------------------
TEST(SynthCase, DeterministicPerSeedAndIndependentOfThreadCount) {
  auto o = opts(SynthSize::Tiny, 5);
  o.threads = 1;
  const auto a = generate_case(o, 1);
  o.threads = 3;
  const auto b = generate_case(o, 1);
  o.threads = 2;
  const auto c = generate_case(o, 1);
  EXPECT_TRUE(same_case(a, b));
  EXPECT_TRUE(same_case(a, c));
  EXPECT_EQ(a.id, "SYN_5_001");
}

TEST(SynthCase, DifferentSeedsAndIndicesGiveDifferentBrainsAndTumours) {
  const auto a = generate_case_full(opts(SynthSize::Tiny, 5), 0);
  const auto b = generate_case_full(opts(SynthSize::Tiny, 6), 0);
  const auto c = generate_case_full(opts(SynthSize::Tiny, 5), 1);
  for (const auto* other : {&b, &c}) {
    EXPECT_NE(a.c.images[T1]->voxels, other->c.images[T1]->voxels);
    EXPECT_NE(a.c.seg->voxels, other->c.seg->voxels);
    // The brain shape itself differs (random affine + deformation), not only the intensities.
    std::size_t diff = 0;
    for (std::size_t i = 0; i < a.c.geom.voxel_count(); ++i)
      diff += (a.c.images[T1]->voxels[i] > 0) != (other->c.images[T1]->voxels[i] > 0);
    EXPECT_GT(diff, 200u);
    EXPECT_NE(a.tumour.centre_mm, other->tumour.centre_mm);
  }
}

TEST(SynthCase, SameBrainAndTumourAtEverySize) {
  const auto t = generate_case_full(opts(SynthSize::Tiny, 9), 2);
  const auto s = generate_case_full(opts(SynthSize::Small, 9), 2);
  EXPECT_EQ(t.tumour.centre_mm, s.tumour.centre_mm);
  EXPECT_EQ(t.tumour.core_radius_mm, s.tumour.core_radius_mm);
  EXPECT_EQ(t.tumour.hgg, s.tumour.hgg);
  const auto nt = io::region_voxel_counts(t.c.seg->voxels), ns = io::region_voxel_counts(s.c.seg->voxels);
  // Whole-tumour volume in mL agrees across resolutions (within partial-volume error).
  const double vt = nt[0] * t.c.geom.voxel_volume_ml(), vs = ns[0] * s.c.geom.voxel_volume_ml();
  EXPECT_GT(vs, 1.0);
  EXPECT_NEAR(vt / vs, 1.0, 0.25);
}

TEST(SynthCase, LabelsNestedAndConfinedToTheBrainWithZeroBackground) {
  for (int idx = 0; idx < 4; ++idx) {
    const auto r = generate_case_full(opts(SynthSize::Tiny, 21), idx);
    const auto& c = r.c;
    ASSERT_TRUE(c.seg);
    EXPECT_EQ(c.present(), kFullMask);
    std::set<int> labels;
    std::size_t brain = 0;
    for (std::size_t i = 0; i < c.geom.voxel_count(); ++i) {
      labels.insert(c.seg->voxels[i]);
      const bool in0 = c.images[0]->voxels[i] != 0.0f;
      for (int m = 1; m < 4; ++m) ASSERT_EQ(in0, c.images[m]->voxels[i] != 0.0f) << "same brain mask in all";
      for (int m = 0; m < 4; ++m) ASSERT_GE(c.images[m]->voxels[i], 0.0f);
      if (c.seg->voxels[i]) ASSERT_TRUE(in0) << "tumour outside the brain";
      brain += in0;
    }
    for (int l : labels) EXPECT_TRUE(l == 0 || l == 1 || l == 2 || l == 4) << "label " << l;
    // A plausible skull-stripped brain volume (1.0 .. 1.8 L).
    const double ml = brain * c.geom.voxel_volume_ml();
    EXPECT_GT(ml, 1000);
    EXPECT_LT(ml, 1800);
    // Regions nested: ET in TC in WT.
    const auto reg = io::labels_to_regions(c.seg->voxels);
    const std::size_t n = c.geom.voxel_count();
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_LE(reg[2 * n + i], reg[n + i]);
      ASSERT_LE(reg[n + i], reg[i]);
    }
    const auto cnt = io::region_voxel_counts(c.seg->voxels);
    EXPECT_GT(cnt[0], 0);
    EXPECT_GT(cnt[0], cnt[1]);
    EXPECT_GT(cnt[1], 0);
    EXPECT_EQ(cnt[2] == 0, !r.tumour.has_enhancement);
  }
}

TEST(SynthCase, CompartmentsAreNestedSurfacesAroundTheCentre) {
  // Mean distance from the tumour centre: necrosis < enhancing rim < edema.
  const auto& r = hgg_small();
  const auto& g = r.c.geom;
  std::map<int, std::pair<double, std::size_t>> acc;
  for (std::size_t z = 0; z < g.size[2]; ++z)
    for (std::size_t y = 0; y < g.size[1]; ++y)
      for (std::size_t x = 0; x < g.size[0]; ++x) {
        const int l = r.c.seg->at(x, y, z);
        if (!l) continue;
        const double dx = g.origin[0] + x * g.spacing[0] - r.tumour.centre_mm[0];
        const double dy = g.origin[1] + y * g.spacing[1] - r.tumour.centre_mm[1];
        const double dz = g.origin[2] + z * g.spacing[2] - r.tumour.centre_mm[2];
        acc[l].first += std::sqrt(dx * dx + dy * dy + dz * dz);
        acc[l].second += 1;
      }
  ASSERT_TRUE(acc.count(1) && acc.count(2) && acc.count(4));
  const double r1 = acc[1].first / acc[1].second, r4 = acc[4].first / acc[4].second,
               r2 = acc[2].first / acc[2].second;
  EXPECT_LT(r1, r4);
  EXPECT_LT(r4, r2);
}

// ------------------------------------------------------------------------------------------------
TEST(SynthContrast, NormalTissueFollowsRealMri) {
  for (const auto* r : {&hgg_small(), &lgg_small()}) {
    const auto rm = region_means(*r);
    print_means(r->c.id, rm);
    const auto& m = rm.m;
    ASSERT_GT(rm.n[4], 500u);
    ASSERT_GT(rm.n[5], 500u);
    ASSERT_GT(rm.n[6], 500u);
    // T1 and T1ce: WM > GM > CSF
    for (int mod : {T1, T1CE}) {
      EXPECT_GT(m[mod][6], 1.1 * m[mod][5]);
      EXPECT_GT(m[mod][5], 1.5 * m[mod][4]);
    }
    // T2: CSF > GM > WM
    EXPECT_GT(m[T2][4], 1.3 * m[T2][5]);
    EXPECT_GT(m[T2][5], 1.1 * m[T2][6]);
    // FLAIR: CSF suppressed, GM >= WM
    EXPECT_LT(m[FL][4], 0.7 * m[FL][6]);
    EXPECT_GE(m[FL][5], m[FL][6]);
  }
}

TEST(SynthContrast, TumourVisibilityFollowsRealMri) {
  const auto& r = hgg_small();
  ASSERT_TRUE(r.tumour.hgg);
  ASSERT_TRUE(r.tumour.has_necrosis);
  const auto rm = region_means(r);
  const auto& m = rm.m;
  ASSERT_GT(rm.n[0], 50u);
  ASSERT_GT(rm.n[1], 50u);
  ASSERT_GT(rm.n[2], 20u);
  // ET bright only in T1ce.
  EXPECT_GT(m[T1CE][0], 1.4 * m[T1CE][1]);
  EXPECT_GT(m[T1CE][0], 1.3 * m[T1CE][6]);
  EXPECT_LT(m[T1][0], m[T1][6]);
  // Edema bright in FLAIR and T2, barely visible in T1 / T1ce.
  EXPECT_GT(m[FL][1], 1.3 * m[FL][6]);
  EXPECT_GT(m[T2][1], 1.4 * m[T2][6]);
  EXPECT_NEAR(m[T1][1] / m[T1][6], 0.88, 0.12);
  EXPECT_NEAR(m[T1CE][1] / m[T1CE][6], 0.88, 0.12);
  // Necrosis (label 1): bright in T2, dark in T1 and T1ce.
  EXPECT_GT(m[T2][2], 1.5 * m[T2][6]);
  EXPECT_LT(m[T1CE][2], 0.75 * m[T1CE][6]);
  EXPECT_LT(m[T1][2], 0.75 * m[T1][6]);
  // The core is hardest to tell from edema in FLAIR.
  auto contrast = [&](int mod) { return std::abs(m[mod][3] - m[mod][1]) / m[mod][1]; };
  EXPECT_LT(contrast(FL), contrast(T1));
  EXPECT_LT(contrast(FL), contrast(T1CE));
  EXPECT_LT(contrast(FL), 0.2);
}

TEST(SynthContrast, LowGradeCaseHasNoEnhancementButAVisibleCore) {
  const auto& r = lgg_small();
  EXPECT_FALSE(r.tumour.hgg);
  EXPECT_FALSE(r.tumour.has_enhancement);
  const auto cnt = io::region_voxel_counts(r.c.seg->voxels);
  EXPECT_EQ(cnt[2], 0);
  EXPECT_GT(cnt[1], 50);
  const auto rm = region_means(r);
  EXPECT_GT(rm.m[FL][3], 1.3 * rm.m[FL][6]);  // core bright in FLAIR
  EXPECT_GT(rm.m[T2][3], 1.4 * rm.m[T2][6]);  // and T2
  EXPECT_LT(rm.m[T1CE][3], rm.m[T1CE][6]);    // not enhancing
}

TEST(SynthContrast, NoiseBiasAndPerCaseScaling) {
  const auto& a = hgg_small();
  const auto& b = lgg_small();
  // Rician-like noise + bias: white matter is not flat, but not dominated by noise either.
  std::size_t n = 0;
  const double mean = mean_where(a, T1, [](auto l, auto t) { return l == 0 && t == 3; }, &n);
  double s2 = 0;
  for (std::size_t i = 0; i < a.c.geom.voxel_count(); ++i)
    if (a.c.seg->voxels[i] == 0 && a.tissue.voxels[i] == 3) s2 += std::pow(a.c.images[T1]->voxels[i] - mean, 2);
  const double cv = std::sqrt(s2 / n) / mean;
  EXPECT_GT(cv, 0.02);
  EXPECT_LT(cv, 0.25);
  // Intensities are integers (like BraTS) and the per-case scale differs between cases.
  for (float v : a.c.images[FL]->voxels) ASSERT_EQ(v, std::round(v));
  const double wa = mean_where(a, FL, [](auto l, auto t) { return l == 0 && t == 3; });
  const double wb = mean_where(b, FL, [](auto l, auto t) { return l == 0 && t == 3; });
  EXPECT_GT(std::abs(wa - wb) / wa, 0.01);
}

// ------------------------------------------------------------------------------------------------
TEST(SynthDataset, WritesBratsLayoutThatIoReadsBack) {
  TempDir tmp;
  DatasetOptions o;
  o.synth = opts(SynthSize::Tiny, 77);
  o.first_index = 3;
  std::vector<std::string> reported;
  o.on_case = [&](const CaseReport& r) { reported.push_back(r.id); };
  const auto dirs = generate_dataset(tmp.path, 2, o);
  ASSERT_EQ(dirs.size(), 2u);
  EXPECT_EQ(reported, (std::vector<std::string>{"SYN_77_003", "SYN_77_004"}));
  EXPECT_EQ(io::list_cases(tmp.path), dirs);
  for (int k = 0; k < 2; ++k) {
    const std::string id = case_name(77, 3 + k);
    EXPECT_EQ(dirs[k], tmp.path / id);
    for (const char* suf : {"flair", "t1", "t1ce", "t2", "seg"})
      EXPECT_TRUE(fs::exists(dirs[k] / (id + "_" + suf + ".nii.gz"))) << suf;
    const auto files = io::discover_case(dirs[k]);
    EXPECT_EQ(files.present(), kFullMask);
    ASSERT_TRUE(files.seg);
    const auto loaded = io::load_case(files);
    const auto mem = generate_case(o.synth, 3 + k);
    EXPECT_EQ(loaded.geom.difference(brats_geometry(SynthSize::Tiny)), "");
    for (int m = 0; m < 4; ++m) {
      ASSERT_TRUE(loaded.images[m]);
      EXPECT_EQ(loaded.images[m]->voxels, mem.images[m]->voxels) << modality_key(m);
    }
    ASSERT_TRUE(loaded.seg);
    EXPECT_EQ(loaded.seg->voxels, mem.seg->voxels);
  }
}

TEST(SynthDataset, ParallelCasesWriteIdenticalFiles) {
  TempDir a, b;
  DatasetOptions o;
  o.synth = opts(SynthSize::Tiny, 31);
  o.synth.threads = 1;
  o.parallel_cases = 1;
  generate_dataset(a.path, 3, o);
  o.parallel_cases = 3;
  int calls = 0, last = -1;
  bool ordered = true;
  o.on_case = [&](const CaseReport& r) {
    ordered &= r.index == last + 1;
    last = r.index;
    ++calls;
  };
  generate_dataset(b.path, 3, o);
  EXPECT_EQ(calls, 3);
  EXPECT_TRUE(ordered);
  for (int i = 0; i < 3; ++i) {
    const std::string id = case_name(31, i);
    for (const char* suf : {"_flair.nii.gz", "_t2.nii.gz", "_seg.nii.gz"}) {
      const auto p1 = a.path / id / (id + suf), p2 = b.path / id / (id + suf);
      if (std::string(suf) == "_seg.nii.gz")
        EXPECT_EQ(io::read_labels(p1).voxels, io::read_labels(p2).voxels);
      else
        EXPECT_EQ(io::read_image(p1).voxels, io::read_image(p2).voxels);
    }
  }
}

TEST(SynthDataset, SmallSizeFileHasTheDocumentedGeometry) {
  TempDir tmp;
  auto c = generate_case(opts(SynthSize::Small, 4), 0);
  const auto dir = write_case(c, tmp.path);
  const auto img = io::read_image(dir / (c.id + "_t1ce.nii.gz"));
  EXPECT_EQ(img.geom.size, (std::array<std::size_t, 3>{120, 120, 78}));
  EXPECT_EQ(img.geom.difference(brats_geometry(SynthSize::Small)), "");
  EXPECT_EQ(c.files.seg, dir / (c.id + "_seg.nii.gz"));
}

TEST(SynthMontage, RendersFivePanelsWithTumourColoursAndWritesPng) {
  const auto c = generate_case(opts(SynthSize::Tiny, 8, TumourGrade::HGG), 0);
  int slice = -1;
  const auto img = render_montage(c, -1, &slice);
  EXPECT_EQ(img.height, 240);
  EXPECT_EQ(img.width, 5 * 240 + 4 * 4);
  ASSERT_GE(slice, 0);
  // The chosen slice holds tumour core, and the overlay panel shows coloured (non-grey) pixels.
  std::size_t core = 0;
  for (std::size_t y = 0; y < c.geom.size[1]; ++y)
    for (std::size_t x = 0; x < c.geom.size[0]; ++x) {
      const auto l = c.seg->at(x, y, slice);
      core += l == 1 || l == 4;
    }
  EXPECT_GT(core, 0u);
  std::size_t coloured = 0, coloured_in_grey_panels = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const std::uint8_t* p = &img.rgb[(static_cast<std::size_t>(y) * img.width + x) * 3];
      const bool col = p[0] != p[1] || p[1] != p[2];
      if (x >= 4 * (240 + 4)) coloured += col;
      else coloured_in_grey_panels += col;
    }
  EXPECT_GT(coloured, 100u);
  EXPECT_EQ(coloured_in_grey_panels, 0u);
  TempDir tmp;
  const auto png = tmp.path / "m.png";
  write_png(png, img);
  std::ifstream f(png, std::ios::binary);
  char sig[8] = {};
  f.read(sig, 8);
  EXPECT_EQ(std::string(sig + 1, 3), "PNG");
}
