// gmd segment: one case, the modalities it has (or --modalities), a label map.
#include <fmt/format.h>

#include <iostream>

#include "commands.hpp"
#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/io/case.hpp"
#include "gmd/io/nifti.hpp"
#include "infer_options.hpp"

namespace gmd::cli {
namespace {
// --out naming one of the case's own files (directly or through a link) would destroy the input.
void refuse_overwriting_inputs(const std::string& out, const io::CaseFiles& files) {
  for (int m = 0; m < kNumModalities; ++m)
    if (files.modality[m] && same_file(out, *files.modality[m]))
      throw UsageError("--out " + out + ": is the case's " + std::string(modality_display(m)) +
                       " image; choose another output file");
  if (files.seg && same_file(out, *files.seg))
    throw UsageError("--out " + out + ": is the case's segmentation; choose another output file");
}

}  // namespace

void add_segment(CLI::App& app) {
  auto* cmd = app.add_subcommand("segment", "Segment a case with the modalities it has (or --modalities)");
  auto o = std::make_shared<InferOpts>();
  auto case_dir = std::make_shared<std::string>();
  auto mods = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  add_infer_options(cmd, *o, false);
  cmd->add_option("--case", *case_dir, "Case folder")->required();
  auto* mods_opt = cmd->add_option("--modalities", *mods, "Use only these, e.g. flair,t1ce (default: all present)");
  cmd->add_option("--out", *out, "Output label map (.nii.gz)")->required();
  cmd->callback([=] {
    if (mods_opt->count() > 0 && mods->empty())
      throw UsageError("--modalities: empty list (name some of flair, t1, t1ce, t2, or leave the option out to use "
                       "every modality the case has)");
    check_output_file(*out, "--out");
    const auto model = o->prepare();
    const auto files = io::discover_case(*case_dir);
    refuse_overwriting_inputs(*out, files);
    const SubsetMask want = mods->empty() ? (files.present() & model.modalities()) : parse_subset(*mods);
    const auto c = io::load_case(files, want, /*load_seg=*/false);
    const auto seg = pipeline::segment(model, c, want, o->seg());
    io::write_labels(*out, seg.labels);
    std::cout << fmt::format("{}: segmented with {} on {} in {:.1f} s -> {}\n", c.id, subset_name(seg.used),
                             seg.device, seg.seconds, *out);
    std::cout << fmt::format("WT {:.2f} mL  TC {:.2f} mL  ET {:.2f} mL  (NCR/NET {:.2f}, ED {:.2f}, ET {:.2f})\n",
                             seg.region_ml[0], seg.region_ml[1], seg.region_ml[2], seg.label_ml[0], seg.label_ml[1],
                             seg.label_ml[2]);
  });
}

}  // namespace gmd::cli
