// gmd::launch_local: N local ranks of one job (local_launch.hpp).
#include "gmd/common/local_launch.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "gmd/common/error.hpp"

extern char** environ;

namespace gmd {
namespace {
using Clock = std::chrono::steady_clock;

struct Rank {
  pid_t pid = -1;
  bool running = false;
  int status = 0;
  bool termed = false;  // the launcher sent SIGTERM (a stop request, or the end of the job)
  bool killed = false;  // the launcher sent SIGKILL, after the grace period
};

std::string describe(int rank, const Rank& r, double grace_s) {
  const int status = r.status;
  const std::string who = "rank " + std::to_string(rank) + " (pid " + std::to_string(r.pid) + ")";
  if (r.killed)
    return who + " stopped answering: it was still running " + std::to_string(static_cast<int>(grace_s)) +
           " s after another rank ended, and was killed";
  if (WIFSIGNALED(status))
    return who + " was killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  return who + " exited with status " + std::to_string(WEXITSTATUS(status));
}

bool failed(int status) { return !WIFEXITED(status) || WEXITSTATUS(status) != 0; }
bool lost_peer_only(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == kExitLostPeer; }

void signal_all(std::vector<Rank>& ranks, int sig) {
  for (Rank& r : ranks)
    if (r.running) {
      ::kill(r.pid, sig);
      (sig == SIGKILL ? r.killed : r.termed) = true;
    }
}
}  // namespace

int free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(std::string("cannot open a socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) throw std::runtime_error(std::string("cannot find a free local port: ") + std::strerror(err));
  return ntohs(a.sin_port);
}

std::string self_executable() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

LaunchResult launch_local(const std::string& exe, const std::vector<std::string>& args, int n,
                          const std::atomic<bool>* stop, double grace_s) {
  if (n < 1) throw std::invalid_argument("launch_local: n must be >= 1");
  const int port = free_local_port();
  std::vector<Rank> ranks(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    // The environment, without any RANK/WORLD_SIZE/... of an enclosing job, plus this rank's.
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string kv = *e;
      const std::string key = kv.substr(0, kv.find('='));
      if (key != "RANK" && key != "WORLD_SIZE" && key != "LOCAL_RANK" && key != "LOCAL_WORLD_SIZE" &&
          key != "MASTER_ADDR" && key != "MASTER_PORT")
        env.push_back(kv);
    }
    for (const std::string& kv : {"RANK=" + std::to_string(i), "LOCAL_RANK=" + std::to_string(i),
                                  "WORLD_SIZE=" + std::to_string(n), "LOCAL_WORLD_SIZE=" + std::to_string(n),
                                  std::string("MASTER_ADDR=127.0.0.1"), "MASTER_PORT=" + std::to_string(port)})
      env.push_back(kv);
    std::vector<char*> envp, argv;
    for (auto& kv : env) envp.push_back(kv.data());
    envp.push_back(nullptr);
    std::string exe_copy = exe;
    std::vector<std::string> arg_copy = args;
    argv.push_back(exe_copy.data());
    for (auto& a : arg_copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv.data(), envp.data());
    if (rc != 0) {
      signal_all(ranks, SIGKILL);
      for (const Rank& r : ranks)
        if (r.running) ::waitpid(r.pid, nullptr, 0);
      throw std::runtime_error("cannot start rank " + std::to_string(i) + " (" + exe + "): " + std::strerror(rc));
    }
    ranks[static_cast<size_t>(i)] = {pid, true, 0};
  }

  LaunchResult out;
  int first_failed = -1;
  bool stop_sent = false;
  Clock::time_point kill_at = Clock::time_point::max();
  int running = n;
  while (running > 0) {
    if (stop != nullptr && stop->load() && !stop_sent) {
      signal_all(ranks, SIGTERM);
      stop_sent = true;
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno != EINTR) break;  // no children left
    if (pid <= 0) {
      if (Clock::now() >= kill_at) {
        signal_all(ranks, SIGKILL);
        kill_at = Clock::time_point::max();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    for (int i = 0; i < n; ++i) {
      Rank& r = ranks[static_cast<size_t>(i)];
      if (r.pid != pid || !r.running) continue;
      r.running = false;
      r.status = status;
      --running;
      if (!failed(status)) break;
      // Blame the first rank that failed on its own: not one that ended on the launcher's SIGTERM, and one that only
      // lost its peers only if no other failed.
      const bool ours = WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM && r.termed;
      const bool blame = first_failed < 0 || (lost_peer_only(ranks[static_cast<size_t>(first_failed)].status) &&
                                              !ours && (r.killed || !lost_peer_only(status)));
      if (blame) first_failed = i;
      if (kill_at == Clock::time_point::max() && running > 0) {
        signal_all(ranks, SIGTERM);
        kill_at = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(grace_s * 1000));
      }
      break;
    }
  }
  if (first_failed >= 0) {
    const Rank& r = ranks[static_cast<size_t>(first_failed)];
    out.error = describe(first_failed, r, grace_s) + "; the other ranks were stopped";
    out.exit_code = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : 1;
  }
  return out;
}

}  // namespace gmd
