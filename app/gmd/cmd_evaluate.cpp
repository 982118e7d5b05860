// gmd evaluate: a model on every case of a dataset and all 15 subsets (the paper's Tables 2 and 3).
#include <iostream>

#include "commands.hpp"
#include "gmd/common/error.hpp"
#include "gmd/common/run_files.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/pipeline/evaluate.hpp"
#include "infer_options.hpp"

namespace gmd::cli {

void add_evaluate(CLI::App& app) {
  auto* cmd = app.add_subcommand("evaluate", "Evaluate on all 15 subsets: table2.md/csv, table3.md, per_case.csv");
  auto o = std::make_shared<InferOpts>();
  auto data = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto attach = std::make_shared<bool>(false);
  auto test_set = std::make_shared<std::string>();
  add_infer_options(cmd, *o, false);
  cmd->add_option("--data", *data, "Dataset folder with *_seg files")->required();
  cmd->add_option("--out", *out, "Report folder")->required();
  cmd->add_flag("--attach", *attach,
                "Store the per-subset Dice/HD95 in the model's model.json as its expected accuracy (held-out cases "
                "only: refused when a case was used for training or validation)");
  cmd->add_option("--test-set", *test_set, "With --attach: how the cases were made, in words (default: the --data path)");
  cmd->callback([=] {
    check_output_folder(*out, "--out");
    if (same_file(*out, *data)) throw UsageError("--out " + *out + ": is the dataset folder; choose a separate report folder");
    const auto model = o->prepare();
    if (*attach) pipeline::check_held_out(model, *data);
    const auto rep = pipeline::evaluate(model, *data, o->seg());
    pipeline::write_report(rep, *out);
    std::cout << pipeline::table3_markdown(rep) << "report written to " << *out << "\n";
    if (*attach) {
      pipeline::attach_accuracy(model, rep, test_set->empty() ? "gmd evaluate --data " + *data : *test_set);
      std::cout << "expected accuracy stored in " << (model.path() / run_files::kCard).string() << "\n";
    }
  });
}

}  // namespace gmd::cli
