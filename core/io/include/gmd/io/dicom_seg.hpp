#pragma once
// DICOM out: a BraTS label map as a DICOM Segmentation (SEG, binary, 1 bit) referencing the MR series it was made
// from, and the way back (DCMTK's dcmseg; no ITK here). One segment per tumour label (NCR/NET, ED, ET; always all
// three, in that order), one frame per segment per source slice (empty frames included, so every segment has frames
// and the frame layout does not depend on the content). Codes are SNOMED CT ("SCT", never the retired "SRT") where
// DICOM's brain lesion context groups use SNOMED CT; see dicom_seg.cpp for the list and its sources.
#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "gmd/common/image.hpp"
#include "gmd/common/palette.hpp"

namespace gmd::io {

struct DicomSegOptions {
  std::string series_description = "GMD Studio segmentation";
  std::string algorithm_name = "GMD Studio";  // Segment Algorithm Name, Manufacturer's Model Name
  std::string algorithm_version;              // Software Versions ("unknown" when empty)
  std::array<Rgb, 3> colours{};               // labels 1, 2, 4 (callers pass Palette::builtin().label)
  std::array<std::string, 3> names{"NCR/NET", "ED", "ET"};  // segment labels (callers pass kLabelNames)
  std::array<std::string, 3> descriptions{"necrotic / non-enhancing tumour core", "peritumoral edema",
                                          "enhancing tumour"};  // segment descriptions (kLabelLongNames)
  int series_number = 900;
};

// Writes `labels` (on the grid of the source series: slice k <-> source_files[k], as read_dicom_series orders them)
// as a binary DICOM SEG to `out`, atomically (gmd::write_atomically: a temporary sibling renamed into place only
// after a complete write; nothing is left behind on failure). Patient, study and frame of reference are copied from
// the source series; each frame names its source slice (Derivation Image / Source Image Sequence), and the source
// series is listed in the Common Instance Reference module.
// InputError (one line naming the file and the problem) when a source file is unreadable or not an image of one
// series, when their count differs from labels.geom.size[2], or when their geometry (rows/columns, pixel spacing,
// orientation, slice positions) differs from labels.geom by more than 0.01 mm; also when writing fails.
void write_dicom_seg(const LabelMap& labels, const std::vector<std::filesystem::path>& source_files,
                     const std::filesystem::path& out, const DicomSegOptions& opt);

struct DicomSegInfo {
  struct Segment {
    int number = 0;  // Segment Number (1-based)
    std::string label, description, algorithm_type;  // algorithm_type: AUTOMATIC | SEMIAUTOMATIC | MANUAL
    std::string category_code, category_scheme, category_meaning;
    std::string type_code, type_scheme, type_meaning;
    int label_value = 0;  // the BraTS label it maps to (1, 2, 4), 0 if none (from its type code, else its label)
    std::size_t frames = 0, voxels = 0;  // frames of this segment; voxels set in them
  };
  std::vector<Segment> segments;
  LabelMap labels;                    // on the `geom` given to read_dicom_seg
  std::string referenced_series_uid;  // first Referenced Series item (Common Instance Reference); "" if none
  std::string series_uid, sop_instance_uid, frame_of_reference_uid, study_uid, patient_id, series_description;
};

// Reads a DICOM SEG (binary or fractional; fractional frames count as set where nonzero) written by anyone, back
// into a label map on `geom`: each frame is placed by its Image Position (Patient), which must lie on a slice of
// `geom` within 0.01 mm, in an orientation and pixel spacing equal to geom's. Segments map to BraTS labels by their
// property type code (Necrosis, Edema, Enhancing Lesion; SCT, legacy SRT or NCIt), else by a label spelled like
// ours; where segments overlap ET wins over NCR/NET over ED. InputError naming the file on any failure.
DicomSegInfo read_dicom_seg(const std::filesystem::path& file, const Geometry& geom);

}  // namespace gmd::io
