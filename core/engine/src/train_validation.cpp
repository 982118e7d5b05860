// engine::train's validation: Dice of the validation cases, per subset when small enough.
#include "amp.hpp"
#include "gmd/common/metrics_schema.hpp"
#include "gmd/common/regions.hpp"
#include "gmd/engine/dist.hpp"
#include "gmd/engine/predictor.hpp"
#include "train_internal.hpp"

namespace gmd::engine::detail {
namespace {
constexpr int64_t kPerSubsetValVoxels = int64_t{128} * 128 * 128;  // per-subset validation dice up to this size
constexpr double kValOverlap = 0.25;
}  // namespace

ValResult run_validation(SegModelImpl& model, const std::vector<Sample>& val, const TrainConfig& cfg,
                         const torch::Device& device, int64_t step, Communicator* comm) {
  const auto t0 = Clock::now();
  // sums[0..2]: Dice of the available modalities; per subset mask m (1..15): sums[4m..4m+2] its Dice, sums[4m+3]
  // its case count. One vector, so several ranks add theirs in one all-reduce.
  constexpr int64_t kSlots = 4 * (int64_t{kFullMask} + 1);
  torch::Tensor sums = torch::zeros({kSlots}, torch::kFloat64);
  auto acc = sums.accessor<double, 1>();
  const size_t world = comm != nullptr ? static_cast<size_t>(comm->world()) : 1;
  const size_t rank = comm != nullptr ? static_cast<size_t>(comm->rank()) : 0;
  PredictOptions opt;
  opt.patch = cfg.val_patch > 0 ? cfg.val_patch : cfg.patch;
  opt.overlap = kValOverlap;
  opt.amp = detail::amp_dtype(cfg.amp, device).has_value();
  for (size_t c = rank; c < val.size(); c += world) {
    const Sample& s = val[c];
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
        for (int r = 0; r < 3; ++r) acc[r] += d[static_cast<size_t>(r)];
      if (per_subset) {
        const int64_t base = 4 * static_cast<int64_t>(subs[j]);
        for (int r = 0; r < 3; ++r) acc[base + r] += d[static_cast<size_t>(r)];
        acc[base + 3] += 1;
      }
    }
  }
  if (comm != nullptr) comm->sum({sums}, "the validation all-reduce of step " + std::to_string(step));
  ValResult out;
  const auto n = static_cast<double>(val.size());
  for (int r = 0; r < 3; ++r) out.dice[static_cast<size_t>(r)] = acc[r] / n;
  out.record = {{metrics::kType, metrics::kValRecord},
                {metrics::kStep, step},
                {metrics::kDice, {{region_name(0), out.dice[0]}, {region_name(1), out.dice[1]}, {region_name(2), out.dice[2]}}},
                {metrics::kCases, val.size()}};
  nlohmann::json subs = nlohmann::json::object();
  for (SubsetMask m : all_subsets()) {
    const int64_t base = 4 * static_cast<int64_t>(m);
    const double c = acc[base + 3];
    if (c > 0) subs[subset_name(m)] = {acc[base] / c, acc[base + 1] / c, acc[base + 2] / c};
  }
  if (!subs.empty()) out.record[metrics::kDiceSubsets] = subs;
  out.record[metrics::kTimeS] = std::chrono::duration<double>(Clock::now() - t0).count();
  return out;
}

}  // namespace gmd::engine::detail
