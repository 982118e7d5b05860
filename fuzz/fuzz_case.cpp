// libFuzzer target: the case-folder classifier, gmd::io::discover_case / list_cases / case_from_paths.
// Contract: a CaseFiles (discover_case, case_from_paths) / a list of folders (list_cases), or gmd::InputError; and
// the result is consistent: every file found is in the folder, is NIfTI by name, and sits in the slot its name's
// last "_"/"-" suffix says (so "_t1" never takes a "_t1ce" file); the id is not empty.
//
// Input: lines ('\n'). Line 1: the case folder's name. Every further line (at most 16): kind byte, then a name:
//   kind % 4: 0, 1 -> an empty file; 2 -> a folder; 3 -> a dangling symbolic link.
// Names lose '/' and NUL and are cut to 200 bytes; "", "." and ".." are skipped.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_util.hpp"
#include "gmd/common/error.hpp"
#include "gmd/io/case.hpp"

namespace {
using namespace gmd::fuzz;

std::string clean(std::string s) {
  s.erase(std::remove_if(s.begin(), s.end(), [](char c) { return c == '/' || c == '\0'; }), s.end());
  if (s.size() > 200) s.resize(200);
  if (s == "." || s == "..") s.clear();
  return s;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The modality slot (0..3), 4 for seg, -1: a name's classification by an independent reading of the rule.
int expected_kind(const std::string& name) {
  const std::string l = lower(name);
  std::string stem;
  if (l.size() > 7 && l.compare(l.size() - 7, 7, ".nii.gz") == 0)
    stem = l.substr(0, l.size() - 7);
  else if (l.size() > 4 && l.compare(l.size() - 4, 4, ".nii") == 0)
    stem = l.substr(0, l.size() - 4);
  else
    return -1;
  if (name[0] == '.') return -1;
  const auto sep = stem.find_last_of("_-");
  const std::string suffix = sep == std::string::npos ? stem : stem.substr(sep + 1);
  if (suffix == "flair" || suffix == "t2f") return 0;
  if (suffix == "t1" || suffix == "t1n") return 1;
  if (suffix == "t1ce" || suffix == "t1c" || suffix == "t1gd") return 2;
  if (suffix == "t2" || suffix == "t2w") return 3;
  if (suffix == "seg") return 4;
  return -1;
}

void check_case(const gmd::io::CaseFiles& cf, const fs::path& dir) {
  if (cf.id.empty()) finding("fuzz_case", "empty case id");
  if (cf.present() == 0) finding("fuzz_case", "a CaseFiles without any modality");
  for (int m = 0; m <= gmd::kNumModalities; ++m) {
    const auto& slot = m < gmd::kNumModalities ? cf.modality[m] : cf.seg;
    if (!slot) continue;
    if (slot->parent_path() != dir) finding("fuzz_case", "file outside the case folder: " + slot->string());
    const int k = expected_kind(slot->filename().string());
    if (k != m)
      finding("fuzz_case", "file '" + slot->filename().string() + "' in slot " + std::to_string(m) +
                               ", its name says " + std::to_string(k));
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> lines;
  for (std::size_t at = 0; at <= in.size() && lines.size() < 17;) {
    const auto nl = in.find('\n', at);
    lines.push_back(in.substr(at, nl == std::string::npos ? std::string::npos : nl - at));
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  const fs::path root = scratch() / "data";
  std::error_code ec;
  fs::remove_all(root, ec);
  std::string case_name = clean(lines.empty() ? std::string() : lines[0]);
  if (case_name.empty()) case_name = "case";
  const fs::path dir = root / case_name;
  fs::create_directories(dir);
  std::vector<fs::path> files;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    const unsigned kind = static_cast<unsigned char>(lines[i][0]) % 4;
    const std::string name = clean(lines[i].substr(1));
    if (name.empty()) continue;
    const fs::path p = dir / name;
    if (fs::exists(fs::symlink_status(p, ec))) continue;
    if (kind == 2)
      fs::create_directory(p, ec);
    else if (kind == 3)
      fs::create_symlink("missing-target.nii.gz", p, ec);
    else {
      write_file(p, "");
      files.push_back(p);
    }
  }
  try {
    check_case(gmd::io::discover_case(dir), dir);
  } catch (const gmd::InputError&) {
  } catch (const std::exception& e) {
    finding("fuzz_case", "discover_case: " + describe(e));
  }
  try {
    for (const auto& c : gmd::io::list_cases(root))
      if (c.parent_path() != root) finding("fuzz_case", "list_cases returned a folder outside the dataset");
  } catch (const gmd::InputError&) {
  } catch (const std::exception& e) {
    finding("fuzz_case", "list_cases: " + describe(e));
  }
  // Explicit paths: the first files made, in order, as FLAIR, T1, T1ce, T2.
  std::array<std::optional<fs::path>, gmd::kNumModalities> paths;
  for (std::size_t m = 0; m < files.size() && m < paths.size(); ++m) paths[m] = files[m];
  try {
    const gmd::io::CaseFiles cf = gmd::io::case_from_paths(paths);
    if (cf.id.empty()) finding("fuzz_case", "case_from_paths: empty case id");
  } catch (const gmd::InputError&) {
  } catch (const std::exception& e) {
    finding("fuzz_case", "case_from_paths: " + describe(e));
  }
  return 0;
}
