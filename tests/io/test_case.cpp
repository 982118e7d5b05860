// Case discovery (all 15 subsets, naming variants, traps), explicit paths, loading and validation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gmd/common/error.hpp"
#include "gmd/common/modality.hpp"
#include "gmd/io/case.hpp"
#include "gmd/io/nifti.hpp"
#include "io_test_util.hpp"

using namespace gmd;
using namespace gmd::io;
using namespace gmd::io::test;
using ::testing::HasSubstr;

namespace {

template <typename Fn>
std::string input_error_of(Fn&& fn) {
  try {
    fn();
  } catch (const gmd::InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected gmd::InputError";
  return {};
}

// Writes a case folder holding the modalities of `subset` (tiny valid images).
void write_case(const fs::path& dir, const std::string& id, gmd::SubsetMask subset, const std::string& ext,
                bool upper = false, const Geometry& g = small_geometry(6, 5, 4)) {
  fs::create_directories(dir);
  for (int m = 0; m < gmd::kNumModalities; ++m) {
    if (!gmd::subset_has(subset, m)) continue;
    std::string key(gmd::modality_key(m));
    std::string e = ext;
    if (upper) {
      for (auto& ch : key) ch = static_cast<char>(std::toupper(ch));
      for (auto& ch : e) ch = static_cast<char>(std::toupper(ch));
    }
    write_image(dir / (id + "_" + key + e), ellipsoid_image(g, 0, 10.f * (m + 1), m));
  }
}

}  // namespace

TEST(Discover, EveryOneOfThe15Subsets) {
  TempDir tmp;
  int i = 0;
  for (gmd::SubsetMask s : gmd::all_subsets()) {
    const std::string id = "Case_" + std::to_string(i);
    const std::string ext = i % 2 ? ".nii" : ".nii.gz";
    const bool upper = i % 3 == 0;
    write_case(tmp / id, id, s, ext, upper);
    const CaseFiles cf = discover_case(tmp / id);
    EXPECT_EQ(cf.id, id);
    EXPECT_EQ(cf.present(), s) << gmd::subset_name(s);
    EXPECT_FALSE(cf.seg);
    for (int m = 0; m < gmd::kNumModalities; ++m) {
      ASSERT_EQ(cf.modality[m].has_value(), gmd::subset_has(s, m));
      if (cf.modality[m]) {
        std::string key(gmd::modality_key(m));
        std::string name = cf.modality[m]->filename().string();
        std::string want = id + "_" + key + ext;
        for (auto& ch : name) ch = static_cast<char>(std::tolower(ch));
        for (auto& ch : want) ch = static_cast<char>(std::tolower(ch));
        EXPECT_EQ(name, want);
      }
    }
    const Case c = load_case(cf);
    EXPECT_EQ(c.present(), s);
    for (int m = 0; m < gmd::kNumModalities; ++m)
      if (c.images[m]) EXPECT_EQ(c.images[m]->geom.difference(c.geom), "");
    ++i;
  }
  EXPECT_EQ(i, 15);
  // list_cases sees all of them, sorted by name, and skips folders without a modality file.
  fs::create_directories(tmp / "not_a_case");
  write_bytes(tmp / "not_a_case" / "notes.txt", "x");
  fs::create_directories(tmp / "only_seg");
  write_labels(tmp / "only_seg" / "x_seg.nii.gz", blob_labels(small_geometry(6, 5, 4), 2, 2, 2, 1));
  write_bytes(tmp / "stray_t1.nii.gz", "not a folder");
  const auto cases = list_cases(tmp.path());
  ASSERT_EQ(cases.size(), 15u);
  for (std::size_t k = 1; k < cases.size(); ++k)
    EXPECT_LT(cases[k - 1].filename().string(), cases[k].filename().string());
  EXPECT_EQ(cases.front().filename(), "Case_0");
  EXPECT_EQ(cases.back().filename(), "Case_9");  // lexicographic: Case_0, Case_1, Case_10, ..., Case_9
}

TEST(Discover, T1IsNeverConfusedWithT1ce) {
  TempDir tmp;
  write_case(tmp / "a", "a", 0b0100, ".nii.gz");  // only T1ce
  CaseFiles cf = discover_case(tmp / "a");
  EXPECT_EQ(cf.present(), 0b0100);
  EXPECT_FALSE(cf.modality[1]);
  write_case(tmp / "b", "b", 0b0010, ".nii");  // only T1
  cf = discover_case(tmp / "b");
  EXPECT_EQ(cf.present(), 0b0010);
  EXPECT_FALSE(cf.modality[2]);
  write_case(tmp / "c", "c", 0b0110, ".nii.gz", true);  // both, upper case
  cf = discover_case(tmp / "c");
  ASSERT_EQ(cf.present(), 0b0110);
  EXPECT_EQ(cf.modality[1]->filename(), "c_T1.NII.GZ");
  EXPECT_EQ(cf.modality[2]->filename(), "c_T1CE.NII.GZ");
}

TEST(Discover, SegMixedCaseOtherFilesAndBrats2023Names) {
  TempDir tmp;
  const Geometry g = small_geometry(6, 5, 4);
  fs::create_directories(tmp / "X");
  write_image(tmp / "X" / "X_Flair.nii.gz", ellipsoid_image(g, 0, 1.f, 1));
  write_labels(tmp / "X" / "X_Seg.NII", blob_labels(g, 2, 2, 2, 1));
  write_bytes(tmp / "X" / "X_t1.txt", "not an image");        // wrong extension
  write_bytes(tmp / "X" / "X_t1_brainmask.nii.gz", "ignored");  // other suffix
  write_bytes(tmp / "X" / "._X_t2.nii.gz", "macOS resource fork");
  fs::create_directories(tmp / "X" / "X_t2.nii.gz");  // a folder named like a T2: an error, not a skip
  EXPECT_THROW(discover_case(tmp / "X"), gmd::InputError);
  fs::remove(tmp / "X" / "X_t2.nii.gz");
  CaseFiles cf = discover_case(tmp / "X");
  EXPECT_EQ(cf.present(), 0b0001);
  ASSERT_TRUE(cf.seg);
  EXPECT_EQ(cf.seg->filename(), "X_Seg.NII");

  fs::create_directories(tmp / "B23");
  for (const char* s : {"t2f", "t1n", "t1c", "t2w"})
    write_image(tmp / "B23" / (std::string("BraTS-GLI-00001-000-") + s + ".nii.gz"), ellipsoid_image(g, 0, 1.f, 2));
  write_labels(tmp / "B23" / "BraTS-GLI-00001-000-seg.nii.gz", blob_labels(g, 2, 2, 2, 1));
  cf = discover_case(tmp / "B23");
  EXPECT_EQ(cf.present(), gmd::kFullMask);
  EXPECT_EQ(cf.modality[0]->filename(), "BraTS-GLI-00001-000-t2f.nii.gz");
  EXPECT_EQ(cf.modality[2]->filename(), "BraTS-GLI-00001-000-t1c.nii.gz");
  EXPECT_TRUE(cf.seg);
}

TEST(Discover, TrailingSlashStillGivesFolderName) {
  TempDir tmp;
  write_case(tmp / "BraTS_042", "BraTS_042", 0b1000, ".nii.gz");
  EXPECT_EQ(discover_case((tmp / "BraTS_042").string() + "/").id, "BraTS_042");
}

TEST(DiscoverBadInput, NoModality) {
  TempDir tmp;
  fs::create_directories(tmp / "empty");
  write_bytes(tmp / "empty" / "readme.txt", "x");
  const std::string msg = input_error_of([&] { discover_case(tmp / "empty"); });
  EXPECT_THAT(msg, HasSubstr((tmp / "empty").string()));
  EXPECT_THAT(msg, HasSubstr("no modality image found"));
}

TEST(DiscoverBadInput, MissingFolderAndFileInsteadOfFolder) {
  TempDir tmp;
  EXPECT_THAT(input_error_of([&] { discover_case(tmp / "nope"); }), HasSubstr("case folder not found"));
  write_bytes(tmp / "f_t1.nii", "x");
  EXPECT_THAT(input_error_of([&] { discover_case(tmp / "f_t1.nii"); }), HasSubstr("not a folder"));
  EXPECT_THAT(input_error_of([&] { list_cases(tmp / "nope"); }), HasSubstr("dataset folder not found"));
}

TEST(DiscoverBadInput, TwoFilesForTheSameModality) {
  TempDir tmp;
  write_case(tmp / "d", "d", 0b0010, ".nii");
  write_case(tmp / "d", "d", 0b0010, ".nii.gz");
  const std::string msg = input_error_of([&] { discover_case(tmp / "d"); });
  EXPECT_THAT(msg, HasSubstr("two files for the same T1"));
  EXPECT_THAT(msg, HasSubstr("d_t1.nii and d_t1.nii.gz"));
  // Two segmentations too.
  write_case(tmp / "e", "e", 0b0001, ".nii");
  write_labels(tmp / "e" / "e_seg.nii", blob_labels(small_geometry(6, 5, 4), 2, 2, 2, 1));
  write_labels(tmp / "e" / "other_SEG.nii.gz", blob_labels(small_geometry(6, 5, 4), 2, 2, 2, 1));
  EXPECT_THAT(input_error_of([&] { discover_case(tmp / "e"); }), HasSubstr("two files for the same segmentation"));
}

TEST(CaseFromPaths, ExplicitPathsAndDerivedId) {
  TempDir tmp;
  write_case(tmp.path(), "BraTS_007", 0b1001, ".nii.gz");
  write_labels(tmp / "BraTS_007_seg.nii.gz", blob_labels(small_geometry(6, 5, 4), 2, 2, 2, 1));
  std::array<std::optional<fs::path>, gmd::kNumModalities> paths;
  paths[0] = tmp / "BraTS_007_flair.nii.gz";
  paths[3] = tmp / "BraTS_007_t2.nii.gz";
  CaseFiles cf = case_from_paths(paths, tmp / "BraTS_007_seg.nii.gz");
  EXPECT_EQ(cf.id, "BraTS_007");
  EXPECT_EQ(cf.present(), 0b1001);
  EXPECT_TRUE(cf.seg);
  EXPECT_EQ(case_from_paths(paths, std::nullopt, "mine").id, "mine");
  const Case c = load_case(cf);
  EXPECT_EQ(c.present(), 0b1001);
  EXPECT_TRUE(c.seg);

  // Files of any name are accepted when given explicitly.
  write_image(tmp / "scan.nii", ellipsoid_image(small_geometry(6, 5, 4), 0, 1.f, 1));
  paths = {};
  paths[2] = tmp / "scan.nii";
  cf = case_from_paths(paths);
  EXPECT_EQ(cf.present(), 0b0100);
  EXPECT_EQ(cf.id, "scan");
}

TEST(CaseFromPaths, BadInput) {
  TempDir tmp;
  std::array<std::optional<fs::path>, gmd::kNumModalities> paths;
  EXPECT_THAT(input_error_of([&] { case_from_paths(paths); }), HasSubstr("no modality image given"));
  paths[1] = tmp / "missing_t1.nii.gz";
  const std::string msg = input_error_of([&] { case_from_paths(paths); });
  EXPECT_THAT(msg, HasSubstr("missing_t1.nii.gz"));
  EXPECT_THAT(msg, HasSubstr("file not found (T1)"));
  write_case(tmp.path(), "z", 0b0010, ".nii");
  paths[1] = tmp / "z_t1.nii";
  paths[3] = tmp / "z_t1.nii";
  EXPECT_THAT(input_error_of([&] { case_from_paths(paths); }), HasSubstr("same file is given for T1 and T2"));
  paths[3].reset();
  EXPECT_THAT(input_error_of([&] { case_from_paths(paths, tmp / "z_seg.nii"); }),
              HasSubstr("file not found (segmentation)"));
}

// ---------------------------------------------------------------------------------------------
// load_case validation.
class LoadCaseMismatch : public ::testing::Test {
 protected:
  // FLAIR with the reference geometry, T2 with `other`; returns load_case's error message.
  std::string mismatch(const Geometry& other) {
    const Geometry ref = oblique_geometry();
    write_image(tmp_ / "m_flair.nii.gz", ellipsoid_image(ref, 1, 1.f, 1));
    write_image(tmp_ / "m_t2.nii.gz", ellipsoid_image(other, 1, 1.f, 2));
    return input_error_of([&] { load_case(discover_case(tmp_.path())); });
  }
  TempDir tmp_;
};

TEST_F(LoadCaseMismatch, Size) {
  Geometry g = oblique_geometry();
  g.size[2] = 15;
  const std::string msg = mismatch(g);
  EXPECT_THAT(msg, HasSubstr("m_flair.nii.gz (FLAIR) and "));
  EXPECT_THAT(msg, HasSubstr("m_t2.nii.gz (T2) have different geometry: size 20x24x16 vs 20x24x15"));
}

TEST_F(LoadCaseMismatch, Spacing) {
  Geometry g = oblique_geometry();
  g.spacing[1] += 0.3;
  const std::string msg = mismatch(g);
  EXPECT_THAT(msg, HasSubstr("m_flair.nii.gz"));
  EXPECT_THAT(msg, HasSubstr("m_t2.nii.gz"));
  EXPECT_THAT(msg, HasSubstr("spacing 0.9x1.2x2.5 vs 0.9x1.5x2.5 mm (differs by 0.3 mm)"));
  EXPECT_THAT(msg, ::testing::Not(HasSubstr("size")));
}

TEST_F(LoadCaseMismatch, Origin) {
  Geometry g = oblique_geometry();
  g.origin[0] += 2.0;
  const std::string msg = mismatch(g);
  EXPECT_THAT(msg, HasSubstr("m_t2.nii.gz"));
  EXPECT_THAT(msg, HasSubstr("origin"));
  EXPECT_THAT(msg, HasSubstr("(differs by 2 mm)"));
}

TEST_F(LoadCaseMismatch, Direction) {
  Geometry g = oblique_geometry();
  g.direction = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  const std::string msg = mismatch(g);
  EXPECT_THAT(msg, HasSubstr("m_t2.nii.gz"));
  EXPECT_THAT(msg, HasSubstr("direction differs"));
}

TEST(LoadCase, SegGeometryMismatchAndUnknownLabels) {
  TempDir tmp;
  const Geometry g = small_geometry(6, 5, 4);
  write_case(tmp / "s", "s", 0b0001, ".nii.gz");
  write_labels(tmp / "s" / "s_seg.nii.gz", blob_labels(small_geometry(6, 5, 3), 2, 2, 1, 1));
  std::string msg = input_error_of([&] { load_case(discover_case(tmp / "s")); });
  EXPECT_THAT(msg, HasSubstr("s_seg.nii.gz (segmentation) and "));
  EXPECT_THAT(msg, HasSubstr("s_flair.nii.gz (FLAIR) have different geometry: size 6x5x3 vs 6x5x4"));
  // load_seg = false ignores the seg entirely.
  EXPECT_FALSE(load_case(discover_case(tmp / "s"), gmd::kFullMask, false).seg);

  Image bad;
  bad.geom = g;
  bad.voxels.assign(g.voxel_count(), 0.f);
  bad.voxels[5] = 6.f;
  write_image(tmp / "s" / "s_seg.nii.gz", bad);
  msg = input_error_of([&] { load_case(discover_case(tmp / "s")); });
  EXPECT_THAT(msg, HasSubstr("s_seg.nii.gz"));
  EXPECT_THAT(msg, HasSubstr("unknown label value 6"));
}

TEST(LoadCase, BadModalityFileIsNamed) {
  TempDir tmp;
  write_case(tmp / "c", "c", 0b0011, ".nii.gz");
  Image zero;
  zero.geom = small_geometry(6, 5, 4);
  zero.voxels.assign(zero.geom.voxel_count(), 0.f);
  write_image(tmp / "c" / "c_t1.nii.gz", zero);
  std::string msg = input_error_of([&] { load_case(discover_case(tmp / "c")); });
  EXPECT_THAT(msg, HasSubstr("c_t1.nii.gz: all voxels are zero"));
  write_bytes(tmp / "c" / "c_t1.nii.gz", std::string(1000, 'x'));
  msg = input_error_of([&] { load_case(discover_case(tmp / "c")); });
  EXPECT_THAT(msg, HasSubstr("c_t1.nii.gz: not a readable image"));
  // Restricting to FLAIR skips the broken T1 altogether.
  const Case c = load_case(discover_case(tmp / "c"), 0b0001);
  EXPECT_EQ(c.present(), 0b0001);
}

TEST(LoadCase, OnlyRestrictsModalitiesAndReportsAbsentRequest) {
  TempDir tmp;
  write_case(tmp / "o", "o", 0b1011, ".nii");
  const CaseFiles cf = discover_case(tmp / "o");
  EXPECT_EQ(load_case(cf, 0b0011).present(), 0b0011);
  EXPECT_EQ(load_case(cf, 0b0110).present(), 0b0010);
  const std::string msg = input_error_of([&] { load_case(cf, 0b0100); });
  EXPECT_THAT(msg, HasSubstr("none of the requested modalities (T1ce) is present"));
  EXPECT_THAT(msg, HasSubstr("FLAIR+T1+T2"));
}
