// The training panel driving a real `gmd train` (CPU, tiny): live charts of every kind, pause and
// resume from the checkpoint (also from a new panel, as after a restart), stop leaving a loadable
// model, replay of a run made with the CLI, and a UI that keeps processing events meanwhile.
#include <gtest/gtest.h>

#include <QDir>
#include <QElapsedTimer>
#include <QImage>
#include <QPushButton>
#include <QSignalSpy>
#include <QTest>
#include <QTimer>
#include <fstream>
#include <iostream>

#include "gmd/panels/training_panel.hpp"
#include "gmd/pipeline/service.hpp"
#include "panels_test_env.hpp"

using namespace gmd::panels;
using panels_test::env;
namespace fs = std::filesystem;
using State = TrainingSession::State;
using gmd::TrainRequest;

namespace {
TrainRequest tiny(const fs::path& run, int64_t steps, const std::string& method = "ds-gmd") {
  TrainRequest s;
  s.data_dir = env().data.string();
  s.run_dir = run.string();
  s.method = method;
  s.policy = "random";
  s.k = 3;
  s.steps = steps;
  s.patch = 32;
  s.widths = "4,8";
  s.device = "cpu";
  s.seed = 7;
  s.val_cases = 1;
  s.val_every = 2;
  s.checkpoint_every = 2;
  return s;
}

bool wait_state(TrainingSession* s, std::initializer_list<State> states, int ms) {
  return QTest::qWaitFor(
      [&] {
        for (State x : states)
          if (s->state() == x && !s->isActive()) return true;
        return false;
      },
      ms);
}

// Records the longest gap between ticks of a 20 ms timer: a frozen UI thread shows up as a long gap.
struct FreezeProbe {
  QTimer timer;
  QElapsedTimer clock;
  qint64 last = 0, worst = 0;
  FreezeProbe() {
    clock.start();
    timer.setInterval(20);
    QObject::connect(&timer, &QTimer::timeout, [this] {
      const qint64 now = clock.elapsed();
      worst = std::max(worst, now - last);
      last = now;
    });
    timer.start();
  }
};

QString out_dir() {
  const QString d = QStringLiteral(GMD_PANELS_TEST_OUT) + "/screens";
  QDir().mkpath(d);
  return d;
}
}  // namespace

TEST(TrainingPanel, TinyRunFromThePanelDrawsEveryChartAndKeepsTheUiResponsive) {
  ASSERT_TRUE(env().ok) << env().error;
  const fs::path run = env().root / "panel_run";
  TrainingPanel panel;
  panel.resize(1400, 860);
  panel.setGmdExecutable(panels_test::kGmd);
  panel.setSettings(tiny(run, 4));
  const DatasetSummary ds = panel.scanDatasetBlocking();
  EXPECT_EQ(ds.cases, 2);
  EXPECT_EQ(ds.with_seg, 2);
  EXPECT_EQ(ds.per_modality[2], 2);
  QSignalSpy metrics(panel.session(), &TrainingSession::metricsChanged);
  QSignalSpy use(&panel, &TrainingPanel::useModel);
  FreezeProbe probe;
  ASSERT_TRUE(panel.start()) << panel.statusText().toStdString();
  EXPECT_EQ(panel.session()->state(), State::Running);
  ASSERT_TRUE(wait_state(panel.session(), {State::Finished, State::Failed}, 240000));
  ASSERT_EQ(panel.session()->state(), State::Finished) << panel.session()->lastError().toStdString();
  EXPECT_LT(probe.worst, 1000) << "the UI thread was blocked for " << probe.worst << " ms";
  RecordProperty("longest_ui_stall_ms", static_cast<int>(probe.worst));
  std::cout << "longest UI stall during the run: " << probe.worst << " ms\n";
  EXPECT_GE(metrics.count(), 2);  // records arrived while the child ran, not only at the end
  panel.refreshCharts();

  const MetricsLog& log = panel.session()->log();
  ASSERT_EQ(log.last_step(), 4);
  EXPECT_TRUE(log.has_gmd());
  // A chart point of every kind.
  EXPECT_GE(panel.chart(Figure::Loss)->pointCount(), 4u + 4u);  // total + the subsets' losses
  EXPECT_GE(panel.chart(Figure::ValDice)->pointCount(), 3u * 2u);  // WT/TC/ET at steps 2 and 4
  EXPECT_GE(panel.chart(Figure::ConflictAngles)->pointCount(), 4u);
  EXPECT_EQ(panel.chart(Figure::ConflictFraction)->pointCount(), 4u);
  EXPECT_GE(panel.chart(Figure::GradNorms)->pointCount(), 3u * 4u);  // k = 3 subsets per step
  EXPECT_GE(panel.chart(Figure::GmdWeights)->pointCount(), 3u * 4u);
  EXPECT_EQ(panel.heatmap()->matrix().names.size(), 3u);
  EXPECT_EQ(panel.heatmap()->matrix().step, 4);
  // The settings travel with the run.
  const TrainRequest saved = settings_from_run(run);
  EXPECT_EQ(saved.widths, "4,8");
  EXPECT_EQ(saved.steps, 4);
  EXPECT_EQ(saved.data_dir, env().data.string());

  // "Use this model" hands the run folder over; the model loads.
  for (auto* b : panel.findChildren<QPushButton*>())
    if (b->text() == QStringLiteral("Use this model")) {
      ASSERT_TRUE(b->isEnabled());
      b->click();
    }
  ASSERT_EQ(use.count(), 1);
  EXPECT_EQ(use.at(0).at(0).toString().toStdString(), run.string());
  EXPECT_NO_THROW(gmd::pipeline::Model::load(run));

  // Screenshots of the panel (looked at by a person; the best go to docs/figures).
  for (int t = 0; t < 4; ++t) {
    panel.showFigure(t == 0 ? Figure::Loss : t == 1 ? Figure::ConflictAngles : t == 2 ? Figure::GradNorms
                                                                                     : Figure::GmdWeights);
    const QImage img = render_widget(&panel);
    ASSERT_FALSE(img.isNull());
    img.save(out_dir() + QStringLiteral("/training_panel_tab%1.png").arg(t));
  }
  panel.resize(520, 1000);  // as in a narrow side panel: the form goes above the charts
  panel.showFigure(Figure::GradNorms);
  const QImage narrow = render_widget(&panel);
  EXPECT_LE(narrow.width(), 560) << "the panel does not shrink into a side panel";
  narrow.save(out_dir() + "/training_panel_narrow.png");
  QString err;
  EXPECT_TRUE(panel.exportCharts(out_dir() + "/training_export", &err)) << err.toStdString();
  EXPECT_TRUE(QFileInfo::exists(out_dir() + "/training_export/fig4_gmd_weights.svg"));
}

TEST(TrainingPanel, PauseThenResumeInANewPanelContinuesFromTheCheckpoint) {
  ASSERT_TRUE(env().ok) << env().error;
  const fs::path run = env().root / "pause_run";
  const int64_t total = 12;
  std::vector<double> before;  // losses up to the pause
  int64_t paused_at = 0;
  {
    TrainingPanel panel;
    panel.setGmdExecutable(panels_test::kGmd);
    TrainRequest s = tiny(run, total, "ds");
    s.checkpoint_every = 1000;  // the only checkpoint is the one the pause writes
    s.val_cases = 0;            // no validation: faster
    s.val_every = 0;
    panel.setSettings(s);
    ASSERT_TRUE(panel.start()) << panel.statusText().toStdString();
    ASSERT_TRUE(QTest::qWaitFor([&] { return panel.session()->log().last_step() >= 1 || !panel.session()->isActive(); },
                                240000));
    ASSERT_TRUE(panel.session()->isActive()) << "the run ended before it could be paused";
    panel.pause();
    EXPECT_EQ(panel.session()->state(), State::Pausing);
    ASSERT_TRUE(wait_state(panel.session(), {State::Paused, State::Finished, State::Failed}, 120000));
    ASSERT_EQ(panel.session()->state(), State::Paused) << panel.session()->lastError().toStdString();
    paused_at = panel.session()->log().last_step();
    ASSERT_GE(paused_at, 1);
    ASSERT_LT(paused_at, total);
    EXPECT_TRUE(fs::exists(run / "checkpoint.pt"));
    EXPECT_TRUE(panel.session()->canResume());
    for (const auto& r : panel.session()->log().steps()) before.push_back(r.loss);
  }  // the panel is gone: "the application was restarted"

  TrainingPanel panel;
  panel.setGmdExecutable(panels_test::kGmd);
  ASSERT_TRUE(panel.openRun(QString::fromStdString(run.string())));
  EXPECT_EQ(panel.session()->state(), State::Paused);
  EXPECT_EQ(panel.settings().method, "ds");
  EXPECT_EQ(panel.chart(Figure::Loss)->data().front().points.size(), static_cast<std::size_t>(paused_at));
  ASSERT_TRUE(panel.resume()) << panel.statusText().toStdString();
  ASSERT_TRUE(wait_state(panel.session(), {State::Finished, State::Failed}, 240000));
  ASSERT_EQ(panel.session()->state(), State::Finished) << panel.session()->lastError().toStdString();
  EXPECT_TRUE(panel.session()->output().join('\n').contains(QStringLiteral("resuming")));
  const auto& steps = panel.session()->log().steps();
  ASSERT_EQ(steps.size(), static_cast<std::size_t>(total));
  for (std::size_t i = 0; i < steps.size(); ++i) EXPECT_EQ(steps[i].step, static_cast<int64_t>(i + 1));
  // The steps before the pause were kept, not re-run from scratch.
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_DOUBLE_EQ(steps[i].loss, before[i]) << "step " << i + 1;
  EXPECT_EQ(panel.chart(Figure::Loss)->data().front().points.size(), static_cast<std::size_t>(total));
}

TEST(TrainingPanel, StopLeavesALoadableModel) {
  ASSERT_TRUE(env().ok) << env().error;
  const fs::path run = env().root / "stop_run";
  TrainingPanel panel;
  panel.setGmdExecutable(panels_test::kGmd);
  TrainRequest s = tiny(run, 100000);
  s.val_cases = 0;
  s.val_every = 0;
  panel.setSettings(s);
  ASSERT_TRUE(panel.start());
  ASSERT_TRUE(QTest::qWaitFor([&] { return panel.session()->log().last_step() >= 2 || !panel.session()->isActive(); },
                              240000));
  panel.stop();
  ASSERT_TRUE(wait_state(panel.session(), {State::Stopped, State::Failed, State::Finished}, 120000));
  ASSERT_EQ(panel.session()->state(), State::Stopped) << panel.session()->lastError().toStdString();
  EXPECT_TRUE(panel.session()->hasModel());
  gmd::pipeline::Model m = gmd::pipeline::Model::load(run);
  EXPECT_EQ(m.method(), "ds-gmd");
  EXPECT_EQ(m.card().value("steps_done", int64_t{-1}), panel.session()->log().last_step());
  EXPECT_FALSE(m.card().value("complete", true));
}

TEST(TrainingPanel, StartsAMultiProcessRunAndShowsItAsOneRun) {
  ASSERT_TRUE(env().ok) << env().error;
  const fs::path run = env().root / "two_process_run";
  TrainingPanel panel;
  panel.setGmdExecutable(panels_test::kGmd);
  TrainRequest s = tiny(run, 4, "ds");
  s.batch = 2;  // the global batch, one patch per process
  s.nproc = 2;
  s.val_cases = 0;
  s.val_every = 0;
  panel.setSettings(s);
  EXPECT_EQ(panel.settings().nproc, 2);  // the form's Processes field
  ASSERT_TRUE(panel.start()) << panel.statusText().toStdString();
  ASSERT_TRUE(wait_state(panel.session(), {State::Finished, State::Failed}, 240000));
  ASSERT_EQ(panel.session()->state(), State::Finished) << panel.session()->lastError().toStdString();
  // One run: rank 0's records, one per step, and the launcher's processes in the output.
  const auto& steps = panel.session()->log().steps();
  ASSERT_EQ(steps.size(), 4u);
  for (std::size_t i = 0; i < steps.size(); ++i) EXPECT_EQ(steps[i].step, static_cast<int64_t>(i + 1));
  const QString out = panel.session()->output().join('\n');
  EXPECT_TRUE(out.contains(QStringLiteral("starting 2 training processes"))) << out.toStdString();
  EXPECT_TRUE(out.contains(QStringLiteral("[rank 0]"))) << out.toStdString();
  gmd::pipeline::Model m = gmd::pipeline::Model::load(run);
  EXPECT_EQ(m.card().value("world_size", 0), 2);
  // Reopened, it resumes with as many processes.
  TrainingPanel again;
  ASSERT_TRUE(again.openRun(QString::fromStdString(run.string())));
  EXPECT_EQ(again.settings().nproc, 2);
  EXPECT_EQ(again.settings().batch, 2);
}

TEST(TrainingPanel, ReplaysARunMadeWithTheCli) {
  ASSERT_TRUE(env().ok) << env().error;
  TrainingPanel panel;
  panel.resize(1300, 800);
  ASSERT_TRUE(panel.openRun(QString::fromStdString(env().cli_run.string())));
  // No studio-train.json: settings come from config.json / model.json.
  const TrainRequest s = panel.settings();
  EXPECT_EQ(s.widths, "4,8");
  EXPECT_EQ(s.patch, 32);
  EXPECT_EQ(s.k, 3);
  EXPECT_EQ(s.val_cases, 1);
  EXPECT_EQ(fs::path(s.data_dir), env().data);
  EXPECT_EQ(panel.session()->state(), State::Finished);
  EXPECT_FALSE(panel.session()->canResume());
  EXPECT_EQ(panel.chart(Figure::ConflictFraction)->pointCount(), 4u);
  EXPECT_EQ(panel.chart(Figure::ValDice)->pointCount(), 6u);
  // Not a run: a clear message, no state change.
  EXPECT_FALSE(panel.openRun(QString::fromStdString(env().data.string())));
  EXPECT_TRUE(panel.statusText().contains(QStringLiteral("not a training run")));
  panel.showFigure(Figure::ConflictAngles);
  render_widget(&panel).save(out_dir() + "/training_panel_replay.png");
}

TEST(TrainingPanel, RefusesBadSettingsAndMissingExecutableWithAMessage) {
  ASSERT_TRUE(env().ok) << env().error;
  TrainingPanel panel;
  TrainRequest s = tiny(env().root / "bad_run", 2);
  s.widths = "4,8,16";  // 3 levels: the patch must be a multiple of 4
  s.patch = 34;
  panel.setSettings(s);
  EXPECT_FALSE(panel.start());
  EXPECT_TRUE(panel.statusText().contains(QStringLiteral("multiple of 4"))) << panel.statusText().toStdString();
  // An existing run is not overwritten by Start.
  panel.setSettings(tiny(env().cli_run, 2));
  EXPECT_FALSE(panel.start());
  EXPECT_TRUE(panel.statusText().contains(QStringLiteral("already holds a run")));
  // A wrong gmd path fails cleanly.
  panel.setGmdExecutable(QStringLiteral("/nonexistent/gmd"));
  panel.setSettings(tiny(env().root / "never_run", 2));
  EXPECT_FALSE(panel.start());
  EXPECT_EQ(panel.session()->state(), State::Failed);
  EXPECT_TRUE(panel.statusText().contains(QStringLiteral("cannot start")));
}
