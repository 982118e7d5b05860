#pragma once
// The training metrics stream (RUN/metrics.jsonl, written by `gmd train`) as data: an incremental,
// tolerant reader and the derived chart series (loss, validation Dice, gradient-conflict angles,
// conflict fraction, gradient norms, GMD weights). No Qt in this header: the panels, gmd-plot and the
// tests share it, and tests drive it without a display.
//
// Record format (see core/engine/include/gmd/engine/trainer.hpp):
//   {"type":"config","config":{...TrainConfig...},"method":..,"subset_names":[..],...}   first line
//   {"type":"step","step":s,"loss":l,"losses":{name:v},"subsets":[names],"lr":..,"time_s":..,
//    "elapsed_s":..,"gmd":{"cos":[[k x k]],"cos_after":[[..]],"norms":[k],"weights":[k],"conflicts":n}}
//   {"type":"val","step":s,"dice":{"WT":..,"TC":..,"ET":..},"dice_subsets":{name:[wt,tc,et]}}
// Unknown fields and record types are ignored; malformed lines are counted and skipped.
#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gmd::panels {

struct GmdStats {
  std::vector<std::vector<double>> cos;        // k x k, rows/columns follow StepRecord::subsets
  std::vector<std::vector<double>> cos_after;  // after the projection (may be empty)
  std::vector<double> norms;                   // k
  std::vector<double> weights;                 // k
  int64_t conflicts = -1;                      // as logged by the trainer (-1: absent)
};

struct StepRecord {
  int64_t step = 0;
  double loss = 0.0;                     // NaN when absent
  std::vector<std::string> subsets;      // subset names used at this step, in the order of gmd rows
  std::map<std::string, double> losses;  // per subset name
  double lr = 0.0;                       // NaN when absent
  double time_s = 0.0;                   // seconds of this step; NaN when absent
  double elapsed_s = 0.0;                // seconds since the run started (across resumes); NaN when absent
  std::optional<GmdStats> gmd;
};

struct ValRecord {
  int64_t step = 0;
  std::array<double, 3> dice{};  // WT, TC, ET (NaN when absent)
  std::map<std::string, std::array<double, 3>> dice_subsets;
};

// Parsed records of one run. Feed it bytes as they are appended to the file: only complete lines
// are parsed, an unterminated last line waits for the rest. A step record whose step is not after the
// last one (a resumed run re-writing steps after its checkpoint) drops the records from that step on.
class MetricsLog {
 public:
  // Appends raw bytes; returns the number of records added.
  std::size_t append(std::string_view bytes);
  // End of the stream (a finished run): parses a final unterminated line if it is complete JSON;
  // an incomplete one (a torn write) is dropped and counted in partial_lines().
  std::size_t finish();
  void clear();

  const nlohmann::json& config() const { return config_; }  // the config record ({} if none yet)
  const std::vector<StepRecord>& steps() const { return steps_; }
  const std::vector<ValRecord>& vals() const { return vals_; }
  // Every subset name seen (config "subset_names", step subsets, loss keys), in the paper's order
  // (1 modality, then 2, 3, 4; unknown names last, sorted).
  std::vector<std::string> subset_names() const;
  std::string method() const;     // from the config record ("" if unknown)
  int64_t total_steps() const;    // config steps (-1 if unknown)
  int64_t last_step() const;      // -1 when no step yet
  bool has_gmd() const;           // any step with gmd statistics
  std::size_t bad_lines() const { return bad_lines_; }
  std::size_t partial_lines() const { return partial_lines_; }
  std::size_t pending_bytes() const { return pending_.size(); }
  uint64_t revision() const { return revision_; }  // bumps on every change

 private:
  bool parse_line(std::string_view line);
  void add_step(StepRecord r);
  void add_val(ValRecord r);

  nlohmann::json config_ = nlohmann::json::object();
  std::vector<StepRecord> steps_;
  std::vector<ValRecord> vals_;
  std::vector<std::string> extra_names_;
  std::string pending_;
  std::size_t bad_lines_ = 0, partial_lines_ = 0;
  uint64_t revision_ = 0;
};

// Reads a whole metrics.jsonl (replay of a finished or paused run). Throws gmd::InputError naming the
// file when it cannot be read.
MetricsLog load_metrics(const std::filesystem::path& file);

// Follows a metrics.jsonl that another process appends to. poll() reads what was appended since the
// last call; when the file was replaced or shrank (a resumed run truncates it to its checkpoint), the
// log is cleared and re-read from the start. A missing file is not an error (the run has not started).
class MetricsFollower {
 public:
  explicit MetricsFollower(std::filesystem::path file = {});
  void reset(std::filesystem::path file);
  // Returns true when the log changed.
  bool poll(MetricsLog& log);
  const std::filesystem::path& file() const { return file_; }
  uint64_t offset() const { return offset_; }

 private:
  std::filesystem::path file_;
  uint64_t offset_ = 0;
  uint64_t inode_ = 0, device_ = 0;
};

// ---- derived series ---------------------------------------------------------------------------

struct Point {
  double x = 0.0, y = 0.0;
  bool operator==(const Point& o) const { return x == o.x && y == o.y; }
};
struct Series {
  std::string name;
  std::vector<Point> points;  // x = training step, increasing
};

// Trailing moving average over a window of `window` steps: each point becomes the mean of the
// series' points whose x lies in (x - window, x]. window <= 1 returns the input unchanged. Series
// sampled irregularly (a subset drawn on some steps only) average the points they have.
std::vector<Point> smooth(const std::vector<Point>& points, double window);
Series smooth(const Series& s, double window);
std::vector<Series> smooth(const std::vector<Series>& s, double window);
// Keeps at most `max_points` points (evenly spaced by index, always the last one), for drawing.
std::vector<Point> decimate(const std::vector<Point>& points, std::size_t max_points);

// Angle in degrees between two gradients from their cosine: degrees(acos(clamp(cos, -1, 1))).
double angle_deg(double cos);

// "total" first (the step's mean subset loss), then one series per subset name (paper order).
std::vector<Series> loss_series(const MetricsLog& log);
// Validation Dice: WT, TC, ET.
std::vector<Series> val_dice_series(const MetricsLog& log);
// Per-subset gradient norms / GMD weights (ds-gmd runs; empty otherwise), paper order.
std::vector<Series> norm_series(const MetricsLog& log);
std::vector<Series> weight_series(const MetricsLog& log);
// Pair name "A | B" with A before B in the paper's order.
std::string pair_name(const std::string& a, const std::string& b);
// Per pair of subsets, the angle between their gradients before (after=false) or after GMD's
// projection, degrees. Only pairs that occur; paper order of (A, B).
std::vector<Series> angle_pair_series(const MetricsLog& log, bool after = false);
// Per step, over the step's pairs: "min", "mean", "max" angle (degrees), before or after GMD.
std::vector<Series> angle_summary_series(const MetricsLog& log, bool after = false);
// Per step: the fraction of the step's subset pairs whose gradients conflict (cos < 0, i.e. angle >
// 90 degrees), before GMD. Steps with fewer than 2 subsets have no point.
Series conflict_fraction_series(const MetricsLog& log);

// The k x k cosine matrix of one step (the last step with GMD statistics when step < 0), with its rows
// reordered into the paper's subset order. Empty names when there is none.
struct CosMatrix {
  int64_t step = -1;
  std::vector<std::string> names;
  std::vector<std::vector<double>> cos, cos_after;
};
CosMatrix cos_matrix(const MetricsLog& log, int64_t step = -1);

// Training speed from the records' elapsed_s (falls back to the sum of time_s): steps per second
// over the last `window` steps, and the time left for the remaining steps. Zeroes when unknown.
struct Speed {
  double steps_per_s = 0.0;
  double eta_s = 0.0;
};
Speed training_speed(const MetricsLog& log, int64_t window = 20);

// Wide CSV: first column `x_name`, then one column per series (its name), one row per distinct x;
// empty cells where a series has no point at that x. Names are quoted when needed.
std::string series_csv(const std::vector<Series>& series, const std::string& x_name = "step");

// Position of a subset name in the paper's order (0..14), or 15 + hash-ordering for unknown names.
int subset_order(const std::string& name);
void sort_subset_names(std::vector<std::string>& names);

}  // namespace gmd::panels
