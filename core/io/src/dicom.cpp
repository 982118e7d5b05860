// DICOM series in: listing, modality proposal, reading, one case on one grid (see dicom.hpp).
#include "gmd/io/dicom.hpp"

#include <fmt/format.h>
#include <itkGDCMImageIO.h>
#include <itkGDCMSeriesFileNames.h>
#include <itkImageSeriesReader.h>
#include <itkImageSeriesWriter.h>
#include <itkMetaDataObject.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "gmd/common/error.hpp"
#include "gmd/common/modality.hpp"
#include "gmd/io/itk_image.hpp"
#include "dicom_file.hpp"
#include "gmd/io/align.hpp"
#include "gmd/io/resample.hpp"

namespace gmd::io {
namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string s) {
  while (!s.empty() && (std::isspace(static_cast<unsigned char>(s.back())) || s.back() == '\0')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// Words of a tag value: runs of letters and digits ("T1_MPRAGE+C POST" -> t1, mprage, c, post).
std::set<std::string> words(const std::string& s) {
  std::set<std::string> out;
  std::string w;
  for (char c : lower(s) + " ") {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      w += c;
    } else if (!w.empty()) {
      out.insert(w);
      w.clear();
    }
  }
  return out;
}

bool has_any(const std::set<std::string>& w, std::initializer_list<const char*> keys) {
  for (const char* k : keys)
    if (w.count(k)) return true;
  return false;
}
bool contains_any(const std::string& s, std::initializer_list<const char*> keys) {
  for (const char* k : keys)
    if (s.find(k) != std::string::npos) return true;
  return false;
}

std::string tag(itk::GDCMImageIO& io, const char* key) {
  std::string v;
  io.GetValueFromTag(key, v);
  return trim(v);
}

// Axial/coronal/sagittal by the slice normal's dominant component (LPS: x left, y posterior, z superior).
std::string orientation_name(const std::array<double, 3>& row, const std::array<double, 3>& col) {
  const std::array<double, 3> n{row[1] * col[2] - row[2] * col[1], row[2] * col[0] - row[0] * col[2],
                                row[0] * col[1] - row[1] * col[0]};
  const double ax = std::abs(n[0]), ay = std::abs(n[1]), az = std::abs(n[2]);
  const double m = std::max({ax, ay, az});
  if (m < 0.9) return "oblique";
  return az == m ? "axial" : ay == m ? "coronal" : "sagittal";
}

using detail::has_dicom_preamble;

bool is_dicomdir_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && lower(p.filename().string()) == "dicomdir";
}

// What a folder holds, walked recursively: a NIfTI image anywhere (the walk stops at the first), a DICOM file (a DICM
// preamble or a DICOMDIR) among the first 200 files. `until_dicom`: stop at the first DICOM file instead (then `nifti`
// only says whether one came before it).
struct FolderScan {
  bool nifti = false, dicom = false;
};
FolderScan scan_folder(const fs::path& dir, bool until_dicom) {
  FolderScan f;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return f;
  int seen = 0;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string name = lower(it->path().filename().string());
    const auto ends_with = [&name](const std::string& tail) {
      return name.size() >= tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
    };
    if (ends_with(".nii") || ends_with(".nii.gz")) {
      f.nifti = true;
      return f;
    }
    if (!f.dicom && ++seen <= 200) f.dicom = has_dicom_preamble(it->path()) || name == "dicomdir";
    if (f.dicom && until_dicom) return f;
  }
  return f;
}

const char* kSkipWords[] = {"localizer", "localiser", "scout", "survey", "loc", "3plane", "tracker", "calibration",
                            "cal", "dwi", "diffusion", "adc", "trace", "dti", "tensor", "perfusion", "dsc", "pwi",
                            "swi", "mip", "mra", "tof", "spectroscopy", "csi", "svs", "fa", "bold", "fmri"};

}  // namespace

int propose_modality(const std::string& description, const std::string& protocol, const std::string& contrast,
                     std::string* why) {
  const std::string text = protocol.empty() || protocol == description ? description : description + " " + protocol;
  const std::string low = lower(text);
  const std::set<std::string> w = words(text);
  auto said = [&](int m, const std::string& because) {
    if (why) *why = because;
    return m;
  };
  if (w.count("flair") || w.count("tirm") || w.count("darkfluid") || low.find("dark fluid") != std::string::npos ||
      low.find("dark-fluid") != std::string::npos)
    return said(0, "a fluid-attenuated sequence (FLAIR, TIRM or dark fluid in the name)");
  const bool t2 = w.count("t2") || w.count("t2w") || w.count("t2tse") || w.count("t2fse") ||
                  contains_any(low, {"t2_", "t2-", "t2w"});
  const bool t1 = w.count("t1") || w.count("t1w") || has_any(w, {"mprage", "spgr", "bravo", "tfl", "tfe", "fspgr"}) ||
                  contains_any(low, {"t1_", "t1-", "t1w", "mp-rage", "mp rage", "t1+", "t1c"});
  const bool post = !trim(contrast).empty() || has_any(w, {"post", "gd", "gad", "gado", "contrast", "ce", "t1c", "t1ce",
                                                           "postcontrast", "enhanced"}) ||
                    contains_any(low, {"+c", "+ c", "c+", "+gd", "post-", "_post", "t1ce", "t1c ", "t1c_"}) ||
                    (low.size() >= 3 && low.compare(low.size() - 3, 3, "t1c") == 0);
  if (t2 && !t1) return said(3, "T2 in the name, not FLAIR");
  if (t1 && post) {
    return said(2, !trim(contrast).empty() ? "T1 in the name, contrast agent '" + trim(contrast) + "'"
                                           : "T1 in the name with a post-contrast marker");
  }
  if (t1) return said(1, "T1 in the name, no post-contrast marker or contrast agent");
  return said(-1, "the name ('" + trim(text) + "') says none of FLAIR, T1, T1ce, T2");
}

bool is_dicom_folder(const fs::path& dir) {
  if (is_dicomdir_file(dir)) return true;
  const FolderScan f = scan_folder(dir, false);
  return !f.nifti && f.dicom;
}

std::vector<DicomSeries> list_dicom_series(const fs::path& path) {
  // A DICOMDIR file: the files it lists lie under its folder, which is searched like any other.
  const fs::path dir = is_dicomdir_file(path) ? path.parent_path() : path;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError(dir.string() + ": folder not found");
  if (!scan_folder(dir, true).dicom) throw InputError(dir.string() + ": holds no DICOM file");
  auto names = itk::GDCMSeriesFileNames::New();
  names->SetUseSeriesDetails(false);
  names->SetRecursive(true);
  names->SetDirectory(dir.string());
  std::vector<DicomSeries> out;
  for (const std::string& uid : names->GetSeriesUIDs()) {
    DicomSeries s;
    s.uid = trim(uid);
    s.files = names->GetFileNames(uid);
    if (s.files.empty()) continue;
    auto gio = itk::GDCMImageIO::New();
    try {
      gio->SetFileName(s.files.front());
      gio->ReadImageInformation();
    } catch (const itk::ExceptionObject& e) {
      s.usable = false;
      s.why = "unreadable header (" + std::string(e.GetDescription()) + ")";
      out.push_back(std::move(s));
      continue;
    }
    s.description = tag(*gio, "0008|103e");
    s.protocol = tag(*gio, "0018|1030");
    s.modality = tag(*gio, "0008|0060");
    s.image_type = tag(*gio, "0008|0008");
    s.contrast = tag(*gio, "0018|0010");
    s.patient = tag(*gio, "0010|0020");
    s.size = {gio->GetDimensions(0), gio->GetDimensions(1), s.files.size()};
    s.pixel_spacing = {gio->GetSpacing(0), gio->GetSpacing(1)};
    std::array<double, 3> row{}, col{};
    for (unsigned i = 0; i < 3; ++i) {
      row[i] = gio->GetDirection(0)[i];
      col[i] = gio->GetDirection(1)[i];
    }
    s.orientation = orientation_name(row, col);
    const std::set<std::string> w = words(s.description + " " + s.protocol);
    const std::string type = lower(s.image_type);
    std::string skip;
    if (!s.modality.empty() && s.modality != "MR") skip = "not MR (Modality " + s.modality + ")";
    else if (type.find("localizer") != std::string::npos) skip = "a localizer (ImageType " + s.image_type + ")";
    else if (type.find("derived") != std::string::npos) skip = "derived images (ImageType " + s.image_type + ")";
    else if (s.files.size() < 3) skip = "only " + std::to_string(s.files.size()) + " slice(s)";
    else
      for (const char* k : kSkipWords)
        if (w.count(k)) {
          skip = std::string("not a structural sequence ('") + k + "' in '" + trim(s.description + " " + s.protocol) + "')";
          break;
        }
    if (!skip.empty()) {
      s.usable = false;
      s.why = "skipped: " + skip;
    } else {
      s.proposed = propose_modality(s.description, s.protocol, s.contrast, &s.why);
    }
    out.push_back(std::move(s));
  }
  if (out.empty()) throw InputError(dir.string() + ": holds no DICOM series");
  std::sort(out.begin(), out.end(), [](const DicomSeries& a, const DicomSeries& b) {
    return std::tie(a.description, a.uid) < std::tie(b.description, b.uid);
  });
  return out;
}

std::map<std::string, int> parse_assignments(const std::string& text) {
  std::map<std::string, int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = trim(item);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      throw UsageError("--assign: '" + item + "' is not SERIES_UID=MODALITY (e.g. 1.2.840.1234=t1ce, or =skip)");
    const std::string uid = trim(item.substr(0, eq)), what = lower(trim(item.substr(eq + 1)));
    if (what == "skip" || what == "none") {
      out[uid] = -1;
      continue;
    }
    const SubsetMask m = parse_subset(what);  // throws UsageError naming an unknown modality
    const auto mods = subset_modalities(m);
    if (mods.size() != 1) throw UsageError("--assign: '" + item + "' must name one modality");
    out[uid] = mods.front();
  }
  return out;
}

std::array<const DicomSeries*, kNumModalities> assign_series(const std::vector<DicomSeries>& series,
                                                             const std::map<std::string, int>& overrides,
                                                             std::vector<std::string>* notes) {
  std::array<const DicomSeries*, kNumModalities> chosen{};
  auto note = [&](const std::string& s) {
    if (notes) notes->push_back(s);
  };
  for (const auto& entry : overrides) {
    const std::string& uid = entry.first;  // (a structured binding cannot be captured in C++17)
    if (std::none_of(series.begin(), series.end(), [&uid](const DicomSeries& s) { return s.uid == uid; }))
      throw UsageError("--assign: no series with UID " + uid + " in this folder");
  }
  std::array<bool, kNumModalities> by_user{};
  for (const DicomSeries& s : series) {
    const auto o = overrides.find(s.uid);
    if (o == overrides.end() || o->second < 0) continue;
    const int m = o->second;
    if (by_user[m])
      throw UsageError(fmt::format("--assign: two series given as {} ({}, {})", modality_display(m), chosen[m]->uid,
                                   s.uid));
    chosen[m] = &s;
    by_user[m] = true;
    note(fmt::format("{}: series '{}' (as assigned)", modality_display(m), s.description));
  }
  for (const DicomSeries& s : series) {
    if (overrides.count(s.uid)) {
      if (overrides.at(s.uid) < 0) note(fmt::format("series '{}' skipped (as assigned)", s.description));
      continue;
    }
    if (!s.usable) {
      note(fmt::format("series '{}': {}", s.description, s.why));
      continue;
    }
    if (s.proposed < 0) {
      note(fmt::format("series '{}' not used: {} (use --assign UID=MODALITY)", s.description, s.why));
      continue;
    }
    const int m = s.proposed;
    if (by_user[m]) continue;
    if (!chosen[m]) {
      chosen[m] = &s;
      continue;
    }
    const DicomSeries* keep = s.files.size() > chosen[m]->files.size() ? &s : chosen[m];
    const DicomSeries* drop = keep == &s ? chosen[m] : &s;
    note(fmt::format("{}: two candidates, '{}' ({} slices) chosen over '{}' ({} slices); --assign {}={} to choose "
                     "the other",
                     modality_display(m), keep->description, keep->files.size(), drop->description, drop->files.size(),
                     drop->uid, modality_key(m)));
    chosen[m] = keep;
  }
  for (int m = 0; m < kNumModalities; ++m)
    if (chosen[m] && !by_user[m])
      note(fmt::format("{}: series '{}' ({})", modality_display(m), chosen[m]->description, chosen[m]->why));
  return chosen;
}

Image read_dicom_series(const DicomSeries& s) {
  using Reader = itk::ImageSeriesReader<itk::Image<float, 3>>;
  auto reader = Reader::New();
  auto gio = itk::GDCMImageIO::New();
  reader->SetImageIO(gio);
  reader->SetFileNames(s.files);
  try {
    reader->Update();
  } catch (const itk::ExceptionObject& e) {
    throw InputError("DICOM series '" + s.description + "' (" + s.uid + "): cannot be read (" + e.GetDescription() + ")");
  }
  // Missing slices or an irregular stack: ITK would average the spacing and place slices wrongly; say so instead.
  const auto* dicts = reader->GetMetaDataDictionaryArray();
  if (dicts && dicts->size() >= 3) {
    std::vector<double> along;
    const auto& d0 = reader->GetOutput()->GetDirection();
    for (const auto* d : *dicts) {
      std::string ipp;
      if (!d || !itk::ExposeMetaData<std::string>(*d, "0020|0032", ipp)) break;
      std::array<double, 3> p{};
      if (std::sscanf(ipp.c_str(), "%lf\\%lf\\%lf", &p[0], &p[1], &p[2]) != 3) break;
      along.push_back(p[0] * d0(0, 2) + p[1] * d0(1, 2) + p[2] * d0(2, 2));
    }
    if (along.size() == dicts->size()) {
      std::sort(along.begin(), along.end());
      double lo = 1e300, hi = 0;
      for (std::size_t k = 1; k < along.size(); ++k) {
        lo = std::min(lo, along[k] - along[k - 1]);
        hi = std::max(hi, along[k] - along[k - 1]);
      }
      if (lo < 1e-3)
        throw InputError(fmt::format("DICOM series '{}' ({}): two slices at one position (a duplicated or mixed series)",
                                     s.description, s.uid));
      if (hi > lo * 1.2 + 0.01)
        throw InputError(fmt::format("DICOM series '{}' ({}): slice spacing varies from {:.2f} to {:.2f} mm (missing "
                                     "slices or an irregular stack)",
                                     s.description, s.uid, lo, hi));
    }
  }
  Image img = from_itk(*reader->GetOutput());
  bool finite = true, nonzero = false;
  for (float v : img.voxels) {
    finite = finite && std::isfinite(v);
    nonzero = nonzero || v != 0.0f;
  }
  if (!finite || !nonzero)
    throw InputError("DICOM series '" + s.description + "' (" + s.uid + "): " +
                     (finite ? "all voxels are zero" : "holds non-finite values"));
  return img;
}

Case load_dicom_case(const fs::path& dir, const std::map<std::string, int>& overrides, SubsetMask only,
                     std::vector<std::string>* notes, const DicomAlignment& align) {
  return load_dicom_case(dir, list_dicom_series(dir), overrides, only, notes, align);
}

Case load_dicom_case(const fs::path& dir, const std::vector<DicomSeries>& series,
                     const std::map<std::string, int>& overrides, SubsetMask only, std::vector<std::string>* notes,
                     const DicomAlignment& align) {
  const auto chosen = assign_series(series, overrides, notes);
  Case c;
  c.id = fs::absolute(is_dicomdir_file(dir) ? dir.parent_path() : dir).lexically_normal().filename().string();
  if (c.id.empty()) c.id = "dicom";
  c.files.id = c.id;
  for (int m = 0; m < kNumModalities; ++m)
    if (chosen[m] && subset_has(only, m)) {
      c.files.modality[m] = chosen[m]->files.front();
      c.files.series_files[m].assign(chosen[m]->files.begin(), chosen[m]->files.end());
      c.files.series[m] = fmt::format("{}, {} slices", chosen[m]->description.empty() ? chosen[m]->uid
                                                                                       : chosen[m]->description,
                                      chosen[m]->files.size());
    }
  SubsetMask chosen_mask = 0;
  for (int m = 0; m < kNumModalities; ++m)
    if (c.files.modality[m]) chosen_mask |= static_cast<SubsetMask>(1u << m);
  const int ref = reference_modality(chosen_mask);
  if (ref < 0)
    throw InputError(dir.string() + ": no series is assigned to " +
                     (only == kFullMask ? std::string("any modality") : subset_name(only)) +
                     " (see the list of series; assign one with --assign UID=MODALITY)");
  // One case, one patient.
  for (int m = 0; m < kNumModalities; ++m)
    if (c.files.modality[m] && m != ref && chosen[m]->patient != chosen[ref]->patient)
      throw InputError(fmt::format("DICOM series '{}' ({}) belongs to patient '{}', series '{}' ({}) to patient '{}': a "
                                   "case must come from one patient",
                                   chosen[m]->description, modality_display(m), chosen[m]->patient,
                                   chosen[ref]->description, modality_display(ref), chosen[ref]->patient));
  // Progress: reading the series is the first fifth, registering them the rest.
  std::array<std::optional<Image>, kNumModalities> images;
  std::array<std::string, kNumModalities> source;
  const int to_read = subset_size(chosen_mask);
  int read = 0;
  for (int m = 0; m < kNumModalities; ++m) {
    if (!c.files.modality[m]) continue;
    if (align.progress) align.progress(fmt::format("reading {}", modality_display(m)), 0.2 * read / to_read);
    images[m] = read_dicom_series(*chosen[m]);
    source[m] = fmt::format("DICOM series '{}'", chosen[m]->description);
    ++read;
  }
  AlignOptions how = align;
  if (align.progress) how.progress = [&align](const std::string& what, double f) { align.progress(what, 0.2 + 0.8 * f); };
  Aligned a = align_images(std::move(images), source, how, notes);
  c.geom = a.geom;
  c.images = std::move(a.images);
  c.registration = std::move(a.registration);
  return c;
}

std::vector<fs::path> write_dicom_series(const Image& img, const fs::path& dir, const std::string& description,
                                         const std::string& series_uid, const std::string& study_uid,
                                         const std::string& contrast, const std::string& image_type,
                                         const std::string& patient_id) {
  using Image3 = itk::Image<std::int16_t, 3>;
  using Image2 = itk::Image<std::int16_t, 2>;
  fs::create_directories(dir);
  Volume<std::int16_t> v;
  v.geom = img.geom;
  v.voxels.resize(img.voxels.size());
  for (std::size_t i = 0; i < img.voxels.size(); ++i)
    v.voxels[i] = static_cast<std::int16_t>(std::clamp(std::lround(img.voxels[i]), -32768L, 32767L));
  const Geometry& g = img.geom;
  auto col_of = [&](int j) {
    return std::array<double, 3>{g.direction[0 * 3 + j], g.direction[1 * 3 + j], g.direction[2 * 3 + j]};
  };
  const auto r = col_of(0), c = col_of(1), n = col_of(2);
  const std::string iop = fmt::format("{:.6f}\\{:.6f}\\{:.6f}\\{:.6f}\\{:.6f}\\{:.6f}", r[0], r[1], r[2], c[0], c[1], c[2]);
  std::vector<itk::MetaDataDictionary> dicts(g.size[2]);
  std::vector<itk::MetaDataDictionary*> dict_ptrs;
  std::vector<std::string> names;
  std::vector<fs::path> files;
  for (std::size_t k = 0; k < g.size[2]; ++k) {
    auto& d = dicts[k];
    auto put = [&](const char* key, const std::string& value) { itk::EncapsulateMetaData<std::string>(d, key, value); };
    put("0008|0060", "MR");
    put("0028|0004", "MONOCHROME2");
    put("0008|0016", "1.2.840.10008.5.1.4.1.1.4");  // MR Image Storage
    put("0008|0018", series_uid + "." + std::to_string(k + 1));
    put("0020|000d", study_uid);
    put("0020|000e", series_uid);
    put("0020|0052", study_uid + ".0");
    put("0008|0020", "20260101");  // one study date and time for every file (GDCM would stamp each with "now")
    put("0008|0030", "120000");  // one frame of reference per study (the scanner's, in a real export)
    put("0008|103e", description);
    put("0018|1030", description);
    put("0008|0008", image_type);
    if (!contrast.empty()) put("0018|0010", contrast);
    put("0020|0011", "1");
    put("0020|0013", std::to_string(k + 1));
    put("0020|0037", iop);
    const double z = static_cast<double>(k) * g.spacing[2];
    put("0020|0032", fmt::format("{:.6f}\\{:.6f}\\{:.6f}", g.origin[0] + z * n[0], g.origin[1] + z * n[1],
                                 g.origin[2] + z * n[2]));
    put("0028|0030", fmt::format("{:.6f}\\{:.6f}", g.spacing[1], g.spacing[0]));
    put("0018|0050", fmt::format("{:.6f}", g.spacing[2]));
    put("0018|0088", fmt::format("{:.6f}", g.spacing[2]));
    put("0010|0010", "GMD^SYNTHETIC");
    put("0010|0020", patient_id);
    dict_ptrs.push_back(&d);
    files.push_back(dir / fmt::format("IM{:04d}", k + 1));
    names.push_back(files.back().string());
  }
  auto gio = itk::GDCMImageIO::New();
  gio->KeepOriginalUIDOn();
  auto writer = itk::ImageSeriesWriter<Image3, Image2>::New();
  writer->SetInput(itk_view(v));
  writer->SetImageIO(gio);
  writer->SetFileNames(names);
  writer->SetMetaDataDictionaryArray(&dict_ptrs);
  try {
    writer->Update();
  } catch (const itk::ExceptionObject& e) {
    throw InputError(dir.string() + ": cannot write the DICOM series (" + e.GetDescription() + ")");
  }
  return files;
}

}  // namespace gmd::io
