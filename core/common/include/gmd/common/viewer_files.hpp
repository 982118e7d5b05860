#pragma once
// Files that make a label map open with our names and colours in the viewers clinicians and researchers use:
//   ITK-SNAP:  itksnap -g t1ce.nii.gz -s seg.nii.gz -l seg_itksnap_labels.txt   (a Label Description File)
//   3D Slicer: load seg_slicer_colors.ctbl (a colour table), then the label map with that colour table
// Names and colours are the studio's (resources/colors/brats.json); ET is written with the value the label map
// uses (4, BraTS 2018-21; or 3, BraTS 2023).
#include <filesystem>
#include <string>

#include "gmd/common/image.hpp"
#include "gmd/common/palette.hpp"

namespace gmd {

// 4 or 3; anything else throws gmd::UsageError ("--et-label must be 4 (BraTS 2018-2021) or 3 (BraTS 2023)").
int check_et_label(int et_label);

// Rewrites ET voxels (4 or 3) of a BraTS label map with et_label (checked as above).
void set_et_label(LabelMap& labels, int et_label);

// The contents of the two files: background 0 (hidden), NCR/NET 1, ED 2, ET et_label.
std::string itksnap_label_description(const Palette& palette, int et_label = 4);
std::string slicer_color_table(const Palette& palette, int et_label = 4);

struct ViewerFiles {
  std::filesystem::path itksnap;  // <base>_itksnap_labels.txt
  std::filesystem::path slicer;   // <base>_slicer_colors.ctbl
};
// The names next to a label map: <base> is the label map's path without .nii / .nii.gz.
ViewerFiles viewer_file_paths(const std::filesystem::path& label_map);
// Writes both (atomically) and returns their paths; gmd::InputError naming the file when one cannot be written.
ViewerFiles write_viewer_files(const std::filesystem::path& label_map, const Palette& palette, int et_label = 4);

}  // namespace gmd
