#include "infer_options.hpp"

#include "cli_util.hpp"

namespace gmd::cli {

pipeline::SegmentOptions InferOpts::seg() const {
  pipeline::SegmentOptions s;
  s.device = device;
  s.patch = patch;
  s.et_min_voxels = et_min;
  return s;
}

pipeline::Model InferOpts::prepare() const {
  pipeline::set_threads(threads);
  return load_model_arg(model);
}

void add_infer_options(CLI::App* cmd, InferOpts& o, bool model_required) {
  auto* m = cmd->add_option("--model", o.model, "Run folder or model.pt (default: the bundled model)");
  if (model_required) m->required();
  cmd->add_option("--device", o.device, "auto|cpu|cuda")->capture_default_str();
  cmd->add_option("--patch", o.patch, "Sliding-window size (0 = from the model card)");
  add_threads_option(cmd, o.threads);
  cmd->add_option("--et-min", o.et_min, "Post-processing: ET smaller than this many voxels becomes core (0 = off)");
}

}  // namespace gmd::cli
