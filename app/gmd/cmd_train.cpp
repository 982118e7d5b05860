// gmd train: trains one of unimodal|vanilla|ds|ds-gmd on a BraTS-layout dataset.
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli_util.hpp"
#include "commands.hpp"
#include "gmd/common/error.hpp"
#include "gmd/common/run_files.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/common/local_launch.hpp"
#include "gmd/engine/cuda.hpp"
#include "gmd/engine/dist.hpp"
#include "gmd/engine/model_io.hpp"
#include "gmd/engine/threads.hpp"
#include "gmd/common/train_request.hpp"
#include "gmd/engine/train_job.hpp"
#if GMD_CLI_FULL
#include "gmd/pipeline/dataset.hpp"
#endif

namespace gmd::cli {
namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop.store(true); }

std::string choices(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : "|") + x;
  return s;
}

void say_done(const TrainRequest& r) {
  std::cout << (g_stop ? "stopped; checkpoint and model written to " : "done; model written to ") << r.run_dir << "\n";
}

// `gmd train --nproc N` outside a launcher: N copies of this command as one job; the ranks read the data, train and
// write, this process watches them and passes a stop on.
void launch_ranks(const TrainRequest& r, bool resume) {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  spdlog::info("starting {} training processes on this machine", r.nproc);
  const LaunchResult res = launch_local(self_executable(), r.arguments(resume), r.nproc, &g_stop, r.dist_timeout);
  if (res.exit_code != 0) {
    std::cerr << "gmd: error: train --nproc " << r.nproc << ": " << res.error << "; the last checkpoint in "
              << r.run_dir << " is intact (continue with --resume)\n";
    std::exit(res.exit_code == 2 ? 2 : 1);
  }
  say_done(r);
}

// A rank of a multi-process run: its log lines say which it is; only rank 0 reports progress.
void label_rank_logs(const engine::DistSettings& dist) {
  spdlog::set_pattern("[%H:%M:%S] [rank " + std::to_string(dist.rank) + "] [%^%l%$] %v");
  if (dist.rank != 0 && spdlog::get_level() < spdlog::level::warn) spdlog::set_level(spdlog::level::warn);
}

// Joins the process group once its data are loaded, each local rank on its own GPU (local_rank % devices; one GPU
// per task under Slurm's CUDA_VISIBLE_DEVICES: index 0).
std::unique_ptr<engine::Communicator> join_process_group(engine::DistSettings dist, const TrainRequest& r) {
  dist.backend = r.dist_backend;
  dist.timeout_s = r.dist_timeout;
  if (engine::cuda::available()) engine::cuda::set_current_device(dist.local_rank % engine::cuda::device_count());
  return std::make_unique<engine::Communicator>(dist, engine::resolve_device(r.device));
}
}  // namespace

// The options are the fields of one TrainRequest (gmd/common/train_request.hpp), which the training panel also
// edits and TrainRequest::arguments() spells out; the training itself is engine::run_training.
void add_train(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a segmentation model (writes RUN/model.pt, model.json, metrics.jsonl)");
  struct Opts {
    TrainRequest r;
    bool resume = false, dry_run = false;
  };
  auto o = std::make_shared<Opts>();
  TrainRequest& r = o->r;
  cmd->add_option("--data", r.data_dir, "Dataset folder (BraTS layout) or a sample cache file written by `gmd cache`")
      ->required();
  cmd->add_option("--method", r.method, choices(TrainRequest::methods()))->capture_default_str();
  cmd->add_option("--out", r.run_dir, "Run folder")->required();
  cmd->add_option("--steps", r.steps, "Training steps")->capture_default_str();
  cmd->add_option("--patch", r.patch, "Patch edge (voxels, multiple of 2^(levels-1))")->capture_default_str();
  cmd->add_option("--batch", r.batch, "Patches per step")->capture_default_str();
  cmd->add_option("--k", r.k, "Subsets per step for --policy random")->capture_default_str();
  cmd->add_option("--policy", r.policy, choices(TrainRequest::policies()))->capture_default_str();
  cmd->add_option("--widths", r.widths, "U-Net widths per level")->capture_default_str();
  cmd->add_option("--device", r.device, choices(TrainRequest::devices()))->capture_default_str();
  cmd->add_option("--amp", r.amp, choices(TrainRequest::amps()) + " (CUDA only)")->capture_default_str();
  cmd->add_option("--seed", r.seed, "Random seed")->capture_default_str();
  cmd->add_option("--lr", r.lr, "Adam learning rate")->capture_default_str();
  cmd->add_option("--weight-decay", r.weight_decay, "Adam weight decay")->capture_default_str();
  cmd->add_option("--bce", r.bce, "Weight of BCE added to soft Dice (0 = the paper's Dice-only loss)")->capture_default_str();
  cmd->add_option("--fg-prob", r.fg_prob, "Probability of a class-balanced patch (a tumour class present in the case, then a voxel of it; else a random patch)")->capture_default_str();
  cmd->add_option("--projection", r.projection, "GMD projection: " + choices(TrainRequest::projections()) + " (none = the study's GMD control: GMD's k backward passes, no projection)")->capture_default_str();
  cmd->add_option("--combine", r.combine, "GMD combination: " + choices(TrainRequest::combines()))->capture_default_str();
  cmd->add_option("--fusion", r.fusion, "DS fusion: " + choices(TrainRequest::fusions()))->capture_default_str();
  cmd->add_flag("--stem", r.stem, "DS: per-modality conv stem");
  cmd->add_option("--checkpoint-every", r.checkpoint_every, "Checkpoint interval (steps)")->capture_default_str();
  cmd->add_option("--val-every", r.val_every, "Validation interval (steps; 0 = end only)")->capture_default_str();
  cmd->add_option("--val-cases", r.val_cases, "Held-out validation cases (last N; -1 = 20%)")->capture_default_str();
  cmd->add_option("--infer-patch", r.infer_patch, "Sliding-window size recorded for inference (0 = the training patch: GroupNorm statistics depend on the window)")->capture_default_str();
  add_threads_option(cmd, r.threads);
  cmd->add_option("--nproc", r.nproc, "Processes on this machine training together (data parallel over c10d; --batch is the global batch, shared out). Launchers such as torchrun, srun or mpirun set RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT instead")->capture_default_str();
  cmd->add_option("--dist-backend", r.dist_backend, choices(TrainRequest::dist_backends()) + ": c10d backend of a multi-process run (auto: nccl on CUDA, else gloo)")->capture_default_str();
  cmd->add_option("--dist-timeout", r.dist_timeout, "Seconds a process waits for the others (rendezvous, each all-reduce) before the run ends with an error naming it")->capture_default_str();
  cmd->add_flag("--resume", o->resume, "Continue from RUN/checkpoint.pt");
  cmd->add_flag("--dry-run", o->dry_run, "Check the request, print it as JSON (the form RUN/studio-train.json keeps) and exit without training");
  cmd->callback([o] {
    const TrainRequest& r = o->r;
    // Before minutes of data loading: a bad request, an --out that cannot be a run folder, a resume without a
    // checkpoint.
    if (const std::string e = r.validate(); !e.empty()) throw UsageError(e);
    if (o->dry_run) {
      std::cout << r.to_json().dump(2) << "\n";
      return;
    }
    engine::DistSettings dist = engine::dist_settings_from_env();
    if (dist.world > 1 && r.nproc > 1 && r.nproc != dist.local_world)
      throw UsageError("--nproc " + std::to_string(r.nproc) + " inside a job launched with WORLD_SIZE=" +
                       std::to_string(dist.world) + " (drop --nproc, or run gmd train outside the launcher)");
    if (dist.world == 1 || dist.rank == 0) check_output_folder(r.run_dir, "--out");
    if (o->resume && !std::filesystem::is_regular_file(std::filesystem::path(r.run_dir) / run_files::kCheckpoint))
      throw InputError(r.run_dir + "/checkpoint.pt: no checkpoint to resume from (start without --resume)");
    if (dist.world == 1 && r.nproc > 1) return launch_ranks(r, o->resume);
    if (dist.world > 1) label_rank_logs(dist);
    // Local ranks share the machine's cores unless --threads says otherwise.
    const int threads =
        engine::set_threads(r.threads > 0 || dist.local_world <= 1
                                ? r.threads
                                : std::max(1, engine::available_cores() / dist.local_world));
#if GMD_CLI_FULL
    engine::TrainingData data = pipeline::load_training_data(r);
#else
    if (!std::filesystem::is_regular_file(r.data_dir))
      throw UsageError("--data " + r.data_dir +
                       ": this gmd is the engine-only build (no ITK) and reads only sample cache files; make one "
                       "with `gmd cache DATA FILE` on a full build");
    engine::TrainingData data = engine::load_training_cache(r.data_dir, r.patch_multiple());
#endif
    spdlog::info("{} CPU threads", threads);
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    engine::TrainControl ctl;
    ctl.stop = &g_stop;
    std::unique_ptr<engine::Communicator> comm;
    if (dist.world > 1) {
      comm = join_process_group(dist, r);
      ctl.comm = comm.get();
    }
    engine::run_training(r, std::move(data), o->resume, ctl);
    // Ranks of `--nproc` leave the last word to their launcher; of another launcher, rank 0 says it.
    if (dist.world > 1 && (dist.rank != 0 || r.nproc > 1)) return;
    say_done(r);
  });
}

}  // namespace gmd::cli
