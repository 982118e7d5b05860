// Model files: model.pt (torch archive of the module's parameters and buffers) + model.json (card).
#include "gmd/engine/model_io.hpp"

#include <cctype>
#include <map>
#include <string>
#include <vector>

#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"

namespace gmd::engine {
namespace fs = std::filesystem;

namespace {
std::string first_line(const std::string& s) {
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

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
  fs::create_directories(dir);
  torch::serialize::OutputArchive archive;
  {
    torch::NoGradGuard ng;
    model->save(archive);
  }
  write_atomically(dir / "model.pt", [&](const fs::path& tmp) { archive.save_to(tmp.string()); });
  write_text_atomically(dir / "model.json", card.dump(2) + "\n");
}

LoadedModel load_model(const fs::path& path, const torch::Device& device) {
  fs::path weights, card_file, dir;
  if (fs::is_directory(path)) {
    dir = path;
    weights = path / "model.pt";
    card_file = path / "model.json";
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
    throw InputError(card_file.string() + ": invalid model card (not valid JSON: " + first_line(e.what()) + ")");
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
    throw InputError(card_file.string() + ": invalid network description: " + first_line(e.what()));
  }
  try {
    out.model = make_model(cfg);
  } catch (const c10::Error& e) {
    throw InputError(card_file.string() + ": cannot build the network it describes (" +
                     first_line(e.what_without_backtrace()) + ")");
  }

  torch::serialize::InputArchive archive;
  try {
    archive.load_from(weights.string(), torch::kCPU);
  } catch (const c10::Error& e) {
    throw InputError(weights.string() + ": corrupt or truncated model weights (" +
                     first_line(e.what_without_backtrace()) + ")");
  } catch (const std::exception& e) {
    throw InputError(weights.string() + ": corrupt or truncated model weights (" + first_line(e.what()) + ")");
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
                     " (" + first_line(e.what_without_backtrace()) + ")");
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
