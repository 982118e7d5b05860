// Dataset cache (torch archive of preprocessed samples) and per-modality views of an image.
#include "gmd/engine/sample.hpp"

#include <string>

#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"

namespace gmd::engine {
namespace fs = std::filesystem;

namespace {
constexpr int64_t kFormatVersion = 1;

std::string first_line(const std::string& s) {
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

void check_sample(const Sample& s, const std::string& where) {
  if (!s.image.defined() || s.image.dim() != 4 || s.image.size(0) != kNumModalities)
    throw InputError(where + ": sample '" + s.id + "' image must be (4,D,H,W)");
  if ((s.present & ~kFullMask) != 0 || s.present == 0)
    throw InputError(where + ": sample '" + s.id + "' has an invalid modality mask " + std::to_string(int(s.present)));
  if (s.target.defined()) {
    if (s.target.dim() != 4 || s.target.size(0) != 3 || s.target.size(1) != s.image.size(1) ||
        s.target.size(2) != s.image.size(2) || s.target.size(3) != s.image.size(3))
      throw InputError(where + ": sample '" + s.id + "' target must be (3,D,H,W) matching the image");
  }
}
}  // namespace

void save_samples(const fs::path& file, const std::vector<Sample>& samples) {
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(kFormatVersion));
  archive.write("count", c10::IValue(static_cast<int64_t>(samples.size())));
  for (size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    check_sample(s, file.string());
    torch::serialize::OutputArchive item;
    item.write("id", c10::IValue(s.id));
    item.write("present", c10::IValue(static_cast<int64_t>(s.present)));
    item.write("image", s.image.detach().to(torch::kCPU, torch::kFloat).contiguous());
    item.write("has_target", c10::IValue(static_cast<int64_t>(s.target.defined() ? 1 : 0)));
    if (s.target.defined()) item.write("target", s.target.detach().to(torch::kCPU, torch::kUInt8).contiguous());
    archive.write("s" + std::to_string(i), item);
  }
  write_atomically(file, [&](const fs::path& tmp) { archive.save_to(tmp.string()); });
}

std::vector<Sample> load_samples(const fs::path& file) {
  const std::string where = file.string();
  if (!fs::is_regular_file(file)) throw InputError(where + ": sample cache not found");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(where, torch::kCPU);
  } catch (const c10::Error& e) {
    throw InputError(where + ": corrupt or truncated sample cache (" + first_line(e.what_without_backtrace()) + ")");
  }
  std::vector<Sample> out;
  try {
    c10::IValue v;
    archive.read("format", v);
    if (!v.isInt() || v.toInt() != kFormatVersion) throw InputError(where + ": unsupported sample cache format");
    archive.read("count", v);
    const int64_t n = v.toInt();
    if (n < 0) throw InputError(where + ": invalid sample count");
    out.reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      torch::serialize::InputArchive item;
      archive.read("s" + std::to_string(i), item);
      Sample s;
      item.read("id", v);
      s.id = v.toStringRef();
      item.read("present", v);
      s.present = static_cast<SubsetMask>(v.toInt());
      item.read("image", s.image);
      item.read("has_target", v);
      if (v.toInt() != 0) item.read("target", s.target);
      check_sample(s, where);
      s.image = s.image.to(torch::kFloat);
      if (s.target.defined()) s.target = s.target.to(torch::kUInt8);
      out.push_back(std::move(s));
    }
  } catch (const c10::Error& e) {
    throw InputError(where + ": corrupt sample cache (" + first_line(e.what_without_backtrace()) + ")");
  }
  return out;
}

std::array<torch::Tensor, kNumModalities> split_modalities(const torch::Tensor& image, SubsetMask present) {
  if (!image.defined() || (image.dim() != 4 && image.dim() != 5))
    throw InputError("split_modalities: image must be (4,D,H,W) or (B,4,D,H,W)");
  const torch::Tensor batched = image.dim() == 4 ? image.unsqueeze(0) : image;
  if (batched.size(1) != kNumModalities) throw InputError("split_modalities: image must have 4 channels");
  std::array<torch::Tensor, kNumModalities> out;
  for (int m = 0; m < kNumModalities; ++m)
    if (subset_has(present, m)) out[static_cast<size_t>(m)] = batched.narrow(1, m, 1);
  return out;
}

}  // namespace gmd::engine
