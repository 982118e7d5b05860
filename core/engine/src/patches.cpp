// Training patches: class-balanced centres, flips, intensity jitter; pure in (seed, step).
#include "gmd/engine/patches.hpp"

#include <algorithm>

#include "gmd/engine/random.hpp"

namespace gmd::engine {
using torch::indexing::Slice;

PatchSampler::PatchSampler(const TrainConfig& cfg, const std::vector<Sample>& set) : cfg_(cfg), set_(set) {
  prepare();
}

void PatchSampler::prepare() {
  if (class_voxels_.size() == set_.size()) return;
  class_voxels_.assign(set_.size(), {});
  for (size_t i = 0; i < set_.size(); ++i) {
    const torch::Tensor t = set_[i].target.to(torch::kCPU) != 0;  // (3,D,H,W): WT, TC, ET
    const torch::Tensor wt = t[0].reshape({-1}), tc = t[1].reshape({-1}), et = t[2].reshape({-1});
    class_voxels_[i][0] = torch::nonzero(tc & ~et).reshape({-1});  // NCR
    class_voxels_[i][1] = torch::nonzero(wt & ~tc).reshape({-1});  // ED
    class_voxels_[i][2] = torch::nonzero(et).reshape({-1});        // ET
  }
}

Batch PatchSampler::draw(int64_t step, int rank, int world) const {
  if (world < 1 || rank < 0 || rank >= world || cfg_.batch % world != 0)
    throw std::invalid_argument("patch sampler: batch " + std::to_string(cfg_.batch) + " cannot be split over " +
                                std::to_string(world) + " ranks (rank " + std::to_string(rank) + ")");
  auto rng = step_rng(cfg_.seed, step, kTagBatch);
  const int64_t mult = cfg_.net.multiple();
  std::vector<size_t> items;
  for (int64_t b = 0; b < cfg_.batch; ++b)
    items.push_back(static_cast<size_t>(uniform_int(rng, 0, static_cast<int64_t>(set_.size()) - 1)));
  // A batch trains on the modalities all its cases share.
  SubsetMask avail = kFullMask & cfg_.net.modalities;
  for (size_t i : items) avail &= set_[i].present;
  if (avail == 0) {
    items.resize(1);
    avail = static_cast<SubsetMask>(set_[items[0]].present & cfg_.net.modalities);
  }
  std::array<int64_t, 3> p{};
  for (int a = 0; a < 3; ++a) {
    p[a] = cfg_.patch;
    for (size_t i : items) {
      const int64_t dim = set_[i].image.size(a + 1);
      p[a] = std::min(p[a], (dim + mult - 1) / mult * mult);
    }
  }
  // This rank's share of the batch (all of it for one process; the whole one-case batch when it fell back to one).
  const size_t per = items.size() == 1 ? 1 : items.size() / static_cast<size_t>(world);
  const size_t first = items.size() == 1 ? 0 : per * static_cast<size_t>(rank);
  Batch out;
  out.available = avail;
  std::vector<torch::Tensor> imgs, tgts;
  for (size_t b = 0; b < items.size(); ++b) {
    const size_t i = items[b];
    const CropDraw d = draw_crop(set_[i], rng);  // drawn for every item: the sequence is the same on every rank
    if (b < first || b >= first + per) continue;
    PatchClass cls = PatchClass::Random;
    std::array<int64_t, 3> centre{};
    auto [img, tgt] = crop(i, p, avail, d, cls, centre);
    imgs.push_back(img);
    tgts.push_back(tgt);
    out.ids.push_back(set_[i].id);
    out.centre_class.push_back(cls);
    out.centre.push_back(centre);
  }
  out.image = torch::stack(imgs);
  out.target = torch::stack(tgts);
  return out;
}

PatchSampler::CropDraw PatchSampler::draw_crop(const Sample& s, std::mt19937_64& rng) {
  // Every random number unconditionally, in a fixed order (the sequence never depends on the data).
  CropDraw d;
  d.u_fg = uniform01(rng);
  d.u_cls = uniform01(rng);
  d.u_vox = uniform01(rng);
  for (int a = 0; a < 3; ++a) d.centre[static_cast<size_t>(a)] = uniform_int(rng, 0, s.image.size(a + 1) - 1);
  for (bool& f : d.flip) f = uniform01(rng) < 0.5;
  for (size_t m = 0; m < static_cast<size_t>(kNumModalities); ++m) {
    d.scale[m] = uniform_real(rng, 0.9, 1.1);
    d.shift[m] = uniform_real(rng, -0.1, 0.1);
  }
  return d;
}

std::pair<torch::Tensor, torch::Tensor> PatchSampler::crop(size_t i, const std::array<int64_t, 3>& p,
                                                           SubsetMask avail, const CropDraw& d, PatchClass& cls,
                                                           std::array<int64_t, 3>& centre) const {
  const Sample& s = set_[i];
  const int64_t dims[3] = {s.image.size(1), s.image.size(2), s.image.size(3)};
  const double u_cls = d.u_cls, u_vox = d.u_vox;
  int64_t c[3] = {d.centre[0], d.centre[1], d.centre[2]};
  const auto& flip = d.flip;
  const auto& scale = d.scale;
  const auto& shift = d.shift;
  cls = PatchClass::Random;
  if (d.u_fg < cfg_.fg_prob) {
    std::vector<int> present;
    for (int k = 0; k < 3; ++k)
      if (class_voxels_[i][static_cast<size_t>(k)].numel() > 0) present.push_back(k);
    if (!present.empty()) {
      const auto pick = std::min<size_t>(present.size() - 1, static_cast<size_t>(u_cls * double(present.size())));
      const int k = present[pick];
      const torch::Tensor& vox = class_voxels_[i][static_cast<size_t>(k)];
      const auto idx = std::min<int64_t>(vox.numel() - 1, static_cast<int64_t>(u_vox * static_cast<double>(vox.numel())));
      int64_t flat = vox[idx].item<int64_t>();
      c[2] = flat % dims[2];
      flat /= dims[2];
      c[1] = flat % dims[1];
      c[0] = flat / dims[1];
      cls = static_cast<PatchClass>(k);
    }
  }
  centre = {c[0], c[1], c[2]};
  int64_t st[3], en[3];
  for (int a = 0; a < 3; ++a) {
    st[a] = std::clamp<int64_t>(c[a] - p[a] / 2, 0, std::max<int64_t>(0, dims[a] - p[a]));
    en[a] = std::min(dims[a], st[a] + p[a]);
  }
  const auto idx = std::vector<torch::indexing::TensorIndex>{Slice(), Slice(st[0], en[0]), Slice(st[1], en[1]),
                                                             Slice(st[2], en[2])};
  torch::Tensor img = s.image.index(idx).to(torch::kCPU, torch::kFloat).clone();
  torch::Tensor tgt = s.target.index(idx).to(torch::kCPU, torch::kFloat);
  if (en[0] - st[0] < p[0] || en[1] - st[1] < p[1] || en[2] - st[2] < p[2]) {
    const std::vector<int64_t> pad{0, p[2] - (en[2] - st[2]), 0, p[1] - (en[1] - st[1]), 0, p[0] - (en[0] - st[0])};
    img = torch::constant_pad_nd(img, pad, 0.0);
    tgt = torch::constant_pad_nd(tgt, pad, 0.0);
  }
  for (int m = 0; m < kNumModalities; ++m) {
    if (!subset_has(avail, m)) {
      img[m].zero_();
      continue;
    }
    torch::Tensor ch = img[m];
    // Intensity jitter inside the brain only (the background stays exactly 0, as at inference).
    ch.copy_(torch::where(ch != 0, ch * scale[static_cast<size_t>(m)] + shift[static_cast<size_t>(m)], ch));
  }
  std::vector<int64_t> fdims;
  for (int a = 0; a < 3; ++a)
    if (flip[static_cast<size_t>(a)]) fdims.push_back(a + 1);
  if (!fdims.empty()) {
    img = img.flip(fdims);
    tgt = tgt.flip(fdims);
  }
  return {img.contiguous(), tgt.contiguous()};
}

}  // namespace gmd::engine
