// NIfTI read/write through ITK: geometry round trips, pixel types, label maps, bad files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <itkImage.h>
#include <itkImageFileWriter.h>
#include <itkImageRegionIterator.h>

#include <cmath>
#include <limits>

#include "gmd/common/error.hpp"
#include "gmd/io/nifti.hpp"
#include "io_test_util.hpp"

using namespace gmd;
using namespace gmd::io;
using namespace gmd::io::test;
using ::testing::HasSubstr;

namespace {

// Expects `fn` to throw gmd::InputError whose message contains every fragment.
template <typename Fn>
std::string expect_input_error(Fn&& fn, std::initializer_list<std::string> fragments) {
  try {
    fn();
  } catch (const gmd::InputError& e) {
    const std::string msg = e.what();
    for (const auto& f : fragments) EXPECT_THAT(msg, HasSubstr(f));
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "messages are one line: " << msg;
    return msg;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected gmd::InputError, got " << typeid(e).name() << ": " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected gmd::InputError, nothing was thrown";
  return {};
}

// Writes an ITK image of any pixel type / dimension with the given geometry; value(i) per voxel.
template <typename T, unsigned N, typename F>
void write_itk(const fs::path& p, const std::array<std::size_t, N>& size, F value,
               const Geometry* g = nullptr) {
  using ImageT = itk::Image<T, N>;
  auto img = ImageT::New();
  typename ImageT::RegionType region;
  for (unsigned i = 0; i < N; ++i) region.SetSize(i, size[i]);
  img->SetRegions(region);
  if (g && N == 3) {
    typename ImageT::SpacingType sp;
    typename ImageT::PointType org;
    typename ImageT::DirectionType dir;
    for (unsigned i = 0; i < N; ++i) {
      sp[i] = g->spacing[i];
      org[i] = g->origin[i];
      for (unsigned j = 0; j < N; ++j) dir(i, j) = g->direction[i * 3 + j];
    }
    img->SetSpacing(sp);
    img->SetOrigin(org);
    img->SetDirection(dir);
  }
  img->Allocate();
  itk::ImageRegionIterator<ImageT> it(img, region);
  std::size_t i = 0;
  for (it.GoToBegin(); !it.IsAtEnd(); ++it, ++i) it.Set(value(i));
  auto w = itk::ImageFileWriter<ImageT>::New();
  w->SetFileName(p.string());
  w->SetInput(img);
  w->Update();
}


}  // namespace

// ---------------------------------------------------------------------------------------------
TEST(Geometry, DifferenceEmptyWhenEqualWithinTolerance) {
  Geometry a = oblique_geometry(), b = a;
  EXPECT_EQ(a.difference(b), "");
  b.origin[0] += 5e-5;
  b.spacing[2] += 5e-5;
  EXPECT_EQ(a.difference(b), "");
  EXPECT_TRUE(a == b);
}

TEST(Geometry, DifferenceDescribesEveryDifference) {
  Geometry a = small_geometry(240, 240, 155), b = a;
  b.size[2] = 154;
  EXPECT_EQ(a.difference(b), "size 240x240x155 vs 240x240x154");
  b = a;
  b.spacing = {1.0, 1.0, 1.5};
  EXPECT_THAT(a.difference(b), HasSubstr("spacing 1x1x1 vs 1x1x1.5 mm (differs by 0.5 mm)"));
  b = a;
  b.origin = {0.0, 3.0, 4.0};
  EXPECT_THAT(a.difference(b), HasSubstr("origin (0, 0, 0) vs (0, 3, 4) mm (differs by 5 mm)"));
  b = a;
  const double r = 10.0 * 3.14159265358979323846 / 180.0;
  b.direction = {std::cos(r), -std::sin(r), 0, std::sin(r), std::cos(r), 0, 0, 0, 1};
  EXPECT_THAT(a.difference(b), HasSubstr("direction differs"));
  EXPECT_THAT(a.difference(b), HasSubstr("rotated by 10 degrees"));
  b.direction = {-1, 0, 0, 0, 1, 0, 0, 0, 1};
  EXPECT_THAT(a.difference(b), HasSubstr("mirrored"));
  // All at once, joined with "; ".
  b.size[0] = 10;
  b.spacing[0] = 2.0;
  b.origin[1] = 1.0;
  const std::string all = a.difference(b);
  EXPECT_THAT(all, HasSubstr("size 240x240x155 vs 10x240x155; spacing"));
  EXPECT_THAT(all, HasSubstr("; origin"));
  EXPECT_THAT(all, HasSubstr("; direction"));
  EXPECT_FALSE(a == b);
}

// ---------------------------------------------------------------------------------------------
class NiftiRoundTrip : public ::testing::TestWithParam<const char*> {};

TEST_P(NiftiRoundTrip, FloatImageKeepsObliqueGeometryAndValues) {
  TempDir tmp;
  const Image img = noise_image(oblique_geometry(), 1);
  const fs::path p = tmp / (std::string("img") + GetParam());
  write_image(p, img);
  ASSERT_TRUE(fs::exists(p));
  const Image back = read_image(p);
  EXPECT_EQ(back.geom.difference(img.geom), "");
  EXPECT_EQ(back.geom.size, img.geom.size);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(back.geom.spacing[i], img.geom.spacing[i], 1e-5);
    EXPECT_NEAR(back.geom.origin[i], img.geom.origin[i], 1e-4);
  }
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(back.geom.direction[i], img.geom.direction[i], 1e-5);
  ASSERT_EQ(back.voxels.size(), img.voxels.size());
  EXPECT_EQ(back.voxels, img.voxels);  // float32 is stored exactly
  // No temporary files left behind by the atomic write.
  int files = 0;
  for (const auto& e : fs::directory_iterator(tmp.path())) (void)e, ++files;
  EXPECT_EQ(files, 1);
}

TEST_P(NiftiRoundTrip, LabelMapKeepsGeometryAndLabels) {
  TempDir tmp;
  const Geometry g = oblique_geometry();
  const LabelMap l = blob_labels(g, 9, 11, 7, 6);
  const fs::path p = tmp / (std::string("seg") + GetParam());
  write_labels(p, l);
  const LabelMap back = read_labels(p);
  EXPECT_EQ(back.geom.difference(g), "");
  EXPECT_EQ(back.voxels, l.voxels);
}

INSTANTIATE_TEST_SUITE_P(Extensions, NiftiRoundTrip, ::testing::Values(".nii", ".nii.gz"));

TEST(Nifti, GzExtensionWritesGzipAndNiiWritesRaw) {
  TempDir tmp;
  const Image img = noise_image(small_geometry(), 2);
  write_image(tmp / "a.nii.gz", img);
  write_image(tmp / "a.nii", img);
  const std::string gz = read_bytes(tmp / "a.nii.gz"), raw = read_bytes(tmp / "a.nii");
  ASSERT_GE(gz.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
  EXPECT_GE(raw.size(), 352 + img.voxels.size() * sizeof(float));  // header + float32 voxels
}

TEST(Nifti, WriteLabelsStoresEtAs4AndUint8) {
  TempDir tmp;
  LabelMap l;
  l.geom = small_geometry(4, 4, 4);
  l.voxels.assign(64, 0);
  l.voxels[1] = 1, l.voxels[2] = 2, l.voxels[3] = 3, l.voxels[4] = 4;
  write_labels(tmp / "s.nii", l);
  const LabelMap back = read_labels(tmp / "s.nii");
  EXPECT_EQ(back.voxels[1], 1);
  EXPECT_EQ(back.voxels[2], 2);
  EXPECT_EQ(back.voxels[3], 4);
  EXPECT_EQ(back.voxels[4], 4);
  // uint8 on disk: 352-byte header + 1 byte per voxel.
  EXPECT_EQ(fs::file_size(tmp / "s.nii"), 352u + 64u);
}

TEST(Nifti, ReadsOtherPixelTypesIntoFloat) {
  TempDir tmp;
  const Geometry g = oblique_geometry();
  const std::array<std::size_t, 3> sz{g.size[0], g.size[1], g.size[2]};
  write_itk<std::int16_t, 3>(tmp / "s16.nii.gz", sz, [](std::size_t i) { return std::int16_t(i % 3000 - 1000); }, &g);
  write_itk<std::uint8_t, 3>(tmp / "u8.nii", sz, [](std::size_t i) { return std::uint8_t(i % 251); }, &g);
  write_itk<double, 3>(tmp / "f64.nii.gz", sz, [](std::size_t i) { return 0.25 * double(i % 77); }, &g);
  write_itk<std::int32_t, 3>(tmp / "s32.nii.gz", sz, [](std::size_t i) { return std::int32_t(i) - 4000; }, &g);
  const Image a = read_image(tmp / "s16.nii.gz"), b = read_image(tmp / "u8.nii"),
              c = read_image(tmp / "f64.nii.gz"), d = read_image(tmp / "s32.nii.gz");
  for (const Image* im : {&a, &b, &c, &d}) EXPECT_EQ(im->geom.difference(g), "");
  for (std::size_t i = 0; i < g.voxel_count(); i += 97) {
    EXPECT_EQ(a.voxels[i], float(int(i % 3000) - 1000));
    EXPECT_EQ(b.voxels[i], float(i % 251));
    EXPECT_EQ(c.voxels[i], float(0.25 * double(i % 77)));
    EXPECT_EQ(d.voxels[i], float(int(i) - 4000));
  }
}

TEST(Nifti, ReadsNrrdAndMetaImageToo) {
  TempDir tmp;
  const Image img = noise_image(oblique_geometry(), 3);
  write_image(tmp / "x.nrrd", img);
  write_image(tmp / "x.mha", img);
  for (const char* f : {"x.nrrd", "x.mha"}) {
    const Image back = read_image(tmp / f);
    EXPECT_EQ(back.geom.difference(img.geom), "") << f;
    EXPECT_EQ(back.voxels, img.voxels) << f;
  }
}

TEST(Nifti, SegWithLabel3IsReadAsEt) {
  TempDir tmp;
  const std::array<std::size_t, 3> sz{6, 5, 4};
  write_itk<std::int16_t, 3>(tmp / "seg.nii.gz", sz, [](std::size_t i) { return std::int16_t(i % 4); });
  const LabelMap l = read_labels(tmp / "seg.nii.gz");
  for (std::size_t i = 0; i < l.voxels.size(); ++i) EXPECT_EQ(l.voxels[i], (i % 4 == 3) ? 4 : i % 4);
}

TEST(Nifti, AllZeroSegIsValidButAllZeroImageIsNot) {
  TempDir tmp;
  Image z;
  z.geom = small_geometry();
  z.voxels.assign(z.geom.voxel_count(), 0.f);
  write_image(tmp / "z.nii.gz", z);
  EXPECT_NO_THROW(read_labels(tmp / "z.nii.gz"));
  EXPECT_NO_THROW(read_image(tmp / "z.nii.gz", /*reject_all_zero=*/false));
  expect_input_error([&] { read_image(tmp / "z.nii.gz"); }, {(tmp / "z.nii.gz").string(), "all voxels are zero"});
}

// ---------------------------------------------------------------------------------------------
// Bad files: each gives its own message naming the file.
TEST(NiftiBadInput, MissingFile) {
  TempDir tmp;
  expect_input_error([&] { read_image(tmp / "nope_t1.nii.gz"); }, {"nope_t1.nii.gz", "file not found"});
}

TEST(NiftiBadInput, EmptyFile) {
  TempDir tmp;
  write_bytes(tmp / "e_t1.nii", "");
  expect_input_error([&] { read_image(tmp / "e_t1.nii"); }, {"e_t1.nii", "empty"});
}

TEST(NiftiBadInput, GarbageBytes) {
  TempDir tmp;
  std::mt19937 rng(5);
  std::string junk(5000, '\0');
  for (auto& ch : junk) ch = static_cast<char>(rng());
  for (const char* name : {"g_t1.nii.gz", "g_t2.nii"}) {
    write_bytes(tmp / name, junk);
    expect_input_error([&] { read_image(tmp / name); }, {name, "not a readable image"});
  }
}

TEST(NiftiBadInput, GzipCutInHalf) {
  TempDir tmp;
  write_image(tmp / "full.nii.gz", noise_image(small_geometry(), 6));
  const std::string bytes = read_bytes(tmp / "full.nii.gz");
  write_bytes(tmp / "cut_flair.nii.gz", bytes.substr(0, bytes.size() / 2));
  expect_input_error([&] { read_image(tmp / "cut_flair.nii.gz"); }, {"cut_flair.nii.gz", "truncated or corrupt"});
}

TEST(NiftiBadInput, GzipWithCorruptedDataNearTheEnd) {
  TempDir tmp;
  write_image(tmp / "full.nii.gz", noise_image(small_geometry(40, 40, 20), 6));
  std::string bytes = read_bytes(tmp / "full.nii.gz");
  for (std::size_t i = bytes.size() * 9 / 10; i < bytes.size() * 9 / 10 + 16; ++i) bytes[i] = static_cast<char>(~bytes[i]);
  write_bytes(tmp / "bad_t2.nii.gz", bytes);
  expect_input_error([&] { read_image(tmp / "bad_t2.nii.gz"); }, {"bad_t2.nii.gz", "truncated or corrupt"});
}

TEST(NiftiBadInput, RawNiiCutInHalf) {
  TempDir tmp;
  write_image(tmp / "full.nii", noise_image(small_geometry(), 7));
  const std::string bytes = read_bytes(tmp / "full.nii");
  write_bytes(tmp / "cut_t1ce.nii", bytes.substr(0, bytes.size() / 2));
  expect_input_error([&] { read_image(tmp / "cut_t1ce.nii"); }, {"cut_t1ce.nii", "truncated or corrupt"});
}

TEST(NiftiBadInput, TwoDimensionalImage) {
  TempDir tmp;
  write_itk<float, 2>(tmp / "slice_t2.nii.gz", std::array<std::size_t, 2>{20, 24}, [](std::size_t i) { return 1.f + i; });
  expect_input_error([&] { read_image(tmp / "slice_t2.nii.gz"); },
                     {"slice_t2.nii.gz", "is 2D, expected a 3D volume", "20x24"});
  // A 3D file holding a single slice is 2D too.
  write_itk<float, 3>(tmp / "one_t2.nii.gz", std::array<std::size_t, 3>{20, 24, 1}, [](std::size_t i) { return 1.f + i; });
  expect_input_error([&] { read_image(tmp / "one_t2.nii.gz"); }, {"one_t2.nii.gz", "is 2D, expected a 3D volume", "20x24x1"});
}

TEST(NiftiBadInput, FourDimensionalSeries) {
  TempDir tmp;
  write_itk<float, 4>(tmp / "dwi.nii.gz", std::array<std::size_t, 4>{8, 8, 6, 3}, [](std::size_t i) { return 1.f + i; });
  expect_input_error([&] { read_image(tmp / "dwi.nii.gz"); }, {"dwi.nii.gz", "is 4D, expected a single 3D volume", "8x8x6x3"});
}

TEST(NiftiBadInput, NanAndInfVoxels) {
  TempDir tmp;
  Image img = noise_image(small_geometry(), 8);
  img.at(3, 4, 5) = std::numeric_limits<float>::quiet_NaN();
  write_image(tmp / "nan_t1.nii.gz", img);
  expect_input_error([&] { read_image(tmp / "nan_t1.nii.gz"); },
                     {"nan_t1.nii.gz", "1 NaN/Inf voxel", "x=3 y=4 z=5"});
  img = noise_image(small_geometry(), 8);
  img.at(0, 0, 1) = std::numeric_limits<float>::infinity();
  img.at(1, 0, 1) = -std::numeric_limits<float>::infinity();
  write_image(tmp / "inf_t1.nii", img);
  expect_input_error([&] { read_image(tmp / "inf_t1.nii"); }, {"inf_t1.nii", "2 NaN/Inf voxels", "x=0 y=0 z=1"});
}

TEST(NiftiBadInput, SegWithUnknownLabelsNamesTheValues) {
  TempDir tmp;
  const std::array<std::size_t, 3> sz{6, 5, 4};
  write_itk<std::int16_t, 3>(tmp / "a_seg.nii.gz", sz, [](std::size_t i) {
    return std::int16_t(i == 7 ? 5 : i == 9 ? 7 : i == 11 ? -1 : i % 3);
  });
  expect_input_error([&] { read_labels(tmp / "a_seg.nii.gz"); },
                     {"a_seg.nii.gz", "unknown label values -1, 5, 7", "in 3 voxels"});
  write_itk<float, 3>(tmp / "b_seg.nii.gz", sz, [](std::size_t i) { return i == 3 ? 0.5f : 1.f; });
  expect_input_error([&] { read_labels(tmp / "b_seg.nii.gz"); }, {"b_seg.nii.gz", "unknown label value 0.5 "});
}

TEST(NiftiBadInput, FolderInsteadOfFile) {
  TempDir tmp;
  fs::create_directories(tmp / "dir.nii.gz");
  expect_input_error([&] { read_image(tmp / "dir.nii.gz"); }, {"dir.nii.gz", "is a folder"});
}

TEST(NiftiBadInput, UnwritableTargetLeavesNoFile) {
  TempDir tmp;
  const Image img = noise_image(small_geometry(), 9);
  expect_input_error([&] { write_image(tmp / "out.unknownformat", img); }, {"out.unknownformat", "cannot write"});
  EXPECT_TRUE(fs::is_empty(tmp.path()));
  // A failed write keeps the previous file intact.
  write_image(tmp / "keep.nii", img);
  const std::string before = read_bytes(tmp / "keep.nii");
  Image bad = img;
  bad.voxels.pop_back();
  EXPECT_THROW(write_image(tmp / "keep.nii", bad), std::invalid_argument);
  EXPECT_EQ(read_bytes(tmp / "keep.nii"), before);
}
