// TrainRequest: one training request in three forms (fields, JSON, command line) that must agree.
#include <gtest/gtest.h>

#include <algorithm>

#include "gmd/common/error.hpp"
#include "gmd/common/train_request.hpp"
#include "unusual_request.hpp"

namespace {
using gmd::TrainRequest;

TrainRequest unusual() { return gmd_test::unusual_request(); }
}  // namespace

TEST(TrainRequest, JsonRoundTripKeepsEveryField) {
  const TrainRequest r = unusual();
  EXPECT_EQ(TrainRequest::from_json(r.to_json()), r);
  EXPECT_NE(TrainRequest::from_json(r.to_json()), TrainRequest{});
  // Missing keys keep their defaults; unknown keys are ignored; widths may be config.json's array.
  const TrainRequest d = TrainRequest::from_json({{"steps", 5}, {"from_the_future", 1}, {"widths", {4, 8, 16}}});
  EXPECT_EQ(d.steps, 5);
  EXPECT_EQ(d.widths, "4,8,16");
  EXPECT_EQ(d.method, TrainRequest{}.method);
  EXPECT_THROW(TrainRequest::from_json({{"steps", "many"}}), gmd::UsageError);
  EXPECT_THROW(TrainRequest::from_json(nlohmann::json::array()), gmd::UsageError);
}

TEST(TrainRequest, ArgumentsSpellOutEveryField) {
  const auto a = unusual().arguments(true);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a.front(), "train");
  EXPECT_EQ(a.back(), "--resume");
  const auto value_of = [&](const std::string& flag) {
    for (size_t i = 0; i + 1 < a.size(); ++i)
      if (a[i] == flag) return a[i + 1];
    return std::string("<absent>");
  };
  EXPECT_EQ(value_of("--data"), "/data/brats, 2021 'quoted'");
  EXPECT_EQ(value_of("--policy"), "missing2");
  EXPECT_EQ(std::stod(value_of("--lr")), 1.0 / 3.0);  // all 17 digits
  EXPECT_EQ(value_of("--infer-patch"), "96");
  EXPECT_NE(std::find(a.begin(), a.end(), "--stem"), a.end());
  // One flag per JSON key (data -> --data, weight_decay -> --weight-decay, stem -> the --stem flag).
  const nlohmann::json keys = unusual().to_json();
  for (const auto& item : keys.items()) {
    std::string flag = "--" + item.key();
    for (char& c : flag)
      if (c == '_') c = '-';
    if (item.key() == "out") flag = "--out";
    EXPECT_NE(std::find(a.begin(), a.end(), flag), a.end()) << item.key();
  }
  const auto plain = TrainRequest{}.arguments(false);
  EXPECT_EQ(std::find(plain.begin(), plain.end(), "--resume"), plain.end());
  EXPECT_EQ(std::find(plain.begin(), plain.end(), "--stem"), plain.end());
}

TEST(TrainRequest, ValidateNamesTheFirstProblem) {
  TrainRequest r = unusual();
  EXPECT_EQ(r.validate(), "");
  auto with = [&](auto change) {
    TrainRequest x = unusual();
    change(x);
    return x.validate();
  };
  EXPECT_EQ(with([](TrainRequest& x) { x.data_dir.clear(); }), "choose a dataset folder or sample cache (--data)");
  EXPECT_NE(with([](TrainRequest& x) { x.method = "gmd"; }).find("unknown method 'gmd' (expected unimodal, vanilla, ds or ds-gmd)"), std::string::npos);
  EXPECT_NE(with([](TrainRequest& x) { x.policy = "some"; }).find("subset policy"), std::string::npos);
  EXPECT_NE(with([](TrainRequest& x) { x.projection = "x"; }).find("projection"), std::string::npos);
  EXPECT_NE(with([](TrainRequest& x) { x.amp = "fp8"; }).find("mixed precision"), std::string::npos);
  EXPECT_NE(with([](TrainRequest& x) { x.k = 16; }).find("k must be"), std::string::npos);
  EXPECT_NE(with([](TrainRequest& x) { x.widths = "8,x"; }).find("'x' is not a positive integer"), std::string::npos);
  EXPECT_NE(with([](TrainRequest& x) { x.widths = "8"; }).find("at least 2 levels"), std::string::npos);
  // 5 levels: multiples of 16.
  EXPECT_NE(with([](TrainRequest& x) { x.patch = 40; }).find("multiple of 16 for 5 levels"), std::string::npos);
  EXPECT_NE(with([](TrainRequest& x) { x.infer_patch = 40; }).find("inference window"), std::string::npos);
  EXPECT_NE(with([](TrainRequest& x) { x.fg_prob = 1.5; }).find("between 0 and 1"), std::string::npos);
  EXPECT_NE(with([](TrainRequest& x) { x.lr = 0; }).find("learning rate"), std::string::npos);
  EXPECT_NE(with([](TrainRequest& x) { x.val_every = -1; }).find("negative"), std::string::npos);
  EXPECT_NE(with([](TrainRequest& x) { x.batch = 3; }).find("must be a multiple of 2"), std::string::npos);
  EXPECT_NE(with([](TrainRequest& x) { x.nproc = 0; }).find("--nproc"), std::string::npos);
  EXPECT_NE(with([](TrainRequest& x) { x.dist_backend = "mpi"; }).find("distributed backend 'mpi'"), std::string::npos);
  EXPECT_NE(with([](TrainRequest& x) { x.dist_timeout = 0; }).find("timeout"), std::string::npos);
  EXPECT_EQ(unusual().patch_multiple(), 16);
  EXPECT_EQ(with([](TrainRequest& x) { x.widths = "4,8,16"; x.patch = 24; }), "");
  // The options alone: no folders needed, the same words for the rest.
  TrainRequest bare = unusual();
  bare.data_dir.clear();
  bare.run_dir.clear();
  EXPECT_EQ(bare.validate_options(), "");
  bare.patch = 40;
  EXPECT_NE(bare.validate_options().find("multiple of 16 for 5 levels"), std::string::npos);
}

TEST(TrainRequest, FromRunReadsConfigAndCard) {
  // The shape TrainConfig::to_json writes (the engine test checks it against the real thing) and a model card.
  const nlohmann::json config = {{"method", "vanilla"},
                                 {"steps", 300},
                                 {"patch", 32},
                                 {"k", 4},
                                 {"policy", "all"},
                                 {"lr", 2e-3},
                                 {"bce_weight", 0.0},
                                 {"gmd", {{"projection", "simultaneous"}, {"combine", "mean"}}},
                                 {"net", {{"widths", {4, 8, 16, 32}}, {"fusion", "feature"}, {"modality_stem", true}}},
                                 {"extra_card", {{"inference", {{"patch", 64}}}}}};
  const nlohmann::json card = {{"data", {{"dir", "cases"}, {"cache", "/c/train.gmdcache"}, {"val_cases", {"a", "b"}}}},
                               {"world_size", 2}};
  const TrainRequest r = TrainRequest::from_run(config, card);
  EXPECT_EQ(r.nproc, 2);  // trained by two processes: reopens with two
  EXPECT_EQ(r.method, "vanilla");
  EXPECT_EQ(r.steps, 300);
  EXPECT_EQ(r.patch, 32);
  EXPECT_EQ(r.k, 4);
  EXPECT_EQ(r.policy, "all");
  EXPECT_DOUBLE_EQ(r.lr, 2e-3);
  EXPECT_EQ(r.bce, 0.0);
  EXPECT_EQ(r.projection, "simultaneous");
  EXPECT_EQ(r.combine, "mean");
  EXPECT_EQ(r.widths, "4,8,16,32");
  EXPECT_EQ(r.fusion, "feature");
  EXPECT_TRUE(r.stem);
  EXPECT_EQ(r.data_dir, "/c/train.gmdcache");  // --data was the cache
  EXPECT_EQ(r.val_cases, 2);
  EXPECT_EQ(r.infer_patch, 64);
  // Without config.json: the copy inside model.json's "training"; a window equal to the patch is the default (0).
  const TrainRequest old = TrainRequest::from_run(nlohmann::json::object(),
                                                  {{"training", {{"steps", 9}, {"patch", 48}}},
                                                   {"inference", {{"patch", 48}}},
                                                   {"data", {{"dir", "cases"}}}});
  EXPECT_EQ(old.steps, 9);
  EXPECT_EQ(old.infer_patch, 0);
  EXPECT_EQ(old.data_dir, "cases");
}
