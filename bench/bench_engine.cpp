// Engine benchmark: training step time of vanilla / ds / ds-gmd (same k, patch, seeds, data), sliding-window
// inference of one case for one subset, all 15 subsets encoded once, and 15 separate runs; peak memory.
// Every measurement runs in a fresh child process (this executable re-run with --phase), so that peak RSS
// (getrusage maxrss) belongs to that measurement alone. Prints Markdown.
//
//   bench_engine [--patch 64] [--widths 8,16,32,64] [--k 5] [--steps 3] [--warmup 1] [--device cpu|cuda|auto]
//                [--volume 96x128x96] [--overlap 0.5] [--methods vanilla,ds,ds-gmd] [--amp auto|none]
//                [--threads N] [--skip-train] [--skip-infer] [--skip-separate]
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>


#include <ATen/CPUGeneratorImpl.h>

#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/engine/cuda.hpp"
#include "gmd/engine/model_io.hpp"
#include "gmd/engine/predictor.hpp"
#include "gmd/engine/trainer.hpp"

using namespace gmd::engine;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int64_t patch = 64;
  std::vector<int64_t> widths{8, 16, 32, 64};
  int k = 5;
  int64_t steps = 3;
  int64_t warmup = 1;
  std::string device = "cpu";
  std::array<int64_t, 3> volume{96, 128, 96};
  double overlap = 0.5;
  std::vector<std::string> methods{"vanilla", "ds", "ds-gmd"};
  std::string amp = "auto";
  int threads = 0;  // 0 = LibTorch's default
  bool skip_train = false, skip_infer = false, skip_separate = false;
  // child only
  std::string phase, method, mode;
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string tok;
  while (std::getline(ss, tok, sep))
    if (!tok.empty()) out.push_back(tok);
  return out;
}

std::string join(const std::vector<int64_t>& v, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + std::to_string(v[i]);
  return s;
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw gmd::UsageError("option " + a + " needs a value");
      return argv[++i];
    };
    if (a == "--patch")
      o.patch = std::stoll(value());
    else if (a == "--widths") {
      o.widths.clear();
      for (const auto& w : split(value(), ',')) o.widths.push_back(std::stoll(w));
    } else if (a == "--k")
      o.k = std::stoi(value());
    else if (a == "--steps")
      o.steps = std::stoll(value());
    else if (a == "--warmup")
      o.warmup = std::stoll(value());
    else if (a == "--device")
      o.device = value();
    else if (a == "--volume") {
      const auto d = split(value(), 'x');
      if (d.size() != 3) throw gmd::UsageError("--volume expects DxHxW");
      for (int j = 0; j < 3; ++j) o.volume[static_cast<size_t>(j)] = std::stoll(d[static_cast<size_t>(j)]);
    } else if (a == "--overlap")
      o.overlap = std::stod(value());
    else if (a == "--methods")
      o.methods = split(value(), ',');
    else if (a == "--amp")
      o.amp = value();
    else if (a == "--threads")
      o.threads = std::stoi(value());
    else if (a == "--skip-train")
      o.skip_train = true;
    else if (a == "--skip-infer")
      o.skip_infer = true;
    else if (a == "--skip-separate")
      o.skip_separate = true;
    else if (a == "--phase")
      o.phase = value();
    else if (a == "--method")
      o.method = value();
    else if (a == "--mode")
      o.mode = value();
    else if (a == "--help" || a == "-h") {
      std::cout << "usage: bench_engine [--patch N] [--widths a,b,..] [--k K] [--steps N] [--warmup N]\n"
                   "                    [--device cpu|cuda|auto] [--volume DxHxW] [--overlap F]\n"
                   "                    [--methods vanilla,ds,ds-gmd,unimodal] [--amp auto|none] [--threads N]\n"
                   "                    [--skip-train] [--skip-infer] [--skip-separate]\n";
      std::exit(0);
    } else {
      throw gmd::UsageError("unknown option " + a);
    }
  }
  return o;
}

std::string common_args(const Options& o) {
  std::ostringstream s;
  s << " --patch " << o.patch << " --widths " << join(o.widths, ",") << " --k " << o.k << " --steps " << o.steps
    << " --warmup " << o.warmup << " --device " << o.device << " --volume " << o.volume[0] << "x" << o.volume[1] << "x"
    << o.volume[2] << " --overlap " << o.overlap << " --amp " << o.amp << " --threads " << o.threads;
  return s.str();
}

double cpu_seconds() {  // user + system CPU time of this process (all threads)
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

double maxrss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // KiB on Linux
}

void reset_gpu_peak(const torch::Device& d) {
  if (d.is_cuda()) gmd::engine::cuda::reset_peak(d.index() < 0 ? 0 : d.index());
}
double gpu_peak_mib(const torch::Device& d) {
  if (!d.is_cuda()) return -1.0;
  const auto m = gmd::engine::cuda::memory_stats(d.index() < 0 ? 0 : d.index());
  return m.peak_allocated < 0 ? -1.0 : static_cast<double>(m.peak_allocated) / (1024.0 * 1024.0);
}
void sync(const torch::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize();
}

// A synthetic case: smooth random "anatomy" in 4 channels and a spherical tumour (WT/TC/ET nested).
Sample synthetic_case(const std::array<int64_t, 3>& dims, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int64_t D = dims[0], H = dims[1], W = dims[2];
  const auto z = torch::arange(D, torch::kFloat).view({-1, 1, 1}), y = torch::arange(H, torch::kFloat).view({1, -1, 1}),
             x = torch::arange(W, torch::kFloat).view({1, 1, -1});
  const torch::Tensor d = torch::sqrt((z - D * 0.5).pow(2) + (y - H * 0.45).pow(2) + (x - W * 0.55).pow(2));
  const double r = std::min({D, H, W}) * 0.18;
  const torch::Tensor wt = (d < r).to(torch::kFloat), tc = (d < 0.6 * r).to(torch::kFloat),
                      et = ((d < 0.6 * r) & (d > 0.35 * r)).to(torch::kFloat);
  Sample s;
  s.id = "bench";
  s.present = gmd::kFullMask;
  s.image = torch::stack({1.5 * wt, -0.8 * tc, 1.5 * et, 1.2 * wt}) + 0.3 * torch::randn({4, D, H, W}, gen);
  s.target = torch::stack({wt, tc, et}).to(torch::kUInt8);
  return s;
}

nlohmann::json child_train(const Options& o) {
  const Sample s = synthetic_case(o.volume, 1);
  TrainConfig cfg;
  cfg.net.method = parse_method(o.method);
  cfg.net.widths = o.widths;
  cfg.steps = o.warmup + o.steps;
  cfg.patch = o.patch;
  cfg.k = o.k;
  cfg.device = o.device;
  cfg.amp = o.amp;
  cfg.checkpoint_every = 0;
  cfg.val_every = 0;
  cfg.lr_schedule = "constant";
  const fs::path dir = fs::temp_directory_path() / ("gmd_bench_train_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const torch::Device dev = resolve_device(o.device);
  const double rss0 = maxrss_mib();
  reset_gpu_peak(dev);
  std::vector<double> times;
  double cpu_start = 0, cpu_end = 0;
  TrainControl ctl;
  ctl.on_record = [&](const nlohmann::json& r) {
    if (r.value("type", "") != "step") return;
    const int64_t step = r["step"].get<int64_t>();
    if (step == o.warmup) cpu_start = cpu_seconds();
    if (step > o.warmup) times.push_back(r["time_s"].get<double>());
    if (step == o.warmup + o.steps) cpu_end = cpu_seconds();
  };
  train(cfg, {s}, {}, dir, false, ctl);
  const double rss1 = maxrss_mib();
  fs::remove_all(dir);
  double mean = 0, var = 0;
  for (double t : times) mean += t;
  mean /= static_cast<double>(times.size());
  for (double t : times) var += (t - mean) * (t - mean);
  const double sd = times.size() > 1 ? std::sqrt(var / static_cast<double>(times.size() - 1)) : 0.0;
  return {{"mean_s", mean},
          {"sd_s", sd},
          {"n", times.size()},
          {"cpu_s", (cpu_end - cpu_start) / static_cast<double>(o.steps)},
          {"rss_peak_mib", rss1},
          {"rss_delta_mib", rss1 - rss0},
          {"gpu_peak_mib", gpu_peak_mib(dev)},
          {"params", parameter_count(make_model(cfg.net))}};
}

nlohmann::json child_infer(const Options& o) {
  const Sample s = synthetic_case(o.volume, 2);
  NetConfig net;
  net.method = Method::DSGMD;
  net.widths = o.widths;
  torch::manual_seed(1);
  SegModel model = make_model(net);
  const torch::Device dev = resolve_device(o.device);
  model->to(dev);
  PredictOptions opt;
  opt.patch = o.patch;
  opt.overlap = o.overlap;
  opt.amp = o.amp != "none";
  int64_t windows = 0;
  // Warm-up: one window (one-time kernel / primitive initialisation is not part of the measurement).
  {
    const int64_t p = o.patch;
    const torch::Tensor crop = s.image.index(
        {torch::indexing::Slice(), torch::indexing::Slice(0, std::min(p, o.volume[0])),
         torch::indexing::Slice(0, std::min(p, o.volume[1])), torch::indexing::Slice(0, std::min(p, o.volume[2]))});
    predict_subsets(*model, crop, gmd::kFullMask, {gmd::kFullMask}, dev, opt);
  }
  opt.progress = [&](double) { ++windows; };
  const double rss0 = maxrss_mib();
  reset_gpu_peak(dev);
  sync(dev);
  const double cpu0 = cpu_seconds();
  const auto t0 = Clock::now();
  int64_t calls = 0;
  if (o.mode == "single") {
    predict_subsets(*model, s.image, gmd::kFullMask, {gmd::kFullMask}, dev, opt);
    calls = 1;
  } else if (o.mode == "all") {
    predict_subsets(*model, s.image, gmd::kFullMask, gmd::all_subsets(), dev, opt);
    calls = 1;
  } else if (o.mode == "separate") {
    for (gmd::SubsetMask m : gmd::all_subsets()) {
      predict_subsets(*model, s.image, gmd::kFullMask, {m}, dev, opt);
      ++calls;
    }
  } else {
    throw gmd::UsageError("unknown inference mode " + o.mode);
  }
  sync(dev);
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const double cpu = cpu_seconds() - cpu0;
  const double rss1 = maxrss_mib();
  return {{"time_s", secs},
          {"cpu_s", cpu},
          {"calls", calls},
          {"batches", windows / std::max<int64_t>(calls, 1)},
          {"rss_peak_mib", rss1},
          {"rss_delta_mib", rss1 - rss0},
          {"gpu_peak_mib", gpu_peak_mib(dev)}};
}

nlohmann::json run_child(const std::string& exe, const std::string& args) {
  const std::string cmd = "'" + exe + "'" + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run " + cmd);
  std::string out;
  char buf[4096];
  while (fgets(buf, sizeof buf, p)) out += buf;
  const int rc = pclose(p);
  const auto pos = out.rfind("RESULT ");
  if (rc != 0 || pos == std::string::npos) throw std::runtime_error("benchmark child failed: " + cmd + "\n" + out);
  return nlohmann::json::parse(out.substr(pos + 7));
}

std::string fmt_mem(const nlohmann::json& r, bool cuda) {
  char b[96];
  if (cuda && r["gpu_peak_mib"].get<double>() >= 0)
    std::snprintf(b, sizeof b, "%.0f (GPU peak allocated)", r["gpu_peak_mib"].get<double>());
  else
    std::snprintf(b, sizeof b, "%.0f (+%.0f)", r["rss_peak_mib"].get<double>(), r["rss_delta_mib"].get<double>());
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse_args(argc, argv);
    if (o.threads > 0) torch::set_num_threads(o.threads);
    if (!o.phase.empty()) {
      spdlog::set_level(spdlog::level::warn);
      const nlohmann::json r = o.phase == "train" ? child_train(o) : child_infer(o);
      std::cout << "RESULT " << r.dump() << std::endl;
      return 0;
    }
    const std::string exe = fs::read_symlink("/proc/self/exe").string();
    const torch::Device dev = resolve_device(o.device);
    const bool cuda = dev.is_cuda();
    const std::string args = common_args(o);
    std::string cmdline = "bench_engine";
    for (int i = 1; i < argc; ++i) cmdline += std::string(" ") + argv[i];
    std::cout << "# GMD Studio engine benchmark\n\n";
    std::cout << "- command: `" << cmdline << "`\n";
    std::cout << "- LibTorch " << TORCH_VERSION << ", device " << dev.str() << ", intra-op threads "
              << torch::get_num_threads()
              << (cuda ? ", autocast " + (o.amp == "none" ? std::string("off") : std::string("bf16")) : "") << "\n";
    std::cout << "- network widths " << join(o.widths, "-") << ", patch " << o.patch << "^3, batch 1\n";
    std::cout << "- memory: "
              << (cuda ? "GPU peak allocated bytes (caching allocator stats), MiB"
                       : "peak RSS of the measuring process (getrusage maxrss) in MiB, "
                         "in parentheses its growth during the measurement")
              << "\n\n";

    if (!o.skip_train) {
      std::cout << "## Training step (k = " << o.k << " random subsets per step for ds / ds-gmd, same seeds and data; "
                << o.steps << " timed steps after " << o.warmup << " warm-up)\n\n";
      std::cout << "| method | parameters | wall s / step (mean ± sd) | CPU s / step | memory (MiB) |\n"
                   "|---|---|---|---|---|\n";
      std::map<std::string, double> mean, cpu;
      for (const auto& m : o.methods) {
        const auto r = run_child(exe, args + " --phase train --method " + m);
        mean[m] = r["mean_s"].get<double>();
        cpu[m] = r["cpu_s"].get<double>();
        char b[256];
        std::snprintf(b, sizeof b, "| %s | %lld | %.3f ± %.3f | %.3f | %s |\n", m.c_str(),
                      static_cast<long long>(r["params"].get<int64_t>()), r["mean_s"].get<double>(),
                      r["sd_s"].get<double>(), cpu[m], fmt_mem(r, cuda).c_str());
        std::cout << b << std::flush;
      }
      std::cout << "\n";
      if (mean.count("ds") && mean.count("ds-gmd"))
        std::printf("- GMD overhead: ds-gmd / ds = %.2fx per step (wall), %.2fx (CPU time)\n",
                    mean["ds-gmd"] / mean["ds"], cpu["ds-gmd"] / cpu["ds"]);
      if (mean.count("ds") && mean.count("vanilla"))
        std::printf("- ds / vanilla = %.2fx per step (wall), %.2fx (CPU time)\n", mean["ds"] / mean["vanilla"],
                    cpu["ds"] / cpu["vanilla"]);
      std::cout << "\n";
    }
    if (!o.skip_infer) {
      std::cout << "## Inference, one case " << o.volume[0] << "x" << o.volume[1] << "x" << o.volume[2]
                << " (sliding window " << o.patch << "^3, overlap " << o.overlap
                << ", Gaussian weighting, ds-gmd net)\n\n";
      std::cout << "| task | forward calls x windows | wall time (s) | CPU time (s) | memory (MiB) |\n"
                   "|---|---|---|---|---|\n";
      std::map<std::string, double> t, c;
      std::vector<std::pair<std::string, std::string>> modes{{"single", "1 subset (all 4 modalities)"},
                                                             {"all", "all 15 subsets, encode once"}};
      if (!o.skip_separate) modes.push_back({"separate", "all 15 subsets, 15 separate runs"});
      for (const auto& [mode, label] : modes) {
        const auto r = run_child(exe, args + " --phase infer --mode " + mode);
        t[mode] = r["time_s"].get<double>();
        c[mode] = r["cpu_s"].get<double>();
        char b[256];
        std::snprintf(b, sizeof b, "| %s | %lld x %lld | %.2f | %.2f | %s |\n", label.c_str(),
                      static_cast<long long>(r["calls"].get<int64_t>()),
                      static_cast<long long>(r["batches"].get<int64_t>()), t[mode], c[mode], fmt_mem(r, cuda).c_str());
        std::cout << b << std::flush;
      }
      std::cout << "\n";
      std::printf("- all 15 subsets encoded once cost %.2fx one subset (wall), %.2fx (CPU time)\n",
                  t["all"] / t["single"], c["all"] / c["single"]);
      if (t.count("separate"))
        std::printf("- encode-once speed-up over 15 separate runs: %.1fx (wall), %.1fx (CPU time)\n",
                    t["separate"] / t["all"], c["separate"] / c["all"]);
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench_engine: " << e.what() << "\n";
    return 2;
  }
}
