#include "gmd/engine/threads.hpp"

#include <ATen/Parallel.h>
#include <sched.h>

#include <algorithm>
#include <thread>

namespace gmd::engine {

int available_cores() {
#ifdef __linux__
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  return std::max(1u, std::thread::hardware_concurrency());
}

int set_threads(int n) {
  const int want = n > 0 ? n : available_cores();
  if (at::get_num_threads() != want) at::set_num_threads(want);
  return at::get_num_threads();
}

int current_threads() { return at::get_num_threads(); }

}  // namespace gmd::engine
