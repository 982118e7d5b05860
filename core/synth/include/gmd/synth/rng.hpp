#pragma once
// Deterministic random numbers for the generator: std::mt19937_64 (its output sequence is fixed by
// the C++ standard) with our own uniform / normal transforms, so results do not depend on the
// standard library's distribution implementations.
#include <cstdint>
#include <random>

namespace gmd::synth {

// SplitMix64 finaliser: a bijective 64-bit mix, used to derive independent seeds.
constexpr std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
// Seed of the stream (a, b) below `base`.
constexpr std::uint64_t derive_seed(std::uint64_t base, std::uint64_t a, std::uint64_t b = 0) {
  return splitmix64(splitmix64(splitmix64(base) ^ a) + 0x632BE59BD9B4E019ull * (b + 1));
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : eng_(splitmix64(seed)) {}
  std::uint64_t bits() { return eng_(); }
  // [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(eng_() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Integer in [lo, hi].
  int uniform_int(int lo, int hi) {
    const auto n = static_cast<std::uint64_t>(hi - lo + 1);
    return lo + static_cast<int>(eng_() % n);
  }
  bool bernoulli(double p) { return uniform() < p; }
  // Standard normal (Box-Muller, both values used).
  double normal();

 private:
  std::mt19937_64 eng_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace gmd::synth
