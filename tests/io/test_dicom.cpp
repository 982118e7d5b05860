// DICOM in (issue 15): modality proposals from vendor spellings, series listing and reading with geometry, one case
// from several series on different grids, overrides.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>

#include "gmd/common/error.hpp"
#include "gmd/common/modality.hpp"
#include "gmd/io/dicom.hpp"
#include "io_test_util.hpp"

using namespace gmd;
using gmd::io::test::TempDir;

namespace {
// A linear function of the patient (LPS) position, so trilinear resampling reproduces it exactly inside the grid.
float value_at(const std::array<double, 3>& p) { return static_cast<float>(200.0 + p[0] + 2.0 * p[1] + 3.0 * p[2]); }

std::array<double, 3> position(const Geometry& g, std::size_t x, std::size_t y, std::size_t z) {
  std::array<double, 3> p{};
  const std::array<double, 3> idx{double(x) * g.spacing[0], double(y) * g.spacing[1], double(z) * g.spacing[2]};
  for (int r = 0; r < 3; ++r) {
    p[r] = g.origin[r];
    for (int c = 0; c < 3; ++c) p[r] += g.direction[3 * r + c] * idx[c];
  }
  return p;
}

Image ramp(std::array<std::size_t, 3> size, std::array<double, 3> spacing, std::array<double, 3> origin) {
  Image img;
  img.geom.size = size;
  img.geom.spacing = spacing;
  img.geom.origin = origin;
  img.voxels.resize(img.geom.voxel_count());
  for (std::size_t z = 0; z < size[2]; ++z)
    for (std::size_t y = 0; y < size[1]; ++y)
      for (std::size_t x = 0; x < size[0]; ++x) img.at(x, y, z) = value_at(position(img.geom, x, y, z));
  return img;
}
}  // namespace

TEST(Dicom, ProposesModalitiesFromVendorSpellings) {
  struct Row {
    const char* description;
    const char* contrast;
    int expected;
  };
  const Row rows[] = {
      {"AX FLAIR", "", 0},           {"t2_tirm_tra_dark-fluid", "", 0}, {"T2 FLAIR 3D", "", 0},
      {"T2 TSE AX", "", 3},          {"Ax T2 FSE", "", 3},              {"t2w_tse_tra", "", 3},
      {"T1 MPRAGE", "", 1},          {"Ax T1 FSPGR BRAVO", "", 1},      {"t1_se_tra", "", 1},
      {"T1 MPRAGE POST", "", 2},     {"AX T1 +C", "", 2},               {"SAG T1 C+", "", 2},
      {"t1_se_tra", "GADOVIST", 2},  {"T1ce", "", 2},                   {"T1 Gd", "", 2},
      {"ep2d_diff_3scan", "", -1},   {"Unnamed", "", -1},
  };
  for (const Row& r : rows) {
    std::string why;
    EXPECT_EQ(io::propose_modality(r.description, "", r.contrast, &why), r.expected) << r.description << ": " << why;
    EXPECT_FALSE(why.empty());
  }
}

TEST(Dicom, SeriesRoundTripKeepsGeometryAndValues) {
  TempDir tmp;
  const Image img = ramp({12, 10, 6}, {1.1, 1.2, 2.5}, {-10.0, 5.0, 3.0});
  const auto files = io::write_dicom_series(img, tmp / "series", "AX T1 MPRAGE", "1.2.826.0.1.3680043.9.7.1",
                                            "1.2.826.0.1.3680043.9.7");
  ASSERT_EQ(files.size(), 6u);
  EXPECT_TRUE(io::is_dicom_folder(tmp.path()));
  const auto series = io::list_dicom_series(tmp.path());
  ASSERT_EQ(series.size(), 1u);
  const auto& s = series[0];
  EXPECT_EQ(s.uid, "1.2.826.0.1.3680043.9.7.1");
  EXPECT_EQ(s.description, "AX T1 MPRAGE");
  EXPECT_EQ(s.modality, "MR");
  EXPECT_EQ(s.size, (std::array<std::size_t, 3>{12, 10, 6}));
  EXPECT_EQ(s.orientation, "axial");
  EXPECT_TRUE(s.usable);
  EXPECT_EQ(s.proposed, 1);
  const Image back = io::read_dicom_series(s);
  EXPECT_EQ(back.geom.difference(img.geom), "");
  for (std::size_t i = 0; i < img.voxels.size(); ++i) ASSERT_NEAR(back.voxels[i], std::round(img.voxels[i]), 0.5) << i;

  // A sagittal acquisition: rows along anterior-posterior, columns head to foot; the direction survives.
  Image sag = ramp({10, 9, 5}, {0.9, 1.0, 3.0}, {30.0, -20.0, 40.0});
  sag.geom.direction = {0, 0, -1, 1, 0, 0, 0, -1, 0};
  io::write_dicom_series(sag, tmp / "sagittal", "SAG T1 C+", "1.2.826.0.1.3680043.9.7.2", "1.2.826.0.1.3680043.9.7");
  const auto both = io::list_dicom_series(tmp.path());
  ASSERT_EQ(both.size(), 2u);
  const auto& t = both[0].uid == "1.2.826.0.1.3680043.9.7.2" ? both[0] : both[1];
  EXPECT_EQ(t.orientation, "sagittal");
  EXPECT_EQ(t.proposed, 2);
  EXPECT_EQ(io::read_dicom_series(t).geom.difference(sag.geom), "");
}

TEST(Dicom, CaseFromSeriesOnDifferentGridsWithOverrides) {
  TempDir tmp;
  const std::string study = "1.2.826.0.1.3680043.9.8";
  const Image ref = ramp({16, 14, 8}, {1.0, 1.0, 2.0}, {0.0, 0.0, 0.0});
  io::write_dicom_series(ref, tmp / "a", "AX FLAIR", study + ".1", study);
  io::write_dicom_series(ref, tmp / "b", "T1 SE", study + ".2", study);
  io::write_dicom_series(ref, tmp / "c", "T1 SE", study + ".3", study, "GADOVIST");
  // T2 on a coarser grid covering the same region, and a second, shorter T2.
  io::write_dicom_series(ramp({8, 7, 6}, {2.0, 2.0, 3.0}, {0.5, 0.5, 0.0}), tmp / "d", "T2 TSE", study + ".4", study);
  io::write_dicom_series(ramp({8, 7, 3}, {2.0, 2.0, 3.0}, {0.5, 0.5, 0.0}), tmp / "e", "T2 TSE short", study + ".5", study);
  io::write_dicom_series(ref, tmp / "f", "3-plane loc", study + ".6", study, "", "ORIGINAL\\PRIMARY\\LOCALIZER");

  const auto series = io::list_dicom_series(tmp.path());
  ASSERT_EQ(series.size(), 6u);
  std::vector<std::string> notes;
  const auto chosen = io::assign_series(series, {}, &notes);
  ASSERT_TRUE(chosen[0] && chosen[1] && chosen[2] && chosen[3]);
  EXPECT_EQ(chosen[2]->uid, study + ".3");  // the contrast agent tag makes it T1ce
  EXPECT_EQ(chosen[3]->uid, study + ".4");  // more slices than the short T2
  std::string all;
  for (const auto& n : notes) all += n + "\n";
  EXPECT_NE(all.find("a localizer"), std::string::npos) << all;
  EXPECT_NE(all.find("two candidates"), std::string::npos) << all;

  notes.clear();
  // Scanner coordinates only (a ramp has nothing to register on; test_register.cpp covers registration).
  io::DicomAlignment scanner;
  scanner.mode = io::Align::Off;
  const io::Case c = io::load_dicom_case(tmp.path(), {}, kFullMask, &notes, scanner);
  EXPECT_EQ(c.present(), kFullMask);
  EXPECT_EQ(c.geom.difference(ref.geom), "");  // the T1ce grid
  all.clear();
  for (const auto& n : notes) all += n + "\n";
  EXPECT_NE(all.find("T2: resampled onto the T1ce grid"), std::string::npos) << all;
  // Inside the T2's extent the resampled values are the function's (the ramp is linear; DICOM stores integers).
  const Image& t2 = *c.images[3];
  int checked = 0;
  for (std::size_t z = 1; z < 7; ++z)
    for (std::size_t y = 1; y < 12; ++y)
      for (std::size_t x = 1; x < 14; ++x) {
        ASSERT_NEAR(t2.at(x, y, z), value_at(position(c.geom, x, y, z)), 1.5) << x << "," << y << "," << z;
        ++checked;
      }
  EXPECT_GT(checked, 500);

  // The user's word wins: the short T2 instead, FLAIR skipped.
  const auto over = io::parse_assignments(study + ".5=t2, " + study + ".1=skip");
  const io::Case d = io::load_dicom_case(tmp.path(), over);
  EXPECT_FALSE(d.images[0].has_value());
  EXPECT_TRUE(d.images[3].has_value());
  EXPECT_THROW(io::parse_assignments("1.2.3"), UsageError);
  EXPECT_THROW(io::parse_assignments("1.2.3=dwi"), UsageError);
  EXPECT_THROW(io::load_dicom_case(tmp.path(), {{"9.9.9", 1}}), UsageError);
  // Only T2 asked for: the reference is T2 itself.
  const io::Case e = io::load_dicom_case(tmp.path(), {}, SubsetMask{0x08});
  EXPECT_EQ(e.present(), SubsetMask{0x08});
  EXPECT_EQ(e.geom.size, (std::array<std::size_t, 3>{8, 7, 6}));
}

TEST(Dicom, NotDicomIsSaid) {
  TempDir tmp;
  EXPECT_FALSE(io::is_dicom_folder(tmp.path()));
  { std::ofstream(tmp / "x_flair.nii.gz") << "x"; }
  EXPECT_FALSE(io::is_dicom_folder(tmp.path()));
  EXPECT_THROW(io::list_dicom_series(tmp.path()), InputError);
}

// Bad DICOM gets a clear error naming the series: a missing slice, two patients in one case.
TEST(Dicom, MissingSlicesAndMixedPatientsAreNamed) {
  TempDir tmp;
  const std::string study = "1.2.826.0.1.3680043.9.12";
  const Image ref = ramp({16, 14, 8}, {1.0, 1.0, 2.0}, {0.0, 0.0, 0.0});
  const auto flair = io::write_dicom_series(ref, tmp / "a", "AX FLAIR", study + ".1", study);
  io::write_dicom_series(ref, tmp / "b", "T1 SE +C", study + ".2", study);
  ASSERT_NO_THROW(io::load_dicom_case(tmp.path(), {}));
  std::filesystem::remove(flair.at(4));  // a slice lost on the way from the PACS
  try {
    io::load_dicom_case(tmp.path(), {});
    FAIL() << "a series with a missing slice was read";
  } catch (const InputError& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("'AX FLAIR'"), std::string::npos) << w;
    EXPECT_NE(w.find("slice spacing varies from 2.00 to 4.00 mm"), std::string::npos) << w;
  }
  std::filesystem::remove_all(tmp / "a");
  io::write_dicom_series(ref, tmp / "c", "T2 TSE", study + ".3", study, "", "ORIGINAL\\PRIMARY\\M\\ND", "OTHER0002");
  try {
    io::load_dicom_case(tmp.path(), {});
    FAIL() << "a case from two patients was read";
  } catch (const InputError& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("'T2 TSE' (T2) belongs to patient 'OTHER0002'"), std::string::npos) << w;
    EXPECT_NE(w.find("one patient"), std::string::npos) << w;
  }
  // Skipping the stranger's series makes the case usable again.
  EXPECT_NO_THROW(io::load_dicom_case(tmp.path(), {{study + ".3", -1}}));
}

// A scanner's CD: series under a DICOMDIR. The DICOMDIR file itself may be given; its folder is read.
TEST(Dicom, ADicomdirOrItsFolderOpens) {
  TempDir tmp;
  const std::string study = "1.2.826.0.1.3680043.9.14";
  const Image ref = ramp({16, 14, 8}, {1.0, 1.0, 2.0}, {0.0, 0.0, 0.0});
  io::write_dicom_series(ref, tmp / "CD" / "S1", "AX FLAIR", study + ".1", study);
  io::write_dicom_series(ref, tmp / "CD" / "S2", "T1 SE +C", study + ".2", study);
  const std::filesystem::path dicomdir = io::write_dicomdir(tmp / "CD");
  ASSERT_TRUE(std::filesystem::is_regular_file(dicomdir));
  EXPECT_TRUE(io::is_dicom_folder(dicomdir));
  EXPECT_TRUE(io::is_dicom_folder(tmp / "CD"));
  const auto from_file = io::list_dicom_series(dicomdir);
  ASSERT_EQ(from_file.size(), 2u) << "the DICOMDIR is not a series";
  EXPECT_EQ(from_file[0].files.size(), 8u);
  const io::Case c = io::load_dicom_case(dicomdir, {});
  EXPECT_EQ(c.id, "CD");
  EXPECT_EQ(c.present(), SubsetMask{0b0101});
  // File IDs a DICOMDIR cannot hold are named.
  io::write_dicom_series(ref, tmp / "CD" / "not allowed", "T2", study + ".3", study);
  try {
    io::write_dicomdir(tmp / "CD");
    FAIL() << "a DICOMDIR with a space in a file ID";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("not allowed"), std::string::npos) << e.what();
  }
}

// The alignment check's checkerboard: cubes of the tile size alternate between the two images, each scaled to 0..1000.
TEST(Align, CheckerboardAlternatesTheTwoImagesInCubes) {
  Geometry g;
  g.size = {20, 20, 10};
  g.spacing = {1.0, 1.0, 2.0};
  Image a, b;
  a.geom = b.geom = g;
  a.voxels.assign(g.voxel_count(), 0.0f);
  b.voxels.assign(g.voxel_count(), 0.0f);
  for (std::size_t i = 0; i < a.voxels.size(); ++i) {
    a.voxels[i] = 10.0f + static_cast<float>(i % 7);     // 10..16
    b.voxels[i] = 500.0f + static_cast<float>(i % 11);  // 500..510
  }
  const Image c = io::checkerboard(a, b, 4.0);  // 4 voxels in x, y; 2 slices in z
  auto from_a = [&](std::size_t x, std::size_t y, std::size_t z) {
    return std::abs(c.at(x, y, z) - (a.at(x, y, z) - 10.0f) / 6.0f * 1000.0f) < 1e-3f;
  };
  EXPECT_TRUE(from_a(0, 0, 0));
  EXPECT_TRUE(from_a(3, 3, 1));
  EXPECT_FALSE(from_a(4, 0, 0));  // the next cube in x
  EXPECT_FALSE(from_a(0, 0, 2));  // the next cube in z (2 slices of 2 mm)
  EXPECT_TRUE(from_a(4, 4, 0));
  for (float v : c.voxels) ASSERT_TRUE(v >= 0.0f && v <= 1000.0f);
  Image other = b;
  other.geom.size = {20, 20, 9};
  other.voxels.resize(other.geom.voxel_count());
  EXPECT_THROW(io::checkerboard(a, other), InputError);
}
