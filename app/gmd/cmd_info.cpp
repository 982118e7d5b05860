// gmd info: a model card.
#include <iostream>

#include "cli_util.hpp"
#include "commands.hpp"

namespace gmd::cli {

void add_info(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Print a model card");
  auto model = std::make_shared<std::string>();
  cmd->add_option("model", *model, "Run folder or model.pt (default: the bundled model)");
  cmd->callback([=] { std::cout << load_model_arg(*model).summary(); });
}

}  // namespace gmd::cli
