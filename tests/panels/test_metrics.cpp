// The metrics.jsonl reader and the derived series (gui/panels/metrics.hpp), on a hand-made file whose
// numbers are chosen so that every expected value below is computed independently here.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmd/panels/metrics.hpp"

namespace fs = std::filesystem;
using namespace gmd::panels;

namespace {
const fs::path kSmall = fs::path(GMD_PANELS_TEST_DATA) / "metrics_small.jsonl";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
double deg(double c) { return std::acos(c) * 180.0 / 3.14159265358979323846; }
const Series& named(const std::vector<Series>& v, const std::string& n) {
  for (const auto& s : v)
    if (s.name == n) return s;
  throw std::runtime_error("no series " + n);
}
double y_at(const Series& s, double x) {
  for (const auto& p : s.points)
    if (p.x == x) return p.y;
  return std::nan("");
}
}  // namespace

TEST(Metrics, ReplayParsesRecordsAndToleratesGarbageAndPartialLastLine) {
  const MetricsLog log = load_metrics(kSmall);
  ASSERT_EQ(log.steps().size(), 4u);
  EXPECT_EQ(log.last_step(), 4);
  EXPECT_EQ(log.total_steps(), 10);
  EXPECT_EQ(log.method(), "ds-gmd");
  ASSERT_EQ(log.vals().size(), 1u);
  EXPECT_DOUBLE_EQ(log.vals()[0].dice[2], 0.3);
  EXPECT_EQ(log.bad_lines(), 1u);      // the torn line in the middle
  EXPECT_EQ(log.partial_lines(), 1u);  // the unterminated last line
  EXPECT_TRUE(log.has_gmd());
  // Extra fields and unknown record types do not disturb the records.
  EXPECT_DOUBLE_EQ(log.steps()[0].loss, 0.7);
  EXPECT_EQ(log.steps()[1].subsets, (std::vector<std::string>{"FLAIR", "T2", "FLAIR+T1ce"}));
  EXPECT_EQ(log.steps()[0].gmd->conflicts, 2);
  // Subset names in the paper's order: singles (FLAIR, T1ce, T2) before pairs.
  EXPECT_EQ(log.subset_names(), (std::vector<std::string>{"FLAIR", "T1ce", "T2", "FLAIR+T1ce"}));
}

TEST(Metrics, IncrementalFeedEqualsWholeFileAndWaitsForCompleteLines) {
  const std::string text = slurp(kSmall);
  MetricsLog bytewise;
  for (char c : text) bytewise.append(std::string_view(&c, 1));
  EXPECT_EQ(bytewise.steps().size(), 4u);
  EXPECT_GT(bytewise.pending_bytes(), 0u);  // the unterminated "step 5" line waits
  // Completing the partial line makes it a record (the writer was just slow).
  bytewise.append(",\"FLAIR\":0.2},\"subsets\":[\"T1ce\",\"FLAIR\"]}\n");
  ASSERT_EQ(bytewise.steps().size(), 5u);
  EXPECT_EQ(bytewise.steps().back().step, 5);
  EXPECT_DOUBLE_EQ(bytewise.steps().back().losses.at("FLAIR"), 0.2);
  EXPECT_FALSE(bytewise.steps().back().gmd.has_value());
}

TEST(Metrics, AnglesAreDegreesOfArccosOfPairwiseCosines) {
  const MetricsLog log = load_metrics(kSmall);
  const auto pairs = angle_pair_series(log);
  const Series& ft = named(pairs, "FLAIR | T1ce");  // named in paper order whatever the step's order
  ASSERT_EQ(ft.points.size(), 3u);                  // steps 1, 3, 4
  EXPECT_NEAR(y_at(ft, 1), 120.0, 1e-9);            // cos -0.5
  EXPECT_NEAR(y_at(ft, 3), 60.0, 1e-9);             // cos 0.5
  EXPECT_NEAR(y_at(ft, 4), 180.0, 1e-9);            // cos -1
  EXPECT_NEAR(y_at(named(pairs, "FLAIR | T2"), 2), deg(0.5), 1e-9);
  EXPECT_NEAR(y_at(named(pairs, "T2 | FLAIR+T1ce"), 2), deg(-0.2), 1e-9);
  EXPECT_NEAR(y_at(named(pairs, "FLAIR | FLAIR+T1ce"), 2), 90.0, 1e-9);
  const auto after = angle_pair_series(log, true);
  EXPECT_NEAR(y_at(named(after, "FLAIR | T1ce"), 1), 90.0, 1e-9);  // GMD removed the conflict
  EXPECT_NEAR(y_at(named(after, "FLAIR | FLAIR+T1ce"), 2), deg(0.1), 1e-9);

  const auto sum = angle_summary_series(log);
  ASSERT_EQ(sum.size(), 3u);
  EXPECT_NEAR(y_at(named(sum, "min"), 2), 60.0, 1e-9);
  EXPECT_NEAR(y_at(named(sum, "max"), 2), deg(-0.2), 1e-9);
  EXPECT_NEAR(y_at(named(sum, "mean"), 2), (60.0 + 90.0 + deg(-0.2)) / 3.0, 1e-9);
  EXPECT_NEAR(y_at(named(sum, "mean"), 1), 120.0, 1e-9);  // one pair: min = mean = max
  EXPECT_NEAR(angle_deg(1.0000001), 0.0, 1e-9);           // rounding above 1 is clamped, not NaN
}

TEST(Metrics, ConflictFractionCountsPairsWithNegativeCosine) {
  const MetricsLog log = load_metrics(kSmall);
  const Series f = conflict_fraction_series(log);
  ASSERT_EQ(f.points.size(), 4u);
  EXPECT_DOUBLE_EQ(y_at(f, 1), 1.0);        // 1 of 1 pair
  EXPECT_DOUBLE_EQ(y_at(f, 2), 1.0 / 3.0);  // 1 of 3 pairs
  EXPECT_DOUBLE_EQ(y_at(f, 3), 0.0);
  EXPECT_DOUBLE_EQ(y_at(f, 4), 1.0);
}

TEST(Metrics, NormsWeightsAndLossesAreIndexedBySubsetName) {
  const MetricsLog log = load_metrics(kSmall);
  const auto norms = norm_series(log);
  // Step 1 lists ["T1ce","FLAIR"] with norms [2, 1]: the values follow the names, not the position.
  EXPECT_DOUBLE_EQ(y_at(named(norms, "T1ce"), 1), 2.0);
  EXPECT_DOUBLE_EQ(y_at(named(norms, "FLAIR"), 1), 1.0);
  EXPECT_DOUBLE_EQ(y_at(named(norms, "FLAIR"), 2), 0.5);
  EXPECT_DOUBLE_EQ(y_at(named(norms, "FLAIR+T1ce"), 2), 4.0);
  EXPECT_EQ(named(norms, "T2").points.size(), 1u);  // drawn only on steps that sampled it
  const auto w = weight_series(log);
  EXPECT_DOUBLE_EQ(y_at(named(w, "FLAIR"), 1), 1.5);
  const auto loss = loss_series(log);
  EXPECT_EQ(loss.front().name, "total");
  EXPECT_EQ(loss.front().points.size(), 4u);
  EXPECT_DOUBLE_EQ(y_at(named(loss, "T1ce"), 4), 0.45);
  const auto dice = val_dice_series(log);
  ASSERT_EQ(dice.size(), 3u);
  EXPECT_DOUBLE_EQ(y_at(dice[1], 2), 0.4);
}

TEST(Metrics, SmoothingIsATrailingMeanOverAWindowOfSteps) {
  const std::vector<Point> p{{1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}};
  EXPECT_EQ(smooth(p, 1), p);
  const auto s2 = smooth(p, 2);  // window (x-2, x]: this point and the one before
  ASSERT_EQ(s2.size(), 5u);
  EXPECT_DOUBLE_EQ(s2[0].y, 1.0);
  EXPECT_DOUBLE_EQ(s2[1].y, 1.5);
  EXPECT_DOUBLE_EQ(s2[4].y, 4.5);
  const auto s100 = smooth(p, 100);  // everything so far
  EXPECT_DOUBLE_EQ(s100[4].y, 3.0);
  // Irregular sampling (a subset drawn at steps 1, 2 and 10): the window is in steps, not points.
  const auto irr = smooth(std::vector<Point>{{1, 1}, {2, 2}, {10, 10}}, 5);
  EXPECT_DOUBLE_EQ(irr[1].y, 1.5);
  EXPECT_DOUBLE_EQ(irr[2].y, 10.0);
  // GMD weights of the hand-made file smoothed over 100 steps: running mean of FLAIR's weights.
  const auto w = smooth(weight_series(load_metrics(kSmall)), 100);
  const Series& f = named(w, "FLAIR");
  EXPECT_DOUBLE_EQ(y_at(f, 4), (1.5 + 1.0 + 1.0 + 2.0) / 4.0);
}

TEST(Metrics, DecimateKeepsEndsAndBound) {
  std::vector<Point> p;
  for (int i = 0; i < 1000; ++i) p.push_back({static_cast<double>(i), static_cast<double>(i * i)});
  const auto d = decimate(p, 100);
  ASSERT_EQ(d.size(), 100u);
  EXPECT_EQ(d.front(), p.front());
  EXPECT_EQ(d.back(), p.back());
}

TEST(Metrics, ResumedRunRewritingStepsDropsTheStaleTail) {
  MetricsLog log;
  log.append("{\"type\":\"step\",\"step\":1,\"loss\":1}\n{\"type\":\"step\",\"step\":2,\"loss\":1}\n");
  log.append("{\"type\":\"val\",\"step\":2,\"dice\":{\"WT\":0.1,\"TC\":0.1,\"ET\":0.1}}\n");
  log.append("{\"type\":\"step\",\"step\":3,\"loss\":1}\n");
  log.append("{\"type\":\"step\",\"step\":2,\"loss\":0.5}\n");  // restarted from the checkpoint at step 1
  ASSERT_EQ(log.steps().size(), 2u);
  EXPECT_EQ(log.steps().back().step, 2);
  EXPECT_DOUBLE_EQ(log.steps().back().loss, 0.5);
  EXPECT_TRUE(log.vals().empty());
}

// Found by fuzz/fuzz_metrics (regression input fuzz/regressions/fuzz_metrics/type-not-a-string): a record whose
// "type" is not a string made append() throw nlohmann's type_error; it is an unknown record type, ignored.
TEST(Metrics, NonStringTypeIsAnUnknownRecordTypeNotAnException) {
  MetricsLog log;
  EXPECT_NO_THROW(log.append("{\"type\":1,\"step\":1}\n{\"type\":null}\n{\"type\":[\"step\"],\"step\":2}\n"));
  EXPECT_NO_THROW(log.append("{\"type\":\"step\",\"step\":3,\"loss\":1}\n{\"type\":{}}"));
  EXPECT_NO_THROW(log.finish());
  ASSERT_EQ(log.steps().size(), 1u);
  EXPECT_EQ(log.steps().back().step, 3);
  EXPECT_EQ(log.bad_lines(), 0u);
}

TEST(Metrics, FollowerReadsAppendsAndRestartsWhenTheFileIsReplaced) {
  const fs::path dir = fs::temp_directory_path() / ("gmd_follow_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path f = dir / "metrics.jsonl";
  MetricsLog log;
  MetricsFollower fol(f);
  EXPECT_FALSE(fol.poll(log));  // no file yet: not an error
  {
    std::ofstream o(f, std::ios::binary);
    o << "{\"type\":\"step\",\"step\":1,\"loss\":1}\n{\"type\":\"step\",\"st";
  }
  EXPECT_TRUE(fol.poll(log));
  EXPECT_EQ(log.steps().size(), 1u);
  {
    std::ofstream o(f, std::ios::binary | std::ios::app);
    o << "ep\":2,\"loss\":0.9}\n";
  }
  EXPECT_TRUE(fol.poll(log));
  ASSERT_EQ(log.steps().size(), 2u);
  EXPECT_FALSE(fol.poll(log));  // nothing new
  // Atomic replacement by a shorter file (the trainer truncating to its checkpoint on --resume).
  {
    std::ofstream o(dir / "tmp.jsonl", std::ios::binary);
    o << "{\"type\":\"step\",\"step\":1,\"loss\":0.25}\n";
  }
  fs::rename(dir / "tmp.jsonl", f);
  EXPECT_TRUE(fol.poll(log));
  ASSERT_EQ(log.steps().size(), 1u);
  EXPECT_DOUBLE_EQ(log.steps()[0].loss, 0.25);
  fs::remove_all(dir);
}

TEST(Metrics, SpeedAndEtaFromElapsedSeconds) {
  const MetricsLog log = load_metrics(kSmall);
  const Speed s = training_speed(log);
  EXPECT_DOUBLE_EQ(s.steps_per_s, 3.0 / 6.0);  // steps 1..4 over elapsed 1..7 s
  EXPECT_DOUBLE_EQ(s.eta_s, 6.0 / 0.5);        // 6 steps left of 10
}

TEST(Metrics, CosMatrixIsReorderedIntoPaperOrder) {
  const MetricsLog log = load_metrics(kSmall);
  const CosMatrix last = cos_matrix(log);
  EXPECT_EQ(last.step, 4);
  EXPECT_EQ(last.names, (std::vector<std::string>{"FLAIR", "T1ce"}));
  const CosMatrix m2 = cos_matrix(log, 2);
  ASSERT_EQ(m2.names, (std::vector<std::string>{"FLAIR", "T2", "FLAIR+T1ce"}));
  EXPECT_DOUBLE_EQ(m2.cos[1][2], -0.2);
  EXPECT_DOUBLE_EQ(m2.cos_after[0][2], 0.1);
  EXPECT_EQ(cos_matrix(log, 99).step, -1);
}

TEST(Metrics, WideCsvHasOneColumnPerSeriesAndBlanksForMissingSteps) {
  const std::string csv = series_csv({{"a", {{1, 0.5}, {2, 0.25}}}, {"b,c", {{2, 3}}}});
  EXPECT_EQ(csv, "step,a,\"b,c\"\n1,0.5,\n2,0.25,3\n");
}
