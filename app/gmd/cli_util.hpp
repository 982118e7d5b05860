#pragma once
// Small helpers shared by the gmd sub-commands.
#include <filesystem>
#include <string>

#include "gmd/common/modality.hpp"
#include "gmd/pipeline/service.hpp"

namespace gmd::cli {

// "" or "default" -> the bundled default model.
inline pipeline::Model load_model_arg(const std::string& arg) {
  if (arg.empty() || arg == "default") return pipeline::Model::load(pipeline::Model::default_path());
  return pipeline::Model::load(arg);
}

}  // namespace gmd::cli
