// metrics.jsonl reader and the derived chart series (see metrics.hpp).
#include "gmd/panels/metrics.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "gmd/common/error.hpp"
#include "gmd/common/metrics_schema.hpp"
#include "gmd/common/modality.hpp"
#include "gmd/common/regions.hpp"
#include "gmd/common/text.hpp"

namespace gmd::panels {
namespace fs = std::filesystem;

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kPi = 3.14159265358979323846;

double num(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return kNaN;
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return kNaN;
  return it->get<double>();
}

std::vector<double> vec(const nlohmann::json& j) {
  std::vector<double> out;
  if (!j.is_array()) return out;
  out.reserve(j.size());
  for (const auto& v : j) out.push_back(v.is_number() ? v.get<double>() : kNaN);
  return out;
}

// A k x k matrix or empty when the shape is wrong.
std::vector<std::vector<double>> matrix(const nlohmann::json& j, std::size_t k) {
  std::vector<std::vector<double>> out;
  if (!j.is_array() || j.size() != k) return out;
  for (const auto& row : j) {
    auto r = vec(row);
    if (r.size() != k) return {};
    out.push_back(std::move(r));
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<Series> ordered(std::map<std::string, Series>& by_name) {
  std::vector<std::string> names;
  for (const auto& kv : by_name) names.push_back(kv.first);
  sort_subset_names(names);
  std::vector<Series> out;
  for (const auto& n : names) out.push_back(std::move(by_name[n]));
  return out;
}

std::string fmt_num(double v) {
  if (!std::isfinite(v)) return "";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

// ---- subset order -------------------------------------------------------------------------------

int subset_order(const std::string& name) {
  try {
    const SubsetMask m = parse_subset(name);
    const auto& all = all_subsets();
    const auto it = std::find(all.begin(), all.end(), m);
    if (it != all.end()) return static_cast<int>(it - all.begin());
  } catch (const std::exception&) {
  }
  return 15;
}

void sort_subset_names(std::vector<std::string>& names) {
  std::stable_sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    const int oa = subset_order(a), ob = subset_order(b);
    if (oa != ob) return oa < ob;
    return a < b;
  });
}

// ---- MetricsLog ---------------------------------------------------------------------------------

std::size_t MetricsLog::append(std::string_view bytes) {
  pending_.append(bytes.data(), bytes.size());
  std::size_t added = 0, start = 0;
  for (;;) {
    const std::size_t nl = pending_.find('\n', start);
    if (nl == std::string::npos) break;
    if (parse_line(std::string_view(pending_).substr(start, nl - start))) ++added;
    start = nl + 1;
  }
  pending_.erase(0, start);
  return added;
}

std::size_t MetricsLog::finish() {
  std::size_t added = 0;
  const std::string rest = std::move(pending_);
  pending_.clear();
  if (trim(rest).empty()) return 0;
  const auto j = nlohmann::json::parse(rest, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    ++partial_lines_;
    return 0;
  }
  if (parse_line(rest)) ++added;
  return added;
}

void MetricsLog::clear() {
  config_ = nlohmann::json::object();
  steps_.clear();
  vals_.clear();
  pending_.clear();
  bad_lines_ = partial_lines_ = 0;
  ++revision_;
}

bool MetricsLog::parse_line(std::string_view raw) {
  const std::string_view line = trim(raw);
  if (line.empty()) return false;
  const auto j = nlohmann::json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    ++bad_lines_;
    return false;
  }
  // Not j.value("type", ...): it throws when "type" is there but not a string (found by fuzz/fuzz_metrics);
  // a non-string type is an unknown record type.
  const auto ty = j.find(metrics::kType);
  const std::string type = ty != j.end() && ty->is_string() ? ty->get<std::string>() : std::string();
  if (type == metrics::kConfigRecord) {
    config_ = j;
    ++revision_;
    return true;
  }
  const auto st = j.find(metrics::kStep);
  if (st == j.end() || !st->is_number_integer()) {
    if (type == metrics::kStepRecord || type == metrics::kValRecord) ++bad_lines_;
    return false;
  }
  if (type == metrics::kStepRecord) {
    StepRecord r;
    r.step = st->get<int64_t>();
    r.loss = num(j, metrics::kLoss);
    r.lr = num(j, metrics::kLr);
    r.time_s = num(j, metrics::kTimeS);
    r.elapsed_s = num(j, metrics::kElapsedS);
    if (const auto it = j.find(metrics::kSubsets); it != j.end() && it->is_array())
      for (const auto& s : *it)
        if (s.is_string()) r.subsets.push_back(s.get<std::string>());
    if (const auto it = j.find(metrics::kLosses); it != j.end() && it->is_object())
      for (const auto& kv : it->items())
        if (kv.value().is_number()) r.losses[kv.key()] = kv.value().get<double>();
    if (const auto it = j.find(metrics::kGmd); it != j.end() && it->is_object() && !r.subsets.empty()) {
      const std::size_t k = r.subsets.size();
      GmdStats g;
      g.cos = matrix(it->value(metrics::kCos, nlohmann::json()), k);
      g.cos_after = matrix(it->value(metrics::kCosAfter, nlohmann::json()), k);
      g.norms = vec(it->value(metrics::kNorms, nlohmann::json()));
      g.weights = vec(it->value(metrics::kWeights, nlohmann::json()));
      if (const auto c = it->find(metrics::kConflicts); c != it->end() && c->is_number_integer()) g.conflicts = c->get<int64_t>();
      if (g.norms.size() != k) g.norms.clear();
      if (g.weights.size() != k) g.weights.clear();
      if (!g.cos.empty() || !g.norms.empty() || !g.weights.empty()) r.gmd = std::move(g);
    }
    add_step(std::move(r));
    return true;
  }
  if (type == metrics::kValRecord) {
    ValRecord v;
    v.step = st->get<int64_t>();
    const auto d = j.value(metrics::kDice, nlohmann::json::object());
    v.dice = {num(d, region_name(0)), num(d, region_name(1)), num(d, region_name(2))};
    if (const auto it = j.find(metrics::kDiceSubsets); it != j.end() && it->is_object())
      for (const auto& kv : it->items()) {
        const auto x = vec(kv.value());
        if (x.size() == 3) v.dice_subsets[kv.key()] = {x[0], x[1], x[2]};
      }
    add_val(std::move(v));
    return true;
  }
  return false;  // unknown record type: ignored
}

void MetricsLog::add_step(StepRecord r) {
  if (!steps_.empty() && r.step <= steps_.back().step) {
    const int64_t s = r.step;
    steps_.erase(std::remove_if(steps_.begin(), steps_.end(), [s](const StepRecord& x) { return x.step >= s; }),
                 steps_.end());
    vals_.erase(std::remove_if(vals_.begin(), vals_.end(), [s](const ValRecord& x) { return x.step >= s; }),
                vals_.end());
  }
  steps_.push_back(std::move(r));
  ++revision_;
}

void MetricsLog::add_val(ValRecord v) {
  const int64_t s = v.step;
  vals_.erase(std::remove_if(vals_.begin(), vals_.end(), [s](const ValRecord& x) { return x.step >= s; }),
              vals_.end());
  vals_.push_back(std::move(v));
  ++revision_;
}

std::vector<std::string> MetricsLog::subset_names() const {
  std::set<std::string> seen;
  for (const auto& r : steps_) {
    seen.insert(r.subsets.begin(), r.subsets.end());
    for (const auto& kv : r.losses) seen.insert(kv.first);
  }
  for (const auto& v : vals_)
    for (const auto& kv : v.dice_subsets) seen.insert(kv.first);
  std::vector<std::string> out(seen.begin(), seen.end());
  sort_subset_names(out);
  return out;
}

std::string MetricsLog::method() const {
  if (config_.contains(metrics::kMethod) && config_[metrics::kMethod].is_string())
    return config_[metrics::kMethod].get<std::string>();
  const auto c = config_.value(metrics::kConfig, nlohmann::json::object());
  if (c.is_object() && c.contains("method") && c["method"].is_string()) return c["method"].get<std::string>();
  return "";
}

int64_t MetricsLog::total_steps() const {
  const auto c = config_.value(metrics::kConfig, nlohmann::json::object());
  for (const auto* src : {&c, &config_})
    if (src->is_object()) {
      const auto it = src->find("steps");
      if (it != src->end() && it->is_number_integer()) return it->get<int64_t>();
    }
  return -1;
}

int64_t MetricsLog::last_step() const { return steps_.empty() ? -1 : steps_.back().step; }

bool MetricsLog::has_gmd() const {
  return std::any_of(steps_.begin(), steps_.end(), [](const StepRecord& r) { return r.gmd.has_value(); });
}

MetricsLog load_metrics(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError(file.string() + ": cannot open the metrics file");
  MetricsLog log;
  std::string buf(1 << 16, '\0');
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = in.gcount();
    if (n > 0) log.append(std::string_view(buf.data(), static_cast<std::size_t>(n)));
  }
  if (in.bad()) throw InputError(file.string() + ": read error");
  log.finish();
  return log;
}

// ---- MetricsFollower ----------------------------------------------------------------------------

MetricsFollower::MetricsFollower(fs::path file) : file_(std::move(file)) {}

void MetricsFollower::reset(fs::path file) {
  file_ = std::move(file);
  offset_ = inode_ = device_ = 0;
}

bool MetricsFollower::poll(MetricsLog& log) {
  struct stat st {};
  if (file_.empty() || ::stat(file_.c_str(), &st) != 0) {
    // Gone (e.g. a fresh start removed it): forget what we had read.
    if (offset_ != 0 || log.last_step() >= 0) {
      offset_ = inode_ = device_ = 0;
      log.clear();
      return true;
    }
    return false;
  }
  bool changed = false;
  const auto size = static_cast<uint64_t>(st.st_size);
  const bool replaced = (inode_ != 0 && (static_cast<uint64_t>(st.st_ino) != inode_ ||
                                         static_cast<uint64_t>(st.st_dev) != device_));
  if (replaced || size < offset_) {
    log.clear();
    offset_ = 0;
    changed = true;
  }
  inode_ = static_cast<uint64_t>(st.st_ino);
  device_ = static_cast<uint64_t>(st.st_dev);
  if (size == offset_) return changed;
  std::ifstream in(file_, std::ios::binary);
  if (!in) return changed;
  in.seekg(static_cast<std::streamoff>(offset_));
  std::string buf(static_cast<std::size_t>(size - offset_), '\0');
  in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
  const auto n = static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0));
  buf.resize(n);
  offset_ += n;
  const uint64_t before = log.revision();
  log.append(buf);
  return changed || log.revision() != before;
}

// ---- series -------------------------------------------------------------------------------------

std::vector<Point> smooth(const std::vector<Point>& pts, double window) {
  if (window <= 1.0 || pts.size() < 2) return pts;
  std::vector<Point> out;
  out.reserve(pts.size());
  double sum = 0.0;
  std::size_t lo = 0;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    sum += pts[i].y;
    while (pts[lo].x <= pts[i].x - window) sum -= pts[lo++].y;
    out.push_back({pts[i].x, sum / static_cast<double>(i - lo + 1)});
  }
  return out;
}

Series smooth(const Series& s, double window) { return {s.name, smooth(s.points, window)}; }

std::vector<Series> smooth(const std::vector<Series>& s, double window) {
  std::vector<Series> out;
  out.reserve(s.size());
  for (const auto& x : s) out.push_back(smooth(x, window));
  return out;
}

std::vector<Point> decimate(const std::vector<Point>& pts, std::size_t max_points) {
  if (max_points < 2 || pts.size() <= max_points) return pts;
  std::vector<Point> out;
  out.reserve(max_points);
  const double stride = static_cast<double>(pts.size() - 1) / static_cast<double>(max_points - 1);
  for (std::size_t i = 0; i < max_points; ++i)
    out.push_back(pts[std::min(pts.size() - 1, static_cast<std::size_t>(std::llround(stride * static_cast<double>(i))))]);
  return out;
}

double angle_deg(double c) { return std::acos(std::clamp(c, -1.0, 1.0)) * 180.0 / kPi; }

std::vector<Series> loss_series(const MetricsLog& log) {
  Series total{"total", {}};
  std::map<std::string, Series> by;
  for (const auto& r : log.steps()) {
    const double x = static_cast<double>(r.step);
    if (std::isfinite(r.loss)) total.points.push_back({x, r.loss});
    for (const auto& [name, v] : r.losses) {
      if (!std::isfinite(v)) continue;
      auto& s = by[name];
      s.name = name;
      s.points.push_back({x, v});
    }
  }
  std::vector<Series> out{std::move(total)};
  for (auto& s : ordered(by)) out.push_back(std::move(s));
  return out;
}

std::vector<Series> val_dice_series(const MetricsLog& log) {
  std::vector<Series> out{{region_name(0), {}}, {region_name(1), {}}, {region_name(2), {}}};
  for (const auto& v : log.vals())
    for (std::size_t r = 0; r < 3; ++r)
      if (std::isfinite(v.dice[r])) out[r].points.push_back({static_cast<double>(v.step), v.dice[r]});
  return out;
}

namespace {
std::vector<Series> per_subset(const MetricsLog& log, bool norms) {
  std::map<std::string, Series> by;
  for (const auto& r : log.steps()) {
    if (!r.gmd) continue;
    const auto& v = norms ? r.gmd->norms : r.gmd->weights;
    for (std::size_t j = 0; j < v.size() && j < r.subsets.size(); ++j) {
      if (!std::isfinite(v[j])) continue;
      auto& s = by[r.subsets[j]];
      s.name = r.subsets[j];
      s.points.push_back({static_cast<double>(r.step), v[j]});
    }
  }
  return ordered(by);
}
}  // namespace

std::vector<Series> norm_series(const MetricsLog& log) { return per_subset(log, true); }
std::vector<Series> weight_series(const MetricsLog& log) { return per_subset(log, false); }

std::string pair_name(const std::string& a, const std::string& b) {
  std::vector<std::string> v{a, b};
  sort_subset_names(v);
  return v[0] + " | " + v[1];
}

std::vector<Series> angle_pair_series(const MetricsLog& log, bool after) {
  std::map<std::string, Series> by;
  std::map<std::string, std::pair<int, int>> order;
  for (const auto& r : log.steps()) {
    if (!r.gmd) continue;
    const auto& m = after ? r.gmd->cos_after : r.gmd->cos;
    for (std::size_t i = 0; i < m.size(); ++i)
      for (std::size_t j = i + 1; j < m.size(); ++j) {
        if (!std::isfinite(m[i][j])) continue;
        const std::string n = pair_name(r.subsets[i], r.subsets[j]);
        auto& s = by[n];
        if (s.name.empty()) {
          s.name = n;
          const int oi = subset_order(r.subsets[i]), oj = subset_order(r.subsets[j]);
          order[n] = {std::min(oi, oj), std::max(oi, oj)};
        }
        s.points.push_back({static_cast<double>(r.step), angle_deg(m[i][j])});
      }
  }
  std::vector<Series> out;
  for (auto& kv : by) out.push_back(std::move(kv.second));
  std::stable_sort(out.begin(), out.end(), [&](const Series& a, const Series& b) {
    const auto oa = order[a.name], ob = order[b.name];
    return oa != ob ? oa < ob : a.name < b.name;
  });
  return out;
}

std::vector<Series> angle_summary_series(const MetricsLog& log, bool after) {
  std::vector<Series> out{{"min", {}}, {"mean", {}}, {"max", {}}};
  for (const auto& r : log.steps()) {
    if (!r.gmd) continue;
    const auto& m = after ? r.gmd->cos_after : r.gmd->cos;
    double lo = 1e300, hi = -1e300, sum = 0.0;
    int n = 0;
    for (std::size_t i = 0; i < m.size(); ++i)
      for (std::size_t j = i + 1; j < m.size(); ++j) {
        if (!std::isfinite(m[i][j])) continue;
        const double a = angle_deg(m[i][j]);
        lo = std::min(lo, a);
        hi = std::max(hi, a);
        sum += a;
        ++n;
      }
    if (n == 0) continue;
    const double x = static_cast<double>(r.step);
    out[0].points.push_back({x, lo});
    out[1].points.push_back({x, sum / n});
    out[2].points.push_back({x, hi});
  }
  return out;
}

Series conflict_fraction_series(const MetricsLog& log) {
  Series s{"conflicting pairs", {}};
  for (const auto& r : log.steps()) {
    if (!r.gmd) continue;
    const auto& m = r.gmd->cos;
    int n = 0, bad = 0;
    for (std::size_t i = 0; i < m.size(); ++i)
      for (std::size_t j = i + 1; j < m.size(); ++j) {
        if (!std::isfinite(m[i][j])) continue;
        ++n;
        bad += m[i][j] < 0.0;
      }
    if (n > 0) s.points.push_back({static_cast<double>(r.step), static_cast<double>(bad) / n});
  }
  return s;
}

CosMatrix cos_matrix(const MetricsLog& log, int64_t step) {
  CosMatrix out;
  const StepRecord* rec = nullptr;
  for (auto it = log.steps().rbegin(); it != log.steps().rend(); ++it) {
    if (!it->gmd || it->gmd->cos.empty()) continue;
    if (step < 0 || it->step == step) {
      rec = &*it;
      break;
    }
    if (it->step < step) break;
  }
  if (!rec) return out;
  const std::size_t k = rec->subsets.size();
  std::vector<std::size_t> idx(k);
  for (std::size_t i = 0; i < k; ++i) idx[i] = i;
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
    return subset_order(rec->subsets[a]) < subset_order(rec->subsets[b]);
  });
  out.step = rec->step;
  const auto& c = rec->gmd->cos;
  const auto& ca = rec->gmd->cos_after;
  for (std::size_t i = 0; i < k; ++i) {
    out.names.push_back(rec->subsets[idx[i]]);
    std::vector<double> row, row_a;
    for (std::size_t j = 0; j < k; ++j) {
      row.push_back(c[idx[i]][idx[j]]);
      if (!ca.empty()) row_a.push_back(ca[idx[i]][idx[j]]);
    }
    out.cos.push_back(std::move(row));
    if (!ca.empty()) out.cos_after.push_back(std::move(row_a));
  }
  return out;
}

Speed training_speed(const MetricsLog& log, int64_t window) {
  Speed sp;
  const auto& st = log.steps();
  if (st.empty()) return sp;
  const StepRecord& last = st.back();
  const std::size_t first_i = st.size() > static_cast<std::size_t>(std::max<int64_t>(window, 1))
                                  ? st.size() - 1 - static_cast<std::size_t>(window)
                                  : 0;
  const StepRecord& first = st[first_i];
  if (&first != &last && std::isfinite(first.elapsed_s) && std::isfinite(last.elapsed_s) &&
      last.elapsed_s > first.elapsed_s && last.step > first.step) {
    sp.steps_per_s = static_cast<double>(last.step - first.step) / (last.elapsed_s - first.elapsed_s);
  } else {
    double sum = 0.0;
    int n = 0;
    for (std::size_t i = first_i; i < st.size(); ++i)
      if (std::isfinite(st[i].time_s) && st[i].time_s > 0) {
        sum += st[i].time_s;
        ++n;
      }
    if (n > 0) sp.steps_per_s = n / sum;
  }
  const int64_t total = log.total_steps();
  if (sp.steps_per_s > 0 && total > last.step) sp.eta_s = static_cast<double>(total - last.step) / sp.steps_per_s;
  return sp;
}

std::string series_csv(const std::vector<Series>& series, const std::string& x_name) {
  std::set<double> xs;
  std::vector<std::map<double, double>> cols(series.size());
  for (std::size_t i = 0; i < series.size(); ++i)
    for (const auto& p : series[i].points) {
      xs.insert(p.x);
      cols[i][p.x] = p.y;
    }
  std::ostringstream out;
  out << csv_field(x_name);
  for (const auto& s : series) out << ',' << csv_field(s.name);
  out << '\n';
  for (double x : xs) {
    out << fmt_num(x);
    for (const auto& c : cols) {
      out << ',';
      const auto it = c.find(x);
      if (it != c.end()) out << fmt_num(it->second);
    }
    out << '\n';
  }
  return out.str();
}

}  // namespace gmd::panels
