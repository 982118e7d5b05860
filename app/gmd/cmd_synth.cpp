// gmd synth: writes synthetic BraTS-layout cases (real Colin27 anatomy, simulated tumour and contrasts).
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "commands.hpp"
#include "gmd/common/error.hpp"
#include "gmd/common/modality.hpp"
#include "gmd/io/case.hpp"
#include "gmd/io/dicom.hpp"
#include "gmd/io/nifti.hpp"
#include "gmd/synth/synth.hpp"

namespace gmd::cli {
namespace fs = std::filesystem;

void add_synth(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "synth",
      "Write synthetic BraTS-layout cases: DIR/<case>/<case>_{flair,t1,t1ce,t2,seg}.nii.gz, case names "
      "SYN_<seed>_<index>. Sizes: full = 240x240x155 at 1 mm (BraTS), small = 120x120x78 at 2 mm, "
      "tiny = 60x60x39 at 4 mm (tests)");
  struct Opts {
    std::string out, size = "full", grade = "random", template_path;
    int cases = 1, first_index = 0, jobs = 1, threads = 2;
    std::uint64_t seed = 1;
    bool dicom = false;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--out", o->out, "Output dataset folder (created if needed)")->required();
  cmd->add_option("--cases", o->cases, "Number of cases")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Dataset seed (same seed -> identical files)")->capture_default_str();
  cmd->add_option("--size", o->size, "full|small|tiny")->capture_default_str();
  cmd->add_option("--first-index", o->first_index, "Index of the first case (SYN_<seed>_<index>)")
      ->capture_default_str();
  cmd->add_option("--grade", o->grade, "random|hgg|lgg (lgg: no enhancing tumour)")->capture_default_str();
  cmd->add_option("--jobs", o->jobs, "Cases generated concurrently")->capture_default_str();
  cmd->add_option("--threads", o->threads, "Threads per case")->capture_default_str();
  cmd->add_option("--template", o->template_path,
                  "Skull-stripped T1 template (default: $GMD_SYNTH_TEMPLATE or mricron-data's ch2bet.nii.gz)");
  cmd->add_flag("--dicom", o->dicom,
                "Also write each case as DICOM series, one per sequence as a scanner exports them, with a DICOMDIR, in "
                "DIR/<case>_dicom "
                "(for trying DICOM input: gmd dicom, gmd segment --case DIR/<case>_dicom)");
  cmd->callback([o] {
    if (o->cases < 1) throw UsageError(fmt::format("--cases must be >= 1 (got {})", o->cases));
    if (o->first_index < 0) throw UsageError(fmt::format("--first-index must be >= 0 (got {})", o->first_index));
    if (o->jobs < 1) throw UsageError(fmt::format("--jobs must be >= 1 (got {})", o->jobs));
    if (o->threads < 1) throw UsageError(fmt::format("--threads must be >= 1 (got {})", o->threads));
    synth::DatasetOptions d;
    d.synth.size = synth::parse_size(o->size);
    d.synth.seed = o->seed;
    d.synth.threads = o->threads;
    if (o->grade == "random")
      d.synth.grade = synth::TumourGrade::Random;
    else if (o->grade == "hgg")
      d.synth.grade = synth::TumourGrade::HGG;
    else if (o->grade == "lgg")
      d.synth.grade = synth::TumourGrade::LGG;
    else
      throw UsageError("--grade must be random, hgg or lgg (got '" + o->grade + "')");
    if (!o->template_path.empty()) d.synth.template_path = o->template_path;
    d.first_index = o->first_index;
    d.parallel_cases = o->jobs;
    d.on_case = [](const synth::CaseReport& r) {
      const auto ml = [&](int k) { return r.region_voxels[k] * r.voxel_ml; };
      std::cout << fmt::format("{}  {}  WT {:6.1f} mL  TC {:6.1f} mL  ET {:6.1f} mL  ({:.1f} s + write {:.1f} s)  {}\n",
                               r.id, r.tumour.hgg ? "HGG" : "LGG", ml(0), ml(1), ml(2), r.generate_s, r.write_s,
                               r.dir.string())
                << std::flush;
    };
    const auto geom = synth::brats_geometry(d.synth.size);
    const auto t0 = std::chrono::steady_clock::now();
    const auto dirs = synth::generate_dataset(o->out, o->cases, d);
    if (o->dicom) {
      // Scanner-like series descriptions; DICOM stores integers, so each image is scaled to 0..1000 (the pipeline
      // z-scores every modality, so the scale does not matter).
      static constexpr std::array<const char*, kNumModalities> kDescriptions{"AX T2 FLAIR", "AX T1 SE", "AX T1 SE +C",
                                                                             "AX T2 TSE"};
      for (std::size_t i = 0; i < dirs.size(); ++i) {
        const io::CaseFiles files = io::discover_case(dirs[i]);
        const std::uint64_t case_no = o->seed * 100000 + static_cast<std::uint64_t>(o->first_index) + i;
        const std::string study = fmt::format("2.25.{}", case_no * 10);
        for (int m = 0; m < kNumModalities; ++m) {
          Image img = io::read_image(*files.modality[static_cast<std::size_t>(m)]);
          float hi = 0;
          for (float v : img.voxels) hi = std::max(hi, std::abs(v));
          if (hi > 0)
            for (float& v : img.voxels) v *= 1000.0f / hi;
          io::write_dicom_series(img, fs::path(dirs[i].string() + "_dicom") / fmt::format("S{}", m + 1), kDescriptions[m],
                                 fmt::format("{}.{}", study, m + 1), study, m == 2 ? "GADOLINIUM" : "");
        }
        io::write_dicomdir(dirs[i].string() + "_dicom");  // as on a scanner's CD
        std::cout << fmt::format("{}: DICOM series and a DICOMDIR in {}_dicom\n", files.id, dirs[i].string());
      }
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << fmt::format("wrote {} case{} ({}: {}x{}x{} at {:g} mm, seed {}) to {} in {:.1f} s\n", dirs.size(),
                             dirs.size() == 1 ? "" : "s", synth::size_name(d.synth.size), geom.size[0], geom.size[1],
                             geom.size[2], geom.spacing[0], o->seed, o->out, s);
  });
}

}  // namespace gmd::cli
