// CUDA facts and allocator controls (gmd/engine/cuda.hpp). The CUDA-only part is compiled when the LibTorch found
// by CMake has CUDA (GMD_WITH_CUDA=1: the c10/cuda headers and libc10_cuda exist), whether or not a GPU is present.
#include "gmd/engine/cuda.hpp"

#include <torch/cuda.h>

#if GMD_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>
#endif

namespace gmd::engine::cuda {

bool compiled() { return GMD_WITH_CUDA != 0; }

int device_count() {
#if GMD_WITH_CUDA
  return static_cast<int>(torch::cuda::device_count());
#else
  return 0;
#endif
}

bool available() { return compiled() && device_count() > 0; }

std::string device_name(int index) {
#if GMD_WITH_CUDA
  if (index < 0 || index >= device_count()) return {};
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, index) != cudaSuccess) return {};
  return prop.name;
#else
  (void)index;
  return {};
#endif
}

MemoryStats memory_stats(int index) {
  MemoryStats m;
#if GMD_WITH_CUDA
  if (index < 0 || index >= device_count()) return m;
  const auto s = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(index));
  constexpr size_t kAggregate = 0;  // StatType::AGGREGATE
  m.allocated = s.allocated_bytes[kAggregate].current;
  m.peak_allocated = s.allocated_bytes[kAggregate].peak;
  m.reserved = s.reserved_bytes[kAggregate].current;
#else
  (void)index;
#endif
  return m;
}

void reset_peak(int index) {
#if GMD_WITH_CUDA
  if (index >= 0 && index < device_count())
    c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(index));
#else
  (void)index;
#endif
}

void release_cached_memory() {
#if GMD_WITH_CUDA
  if (device_count() > 0) c10::cuda::CUDACachingAllocator::emptyCache();
#endif
}

void set_current_device(int index) {
#if GMD_WITH_CUDA
  if (index >= 0 && index < device_count()) c10::cuda::set_device(static_cast<c10::DeviceIndex>(index));
#else
  (void)index;
#endif
}

}  // namespace gmd::engine::cuda
