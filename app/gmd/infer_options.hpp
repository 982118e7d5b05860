#pragma once
// The options every inference sub-command shares (segment, evaluate, ablate): model, device, sliding-window patch,
// threads, ET post-processing.
#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "gmd/pipeline/service.hpp"

namespace gmd::cli {

struct InferOpts {
  std::string model, device = "auto";
  int64_t patch = 0, et_min = 0;
  int threads = 0;
  // The segmentation options these stand for (no side effect).
  pipeline::SegmentOptions seg() const;
  // Sets LibTorch's CPU threads (--threads) and loads the model (--model, default: the bundled one): what every
  // inference command does first.
  pipeline::Model prepare() const;
};

void add_infer_options(CLI::App* cmd, InferOpts& o, bool model_required);

}  // namespace gmd::cli
