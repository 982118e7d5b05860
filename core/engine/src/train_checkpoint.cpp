// engine::train's checkpoint (atomic, bit-exact resume on CPU) and its metrics.jsonl writer.
#include <sstream>
#include <string>

#include "archive_check.hpp"
#include "archive_io.hpp"
#include "gmd/common/error.hpp"
#include "error_text.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/common/metrics_schema.hpp"
#include "train_internal.hpp"

namespace gmd::engine::detail {
namespace fs = std::filesystem;

namespace {
constexpr int64_t kCheckpointFormat = 1;

}  // namespace

MetricsWriter::MetricsWriter(const fs::path& file, const TrainControl& ctl) : ctl_(ctl) {
  out_.open(file, std::ios::app);
  if (!out_) throw InputError(file.string() + ": cannot open for writing");
  path_ = file;
}

void MetricsWriter::write(const nlohmann::json& rec) {
  out_ << rec.dump() << '\n';
  out_.flush();
  if (!out_) throw InputError(path_.string() + ": write failed");
  if (ctl_.on_record) ctl_.on_record(rec);
}

void truncate_metrics(const fs::path& file, int64_t step) {
  if (!fs::exists(file)) return;
  std::istringstream in(read_text(file));
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    nlohmann::json rec;
    try {
      rec = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      continue;
    }
    if (!rec.is_object()) continue;
    const bool keep = !rec.contains(metrics::kStep) ||
                      (rec[metrics::kStep].is_number_integer() && rec[metrics::kStep].get<int64_t>() <= step);
    if (keep) kept += line + "\n";
  }
  write_text_atomically(file, kept);
}

void save_checkpoint(const fs::path& file, const SegModel& model, torch::optim::Adam& optim, int64_t step,
                     const TrainConfig& cfg, const LossScaler& scaler, double elapsed, const nlohmann::json& last_val) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive m, o;
  model->save(m);
  optim.save(o);
  archive.write("format", c10::IValue(kCheckpointFormat));
  archive.write("model", m);
  archive.write("optimizer", o);
  archive.write("step", c10::IValue(step));
  archive.write("config", c10::IValue(cfg.to_json().dump()));
  archive.write("loss_scale", c10::IValue(scaler.scale));
  archive.write("loss_scale_good", c10::IValue(scaler.good_steps));
  archive.write("elapsed_s", c10::IValue(elapsed));
  archive.write("last_val", c10::IValue(last_val.dump()));
  save_archive_atomically(archive, file);
}

Resumed load_checkpoint(const fs::path& file, const SegModel& model, torch::optim::Adam& optim, const TrainConfig& cfg,
                        LossScaler& scaler, const torch::Device& device) {
  const std::string where = file.string();
  if (!fs::is_regular_file(file)) throw InputError(where + ": no checkpoint to resume from");
  check_torch_archive(file, "checkpoint");  // sizes LibTorch would trust (archive_check.hpp)
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(where, device);
  } catch (const std::exception& e) {
    throw InputError(where + ": corrupt or truncated checkpoint (" + first_line(e) + ")");
  }
  Resumed r;
  try {
    c10::IValue v;
    archive.read("format", v);
    if (!v.isInt() || v.toInt() != kCheckpointFormat) throw InputError(where + ": unsupported checkpoint format");
    archive.read("config", v);
    const nlohmann::json saved = nlohmann::json::parse(v.toStringRef());
    if (saved.value("net", nlohmann::json()) != cfg.net.to_json())
      throw InputError(where + ": checkpoint was trained with a different network (" +
                       saved.value("net", nlohmann::json()).dump() + "); resume with the same network settings");
    archive.read("step", v);
    r.step = v.toInt();
    archive.read("loss_scale", v);
    scaler.scale = v.toDouble();
    archive.read("loss_scale_good", v);
    scaler.good_steps = v.toInt();
    archive.read("elapsed_s", v);
    r.elapsed = v.toDouble();
    archive.read("last_val", v);
    r.last_val = nlohmann::json::parse(v.toStringRef());
    torch::serialize::InputArchive m, o;
    archive.read("model", m);
    archive.read("optimizer", o);
    model->load(m);
    optim.load(o);
  } catch (const c10::Error& e) {
    throw InputError(where + ": corrupt checkpoint (" + first_line(e) + ")");
  } catch (const nlohmann::json::exception& e) {
    throw InputError(where + ": corrupt checkpoint (" + first_line(e) + ")");
  }
  if (r.step < 0) throw InputError(where + ": corrupt checkpoint (negative step)");
  return r;
}

}  // namespace gmd::engine::detail
