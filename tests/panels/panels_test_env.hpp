#pragma once
// Shared fixtures of the panel tests: a tiny synthetic dataset (`gmd synth --size small --cases 2`)
// and a tiny model trained with the CLI, made once per test process in a folder of its own.
#include <gtest/gtest.h>

#include <QProcess>
#include <QString>
#include <QStringList>
#include <filesystem>
#include <string>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>

namespace panels_test {
namespace fs = std::filesystem;

inline const QString kGmd = QStringLiteral(GMD_CLI_PATH);

struct CliResult {
  int rc = -1;
  QString out;
};
inline CliResult gmd(const QStringList& args, int timeout_ms = 300000) {
  QProcess p;
  p.setProcessChannelMode(QProcess::MergedChannels);
  p.start(kGmd, args);
  CliResult r;
  if (!p.waitForStarted(20000)) {
    r.out = p.errorString();
    return r;
  }
  p.waitForFinished(timeout_ms);
  r.out = QString::fromUtf8(p.readAll());
  r.rc = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
  return r;
}

struct Env {
  fs::path shared;  // dataset + CLI run, shared by the test processes of one gmd build (read only)
  fs::path data, cli_run;
  fs::path root;    // this process's scratch folder (removed at exit)
  bool ok = false;
  std::string error;
  ~Env() {
    std::error_code ec;
    if (!root.empty() && !std::getenv("GMD_KEEP_TEST_FILES")) fs::remove_all(root, ec);
  }
};

// Dataset + CLI-trained ds-gmd model (4 steps, widths 4,8, patch 32). ctest runs every test in its own
// process, often in parallel: the first one builds them under a file lock, the others reuse them
// (keyed by the gmd binary's time stamp, so a rebuilt gmd makes fresh ones).
inline const Env& env() {
  static Env e = [] {
    Env x;
    const fs::path out(GMD_PANELS_TEST_OUT);
    fs::create_directories(out);
    x.root = out / ("work-" + std::to_string(::getpid()));
    std::error_code ec;
    fs::remove_all(x.root, ec);
    fs::create_directories(x.root);
    const auto stamp = fs::last_write_time(kGmd.toStdString(), ec).time_since_epoch().count();
    x.shared = out / ("shared-" + std::to_string(stamp));
    x.data = x.shared / "data";
    x.cli_run = x.shared / "cli_run";
    const fs::path lock_file = out / "shared.lock";
    const int fd = ::open(lock_file.c_str(), O_CREAT | O_RDWR, 0644);
    if (fd < 0 || ::flock(fd, LOCK_EX) != 0) {
      x.error = "cannot lock " + lock_file.string();
      return x;
    }
    struct Unlock {
      int fd;
      ~Unlock() {
        ::flock(fd, LOCK_UN);
        ::close(fd);
      }
    } unlock{fd};
    if (fs::exists(x.shared / "ready")) {
      x.ok = true;
      return x;
    }
    // Fixtures of an older gmd build are stale.
    for (const auto& d : fs::directory_iterator(out, ec))
      if (d.path().filename().string().rfind("shared-", 0) == 0) fs::remove_all(d.path(), ec);
    fs::create_directories(x.shared);
    auto s = gmd({"synth", "--out", QString::fromStdString(x.data.string()), "--cases", "2", "--size", "small",
                  "--seed", "5"});
    if (s.rc != 0) {
      x.error = "gmd synth failed: " + s.out.toStdString();
      return x;
    }
    auto t = gmd({"train", "--data", QString::fromStdString(x.data.string()), "--out",
                  QString::fromStdString(x.cli_run.string()), "--method", "ds-gmd", "--steps", "4", "--patch", "32",
                  "--widths", "4,8", "--k", "3", "--val-cases", "1", "--val-every", "2", "--checkpoint-every", "2",
                  "--device", "cpu", "--seed", "3", "--infer-patch", "64"});
    if (t.rc != 0) {
      x.error = "gmd train failed: " + t.out.toStdString();
      return x;
    }
    std::ofstream(x.shared / "ready") << "ok\n";
    x.ok = true;
    return x;
  }();
  return e;
}

}  // namespace panels_test
