// Gradient-guided Modality Decoupling in coefficient space. Every quantity follows from the k x k Gram
// matrix of the subset gradients (float64): the projections of eq. 8 only ever subtract multiples of
// original gradients, so G'_i = sum_j C_ij G_j and the combined gradient is sum_j w_j G_j with
// w_j = sum_i C_ij (eq. 9 generalised to k subsets).
#include "gmd/engine/gmd.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

namespace gmd::engine {
namespace {

using Mat = std::vector<std::vector<double>>;

Mat to_mat(const torch::Tensor& t) {
  const auto c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  const int64_t k = c.size(0);
  const double* p = c.data_ptr<double>();
  Mat m(static_cast<size_t>(k), std::vector<double>(static_cast<size_t>(k)));
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j) m[i][j] = p[i * k + j];
  return m;
}

torch::Tensor to_tensor(const Mat& m) {
  const auto k = static_cast<int64_t>(m.size());
  auto t = torch::zeros({k, k}, torch::kFloat64);
  double* p = t.data_ptr<double>();
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j) p[i * k + j] = m[i][j];
  return t;
}

// Cosines from a Gram matrix: 0 where a norm is 0 (also on the diagonal), clamped to [-1, 1].
Mat cosines(const Mat& g, std::vector<double>& norms) {
  const size_t k = g.size();
  norms.assign(k, 0.0);
  for (size_t i = 0; i < k; ++i) norms[i] = std::sqrt(std::max(g[i][i], 0.0));
  Mat c(k, std::vector<double>(k, 0.0));
  for (size_t i = 0; i < k; ++i)
    for (size_t j = 0; j < k; ++j) {
      if (norms[i] > 0.0 && norms[j] > 0.0) {
        const double v = i == j ? 1.0 : g[i][j] / (norms[i] * norms[j]);
        c[i][j] = std::max(-1.0, std::min(1.0, v));
      }
    }
  return c;
}

}  // namespace

GmdResult gmd_from_gram(const torch::Tensor& gram, const GmdOptions& opt, std::mt19937_64* rng) {
  if (!gram.defined() || gram.dim() != 2 || gram.size(0) != gram.size(1) || gram.size(0) < 1)
    throw std::invalid_argument("gmd_from_gram: expected a non-empty square (k,k) Gram matrix");
  const Mat g = to_mat(gram);
  const size_t k = g.size();
  for (size_t i = 0; i < k; ++i)
    for (size_t j = 0; j < k; ++j)
      if (!std::isfinite(g[i][j])) throw std::invalid_argument("gmd_from_gram: non-finite Gram matrix entry");

  std::vector<double> norms;
  const Mat cos = cosines(g, norms);

  Mat c(k, std::vector<double>(k, 0.0));
  for (size_t i = 0; i < k; ++i) c[i][i] = 1.0;

  if (opt.projection == GmdProjection::None) {
    // The control: C stays the identity (conflicts are still counted below).
  } else if (opt.projection == GmdProjection::Simultaneous) {
    // eq. 8: G'_i = G_i - sum_{j: cos_ij < 0} (G_i.G_j / |G_j|^2) G_j, all against the originals.
    for (size_t i = 0; i < k; ++i)
      for (size_t j = 0; j < k; ++j)
        if (j != i && cos[i][j] < 0.0 && g[j][j] > 0.0) c[i][j] -= g[i][j] / g[j][j];
  } else {
    // PCGrad: for each i, visit the other gradients in a random order; project the CURRENT G'_i off the
    // original G_j while they conflict (G'_i.G_j < 0).
    for (size_t i = 0; i < k; ++i) {
      std::vector<size_t> order;
      for (size_t j = 0; j < k; ++j)
        if (j != i) order.push_back(j);
      if (rng != nullptr)  // Fisher-Yates with a portable index draw (std::shuffle is implementation-defined)
        for (size_t n = order.size(); n > 1; --n) std::swap(order[n - 1], order[(*rng)() % n]);
      for (size_t j : order) {
        if (g[j][j] <= 0.0) continue;  // nothing to project onto
        double dot = 0.0;              // G'_i . G_j = sum_l C_il G_l.G_j
        for (size_t l = 0; l < k; ++l) dot += c[i][l] * g[l][j];
        if (dot < 0.0) c[i][j] -= dot / g[j][j];
      }
    }
  }

  std::vector<double> w(k, 0.0);
  for (size_t i = 0; i < k; ++i)
    for (size_t j = 0; j < k; ++j) w[j] += c[i][j];
  if (opt.combine == GmdCombine::Mean)
    for (double& v : w) v /= static_cast<double>(k);

  // Gram of the de-conflicted gradients: C G C^T.
  Mat ga(k, std::vector<double>(k, 0.0));
  for (size_t a = 0; a < k; ++a)
    for (size_t b = 0; b < k; ++b) {
      double s = 0.0;
      for (size_t i = 0; i < k; ++i)
        for (size_t j = 0; j < k; ++j) s += c[a][i] * g[i][j] * c[b][j];
      ga[a][b] = s;
    }
  // Symmetrise against round-off.
  for (size_t a = 0; a < k; ++a)
    for (size_t b = a + 1; b < k; ++b) ga[a][b] = ga[b][a] = 0.5 * (ga[a][b] + ga[b][a]);
  std::vector<double> norms_after;
  const Mat cos_after = cosines(ga, norms_after);

  GmdResult r;
  r.cos = to_tensor(cos);
  r.norms = torch::tensor(norms, torch::kFloat64);
  r.coeff = to_tensor(c);
  r.weights = torch::tensor(w, torch::kFloat64);
  r.cos_after = to_tensor(cos_after);
  for (size_t i = 0; i < k; ++i)
    for (size_t j = i + 1; j < k; ++j)
      if (cos[i][j] < 0.0) ++r.conflicts;
  return r;
}

namespace {
void check_grads(const std::vector<std::vector<torch::Tensor>>& grads, const char* who) {
  if (grads.empty()) throw std::invalid_argument(std::string(who) + ": no gradients");
  for (const auto& gj : grads)
    if (gj.size() != grads[0].size())
      throw std::invalid_argument(std::string(who) + ": gradient lists of different lengths");
}
}  // namespace

torch::Tensor gram_matrix(const std::vector<std::vector<torch::Tensor>>& grads) {
  check_grads(grads, "gram_matrix");
  const auto k = static_cast<int64_t>(grads.size());
  torch::Tensor acc;  // (k,k) float64 on the gradients' device
  for (size_t p = 0; p < grads[0].size(); ++p) {
    torch::Tensor ref;
    for (const auto& gj : grads)
      if (gj[p].defined()) {
        ref = gj[p];
        break;
      }
    if (!ref.defined()) continue;
    const int64_t n = ref.numel();
    std::vector<torch::Tensor> rows;
    rows.reserve(grads.size());
    for (const auto& gj : grads) {
      if (gj[p].defined()) {
        if (gj[p].numel() != n) throw std::invalid_argument("gram_matrix: gradient sizes differ for one parameter");
        rows.push_back(gj[p].detach().reshape({n}).to(torch::kFloat64));
      } else {
        rows.push_back(torch::zeros({n}, ref.options().dtype(torch::kFloat64)));
      }
    }
    const auto m = torch::stack(rows);  // (k, n)
    const auto g = torch::mm(m, m.t());
    acc = acc.defined() ? acc + g : g;
  }
  if (!acc.defined()) return torch::zeros({k, k}, torch::kFloat64);
  return acc.to(torch::kCPU);
}

std::vector<torch::Tensor> combine_gradients(const std::vector<std::vector<torch::Tensor>>& grads,
                                             const torch::Tensor& weights) {
  check_grads(grads, "combine_gradients");
  const auto w = weights.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  if (w.dim() != 1 || w.size(0) != static_cast<int64_t>(grads.size()))
    throw std::invalid_argument("combine_gradients: need one weight per gradient list");
  const double* wp = w.data_ptr<double>();
  std::vector<torch::Tensor> out(grads[0].size());
  torch::NoGradGuard no_grad;
  for (size_t p = 0; p < out.size(); ++p) {
    torch::Tensor acc;
    for (size_t j = 0; j < grads.size(); ++j) {
      const auto& g = grads[j][p];
      if (!g.defined()) continue;
      if (!acc.defined()) acc = g.detach() * wp[j];
      else acc.add_(g.detach(), wp[j]);
    }
    out[p] = acc;  // undefined when no subset reaches the parameter
  }
  return out;
}

}  // namespace gmd::engine
