// gmd info: where this installation found its resources, and a model card.
#include <iostream>

#include "cli_util.hpp"
#include "commands.hpp"
#include "gmd/pipeline/service.hpp"

namespace gmd::cli {

void add_info(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "info", "Print where the model, demo case and colour table were found, and a model card");
  auto model = std::make_shared<std::string>();
  auto paths_only = std::make_shared<bool>(false);
  cmd->add_option("model", *model, "Run folder or model.pt (default: the bundled model)");
  cmd->add_flag("--paths", *paths_only, "Only the installation's resources (also when the model is missing)");
  cmd->callback([=] {
    std::cout << "gmd " << GMD_VERSION << "\n" << pipeline::installation_report();
    if (*paths_only) return;
    std::cout << "\n" << load_model_arg(*model).summary();
  });
}

}  // namespace gmd::cli
