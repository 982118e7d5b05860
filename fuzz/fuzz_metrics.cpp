// libFuzzer target: the training panel's metrics.jsonl reader (gmd::panels::MetricsLog, load_metrics,
// MetricsFollower; gui/panels/src/metrics.cpp, Qt-free) and every derived chart series.
// Contract: the reader is tolerant: append()/finish() never throw (malformed lines are counted and skipped), the
// series functions never throw, and how the bytes arrive does not matter: the log fed in chunks, the log fed at
// once, load_metrics() of the file and a MetricsFollower polling the file while it grows hold the same records.
//
// Input: one byte c (chunk length 1 + c % 64), then the metrics.jsonl bytes.
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_util.hpp"
#include "gmd/common/error.hpp"
#include "gmd/panels/metrics.hpp"

namespace {
using namespace gmd::fuzz;
using gmd::panels::MetricsLog;

void same(const MetricsLog& a, const MetricsLog& b, const char* what) {
  if (a.steps().size() != b.steps().size() || a.vals().size() != b.vals().size() || a.bad_lines() != b.bad_lines() ||
      a.last_step() != b.last_step() || a.config() != b.config())
    finding("fuzz_metrics", std::string(what) + ": different records (steps " + std::to_string(a.steps().size()) +
                                " vs " + std::to_string(b.steps().size()) + ", vals " +
                                std::to_string(a.vals().size()) + " vs " + std::to_string(b.vals().size()) +
                                ", bad lines " + std::to_string(a.bad_lines()) + " vs " +
                                std::to_string(b.bad_lines()) + ")");
}

void series(const MetricsLog& log, unsigned c) {
  using namespace gmd::panels;
  std::vector<Series> all = loss_series(log);
  for (auto* f : {&val_dice_series, &norm_series, &weight_series})
    for (auto& s : f(log)) all.push_back(std::move(s));
  for (bool after : {false, true}) {
    for (auto& s : angle_pair_series(log, after)) all.push_back(std::move(s));
    for (auto& s : angle_summary_series(log, after)) all.push_back(std::move(s));
  }
  all.push_back(conflict_fraction_series(log));
  for (const auto& s : all) {
    for (std::size_t i = 1; i < s.points.size(); ++i)
      if (!(s.points[i].x >= s.points[i - 1].x))
        finding("fuzz_metrics", "series '" + s.name + "' has x not increasing at point " + std::to_string(i));
    const std::size_t max_points = c % 7;
    const auto d = decimate(s.points, max_points);
    if (max_points >= 2 && d.size() > max_points) finding("fuzz_metrics", "decimate returned more points than asked");
    if (!s.points.empty() && (d.empty() || d.back().x != s.points.back().x))
      finding("fuzz_metrics", "decimate dropped the last point");
  }
  (void)smooth(all, static_cast<double>(c % 13));
  (void)series_csv(all);
  (void)cos_matrix(log);
  if (!log.steps().empty()) (void)cos_matrix(log, log.steps()[c % log.steps().size()].step);
  const auto sp = training_speed(log, 1 + c % 30);
  (void)sp;
  (void)log.subset_names();
  (void)log.method();
  (void)log.total_steps();
  (void)log.has_gmd();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const unsigned c = data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t chunk = 1 + c % 64;
  MetricsLog chunked, whole;
  try {
    for (std::size_t at = 0; at < bytes.size(); at += chunk) chunked.append(bytes.substr(at, chunk));
    whole.append(bytes);
    same(chunked, whole, "chunked vs whole append");

    // A follower polling the file as it grows (first half, then the rest) sees what append() saw.
    const fs::path file = scratch() / "metrics.jsonl";
    write_file(file, bytes.substr(0, bytes.size() / 2));
    gmd::panels::MetricsFollower follower(file);
    MetricsLog followed;
    follower.poll(followed);
    {
      std::ofstream f(file, std::ios::binary | std::ios::app);
      f.write(bytes.data() + bytes.size() / 2, static_cast<std::streamsize>(bytes.size() - bytes.size() / 2));
    }
    follower.poll(followed);
    same(followed, whole, "follower vs append");
    if (follower.offset() != bytes.size()) finding("fuzz_metrics", "follower offset is not the file size");

    chunked.finish();
    whole.finish();
    same(chunked, whole, "chunked vs whole after finish");
    if (whole.pending_bytes() != 0) finding("fuzz_metrics", "bytes pending after finish()");
    const MetricsLog loaded = gmd::panels::load_metrics(file);
    same(loaded, whole, "load_metrics vs append");
    series(whole, c);
  } catch (const std::exception& e) {
    finding("fuzz_metrics", describe(e));
  }
  return 0;
}
