#pragma once
// Internal helpers of gmd_synth.
#include <cstddef>
#include <functional>

namespace gmd::synth::detail {

// Runs fn(0..n-1) on up to `threads` threads (dynamic scheduling). Callers make each fn(i)
// deterministic on its own, so results never depend on the thread count. Rethrows the first error.
void parallel_for(int threads, std::size_t n, const std::function<void(std::size_t)>& fn);

}  // namespace gmd::synth::detail
