#pragma once
// Which modality slot a NIfTI file fills, from its name; sorting a dropped or opened set of files into slots.
#include <QString>
#include <QStringList>
#include <array>

#include "gmd/common/modality.hpp"

namespace gmd::gui {

// The file name without .nii / .nii.gz (any case); empty when it is not a NIfTI name.
QString nifti_stem(const QString& name);

// Classifies a file name: 0..3 modality (FLAIR, T1, T1ce, T2), 4 segmentation, -1 unknown or not
// NIfTI. "<anything>_<suffix>.nii[.gz]" with suffix flair/t1/t1ce/t2/seg (case-insensitive; BraTS
// 2023 t2f/t1n/t1c/t2w and t1gd accepted).
int classify_file_name(const QString& file_name);
inline constexpr int kSegSlot = kNumModalities;

// Sorting of a dropped/opened set of files into slots.
struct FileSorting {
  std::array<QString, kNumModalities> modality;  // empty = none
  QString seg;
  QStringList unknown;   // NIfTI files whose name does not say the modality (user must assign)
  QStringList ignored;   // not NIfTI
  QStringList conflicts; // "a.nii.gz and b.nii.gz both look like T1"
};
FileSorting sort_files(const QStringList& paths);

}  // namespace gmd::gui
