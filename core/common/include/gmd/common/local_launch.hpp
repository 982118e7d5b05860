#pragma once
// `gmd train --nproc N` (issue 16): runs N copies of a command on this machine as one c10d job, the way torchrun
// does - each with RANK = LOCAL_RANK = i, WORLD_SIZE = LOCAL_WORLD_SIZE = N, MASTER_ADDR = 127.0.0.1 and a free
// MASTER_PORT - and watches them. POSIX; torch-free.
#include <atomic>
#include <string>
#include <vector>

namespace gmd {

struct LaunchResult {
  int exit_code = 0;  // 0 when every rank succeeded; else the failing rank's code (2 stays 2), 1 for a signal
  std::string error;  // empty on success; else one line naming the rank that failed first and how
};

// Starts `exe` with `args` n times and waits for all. When one fails, the rank that failed first is named (a rank
// that merely lost its peers exits with gmd::kExitLostPeer and is not blamed when another failed) and the others
// are stopped: SIGTERM, then SIGKILL after grace_s. When *stop becomes true (the launcher was asked to stop),
// SIGTERM is passed on once to every rank (they agree on the step, write the checkpoint and the model). Throws
// std::runtime_error when a process cannot be started (the ones already started are killed).
LaunchResult launch_local(const std::string& exe, const std::vector<std::string>& args, int n,
                          const std::atomic<bool>* stop = nullptr, double grace_s = 30);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
int free_local_port();

// The path of the running executable (/proc/self/exe).
std::string self_executable();

}  // namespace gmd
