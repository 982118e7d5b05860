#pragma once
// The report of one segmentation (torch-free, UI-independent): case, modalities present and used, model, volumes in
// mL, the expected accuracy for the modalities used and, when computed, the subsets' agreement. Written by
// `gmd segment --report` and by the studio's report export (JSON and a two-column CSV).
#include <array>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "gmd/common/modality.hpp"
#include "gmd/io/case.hpp"
#include "gmd/pipeline/trust.hpp"

namespace gmd::pipeline {

struct SegmentationReport {
  std::string case_id;
  std::string case_folder;
  std::string source = "segmentation";  // "segmentation" or "reference" (the case's _seg file)
  SubsetMask present = 0;                // modalities in the case
  SubsetMask used = 0;                   // modalities the segmentation used (0 for reference)
  std::string model_name;                // e.g. "default (ds-gmd, FLAIR+T1+T1ce+T2)"
  std::string model_path;
  std::string device;
  double seconds = 0.0;
  std::array<double, 3> region_ml{};  // WT, TC, ET
  std::array<double, 3> label_ml{};   // NCR/NET (1), ED (2), ET (4)
  std::array<std::size_t, 3> size{};
  std::array<double, 3> spacing{};
  std::string created;  // ISO 8601 local time
  std::optional<Trust> trust;                // expected accuracy for `used` (segmentations only)
  nlohmann::json agreement;                  // agreement_json(...), null when not computed
  std::vector<std::string> agreement_files;  // exported fraction maps
  int et_label = 4;                          // the label map's ET value: 4 (BraTS 2018-21) or 3 (BraTS 2023)
  std::vector<std::string> viewer_files;     // ITK-SNAP label description, 3D Slicer colour table (when written)
  std::vector<std::string> input_notes;      // how the input was read (DICOM: the series chosen, what was resampled)
  nlohmann::json registration;               // registration_json(case): the transforms, when any series was registered

  nlohmann::json to_json() const;
  // Two columns "quantity,value" (one row per item), RFC 4180 quoting.
  std::string to_csv() const;
};

// The rigid registrations that brought a case's images onto its grid: {"T2": {"reference": "T1ce", "rotation":
// [9 numbers, row-major], "centre_mm": [..], "translation_mm": [..], "angle_deg": .., "mattes_mi": .., "iterations":
// .., "maps": "reference point (LPS mm) -> point in the series"}}; null when none was registered.
nlohmann::json registration_json(const io::Case& c);

}  // namespace gmd::pipeline
