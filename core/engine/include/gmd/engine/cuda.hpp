#pragma once
// The engine's CUDA facts and controls. Every function works in both builds: with Debian's CPU-only LibTorch
// (GMD_WITH_CUDA off) they report "no CUDA" and do nothing; with a CUDA LibTorch (the PyPI wheel, preset torch2 or
// a GPU machine) they talk to the CUDA caching allocator (core/engine/src/cuda_runtime.cpp).
#include <cstdint>
#include <string>

namespace gmd::engine::cuda {

// True when this build's LibTorch has CUDA and the CUDA-only code was compiled (whether or not a GPU is present).
bool compiled();
// compiled() and at least one device visible.
bool available();
int device_count();
// "NVIDIA H200" etc.; empty when there is no such device.
std::string device_name(int index = 0);

// The caching allocator's bytes on device `index` (aggregate over pools); -1 when not available.
struct MemoryStats {
  int64_t allocated = -1;       // now
  int64_t peak_allocated = -1;  // since the last reset_peak
  int64_t reserved = -1;        // held by the allocator (allocated + cached)
};
MemoryStats memory_stats(int index = 0);
void reset_peak(int index = 0);
// Returns the allocator's cached blocks to the driver (after an out-of-memory error, so that a retry on a
// smaller problem, or another process, can use them). No-op without CUDA.
void release_cached_memory();
// Makes `index` the current device: "cuda" without an index then means it (a local rank's GPU). No-op without CUDA
// or for an index out of range.
void set_current_device(int index);

}  // namespace gmd::engine::cuda
