#pragma once
// Data-parallel training across processes and machines on PyTorch's c10d (issue 16): a TCPStore for the rendezvous,
// a Gloo process group on CPU, NCCL on CUDA. No transport of our own.
//
// A process joins when launched the way PyTorch jobs are: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT in its environment (torchrun-style launchers, `srun`/`mpirun` wrappers, `gmd train
// --nproc N`). Rank 0 hosts the store.
#include <torch/torch.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "gmd/common/error.hpp"

namespace gmd::engine {

struct DistSettings {
  int rank = 0;
  int world = 1;
  int local_rank = 0;
  int local_world = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string backend = "auto";  // gloo | nccl | auto (nccl on CUDA, else gloo)
  double timeout_s = 300;        // a collective (or the rendezvous) that waits longer than this fails
};

// The environment's settings; a single process (world 1) when WORLD_SIZE is unset. Throws gmd::UsageError naming the
// variable when one is malformed or inconsistent (RANK outside [0, WORLD_SIZE), WORLD_SIZE set without RANK, ...).
DistSettings dist_settings_from_env();

// The backends this build can use ("gloo", "nccl"); empty when LibTorch's c10d headers or the transport's headers
// were missing at build time (then only world 1 trains).
std::vector<std::string> dist_backends();

// A collective failure is a gmd::DistError (gmd/common/error.hpp): a peer died, hung past the timeout, or the
// rendezvous did not complete. The message names the rank that noticed, what it was doing and what c10d said.
using gmd::DistError;

// One process group. world 1: no group, every collective is a no-op.
class Communicator {
 public:
  // Joins the group (blocks until every rank has joined, at most timeout_s). device picks the backend for "auto".
  // Throws gmd::UsageError for a backend this build lacks or one that does not fit the device, DistError when the
  // rendezvous fails.
  Communicator(const DistSettings& s, const torch::Device& device);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int world() const { return world_; }
  bool root() const { return rank_ == 0; }
  const std::string& backend() const { return backend_; }  // "" for world 1

  // Sums the tensors over the ranks, in place. Tensors of one dtype travel in one flat buffer (one collective per
  // dtype), so a whole step's gradients move in one all-reduce. `what` names the operation in errors.
  void sum(const std::vector<torch::Tensor>& tensors, const std::string& what);
  // Seconds this rank has spent in collectives so far (the trainer logs the difference per step as comm_s).
  double comm_seconds() const { return comm_s_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, world_ = 1;
  std::string backend_;
  double timeout_s_ = 300;
  double comm_s_ = 0;
};

}  // namespace gmd::engine
