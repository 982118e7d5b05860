// engine::train's validation: Dice of the validation cases, per subset when small enough.
#include <map>

#include "amp.hpp"
#include "gmd/common/metrics_schema.hpp"
#include "gmd/common/regions.hpp"
#include "gmd/engine/predictor.hpp"
#include "train_internal.hpp"

namespace gmd::engine::detail {
namespace {
constexpr int64_t kPerSubsetValVoxels = int64_t{128} * 128 * 128;  // per-subset validation dice up to this size
constexpr double kValOverlap = 0.25;
}  // namespace

ValResult run_validation(SegModelImpl& model, const std::vector<Sample>& val, const TrainConfig& cfg,
                         const torch::Device& device, int64_t step) {
  const auto t0 = Clock::now();
  std::array<double, 3> sum{};
  std::map<SubsetMask, std::array<double, 3>> sub_sum;
  std::map<SubsetMask, int64_t> sub_count;
  PredictOptions opt;
  opt.patch = cfg.val_patch > 0 ? cfg.val_patch : cfg.patch;
  opt.overlap = kValOverlap;
  opt.amp = detail::amp_dtype(cfg.amp, device).has_value();
  for (const Sample& s : val) {
    const SubsetMask avail = static_cast<SubsetMask>(s.present & cfg.net.modalities);
    std::vector<SubsetMask> subs{avail};
    const bool per_subset = s.image[0].numel() <= kPerSubsetValVoxels;
    if (per_subset) subs = subsets_within(avail);  // ends with `avail` itself
    const auto probs = predict_subsets(model, s.image, avail, subs, device, opt);
    const torch::Tensor truth = s.target.to(torch::kCPU) != 0;
    for (size_t j = 0; j < subs.size(); ++j) {
      const torch::Tensor pred = probs[j] > 0.5;
      std::array<double, 3> d{};
      for (int r = 0; r < 3; ++r) {
        const double inter = (pred[r] & truth[r]).sum().item<double>();
        const double np = pred[r].sum().item<double>(), nt = truth[r].sum().item<double>();
        d[static_cast<size_t>(r)] = (np + nt) == 0 ? 1.0 : 2.0 * inter / (np + nt);
      }
      if (subs[j] == avail)
        for (int r = 0; r < 3; ++r) sum[static_cast<size_t>(r)] += d[static_cast<size_t>(r)];
      if (per_subset) {
        auto& acc = sub_sum[subs[j]];
        for (int r = 0; r < 3; ++r) acc[static_cast<size_t>(r)] += d[static_cast<size_t>(r)];
        ++sub_count[subs[j]];
      }
    }
  }
  ValResult out;
  const auto n = static_cast<double>(val.size());
  for (int r = 0; r < 3; ++r) out.dice[static_cast<size_t>(r)] = sum[static_cast<size_t>(r)] / n;
  out.record = {{metrics::kType, metrics::kValRecord},
                {metrics::kStep, step},
                {metrics::kDice, {{region_name(0), out.dice[0]}, {region_name(1), out.dice[1]}, {region_name(2), out.dice[2]}}},
                {metrics::kCases, val.size()}};
  if (!sub_sum.empty()) {
    nlohmann::json subs = nlohmann::json::object();
    for (SubsetMask m : all_subsets()) {
      const auto it = sub_sum.find(m);
      if (it == sub_sum.end()) continue;
      const double c = static_cast<double>(sub_count[m]);
      subs[subset_name(m)] = {it->second[0] / c, it->second[1] / c, it->second[2] / c};
    }
    out.record[metrics::kDiceSubsets] = subs;
  }
  out.record[metrics::kTimeS] = std::chrono::duration<double>(Clock::now() - t0).count();
  return out;
}

}  // namespace gmd::engine::detail
