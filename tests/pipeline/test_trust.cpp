// Expected accuracy per subset (model.json's evaluation table) and the per-voxel agreement of subsets.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>

#include "gmd/common/error.hpp"
#include "gmd/engine/model_io.hpp"
#include "gmd/engine/net.hpp"
#include "gmd/io/labels.hpp"
#include "gmd/io/nifti.hpp"
#include "gmd/pipeline/evaluate.hpp"
#include "gmd/pipeline/report.hpp"
#include "gmd/pipeline/service.hpp"
#include "gmd/pipeline/trust.hpp"
#include "gmd/synth/synth.hpp"

namespace fs = std::filesystem;
using namespace gmd;
using namespace gmd::pipeline;

namespace {
const SubsetMask F = 1, T1 = 2, T1ce = 4, T2 = 8;

// A table where T1ce carries ET (as in BraTS) and FLAIR carries WT.
AccuracyTable sample_table() {
  AccuracyTable t;
  t.test_set = "12 synthetic cases, seed 4242";
  t.cases = 12;
  for (SubsetMask s : all_subsets()) {
    SubsetAccuracy a;
    a.dice = {subset_has(s, 0) ? 0.90 : 0.70, subset_has(s, 2) ? 0.85 : 0.60, subset_has(s, 2) ? 0.80 : 0.20};
    if (subset_has(s, 3)) a.dice[0] += 0.01;
    a.hd95 = {5.0 + s, 7.0, 9.5};
    t.subsets[s] = a;
  }
  return t;
}

std::string input_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "<no InputError>";
}
}  // namespace

TEST(AccuracyTable, RoundTripsThroughTheModelCard) {
  const AccuracyTable t = sample_table();
  nlohmann::json card{{"method", "ds-gmd"}};
  card["metrics"] = accuracy_table_json(t);
  const auto back = accuracy_table(nlohmann::json::parse(card.dump()), "m/model.json");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->cases, 12);
  EXPECT_EQ(back->test_set, t.test_set);
  ASSERT_EQ(back->subsets.size(), 15u);
  for (const auto& [s, a] : t.subsets) {
    ASSERT_TRUE(back->subsets.count(s)) << subset_name(s);
    for (int r = 0; r < 3; ++r) {
      EXPECT_DOUBLE_EQ(back->subsets.at(s).dice[r], a.dice[r]);
      EXPECT_DOUBLE_EQ(back->subsets.at(s).hd95[r], a.hd95[r]);
    }
  }
  // The layout is the one `gmd evaluate` writes in summary.json and the bundled model's card carries.
  EXPECT_TRUE(card["metrics"]["per_subset"].contains("FLAIR+T1ce"));
  EXPECT_DOUBLE_EQ(card["metrics"]["per_subset"]["FLAIR+T1ce"]["dice"]["ET"].get<double>(), 0.80);
}

TEST(AccuracyTable, BundledModelCarriesOne) {
  const auto m = Model::load(Model::default_path());
  ASSERT_TRUE(m.accuracy().has_value());
  EXPECT_EQ(m.accuracy()->subsets.size(), 15u);
  EXPECT_GT(m.accuracy()->cases, 0);
  const Trust all = m.expected_trust(kFullMask);
  EXPECT_TRUE(all.evaluated);
}

TEST(AccuracyTable, AbsentMeansNotEvaluatedNeverANumber) {
  EXPECT_FALSE(accuracy_table(nlohmann::json{{"method", "ds"}}, "x").has_value());
  EXPECT_FALSE(accuracy_table(nlohmann::json{{"metrics", {{"note", "none"}}}}, "x").has_value());
  const Trust t = expected_trust(std::nullopt, F | T2, kFullMask);
  EXPECT_FALSE(t.evaluated);
  const auto j = trust_json(t);
  EXPECT_EQ(j["status"], "not evaluated");
  EXPECT_FALSE(j.contains("regions"));
  EXPECT_NE(trust_text(t).find("not evaluated"), std::string::npos);
  // A table without the subset in use is not evaluated for it either.
  AccuracyTable partial;
  partial.cases = 3;
  partial.subsets[kFullMask] = SubsetAccuracy{{0.9, 0.9, 0.9}, {1, 1, 1}};
  const Trust p = expected_trust(partial, F | T2, kFullMask);
  EXPECT_FALSE(p.evaluated);
  EXPECT_NE(p.not_evaluated_reason.find("FLAIR+T2"), std::string::npos);
}

TEST(AccuracyTable, MalformedTableIsAnInputErrorNamingTheField) {
  nlohmann::json card;
  card["metrics"] = accuracy_table_json(sample_table());
  card["metrics"]["per_subset"]["T1"]["dice"]["ET"] = 1.5;
  const std::string e = input_error_of([&] { accuracy_table(card, "run/model.json"); });
  EXPECT_NE(e.find("run/model.json"), std::string::npos) << e;
  EXPECT_NE(e.find("per_subset.T1.dice.ET"), std::string::npos) << e;
  card["metrics"] = accuracy_table_json(sample_table());
  card["metrics"]["per_subset"]["FLAIR+PD"] = card["metrics"]["per_subset"]["T1"];
  EXPECT_NE(input_error_of([&] { accuracy_table(card, "m"); }).find("FLAIR+PD"), std::string::npos);
  card["metrics"] = accuracy_table_json(sample_table());
  card["metrics"]["per_subset"]["T2"]["dice"].erase("TC");
  EXPECT_NE(input_error_of([&] { accuracy_table(card, "m"); }).find("TC"), std::string::npos);
}

TEST(ExpectedTrust, FlagsAndTheSequenceThatWouldHelpMost) {
  const AccuracyTable t = sample_table();
  const Trust ft2 = expected_trust(t, F | T2, kFullMask);
  ASSERT_TRUE(ft2.evaluated);
  EXPECT_EQ(ft2.cases, 12);
  EXPECT_DOUBLE_EQ(ft2.region[0].dice, 0.91);
  EXPECT_EQ(ft2.region[0].flag, TrustFlag::Good);
  EXPECT_EQ(ft2.region[0].best_addition, -1);  // nothing adds 0.02 to WT
  EXPECT_EQ(ft2.region[1].flag, TrustFlag::Limited);
  EXPECT_EQ(ft2.region[1].best_addition, 2);  // T1ce
  EXPECT_DOUBLE_EQ(ft2.region[1].dice_with_addition, 0.85);
  EXPECT_EQ(ft2.region[2].flag, TrustFlag::Unreliable);
  EXPECT_EQ(ft2.region[2].best_addition, 2);
  const auto j = trust_json(ft2);
  EXPECT_EQ(j["regions"]["ET"]["flag"], "unreliable");
  EXPECT_EQ(j["regions"]["ET"]["would_help_most"]["modality"], "t1ce");
  EXPECT_FALSE(j["regions"]["WT"].contains("would_help_most"));
  EXPECT_NE(trust_text(ft2).find("adding T1ce: 0.80"), std::string::npos) << trust_text(ft2);
  // A model that does not know T1ce cannot suggest it.
  const Trust no_t1ce = expected_trust(t, F | T2, F | T1 | T2);
  EXPECT_EQ(no_t1ce.region[2].best_addition, -1);
  // Thresholds.
  EXPECT_EQ(trust_flag(kGoodDice), TrustFlag::Good);
  EXPECT_EQ(trust_flag(kGoodDice - 1e-9), TrustFlag::Limited);
  EXPECT_EQ(trust_flag(kLimitedDice), TrustFlag::Limited);
  EXPECT_EQ(trust_flag(kLimitedDice - 1e-9), TrustFlag::Unreliable);
}

TEST(ExpectedTrust, ReportCarriesItInJsonAndCsv) {
  SegmentationReport r;
  r.case_id = "c";
  r.used = F | T2;
  r.trust = expected_trust(sample_table(), F | T2, kFullMask);
  const auto j = r.to_json();
  EXPECT_EQ(j["expected_accuracy"]["regions"]["TC"]["flag"], "limited");
  const std::string csv = r.to_csv();
  EXPECT_NE(csv.find("ET_trust,unreliable\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("ET_would_help_most,t1ce\n"), std::string::npos) << csv;
  r.trust = expected_trust(std::nullopt, F | T2, kFullMask);
  EXPECT_EQ(r.to_json()["expected_accuracy"]["status"], "not evaluated");
  EXPECT_NE(r.to_csv().find("expected_accuracy,not evaluated\n"), std::string::npos);
}

TEST(Agreement, CountsTheSubsetsThatIncludeEachVoxel) {
  LabelMap a, b, c;
  a.geom.size = {4, 1, 1};
  a.voxels = {0, 2, 1, 4};
  b = a;
  b.voxels = {2, 2, 4, 0};
  c = a;
  c.voxels = {0, 0, 4, 4};
  Agreement ag = agreement_from_labels({a, b, c}, F | T1);
  EXPECT_EQ(ag.subsets, 3);
  const float third = 1.0f / 3.0f;
  EXPECT_EQ(ag.fraction[0].voxels, (std::vector<float>{third, 2 * third, 1.0f, 2 * third}));  // WT
  EXPECT_EQ(ag.fraction[1].voxels, (std::vector<float>{0.0f, 0.0f, 1.0f, 2 * third}));       // TC
  EXPECT_EQ(ag.fraction[2].voxels, (std::vector<float>{0.0f, 0.0f, 2 * third, 2 * third}));  // ET
  summarise_agreement(ag, c);  // the all-present segmentation: voxels 2 and 3
  EXPECT_DOUBLE_EQ(ag.full_agreement_share[0], 0.5);
  EXPECT_DOUBLE_EQ(ag.full_agreement_share[1], 0.5);
  EXPECT_DOUBLE_EQ(ag.full_agreement_share[2], 0.0);
  const auto j = agreement_json(ag);
  EXPECT_EQ(j["subsets"], 3);
  EXPECT_DOUBLE_EQ(j["regions"]["WT"]["all_subsets_agree_share"].get<double>(), 0.5);
  // Display bins (studio overlay): 1 all subsets, 2 at least half, 4 fewer than half, 0 none.
  EXPECT_EQ(agreement_bins(ag, 0).voxels, (std::vector<std::uint8_t>{4, 2, 1, 2}));
  EXPECT_EQ(agreement_bins(ag, 1).voxels, (std::vector<std::uint8_t>{0, 0, 1, 2}));
  EXPECT_EQ(agreement_bins(ag, 2).geom.size, ag.fraction[2].geom.size);
  // Linear resampling's fringe below one subset is not "some subset": 0.1 < 0.5 / 3.
  ag.fraction[2].voxels = {0.1f, 0.2f, 0.5f, 0.9995f};
  EXPECT_EQ(agreement_bins(ag, 2).voxels, (std::vector<std::uint8_t>{0, 4, 2, 1}));
  EXPECT_THROW(agreement_bins(ag, 3), std::invalid_argument);
  // Where `gmd segment --agreement` and the studio's export put the maps: <base>_WT.nii.gz next to the segmentation.
  EXPECT_EQ(agreement_base("out/SEG.nii.gz"), "out/SEG");
  EXPECT_EQ(agreement_base("out/seg.NII"), "out/seg");
  EXPECT_EQ(agreement_base("out/seg"), "out/seg");
  EXPECT_EQ(agreement_base(".nii.gz"), ".nii.gz");
}

// On a tiny network: the agreement of `segment --agreement` is the count over the subsets that the encode-once
// ablation predicts, and asking for it leaves the segmentation unchanged; also through resampling.
class AgreementOnTinyNet : public ::testing::Test {
 protected:
  fs::path dir = fs::temp_directory_path() / ("gmd_trust_test_" + std::to_string(::getpid()));
  void TearDown() override { fs::remove_all(dir); }
  Model tiny_model(const nlohmann::json& extra_card) {
    engine::NetConfig cfg;
    cfg.method = engine::Method::DSGMD;
    cfg.widths = {4, 8};
    cfg.groups = 2;
    torch::manual_seed(5);
    engine::SegModel net = engine::make_model(cfg);
    {
      torch::NoGradGuard ng;
      for (auto& p : net->parameters()) p.add_(0.5 * torch::randn_like(p));
      // The output layer's bias (3 values) near the threshold, so that the subsets disagree in places.
      for (auto& p : net->named_parameters())
        if (p.key().size() >= 4 && p.key().compare(p.key().size() - 4, 4, "bias") == 0 && p.value().numel() == 3)
          p.value().fill_(0.0);
    }
    nlohmann::json card = extra_card;
    card["inference"] = {{"patch", 32}, {"overlap", 0.5}, {"threshold", 0.5}};
    engine::save_model(dir, net, card);
    return Model::load(dir);
  }
  static io::Case tiny_case() {
    synth::SynthOptions o;
    o.size = synth::SynthSize::Tiny;
    o.seed = 21;
    o.threads = 1;
    return synth::generate_case(o, 0);
  }
};

TEST_F(AgreementOnTinyNet, EqualsTheCountOverTheAblationsSubsets) {
  const Model m = tiny_model({});
  io::Case c = tiny_case();
  c.images[1].reset();  // FLAIR, T1ce, T2 present: 7 subsets
  const SubsetMask use = F | T1ce | T2;
  SegmentOptions opt;
  opt.device = "cpu";
  const Segmentation plain = segment(m, c, use, opt);
  opt.agreement = true;
  const Segmentation with = segment(m, c, use, opt);
  ASSERT_TRUE(with.agreement.has_value());
  EXPECT_EQ(with.labels.voxels, plain.labels.voxels);  // the segmentation does not change
  EXPECT_EQ(with.agreement->subsets, 7);
  const Ablation ab = ablate(m, c, SegmentOptions{"cpu"});
  ASSERT_EQ(ab.entries.size(), 7u);
  std::vector<LabelMap> maps;
  for (const auto& e : ab.entries) maps.push_back(e.labels);
  const Agreement expect = agreement_from_labels(maps, use);
  int partial = 0;
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(with.agreement->fraction[r].geom.difference(c.geom), "");
    ASSERT_EQ(with.agreement->fraction[r].voxels, expect.fraction[r].voxels) << region_name(r);
  }
  for (float f : expect.fraction[0].voxels) partial += f > 0.0f && f < 1.0f;
  EXPECT_GT(partial, 0) << "the tiny net's subsets never disagree: the test would not see a wrong count";
  // Voxels of the segmentation's WT are included by the all-present subset, so their fraction is at least 1/7.
  for (size_t i = 0; i < with.labels.voxels.size(); ++i)
    if (with.labels.voxels[i]) ASSERT_GE(with.agreement->fraction[0].voxels[i], 1.0f / 7.0f - 1e-6f);
  EXPECT_TRUE(std::isfinite(with.agreement->full_agreement_share[0]) || with.region_ml[0] == 0.0);
}

TEST_F(AgreementOnTinyNet, ThroughResamplingKeepsTheCaseGeometry) {
  const Model m = tiny_model({{"preprocessing", {{"spacing", {6.0, 6.0, 6.0}}}}});
  const io::Case c = tiny_case();
  SegmentOptions opt;
  opt.device = "cpu";
  const Segmentation plain = segment(m, c, F | T2, opt);
  opt.agreement = true;
  const Segmentation with = segment(m, c, F | T2, opt);
  ASSERT_TRUE(with.agreement.has_value());
  EXPECT_EQ(with.agreement->subsets, 3);
  EXPECT_EQ(with.labels.voxels, plain.labels.voxels);
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(with.agreement->fraction[r].geom.difference(c.geom), "");
    for (float f : with.agreement->fraction[r].voxels) ASSERT_TRUE(f >= 0.0f && f <= 1.0f + 1e-6f) << f;
  }
  // Written and read back as three float maps.
  fs::create_directories(dir);
  const auto files = write_agreement(*with.agreement, (dir / "agree").string());
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[2], (dir / "agree_ET.nii.gz").string());
  EXPECT_EQ(io::read_image(files[0], false).voxels, with.agreement->fraction[0].voxels);
}
