// Data-parallel training over c10d (issue 16), end to end through `gmd train` on tiny synthetic data (CPU, Gloo on
// localhost): two ranks train what one process trains on the same global batch, rank 0 logs the GMD of the union
// batch, a rank that dies ends the job naming it, and its checkpoint resumes in one process.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_run.hpp"
#include "gmd/engine/model_io.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {
const std::string kGmd = std::string(GMD_BINARY_DIR) + "/app/gmd/gmd";

using gmd_test::Result;
Result run(const std::string& args) { return gmd_test::run_command(kGmd + " " + args); }

std::vector<nlohmann::json> records(const fs::path& run_dir, const std::string& type) {
  std::vector<nlohmann::json> out;
  std::ifstream in(run_dir / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.value("type", "") == type) out.push_back(j);
  }
  return out;
}

// Euclidean distance between two models' parameter vectors.
double param_distance(const fs::path& a, const fs::path& b) {
  const auto ma = gmd::engine::load_model(a), mb = gmd::engine::load_model(b);
  const auto pa = ma.model->parameters(), pb = mb.model->parameters();
  EXPECT_EQ(pa.size(), pb.size());
  double d = 0;
  for (size_t i = 0; i < pa.size() && i < pb.size(); ++i) d += (pa[i] - pb[i]).to(torch::kDouble).square().sum().item<double>();
  return std::sqrt(d);
}

class Distributed : public ::testing::Test {
 protected:
  static fs::path root, data;
  static std::string setup_error;
  static void SetUpTestSuite() {
    root = fs::temp_directory_path() / ("gmd_dist_test_" + std::to_string(::getpid()));
    fs::remove_all(root);
    data = root / "data";
    const Result s = run("synth --out " + data.string() + " --cases 3 --seed 11 --size small");
    setup_error = s.rc == 0 ? "" : "gmd synth failed:\n" + s.out;
  }
  static void TearDownTestSuite() { fs::remove_all(root); }
  void SetUp() override { ASSERT_TRUE(setup_error.empty()) << setup_error; }

  static std::string train_args(const std::string& method, const fs::path& out, int batch, int steps) {
    return "train --data " + data.string() + " --method " + method + " --out " + out.string() + " --steps " +
           std::to_string(steps) + " --batch " + std::to_string(batch) +
           " --patch 32 --widths 4,8,16 --k 3 --val-cases 1 --val-every 0 --device cpu --seed 3 --threads 1 "
           "--dist-timeout 30";
  }

  // 2 ranks x batch 1 (global batch 2) against 1 process x batch 2 and, as the control that gives the tolerance its
  // meaning, 1 process x batch 1 (another batch: what a rank training alone would do).
  static void two_ranks_equal_one(const std::string& method) {
    const fs::path two = root / (method + "-2x1"), one = root / (method + "-1x2"), alone = root / (method + "-1x1");
    const Result a = run(train_args(method, two, 2, 3) + " --nproc 2");
    ASSERT_EQ(a.rc, 0) << a.out;
    const Result b = run(train_args(method, one, 2, 3));
    ASSERT_EQ(b.rc, 0) << b.out;
    const Result c = run(train_args(method, alone, 1, 3));
    ASSERT_EQ(c.rc, 0) << c.out;
    const double same = param_distance(two, one), other = param_distance(alone, one);
    std::printf("%s: |parameter difference| after 3 steps: 2 ranks vs 1 process %.3g; batch 1 vs 2 %.3g\n",
                method.c_str(), same, other);
    // The first step's gradients agree to float rounding (below); Adam's first steps move each parameter by about
    // +-lr whatever its gradient's size, so a parameter whose gradient is ~0 may take the other sign from rounding.
    // Over all parameters the runs stay far closer than a run on another batch (the control).
    EXPECT_LT(same, other / 10);

    // Rank 0 logged the union batch's losses (and, for ds-gmd, its Gram matrix and GMD weights).
    const auto s2 = records(two, "step"), s1 = records(one, "step");
    ASSERT_EQ(s2.size(), 3u);
    ASSERT_EQ(s1.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(s2[i]["world_size"], 2);
      EXPECT_EQ(s1[i]["world_size"], 1);
      EXPECT_EQ(s2[i]["subsets"], s1[i]["subsets"]);
      EXPECT_NEAR(s2[i]["loss"].get<double>(), s1[i]["loss"].get<double>(), 1e-5);
      // The GMD of the first step: the same parameters, the union batch's gradients (later steps start from
      // parameters that differ by Adam's rounding-sensitive first moves, above).
      if (method != "ds-gmd" || i > 0) continue;
      const auto& g2 = s2[i]["gmd"];
      const auto& g1 = s1[i]["gmd"];
      EXPECT_EQ(g2["conflicts"], g1["conflicts"]);
      for (size_t r = 0; r < g1["weights"].size(); ++r) {
        EXPECT_NEAR(g2["weights"][r].get<double>(), g1["weights"][r].get<double>(), 1e-5);
        EXPECT_NEAR(g2["norms"][r].get<double>(), g1["norms"][r].get<double>(), 1e-5 * g1["norms"][r].get<double>());
        for (size_t q = 0; q < g1["cos"][r].size(); ++q)
          EXPECT_NEAR(g2["cos"][r][q].get<double>(), g1["cos"][r][q].get<double>(), 1e-5);
      }
    }
    const auto cfg = records(two, "config");
    ASSERT_EQ(cfg.size(), 1u);
    EXPECT_EQ(cfg[0]["world_size"], 2);
    EXPECT_EQ(cfg[0]["dist_backend"], "gloo");
    std::ifstream card_in(two / "model.json");
    const auto card = nlohmann::json::parse(card_in);
    EXPECT_EQ(card["world_size"], 2);
    EXPECT_EQ(card["dist_backend"], "gloo");
  }
};
fs::path Distributed::root, Distributed::data;
std::string Distributed::setup_error;

// The pid of the child of `parent` whose environment holds RANK=<rank>.
pid_t rank_pid(pid_t parent, int rank) {
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid != parent) continue;
    std::ifstream env(e.path() / "environ", std::ios::binary);
    std::stringstream ss;
    ss << env.rdbuf();
    const std::string all = std::string(1, '\0') + ss.str();
    if (all.find(std::string(1, '\0') + "RANK=" + std::to_string(rank) + '\0') != std::string::npos)
      return static_cast<pid_t>(std::stol(name));
  }
  return -1;
}
}  // namespace

TEST_F(Distributed, TwoRanksTrainWhatOneProcessTrainsOnTheSameBatchDs) { two_ranks_equal_one("ds"); }

TEST_F(Distributed, TwoRanksTrainWhatOneProcessTrainsOnTheSameBatchDsGmd) { two_ranks_equal_one("ds-gmd"); }

TEST_F(Distributed, ABatchThatDoesNotSplitIsRefused) {
  const Result r = run(train_args("ds", root / "odd", 3, 2) + " --nproc 2");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("multiple of 2"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(root / "odd"));
}

TEST_F(Distributed, AKilledRankEndsTheJobNamingItAndTheCheckpointResumesInOneProcess) {
  const fs::path out = root / "killed", log = root / "killed.log";
  const std::string cmd = "exec " + kGmd + " " + train_args("ds-gmd", out, 2, 100000) +
                          " --nproc 2 --checkpoint-every 2 > " + log.string() + " 2>&1";
  pid_t launcher = -1;
  const char* argv[] = {"/bin/bash", "-c", cmd.c_str(), nullptr};
  ASSERT_EQ(::posix_spawn(&launcher, "/bin/bash", nullptr, nullptr, const_cast<char* const*>(argv), environ), 0);
  // Wait for a checkpoint (the job runs), then kill rank 1.
  const auto deadline = Clock::now() + std::chrono::seconds(180);
  while (!fs::exists(out / "checkpoint.pt") && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(fs::exists(out / "checkpoint.pt"));
  const pid_t victim = rank_pid(launcher, 1);
  ASSERT_GT(victim, 0);
  const auto killed_at = Clock::now();
  ASSERT_EQ(::kill(victim, SIGKILL), 0);
  int status = 0;
  pid_t done = 0;
  while ((done = ::waitpid(launcher, &status, WNOHANG)) == 0 && Clock::now() < killed_at + std::chrono::seconds(60))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (done == 0) {
    ::kill(launcher, SIGKILL);
    ::waitpid(launcher, &status, 0);
    FAIL() << "the job did not end within 60 s of rank 1's death";
  }
  const double ended_after = std::chrono::duration<double>(Clock::now() - killed_at).count();
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << text;
  EXPECT_NE(text.find("rank 1 (pid " + std::to_string(victim) + ") was killed by signal 9"), std::string::npos)
      << text;
  EXPECT_LT(ended_after, 30.0);
  std::printf("the job ended %.1f s after rank 1 was killed\n", ended_after);

  // The checkpoint is whole and resumes in one process (another world size), a few steps on.
  const auto steps = records(out, "step");
  ASSERT_FALSE(steps.empty());
  int64_t at = 0;
  for (const auto& s : steps) at = std::max<int64_t>(at, s["step"].get<int64_t>());
  at -= at % 2;  // the last checkpoint
  const Result r = run(train_args("ds-gmd", out, 2, static_cast<int>(at + 2)) + " --resume");
  ASSERT_EQ(r.rc, 0) << r.out;
  const auto after = records(out, "step");
  ASSERT_EQ(after.size(), static_cast<size_t>(at + 2)) << r.out;
  EXPECT_EQ(after[static_cast<size_t>(at) - 1]["world_size"], 2);
  EXPECT_EQ(after[static_cast<size_t>(at)]["world_size"], 1);
  std::ifstream card_in(out / "model.json");
  const auto card = nlohmann::json::parse(card_in);
  EXPECT_EQ(card["steps_done"], at + 2);
  EXPECT_EQ(card["world_size"], 1);
}
