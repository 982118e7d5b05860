// gmd evaluate: a model on every case of a dataset and all 15 subsets (the paper's Tables 2 and 3).
#include <iostream>

#include "commands.hpp"
#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/pipeline/evaluate.hpp"
#include "infer_options.hpp"

namespace gmd::cli {

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
    const auto model = o->prepare();
    const auto rep = pipeline::evaluate(model, *data, o->seg());
    pipeline::write_report(rep, *out);
    std::cout << pipeline::table3_markdown(rep) << "report written to " << *out << "\n";
  });
}

}  // namespace gmd::cli
