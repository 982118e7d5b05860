// Trainer: overfitting a tiny synthetic case (ds-gmd), metrics.jsonl content, stop + bit-exact resume,
// corrupt checkpoints, every method, bad configurations.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <ATen/CPUGeneratorImpl.h>

#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/common/metrics_schema.hpp"
#include "gmd/engine/model_io.hpp"
#include "gmd/engine/predictor.hpp"
#include "gmd/engine/trainer.hpp"

using namespace gmd::engine;
using gmd::kFullMask;
using gmd::SubsetMask;
namespace fs = std::filesystem;

namespace {
fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("gmd_test_trainer_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// A synthetic "case": a brain-filling noisy background with a spherical tumour: WT ball, TC inner ball,
// ET a shell of the core. Visibility per modality loosely follows BraTS: FLAIR/T2 bright on WT, T1 dark
// (darker on TC), T1ce bright on ET.
Sample make_case(const std::string& id, int64_t n, uint64_t seed, SubsetMask present = kFullMask) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto r = torch::arange(n, torch::kFloat);
  const double cz = n / 2.0 + (static_cast<double>(seed % 5) - 2.0), cy = n / 2.0 - 1.0,
               cx = n / 2.0 + (static_cast<double>(seed % 3) - 1.0);
  const torch::Tensor d = torch::sqrt((r.view({-1, 1, 1}) - cz).pow(2) + (r.view({1, -1, 1}) - cy).pow(2) +
                                      (r.view({1, 1, -1}) - cx).pow(2));
  const double rw = n / 4.0, rt = rw * 0.6;
  const torch::Tensor wt = (d < rw).to(torch::kFloat), tc = (d < rt).to(torch::kFloat),
                      et = ((d < rt) & (d > rt * 0.5)).to(torch::kFloat);
  Sample s;
  s.id = id;
  s.present = present;
  const torch::Tensor noise = torch::randn({4, n, n, n}, gen) * 0.2;
  s.image = torch::stack({1.5 * wt, -0.6 * wt - 0.8 * tc, 0.6 * wt + 1.5 * et, 1.2 * wt + 0.4 * tc}) + noise + 0.05;
  for (int m = 0; m < gmd::kNumModalities; ++m)
    if (!gmd::subset_has(present, m)) s.image[m].zero_();
  s.target = torch::stack({wt, tc, et}).to(torch::kUInt8);
  return s;
}

TrainConfig tiny_config(Method m, int64_t steps) {
  TrainConfig c;
  c.net.method = m;
  c.net.widths = {4, 8};
  c.net.groups = 2;
  c.steps = steps;
  c.patch = 8;
  c.k = 3;
  c.lr = 3e-3;
  c.device = "cpu";
  c.checkpoint_every = 100;
  c.val_every = 0;
  c.val_patch = 0;  // = patch
  return c;
}

std::vector<nlohmann::json> read_records(const fs::path& file) {
  std::vector<nlohmann::json> out;
  std::istringstream in(gmd::read_text(file));
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::vector<nlohmann::json> of_type(const std::vector<nlohmann::json>& recs, const std::string& type) {
  std::vector<nlohmann::json> out;
  for (const auto& r : recs)
    if (r.value("type", "") == type) out.push_back(r);
  return out;
}

template <typename F>
std::string input_error_of(F&& f) {
  try {
    f();
  } catch (const gmd::InputError& e) {
    return e.what();
  }
  return "<no InputError>";
}
}  // namespace

TEST(Trainer, DsGmdOverfitsTinyCaseAndLogsGmd) {
  const fs::path dir = fresh_dir("overfit");
  const std::vector<Sample> data{make_case("c0", 24, 1), make_case("c1", 24, 2)};
  TrainConfig cfg = tiny_config(Method::DSGMD, 80);
  cfg.net.widths = {8, 16};
  cfg.net.groups = 4;
  cfg.patch = 16;
  cfg.k = 4;
  cfg.lr = 1e-2;
  cfg.bce_weight = 1.0;  // Dice + BCE sharpens the boundary of this tiny tumour within the step budget
  cfg.val_every = 40;
  cfg.extra_card = {{"dataset", "synthetic"}};
  int records = 0;
  TrainControl ctl;
  ctl.on_record = [&](const nlohmann::json&) { ++records; };
  train(cfg, data, data, dir, false, ctl);

  const auto recs = read_records(dir / "metrics.jsonl");
  EXPECT_EQ(static_cast<int>(recs.size()), records);
  ASSERT_FALSE(recs.empty());
  EXPECT_EQ(recs[0]["type"], "config");
  EXPECT_EQ(recs[0]["subset_names"].size(), 15u);
  const auto steps = of_type(recs, "step");
  ASSERT_EQ(steps.size(), 80u);
  for (size_t i = 0; i < steps.size(); ++i) {
    const auto& r = steps[i];
    EXPECT_EQ(r["step"].get<int64_t>(), static_cast<int64_t>(i) + 1);
    ASSERT_EQ(r["subsets"].size(), 4u);
    ASSERT_EQ(r["losses"].size(), 4u);
    for (const auto& name : r["subsets"]) EXPECT_TRUE(r["losses"].contains(name.get<std::string>()));
    ASSERT_TRUE(r.contains("gmd"));
    const auto& g = r["gmd"];
    ASSERT_EQ(g["cos"].size(), 4u);
    ASSERT_EQ(g["cos_after"].size(), 4u);
    ASSERT_EQ(g["norms"].size(), 4u);
    ASSERT_EQ(g["weights"].size(), 4u);
    for (size_t a = 0; a < 4; ++a) {
      ASSERT_EQ(g["cos"][a].size(), 4u);
      EXPECT_NEAR(g["cos"][a][a].get<double>(), 1.0, 1e-6);
      EXPECT_TRUE(g["weights"][a].is_number());
      EXPECT_TRUE(std::isfinite(g["weights"][a].get<double>()));
      EXPECT_GT(g["norms"][a].get<double>(), 0.0);
    }
    EXPECT_GE(g["conflicts"].get<int64_t>(), 0);
    EXPECT_LE(g["conflicts"].get<int64_t>(), 6);
    EXPECT_TRUE(std::isfinite(r["loss"].get<double>()));
  }
  // Every record holds exactly the keys of the shared schema (gmd/common/metrics_schema.hpp) that its readers use:
  // all of them here (a ds-gmd run with validation per subset).
  const auto keys_of = [](const nlohmann::json& j) {
    std::set<std::string> k;
    for (const auto& item : j.items()) k.insert(item.key());
    return k;
  };
  const auto schema = [](const auto& list) { return std::set<std::string>(list.begin(), list.end()); };
  EXPECT_EQ(keys_of(recs[0]), schema(gmd::metrics::kConfigKeys));
  EXPECT_EQ(keys_of(steps.back()), schema(gmd::metrics::kStepKeys));
  EXPECT_EQ(keys_of(steps.back()[gmd::metrics::kGmd]), schema(gmd::metrics::kGmdKeys));
  EXPECT_EQ(keys_of(of_type(recs, gmd::metrics::kValRecord).back()), schema(gmd::metrics::kValKeys));
  // The loss went down.
  double first = 0, last = 0;
  for (int i = 0; i < 5; ++i) {
    first += steps[static_cast<size_t>(i)]["loss"].get<double>();
    last += steps[steps.size() - 1 - static_cast<size_t>(i)]["loss"].get<double>();
  }
  EXPECT_LT(last, first * 0.85);

  const auto vals = of_type(recs, "val");
  ASSERT_EQ(vals.size(), 2u);  // step 40 and the end
  EXPECT_EQ(vals.back()["step"], 80);
  EXPECT_EQ(vals.back()["dice_subsets"].size(), 15u);
  const double wt = vals.back()["dice"]["WT"].get<double>();
  std::printf("overfit ds-gmd: final val Dice WT %.3f TC %.3f ET %.3f\n", wt, vals.back()["dice"]["TC"].get<double>(),
              vals.back()["dice"]["ET"].get<double>());
  EXPECT_GT(wt, 0.9);

  // Model files: card content and an independent re-evaluation of the saved model.
  LoadedModel lm = load_model(dir);
  EXPECT_EQ(lm.card["method"], "ds-gmd");
  EXPECT_EQ(lm.card["steps_done"], 80);
  EXPECT_EQ(lm.card["dataset"], "synthetic");
  EXPECT_EQ(lm.card["parameters"].get<int64_t>(), parameter_count(lm.model));
  EXPECT_NEAR(lm.card["val_dice"]["WT"].get<double>(), wt, 1e-12);
  EXPECT_TRUE(fs::exists(dir / "checkpoint.pt"));
  EXPECT_TRUE(fs::exists(dir / "config.json"));
  PredictOptions opt;
  opt.patch = 16;  // the training patch
  const torch::Tensor probs = predict_subsets(*lm.model, data[0].image, kFullMask, {kFullMask}, torch::kCPU, opt)[0];
  const torch::Tensor pred = probs[0] > 0.5, truth = data[0].target[0] != 0;
  const double dice = 2.0 * (pred & truth).sum().item<double>() / (pred.sum() + truth.sum()).item<double>();
  EXPECT_GT(dice, 0.9);
  fs::remove_all(dir);
}

TEST(Trainer, StopAndResumeIsBitExact) {
  const std::vector<Sample> data{make_case("a", 16, 3), make_case("b", 16, 4, 0b1011)};
  TrainConfig cfg = tiny_config(Method::DSGMD, 6);
  cfg.gmd.projection = GmdProjection::Sequential;  // uses the per-step RNG too
  cfg.checkpoint_every = 2;
  cfg.batch = 2;

  const fs::path straight = fresh_dir("straight"), resumed = fresh_dir("resumed");
  train(cfg, data, {}, straight);

  std::atomic<bool> stop{false};
  TrainControl ctl;
  ctl.stop = &stop;
  ctl.on_record = [&](const nlohmann::json& r) {
    if (r.value("type", "") == "step" && r["step"] == 3) stop = true;
  };
  train(cfg, data, {}, resumed, false, ctl);
  {
    LoadedModel partial = load_model(resumed);
    EXPECT_EQ(partial.card["steps_done"], 3);
    EXPECT_EQ(partial.card["complete"], false);
  }
  // Simulate a crash after step 3's checkpoint: a torn record at the end of metrics.jsonl.
  { std::ofstream(resumed / "metrics.jsonl", std::ios::app) << R"({"type":"step","step":4,"lo)"; }
  train(cfg, data, {}, resumed, true);

  const LoadedModel a = load_model(straight), b = load_model(resumed);
  EXPECT_EQ(b.card["steps_done"], 6);
  const auto pa = a.model->named_parameters(true), pb = b.model->named_parameters(true);
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& p : pa) EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();

  const auto ra = of_type(read_records(straight / "metrics.jsonl"), "step");
  const auto rb = of_type(read_records(resumed / "metrics.jsonl"), "step");
  ASSERT_EQ(ra.size(), 6u);
  ASSERT_EQ(rb.size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(rb[i]["step"].get<int64_t>(), static_cast<int64_t>(i) + 1);
    EXPECT_EQ(ra[i]["losses"], rb[i]["losses"]) << "step " << i + 1;
    EXPECT_EQ(ra[i]["gmd"]["weights"], rb[i]["gmd"]["weights"]) << "step " << i + 1;
    EXPECT_EQ(ra[i]["lr"], rb[i]["lr"]);
  }
  // A different seed trains differently (the comparison above is not vacuous).
  const fs::path other = fresh_dir("other");
  cfg.seed = 2;
  train(cfg, data, {}, other);
  const LoadedModel c = load_model(other);
  bool any_diff = false;
  for (const auto& p : pa) any_diff = any_diff || !torch::equal(p.value(), c.model->named_parameters(true)[p.key()]);
  EXPECT_TRUE(any_diff);
  for (const auto& d : {straight, resumed, other}) fs::remove_all(d);
}

TEST(Trainer, CorruptOrMissingCheckpointIsInputError) {
  const std::vector<Sample> data{make_case("a", 16, 3)};
  TrainConfig cfg = tiny_config(Method::DS, 2);
  const fs::path dir = fresh_dir("corrupt");
  std::string msg = input_error_of([&] { train(cfg, data, {}, dir, true); });
  EXPECT_NE(msg.find("checkpoint"), std::string::npos) << msg;

  train(cfg, data, {}, dir);
  const fs::path ck = dir / "checkpoint.pt";
  ASSERT_TRUE(fs::exists(ck));
  fs::resize_file(ck, fs::file_size(ck) / 2);
  cfg.steps = 4;
  msg = input_error_of([&] { train(cfg, data, {}, dir, true); });
  EXPECT_NE(msg.find("corrupt or truncated checkpoint"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;

  // A checkpoint of another network cannot be resumed with this one.
  cfg.steps = 2;
  train(cfg, data, {}, dir);
  cfg.net.widths = {4, 16};
  cfg.steps = 4;
  msg = input_error_of([&] { train(cfg, data, {}, dir, true); });
  EXPECT_NE(msg.find("different network"), std::string::npos) << msg;

  // Truncated model.pt written by the trainer: its card's checksum no longer matches.
  fs::resize_file(dir / "model.pt", fs::file_size(dir / "model.pt") / 3);
  msg = input_error_of([&] { load_model(dir); });
  EXPECT_NE(msg.find("corrupt or replaced model weights"), std::string::npos) << msg;
  fs::remove_all(dir);
}

TEST(Trainer, EveryMethodRunsTwoSteps) {
  const std::vector<Sample> data{make_case("a", 16, 5), make_case("b", 16, 6)};
  for (Method m : {Method::Unimodal, Method::Vanilla, Method::DS, Method::DSGMD}) {
    const fs::path dir = fresh_dir("method_" + method_name(m));
    TrainConfig cfg = tiny_config(m, 2);
    cfg.modality_dropout = 1.0;  // vanilla: every step trains on a proper subset
    cfg.val_every = 1;
    train(cfg, data, {data[0]}, dir);
    const auto recs = read_records(dir / "metrics.jsonl");
    const auto steps = of_type(recs, "step");
    ASSERT_EQ(steps.size(), 2u) << method_name(m);
    EXPECT_EQ(of_type(recs, "val").size(), 2u) << method_name(m);
    for (const auto& r : steps) {
      EXPECT_TRUE(std::isfinite(r["loss"].get<double>()));
      EXPECT_EQ(r.contains("gmd"), m == Method::DSGMD) << method_name(m);
      switch (m) {
        case Method::Unimodal:
          EXPECT_EQ(r["subsets"], nlohmann::json({"FLAIR", "T1", "T1ce", "T2"}));
          break;
        case Method::Vanilla:
          ASSERT_EQ(r["subsets"].size(), 1u);
          EXPECT_NE(r["subsets"][0], "FLAIR+T1+T1ce+T2");
          break;
        default:
          EXPECT_EQ(r["subsets"].size(), 3u);
          break;
      }
    }
    const LoadedModel lm = load_model(dir);
    EXPECT_EQ(lm.card["method"], method_name(m));
    EXPECT_EQ(lm.model->config().method, m);
    fs::remove_all(dir);
  }
}

TEST(Trainer, TrainingChangesOnlyReachedParameters) {
  // A DS model trained on FLAIR-only cases never touches the T2-specific affines, while shared weights move.
  const std::vector<Sample> data{make_case("f", 16, 7, 0b0001)};
  TrainConfig cfg = tiny_config(Method::DSGMD, 2);
  const fs::path dir = fresh_dir("reach");
  train(cfg, data, {}, dir);
  torch::manual_seed(cfg.seed);
  SegModel init = make_model(cfg.net);
  const LoadedModel lm = load_model(dir);
  const auto after = lm.model->named_parameters(true);
  bool t2_same = true, shared_moved = false, flair_moved = false;
  for (const auto& p : init->named_parameters(true)) {
    const bool same = torch::equal(p.value(), after[p.key()]);
    if (p.key().rfind("mod_t2", 0) == 0) t2_same = t2_same && same;
    if (p.key().rfind("mod_flair", 0) == 0) flair_moved = flair_moved || !same;
    if (p.key().rfind("mod_", 0) != 0) shared_moved = shared_moved || !same;
  }
  EXPECT_TRUE(t2_same);
  EXPECT_TRUE(flair_moved);
  EXPECT_TRUE(shared_moved);
  fs::remove_all(dir);
}

TEST(Trainer, GmdControlStepsLikeDs) {
  // ds-gmd with projection none (the study's control: k per-subset backward passes, no projection) takes DS's
  // steps: same subsets, same summed gradient, so the same parameters up to float rounding, and it logs GMD.
  const std::vector<Sample> data{make_case("a", 16, 8), make_case("b", 16, 9, 0b0111)};
  TrainConfig ds = tiny_config(Method::DS, 3);
  TrainConfig ctl = tiny_config(Method::DSGMD, 3);
  ctl.gmd.projection = GmdProjection::None;
  const fs::path dd = fresh_dir("control_ds"), dc = fresh_dir("control_gmd");
  train(ds, data, {}, dd);
  train(ctl, data, {}, dc);
  const auto rd = of_type(read_records(dd / "metrics.jsonl"), "step");
  const auto rc = of_type(read_records(dc / "metrics.jsonl"), "step");
  ASSERT_EQ(rd.size(), 3u);
  ASSERT_EQ(rc.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(rd[i]["subsets"], rc[i]["subsets"]);
    ASSERT_TRUE(rc[i].contains("gmd"));
    for (const auto& w : rc[i]["gmd"]["weights"]) EXPECT_DOUBLE_EQ(w.get<double>(), 1.0);
  }
  const LoadedModel a = load_model(dd), b = load_model(dc);
  EXPECT_EQ(b.card["training"]["gmd"]["projection"], "none");
  const auto pa = a.model->named_parameters(true), pb = b.model->named_parameters(true);
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& p : pa) EXPECT_TRUE(torch::allclose(p.value(), pb[p.key()], 1e-4, 1e-5)) << p.key();
  fs::remove_all(dd);
  fs::remove_all(dc);
}

TEST(Trainer, BadConfigurationsAreUsageErrors) {
  const std::vector<Sample> data{make_case("a", 16, 3)};
  const fs::path dir = fresh_dir("bad");
  TrainConfig cfg = tiny_config(Method::DS, 1);
  cfg.net.widths = {4, 8, 16};  // multiple 4
  cfg.patch = 10;
  EXPECT_THROW(train(cfg, data, {}, dir), gmd::UsageError);
  cfg = tiny_config(Method::DS, 1);
  EXPECT_THROW(train(cfg, {}, {}, dir), gmd::UsageError);
  Sample no_target = data[0];
  no_target.target = torch::Tensor();
  EXPECT_THROW(train(cfg, {no_target}, {}, dir), gmd::UsageError);
  EXPECT_THROW(train(cfg, data, {no_target}, dir), gmd::UsageError);
  Sample bad_mod = data[0];
  bad_mod.present = 0x10;
  EXPECT_THROW(train(cfg, {bad_mod}, {}, dir), gmd::UsageError);
  Sample nan = make_case("nan", 16, 3);
  nan.image[0][0][0][0] = std::nan("");
  EXPECT_THROW(train(cfg, {nan}, {}, dir), gmd::UsageError);
  cfg.amp = "fp8";
  EXPECT_THROW(train(cfg, data, {}, dir), gmd::UsageError);
  cfg = tiny_config(Method::DS, 1);
  cfg.lr_schedule = "cosine";
  EXPECT_THROW(train(cfg, data, {}, dir), gmd::UsageError);
  fs::remove_all(dir);
}

TEST(TrainConfigJson, RoundTrip) {
  TrainConfig c = tiny_config(Method::Vanilla, 123);
  c.policy = SubsetPolicy::Missing2;
  c.gmd.projection = GmdProjection::Sequential;
  c.gmd.combine = GmdCombine::Mean;
  c.seed = 99;
  {
    TrainConfig none = c;
    none.gmd.projection = GmdProjection::None;  // the study's GMD control survives the model card
    EXPECT_EQ(TrainConfig::from_json(none.to_json()).gmd.projection, GmdProjection::None);
    EXPECT_EQ(none.to_json()["gmd"]["projection"], "none");
  }
  // The CLI parses --projection / --combine with the same functions as model.json.
  EXPECT_EQ(parse_projection("none"), GmdProjection::None);
  EXPECT_EQ(parse_combine("mean"), GmdCombine::Mean);
  EXPECT_THROW(parse_projection("pcgrad"), gmd::UsageError);
  EXPECT_THROW(parse_combine("max"), gmd::UsageError);
  c.amp = "fp16";
  c.lr_schedule = "constant";
  c.extra_card = {{"x", 1}};
  const TrainConfig d = TrainConfig::from_json(c.to_json());
  EXPECT_EQ(d.to_json(), c.to_json());
  EXPECT_EQ(d.net.method, Method::Vanilla);
  EXPECT_EQ(d.policy, SubsetPolicy::Missing2);
  EXPECT_EQ(d.gmd.projection, GmdProjection::Sequential);
  EXPECT_EQ(d.gmd.combine, GmdCombine::Mean);
  EXPECT_EQ(d.steps, 123);
  EXPECT_EQ(d.seed, 99u);
  // Defaults for missing keys; clear errors for bad values.
  EXPECT_EQ(TrainConfig::from_json(nlohmann::json::object()).patch, TrainConfig().patch);
  EXPECT_THROW(TrainConfig::from_json({{"steps", "many"}}), gmd::UsageError);
  EXPECT_THROW(TrainConfig::from_json({{"policy", "some"}}), gmd::UsageError);
  EXPECT_THROW(TrainConfig::from_json({{"gmd", {{"combine", "max"}}}}), gmd::UsageError);
}
