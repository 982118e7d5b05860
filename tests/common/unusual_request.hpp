#pragma once
// A valid training request with every field away from its default, so that a form (JSON, command line, config.json)
// that forgets a field shows up as a difference. Shared by the common, engine and CLI tests.
#include "gmd/common/train_request.hpp"

namespace gmd_test {

inline gmd::TrainRequest unusual_request() {
  gmd::TrainRequest r;
  r.data_dir = "/data/brats, 2021 'quoted'";
  r.run_dir = "runs/a b";
  r.method = "ds";
  r.policy = "missing2";
  r.k = 3;
  r.steps = 1234;
  r.patch = 48;
  r.batch = 2;
  r.widths = "8,16,32,64,128";
  r.fusion = "feature";
  r.stem = true;
  r.projection = "none";
  r.combine = "mean";
  r.device = "cpu";
  r.amp = "none";
  r.seed = 1234567890123ull;
  r.lr = 1.0 / 3.0;
  r.weight_decay = 0;
  r.bce = 0.5;
  r.fg_prob = 0.125;
  r.checkpoint_every = 50;
  r.val_every = 25;
  r.val_cases = 3;
  r.infer_patch = 96;
  r.threads = 1;
  r.nproc = 2;
  r.dist_backend = "gloo";
  r.dist_timeout = 12.5;
  return r;
}

}  // namespace gmd_test
