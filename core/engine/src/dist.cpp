// c10d process groups for data-parallel training (dist.hpp). GMD_WITH_GLOO / GMD_WITH_NCCL (core/engine/CMakeLists.txt)
// say which transports' headers this build found; without them only world 1 trains.
#include "gmd/engine/dist.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>

#include "gmd/common/error.hpp"
#include "error_text.hpp"

#if GMD_WITH_GLOO || GMD_WITH_NCCL
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#if GMD_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if GMD_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace gmd::engine {
namespace {
using Clock = std::chrono::steady_clock;

// An environment variable as an integer in [lo, hi]; `fallback` when unset.
int env_int(const char* name, int fallback, int lo, int hi) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || x < lo || x > hi)
    throw UsageError(std::string("environment variable ") + name + "='" + v + "': expected an integer in [" +
                     std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return static_cast<int>(x);
}

// c10d's message without its C++ backtrace: the first line.
bool loopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1"; }
}  // namespace

DistSettings dist_settings_from_env() {
  DistSettings s;
  constexpr int kMax = 1 << 20;
  s.world = env_int("WORLD_SIZE", 1, 1, kMax);
  if (s.world == 1) return s;
  if (std::getenv("RANK") == nullptr) throw UsageError("environment variable WORLD_SIZE is set but RANK is not");
  s.rank = env_int("RANK", 0, 0, s.world - 1);
  s.local_world = env_int("LOCAL_WORLD_SIZE", 1, 1, s.world);
  s.local_rank = env_int("LOCAL_RANK", 0, 0, kMax);
  if (const char* a = std::getenv("MASTER_ADDR"); a != nullptr && *a != '\0') s.master_addr = a;
  s.master_port = env_int("MASTER_PORT", s.master_port, 1, 65535);
  return s;
}

std::vector<std::string> dist_backends() {
  std::vector<std::string> out;
#if GMD_WITH_GLOO
  out.emplace_back("gloo");
#endif
#if GMD_WITH_NCCL
  out.emplace_back("nccl");
#endif
  return out;
}

struct Communicator::Impl {
#if GMD_WITH_GLOO || GMD_WITH_NCCL
  c10::intrusive_ptr<c10d::Store> store;
#endif
  std::function<void(std::vector<at::Tensor>&)> allreduce;
  bool host_buffers = true;  // gloo reduces CPU buffers
};

Communicator::Communicator(const DistSettings& s, const torch::Device& device)
    : impl_(std::make_unique<Impl>()), rank_(s.rank), world_(s.world), timeout_s_(s.timeout_s) {
  if (s.backend != "auto" && s.backend != "gloo" && s.backend != "nccl")
    throw UsageError("unknown distributed backend '" + s.backend + "' (expected gloo, nccl or auto)");
  if (world_ == 1) return;
  if (!(s.timeout_s > 0)) throw UsageError("the distributed timeout must be positive");
  backend_ = s.backend == "auto" ? (device.is_cuda() ? "nccl" : "gloo") : s.backend;
  const auto have = dist_backends();
  if (std::find(have.begin(), have.end(), backend_) == have.end())
    throw UsageError("distributed backend '" + backend_ + "' is not in this build (" +
                     (have.empty() ? std::string("none is: build with LibTorch's c10d and Debian's libgloo-dev")
                                   : "it has: " + have.front() + (have.size() > 1 ? ", " + have.back() : "")) +
                     ")");
  if (backend_ == "nccl" && !device.is_cuda()) throw UsageError("the nccl backend needs --device cuda");
#if GMD_WITH_GLOO || GMD_WITH_NCCL
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(s.timeout_s * 1000.0));
  try {
    c10d::TCPStoreOptions o;
    o.port = static_cast<uint16_t>(s.master_port);
    o.isServer = s.rank == 0;
    o.numWorkers = s.world;
    o.waitWorkers = false;
    o.timeout = timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(s.master_addr, o);
#if GMD_WITH_GLOO
    if (backend_ == "gloo") {
      auto opts = c10d::ProcessGroupGloo::Options::create();
      opts->timeout = timeout;
      if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname != '\0')
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      else if (loopback(s.master_addr))
        opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, s.rank, s.world, opts);
      impl_->allreduce = [pg](std::vector<at::Tensor>& t) { pg->allreduce(t)->wait(); };
    }
#endif
#if GMD_WITH_NCCL
    if (backend_ == "nccl") {
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = timeout;
      auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl_->store, s.rank, s.world, opts);
      impl_->allreduce = [pg](std::vector<at::Tensor>& t) { pg->allreduce(t)->wait(); };
      impl_->host_buffers = false;
    }
#endif
    // A first collective: every rank has joined and the transport works before the training starts.
    std::vector<torch::Tensor> probe{torch::ones({1}, torch::kFloat64)};
    sum(probe, "the rendezvous");
    if (probe[0].item<double>() != static_cast<double>(world_))
      throw DistError("rank " + std::to_string(rank_) + ": the rendezvous counted " +
                      std::to_string(probe[0].item<double>()) + " ranks, expected " + std::to_string(world_));
  } catch (const DistError&) {
    throw;
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception& e) {
    throw DistError("rank " + std::to_string(rank_) + " of " + std::to_string(world_) + ": could not join the " +
                    backend_ + " process group at " + s.master_addr + ":" + std::to_string(s.master_port) +
                    " within " + std::to_string(static_cast<int>(s.timeout_s)) + " s: " + first_line(e));
  }
  spdlog::info("rank {} of {} joined the {} process group at {}:{}", rank_, world_, backend_, s.master_addr,
               s.master_port);
#endif
}

Communicator::~Communicator() = default;

void Communicator::sum(const std::vector<torch::Tensor>& tensors, const std::string& what) {
  if (world_ == 1) return;
  const auto t0 = Clock::now();
  std::map<int, std::vector<const torch::Tensor*>> by_type;
  for (const auto& t : tensors)
    if (t.defined() && t.numel() > 0) by_type[static_cast<int>(t.scalar_type())].push_back(&t);
  for (auto& [type, group] : by_type) {
    std::vector<torch::Tensor> parts;
    parts.reserve(group.size());
    for (const torch::Tensor* t : group) parts.push_back(t->reshape({-1}));
    torch::Tensor flat = torch::cat(parts);
    const bool staged = impl_->host_buffers && !flat.device().is_cpu();
    std::vector<at::Tensor> buf{staged ? flat.to(torch::kCPU) : flat};
    try {
      impl_->allreduce(buf);
    } catch (const std::exception& e) {
      throw DistError("rank " + std::to_string(rank_) + " of " + std::to_string(world_) + ": " + what +
                      " failed (another rank died, or did not answer within " +
                      std::to_string(static_cast<int>(timeout_s_)) + " s): " + first_line(e));
    }
    if (staged) flat.copy_(buf[0]);
    else flat = buf[0];
    int64_t off = 0;
    for (const torch::Tensor* t : group) {
      const int64_t n = t->numel();
      t->copy_(flat.narrow(0, off, n).view(t->sizes()));
      off += n;
    }
  }
  comm_s_ += std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace gmd::engine
