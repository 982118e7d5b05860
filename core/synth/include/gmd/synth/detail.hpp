#pragma once
// Internal helpers of gmd_synth.
#include <cstddef>
#include <functional>
#include <memory>

#include "gmd/synth/anatomy.hpp"
#include "gmd/synth/synth.hpp"

namespace gmd::synth::detail {

// Runs fn(0..n-1) on up to `threads` threads (dynamic scheduling). Callers make each fn(i)
// deterministic on its own, so results never depend on the thread count. Rethrows the first error.
void parallel_for(int threads, std::size_t n, const std::function<void(std::size_t)>& fn);

// The template anatomy at the smoothing the generator uses for o.size (cached by Anatomy::load). Throws
// gmd::InputError if the template is missing, unreadable, truncated or corrupt.
std::shared_ptr<const Anatomy> anatomy_for(const SynthOptions& o);

}  // namespace gmd::synth::detail
