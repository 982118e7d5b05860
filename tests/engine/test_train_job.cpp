// The training use case (engine::train_config / plan_training / load_training_cache): the request becomes the
// engine's configuration without losing a field, the split and the model card are decided once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "gmd/common/error.hpp"
#include "gmd/engine/train_job.hpp"
#include "../common/unusual_request.hpp"

using namespace gmd::engine;
using gmd::TrainRequest;
namespace fs = std::filesystem;

namespace {
Sample tiny_sample(const std::string& id, gmd::SubsetMask present, int64_t n = 8, bool with_target = true) {
  Sample s;
  s.id = id;
  s.present = present;
  s.image = torch::zeros({4, n, n, n});
  for (int m = 0; m < gmd::kNumModalities; ++m)
    if (gmd::subset_has(present, m)) s.image[m].fill_(0.5);
  if (with_target) s.target = torch::zeros({3, n, n, n}, torch::kUInt8);
  return s;
}

// The request's fields that config.json holds (the folders, the split, the thread count and how the processes meet
// are not in it; model.json records the world size).
TrainRequest unusual_valid() {
  TrainRequest r = gmd_test::unusual_request();
  r.data_dir = r.run_dir = "";
  r.val_cases = -1;
  r.infer_patch = 0;
  r.threads = 0;
  r.nproc = 1;
  r.dist_backend = "auto";
  r.dist_timeout = 300;
  return r;
}
}  // namespace

TEST(TrainJob, DefaultRequestIsTheDefaultConfiguration) {
  // The request's defaults and TrainConfig's must not drift apart (the CLI, the panel and library callers agree).
  EXPECT_EQ(train_config(TrainRequest{}).to_json(), TrainConfig{}.to_json());
}

TEST(TrainJob, RequestSurvivesTheRunsConfigJson) {
  // What the engine writes as config.json gives back the request that made it (the panel reopens CLI runs so).
  const TrainRequest r = unusual_valid();
  const TrainConfig c = train_config(r);
  EXPECT_EQ(c.net.method, Method::DS);
  EXPECT_EQ(c.net.widths, (std::vector<int64_t>{8, 16, 32, 64, 128}));
  EXPECT_EQ(c.net.fusion, Fusion::Feature);
  EXPECT_EQ(c.gmd.projection, GmdProjection::None);
  EXPECT_EQ(c.policy, SubsetPolicy::Missing2);
  EXPECT_EQ(TrainRequest::from_run(c.to_json(), nlohmann::json::object()), r);
  // A bad request is a UsageError in the request's words.
  TrainRequest bad = r;
  bad.patch = 40;
  try {
    train_config(bad);
    ADD_FAILURE() << "no UsageError";
  } catch (const gmd::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("multiple of 16 for 5 levels"), std::string::npos) << e.what();
  }
}

TEST(TrainJob, PlanSplitsTheLastCasesAndRecordsThemInTheCard) {
  TrainRequest r = unusual_valid();
  r.val_cases = 2;
  r.infer_patch = 32;
  TrainingData d;
  const gmd::SubsetMask flair_t1 = 0b0011, t2 = 0b1000;
  for (int i = 0; i < 3; ++i) d.samples.push_back(tiny_sample("train" + std::to_string(i), flair_t1));
  d.samples.push_back(tiny_sample("val0", t2));
  d.samples.push_back(tiny_sample("val1", flair_t1));
  d.preprocessing = {{"spacing", {4, 4, 4}}};
  d.source = {{"dir", "cases"}};
  const TrainPlan p = plan_training(r, d);
  ASSERT_EQ(p.train.size(), 3u);
  ASSERT_EQ(p.val.size(), 2u);
  EXPECT_EQ(p.val[0].id, "val0");
  EXPECT_EQ(p.config.net.modalities, flair_t1);  // T2 appears only in a validation case
  const auto& card = p.config.extra_card;
  EXPECT_EQ(card["data"]["dir"], "cases");
  EXPECT_EQ(card["data"]["train_cases"], (nlohmann::json{"train0", "train1", "train2"}));
  EXPECT_EQ(card["data"]["val_cases"], (nlohmann::json{"val0", "val1"}));
  EXPECT_EQ(card["inference"]["patch"], 32);
  EXPECT_EQ(card["preprocessing"]["spacing"][0], 4);
  // Without a window: the training patch. -1 = 20 % (one of five); a split that leaves nothing is refused.
  r.infer_patch = 0;
  r.val_cases = -1;
  const TrainPlan q = plan_training(r, d);
  EXPECT_EQ(q.val.size(), 1u);
  EXPECT_EQ(q.config.extra_card["inference"]["patch"], 48);
  r.val_cases = 5;
  EXPECT_THROW(plan_training(r, d), gmd::UsageError);
}

TEST(TrainJob, CacheIsCheckedBeforeTraining) {
  const fs::path dir = fs::temp_directory_path() / ("gmd_test_train_job_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path ok = dir / "ok.gmdcache", no_seg = dir / "noseg.gmdcache", odd = dir / "odd.gmdcache";
  save_samples(ok, {tiny_sample("a", gmd::kFullMask, 16)}, {{"preprocessing", {{"multiple", 16}}}, {"source", "cases"}});
  save_samples(no_seg, {tiny_sample("b", gmd::kFullMask, 16, false)});
  save_samples(odd, {tiny_sample("c", gmd::kFullMask, 12)});
  const TrainingData d = load_training_cache(ok, 16);
  ASSERT_EQ(d.samples.size(), 1u);
  EXPECT_EQ(d.preprocessing["multiple"], 16);
  EXPECT_EQ(d.source["dir"], "cases");
  EXPECT_EQ(fs::path(d.source["cache"].get<std::string>()).filename(), "ok.gmdcache");
  try {
    load_training_cache(no_seg, 16);
    ADD_FAILURE() << "no InputError";
  } catch (const gmd::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("case 'b' has no segmentation"), std::string::npos) << e.what();
  }
  try {
    load_training_cache(odd, 8);
    ADD_FAILURE() << "no UsageError";
  } catch (const gmd::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("gmd cache --multiple 8"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(load_training_cache(odd, 4));
  fs::remove_all(dir);
}
