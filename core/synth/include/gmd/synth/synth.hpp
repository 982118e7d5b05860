#pragma once
// Synthetic BraTS-like cases: real anatomy (Colin27 T1, skull-stripped, from Debian's mricron-data)
// placed in the BraTS frame with a random affine + smooth deformation per case, tissue classes from
// the T1 intensities, simulated FLAIR / T1 / T1ce / T2 contrasts, and a random glioma (edema ED=2
// around a core of enhancing tumour ET=4 and necrosis / non-enhancing tumour NCR/NET=1) whose
// visibility per modality follows real MRI. Bias field, Rician noise, per-case intensity scale;
// background exactly 0 outside the brain. Deterministic given (seed, index); independent of threads.
//
// Sizes (all share the BraTS physical frame: LPS, direction identity, 240 x 240 x 155 mm):
//   full : 240 x 240 x 155 voxels at 1 mm, origin (0, -239, 0)       (exact BraTS geometry)
//   small: 120 x 120 x 78  voxels at 2 mm, origin (0.5, -238.5, 0.5) (for tests and CPU studies)
//   tiny :  60 x 60 x 39   voxels at 4 mm, origin (1.5, -237.5, 1.5) (unit tests; the seeded CPU study)
// The same (seed, index) gives the same brain and tumour at every size (only the voxel noise differs).
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gmd/io/case.hpp"
#include "gmd/common/image.hpp"

namespace gmd::synth {

enum class SynthSize { Full, Small, Tiny };
// "full", "small", "tiny"
std::string_view size_name(SynthSize s);
// Parses "full" / "small" / "tiny" (case-insensitive); throws gmd::UsageError otherwise.
SynthSize parse_size(std::string_view s);
// The output geometry of a size (see above).
Geometry brats_geometry(SynthSize s);

enum class TumourGrade { Random, HGG, LGG };  // LGG: no enhancing tumour (ET empty)

// Default template: /usr/share/mricron/templates/ch2bet.nii.gz, or $GMD_SYNTH_TEMPLATE when set.
std::filesystem::path default_template_path();

struct SynthOptions {
  SynthSize size = SynthSize::Full;
  std::uint64_t seed = 1;
  TumourGrade grade = TumourGrade::Random;  // Random: about 70 % HGG, 30 % LGG
  int threads = 2;                          // threads inside one case (results do not depend on it)
  std::filesystem::path template_path = default_template_path();
};

// What was drawn for one case (for printing and tests).
struct TumourInfo {
  bool hgg = true;
  bool has_necrosis = true;
  bool has_enhancement = true;       // false: ET is empty
  bool patchy_enhancement = false;   // parts of the rim do not enhance (labelled 1)
  bool mass_effect = false;
  std::array<double, 3> centre_mm{};  // LPS, in the BraTS frame
  double core_radius_mm = 0;         // nominal radii (before the shape noise)
  double necrosis_radius_mm = 0;
  double edema_radius_mm = 0;
};

struct SynthResult {
  io::Case c;  // id, geometry, all four images and seg in memory (files.* empty until written)
  TumourInfo tumour;
  LabelMap tissue;  // nearly pure normal tissue (posterior >= 0.8) away from the tumour: 1 CSF, 2 GM, 3 WM, else 0
};

// Deterministic case name: SYN_<seed>_<index, 3 digits>, e.g. SYN_42_007.
std::string case_name(std::uint64_t seed, int index);

// One case in memory. Throws gmd::InputError if the template cannot be read.
io::Case generate_case(const SynthOptions& opt, int index);
SynthResult generate_case_full(const SynthOptions& opt, int index);

// Writes <out>/<id>/<id>_{flair,t1,t1ce,t2,seg}.nii.gz (atomically, via gmd::io) and fills c.files.
// Returns the case folder.
std::filesystem::path write_case(io::Case& c, const std::filesystem::path& out);

struct CaseReport {
  int index = 0;
  std::string id;
  std::filesystem::path dir;
  TumourInfo tumour;
  std::array<std::int64_t, 3> region_voxels{};  // WT, TC, ET
  double voxel_ml = 0;                          // volume of one voxel in mL
  double generate_s = 0, write_s = 0;
};

struct DatasetOptions {
  SynthOptions synth;
  int first_index = 0;     // cases are first_index .. first_index + n - 1
  int parallel_cases = 1;  // cases generated concurrently (each uses synth.threads threads)
  std::function<void(const CaseReport&)> on_case;  // called in index order, once per written case
};

// Generates and writes n cases; returns their folders in index order.
std::vector<std::filesystem::path> generate_dataset(const std::filesystem::path& out, int n,
                                                    const DatasetOptions& opt);
std::vector<std::filesystem::path> generate_dataset(const std::filesystem::path& out, int n, std::uint64_t seed,
                                                    SynthSize size = SynthSize::Full);

// Montage: FLAIR | T1 | T1ce | T2 | T1ce with the seg overlaid (ED green, NCR/NET red, ET yellow), one
// axial slice (displayed radiologically: patient right on the image left, anterior up). slice < 0 picks
// the slice with the largest tumour core (or whole tumour when the core is empty). RGB, row-major.
struct Rgb8Image {
  int width = 0, height = 0;
  std::vector<std::uint8_t> rgb;  // width * height * 3
};
Rgb8Image render_montage(const io::Case& c, int slice = -1, int* chosen_slice = nullptr);
void write_png(const std::filesystem::path& path, const Rgb8Image& img);  // via ITK's PNG IO, atomically

}  // namespace gmd::synth
