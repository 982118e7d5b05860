// Dice and Hausdorff-95 on binary volumes. HD95 uses an exact Euclidean distance transform of our own
// (separable lower-envelope-of-parabolas algorithm of Felzenszwalb & Huttenlocher, with anisotropic
// spacing), computed only inside the bounding box of both masks (all surface voxels lie there).
#include "gmd/engine/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "gmd/common/error.hpp"
#include "gmd/common/regions.hpp"

namespace gmd::engine {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

struct Box {
  int64_t lo[3]{0, 0, 0};
  int64_t hi[3]{-1, -1, -1};  // inclusive
  bool empty() const { return hi[0] < lo[0]; }
};

// Squared 1D distance transform along a line of n samples at positions i*s (values f, +inf = no feature).
// v, z: scratch of size n and n+1.
void dt1d(const double* f, double* d, int64_t n, double s, int64_t* v, double* z) {
  int64_t k = -1;
  for (int64_t q = 0; q < n; ++q) {
    if (f[q] == kInf) continue;
    const double pq = static_cast<double>(q) * s;
    double x = -kInf;
    while (k >= 0) {
      const double pr = static_cast<double>(v[k]) * s;
      x = ((f[q] + pq * pq) - (f[v[k]] + pr * pr)) / (2.0 * (pq - pr));
      if (x <= z[k]) {
        --k;
      } else {
        break;
      }
    }
    if (k < 0) {
      k = 0;
      v[0] = q;
      z[0] = -kInf;
    } else {
      ++k;
      v[k] = q;
      z[k] = x;
    }
    z[k + 1] = kInf;
  }
  if (k < 0) {
    std::fill(d, d + n, kInf);
    return;
  }
  int64_t j = 0;
  for (int64_t q = 0; q < n; ++q) {
    const double pq = static_cast<double>(q) * s;
    while (z[j + 1] < pq) ++j;
    const double diff = pq - static_cast<double>(v[j]) * s;
    d[q] = diff * diff + f[v[j]];
  }
}

// In-place squared EDT of grid g (dims n[0..2] = z,y,x, row-major), spacing sp (z,y,x).
void edt3d(std::vector<double>& g, const int64_t n[3], const double sp[3]) {
  const int64_t nmax = std::max({n[0], n[1], n[2]});
  std::vector<double> f(static_cast<size_t>(nmax)), d(static_cast<size_t>(nmax)), z(static_cast<size_t>(nmax) + 1);
  std::vector<int64_t> v(static_cast<size_t>(nmax));
  const int64_t strides[3] = {n[1] * n[2], n[2], 1};
  for (int axis = 2; axis >= 0; --axis) {
    const int64_t len = n[axis], st = strides[axis];
    const int a1 = (axis + 1) % 3, a2 = (axis + 2) % 3;
    for (int64_t i = 0; i < n[a1]; ++i) {
      for (int64_t j = 0; j < n[a2]; ++j) {
        const int64_t base = i * strides[a1] + j * strides[a2];
        bool any = false;
        for (int64_t q = 0; q < len; ++q) {
          f[q] = g[static_cast<size_t>(base + q * st)];
          any = any || f[q] != kInf;
        }
        if (!any) continue;
        dt1d(f.data(), d.data(), len, sp[axis], v.data(), z.data());
        for (int64_t q = 0; q < len; ++q) g[static_cast<size_t>(base + q * st)] = d[q];
      }
    }
  }
}

// Surface voxels of mask m (full volume dims) restricted to box b, as a box-local 0/1 grid.
std::vector<std::uint8_t> surface_in_box(const std::uint8_t* m, const std::array<int64_t, 3>& dims, const Box& b,
                                         int64_t& count) {
  const int64_t bz = b.hi[0] - b.lo[0] + 1, by = b.hi[1] - b.lo[1] + 1, bx = b.hi[2] - b.lo[2] + 1;
  std::vector<std::uint8_t> out(static_cast<size_t>(bz * by * bx), 0);
  const int64_t D = dims[0], H = dims[1], W = dims[2];
  auto at = [&](int64_t z, int64_t y, int64_t x) -> bool {
    if (z < 0 || y < 0 || x < 0 || z >= D || y >= H || x >= W) return false;
    return m[(z * H + y) * W + x] != 0;
  };
  count = 0;
  for (int64_t z = b.lo[0]; z <= b.hi[0]; ++z)
    for (int64_t y = b.lo[1]; y <= b.hi[1]; ++y)
      for (int64_t x = b.lo[2]; x <= b.hi[2]; ++x) {
        if (m[(z * H + y) * W + x] == 0) continue;
        const bool interior = at(z - 1, y, x) && at(z + 1, y, x) && at(z, y - 1, x) && at(z, y + 1, x) &&
                              at(z, y, x - 1) && at(z, y, x + 1);
        if (!interior) {
          out[static_cast<size_t>(((z - b.lo[0]) * by + (y - b.lo[1])) * bx + (x - b.lo[2]))] = 1;
          ++count;
        }
      }
  return out;
}

// Linear-interpolated percentile (numpy's default), q in [0,100]. Reorders `a`.
double percentile(std::vector<double>& a, double q) {
  if (a.empty()) return 0.0;
  const double h = (q / 100.0) * static_cast<double>(a.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(h));
  std::nth_element(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(lo), a.end());
  const double vlo = a[lo];
  if (lo + 1 >= a.size()) return vlo;
  const double vhi = *std::min_element(a.begin() + static_cast<std::ptrdiff_t>(lo) + 1, a.end());
  return vlo + (h - static_cast<double>(lo)) * (vhi - vlo);
}
}  // namespace

double dice(const std::uint8_t* pred, const std::uint8_t* truth, std::size_t n) {
  std::size_t np = 0, nt = 0, inter = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const bool p = pred[i] != 0, t = truth[i] != 0;
    np += p;
    nt += t;
    inter += (p && t);
  }
  if (np + nt == 0) return 1.0;
  return 2.0 * static_cast<double>(inter) / static_cast<double>(np + nt);
}

double hd95(const std::uint8_t* pred, const std::uint8_t* truth, const std::array<int64_t, 3>& dims,
            const std::array<double, 3>& spacing) {
  for (int a = 0; a < 3; ++a) {
    if (dims[a] <= 0) throw InputError("hd95: non-positive volume dimension");
    if (!(spacing[a] > 0)) throw InputError("hd95: non-positive voxel spacing");
  }
  const int64_t D = dims[0], H = dims[1], W = dims[2];
  Box bp, bt;
  bool any_p = false, any_t = false;
  for (int64_t z = 0; z < D; ++z)
    for (int64_t y = 0; y < H; ++y) {
      const int64_t row = (z * H + y) * W;
      for (int64_t x = 0; x < W; ++x) {
        const int64_t c[3] = {z, y, x};
        if (pred[row + x]) {
          for (int a = 0; a < 3; ++a) {
            bp.lo[a] = any_p ? std::min(bp.lo[a], c[a]) : c[a];
            bp.hi[a] = any_p ? std::max(bp.hi[a], c[a]) : c[a];
          }
          any_p = true;
        }
        if (truth[row + x]) {
          for (int a = 0; a < 3; ++a) {
            bt.lo[a] = any_t ? std::min(bt.lo[a], c[a]) : c[a];
            bt.hi[a] = any_t ? std::max(bt.hi[a], c[a]) : c[a];
          }
          any_t = true;
        }
      }
    }
  if (!any_p && !any_t) return 0.0;
  if (any_p != any_t) {
    double diag = 0;
    for (int a = 0; a < 3; ++a) diag += std::pow(static_cast<double>(dims[a]) * spacing[a], 2);
    return std::sqrt(diag);
  }
  Box b;
  for (int a = 0; a < 3; ++a) {
    b.lo[a] = std::min(bp.lo[a], bt.lo[a]);
    b.hi[a] = std::max(bp.hi[a], bt.hi[a]);
  }
  const int64_t n[3] = {b.hi[0] - b.lo[0] + 1, b.hi[1] - b.lo[1] + 1, b.hi[2] - b.lo[2] + 1};
  const double sp[3] = {spacing[0], spacing[1], spacing[2]};
  int64_t cp = 0, ct = 0;
  const std::vector<std::uint8_t> sp_pred = surface_in_box(pred, dims, b, cp);
  const std::vector<std::uint8_t> sp_true = surface_in_box(truth, dims, b, ct);

  std::vector<double> dist;
  dist.reserve(static_cast<size_t>(cp + ct));
  std::vector<double> g(sp_pred.size());
  // Distances from each prediction surface voxel to the truth surface, then the other way round.
  for (int dir = 0; dir < 2; ++dir) {
    const std::vector<std::uint8_t>& feat = dir == 0 ? sp_true : sp_pred;
    const std::vector<std::uint8_t>& query = dir == 0 ? sp_pred : sp_true;
    for (size_t i = 0; i < g.size(); ++i) g[i] = feat[i] ? 0.0 : kInf;
    edt3d(g, n, sp);
    for (size_t i = 0; i < g.size(); ++i)
      if (query[i]) dist.push_back(std::sqrt(g[i]));
  }
  return percentile(dist, 95.0);
}

RegionScores score_labels(const std::vector<std::uint8_t>& pred, const std::vector<std::uint8_t>& truth,
                          const std::array<int64_t, 3>& dims, const std::array<double, 3>& spacing) {
  const int64_t n = dims[0] * dims[1] * dims[2];
  if (n <= 0 || static_cast<int64_t>(pred.size()) != n || static_cast<int64_t>(truth.size()) != n)
    throw InputError("score_labels: prediction (" + std::to_string(pred.size()) + " voxels) and truth (" +
                     std::to_string(truth.size()) + " voxels) do not match the dimensions");
  // Regions: WT = {1,2,4}, TC = {1,4}, ET = {4}; label 3 is read as ET (BraTS 2023).
  RegionScores s;
  std::vector<std::uint8_t> p(static_cast<size_t>(n)), t(static_cast<size_t>(n));
  for (int r = 0; r < 3; ++r) {
    int64_t np = 0, nt = 0;
    for (int64_t i = 0; i < n; ++i) {
      p[static_cast<size_t>(i)] = label_in_region(pred[static_cast<size_t>(i)], r);
      t[static_cast<size_t>(i)] = label_in_region(truth[static_cast<size_t>(i)], r);
      np += p[static_cast<size_t>(i)];
      nt += t[static_cast<size_t>(i)];
    }
    s.pred_voxels[r] = np;
    s.true_voxels[r] = nt;
    s.dice[r] = dice(p.data(), t.data(), p.size());
    s.hd95[r] = hd95(p.data(), t.data(), dims, spacing);
  }
  return s;
}

}  // namespace gmd::engine
