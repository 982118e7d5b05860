// Viewer files (ITK-SNAP label description, 3D Slicer colour table) and the compiled-in palette they take colours from.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/common/palette.hpp"
#include "gmd/common/viewer_files.hpp"

namespace fs = std::filesystem;

namespace {
// The data lines (not comments) of a text file, split into fields.
std::vector<std::vector<std::string>> rows(const std::string& text) {
  std::vector<std::vector<std::string>> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    std::vector<std::string> r;
    std::string x;
    while (f >> x) r.push_back(x);
    out.push_back(r);
  }
  return out;
}
}  // namespace

TEST(Palette, BuiltinIsResourcesColorsBratsJson) {
  // The file the studio draws with; the values below are the file's (a change there must show up here).
  const gmd::Palette& p = gmd::Palette::builtin();
  EXPECT_EQ(p.label[0], (gmd::Rgb{235, 45, 45}));
  EXPECT_EQ(p.label[1], (gmd::Rgb{40, 205, 75}));
  EXPECT_EQ(p.label[2], (gmd::Rgb{255, 225, 0}));
  EXPECT_THROW(gmd::Palette::from_json("{\"labels\": []}", "x.json"), gmd::InputError);
}

TEST(ViewerFiles, ItksnapLabelDescriptionHasOurNamesAndColours) {
  const std::string text = gmd::itksnap_label_description(gmd::Palette::builtin(), 4);
  EXPECT_NE(text.find("# ITK-SnAP Label Description File"), std::string::npos);
  const auto r = rows(text);
  ASSERT_EQ(r.size(), 4u);
  // IDX R G B A VIS MSH "LABEL": background hidden, then 1, 2, 4 with the palette's colours.
  EXPECT_EQ(r[0], (std::vector<std::string>{"0", "0", "0", "0", "0", "0", "0", "\"Clear", "Label\""}));
  EXPECT_EQ(r[1], (std::vector<std::string>{"1", "235", "45", "45", "1", "1", "1", "\"NCR/NET\""}));
  EXPECT_EQ(r[2], (std::vector<std::string>{"2", "40", "205", "75", "1", "1", "1", "\"ED\""}));
  EXPECT_EQ(r[3], (std::vector<std::string>{"4", "255", "225", "0", "1", "1", "1", "\"ET\""}));
  // BraTS 2023: ET is 3.
  EXPECT_EQ(rows(gmd::itksnap_label_description(gmd::Palette::builtin(), 3))[3][0], "3");
  EXPECT_THROW(gmd::itksnap_label_description(gmd::Palette::builtin(), 5), gmd::UsageError);
}

TEST(ViewerFiles, SlicerColourTableHasOneWordNames) {
  const std::string text = gmd::slicer_color_table(gmd::Palette::builtin(), 3);
  EXPECT_EQ(text.rfind("# Color table file", 0), 0u);
  EXPECT_NE(text.find("# 4 values"), std::string::npos);
  const auto r = rows(text);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0], (std::vector<std::string>{"0", "Background", "0", "0", "0", "0"}));
  EXPECT_EQ(r[1], (std::vector<std::string>{"1", "NCR_NET", "235", "45", "45", "255"}));
  EXPECT_EQ(r[3], (std::vector<std::string>{"3", "ET", "255", "225", "0", "255"}));
}

TEST(ViewerFiles, WrittenNextToTheLabelMap) {
  EXPECT_EQ(gmd::viewer_file_paths("/d/case_pred.nii.gz").itksnap, "/d/case_pred_itksnap_labels.txt");
  EXPECT_EQ(gmd::viewer_file_paths("/d/case_pred.nii").slicer, "/d/case_pred_slicer_colors.ctbl");
  EXPECT_EQ(gmd::viewer_file_paths("seg").itksnap, "seg_itksnap_labels.txt");
  const fs::path dir = fs::temp_directory_path() / ("gmd_viewer_files_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto f = gmd::write_viewer_files(dir / "seg.nii.gz", gmd::Palette::builtin(), 4);
  EXPECT_EQ(gmd::read_text(f.itksnap), gmd::itksnap_label_description(gmd::Palette::builtin(), 4));
  EXPECT_EQ(gmd::read_text(f.slicer), gmd::slicer_color_table(gmd::Palette::builtin(), 4));
  // An unwritable place (a folder that is a file) is an InputError naming the file.
  gmd::write_text_atomically(dir / "plain", "x");
  try {
    gmd::write_viewer_files(dir / "plain" / "seg.nii.gz", gmd::Palette::builtin(), 4);
    ADD_FAILURE() << "no InputError";
  } catch (const gmd::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("seg_itksnap_labels.txt"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(ViewerFiles, SetEtLabelRewritesOnlyEt) {
  gmd::LabelMap m;
  m.geom.size = {6, 1, 1};
  m.voxels = {0, 1, 2, 4, 3, 4};
  gmd::set_et_label(m, 3);
  EXPECT_EQ(m.voxels, (std::vector<std::uint8_t>{0, 1, 2, 3, 3, 3}));
  gmd::set_et_label(m, 4);
  EXPECT_EQ(m.voxels, (std::vector<std::uint8_t>{0, 1, 2, 4, 4, 4}));
  EXPECT_THROW(gmd::set_et_label(m, 1), gmd::UsageError);
  EXPECT_EQ(m.voxels[3], 4);  // refused before any change
}
