// gmd::launch_local (gmd train --nproc): N ranks of one job, the environment c10d expects, the failing rank named.
// The ranks' shells `exec` their long sleeps (or kill them), so no sleeping grandchild outlives a test and keeps
// CTest waiting on its output pipe.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "gmd/common/local_launch.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

TEST(LocalLaunch, EveryRankGetsTheJobsEnvironment) {
  const fs::path dir = fs::temp_directory_path() / ("gmd_launch_env_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string script = "echo $RANK $LOCAL_RANK $WORLD_SIZE $LOCAL_WORLD_SIZE $MASTER_ADDR $MASTER_PORT > " +
                             dir.string() + "/rank$RANK";
  const gmd::LaunchResult r = gmd::launch_local("/bin/sh", {"-c", script}, 3);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.error.empty()) << r.error;
  std::string port;
  for (int i = 0; i < 3; ++i) {
    std::ifstream in(dir / ("rank" + std::to_string(i)));
    std::string rank, local, world, local_world, addr, p;
    in >> rank >> local >> world >> local_world >> addr >> p;
    EXPECT_EQ(rank, std::to_string(i));
    EXPECT_EQ(local, std::to_string(i));
    EXPECT_EQ(world, "3");
    EXPECT_EQ(local_world, "3");
    EXPECT_EQ(addr, "127.0.0.1");
    EXPECT_GT(std::stoi(p), 0);
    if (i > 0) EXPECT_EQ(p, port);  // one rendezvous port for the job
    port = p;
  }
  fs::remove_all(dir);
}

TEST(LocalLaunch, TheRankThatDiesIsNamedAndTheOthersAreStopped) {
  // Rank 1 dies of SIGKILL; rank 2 'loses its peer' (exit 3) soon after and is not blamed, even when the launcher
  // sees it first; rank 0 would sleep a minute and is stopped.
  const std::string script =
      "if [ $RANK = 1 ]; then trap '' TERM; sleep 0.3; kill -9 $$; elif [ $RANK = 2 ]; then sleep 0.1; exit 3; "
      "else exec sleep 60; fi";
  const auto t0 = Clock::now();
  const gmd::LaunchResult r = gmd::launch_local("/bin/sh", {"-c", script}, 3, nullptr, 5);
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.error.find("rank 1 (pid"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("killed by signal 9"), std::string::npos) << r.error;
  EXPECT_LT(s, 10.0);  // rank 0 was stopped, not waited for
}

TEST(LocalLaunch, ARankThatDoesNotAnswerIsKilledAfterTheGracePeriodAndNamed) {
  // Rank 0 'loses its peer' (exit 3); rank 1 ignores SIGTERM and hangs: it is the one named.
  const std::string script = "if [ $RANK = 0 ]; then sleep 0.2; exit 3; else trap '' TERM; exec sleep 60; fi";
  const auto t0 = Clock::now();
  const gmd::LaunchResult r = gmd::launch_local("/bin/sh", {"-c", script}, 2, nullptr, 1);
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_NE(r.error.find("rank 1"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("stopped answering"), std::string::npos) << r.error;
  EXPECT_LT(s, 10.0);
}

TEST(LocalLaunch, ABadInputExitCodeIsPassedOn) {
  const gmd::LaunchResult r = gmd::launch_local("/bin/sh", {"-c", "exit 2"}, 2);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.error.find("exited with status 2"), std::string::npos) << r.error;
}

TEST(LocalLaunch, AStopRequestIsPassedOnToEveryRank) {
  // Each rank waits for SIGTERM and then exits 0 (as gmd train does after writing its checkpoint).
  std::atomic<bool> stop{false};
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the traps are set by then
    stop = true;
  });
  const auto t0 = Clock::now();
  const gmd::LaunchResult r =
      gmd::launch_local("/bin/sh", {"-c", "trap 'kill $!; exit 0' TERM; sleep 60 & wait"}, 2, &stop);
  later.join();
  EXPECT_EQ(r.exit_code, 0) << r.error;
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 10.0);
}
