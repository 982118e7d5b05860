#pragma once
// DICOM in (issue 15): a folder (searched recursively) holding any number of series, one per MR sequence as a
// scanner exports them. The series are listed from their headers (ITK's GDCM IO; no pixel data read), a modality is
// proposed for each from its description, protocol and contrast tags, the user may override it, and the chosen
// series are read into one case: those not on the reference grid (T1ce if present, else FLAIR, T1, T2) are
// resampled onto it in scanner coordinates. (Rigid co-registration for patients who moved between sequences is not
// done yet: a case whose sequences do not overlap in scanner space is refused.)
#include <array>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "gmd/common/image.hpp"
#include "gmd/io/case.hpp"
#include "gmd/io/align.hpp"

namespace gmd::io {

struct DicomSeries {
  std::string uid;          // SeriesInstanceUID (0020,000E)
  std::string description;  // SeriesDescription (0008,103E)
  std::string protocol;     // ProtocolName (0018,1030)
  std::string modality;     // Modality (0008,0060), e.g. MR
  std::string image_type;   // ImageType (0008,0008), e.g. ORIGINAL\PRIMARY\M\ND
  std::string contrast;     // ContrastBolusAgent (0018,0010)
  std::string patient;      // PatientID (0010,0020)
  std::vector<std::string> files;  // in slice order
  std::array<std::size_t, 3> size{};  // columns, rows, slices
  std::array<double, 2> pixel_spacing{};  // mm (in-plane)
  std::string orientation;  // axial | coronal | sagittal | oblique (from ImageOrientationPatient)
  int proposed = -1;        // modality index (gmd/common/modality.hpp), -1 = none
  bool usable = true;       // false: not MR, a localizer, derived, or too few slices
  std::string why;          // what the proposal rests on, or why the series is skipped
};

// The modality a series' text tags suggest (-1 if none), with the words it rests on in *why. Case-insensitive; knows
// the usual vendor spellings: FLAIR / TIRM / dark fluid; T2 (TSE, FSE, not FLAIR); T1 with post-contrast markers
// (post, +C, C+, Gd, gad, contrast, CE, or a contrast agent tag) -> T1ce; T1, MPRAGE, SPGR, BRAVO, TFL, TFE -> T1.
int propose_modality(const std::string& description, const std::string& protocol, const std::string& contrast,
                     std::string* why = nullptr);

// True when `dir` is a folder holding no NIfTI image but at least one DICOM file (searched recursively), or a
// DICOMDIR file (its folder is read: the files it lists lie under it).
bool is_dicom_folder(const std::filesystem::path& dir);
// Every series under `dir` (or under a DICOMDIR's folder), with its proposal; sorted by description. InputError when
// there is none.
std::vector<DicomSeries> list_dicom_series(const std::filesystem::path& dir);

// The series chosen for each modality: overrides (series UID -> modality index, or -1 to skip) first, then the usable
// proposals; two candidates for one modality -> the one with more slices, and a note says so. Notes explain every
// choice in one line each (for the CLI's output and the report).
std::array<const DicomSeries*, kNumModalities> assign_series(const std::vector<DicomSeries>& series,
                                                             const std::map<std::string, int>& overrides,
                                                             std::vector<std::string>* notes = nullptr);
// "UID=t1ce,UID2=skip" -> {UID: 2, UID2: -1}; UsageError on a malformed item or an unknown modality name.
std::map<std::string, int> parse_assignments(const std::string& text);

// One series as a float image in patient (LPS) coordinates. InputError naming the series when unreadable.
Image read_dicom_series(const DicomSeries& s);

// How the series not acquired on the reference grid come onto it (align.hpp).
using DicomAlignment = AlignOptions;

// A case from a DICOM folder: the assigned series of `only`'s modalities, on the reference modality's grid (T1ce,
// else FLAIR, T1, T2; the others registered and resampled as `align` says; a note for each, with the transform;
// Case::registration holds them). InputError naming the series when no modality is assigned, the chosen series
// belong to different patients, a series has missing or duplicated slices, a series does not overlap the reference
// in scanner coordinates, or registration moved a series implausibly far.
Case load_dicom_case(const std::filesystem::path& dir, const std::map<std::string, int>& overrides,
                     SubsetMask only = kFullMask, std::vector<std::string>* notes = nullptr,
                     const DicomAlignment& align = {});
// The same from series already listed (list_dicom_series(dir)): the headers are not read twice.
Case load_dicom_case(const std::filesystem::path& dir, const std::vector<DicomSeries>& series,
                     const std::map<std::string, int>& overrides, SubsetMask only = kFullMask,
                     std::vector<std::string>* notes = nullptr, const DicomAlignment& align = {});

// Writes ROOT/DICOMDIR listing every DICOM file under ROOT (as on a scanner's CD); the files' paths must be DICOM
// file IDs (components of up to 8 upper-case letters, digits or _). Returns its path; InputError naming the file that
// cannot be listed. For tests and demo data.
std::filesystem::path write_dicomdir(const std::filesystem::path& root);

// Writes `img` as an MR DICOM series (one file per slice, int16, IM0001, IM0002, ...: DICOM file IDs) with the given descriptive tags; for
// tests and demo data. Returns the files written.
std::vector<std::filesystem::path> write_dicom_series(const Image& img, const std::filesystem::path& dir,
                                                      const std::string& description, const std::string& series_uid,
                                                      const std::string& study_uid, const std::string& contrast = "",
                                                      const std::string& image_type = "ORIGINAL\\PRIMARY\\M\\ND",
                                                      const std::string& patient_id = "GMD0001");

}  // namespace gmd::io
