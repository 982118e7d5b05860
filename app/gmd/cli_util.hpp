#pragma once
// Small helpers shared by the gmd sub-commands.
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

#include "gmd/common/modality.hpp"
#if GMD_CLI_FULL
#include <vector>

#include "gmd/io/dicom.hpp"
#include "gmd/pipeline/service.hpp"
#endif

namespace gmd::cli {

// --threads N for commands that run LibTorch (0 = the cores this process may use).
inline void add_threads_option(CLI::App* cmd, int& threads) {
  cmd->add_option("--threads", threads, "CPU threads for LibTorch (0 = all cores this process may use)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
}

#if GMD_CLI_FULL
// The series of a DICOM folder as a table: UID, description, size, plane, proposed modality, why (cmd_dicom.cpp).
std::string dicom_table(const std::vector<io::DicomSeries>& series);

// "" or "default" -> the bundled default model.
inline pipeline::Model load_model_arg(const std::string& arg) {
  if (arg.empty() || arg == "default") return pipeline::Model::load(pipeline::Model::default_path());
  return pipeline::Model::load(arg);
}
#endif

}  // namespace gmd::cli
