// The engine's CUDA paths. Built in every build: the first test holds in both (it fails if the CUDA-only code is
// not compiled against a CUDA LibTorch, or is compiled against a CPU-only one); the others need a GPU and skip
// with "no CUDA device" where none is visible (CTest counts them as skipped, not passed).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <torch/torch.h>

#include "../../core/engine/src/amp.hpp"  // detail::is_oom_message, the engine's OOM classifier
#include "gmd/common/fs_util.hpp"
#include "gmd/engine/cuda.hpp"
#include "gmd/engine/model_io.hpp"
#include "gmd/engine/predictor.hpp"
#include "gmd/engine/trainer.hpp"

using namespace gmd::engine;
namespace fs = std::filesystem;

namespace {
// Independent of our CMake detection: is the CUDA part of LibTorch (libc10_cuda.so) mapped into this process?
// It is exactly when the test executable was linked against a CUDA LibTorch.
bool libtorch_cuda_mapped() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line))
    if (line.find("libc10_cuda") != std::string::npos) return true;
  return false;
}

#define GMD_REQUIRE_CUDA() \
  if (!gmd::engine::cuda::available()) GTEST_SKIP() << "no CUDA device"

// A two-case toy dataset: a bright ball (WT) with a core (TC) and a shell (ET), four noisy channels.
Sample ball_case(const std::string& id, int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  const auto r = torch::arange(n, torch::kFloat);
  const double c = n / 2.0 + static_cast<double>(seed % 3) - 1.0;
  const torch::Tensor d = torch::sqrt((r.view({-1, 1, 1}) - c).pow(2) + (r.view({1, -1, 1}) - c).pow(2) +
                                      (r.view({1, 1, -1}) - c).pow(2));
  const torch::Tensor wt = (d < n / 4.0).to(torch::kFloat), tc = (d < n / 6.0).to(torch::kFloat),
                      et = ((d < n / 6.0) & (d > n / 12.0)).to(torch::kFloat);
  Sample s;
  s.id = id;
  s.present = gmd::kFullMask;
  s.image = torch::stack({1.5 * wt, -0.6 * wt - 0.8 * tc, 0.6 * wt + 1.5 * et, 1.2 * wt + 0.4 * tc}) +
            torch::randn({4, n, n, n}) * 0.2;
  s.target = torch::stack({wt, tc, et}).to(torch::kUInt8);
  return s;
}

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("gmd_test_cuda_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}
}  // namespace

TEST(Cuda, CompiledExactlyWhenLibTorchHasCuda) {
  EXPECT_EQ(cuda::compiled(), libtorch_cuda_mapped());
  if (!cuda::compiled()) {
    EXPECT_FALSE(cuda::available());
    EXPECT_EQ(cuda::device_count(), 0);
    EXPECT_EQ(cuda::memory_stats().allocated, -1);
    EXPECT_TRUE(cuda::device_name().empty());
    cuda::release_cached_memory();  // harmless without CUDA
  }
  // Whatever the build, availability agrees with LibTorch's own answer.
  EXPECT_EQ(cuda::available(), cuda::compiled() && torch::cuda::is_available());
}

TEST(Cuda, MemoryStatsFollowAllocations) {
  GMD_REQUIRE_CUDA();
  EXPECT_FALSE(cuda::device_name().empty());
  cuda::release_cached_memory();
  cuda::reset_peak();
  const auto before = cuda::memory_stats();
  {
    const auto t = torch::empty({64 << 20}, torch::TensorOptions().device(torch::kCUDA).dtype(torch::kFloat));
    const auto during = cuda::memory_stats();
    EXPECT_GE(during.allocated - before.allocated, int64_t(256) << 20);
    EXPECT_GE(during.peak_allocated, during.allocated);
    EXPECT_GE(during.reserved, during.allocated);
  }
  const auto after = cuda::memory_stats();
  EXPECT_LT(after.allocated, before.allocated + (int64_t(1) << 20));
  EXPECT_GE(after.peak_allocated, int64_t(256) << 20);
  cuda::release_cached_memory();
  EXPECT_LT(cuda::memory_stats().reserved, after.reserved);
}

TEST(Cuda, OutOfMemoryIsRecognised) {
  GMD_REQUIRE_CUDA();
  try {
    const auto t = torch::empty({int64_t(1) << 42}, torch::TensorOptions().device(torch::kCUDA).dtype(torch::kFloat));
    FAIL() << "a 16 TiB allocation succeeded";
  } catch (const c10::Error& e) {
    EXPECT_TRUE(gmd::engine::detail::is_oom_message(e.what_without_backtrace())) << e.what_without_backtrace();
  }
  cuda::release_cached_memory();
  EXPECT_NO_THROW(torch::ones({16}, torch::kCUDA).sum().item<float>());  // the device still works
}

TEST(Cuda, PredictionMatchesCpu) {
  GMD_REQUIRE_CUDA();
  NetConfig cfg;
  cfg.method = Method::DS;
  cfg.widths = {4, 8, 16};
  cfg.groups = 2;
  torch::manual_seed(3);
  SegModel model = make_model(cfg);
  const Sample s = ball_case("p", 32, 4);
  PredictOptions po;
  po.patch = 16;
  po.amp = false;
  const std::vector<gmd::SubsetMask> subsets = {gmd::kFullMask, 0b0001, 0b0100};
  const auto cpu = predict_subsets(*model, s.image, s.present, subsets, torch::kCPU, po);
  model->to(torch::kCUDA);
  const auto gpu = predict_subsets(*model, s.image, s.present, subsets, torch::Device(torch::kCUDA, 0), po);
  po.amp = true;  // bf16 autocast: close, not equal
  const auto gpu_amp = predict_subsets(*model, s.image, s.present, subsets, torch::Device(torch::kCUDA, 0), po);
  ASSERT_EQ(gpu.size(), subsets.size());
  for (size_t i = 0; i < subsets.size(); ++i) {
    EXPECT_TRUE(gpu[i].device().is_cpu());
    EXPECT_LT((gpu[i] - cpu[i]).abs().max().item<float>(), 2e-3f) << "subset " << i;
    EXPECT_LT((gpu_amp[i] - cpu[i]).abs().mean().item<float>(), 2e-2f) << "subset " << i;
  }
}

TEST(Cuda, TrainsWithBf16AndFp16Autocast) {
  GMD_REQUIRE_CUDA();
  const std::vector<Sample> train_set = {ball_case("a", 24, 1), ball_case("b", 24, 2)};
  for (const std::string amp : {"bf16", "fp16", "none"}) {
    const fs::path dir = fresh_dir("train_" + amp);
    TrainConfig c;
    c.net.method = Method::DSGMD;
    c.net.widths = {4, 8};
    c.net.groups = 2;
    c.steps = 6;
    c.patch = 16;
    c.k = 3;
    c.lr = 3e-3;
    c.device = "cuda";
    c.amp = amp;
    c.val_every = 0;
    c.checkpoint_every = 3;
    train(c, train_set, {train_set[0]}, dir);
    ASSERT_TRUE(fs::exists(dir / "model.pt")) << amp;
    const auto loaded = load_model(dir, torch::kCPU);
    for (const auto& p : loaded.model->parameters())
      EXPECT_TRUE(torch::isfinite(p).all().item<bool>()) << amp;
    // Every step was logged with a finite loss.
    std::istringstream in(gmd::read_text(dir / "metrics.jsonl"));
    std::string line;
    int steps = 0;
    while (std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line);
      if (j.value("type", "") != "step") continue;
      ++steps;
      EXPECT_TRUE(std::isfinite(j["loss"].get<double>())) << amp << ": " << line;
    }
    EXPECT_EQ(steps, 6) << amp;
    fs::remove_all(dir);
  }
}
