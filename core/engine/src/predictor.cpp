// Sliding-window inference: overlapping windows, Gaussian importance weighting, all requested
// subsets from one encoding per window (model.forward_subsets), windows batched on CUDA.
#include "gmd/engine/predictor.hpp"

#include "gmd/engine/cuda.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "amp.hpp"
#include "gmd/common/error.hpp"
#include "gmd/engine/sample.hpp"

namespace gmd::engine {

namespace {
using torch::indexing::Slice;

std::vector<int64_t> window_starts(int64_t dim, int64_t win, double overlap) {
  std::vector<int64_t> out;
  if (dim <= win) return {0};
  const auto step = std::max<int64_t>(1, static_cast<int64_t>(std::floor(static_cast<double>(win) * (1.0 - overlap))));
  for (int64_t s = 0; s + win < dim; s += step) out.push_back(s);
  out.push_back(dim - win);
  return out;
}

torch::Tensor gaussian_1d(int64_t n) {
  const double sigma = static_cast<double>(n) / 8.0;
  const double c = (static_cast<double>(n) - 1.0) / 2.0;
  auto i = torch::arange(n, torch::kDouble);
  auto g = torch::exp(-(i - c).pow(2) / (2.0 * sigma * sigma));
  return g / g.max();
}

struct TrainingModeGuard {
  SegModelImpl& m;
  bool was;
  explicit TrainingModeGuard(SegModelImpl& model) : m(model), was(model.is_training()) { m.eval(); }
  ~TrainingModeGuard() { m.train(was); }
};
}  // namespace

std::vector<torch::Tensor> predict_subsets(SegModelImpl& model, const torch::Tensor& image, SubsetMask present,
                                           const std::vector<SubsetMask>& subsets, const torch::Device& device,
                                           const PredictOptions& opt) {
  if (!image.defined() || image.dim() != 4 || image.size(0) != kNumModalities)
    throw InputError("predict: image must be a (4,D,H,W) tensor");
  if (subsets.empty()) return {};
  if ((present & kFullMask) == 0) throw InputError("predict: no modality is present");
  SubsetMask needed = 0;
  for (SubsetMask s : subsets) {
    if ((s & kFullMask) == 0 || (s & ~kFullMask) != 0) throw InputError("predict: invalid (empty) modality subset");
    const SubsetMask missing = static_cast<SubsetMask>(s & ~present);
    if (missing != 0)
      throw InputError("predict: subset " + subset_name(s) + " needs " + subset_name(missing) +
                       ", which the case does not have");
    needed |= s;
  }
  if (!(opt.overlap >= 0.0 && opt.overlap < 1.0)) throw UsageError("predict: overlap must be in [0, 1)");
  const int64_t mult = model.config().multiple();
  const int64_t dims[3] = {image.size(1), image.size(2), image.size(3)};
  for (int a = 0; a < 3; ++a)
    if (dims[a] <= 0) throw InputError("predict: empty image");

  const int64_t p = std::max(mult, (std::max<int64_t>(opt.patch, 1) / mult) * mult);
  std::array<int64_t, 3> win{}, padded{};
  for (int a = 0; a < 3; ++a) {
    if (dims[a] < p) {
      win[a] = (dims[a] + mult - 1) / mult * mult;  // smallest multiple covering the axis (zero padded)
      padded[a] = win[a];
    } else {
      win[a] = p;
      padded[a] = dims[a];
    }
  }
  std::array<std::vector<int64_t>, 3> starts;
  for (int a = 0; a < 3; ++a) starts[a] = window_starts(padded[a], win[a], opt.overlap);
  std::vector<std::array<int64_t, 3>> windows;
  for (int64_t z : starts[0])
    for (int64_t y : starts[1])
      for (int64_t x : starts[2]) windows.push_back({z, y, x});

  const int64_t batch = opt.batch > 0 ? opt.batch : (device.is_cuda() ? 2 : 1);
  const auto amp = detail::amp_dtype(opt.amp ? "auto" : "none", device);

  try {
    TrainingModeGuard mode(model);
    model.to(device);  // outside inference mode: moved parameters must stay ordinary tensors
    if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
    std::vector<torch::Tensor> result;
    {
      // Inference mode: no autograd bookkeeping at all (cheaper than NoGradGuard); results are cloned
      // below so that callers get ordinary tensors they may modify in place.
      c10::InferenceMode inference;

      torch::Tensor img = image.detach().to(device, torch::kFloat);
      if (!torch::isfinite(img).all().item<bool>())
        throw InputError("predict: the image contains NaN or infinite values");
      if (padded[0] != dims[0] || padded[1] != dims[1] || padded[2] != dims[2])
        img = torch::constant_pad_nd(img, {0, padded[2] - dims[2], 0, padded[1] - dims[1], 0, padded[0] - dims[0]}, 0.0);

      const auto fopt = torch::TensorOptions().dtype(torch::kFloat).device(device);
      torch::Tensor weight;
      if (opt.gaussian) {
        weight = (gaussian_1d(win[0]).view({-1, 1, 1}) * gaussian_1d(win[1]).view({1, -1, 1}) *
                  gaussian_1d(win[2]).view({1, 1, -1}))
                     .to(fopt)
                     .unsqueeze(0);
      } else {
        weight = torch::ones({1, win[0], win[1], win[2]}, fopt);
      }
      std::vector<torch::Tensor> acc;
      acc.reserve(subsets.size());
      for (size_t j = 0; j < subsets.size(); ++j) acc.push_back(torch::zeros({3, padded[0], padded[1], padded[2]}, fopt));
      torch::Tensor wsum = torch::zeros({1, padded[0], padded[1], padded[2]}, fopt);

      const auto total = static_cast<int64_t>(windows.size());
      for (int64_t b0 = 0; b0 < total; b0 += batch) {
        if (opt.cancelled && opt.cancelled()) throw Cancelled();
        const int64_t b1 = std::min(total, b0 + batch);
        std::vector<torch::Tensor> crops;
        for (int64_t i = b0; i < b1; ++i) {
          const auto& w = windows[static_cast<size_t>(i)];
          crops.push_back(
              img.index({Slice(), Slice(w[0], w[0] + win[0]), Slice(w[1], w[1] + win[1]), Slice(w[2], w[2] + win[2])}));
        }
        const torch::Tensor x = torch::stack(crops).contiguous();
        std::vector<torch::Tensor> outs;
        {
          detail::AutocastGuard autocast(amp);
          outs = model.forward_subsets(split_modalities(x, needed), subsets);
        }
        if (outs.size() != subsets.size()) throw std::logic_error("forward_subsets returned a wrong number of outputs");
        for (int64_t i = b0; i < b1; ++i) {
          const auto& w = windows[static_cast<size_t>(i)];
          const auto region = std::vector<torch::indexing::TensorIndex>{
              Slice(), Slice(w[0], w[0] + win[0]), Slice(w[1], w[1] + win[1]), Slice(w[2], w[2] + win[2])};
          for (size_t j = 0; j < subsets.size(); ++j) {
            torch::Tensor probs = torch::sigmoid(outs[j][i - b0].to(torch::kFloat));
            acc[j].index(region).add_(probs * weight);
          }
          wsum.index(region).add_(weight);
        }
        if (opt.progress) opt.progress(static_cast<double>(b1) / static_cast<double>(total));
      }

      result.reserve(subsets.size());
      for (auto& a : acc) {
        a.div_(wsum);
        result.push_back(
            a.index({Slice(), Slice(0, dims[0]), Slice(0, dims[1]), Slice(0, dims[2])}).to(torch::kCPU).contiguous());
        a = torch::Tensor();
      }
    }
    for (auto& r : result) r = r.clone();  // ordinary (non-inference) tensors
    return result;
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    if (detail::is_oom_message(what)) {
      if (device.is_cuda()) {
        cuda::release_cached_memory();
        throw InputError("GPU out of memory during inference (window " + std::to_string(p) + ", " +
                         std::to_string(subsets.size()) + " subsets); retry with --device cpu or a smaller patch");
      }
    }
    if (detail::is_oom_message(what) || what.find("not enough memory") != std::string::npos)
      throw InputError("out of memory during inference (window " + std::to_string(p) + "); retry with a smaller patch");
    throw;
  }
}

torch::Tensor probs_to_labels(const torch::Tensor& probs, double threshold, int64_t et_min_voxels) {
  if (!probs.defined() || probs.dim() != 4 || probs.size(0) != 3)
    throw InputError("probs_to_labels: expected a (3,D,H,W) probability tensor");
  const torch::Tensor p = probs.detach().to(torch::kCPU, torch::kFloat);
  torch::Tensor labels = torch::zeros({p.size(1), p.size(2), p.size(3)}, torch::kUInt8);
  labels.masked_fill_(p[0] > threshold, 2);
  labels.masked_fill_(p[1] > threshold, 1);
  const torch::Tensor et = p[2] > threshold;
  labels.masked_fill_(et, 4);
  if (et_min_voxels > 0) {
    const int64_t n = et.sum().item<int64_t>();
    if (n > 0 && n < et_min_voxels) labels.masked_fill_(et, 1);
  }
  return labels;
}

}  // namespace gmd::engine
