// Rigid co-registration (issue 15) on synthetic cases whose sequences were moved by known transforms and resampled
// onto other grids: the transform is recovered within 1 mm and 1 degree, and the tumour labels carried back through
// the recovered transform overlap those carried back through the true one.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <unistd.h>
#include <cmath>

#include "gmd/common/error.hpp"
#include "gmd/io/case.hpp"
#include "gmd/io/nifti.hpp"
#include "gmd/io/register.hpp"
#include "gmd/io/resample.hpp"
#include "gmd/synth/synth.hpp"

using namespace gmd;

namespace {

constexpr double kDeg = 3.14159265358979323846 / 180.0;

// Rotation about a unit axis (Rodrigues), row-major.
std::array<double, 9> rotation(std::array<double, 3> a, double deg) {
  const double n = std::sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
  for (double& v : a) v /= n;
  const double c = std::cos(deg * kDeg), s = std::sin(deg * kDeg), t = 1 - c;
  return {t * a[0] * a[0] + c,        t * a[0] * a[1] - s * a[2], t * a[0] * a[2] + s * a[1],
          t * a[0] * a[1] + s * a[2], t * a[1] * a[1] + c,        t * a[1] * a[2] - s * a[0],
          t * a[0] * a[2] - s * a[1], t * a[1] * a[2] + s * a[0], t * a[2] * a[2] + c};
}

const synth::SynthResult& small_case() {
  static const synth::SynthResult r = [] {
    synth::SynthOptions o;
    o.size = synth::SynthSize::Small;  // 120 x 120 x 78 at 2 mm
    o.seed = 7;
    o.grade = synth::TumourGrade::HGG;
    return synth::generate_case_full(o, 0);
  }();
  return r;
}

// The bounding box of the brain (nonzero voxels) as a geometry: where "within 1 mm" is measured.
Geometry brain_box(const Image& img) {
  std::array<std::size_t, 3> lo{img.geom.size}, hi{0, 0, 0};
  for (std::size_t z = 0; z < img.geom.size[2]; ++z)
    for (std::size_t y = 0; y < img.geom.size[1]; ++y)
      for (std::size_t x = 0; x < img.geom.size[0]; ++x)
        if (img.at(x, y, z) != 0.0f) {
          const std::array<std::size_t, 3> p{x, y, z};
          for (int a = 0; a < 3; ++a) {
            lo[a] = std::min(lo[a], p[a]);
            hi[a] = std::max(hi[a], p[a]);
          }
        }
  Geometry g = img.geom;
  for (int a = 0; a < 3; ++a) {
    g.size[a] = hi[a] - lo[a] + 1;
    for (int i = 0; i < 3; ++i) g.origin[i] += img.geom.direction[i * 3 + a] * img.geom.spacing[a] * static_cast<double>(lo[a]);
  }
  return g;
}

double dice(const LabelMap& a, const LabelMap& b) {
  std::size_t both = 0, na = 0, nb = 0;
  for (std::size_t i = 0; i < a.voxels.size(); ++i) {
    const bool x = a.voxels[i] != 0, y = b.voxels[i] != 0;
    both += x && y;
    na += x;
    nb += y;
  }
  return na + nb == 0 ? 1.0 : 2.0 * static_cast<double>(both) / static_cast<double>(na + nb);
}

struct Motion {
  std::array<double, 3> axis;
  double degrees;
  std::array<double, 3> shift_mm;
};

}  // namespace

class RegisterKnownMotion : public ::testing::TestWithParam<Motion> {};

TEST_P(RegisterKnownMotion, RecoversTheTransformWithin1mmAnd1Degree) {
  const auto& r = small_case();
  const Image& t1ce = *r.c.images[2];  // the reference
  const Image& flair = *r.c.images[0];
  // The patient moved between the sequences: FLAIR as acquired = the true FLAIR seen through `motion`, on a grid of
  // its own (1.5 x 1.5 x 3 mm, tilted 10 degrees, shifted field of view).
  const Motion& mv = GetParam();
  io::RigidTransform motion;
  motion.rotation = rotation(mv.axis, mv.degrees);
  motion.centre = {0, -120, 70};  // near the head's centre in the BraTS frame
  motion.translation = mv.shift_mm;
  Geometry acquired;
  acquired.size = {150, 160, 56};
  acquired.spacing = {1.5, 1.5, 3.0};
  const auto tilt = rotation({1, 0, 0}, 10);
  acquired.direction = tilt;
  acquired.origin = {t1ce.geom.origin[0] - 5, t1ce.geom.origin[1] + 3, t1ce.geom.origin[2] - 8};
  const Image moved = io::resample_linear(flair, acquired, motion);
  // (acquired point p shows the true anatomy at motion(p); registration must find the inverse.)

  const auto t0 = std::chrono::steady_clock::now();
  double last = -1;
  bool monotone = true;
  const io::Registration reg = io::register_rigid(t1ce, moved, {}, [&](double f) {
    monotone = monotone && f >= last && f <= 1.0;
    last = f;
  });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Reference point p -> acquired point reg(p) -> true point motion(reg(p)): the identity when recovered.
  const io::RigidTransform residual = reg.transform.then(motion);
  const Geometry box = brain_box(t1ce);
  EXPECT_LT(residual.angle_deg(), 1.0) << reg.transform.describe() << "; residual " << residual.describe();
  EXPECT_LT(residual.max_displacement_mm(box), 1.0) << reg.transform.describe() << "; residual " << residual.describe();
  EXPECT_TRUE(monotone);
  EXPECT_DOUBLE_EQ(last, 1.0);
  EXPECT_GT(reg.iterations, 0);
  std::printf("[ registration ] %.1f deg / %.1f mm motion: %d iterations, %.1f s, residual %.2f deg, %.2f mm\n",
              mv.degrees, std::hypot(mv.shift_mm[0], mv.shift_mm[1], mv.shift_mm[2]), reg.iterations, seconds,
              residual.angle_deg(), residual.max_displacement_mm(box));

  // The tumour labels as acquired, carried back onto the reference grid through the recovered transform, overlap
  // those carried back through the true one (the grids' own rounding is the same for both).
  const LabelMap acquired_seg = io::resample_nearest(*r.c.seg, acquired, motion);
  const LabelMap back_true = io::resample_nearest(acquired_seg, t1ce.geom, motion.inverse());
  const LabelMap back_found = io::resample_nearest(acquired_seg, t1ce.geom, reg.transform);
  EXPECT_GE(dice(back_found, back_true), 0.95);
  EXPECT_GE(dice(back_found, *r.c.seg), 0.95 * dice(back_true, *r.c.seg));
}

INSTANTIATE_TEST_SUITE_P(UpTo15DegreesAnd20mm, RegisterKnownMotion,
                         ::testing::Values(Motion{{0, 0, 1}, 6.0, {4.0, -3.0, 2.0}},
                                           Motion{{1, 0.3, 0.2}, 15.0, {12.0, 10.0, -12.0}},    // |t| = 19.7 mm
                                           Motion{{0.2, 1, -0.4}, -12.0, {-16.0, 6.0, 10.0}}));  // |t| = 19.8 mm

TEST(RigidTransform, ComposesAndInverts) {
  io::RigidTransform a;
  a.rotation = rotation({1, 2, 3}, 20);
  a.centre = {5, -7, 11};
  a.translation = {1, 2, -3};
  const auto id = a.then(a.inverse());
  EXPECT_NEAR(id.angle_deg(), 0.0, 1e-6);
  const std::array<double, 3> p{30, -40, 50};
  const auto q = id.apply(p);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(q[i], p[i], 1e-9);
  EXPECT_NEAR(a.angle_deg(), 20.0, 1e-9);
  const auto ax = a.axis();
  EXPECT_NEAR(ax[1] / ax[0], 2.0, 1e-9);
  EXPECT_TRUE(io::RigidTransform{}.is_identity());
  EXPECT_FALSE(a.is_identity());
  EXPECT_NE(a.describe().find("rotation 20.0 deg"), std::string::npos) << a.describe();
}

TEST(Register, RefusesAnEmptyImage) {
  const auto& r = small_case();
  Image zero = *r.c.images[0];
  std::fill(zero.voxels.begin(), zero.voxels.end(), 0.0f);
  try {
    io::register_rigid(*r.c.images[2], zero);
    FAIL() << "an all-zero image was registered";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("all zero"), std::string::npos) << e.what();
  }
}

// NIfTI files converted one series at a time come on grids of their own: load_case refuses them unless asked to
// align, and then registers the moved one onto the reference (T1ce) and says so.
TEST(Register, NiftiFilesOnDifferentGridsAreRegisteredWhenAsked) {
  const auto& r = small_case();
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("gmd_register_nifti_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  io::RigidTransform motion;
  motion.rotation = rotation({0.3, 0.2, 1}, 9.0);
  motion.centre = {0, -120, 70};
  motion.translation = {-6, 8, 5};
  Geometry acquired = r.c.images[0]->geom;
  acquired.spacing = {1.6, 1.6, 2.5};
  acquired.size = {160, 160, 70};
  acquired.origin[0] -= 20;
  acquired.origin[1] -= 20;
  acquired.origin[2] -= 10;
  io::write_image(dir / "p_t1ce.nii.gz", *r.c.images[2]);
  io::write_image(dir / "p_flair.nii.gz", io::resample_linear(*r.c.images[0], acquired, motion));
  const io::CaseFiles files = io::discover_case(dir);
  try {
    io::load_case(files);
    FAIL() << "files on different grids were loaded without aligning them";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("different geometry"), std::string::npos) << e.what();
  }
  io::AlignOptions align;
  std::vector<std::string> notes;
  const io::Case c = io::load_case(files, kFullMask, true, &align, &notes);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(c.geom.difference(r.c.images[2]->geom), "");
  ASSERT_TRUE(c.registration[0].has_value());
  EXPECT_FALSE(c.registration[2].has_value());
  const io::RigidTransform residual = c.registration[0]->transform.then(motion);
  EXPECT_LT(residual.angle_deg(), 1.0) << residual.describe();
  EXPECT_LT(residual.max_displacement_mm(brain_box(*r.c.images[2])), 1.0) << residual.describe();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("FLAIR: registered rigidly onto T1ce"), std::string::npos) << notes[0];
  // Scanner coordinates only, on request: no registration, the note says so.
  align.mode = io::Align::Off;
  notes.clear();
  std::filesystem::create_directories(dir);
  io::write_image(dir / "p_t1ce.nii.gz", *r.c.images[2]);
  io::write_image(dir / "p_flair.nii.gz", io::resample_linear(*r.c.images[0], acquired, motion));
  const io::Case d = io::load_case(io::discover_case(dir), kFullMask, true, &align, &notes);
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(d.registration[0].has_value());
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("in scanner coordinates"), std::string::npos) << notes[0];
}
