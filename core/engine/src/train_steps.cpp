// What one training step of each method does: its subsets, its backward pass (GMD or a plain sum).
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "gmd/common/metrics_schema.hpp"
#include "gmd/engine/dist.hpp"
#include "gmd/engine/gmd.hpp"
#include "gmd/engine/random.hpp"
#include "train_internal.hpp"

namespace gmd::engine::detail {
namespace {
// Uniform non-empty proper subset of `avail` (the kept modalities of vanilla modality dropout).
SubsetMask dropout_keep(SubsetMask avail, std::mt19937_64& rng, double prob) {
  const double u = uniform01(rng);
  std::vector<SubsetMask> proper;
  for (SubsetMask s : subsets_within(avail))
    if (s != avail) proper.push_back(s);
  const int64_t pick = proper.empty() ? 0 : uniform_int(rng, 0, static_cast<int64_t>(proper.size()) - 1);
  if (proper.empty() || u >= prob) return avail;
  return proper[static_cast<size_t>(pick)];
}

nlohmann::json matrix_json(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kCPU, torch::kDouble).contiguous();
  nlohmann::json out = nlohmann::json::array();
  if (c.dim() == 1) {
    for (int64_t i = 0; i < c.size(0); ++i) out.push_back(c[i].item<double>());
    return out;
  }
  for (int64_t i = 0; i < c.size(0); ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (int64_t j = 0; j < c.size(1); ++j) row.push_back(c[i][j].item<double>());
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace

std::vector<SubsetMask> step_subsets(const TrainConfig& cfg, const SubsetSampler& sampler, int64_t step,
                                     SubsetMask available) {
  std::vector<SubsetMask> subs;
  const Method method = cfg.net.method;
  if (method == Method::DS || method == Method::DSGMD) {
    subs = sampler.subsets(step, available);
    if (subs.empty()) subs = {available};
  } else if (method == Method::Vanilla) {
    auto rng = step_rng(cfg.seed, step, kTagSubsets);
    subs = {dropout_keep(available, rng, cfg.modality_dropout)};
  } else {
    for (int m : subset_modalities(available)) subs.push_back(static_cast<SubsetMask>(1u << m));
  }
  return subs;
}

ParameterSplit split_parameters(SegModelImpl& model) {
  ParameterSplit p{model.parameters(), model.shared_parameters(), model.specific_parameters()};
  if (p.shared.size() + p.specific.size() != p.all.size())
    throw std::logic_error("shared + specific parameters do not partition the model's parameters");
  return p;
}

nlohmann::json backward_gmd(const std::vector<torch::Tensor>& losses, const ParameterSplit& params,
                            const LossScaler& scaler, const TrainConfig& cfg, int64_t step, bool* finite,
                            Communicator* comm) {
  const std::vector<torch::Tensor>& shared = params.shared;
  const std::vector<torch::Tensor>& specific = params.specific;
  nlohmann::json gmd_json;
  std::vector<torch::Tensor> inputs = shared;
  inputs.insert(inputs.end(), specific.begin(), specific.end());
  const size_t k = losses.size();
  std::vector<std::vector<torch::Tensor>> gshared(k);
  std::vector<torch::Tensor> gspec(specific.size());
  for (size_t j = 0; j < k; ++j) {
    const torch::Tensor lj = scaler.enabled ? losses[j] * scaler.scale : losses[j];
    auto g = torch::autograd::grad({lj}, inputs, {}, /*retain_graph=*/j + 1 < k, /*create_graph=*/false,
                                   /*allow_unused=*/true);
    if (scaler.enabled)
      for (auto& t : g)
        if (t.defined()) t = t / scaler.scale;
    gshared[j].assign(g.begin(), g.begin() + static_cast<std::ptrdiff_t>(shared.size()));
    for (size_t p = 0; p < specific.size(); ++p) {
      const torch::Tensor& t = g[shared.size() + p];
      if (!t.defined()) continue;
      gspec[p] = gspec[p].defined() ? gspec[p] + t : t;
    }
  }
  if (comm != nullptr && comm->world() > 1) {
    // The same subsets on every rank give the same set of defined gradients, in the same order.
    std::vector<torch::Tensor> all;
    for (const auto& gs : gshared)
      for (const auto& t : gs)
        if (t.defined()) all.push_back(t);
    for (const auto& t : gspec)
      if (t.defined()) all.push_back(t);
    average_over_ranks(comm, all, step);
  }
  const torch::Tensor gram = gram_matrix(gshared);
  *finite = torch::isfinite(gram).all().item<bool>();
  if (*finite) {
    auto rng = step_rng(cfg.seed, step, kTagGmd);
    const GmdResult r = gmd_from_gram(gram, cfg.gmd, &rng);
    const std::vector<torch::Tensor> combined = combine_gradients(gshared, r.weights);
    for (size_t p = 0; p < shared.size(); ++p)
      if (p < combined.size() && combined[p].defined())
        shared[p].mutable_grad() = combined[p].to(shared[p].dtype()).detach();
    for (size_t p = 0; p < specific.size(); ++p)
      if (gspec[p].defined()) specific[p].mutable_grad() = gspec[p].detach();
    gmd_json = {{metrics::kCos, matrix_json(r.cos)},
                {metrics::kCosAfter, matrix_json(r.cos_after)},
                {metrics::kNorms, matrix_json(r.norms)},
                {metrics::kWeights, matrix_json(r.weights)},
                {metrics::kConflicts, r.conflicts}};
  }
  return gmd_json;
}

void backward_sum(const std::vector<torch::Tensor>& losses, const std::vector<torch::Tensor>& params,
                  const LossScaler& scaler) {
  torch::Tensor total = losses[0];
  for (size_t j = 1; j < losses.size(); ++j) total = total + losses[j];
  if (scaler.enabled) total = total * scaler.scale;
  total.backward();
  if (scaler.enabled)
    for (const auto& p : params)
      if (p.grad().defined()) p.mutable_grad().div_(scaler.scale);
}

void average_over_ranks(Communicator* comm, const std::vector<torch::Tensor>& tensors, int64_t step) {
  if (comm == nullptr || comm->world() == 1) return;
  comm->sum(tensors, "the gradient all-reduce of step " + std::to_string(step + 1));
  for (const auto& t : tensors) t.div_(static_cast<double>(comm->world()));
}

std::vector<torch::Tensor> grads_of(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> out;
  for (const auto& p : params)
    if (p.grad().defined()) out.push_back(p.grad());
  return out;
}

void clear_grads(const std::vector<torch::Tensor>& params) {
  for (const auto& p : params) p.mutable_grad() = torch::Tensor();
}

bool grads_finite(const std::vector<torch::Tensor>& params) {
  for (const auto& p : params)
    if (p.grad().defined() && !torch::isfinite(p.grad()).all().item<bool>()) return false;
  return true;
}
}  // namespace gmd::engine::detail
