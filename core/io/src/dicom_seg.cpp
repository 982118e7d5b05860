// DICOM SEG out and back (DCMTK dcmseg/dcmfg/dcmiod). No ITK here: the source series' headers are read with dcmdata.
//
// Codes (DICOM PS3.16; SNOMED CT as "SCT", never the retired SNOMED-RT "SRT"):
//   category, all three   49755003 SCT "Morphologically Altered Structure"           (CID 7150)
//   NCR/NET (label 1)     6574001  SCT "Necrosis"                                     (CID 7168, 7159)
//   ED      (label 2)     79654002 SCT "Edema"                                        (CID 7169, 7159)
//   ET      (label 4)     C113842  NCIt "Enhancing Lesion"                            (CID 7169)
//   anatomic region       12738006 SCT "Brain"
// ET: DICOM's context groups for brain tumour segmentation (CID 7168 "Brain Lesion Segmentation Type With
// Necrosis", which includes CID 7169 "... Without Necrosis"; made for BraTS-style labels) code the enhancing part
// with NCIt C113842 "Enhancing Lesion" (and the non-enhancing part with NCIt C81175); SNOMED CT has no
// "enhancing tumour" concept, and "Neoplasm" (108369006 SCT) would equally describe the whole tumour, so the
// standard's NCIt code is used. Every other code is SNOMED CT.
#include "gmd/io/dicom_seg.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "dcmtk/config/osconfig.h"  // first, before any other DCMTK header
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmdata/dcuid.h"
#include "dcmtk/dcmfg/fgderimg.h"
#include "dcmtk/dcmfg/fgfracon.h"
#include "dcmtk/dcmfg/fgpixmsr.h"
#include "dcmtk/dcmfg/fgplanor.h"
#include "dcmtk/dcmfg/fgplanpo.h"
#include "dcmtk/dcmfg/fgseg.h"
#include "dcmtk/dcmiod/cielabutil.h"
#include "dcmtk/dcmiod/iodmacro.h"
#include "dcmtk/dcmiod/iodreferences.h"
#include "dcmtk/dcmseg/segdoc.h"
#include "dcmtk/dcmseg/segment.h"
#include "dcmtk/dcmseg/segutils.h"
#include "dcmtk_log.hpp"
#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/common/regions.hpp"

namespace gmd::io {
namespace fs = std::filesystem;

namespace {

constexpr double kTolMm = 0.01;

struct Code {
  const char* value;
  const char* scheme;
  const char* meaning;
};
const Code kCategory{"49755003", "SCT", "Morphologically Altered Structure"};
const std::array<Code, 3> kTypes{Code{"6574001", "SCT", "Necrosis"}, Code{"79654002", "SCT", "Edema"},
                                 Code{"C113842", "NCIt", "Enhancing Lesion"}};
const Code kBrain{"12738006", "SCT", "Brain"};

using detail::quiet_dcmtk;

std::string str(const OFString& s) { return std::string(s.c_str()); }

// A DS value (at most 16 characters).
std::string ds(double v) {
  if (std::fabs(v) < 5e-10) v = 0.0;
  char buf[32];
  for (int prec = 10; prec > 3; --prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::string(buf).size() <= 16) break;
  }
  return buf;
}

using Vec3 = std::array<double, 3>;
Vec3 axis(const Geometry& g, int j) { return {g.direction[0 * 3 + j], g.direction[1 * 3 + j], g.direction[2 * 3 + j]}; }
Vec3 add_scaled(Vec3 a, const Vec3& d, double s) {
  for (int i = 0; i < 3; ++i) a[i] += d[i] * s;
  return a;
}
double dist(const Vec3& a, const Vec3& b) {
  return std::sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2]));
}
// Position (LPS mm) of voxel (0, 0, k) of geom.
Vec3 slice_origin(const Geometry& g, double k) { return add_scaled(g.origin, axis(g, 2), k * g.spacing[2]); }
// Position of the last voxel of a slice starting at `first`, given its row/column directions and spacings.
Vec3 slice_far_corner(const Vec3& first, const Vec3& row_dir, const Vec3& col_dir, double col_spacing,
                      double row_spacing, std::size_t cols, std::size_t rows) {
  return add_scaled(add_scaled(first, row_dir, (double(cols) - 1) * col_spacing), col_dir,
                    (double(rows) - 1) * row_spacing);
}


CodeSequenceMacro code(const Code& c) { return CodeSequenceMacro(c.value, c.scheme, c.meaning); }
// A code's value, scheme and meaning, as read back.
void read_code(CodeSequenceMacro& c, std::string& value, std::string& scheme, std::string& meaning) {
  OFString v;
  c.getCodeValue(v);
  value = v.c_str();
  c.getCodingSchemeDesignator(v);
  scheme = v.c_str();
  c.getCodeMeaning(v);
  meaning = v.c_str();
}

// One source slice's header.
struct SourceSlice {
  std::unique_ptr<DcmFileFormat> file;
  std::string sop_class, sop_instance, series, study, frame_of_reference, patient_id;
  std::array<std::string, 3> ipp_text;
  std::array<std::string, 6> iop_text;
  Vec3 ipp{}, row_dir{}, col_dir{};
  double row_spacing = 0, col_spacing = 0;  // PixelSpacing[0] (between rows), [1] (between columns)
  std::string slice_thickness, pixel_spacing_text;
  std::size_t rows = 0, cols = 0;
};

SourceSlice read_source(const fs::path& p) {
  SourceSlice s;
  s.file = std::make_unique<DcmFileFormat>();
  const std::string name = p.string();
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) throw InputError(name + ": source DICOM file not found");
  // Up to (not including) the pixel data: the headers are all we need.
  OFCondition cond = s.file->loadFileUntilTag(name.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength,
                                               ERM_autoDetect, DCM_PixelData);
  if (cond.bad()) throw InputError(name + ": not a readable DICOM file (" + cond.text() + ")");
  DcmDataset& d = *s.file->getDataset();
  auto get = [&](const DcmTagKey& tag, long pos = 0) {
    OFString v;
    d.findAndGetOFString(tag, v, pos);
    return str(v);
  };
  s.sop_class = get(DCM_SOPClassUID);
  s.sop_instance = get(DCM_SOPInstanceUID);
  s.series = get(DCM_SeriesInstanceUID);
  s.study = get(DCM_StudyInstanceUID);
  s.frame_of_reference = get(DCM_FrameOfReferenceUID);
  s.patient_id = get(DCM_PatientID);
  s.slice_thickness = get(DCM_SliceThickness);
  if (s.sop_class.empty() || s.sop_instance.empty() || s.series.empty() || s.study.empty())
    throw InputError(name + ": not a DICOM image (no SOP Class, SOP Instance, Series or Study Instance UID)");
  Uint16 rows = 0, cols = 0;
  if (d.findAndGetUint16(DCM_Rows, rows).bad() || d.findAndGetUint16(DCM_Columns, cols).bad())
    throw InputError(name + ": not a DICOM image (no Rows/Columns)");
  s.rows = rows;
  s.cols = cols;
  Float64 v = 0;
  for (int i = 0; i < 3; ++i) {
    if (d.findAndGetFloat64(DCM_ImagePositionPatient, v, i).bad())
      throw InputError(name + ": no Image Position (Patient); a DICOM SEG needs slices placed in patient space");
    s.ipp[i] = v;
    s.ipp_text[i] = get(DCM_ImagePositionPatient, i);
  }
  for (int i = 0; i < 6; ++i) {
    if (d.findAndGetFloat64(DCM_ImageOrientationPatient, v, i).bad())
      throw InputError(name + ": no Image Orientation (Patient); a DICOM SEG needs slices placed in patient space");
    (i < 3 ? s.row_dir[i] : s.col_dir[i - 3]) = v;
    s.iop_text[i] = get(DCM_ImageOrientationPatient, i);
  }
  if (d.findAndGetFloat64(DCM_PixelSpacing, s.row_spacing, 0).bad() ||
      d.findAndGetFloat64(DCM_PixelSpacing, s.col_spacing, 1).bad())
    throw InputError(name + ": no Pixel Spacing");
  s.pixel_spacing_text = get(DCM_PixelSpacing, 0) + "\\" + get(DCM_PixelSpacing, 1);
  return s;
}

// Why slice k (file `name`) is not on labels' grid, or "".
std::string grid_mismatch(const SourceSlice& s, const Geometry& g, std::size_t k) {
  char buf[256];
  if (s.cols != g.size[0] || s.rows != g.size[1]) {
    std::snprintf(buf, sizeof buf, "%zux%zu pixels (columns x rows), the label map has %zux%zu", s.cols, s.rows,
                  g.size[0], g.size[1]);
    return buf;
  }
  if (std::fabs(s.col_spacing - g.spacing[0]) > kTolMm || std::fabs(s.row_spacing - g.spacing[1]) > kTolMm) {
    std::snprintf(buf, sizeof buf, "pixel spacing %g x %g mm, the label map has %g x %g mm", s.col_spacing,
                  s.row_spacing, g.spacing[0], g.spacing[1]);
    return buf;
  }
  const Vec3 first = slice_origin(g, double(k));
  const double d0 = dist(s.ipp, first);
  if (d0 > kTolMm) {
    std::snprintf(buf, sizeof buf, "slice %zu lies %.3g mm from the label map's slice %zu", k + 1, d0, k + 1);
    return buf;
  }
  const Vec3 far_file = slice_far_corner(s.ipp, s.row_dir, s.col_dir, s.col_spacing, s.row_spacing, s.cols, s.rows);
  const Vec3 far_grid =
      slice_far_corner(first, axis(g, 0), axis(g, 1), g.spacing[0], g.spacing[1], g.size[0], g.size[1]);
  const double d1 = dist(far_file, far_grid);
  if (d1 > kTolMm) {
    std::snprintf(buf, sizeof buf, "orientation differs from the label map's (the slice's last pixel lies %.3g mm off)",
                  d1);
    return buf;
  }
  return "";
}

// A UID of the "2.25." (UUID) form made from `name`: SHA-256, its first 128 bits as a version-8 (name-based,
// RFC 9562) UUID, in decimal. The same name gives the same UID; "" without SHA-256 (no libcrypto).
std::string uid_from_name(const std::string& name) {
  const std::string hex = sha256_text(name);
  if (hex.size() < 32) return "";
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t i = 0; i < 16; ++i)
    bytes[i] = static_cast<std::uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0F) | 0x80);  // version 8
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3F) | 0x80);  // RFC 4122/9562 variant
  // Big-endian 128-bit number to decimal by repeated division by 10.
  std::string digits;
  bool nonzero = true;
  while (nonzero) {
    unsigned rem = 0;
    nonzero = false;
    for (auto& b : bytes) {
      const unsigned cur = rem * 256 + b;
      b = static_cast<std::uint8_t>(cur / 10);
      rem = cur % 10;
      nonzero = nonzero || b != 0;
    }
    digits.insert(digits.begin(), static_cast<char>('0' + rem));
  }
  return "2.25." + digits;
}

void check(const OFCondition& c, const fs::path& out, const std::string& what) {
  if (c.bad()) throw InputError(out.string() + ": cannot write the DICOM SEG: " + what + " (" + c.text() + ")");
}

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// The BraTS label a segment stands for: by its property type code, else by its label; 0 if neither is known.
int label_of(const DicomSegInfo::Segment& s) {
  const std::string v = s.type_code, sch = s.type_scheme;
  if ((v == "6574001" && sch == "SCT") || (v == "M-54000" && sch == "SRT")) return 1;
  if ((v == "79654002" && sch == "SCT") || (v == "M-36300" && sch == "SRT")) return 2;
  if (v == "C113842" && sch == "NCIt") return 4;
  const std::string l = lower(s.label);
  for (std::size_t i = 0; i < kLabelNames.size(); ++i)
    if (l == lower(kLabelNames[i]) || l == lower(kLabelLongNames[i])) return kLabelValues[i];
  if (l == "ncr" || l == "net" || l == "necrosis") return 1;
  if (l == "edema" || l == "oedema") return 2;
  if (l == "enhancing tumor" || l == "enhancing") return 4;
  return 0;
}

}  // namespace

void write_dicom_seg(const LabelMap& labels, const std::vector<fs::path>& source_files, const fs::path& out,
                     const DicomSegOptions& opt) {
  quiet_dcmtk();
  const Geometry& g = labels.geom;
  if (labels.voxels.size() != g.voxel_count())
    throw InputError(out.string() + ": cannot write the DICOM SEG: the label map has " +
                     std::to_string(labels.voxels.size()) + " voxels for a " + std::to_string(g.voxel_count()) +
                     "-voxel grid");
  if (source_files.size() != g.size[2])
    throw InputError(out.string() + ": cannot write the DICOM SEG: " + std::to_string(source_files.size()) +
                     " source DICOM files for a label map of " + std::to_string(g.size[2]) + " slices");
  if (g.size[0] == 0 || g.size[1] == 0 || g.size[2] == 0 || g.size[0] > 65535 || g.size[1] > 65535)
    throw InputError(out.string() + ": cannot write the DICOM SEG: unsupported slice size");

  for (std::size_t i = 0; i < labels.voxels.size(); ++i) {
    const int v = labels.voxels[i];
    if (v != 0 && v != 1 && v != 2 && v != 3 && v != 4)
      throw InputError(out.string() + ": cannot write the DICOM SEG: label " + std::to_string(v) + " at voxel " +
                       std::to_string(i) + " is not a BraTS label (0, 1, 2, 4; 3 is read as 4)");
  }

  // The source headers: one series, on the label map's grid.
  std::vector<SourceSlice> src;
  src.reserve(source_files.size());
  for (std::size_t k = 0; k < source_files.size(); ++k) {
    src.push_back(read_source(source_files[k]));
    const SourceSlice& s = src.back();
    const std::string name = source_files[k].string();
    if (k > 0 && (s.series != src[0].series || s.study != src[0].study))
      throw InputError(name + ": belongs to another series than " + source_files[0].string());
    if (k > 0 && s.frame_of_reference != src[0].frame_of_reference)
      throw InputError(name + ": another frame of reference than " + source_files[0].string());
    const std::string why = grid_mismatch(s, g, k);
    if (!why.empty()) throw InputError(name + ": not on the label map's grid: " + why);
  }
  const SourceSlice& s0 = src[0];

  // The document.
  DcmSegmentation* raw = nullptr;
  const std::string version = opt.algorithm_version.empty() ? "unknown" : opt.algorithm_version;
  IODGeneralEquipmentModule::EquipmentInfo equipment("GMD Studio", opt.algorithm_name.c_str(), "1", version.c_str());
  // Content Creator's Name (PN, type 2) names a person: empty, the creator is the algorithm named above.
  ContentIdentificationMacro ident("1", "SEGMENTATION", opt.series_description.c_str(), "");
  check(DcmSegmentation::createBinarySegmentation(raw, static_cast<Uint16>(g.size[1]), static_cast<Uint16>(g.size[0]),
                                                  equipment, ident),
        out, "cannot create the document");
  std::unique_ptr<DcmSegmentation> seg(raw);
  char uid[100];
  check(seg->importFromSourceImage(*s0.file->getDataset(), OFTrue), out, "cannot take over patient and study");
  // A SEG placed in patient space needs a frame of reference. Source slices without one (against the MR IOD, but
  // e.g. ITK/GDCM-written series) get one named after their series, so every SEG of that series shares it.
  if (s0.frame_of_reference.empty()) {
    std::string for_uid = uid_from_name("gmd-frame-of-reference:" + s0.series);
    if (for_uid.empty()) for_uid = dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT);
    check(seg->getFrameOfReference().setFrameOfReferenceUID(for_uid.c_str()), out, "frame of reference");
  }
  check(seg->getSeries().setSeriesInstanceUID(dcmGenerateUniqueIdentifier(uid, SITE_SERIES_UID_ROOT)), out,
        "series UID");
  check(seg->getSOPCommon().setSOPInstanceUID(dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT)), out,
        "instance UID");
  check(seg->getSeries().setSeriesDescription(opt.series_description.c_str()), out, "series description");
  check(seg->getSegmentationSeriesModule().setSeriesNumber(std::to_string(opt.series_number).c_str()), out,
        "series number");

  // Frames are indexed by segment, then by position along the slice normal.
  IODMultiframeDimensionModule& dims = seg->getDimensions();
  const std::string dim_uid = dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT);
  check(dims.addDimensionIndex(DCM_ReferencedSegmentNumber, dim_uid.c_str(), DCM_SegmentIdentificationSequence,
                               "ReferencedSegmentNumber"),
        out, "dimension index");
  check(dims.addDimensionIndex(DCM_ImagePositionPatient, dim_uid.c_str(), DCM_PlanePositionSequence,
                               "ImagePositionPatient"),
        out, "dimension index");

  // Shared: pixel measures, orientation.
  // Spacing as the source gives it: pixel spacing as written, the slice spacing from the first and last position.
  const double between =
      src.size() > 1 ? dist(src.back().ipp, s0.ipp) / static_cast<double>(src.size() - 1) : g.spacing[2];
  FGPixelMeasures measures;
  check(measures.setPixelSpacing(s0.pixel_spacing_text.c_str()), out, "pixel spacing");
  check(measures.setSliceThickness(s0.slice_thickness.empty() ? ds(between).c_str() : s0.slice_thickness.c_str()),
        out, "slice thickness");
  check(measures.setSpacingBetweenSlices(ds(between).c_str()), out, "spacing between slices");
  check(seg->addForAllFrames(measures), out, "pixel measures");
  std::unique_ptr<FGPlaneOrientationPatient> orientation(FGPlaneOrientationPatient::createMinimal(
      s0.iop_text[0].c_str(), s0.iop_text[1].c_str(), s0.iop_text[2].c_str(), s0.iop_text[3].c_str(),
      s0.iop_text[4].c_str(), s0.iop_text[5].c_str()));
  if (!orientation) throw InputError(out.string() + ": cannot write the DICOM SEG: invalid orientation");
  check(seg->addForAllFrames(*orientation), out, "plane orientation");

  // Segments.
  std::array<Uint16, 3> numbers{};
  for (std::size_t i = 0; i < 3; ++i) {
    DcmSegment* segment = nullptr;
    check(DcmSegment::create(segment, opt.names[i].c_str(), code(kCategory), code(kTypes[i]),
                             DcmSegTypes::SAT_AUTOMATIC, opt.algorithm_name.c_str()),
          out, "segment " + opt.names[i]);
    std::unique_ptr<DcmSegment> owned(segment);
    if (!opt.descriptions[i].empty())
      check(segment->setSegmentDescription(opt.descriptions[i].c_str()), out, "segment description");
    double L = 0, a = 0, b = 0;
    const Rgb& c = opt.colours[i];
    IODCIELabUtil::rgb2DicomLab(L, a, b, c.r / 255.0, c.g / 255.0, c.b / 255.0);
    auto u16 = [](double x) { return static_cast<Uint16>(std::clamp(std::lround(x), 0L, 65535L)); };
    check(segment->setRecommendedDisplayCIELabValue(u16(L), u16(a), u16(b)), out, "segment colour");
    check(segment->getGeneralAnatomyCode().getAnatomicRegion().set(kBrain.value, kBrain.scheme, kBrain.meaning), out,
          "anatomic region");
    check(seg->addSegment(segment, numbers[i]), out, "segment " + opt.names[i]);
    owned.release();  // the document owns it now
  }

  // Frames: every slice for every segment (empty ones too: every segment has frames, and the layout is fixed).
  const std::size_t plane = g.size[0] * g.size[1];
  std::vector<Uint8> mask(plane);
  for (std::size_t i = 0; i < 3; ++i) {
    const auto value = static_cast<std::uint8_t>(kLabelValues[i]);
    for (std::size_t k = 0; k < g.size[2]; ++k) {
      const SourceSlice& s = src[k];
      const std::uint8_t* slice = labels.voxels.data() + k * plane;
      for (std::size_t p = 0; p < plane; ++p) mask[p] = slice[p] == value || (value == 4 && slice[p] == 3) ? 1 : 0;
      FGFrameContent content;
      check(content.setDimensionIndexValues(numbers[i], 0), out, "frame content");
      check(content.setDimensionIndexValues(static_cast<Uint32>(k + 1), 1), out, "frame content");
      std::unique_ptr<FGPlanePosPatient> position(
          FGPlanePosPatient::createMinimal(s.ipp_text[0].c_str(), s.ipp_text[1].c_str(), s.ipp_text[2].c_str()));
      if (!position) throw InputError(source_files[k].string() + ": invalid Image Position (Patient)");
      ImageSOPInstanceReferenceMacro ref;
      check(ref.setReferencedSOPClassUID(s.sop_class.c_str()), out, "source reference");
      check(ref.setReferencedSOPInstanceUID(s.sop_instance.c_str()), out, "source reference");
      OFVector<ImageSOPInstanceReferenceMacro> refs;
      refs.push_back(ref);
      std::unique_ptr<FGDerivationImage> derivation(
          DcmSegmentation::createDerivationImageFG(refs, "Segmentation of the tumour by GMD Studio"));
      if (!derivation) throw InputError(out.string() + ": cannot write the DICOM SEG: derivation image reference");
      OFVector<FGBase*> per_frame;
      per_frame.push_back(&content);
      per_frame.push_back(position.get());
      per_frame.push_back(derivation.get());
      check(seg->addFrame(mask.data(), numbers[i], per_frame), out, "frame");
    }
  }

  // The source series in the Common Instance Reference module.
  IODReferences references;
  for (const SourceSlice& s : src) {
    auto* r = new IODImageReference(s.patient_id.c_str(), s.study.c_str(), s.series.c_str(), s.sop_instance.c_str(),
                                    s.sop_class.c_str());
    if (!references.add(r)) {
      delete r;
      throw InputError(out.string() + ": cannot write the DICOM SEG: invalid reference to " + s.sop_instance);
    }
  }
  if (seg->getCommonInstanceReference().addReferences(references, s0.study.c_str()) != src.size())
    throw InputError(out.string() + ": cannot write the DICOM SEG: cannot list the source series");

  write_atomically(out, [&](const fs::path& tmp) {
    check(seg->saveFile(tmp.string().c_str(), EXS_LittleEndianExplicit), out, "cannot save");
  });
}

DicomSegInfo read_dicom_seg(const fs::path& file, const Geometry& geom) {
  quiet_dcmtk();
  const std::string name = file.string();
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) throw InputError(name + ": DICOM SEG file not found");
  DcmFileFormat ff;
  OFCondition cond = ff.loadFile(name.c_str());
  if (cond.bad()) throw InputError(name + ": not a readable DICOM file (" + std::string(cond.text()) + ")");
  DcmDataset& dataset = *ff.getDataset();
  OFString sop_class;
  dataset.findAndGetOFString(DCM_SOPClassUID, sop_class);
  if (sop_class != UID_SegmentationStorage)
    throw InputError(name + ": not a DICOM SEG (SOP Class UID " + (sop_class.empty() ? "missing" : str(sop_class)) +
                     ")");
  DcmSegmentation* raw = nullptr;
  cond = DcmSegmentation::loadDataset(dataset, raw);
  std::unique_ptr<DcmSegmentation> seg(raw);
  if (cond.bad() || !seg) throw InputError(name + ": not a readable DICOM SEG (" + std::string(cond.text()) + ")");

  DicomSegInfo info;
  OFString v;
  seg->getSeries().getSeriesInstanceUID(v);
  info.series_uid = str(v);
  seg->getSOPCommon().getSOPInstanceUID(v);
  info.sop_instance_uid = str(v);
  seg->getFrameOfReference().getFrameOfReferenceUID(v);
  info.frame_of_reference_uid = str(v);
  seg->getStudy().getStudyInstanceUID(v);
  info.study_uid = str(v);
  seg->getPatient().getPatientID(v);
  info.patient_id = str(v);
  seg->getSeries().getSeriesDescription(v);
  info.series_description = str(v);
  auto& series_items = seg->getCommonInstanceReference().getReferencedSeriesItems();
  if (!series_items.empty() && series_items[0]) {
    series_items[0]->getSeriesInstanceUID(v);
    info.referenced_series_uid = str(v);
  }

  const std::size_t n_segments = seg->getNumberOfSegments();
  std::vector<int> label_of_number(n_segments + 1, 0);
  for (std::size_t n = 1; n <= n_segments; ++n) {
    DcmSegment* s = seg->getSegment(n);
    if (!s) throw InputError(name + ": segment " + std::to_string(n) + " is missing");
    DicomSegInfo::Segment out;
    out.number = static_cast<int>(n);
    s->getSegmentLabel(v);
    out.label = str(v);
    s->getSegmentDescription(v);
    out.description = str(v);
    out.algorithm_type = str(DcmSegTypes::algoType2OFString(s->getSegmentAlgorithmType()));
    read_code(s->getSegmentedPropertyCategoryCode(), out.category_code, out.category_scheme, out.category_meaning);
    read_code(s->getSegmentedPropertyTypeCode(), out.type_code, out.type_scheme, out.type_meaning);
    out.label_value = label_of(out);
    label_of_number[n] = out.label_value;
    info.segments.push_back(out);
  }

  // Frames onto geom.
  Uint16 rows = 0, cols = 0;
  dataset.findAndGetUint16(DCM_Rows, rows);
  dataset.findAndGetUint16(DCM_Columns, cols);
  if (cols != geom.size[0] || rows != geom.size[1])
    throw InputError(name + ": frames of " + std::to_string(cols) + "x" + std::to_string(rows) +
                     " pixels (columns x rows), the grid has " + std::to_string(geom.size[0]) + "x" +
                     std::to_string(geom.size[1]));
  const bool binary = seg->getSegmentationType() == DcmSegTypes::ST_BINARY;
  FGInterface& fg = seg->getFunctionalGroups();
  const Vec3 row_dir = axis(geom, 0), col_dir = axis(geom, 1), normal = axis(geom, 2);
  const std::size_t plane = geom.size[0] * geom.size[1];
  // Masks per BraTS label, then painted ED, NCR/NET, ET (later wins).
  std::array<std::vector<std::uint8_t>, 3> masks;
  for (auto& m : masks) m.assign(geom.voxel_count(), 0);
  const std::size_t n_frames = seg->getNumberOfFrames();
  for (std::size_t f = 0; f < n_frames; ++f) {
    const std::string where = name + ": frame " + std::to_string(f + 1);
    auto* sfg = dynamic_cast<FGSegmentation*>(fg.get(static_cast<Uint32>(f), DcmFGTypes::EFG_SEGMENTATION));
    Uint16 number = 0;
    if (!sfg || sfg->getReferencedSegmentNumber(number).bad() || number == 0 || number > n_segments)
      throw InputError(where + " names no valid segment");
    auto* pos = dynamic_cast<FGPlanePosPatient*>(fg.get(static_cast<Uint32>(f), DcmFGTypes::EFG_PLANEPOSPATIENT));
    Vec3 ipp{};
    if (!pos || pos->getImagePositionPatient(ipp[0], ipp[1], ipp[2]).bad())
      throw InputError(where + " has no Image Position (Patient)");
    auto* ori =
        dynamic_cast<FGPlaneOrientationPatient*>(fg.get(static_cast<Uint32>(f), DcmFGTypes::EFG_PLANEORIENTPATIENT));
    Vec3 r{}, c{};
    if (!ori || ori->getImageOrientationPatient(r[0], r[1], r[2], c[0], c[1], c[2]).bad())
      throw InputError(where + " has no Image Orientation (Patient)");
    auto* pm = dynamic_cast<FGPixelMeasures*>(fg.get(static_cast<Uint32>(f), DcmFGTypes::EFG_PIXELMEASURES));
    Float64 row_spacing = geom.spacing[1], col_spacing = geom.spacing[0];
    if (pm) {
      pm->getPixelSpacing(row_spacing, 0);
      pm->getPixelSpacing(col_spacing, 1);
    }
    // Which slice of geom: along the normal; then the frame's first and last pixel must lie on it.
    Vec3 d{};
    for (int i = 0; i < 3; ++i) d[i] = ipp[i] - geom.origin[i];
    const double along = (d[0] * normal[0] + d[1] * normal[1] + d[2] * normal[2]) / geom.spacing[2];
    const long k = std::lround(along);
    if (k < 0 || k >= static_cast<long>(geom.size[2]))
      throw InputError(where + " lies outside the grid (slice " + ds(along) + ")");
    const Vec3 first = slice_origin(geom, double(k));
    const Vec3 far_frame = slice_far_corner(ipp, r, c, col_spacing, row_spacing, cols, rows);
    const Vec3 far_grid = slice_far_corner(first, row_dir, col_dir, geom.spacing[0], geom.spacing[1], cols, rows);
    if (dist(ipp, first) > kTolMm || dist(far_frame, far_grid) > kTolMm)
      throw InputError(where + " is not on a slice of the grid (position, orientation or pixel spacing differs)");

    const DcmIODTypes::Frame* frame = seg->getFrame(f);
    if (!frame || !frame->pixData) throw InputError(where + " has no pixel data");
    std::unique_ptr<DcmIODTypes::Frame> unpacked;
    const Uint8* px = frame->pixData;
    if (binary) {
      unpacked.reset(DcmSegUtils::unpackBinaryFrame(frame, rows, cols));
      if (!unpacked || !unpacked->pixData) throw InputError(where + ": cannot unpack the binary frame");
      px = unpacked->pixData;
    } else if (frame->length < plane) {
      throw InputError(where + " is too short");
    }
    DicomSegInfo::Segment& s = info.segments[number - 1];
    ++s.frames;
    const int label = label_of_number[number];
    const std::size_t li = label == 1 ? 0 : label == 2 ? 1 : label == 4 ? 2 : 3;
    std::uint8_t* m = li < 3 ? masks[li].data() + static_cast<std::size_t>(k) * plane : nullptr;
    for (std::size_t p = 0; p < plane; ++p)
      if (px[p]) {
        ++s.voxels;
        if (m) m[p] = 1;
      }
  }

  info.labels.geom = geom;
  info.labels.voxels.assign(geom.voxel_count(), 0);
  for (std::size_t li : {std::size_t{1}, std::size_t{0}, std::size_t{2}})
    for (std::size_t i = 0; i < info.labels.voxels.size(); ++i)
      if (masks[li][i]) info.labels.voxels[i] = static_cast<std::uint8_t>(kLabelValues[li]);
  return info;
}

}  // namespace gmd::io
