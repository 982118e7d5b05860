// gmd ablate: one case, one segmentation per subset of its modalities (encode once), against its seg or the
// all-present prediction.
#include <iostream>

#include "commands.hpp"
#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/io/case.hpp"
#include "gmd/pipeline/evaluate.hpp"
#include "infer_options.hpp"

namespace gmd::cli {

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
    const auto model = o->prepare();
    const auto c = io::load_case(io::discover_case(*case_dir));
    const auto a = pipeline::ablate(model, c, o->seg());
    pipeline::write_ablation(a, *out);
    std::cout << pipeline::ablation_csv(a) << a.entries.size() << " subsets written to " << *out << " (reference: "
              << (a.against_truth ? "ground truth" : "prediction from all present modalities") << ")\n";
  });
}

}  // namespace gmd::cli
