#pragma once
// The report of a segmentation (volumes in mL, modalities used, model) and exports: label map
// NIfTI (BraTS labels, input geometry, io::write_labels), report CSV / JSON. UI-independent.
#include <QString>
#include <array>
#include <nlohmann/json.hpp>
#include <string>

#include "gmd/common/modality.hpp"
#include "gmd/io/image.hpp"

namespace gmd::gui {

struct Report {
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

  nlohmann::json to_json() const;
  // Two columns "quantity,value" (one row per item), RFC 4180 quoting.
  std::string to_csv() const;
};

// Atomic writes; throw gmd::InputError naming the file on failure.
void write_report_json(const QString& path, const Report& r);
void write_report_csv(const QString& path, const Report& r);
void write_label_map(const QString& path, const io::LabelMap& labels);  // .nii / .nii.gz

}  // namespace gmd::gui
