// Model files: model.pt (torch archive of the module's parameters and buffers) + model.json (card).
#include "gmd/engine/model_io.hpp"

#include <cctype>
#include <map>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "archive_check.hpp"
#include "archive_io.hpp"
#include "gmd/common/run_files.hpp"
#include "gmd/common/error.hpp"
#include "error_text.hpp"
#include "gmd/common/fs_util.hpp"

namespace gmd::engine {
namespace fs = std::filesystem;

namespace {
std::string shape_str(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t d = 0; d < t.dim(); ++d) s += (d ? "," : "") + std::to_string(t.size(d));
  return s + "]";
}
}  // namespace

void save_model(const fs::path& dir, const SegModel& model, nlohmann::json card) {
  if (!model) throw UsageError("save_model: no model");
  if (!card.is_object()) card = nlohmann::json::object();
  card["net"] = model->config().to_json();
  torch::serialize::OutputArchive archive;
  {
    torch::NoGradGuard ng;
    model->save(archive);
  }
  save_archive_atomically(archive, dir / run_files::kWeights);
  card.erase("weights_sha256");
  card.erase("net_sha256");
  if (sha256_available()) {
    card["weights_sha256"] = sha256_file(dir / run_files::kWeights);
    card["net_sha256"] = sha256_text(card["net"].dump());
  }
  write_text_atomically(dir / run_files::kCard, card.dump(2) + "\n");
}

namespace {
[[noreturn]] void bad_card(const fs::path& file, const std::string& field, const std::string& problem) {
  throw InputError(file.string() + ": invalid model card: '" + field + "' " + problem);
}
const nlohmann::json* field(const nlohmann::json& obj, const char* key) {
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}
int64_t int_in(const fs::path& file, const nlohmann::json& obj, const char* key, const std::string& path, int64_t lo,
               int64_t hi) {
  const auto* v = field(obj, key);
  if (!v->is_number_integer()) bad_card(file, path, "must be an integer (got " + std::string(v->type_name()) + ")");
  const int64_t x = v->get<int64_t>();
  if (x < lo || x > hi) bad_card(file, path, "is " + std::to_string(x) + ", expected " + std::to_string(lo) + " to " +
                                                 std::to_string(hi));
  return x;
}
double num_in(const fs::path& file, const nlohmann::json& v, const std::string& path, double lo, double hi) {
  if (!v.is_number()) bad_card(file, path, "must be a number (got " + std::string(v.type_name()) + ")");
  const double x = v.get<double>();
  if (!(x >= lo && x <= hi))
    bad_card(file, path, "is " + v.dump() + ", expected " + nlohmann::json(lo).dump() + " to " + nlohmann::json(hi).dump());
  return x;
}
}  // namespace

void validate_model_card(const nlohmann::json& card, const NetConfig& net, const fs::path& file) {
  if (!card.is_object()) throw InputError(file.string() + ": invalid model card (expected a JSON object)");
  const int64_t mult = net.multiple();
  if (const auto* inf = field(card, "inference")) {
    if (!inf->is_object()) bad_card(file, "inference", "must be an object");
    if (field(*inf, "patch")) {
      const int64_t p = int_in(file, *inf, "patch", "inference.patch", mult, 1024);
      if (p % mult != 0)
        bad_card(file, "inference.patch", "is " + std::to_string(p) + ", not a multiple of " + std::to_string(mult) +
                                              " (the network has " + std::to_string(net.widths.size()) + " levels)");
    }
    if (const auto* o = field(*inf, "overlap")) num_in(file, *o, "inference.overlap", 0.0, 0.95);
    if (const auto* t = field(*inf, "threshold")) num_in(file, *t, "inference.threshold", 1e-6, 1.0 - 1e-6);
  }
  if (const auto* pre = field(card, "preprocessing")) {
    if (!pre->is_object()) bad_card(file, "preprocessing", "must be an object");
    if (field(*pre, "margin")) int_in(file, *pre, "margin", "preprocessing.margin", 0, 256);
    if (field(*pre, "multiple")) {
      const int64_t m = int_in(file, *pre, "multiple", "preprocessing.multiple", 1, 1024);
      if ((m & (m - 1)) != 0) bad_card(file, "preprocessing.multiple", "is " + std::to_string(m) + ", not a power of 2");
    }
    if (const auto* sp = field(*pre, "spacing")) {
      if (!sp->is_array() || sp->size() != 3) bad_card(file, "preprocessing.spacing", "must be a list of 3 numbers (mm)");
      for (std::size_t i = 0; i < 3; ++i)
        num_in(file, (*sp)[i], "preprocessing.spacing[" + std::to_string(i) + "]", 0.1, 20.0);
    }
  }
  if (const auto* m = field(card, "method")) {
    if (!m->is_string()) bad_card(file, "method", "must be a string");
    if (m->get<std::string>() != method_name(net.method))
      bad_card(file, "method", "is '" + m->get<std::string>() + "' but the network ('net.method') is '" +
                                   method_name(net.method) + "'");
  }
  for (const char* key : {"weights_sha256", "net_sha256"})
    if (const auto* h = field(card, key)) {
      const bool ok = h->is_string() && h->get<std::string>().size() == 64 &&
                      h->get<std::string>().find_first_not_of("0123456789abcdef") == std::string::npos;
      if (!ok) bad_card(file, key, "must be 64 lower-case hex digits (a SHA-256)");
    }
}

LoadedModel load_model(const fs::path& path, const torch::Device& device) {
  fs::path weights, card_file, dir;
  if (fs::is_directory(path)) {
    dir = path;
    weights = path / run_files::kWeights;
    card_file = path / run_files::kCard;
  } else if (path.extension() == ".json") {
    card_file = path;
    weights = fs::path(path).replace_extension(".pt");
    dir = path.parent_path();
  } else {
    weights = path;
    card_file = fs::path(path).replace_extension(".json");
    dir = path.parent_path();
  }
  if (!fs::exists(path)) throw InputError(path.string() + ": model not found");
  if (!fs::is_regular_file(card_file))
    throw InputError(card_file.string() + ": model card not found (a model is model.pt + model.json)");
  if (!fs::is_regular_file(weights))
    throw InputError(weights.string() + ": model weights not found (a model is model.pt + model.json)");

  LoadedModel out;
  out.dir = dir;
  try {
    out.card = nlohmann::json::parse(read_text(card_file));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(card_file.string() + ": invalid model card (not valid JSON: " + first_line(e) + ")");
  }
  if (!out.card.is_object() || !out.card.contains("net") || !out.card["net"].is_object())
    throw InputError(card_file.string() + ": invalid model card (no \"net\" object describing the network)");
  NetConfig cfg;
  try {
    cfg = NetConfig::from_json(out.card["net"]);
  } catch (const InputError& e) {
    throw InputError(card_file.string() + ": invalid network description: " + e.what());
  } catch (const UsageError& e) {
    throw InputError(card_file.string() + ": invalid network description: " + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw InputError(card_file.string() + ": invalid network description: " + first_line(e));
  }
  validate_model_card(out.card, cfg, card_file);
  if (sha256_available()) {
    if (out.card.contains("net_sha256") &&
        sha256_text(out.card["net"].dump()) != out.card["net_sha256"].get<std::string>())
      throw InputError(card_file.string() +
                       ": the network description ('net') was changed after training: it no longer matches the "
                       "checksum 'net_sha256' recorded with the weights");
    if (out.card.contains("weights_sha256")) {
      if (sha256_file(weights) != out.card["weights_sha256"].get<std::string>())
        throw InputError(weights.string() +
                         ": corrupt or replaced model weights: the file does not match the SHA-256 recorded in " +
                         card_file.filename().string());
    } else {
      spdlog::warn("{}: records no checksum of {} (a model from an older gmd): corrupt weights cannot be detected",
                   card_file.string(), weights.filename().string());
    }
  }
  try {
    out.model = make_model(cfg);
  } catch (const c10::Error& e) {
    throw InputError(card_file.string() + ": cannot build the network it describes (" +
                     first_line(e) + ")");
  }

  // Sizes LibTorch would trust (a zip record's, a pickle string's) are checked first (archive_check.hpp).
  check_torch_archive(weights, "model weights");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(weights.string(), torch::kCPU);
  } catch (const std::exception& e) {
    throw InputError(weights.string() + ": corrupt or truncated model weights (" + first_line(e) + ")");
  }
  // Module::load replaces tensors without checking shapes: remember them and compare afterwards.
  std::map<std::string, std::pair<std::vector<int64_t>, c10::ScalarType>> expected;
  for (const auto& p : out.model->named_parameters(true))
    expected[p.key()] = {p.value().sizes().vec(), p.value().scalar_type()};
  for (const auto& b : out.model->named_buffers(true))
    expected[b.key()] = {b.value().sizes().vec(), b.value().scalar_type()};
  try {
    out.model->load(archive);
  } catch (const c10::Error& e) {
    throw InputError(weights.string() + ": weights do not match the architecture in " + card_file.filename().string() +
                     " (" + first_line(e) + ")");
  }
  auto check = [&](const std::string& key, const torch::Tensor& t) {
    const auto it = expected.find(key);
    if (it == expected.end()) return;
    if (t.sizes().vec() != it->second.first || t.scalar_type() != it->second.second)
      throw InputError(weights.string() + ": weights do not match the architecture in " +
                       card_file.filename().string() + " (tensor '" + key + "' has shape " + shape_str(t) + ")");
  };
  for (const auto& p : out.model->named_parameters(true)) check(p.key(), p.value());
  for (const auto& b : out.model->named_buffers(true)) check(b.key(), b.value());
  for (const auto& p : out.model->named_parameters(true)) {
    if (!torch::isfinite(p.value()).all().item<bool>())
      throw InputError(weights.string() + ": model weights contain NaN or infinite values");
  }
  out.model->to(device);
  out.model->eval();
  return out;
}

torch::Device resolve_device(const std::string& name) {
  std::string n;
  for (char c : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n.empty() || n == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::kCPU;
  if (n == "cpu") return torch::kCPU;
  if (n == "cuda" || n.rfind("cuda:", 0) == 0 || n == "gpu") {
    if (!torch::cuda::is_available())
      throw InputError("device '" + name + "': CUDA is not available on this machine (use --device cpu)");
    int idx = 0;
    if (n.rfind("cuda:", 0) == 0) {
      try {
        idx = std::stoi(n.substr(5));
      } catch (const std::exception&) {
        throw UsageError("device '" + name + "': expected cuda:N");
      }
    }
    if (idx < 0 || idx >= static_cast<int>(torch::cuda::device_count()))
      throw InputError("device '" + name + "': no such CUDA device (" + std::to_string(torch::cuda::device_count()) +
                       " available)");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(idx));
  }
  throw UsageError("unknown device '" + name + "' (expected auto, cpu or cuda)");
}

}  // namespace gmd::engine
