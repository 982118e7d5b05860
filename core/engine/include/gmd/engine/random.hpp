#pragma once
// Portable randomness for training: the engines (mt19937_64, seed_seq) are fully specified by the C++
// standard, the std::*_distribution adaptors are not (libstdc++ and libc++ give different numbers).
// Everything the trainer draws goes through these explicit mappings, so a checkpoint resumes
// bit-exactly on any standard library (on CPU).
#include <cstdint>
#include <random>

namespace gmd::engine {

// Purposes of the per-step generators (part of the seed).
enum RngTag : uint32_t { kTagBatch = 1, kTagSubsets = 2, kTagGmd = 3 };

// A fresh generator for (seed, step, purpose): resuming at any step is bit-exact.
inline std::mt19937_64 step_rng(uint64_t seed, int64_t step, uint32_t tag) {
  const auto s = static_cast<uint64_t>(step);
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(s),
                    static_cast<uint32_t>(s >> 32), tag};
  return std::mt19937_64(seq);
}

// Uniform in [0, 1): the top 53 bits of one draw.
inline double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
// Uniform in [lo, hi).
inline double uniform_real(std::mt19937_64& rng, double lo, double hi) { return lo + (hi - lo) * uniform01(rng); }
// Uniform integer in [lo, hi] (inclusive), one draw, modulo mapping (bias < 2^-40 for ranges below 2^24).
inline int64_t uniform_int(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  if (hi <= lo) {
    rng();  // keep the number of draws independent of the range
    return lo;
  }
  const auto span = static_cast<uint64_t>(hi - lo) + 1u;
  return lo + static_cast<int64_t>(rng() % span);
}

}  // namespace gmd::engine
