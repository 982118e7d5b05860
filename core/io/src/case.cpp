#include "gmd/io/case.hpp"

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "gmd/common/error.hpp"
#include "gmd/io/nifti.hpp"

namespace gmd::io {
namespace fs = std::filesystem;
namespace {

constexpr int kSeg = kNumModalities;  // classification value of a segmentation file

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// File name without its .nii / .nii.gz extension (case kept); empty if it is not NIfTI.
std::string nifti_stem(const fs::path& file) {
  const std::string name = file.filename().string();
  const std::string l = lower(name);
  if (ends_with(l, ".nii.gz")) return name.substr(0, name.size() - 7);
  if (ends_with(l, ".nii")) return name.substr(0, name.size() - 4);
  return {};
}

struct Classified {
  int kind = -1;       // 0..3 modality, kSeg, -1 not a case file
  std::string prefix;  // the stem before "_<suffix>"
};

// "<prefix>_<suffix>.nii[.gz]" (separator '_' or '-', case-insensitive). The whole suffix after the
// last separator must match, so "_t1" never matches a "_t1ce" file. BraTS 2023 names are accepted too
// (t2f = FLAIR, t1n = T1, t1c = T1ce, t2w = T2).
Classified classify(const fs::path& file) {
  Classified c;
  const std::string name = file.filename().string();
  if (name.empty() || name[0] == '.') return c;  // hidden files, e.g. macOS "._x_t1.nii.gz"
  const std::string stem = nifti_stem(file);
  if (stem.empty()) return c;
  const auto sep = stem.find_last_of("_-");
  const std::string suffix = lower(sep == std::string::npos ? stem : stem.substr(sep + 1));
  c.prefix = sep == std::string::npos ? std::string() : stem.substr(0, sep);
  if (suffix == "flair" || suffix == "t2f") c.kind = 0;
  else if (suffix == "t1" || suffix == "t1n") c.kind = 1;
  else if (suffix == "t1ce" || suffix == "t1c" || suffix == "t1gd") c.kind = 2;
  else if (suffix == "t2" || suffix == "t2w") c.kind = 3;
  else if (suffix == "seg") c.kind = kSeg;
  return c;
}

std::string kind_name(int kind) {
  return kind == kSeg ? std::string("segmentation") : std::string(modality_display(kind));
}

std::string folder_name(const fs::path& dir) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(dir, ec);
  if (ec) p = dir;
  std::string n = p.filename().string();
  if (n.empty()) n = p.parent_path().filename().string();
  return n;
}

std::string common_prefix(const std::vector<std::string>& names) {
  if (names.empty()) return {};
  std::string pre = names.front();
  for (const auto& s : names) {
    std::size_t k = 0;
    while (k < pre.size() && k < s.size() && pre[k] == s[k]) ++k;
    pre.resize(k);
  }
  while (!pre.empty() && (pre.back() == '_' || pre.back() == '-' || pre.back() == '.')) pre.pop_back();
  return pre;
}

// Every entry of `dir` (files, folders, links, FIFOs...), sorted.
std::vector<fs::path> sorted_entries(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) out.push_back(it->path());
  if (ec) throw InputError(dir.string() + ": cannot list folder: " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

// One file (hard or symbolic links) given for two modalities, or as a modality and the segmentation.
void check_distinct_files(const CaseFiles& cf) {
  std::vector<std::pair<int, fs::path>> all;
  for (int m = 0; m < kNumModalities; ++m)
    if (cf.modality[m]) all.emplace_back(m, *cf.modality[m]);
  if (cf.seg) all.emplace_back(kSeg, *cf.seg);
  for (std::size_t i = 0; i < all.size(); ++i)
    for (std::size_t j = 0; j < i; ++j) {
      std::error_code ec;
      if (fs::equivalent(all[i].second, all[j].second, ec) && !ec)
        throw InputError(fmt::format("{} and {}: the same file is given as the {} and the {} (links to one file?)",
                                     all[j].second.string(), all[i].second.string(), kind_name(all[j].first),
                                     kind_name(all[i].first)));
    }
}

// A modality whose nonzero voxels are (nearly) all one value carries no image: as a brain mask it would cover the
// whole volume (background included) and the tumour would be found everywhere.
void check_not_constant(const Image& img, const fs::path& file, int modality) {
  std::vector<float> nz;
  const std::size_t n = img.voxels.size();
  std::size_t count = 0;
  for (float v : img.voxels) count += v != 0.0f;
  if (count == 0) return;  // read_image reports all-zero images
  const std::size_t stride = std::max<std::size_t>(1, count / 200000);
  nz.reserve(count / stride + 1);
  std::size_t k = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (img.voxels[i] != 0.0f && (k++ % stride) == 0) nz.push_back(img.voxels[i]);
  const auto at = [&](double q) {
    auto it = nz.begin() + static_cast<std::ptrdiff_t>(q * static_cast<double>(nz.size() - 1));
    std::nth_element(nz.begin(), it, nz.end());
    return *it;
  };
  const float lo = at(0.01), hi = at(0.99);
  if (lo == hi)
    throw InputError(fmt::format("{} ({}): the image is (nearly) constant: 98% or more of its {} nonzero voxels have "
                                 "the value {:g} (a placeholder or blank image?)",
                                 file.string(), modality_display(modality), count, lo));
}

}  // namespace

SubsetMask CaseFiles::present() const {
  SubsetMask s = 0;
  for (int m = 0; m < kNumModalities; ++m)
    if (modality[m]) s |= static_cast<SubsetMask>(1u << m);
  return s;
}

SubsetMask Case::present() const {
  SubsetMask s = 0;
  for (int m = 0; m < kNumModalities; ++m)
    if (images[m]) s |= static_cast<SubsetMask>(1u << m);
  return s;
}

CaseFiles discover_case(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) throw InputError(dir.string() + ": case folder not found");
  if (!fs::is_directory(dir, ec))
    throw InputError(dir.string() + ": not a folder (give a case folder, or explicit per-modality files)");

  CaseFiles cf;
  cf.id = folder_name(dir);
  for (const auto& f : sorted_entries(dir)) {
    const Classified c = classify(f);
    if (c.kind < 0) continue;
    // Named like a case file but a folder, a FIFO, a broken link, unreadable: an error, never a silent skip (the
    // case would be segmented without that modality).
    try {
      check_readable_file(f);
    } catch (const InputError& e) {
      throw InputError(std::string(e.what()) + " (named like the case's " + kind_name(c.kind) + ")");
    }
    auto& slot = c.kind == kSeg ? cf.seg : cf.modality[c.kind];
    if (slot)
      throw InputError(fmt::format("{}: two files for the same {}: {} and {}", dir.string(), kind_name(c.kind),
                                   slot->filename().string(), f.filename().string()));
    slot = f;
  }
  check_distinct_files(cf);
  if (cf.present() == 0)
    throw InputError(dir.string() +
                     ": no modality image found (expected files named *_flair, *_t1, *_t1ce, *_t2 "
                     "with .nii or .nii.gz)");
  if (cf.id.empty()) {
    std::vector<std::string> prefixes;
    for (const auto& p : cf.modality)
      if (p) prefixes.push_back(classify(*p).prefix);
    cf.id = common_prefix(prefixes);
    if (cf.id.empty()) cf.id = "case";
  }
  return cf;
}

CaseFiles case_from_paths(const std::array<std::optional<fs::path>, kNumModalities>& paths,
                          const std::optional<fs::path>& seg, std::string id) {
  CaseFiles cf;
  auto check = [](const fs::path& p, const std::string& what) {
    if (p.empty()) throw InputError("empty file name given for " + what);
    try {
      check_readable_file(p);
    } catch (const InputError& e) {
      throw InputError(std::string(e.what()) + " (" + what + ")");
    }
  };
  for (int m = 0; m < kNumModalities; ++m) {
    if (!paths[m] || paths[m]->empty()) continue;
    check(*paths[m], std::string(modality_display(m)));
    for (int k = 0; k < m; ++k) {
      std::error_code ec;
      if (cf.modality[k] && fs::equivalent(*cf.modality[k], *paths[m], ec))
        throw InputError(fmt::format("{}: the same file is given for {} and {}", paths[m]->string(),
                                     modality_display(k), modality_display(m)));
    }
    cf.modality[m] = *paths[m];
  }
  if (cf.present() == 0) throw InputError("no modality image given (need at least one of FLAIR, T1, T1ce, T2)");
  if (seg && !seg->empty()) {
    check(*seg, "segmentation");
    cf.seg = *seg;
  }
  check_distinct_files(cf);
  if (id.empty() || id == "case") {
    // Derive the id from the files' common name prefix, e.g. "BraTS_001" from BraTS_001_t1.nii.gz.
    std::vector<std::string> stems;
    for (const auto& p : cf.modality) {
      if (!p) continue;
      const Classified c = classify(*p);
      if (c.kind >= 0) stems.push_back(c.prefix);
      else {
        const std::string s = nifti_stem(*p);
        stems.push_back(s.empty() ? p->stem().string() : s);
      }
    }
    const std::string pre = common_prefix(stems);
    id = pre.empty() ? "case" : pre;
  }
  cf.id = std::move(id);
  return cf;
}

Case load_case(const CaseFiles& files, SubsetMask only, bool load_seg, const AlignOptions* align,
               std::vector<std::string>* notes) {
  Case c;
  c.id = files.id;
  c.files = files;
  int ref = -1;
  bool one_grid = true;
  for (int m = 0; m < kNumModalities; ++m) {
    if (!subset_has(only, m) || !files.modality[m]) continue;
    Image img = read_image(*files.modality[m]);
    check_not_constant(img, *files.modality[m], m);
    if (ref < 0) {
      ref = m;
      c.geom = img.geom;
    } else {
      const std::string diff = c.geom.difference(img.geom);
      if (!diff.empty() && !align)
        throw InputError(fmt::format("{} ({}) and {} ({}) have different geometry: {}", files.modality[ref]->string(),
                                     modality_display(ref), files.modality[m]->string(), modality_display(m), diff));
      one_grid = one_grid && diff.empty();
    }
    c.images[m] = std::move(img);
  }
  if (ref < 0) {
    if (files.present() == 0) throw InputError("case " + files.id + ": no modality image");
    throw InputError(fmt::format("case {}: none of the requested modalities ({}) is present (the case has {})",
                                 files.id, subset_name(only), subset_name(files.present())));
  }
  if (align && (!one_grid || align->mode == Align::Always)) {
    std::array<std::string, kNumModalities> source;
    for (int m = 0; m < kNumModalities; ++m)
      if (c.images[m]) source[m] = files.modality[m]->string();
    Aligned a = align_images(std::move(c.images), source, *align, notes);
    ref = a.reference;
    c.geom = a.geom;
    c.images = std::move(a.images);
    c.registration = std::move(a.registration);
  }
  if (load_seg && files.seg) {
    LabelMap seg = read_labels(*files.seg);
    const std::string diff = c.geom.difference(seg.geom);
    if (!diff.empty())
      throw InputError(fmt::format("{} (segmentation) and {} ({}) have different geometry: {}", files.seg->string(),
                                   files.modality[ref]->string(), modality_display(ref),
                                   seg.geom.difference(c.geom)));
    c.seg = std::move(seg);
  }
  return c;
}

std::vector<fs::path> list_cases(const fs::path& dataset_dir) {
  std::error_code ec;
  if (!fs::exists(dataset_dir, ec)) throw InputError(dataset_dir.string() + ": dataset folder not found");
  if (!fs::is_directory(dataset_dir, ec)) throw InputError(dataset_dir.string() + ": not a folder");
  std::vector<fs::path> out;
  for (fs::directory_iterator it(dataset_dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (!it->is_directory(ec2)) continue;
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    for (const auto& f : sorted_entries(it->path())) {
      std::error_code ec3;
      if (!fs::is_regular_file(f, ec3)) continue;  // discover_case reports such entries; they do not make a case
      const int k = classify(f).kind;
      if (k >= 0 && k < kNumModalities) {
        out.push_back(it->path());
        break;
      }
    }
  }
  if (ec) throw InputError(dataset_dir.string() + ": cannot list folder: " + ec.message());
  std::sort(out.begin(), out.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename().string() < b.filename().string(); });
  return out;
}

}  // namespace gmd::io
