// DICOM SEG out (dicom_seg.hpp): a label map on an oblique MR series' grid written as a binary SEG that DICOM's own
// validator (dicom3tools' dciodvfy) accepts, read back voxel for voxel with its segments' codes, and refused inputs
// that leave nothing behind.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "gmd/common/error.hpp"
#include "gmd/common/palette.hpp"
#include "gmd/common/regions.hpp"
#include "gmd/io/dicom.hpp"
#include "gmd/io/dicom_seg.hpp"
#include "io_test_util.hpp"

using namespace gmd;
using gmd::io::test::TempDir;
namespace fs = std::filesystem;

namespace {
const std::string kStudy = "1.2.826.0.1.3680043.9.7.30";
const std::string kSeries = kStudy + ".1";

// 21x23 pixels (a frame of 483 bits: frames are not byte-aligned in the packed pixel data), 12 slices, rotated
// 20 degrees about z and tilted 15 degrees about x (a proper rotation: the slice normal is row x column, as DICOM's).
Geometry seg_geometry() {
  Geometry g;
  g.size = {21, 23, 12};
  g.spacing = {0.9, 0.9, 2.5};
  g.origin = {-80.5, 40.25, -30.0};
  const double pi = 3.14159265358979323846, a = 20.0 * pi / 180.0, b = 15.0 * pi / 180.0;
  const double ca = std::cos(a), sa = std::sin(a), cb = std::cos(b), sb = std::sin(b);
  // Rx(b) * Rz(a), row-major; columns are the axis directions.
  g.direction = {ca, -sa, 0, cb * sa, cb * ca, -sb, sb * sa, sb * ca, cb};
  return g;
}

io::DicomSegOptions options() {
  io::DicomSegOptions o;
  o.colours = Palette::builtin().label;
  for (std::size_t i = 0; i < 3; ++i) {
    o.names[i] = kLabelNames[i];
    o.descriptions[i] = kLabelLongNames[i];
  }
  o.algorithm_version = "test";
  return o;
}

struct Source {
  std::vector<fs::path> files;
  LabelMap labels;
};

// An MR series written and listed as the studio would read it, and labels on the grid it reads as.
Source make_source(const TempDir& tmp) {
  const Geometry g = seg_geometry();
  io::write_dicom_series(io::test::ellipsoid_image(g, 1, 300.f, 7), tmp / "mr", "AX T1 POST", kSeries, kStudy);
  const auto series = io::list_dicom_series(tmp / "mr");
  EXPECT_EQ(series.size(), 1u);
  Source s;
  const Image img = io::read_dicom_series(series.at(0));
  EXPECT_EQ(img.geom.difference(g, 1e-3), "");
  for (const auto& f : series.at(0).files) s.files.emplace_back(f);
  s.labels = io::test::blob_labels(img.geom, 9.0, 11.0, 6.0, 4.5);
  // Corners of the volume and a lone voxel of each label elsewhere (bit packing at frame boundaries).
  s.labels.at(0, 0, 0) = 1;
  s.labels.at(20, 22, 11) = 2;
  s.labels.at(20, 0, 3) = 4;
  s.labels.at(0, 22, 9) = 1;
  return s;
}

std::string run(const std::string& cmd) {
  std::string text;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return "cannot run " + cmd;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  pclose(p);
  return text;
}

// Nothing left in `dir` (missing, or empty).
bool nothing_in(const fs::path& dir) {
  std::error_code ec;
  return !fs::exists(dir, ec) || fs::is_empty(dir, ec);
}

std::size_t count(const LabelMap& l, std::uint8_t v) {
  std::size_t n = 0;
  for (auto x : l.voxels) n += x == v;
  return n;
}
}  // namespace

TEST(DicomSeg, WritesAValidSegThatReadsBackVoxelForVoxel) {
  TempDir tmp;
  const Source src = make_source(tmp);
  for (std::uint8_t v : {1, 2, 4}) ASSERT_GT(count(src.labels, v), 3u) << int(v);
  const fs::path out = tmp / "seg" / "tumour.seg.dcm";
  io::write_dicom_seg(src.labels, src.files, out, options());
  ASSERT_TRUE(fs::is_regular_file(out));
  EXPECT_EQ(std::distance(fs::directory_iterator(out.parent_path()), fs::directory_iterator()), 1);

  // DICOM's validator (packaging/install-deps.sh installs dicom3tools): warnings allowed, no errors.
  ASSERT_TRUE(fs::exists("/usr/bin/dciodvfy")) << "dciodvfy missing: run packaging/install-deps.sh";
  {
    const std::string report = run("/usr/bin/dciodvfy '" + out.string() + "'");
    bool error = false;
    std::size_t at = 0;
    while (at < report.size()) {
      const std::size_t end = std::min(report.find('\n', at), report.size());
      if (report.compare(at, 5, "Error") == 0) error = true;
      at = end + 1;
    }
    EXPECT_FALSE(error) << report;
    EXPECT_NE(report.find("Segmentation"), std::string::npos) << report;  // it did recognise the IOD
  }

  const io::DicomSegInfo info = io::read_dicom_seg(out, src.labels.geom);
  ASSERT_EQ(info.segments.size(), 3u);
  const char* types[3][3] = {{"6574001", "SCT", "Necrosis"}, {"79654002", "SCT", "Edema"},
                             {"C113842", "NCIt", "Enhancing Lesion"}};
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& s = info.segments[i];
    EXPECT_EQ(s.number, int(i + 1));
    EXPECT_EQ(s.label, kLabelNames[i]);
    EXPECT_EQ(s.description, kLabelLongNames[i]);
    EXPECT_EQ(s.algorithm_type, "AUTOMATIC");
    EXPECT_EQ(s.category_code, "49755003");
    EXPECT_EQ(s.category_scheme, "SCT");
    EXPECT_EQ(s.category_meaning, "Morphologically Altered Structure");
    EXPECT_EQ(s.type_code, types[i][0]);
    EXPECT_EQ(s.type_scheme, types[i][1]);
    EXPECT_EQ(s.type_meaning, types[i][2]);
    EXPECT_NE(s.type_scheme, "SRT");
    EXPECT_EQ(s.label_value, kLabelValues[i]);
    EXPECT_EQ(s.frames, src.labels.geom.size[2]);  // every slice, empty or not
    EXPECT_EQ(s.voxels, count(src.labels, static_cast<std::uint8_t>(kLabelValues[i])));
  }
  EXPECT_EQ(info.referenced_series_uid, kSeries);
  EXPECT_EQ(info.study_uid, kStudy);
  EXPECT_EQ(info.patient_id, "GMD0001");
  EXPECT_EQ(info.series_description, "GMD Studio segmentation");
  EXPECT_FALSE(info.frame_of_reference_uid.empty());
  EXPECT_NE(info.series_uid, kSeries);
  EXPECT_EQ(info.labels.geom.difference(src.labels.geom), "");
  ASSERT_EQ(info.labels.voxels.size(), src.labels.voxels.size());
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < src.labels.voxels.size(); ++i) wrong += info.labels.voxels[i] != src.labels.voxels[i];
  EXPECT_EQ(wrong, 0u);

  // On another grid the frames are refused, not misplaced.
  Geometry shifted = src.labels.geom;
  shifted.origin[0] += 0.5;
  try {
    io::read_dicom_seg(out, shifted);
    ADD_FAILURE() << "read onto a shifted grid";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("not on a slice of the grid"), std::string::npos) << e.what();
  }
  // Not a SEG: the MR slice is named.
  try {
    io::read_dicom_seg(src.files[0], src.labels.geom);
    ADD_FAILURE() << "read an MR slice as a SEG";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(src.files[0].string()), std::string::npos) << e.what();
  }
}

TEST(DicomSeg, BadSourcesAreNamedAndLeaveNothingBehind) {
  TempDir tmp;
  const Source src = make_source(tmp);
  const fs::path dir = tmp / "out";
  const fs::path out = dir / "tumour.seg.dcm";
  auto expect_refused = [&](const std::vector<fs::path>& files, const LabelMap& labels, const std::string& says) {
    try {
      io::write_dicom_seg(labels, files, out, options());
      ADD_FAILURE() << "accepted; expected: " << says;
    } catch (const InputError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(says), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
    EXPECT_FALSE(fs::exists(out));
    EXPECT_FALSE(fs::exists(out.string() + ".tmp"));
    EXPECT_TRUE(nothing_in(dir));
  };

  // One slice short.
  std::vector<fs::path> fewer(src.files.begin(), src.files.end() - 1);
  expect_refused(fewer, src.labels, "11 source DICOM files for a label map of 12 slices");

  // A file that is not DICOM at all, and one that is missing.
  std::vector<fs::path> bad = src.files;
  bad[4] = tmp / "notes.dcm";
  io::test::write_bytes(bad[4], "not a DICOM file, just some text\n");
  expect_refused(bad, src.labels, (tmp / "notes.dcm").string());
  bad[4] = tmp / "missing.dcm";
  expect_refused(bad, src.labels, (tmp / "missing.dcm").string());

  // Slices out of order, and labels on another grid.
  std::vector<fs::path> swapped = src.files;
  std::swap(swapped[2], swapped[3]);
  expect_refused(swapped, src.labels, swapped[2].string() + ": not on the label map's grid");
  LabelMap moved = src.labels;
  moved.geom.spacing[0] = 1.0;
  expect_refused(src.files, moved, "pixel spacing");
  moved = src.labels;
  moved.geom.origin[2] += 0.05;
  expect_refused(src.files, moved, "lies 0.05 mm from");
  // Not a BraTS label.
  LabelMap odd = src.labels;
  odd.at(5, 5, 5) = 7;
  expect_refused(src.files, odd, "label 7 at voxel");

  // An existing output stays untouched on failure.
  fs::create_directories(dir);
  io::test::write_bytes(out, "previous");
  EXPECT_THROW(io::write_dicom_seg(src.labels, fewer, out, options()), InputError);
  EXPECT_EQ(io::test::read_bytes(out), "previous");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}
