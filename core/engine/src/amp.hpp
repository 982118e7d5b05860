#pragma once
// Private helper of the engine (not installed): RAII CUDA autocast that compiles against
// LibTorch 1.13 (at::autocast::set_enabled) and 2.4+ (set_autocast_enabled(device, ...)).
#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <optional>
#include <string>

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define GMD_AUTOCAST_DEVICE_API 1
#else
#define GMD_AUTOCAST_DEVICE_API 0
#endif

namespace gmd::engine::detail {

// Resolves an amp option ("auto", "none", "bf16", "fp16") for a device. Autocast is used on CUDA
// only; returns std::nullopt for "no autocast".
inline std::optional<at::ScalarType> amp_dtype(const std::string& amp, const torch::Device& device) {
  if (!device.is_cuda()) return std::nullopt;
  if (amp == "auto" || amp == "bf16") return at::kBFloat16;
  if (amp == "fp16") return at::kHalf;
  return std::nullopt;
}

class AutocastGuard {
 public:
  explicit AutocastGuard(std::optional<at::ScalarType> dtype) : enabled_(dtype.has_value()) {
    if (!enabled_) return;
#if GMD_AUTOCAST_DEVICE_API
    prev_enabled_ = at::autocast::is_autocast_enabled(at::kCUDA);
    prev_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
    at::autocast::set_autocast_dtype(at::kCUDA, *dtype);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
    prev_enabled_ = at::autocast::is_enabled();
    prev_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(*dtype);
    at::autocast::set_enabled(true);
#endif
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if GMD_AUTOCAST_DEVICE_API
    at::autocast::set_autocast_enabled(at::kCUDA, prev_enabled_);
    at::autocast::set_autocast_dtype(at::kCUDA, prev_dtype_);
#else
    at::autocast::set_enabled(prev_enabled_);
    at::autocast::set_autocast_gpu_dtype(prev_dtype_);
#endif
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool enabled_ = false;
  bool prev_enabled_ = false;
  at::ScalarType prev_dtype_ = at::kFloat;
};

// True if a c10::Error (or anything else) is an out-of-memory condition of the accelerator.
inline bool is_oom_message(const std::string& what) {
  return what.find("out of memory") != std::string::npos || what.find("OutOfMemory") != std::string::npos;
}

}  // namespace gmd::engine::detail
