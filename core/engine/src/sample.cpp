// Sample cache (torch archive of preprocessed, quantised, zlib-compressed samples) and per-modality views of an image.
#include "gmd/engine/sample.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "gmd/common/error.hpp"
#include "error_text.hpp"
#include "gmd/common/fs_util.hpp"
#include "archive_check.hpp"
#include "archive_io.hpp"

namespace gmd::engine {
namespace fs = std::filesystem;

namespace {
constexpr int64_t kFormatFloat = 1;      // float32 images, uint8 (3,D,H,W) targets, uncompressed (read only)
constexpr int64_t kFormatCompact = 2;    // quantised + packed + zlib (written)
constexpr int kZlibLevel = 6;

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

// zlib stream (with its adler32 checksum) of a contiguous uint8 tensor, as a 1-D uint8 tensor.
torch::Tensor deflate(const torch::Tensor& bytes, const std::string& where) {
  const torch::Tensor b = bytes.contiguous();
  const uLong n = static_cast<uLong>(b.numel());
  uLongf cap = compressBound(n);
  torch::Tensor out = torch::empty({static_cast<int64_t>(cap)}, torch::kUInt8);
  if (compress2(out.data_ptr<uint8_t>(), &cap, b.data_ptr<uint8_t>(), n, kZlibLevel) != Z_OK)
    throw InputError(where + ": zlib compression failed");
  return out.narrow(0, 0, static_cast<int64_t>(cap)).clone();
}

torch::Tensor inflate(const torch::Tensor& z, int64_t n, const std::string& where, const std::string& what) {
  if (!z.defined() || z.scalar_type() != torch::kUInt8 || z.dim() != 1 || n < 0)
    throw InputError(where + ": corrupt sample cache (" + what + " is not a byte stream)");
  torch::Tensor out = torch::empty({n}, torch::kUInt8);
  uLongf len = static_cast<uLongf>(n);
  const torch::Tensor zc = z.contiguous();
  const int rc = uncompress(out.data_ptr<uint8_t>(), &len, zc.data_ptr<uint8_t>(), static_cast<uLong>(zc.numel()));
  if (rc != Z_OK || static_cast<int64_t>(len) != n)
    throw InputError(where + ": corrupt sample cache (" + what + ": " +
                     (rc == Z_DATA_ERROR ? "checksum or data error" : rc == Z_BUF_ERROR ? "wrong length" : "zlib error") + ")");
  return out;
}

// Per-channel 8-bit code: q = round(v / step) + zero, clamped to [0, 255]; v' = (q - zero) * step. The code `zero`
// decodes to exactly 0 and only 0 encodes to it. step = (max(v,0) - min(v,0)) / 254 (1 for a constant-zero channel).
struct Quantised {
  torch::Tensor codes;   // (4,D,H,W) uint8
  torch::Tensor step;    // (4) float64
  torch::Tensor zero;    // (4) int64
  double max_abs_error = 0;
};
Quantised quantise(const Sample& s) {
  const torch::Tensor img = s.image.detach().to(torch::kCPU, torch::kFloat).contiguous();
  Quantised q;
  q.codes = torch::zeros(img.sizes(), torch::kUInt8);
  q.step = torch::ones({kNumModalities}, torch::kDouble);
  q.zero = torch::zeros({kNumModalities}, torch::kLong);
  for (int m = 0; m < kNumModalities; ++m) {
    if (!subset_has(s.present, m)) continue;  // absent channels are never read: stored as code 0 = value 0
    const torch::Tensor c = img[m];
    if (!torch::isfinite(c).all().item<bool>())
      throw InputError("sample '" + s.id + "': channel " + std::to_string(m) + " has non-finite values");
    const double lo = std::min(0.0, c.min().item<double>()), hi = std::max(0.0, c.max().item<double>());
    const double step = hi > lo ? (hi - lo) / 254.0 : 1.0;
    const int64_t zero = std::clamp<int64_t>(std::llround(-lo / step), 0, 255);
    torch::Tensor code = (c.to(torch::kDouble) / step).round().add_(static_cast<double>(zero)).clamp_(0, 255);
    // Zero iff zero: a non-zero value within half a step of 0 takes the neighbouring code on its side, so that masks
    // derived from "!= 0" (background, absent data) are identical after the round trip (its error is < 1 step).
    const torch::Tensor tiny = code.eq(static_cast<double>(zero)) & c.ne(0);
    if (tiny.any().item<bool>()) {
      const torch::Tensor side = torch::where(c.gt(0), torch::full_like(code, 1.0), torch::full_like(code, -1.0));
      code = torch::where(tiny, (code + side).clamp_(0, 255), code);
    }
    q.codes[m].copy_(code.to(torch::kUInt8));
    q.step[m] = step;
    q.zero[m] = zero;
    const double err = (code.sub(static_cast<double>(zero)).mul_(step) - c.to(torch::kDouble)).abs().max().item<double>();
    q.max_abs_error = std::max(q.max_abs_error, err);
  }
  return q;
}

torch::Tensor dequantise(const torch::Tensor& codes, const torch::Tensor& step, const torch::Tensor& zero) {
  const auto sh = std::vector<int64_t>{kNumModalities, 1, 1, 1};
  return (codes.to(torch::kDouble) - zero.to(torch::kDouble).view(sh)).mul_(step.view(sh)).to(torch::kFloat);
}

// (3,D,H,W) regions <-> (D,H,W) uint8 with WT in bit 0, TC in bit 1, ET in bit 2.
torch::Tensor pack_regions(const torch::Tensor& t) {
  const torch::Tensor b = t.detach().to(torch::kCPU).ne(0).to(torch::kUInt8);
  return (b[0] + b[1] * 2 + b[2] * 4).to(torch::kUInt8).contiguous();
}
torch::Tensor unpack_regions(const torch::Tensor& packed) {
  return torch::stack({packed.bitwise_and(1).ne(0), packed.bitwise_and(2).ne(0), packed.bitwise_and(4).ne(0)})
      .to(torch::kUInt8);
}

int64_t read_int(torch::serialize::InputArchive& a, const std::string& key, const std::string& where) {
  c10::IValue v;
  a.read(key, v);
  if (!v.isInt()) throw InputError(where + ": corrupt sample cache (field '" + key + "' is not an integer)");
  return v.toInt();
}

// The fields both formats share: id and modality mask.
Sample read_id_and_mask(torch::serialize::InputArchive& item, const std::string& where) {
  Sample s;
  c10::IValue v;
  item.read("id", v);
  if (!v.isString()) throw InputError(where + ": corrupt sample cache (a case id is not a string)");
  s.id = v.toStringRef();
  s.present = static_cast<SubsetMask>(read_int(item, "present", where));
  return s;
}

Sample read_float_sample(torch::serialize::InputArchive& item, const std::string& where) {
  Sample s = read_id_and_mask(item, where);
  item.read("image", s.image);
  if (read_int(item, "has_target", where) != 0) item.read("target", s.target);
  return s;
}

Sample read_compact_sample(torch::serialize::InputArchive& item, const std::string& where) {
  Sample s = read_id_and_mask(item, where);
  torch::Tensor dims, step, zero, image_z;
  item.read("dims", dims);
  item.read("step", step);
  item.read("zero", zero);
  item.read("image_z", image_z);
  if (dims.numel() != 3 || step.numel() != kNumModalities || zero.numel() != kNumModalities)
    throw InputError(where + ": corrupt sample cache (case '" + s.id + "': bad dims, step or zero)");
  const auto d = dims.to(torch::kLong).contiguous();
  const int64_t D = d[0].item<int64_t>(), H = d[1].item<int64_t>(), W = d[2].item<int64_t>();
  constexpr int64_t kMaxVoxels = int64_t(1) << 31;
  if (D <= 0 || H <= 0 || W <= 0 || D * H * W > kMaxVoxels)
    throw InputError(where + ": corrupt sample cache (case '" + s.id + "': bad dimensions)");
  if (!torch::isfinite(step).all().item<bool>() || (step <= 0).any().item<bool>() || (zero < 0).any().item<bool>() ||
      (zero > 255).any().item<bool>())
    throw InputError(where + ": corrupt sample cache (case '" + s.id + "': bad quantisation)");
  const torch::Tensor codes = inflate(image_z, kNumModalities * D * H * W, where, "image of '" + s.id + "'");
  s.image = dequantise(codes.view({kNumModalities, D, H, W}), step.to(torch::kDouble), zero.to(torch::kLong));
  if (read_int(item, "has_target", where) != 0) {
    torch::Tensor target_z;
    item.read("target_z", target_z);
    const torch::Tensor packed = inflate(target_z, D * H * W, where, "regions of '" + s.id + "'");
    if (packed.gt(7).any().item<bool>())
      throw InputError(where + ": corrupt sample cache (case '" + s.id + "': bad region bits)");
    s.target = unpack_regions(packed.view({D, H, W}));
  }
  return s;
}
}  // namespace

SampleCacheStats save_samples(const fs::path& file, const std::vector<Sample>& samples, const nlohmann::json& meta) {
  SampleCacheStats stats;
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(kFormatCompact));
  archive.write("meta", c10::IValue(meta.dump()));
  archive.write("count", c10::IValue(static_cast<int64_t>(samples.size())));
  for (size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    check_sample(s, file.string());
    const Quantised q = quantise(s);
    stats.max_abs_error = std::max(stats.max_abs_error, q.max_abs_error);
    stats.raw_bytes += s.image.numel() * 4 + (s.target.defined() ? s.target.numel() : 0);
    torch::serialize::OutputArchive item;
    item.write("id", c10::IValue(s.id));
    item.write("present", c10::IValue(static_cast<int64_t>(s.present)));
    item.write("dims", torch::tensor({s.image.size(1), s.image.size(2), s.image.size(3)}, torch::kLong));
    item.write("step", q.step);
    item.write("zero", q.zero);
    item.write("image_z", deflate(q.codes.view({-1}), file.string()));
    item.write("has_target", c10::IValue(static_cast<int64_t>(s.target.defined() ? 1 : 0)));
    if (s.target.defined()) item.write("target_z", deflate(pack_regions(s.target).view({-1}), file.string()));
    archive.write("s" + std::to_string(i), item);
  }
  save_archive_atomically(archive, file);
  stats.file_bytes = static_cast<int64_t>(fs::file_size(file));
  return stats;
}

std::vector<Sample> load_samples(const fs::path& file, nlohmann::json* meta) {
  const std::string where = file.string();
  if (!fs::is_regular_file(file)) throw InputError(where + ": sample cache not found");
  check_torch_archive(file, "sample cache");  // sizes LibTorch would trust (archive_check.hpp)
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(where, torch::kCPU);
  } catch (const c10::Error& e) {
    throw InputError(where + ": corrupt or truncated sample cache (" + first_line(e) + ")");
  }
  std::vector<Sample> out;
  try {
    const int64_t format = read_int(archive, "format", where);
    if (format != kFormatFloat && format != kFormatCompact)
      throw InputError(where + ": unsupported sample cache format " + std::to_string(format) +
                       " (this build reads formats 1 and 2)");
    nlohmann::json m = nlohmann::json::object();
    if (format == kFormatCompact) {
      c10::IValue v;
      archive.read("meta", v);
      m = nlohmann::json::parse(v.toStringRef(), nullptr, /*allow_exceptions=*/false);
      if (m.is_discarded() || !m.is_object()) throw InputError(where + ": corrupt sample cache (meta is not a JSON object)");
    }
    const int64_t n = read_int(archive, "count", where);
    if (n < 0) throw InputError(where + ": invalid sample count");
    out.reserve(static_cast<size_t>(std::min<int64_t>(n, 100000)));
    for (int64_t i = 0; i < n; ++i) {
      torch::serialize::InputArchive item;
      archive.read("s" + std::to_string(i), item);
      Sample s = format == kFormatCompact ? read_compact_sample(item, where) : read_float_sample(item, where);
      check_sample(s, where);
      s.image = s.image.to(torch::kFloat);
      if (s.target.defined()) s.target = s.target.to(torch::kUInt8);
      out.push_back(std::move(s));
    }
    if (meta) *meta = std::move(m);
  } catch (const c10::Error& e) {
    throw InputError(where + ": corrupt sample cache (" + first_line(e) + ")");
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
