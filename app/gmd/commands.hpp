#pragma once
// Sub-commands of the `gmd` CLI. Each add_* registers one sub-command on the app; its callback does
// the work and throws gmd::UsageError / gmd::InputError (exit code 2, one-line message) on bad input.
#include <CLI/CLI.hpp>

namespace gmd::cli {

// In the engine-only build (GMD_CLI_FULL=0: no ITK, e.g. a GPU machine) only `train` (from a sample cache) exists.
void add_synth(CLI::App& app);     // cmd_synth.cpp
void add_cache(CLI::App& app);     // cmd_cache.cpp
void add_train(CLI::App& app);     // cmd_train.cpp
void add_segment(CLI::App& app);   // cmd_segment.cpp
void add_evaluate(CLI::App& app);  // cmd_evaluate.cpp
void add_ablate(CLI::App& app);    // cmd_ablate.cpp
void add_info(CLI::App& app);      // cmd_info.cpp
void add_dicom(CLI::App& app);     // cmd_dicom.cpp

}  // namespace gmd::cli
