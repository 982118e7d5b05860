// SegmentationController / ModelController: worker thread, progress marshalled to the UI thread,
// cancel, errors in plain words, exactly the ticked modalities, the real pipeline with a tiny model.
#include <gtest/gtest.h>

#include <QSignalSpy>
#include <QThread>
#include <atomic>
#include <chrono>
#include <thread>

#include "gmd/common/error.hpp"
#include "gmd/gui/case_controller.hpp"
#include "gmd/gui/segmentation_controller.hpp"
#include "gui_test_util.hpp"

using namespace gmd;
using namespace gmd::gui;
namespace fs = std::filesystem;

namespace {
QString qs(const fs::path& p) { return QString::fromStdString(p.string()); }

std::shared_ptr<const io::Case> load_tiny(const std::string& name, SubsetMask mods = kFullMask) {
  test::TinyCaseSpec spec;
  spec.modalities = mods;
  const fs::path dir = test::write_tiny_case(test::scratch_dir(name), "c", spec);
  CaseController c;
  EXPECT_TRUE(c.openFolder(qs(dir))) << c.lastError().toStdString();
  return c.currentCase();
}

// A fake segmenter: reports a few stages, returns the case's reference labels.
pipeline::Segmentation fake_result(const io::Case& c, SubsetMask use) {
  pipeline::Segmentation s;
  s.labels = *c.seg;
  s.used = use;
  s.device = "cpu";
  s.seconds = 0.01;
  s.region_ml = pipeline::region_volumes_ml(s.labels);
  s.label_ml = pipeline::label_volumes_ml(s.labels);
  return s;
}
}  // namespace

TEST(SegmentationController, RunsOnAWorkerAndMarshalsProgressToTheUiThread) {
  const auto c = load_tiny("seg_worker");
  ASSERT_TRUE(c);
  SegmentationController seg(nullptr);
  std::atomic<bool> on_ui_thread{true};
  SubsetMask seen_use = 0;
  seg.setSegmentFunction([&](const io::Case& cs, SubsetMask use, const pipeline::Progress& p) {
    on_ui_thread = QThread::currentThread() == qApp->thread();
    seen_use = use;
    for (const char* stage : {"preprocessing", "segmenting", "restoring geometry"}) {
      for (int i = 0; i <= 4; ++i) {
        p.report(stage, i / 4.0);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
    return fake_result(cs, use);
  });
  QStringList stages;
  std::vector<double> fractions;
  bool progress_on_ui = true;
  QObject::connect(&seg, &SegmentationController::progressChanged, [&](const QString& s, double f) {
    progress_on_ui = progress_on_ui && QThread::currentThread() == qApp->thread();
    if (stages.isEmpty() || stages.back() != s) stages << s;
    fractions.push_back(f);
  });
  QSignalSpy finished(&seg, &SegmentationController::finished);
  QSignalSpy running(&seg, &SegmentationController::runningChanged);
  const SubsetMask use = parse_subset("flair,t2");
  ASSERT_TRUE(seg.start(c, use));
  EXPECT_TRUE(seg.isRunning());
  // the UI thread is free while the worker runs: start() returned before the work finished
  EXPECT_EQ(finished.count(), 0);
  ASSERT_TRUE(seg.waitForFinished(10000));
  EXPECT_EQ(finished.count(), 1);
  EXPECT_FALSE(on_ui_thread) << "the segmenter must run off the UI thread";
  EXPECT_TRUE(progress_on_ui) << "progress must be delivered on the UI thread";
  EXPECT_EQ(seen_use, use) << "exactly the ticked modalities are passed on";
  EXPECT_EQ(stages, (QStringList{"starting", "preprocessing", "segmenting", "restoring geometry", "done"}));
  EXPECT_DOUBLE_EQ(fractions.back(), 1.0);
  ASSERT_TRUE(seg.result());
  EXPECT_EQ(seg.result()->used, use);
  EXPECT_EQ(seg.result()->labels.voxels, c->seg->voxels);
  EXPECT_EQ(seg.resultCase(), c);
  ASSERT_EQ(running.count(), 2);
  EXPECT_TRUE(running.at(0).at(0).toBool());
  EXPECT_FALSE(running.at(1).at(0).toBool());
}

TEST(SegmentationController, CancelStopsTheRunAndKeepsNoResult) {
  const auto c = load_tiny("seg_cancel");
  SegmentationController seg(nullptr);
  std::atomic<bool> entered{false};
  std::atomic<int> polls{0};
  seg.setSegmentFunction([&](const io::Case& cs, SubsetMask use, const pipeline::Progress& p) {
    entered = true;
    for (int i = 0; i < 2000; ++i) {  // up to 20 s unless cancelled
      ++polls;
      if (p.cancelled && p.cancelled()) throw Cancelled();
      p.report("segmenting", i / 2000.0);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return fake_result(cs, use);
  });
  QSignalSpy cancelled(&seg, &SegmentationController::cancelled);
  QSignalSpy finished(&seg, &SegmentationController::finished);
  ASSERT_TRUE(seg.start(c, kFullMask));
  // a second start while running is refused
  QSignalSpy failed(&seg, &SegmentationController::failed);
  EXPECT_FALSE(seg.start(c, kFullMask));
  EXPECT_EQ(failed.count(), 1);
  while (!entered) test::pump(5);
  test::pump(50);
  const auto t0 = std::chrono::steady_clock::now();
  seg.cancel();
  ASSERT_TRUE(seg.waitForFinished(5000));
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(ms, 1000.0) << "cancel takes effect at the next poll";
  EXPECT_EQ(cancelled.count(), 1);
  EXPECT_EQ(finished.count(), 0);
  EXPECT_FALSE(seg.result());
  EXPECT_LT(polls.load(), 1000);
  // and it can run again afterwards
  seg.setSegmentFunction([](const io::Case& cs, SubsetMask use, const pipeline::Progress&) { return fake_result(cs, use); });
  ASSERT_TRUE(seg.start(c, kFullMask));
  ASSERT_TRUE(seg.waitForFinished(5000));
  EXPECT_TRUE(seg.result());
}

TEST(SegmentationController, ErrorsArriveInPlainWords) {
  const auto c = load_tiny("seg_errors", parse_subset("flair,t1"));
  SegmentationController seg(nullptr);
  QSignalSpy failed(&seg, &SegmentationController::failed);
  auto last = [&] { return failed.back().at(0).toString().toStdString(); };

  // nothing ticked
  EXPECT_FALSE(seg.start(c, 0));
  EXPECT_NE(last().find("No modality selected"), std::string::npos) << last();
  // a modality the case does not have
  EXPECT_FALSE(seg.start(c, parse_subset("flair,t2")));
  EXPECT_NE(last().find("T2"), std::string::npos) << last();
  // no case
  EXPECT_FALSE(seg.start(nullptr, kFullMask));
  EXPECT_NE(last().find("No case"), std::string::npos) << last();

  // errors thrown by the core (e.g. out of GPU memory) are shown as they are
  seg.setSegmentFunction([](const io::Case&, SubsetMask, const pipeline::Progress&) -> pipeline::Segmentation {
    throw InputError("c_flair.nii.gz: out of GPU memory (needs 9.1 GiB); use --device cpu or fewer modalities");
  });
  ASSERT_TRUE(seg.start(c, parse_subset("flair")));
  ASSERT_TRUE(seg.waitForFinished(5000));
  EXPECT_NE(last().find("c_flair.nii.gz: out of GPU memory"), std::string::npos) << last();
  // std::bad_alloc
  seg.setSegmentFunction([](const io::Case&, SubsetMask, const pipeline::Progress&) -> pipeline::Segmentation {
    throw std::bad_alloc();
  });
  ASSERT_TRUE(seg.start(c, parse_subset("flair")));
  ASSERT_TRUE(seg.waitForFinished(5000));
  EXPECT_NE(last().find("Out of memory"), std::string::npos) << last();
  // a result of the wrong size is refused
  seg.setSegmentFunction([](const io::Case& cs, SubsetMask use, const pipeline::Progress&) {
    pipeline::Segmentation s;
    s.labels.geom.size = {3, 3, 3};
    s.labels.voxels.assign(27, 0);
    s.used = use;
    (void)cs;
    return s;
  });
  ASSERT_TRUE(seg.start(c, parse_subset("flair")));
  ASSERT_TRUE(seg.waitForFinished(5000));
  EXPECT_NE(last().find("3x3x3"), std::string::npos) << last();
  EXPECT_FALSE(seg.result());
  EXPECT_EQ(failed.count(), 6);
}

TEST(ModelController, MissingModelsAreNamed) {
  ModelController models;
  QSignalSpy errors(&models, &ModelController::errorOccurred);
  EXPECT_FALSE(models.loadFrom("/nonexistent/run_42"));
  ASSERT_EQ(errors.count(), 1);
  EXPECT_TRUE(errors.back().at(1).toString().contains("/nonexistent/run_42")) << errors.back().at(1).toString().toStdString();
  EXPECT_FALSE(models.isLoaded());
  // no default model available: segmenting says so instead of crashing
  qputenv("GMD_MODEL_DIR", "/nonexistent/default_model");
  SegmentationController seg(&models);
  QSignalSpy failed(&seg, &SegmentationController::failed);
  const auto c = load_tiny("model_missing");
  const bool has_bundled = [] {
    try {
      pipeline::Model::default_path();
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }();
  if (!has_bundled) {
    EXPECT_FALSE(seg.start(c, kFullMask));
    ASSERT_EQ(failed.count(), 1);
    EXPECT_TRUE(failed.back().at(0).toString().contains("model")) << failed.back().at(0).toString().toStdString();
  } else {
    // a bundled default model exists (resources/models/default): it is used
    EXPECT_TRUE(seg.start(c, kFullMask));
    seg.waitForFinished(600000);
  }
  qunsetenv("GMD_MODEL_DIR");
}

TEST(SegmentationPipeline, RealSegmentWithATinyModelRunsAndReports) {
  std::string why;
  const fs::path run = test::tiny_model(&why);
  ASSERT_FALSE(run.empty()) << why;
  ModelController models;
  ASSERT_TRUE(models.loadFrom(qs(run))) << models.lastError().toStdString();
  EXPECT_TRUE(models.summary().contains("ds-gmd")) << models.summary().toStdString();
  EXPECT_TRUE(models.displayName().contains("ds-gmd"));
  EXPECT_TRUE(models.checkUsable(kFullMask).isEmpty());

  const fs::path case_dir = io::list_cases(test::tiny_dataset()).at(0);
  CaseController cases;
  ASSERT_TRUE(cases.openFolder(qs(case_dir)));
  SegmentationController seg(&models);
  pipeline::SegmentOptions opt;
  opt.device = "cpu";
  seg.setOptions(opt);
  QStringList stages;
  QObject::connect(&seg, &SegmentationController::progressChanged, [&](const QString& s, double) {
    if (stages.isEmpty() || stages.back() != s) stages << s;
  });
  const SubsetMask use = parse_subset("flair,t2");
  ASSERT_TRUE(seg.start(cases.currentCase(), use));
  ASSERT_TRUE(seg.waitForFinished(120000));
  ASSERT_TRUE(seg.result()) << "segmentation failed";
  EXPECT_EQ(seg.result()->used, use);
  EXPECT_EQ(seg.result()->labels.geom.size, cases.currentCase()->geom.size);
  EXPECT_EQ(seg.result()->device, "cpu");
  EXPECT_GE(stages.size(), 3) << stages.join(", ").toStdString();
  EXPECT_TRUE(stages.contains("segmenting")) << stages.join(", ").toStdString();
  EXPECT_TRUE(seg.resultModelName().contains("ds-gmd"));
  EXPECT_EQ(seg.resultModelPath(), models.modelPath());
  EXPECT_FALSE(seg.result()->agreement.has_value());  // only when asked for
  // The Segment panel's "Map subset agreement" reaches the pipeline: every subset of FLAIR+T2, same segmentation.
  const auto plain = seg.result()->labels.voxels;
  QSignalSpy changed(&seg, &SegmentationController::optionsChanged);
  seg.setAgreement(true);
  EXPECT_EQ(changed.count(), 1);
  ASSERT_TRUE(seg.start(cases.currentCase(), use));
  ASSERT_TRUE(seg.waitForFinished(120000));
  ASSERT_TRUE(seg.result() && seg.result()->agreement.has_value());
  EXPECT_EQ(seg.result()->agreement->subsets, 3);
  EXPECT_EQ(seg.result()->agreement->fraction[0].geom.size, cases.currentCase()->geom.size);
  EXPECT_EQ(seg.result()->labels.voxels, plain);
}

TEST(SegmentationPipeline, AModelThatCannotUseTheCaseSaysSo) {
  std::string why;
  const fs::path run = test::tiny_model_without_t2(&why);
  ASSERT_FALSE(run.empty()) << why;
  ModelController models;
  ASSERT_TRUE(models.loadFrom(qs(run)));
  const QString reason = models.checkUsable(kFullMask);
  EXPECT_TRUE(reason.contains("T2")) << reason.toStdString();
  SegmentationController seg(&models);
  QSignalSpy failed(&seg, &SegmentationController::failed);
  const auto c = load_tiny("no_t2");
  EXPECT_FALSE(seg.start(c, kFullMask));
  ASSERT_EQ(failed.count(), 1);
  const QString msg = failed.back().at(0).toString();
  EXPECT_TRUE(msg.contains("cannot segment this case")) << msg.toStdString();
  EXPECT_TRUE(msg.contains("T2")) << msg.toStdString();
  // without T2 it is fine
  EXPECT_TRUE(models.checkUsable(parse_subset("flair,t1,t1ce")).isEmpty());
}
