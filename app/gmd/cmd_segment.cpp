// gmd segment / evaluate / ablate / info: inference-side sub-commands.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli_util.hpp"
#include "commands.hpp"
#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/io/case.hpp"
#include "gmd/io/nifti.hpp"
#include "gmd/pipeline/evaluate.hpp"

namespace gmd::cli {
namespace {
struct InferOpts {
  std::string model, device = "auto";
  int64_t patch = 0, et_min = 0;
  int threads = 0;
  pipeline::SegmentOptions seg() const {
    pipeline::set_threads(threads);
    pipeline::SegmentOptions s;
    s.device = device;
    s.patch = patch;
    s.et_min_voxels = et_min;
    return s;
  }
};
// --out naming one of the case's own files (directly or through a link) would destroy the input.
void refuse_overwriting_inputs(const std::string& out, const io::CaseFiles& files) {
  for (int m = 0; m < kNumModalities; ++m)
    if (files.modality[m] && same_file(out, *files.modality[m]))
      throw UsageError("--out " + out + ": is the case's " + std::string(modality_display(m)) +
                       " image; choose another output file");
  if (files.seg && same_file(out, *files.seg))
    throw UsageError("--out " + out + ": is the case's segmentation; choose another output file");
}

void add_infer_options(CLI::App* cmd, InferOpts& o, bool model_required) {
  auto* m = cmd->add_option("--model", o.model, "Run folder or model.pt (default: the bundled model)");
  if (model_required) m->required();
  cmd->add_option("--device", o.device, "auto|cpu|cuda")->capture_default_str();
  cmd->add_option("--patch", o.patch, "Sliding-window size (0 = from the model card)");
  add_threads_option(cmd, o.threads);
  cmd->add_option("--et-min", o.et_min, "Post-processing: ET smaller than this many voxels becomes core (0 = off)");
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
    const auto model = load_model_arg(o->model);
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

void add_evaluate(CLI::App& app) {
  auto* cmd = app.add_subcommand("evaluate", "Evaluate on all 15 subsets: table2.md/csv, table3.md, per_case.csv");
  auto o = std::make_shared<InferOpts>();
  auto data = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  add_infer_options(cmd, *o, false);
  cmd->add_option("--data", *data, "Dataset folder with *_seg files")->required();
  cmd->add_option("--out", *out, "Report folder")->required();
  cmd->callback([=] {
    check_output_folder(*out, "--out");
    if (same_file(*out, *data)) throw UsageError("--out " + *out + ": is the dataset folder; choose a separate report folder");
    const auto model = load_model_arg(o->model);
    const auto rep = pipeline::evaluate(model, *data, o->seg());
    pipeline::write_report(rep, *out);
    std::cout << pipeline::table3_markdown(rep) << "report written to " << *out << "\n";
  });
}

void add_ablate(CLI::App& app) {
  auto* cmd = app.add_subcommand("ablate", "One segmentation per modality subset (encode once) + ablation.csv");
  auto o = std::make_shared<InferOpts>();
  auto case_dir = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  add_infer_options(cmd, *o, false);
  cmd->add_option("--case", *case_dir, "Case folder")->required();
  cmd->add_option("--out", *out, "Output folder")->required();
  cmd->callback([=] {
    check_output_folder(*out, "--out");
    if (same_file(*out, *case_dir))
      throw UsageError("--out " + *out + ": is the case folder; the label maps would be taken for its images next time");
    const auto model = load_model_arg(o->model);
    const auto c = io::load_case(io::discover_case(*case_dir));
    const auto a = pipeline::ablate(model, c, o->seg());
    pipeline::write_ablation(a, *out);
    std::cout << pipeline::ablation_csv(a) << a.entries.size() << " subsets written to " << *out << " (reference: "
              << (a.against_truth ? "ground truth" : "prediction from all present modalities") << ")\n";
  });
}

void add_info(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Print a model card");
  auto model = std::make_shared<std::string>();
  cmd->add_option("model", *model, "Run folder or model.pt (default: the bundled model)");
  cmd->callback([=] { std::cout << load_model_arg(*model).summary(); });
}

}  // namespace gmd::cli
