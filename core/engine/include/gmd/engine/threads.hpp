#pragma once
// LibTorch's intra-op thread count. Its default on our VMs is 1, which leaves half of a 2-core machine idle.

namespace gmd::engine {

// CPUs this process may run on (sched_getaffinity; falls back to hardware_concurrency, at least 1).
int available_cores();
// Sets LibTorch's intra-op threads: n > 0 exactly n, n <= 0 available_cores(). Returns the count in effect.
int set_threads(int n);
// The count in effect (at::get_num_threads()).
int current_threads();

}  // namespace gmd::engine
