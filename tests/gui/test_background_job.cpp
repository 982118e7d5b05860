// BackgroundJob: the one helper that runs the studio's long work off the UI thread (case loading, segmentation,
// ablation). Value and errors come back on the UI thread, progress is throttled and posted, cancel reaches the
// work, the destructor waits for the work, and a receiver of finished() may start the next job.
#include <gtest/gtest.h>

#include <QCoreApplication>
#include <QSignalSpy>
#include <QThread>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "gmd/common/error.hpp"
#include "gmd/gui/background_job.hpp"

using namespace gmd;
using namespace gmd::gui;

namespace {
BackgroundJob* make_job(QObject* parent = nullptr) {
  return new BackgroundJob(QStringLiteral("Work failed: "), QStringLiteral("out of memory (job)"), parent);
}
}  // namespace

TEST(BackgroundJob, ReturnsTheValueOnTheUiThreadAfterRunningTurnsFalse) {
  std::unique_ptr<BackgroundJob> job(make_job());
  QThread* worker_thread = nullptr;
  QThread* finished_thread = nullptr;
  bool running_in_finished = true;
  int value = 0;
  QObject::connect(job.get(), &BackgroundJob::finished, [&](const JobOutcome& out) {
    finished_thread = QThread::currentThread();
    running_in_finished = job->isRunning();
    ASSERT_TRUE(out.ok());
    value = std::any_cast<int>(out.value);
  });
  QSignalSpy running(job.get(), &BackgroundJob::runningChanged);
  ASSERT_TRUE(job->start([&](const JobControl&) -> std::any {
    worker_thread = QThread::currentThread();
    return 42;
  }));
  EXPECT_TRUE(job->isRunning());
  ASSERT_TRUE(job->wait(10000));
  EXPECT_EQ(value, 42);
  EXPECT_NE(worker_thread, QThread::currentThread());  // the work ran elsewhere
  EXPECT_EQ(finished_thread, QThread::currentThread());
  EXPECT_FALSE(running_in_finished);
  ASSERT_EQ(running.size(), 2);
  EXPECT_TRUE(running.at(0).at(0).toBool());
  EXPECT_FALSE(running.at(1).at(0).toBool());
}

TEST(BackgroundJob, RefusesASecondStartWhileRunning) {
  std::unique_ptr<BackgroundJob> job(make_job());
  std::atomic<bool> release{false};
  ASSERT_TRUE(job->start([&](const JobControl&) -> std::any {
    while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return 1;
  }));
  EXPECT_FALSE(job->start([](const JobControl&) -> std::any { return 2; }));
  release = true;
  ASSERT_TRUE(job->wait(10000));
  EXPECT_TRUE(job->start([](const JobControl&) -> std::any { return 3; }));  // free again
  ASSERT_TRUE(job->wait(10000));
}

TEST(BackgroundJob, ProgressIsThrottledPostedAndKeepsStageChangesAndTheEnd) {
  std::unique_ptr<BackgroundJob> job(make_job());
  std::vector<std::pair<QString, double>> got;
  std::vector<QThread*> threads;
  QObject::connect(job.get(), &BackgroundJob::progressChanged, [&](const QString& s, double f) {
    got.emplace_back(s, f);
    threads.push_back(QThread::currentThread());
  });
  ASSERT_TRUE(job->start([](const JobControl& c) -> std::any {
    for (int i = 0; i <= 1000; ++i) c.report("encode", i / 1000.0);  // 1001 reports, 0.1 % apart
    c.report("decode", 0.0);                                          // a new stage always passes
    c.report_fn()("decode", 1.0);                                     // and so does the end
    return {};
  }));
  ASSERT_TRUE(job->wait(10000));
  QCoreApplication::processEvents();
  ASSERT_GE(got.size(), 4u);
  EXPECT_LE(got.size(), 205u);  // one per 0.5 %: about 200 of 1001, plus the stage change and the end
  EXPECT_EQ(got.front(), std::make_pair(QString("encode"), 0.0));
  EXPECT_EQ(got[got.size() - 3], std::make_pair(QString("encode"), 1.0));
  EXPECT_EQ(got[got.size() - 2], std::make_pair(QString("decode"), 0.0));
  EXPECT_EQ(got.back(), std::make_pair(QString("decode"), 1.0));
  for (QThread* t : threads) EXPECT_EQ(t, QThread::currentThread());
}

TEST(BackgroundJob, CancelReachesTheWorkAndEndsAsCancelled) {
  std::unique_ptr<BackgroundJob> job(make_job());
  std::optional<JobOutcome> outcome;
  QObject::connect(job.get(), &BackgroundJob::finished, [&](const JobOutcome& o) { outcome = o; });
  std::atomic<bool> started{false};
  ASSERT_TRUE(job->start([&](const JobControl& c) -> std::any {
    started = true;
    const auto polled = c.cancelled_fn();
    while (!polled()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    throw Cancelled();
  }));
  while (!started.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  job->cancel();
  ASSERT_TRUE(job->wait(10000));
  ASSERT_TRUE(outcome.has_value());
  EXPECT_TRUE(outcome->cancelled);
  EXPECT_TRUE(outcome->error.isEmpty());
  EXPECT_FALSE(outcome->value.has_value());
  EXPECT_FALSE(outcome->ok());
}

TEST(BackgroundJob, ExceptionsBecomeOneLineMessages) {
  struct Case {
    std::function<void()> thrower;
    QString out_of_memory;
    QString expected;
  };
  const std::vector<Case> cases = {
      {[] { throw InputError("case/t1.nii.gz: truncated"); }, {}, "case/t1.nii.gz: truncated"},
      {[] { throw UsageError("--k must be 1..15"); }, {}, "--k must be 1..15"},
      {[] { throw std::runtime_error("boom"); }, {}, "Work failed: boom"},
      {[] { throw std::bad_alloc(); }, {}, "out of memory (job)"},
      {[] { throw std::bad_alloc(); }, "c7: out of memory while reading", "c7: out of memory while reading"},
      {[] { throw 7; }, {}, "Work failed: unknown error"},
  };
  std::unique_ptr<BackgroundJob> job(make_job());
  for (const Case& k : cases) {
    std::optional<JobOutcome> outcome;
    const auto conn = QObject::connect(job.get(), &BackgroundJob::finished, [&](const JobOutcome& o) { outcome = o; });
    ASSERT_TRUE(job->start([t = k.thrower](const JobControl&) -> std::any {
      t();
      return {};
    }, k.out_of_memory));
    ASSERT_TRUE(job->wait(10000));
    QObject::disconnect(conn);
    ASSERT_TRUE(outcome.has_value());
    EXPECT_FALSE(outcome->cancelled);
    EXPECT_EQ(outcome->error.toStdString(), k.expected.toStdString());
    EXPECT_FALSE(outcome->ok());
  }
}

TEST(BackgroundJob, DestructorCancelsAndWaitsForTheWork) {
  std::atomic<bool> ended{false};
  std::atomic<bool> started{false};
  int finished_count = 0;
  {
    std::unique_ptr<BackgroundJob> job(make_job());
    QObject::connect(job.get(), &BackgroundJob::finished, [&](const JobOutcome&) { ++finished_count; });
    ASSERT_TRUE(job->start([&](const JobControl& c) -> std::any {
      started = true;
      while (!c.cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      ended = true;
      throw Cancelled();
    }));
    while (!started.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(ended.load());  // the destructor returned only after the work did
  QCoreApplication::processEvents();
  EXPECT_EQ(finished_count, 0);  // a destroyed job delivers nothing
}

TEST(BackgroundJob, AReceiverOfFinishedMayStartTheNextJob) {
  std::unique_ptr<BackgroundJob> job(make_job());
  std::vector<int> values;
  QObject::connect(job.get(), &BackgroundJob::finished, [&](const JobOutcome& o) {
    values.push_back(std::any_cast<int>(o.value));
    if (values.size() < 3) {
      const int next = values.back() + 1;
      EXPECT_TRUE(job->start([next](const JobControl&) -> std::any { return next; }));
    }
  });
  ASSERT_TRUE(job->start([](const JobControl&) -> std::any { return 1; }));
  for (int i = 0; i < 3 && job->isRunning(); ++i) ASSERT_TRUE(job->wait(10000));
  EXPECT_EQ(values, (std::vector<int>{1, 2, 3}));
}
