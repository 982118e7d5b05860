#pragma once
// BraTS case discovery and loading.
#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "gmd/common/modality.hpp"
#include "gmd/common/image.hpp"
#include "gmd/io/align.hpp"

namespace gmd::io {

struct CaseFiles {
  std::string id;  // case name (folder name, or common file prefix)
  std::array<std::optional<std::filesystem::path>, kNumModalities> modality;
  std::optional<std::filesystem::path> seg;
  // Read from DICOM (dicom.hpp): modality[m] is the series' first file, series[m] says which series it is
  // ("AX T1 SE +C, 78 slices"); empty for NIfTI files.
  std::array<std::string, kNumModalities> series;
  std::array<std::vector<std::filesystem::path>, kNumModalities> series_files;  // DICOM: the files, in slice order
  SubsetMask present() const;
};

// Finds *_flair, *_t1, *_t1ce, *_t2 (+ *_seg) with .nii or .nii.gz, case-insensitive, in `dir`
// (not recursive). "_t1" never matches a "_t1ce" file. Throws InputError if the folder does not
// exist, holds no modality, or holds two files for one modality.
CaseFiles discover_case(const std::filesystem::path& dir);
// Explicit per-modality paths (any may be empty). Throws InputError if none is given or a file is missing.
CaseFiles case_from_paths(const std::array<std::optional<std::filesystem::path>, kNumModalities>& paths,
                          const std::optional<std::filesystem::path>& seg = std::nullopt,
                          std::string id = "case");

struct Case {
  std::string id;
  Geometry geom;                                             // shared by all present images
  std::array<std::optional<Image>, kNumModalities> images;   // absent modality = nullopt
  std::optional<LabelMap> seg;
  CaseFiles files;
  // The rigid registration that brought an image onto the case grid (DICOM series of a moving patient); nullopt for
  // images read on the grid or resampled in scanner coordinates.
  std::array<std::optional<Registration>, kNumModalities> registration;
  SubsetMask present() const;
};

// Loads and validates: every image readable, 3D, finite, not all zero; all present images and the
// seg share one geometry (error names both files and what differs by how much); seg labels valid.
// `only` restricts which modalities are loaded (others are ignored even if present).
// With `align`, images on different grids are brought onto the reference's (T1ce, else FLAIR, T1, T2; align.hpp)
// instead of refused, one note each; the seg must then be on the reference's grid.
Case load_case(const CaseFiles& files, SubsetMask only = kFullMask, bool load_seg = true,
               const AlignOptions* align = nullptr, std::vector<std::string>* notes = nullptr);

// Lists case folders in a dataset directory (BraTS layout: DIR/<case>/<case>_*.nii.gz), sorted by name.
std::vector<std::filesystem::path> list_cases(const std::filesystem::path& dataset_dir);

}  // namespace gmd::io
