// The synthetic case generator: anatomy warp, tumour, contrasts, bias, noise.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "gmd/common/error.hpp"
#include "gmd/synth/anatomy.hpp"
#include "gmd/synth/noise.hpp"
#include "gmd/synth/rng.hpp"
#include "gmd/synth/synth.hpp"
#include "gmd/synth/detail.hpp"

namespace gmd::synth {

using Vec3 = std::array<double, 3>;

std::string_view size_name(SynthSize s) {
  switch (s) {
    case SynthSize::Full: return "full";
    case SynthSize::Small: return "small";
    case SynthSize::Tiny: return "tiny";
  }
  return "full";
}

SynthSize parse_size(std::string_view s) {
  std::string l(s);
  for (auto& ch : l) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (l == "full") return SynthSize::Full;
  if (l == "small") return SynthSize::Small;
  if (l == "tiny") return SynthSize::Tiny;
  throw UsageError(fmt::format("unknown synthetic size '{}' (expected full, small or tiny)", s));
}

static double size_spacing(SynthSize s) {
  switch (s) {
    case SynthSize::Full: return 1.0;
    case SynthSize::Small: return 2.0;
    case SynthSize::Tiny: return 4.0;
  }
  return 1.0;
}

Geometry brats_geometry(SynthSize s) {
  const double sp = size_spacing(s);
  const int f = static_cast<int>(sp);
  Geometry g;
  g.size = {static_cast<std::size_t>(240 / f), static_cast<std::size_t>(240 / f),
            static_cast<std::size_t>((155 + f - 1) / f)};
  g.spacing = {sp, sp, sp};
  // The BraTS frame (LPS, identity direction, voxel 0 centred at (0, -239, 0) at 1 mm); coarser grids
  // cover the same box, their voxel 0 being the average of the first f^3 fine voxels.
  const double shift = (sp - 1.0) / 2.0;
  g.origin = {0.0 + shift, -239.0 + shift, 0.0 + shift};
  g.direction = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  return g;
}

std::filesystem::path default_template_path() {
  if (const char* env = std::getenv("GMD_SYNTH_TEMPLATE"); env && *env) return env;
  return "/usr/share/mricron/templates/ch2bet.nii.gz";
}

std::string case_name(std::uint64_t seed, int index) { return fmt::format("SYN_{}_{:03d}", seed, index); }

namespace detail {

void parallel_for(int threads, std::size_t n, const std::function<void(std::size_t)>& fn) {
  threads = std::max(1, std::min<int>(threads, static_cast<int>(n)));
  if (threads == 1) {
    for (std::size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::exception_ptr err;
  std::mutex err_mu;
  auto work = [&] {
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= n) return;
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(err_mu);
        if (!err) err = std::current_exception();
        next = n;
        return;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (err) std::rethrow_exception(err);
}

std::shared_ptr<const Anatomy> anatomy_for(const SynthOptions& o) {
  const double sp = brats_geometry(o.size).spacing[0];
  return Anatomy::load(o.template_path, sp > 1.0 ? 0.42 * sp : 0.0);
}

}  // namespace detail

namespace {

// ---------------------------------------------------------------------------------------------
// Small vector helpers
using Mat3 = std::array<double, 9>;
Vec3 mul(const Mat3& m, const Vec3& v) {
  return {m[0] * v[0] + m[1] * v[1] + m[2] * v[2], m[3] * v[0] + m[4] * v[1] + m[5] * v[2],
          m[6] * v[0] + m[7] * v[1] + m[8] * v[2]};
}
Mat3 mul(const Mat3& a, const Mat3& b) {
  Mat3 r{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) r[i * 3 + j] += a[i * 3 + k] * b[k * 3 + j];
  return r;
}
Mat3 transpose(const Mat3& a) { return {a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8]}; }
Mat3 rot_x(double t) { return {1, 0, 0, 0, std::cos(t), -std::sin(t), 0, std::sin(t), std::cos(t)}; }
Mat3 rot_y(double t) { return {std::cos(t), 0, std::sin(t), 0, 1, 0, -std::sin(t), 0, std::cos(t)}; }
Mat3 rot_z(double t) { return {std::cos(t), -std::sin(t), 0, std::sin(t), std::cos(t), 0, 0, 0, 1}; }
constexpr double kDeg = 3.14159265358979323846 / 180.0;

double clampd(double v, double lo, double hi) { return std::min(hi, std::max(lo, v)); }
float clampf(float v, float lo, float hi) { return std::min(hi, std::max(lo, v)); }
// Soft inside-ness of a level set: 0.5 on the surface, linear ramp of width w (mm).
float ramp(double signed_inside_mm, double w) {
  return static_cast<float>(clampd(0.5 + signed_inside_mm / w, 0.0, 1.0));
}
double truncated_normal(Rng& r, double sd, double lim) { return clampd(r.normal() * sd, -lim, lim); }

// Output brain centre in the BraTS frame (LPS mm): voxel (119.5, 119.5, 75) at 1 mm.
const Vec3 kOutCentre{119.5, -119.5, 75.0};
// Box (LPS mm) covering the BraTS frame, with a margin, for the smooth random fields.
const Vec3 kBoxLo{-20.5, -259.5, -20.5};
const Vec3 kBoxHi{259.5, 20.5, 174.5};

// Contrast of one modality, relative to its normal white matter (= 1).
struct Contrast {
  double csf, gm, wm;         // normal tissue
  double edema, et, nec, net;  // tumour compartments
  double scale;               // white-matter level in output units
  double noise;               // Rician sigma relative to white matter
  double texture;             // independent smooth texture amplitude
  std::array<double, 10> bias;  // quadratic log-bias coefficients
};

// Piecewise-linear intensity transfer through the tissue anchors of the template's T1 histogram.
struct Transfer {
  double mc, mg, mw;  // template means (CSF, GM, WM)
  float operator()(const Contrast& c, float v) const {
    if (v <= mc) return static_cast<float>(c.csf);
    if (v <= mg) return static_cast<float>(c.csf + (c.gm - c.csf) * (v - mc) / (mg - mc));
    if (v <= mw) return static_cast<float>(c.gm + (c.wm - c.gm) * (v - mg) / (mw - mg));
    const double slope = 0.5 * (c.wm - c.gm) / (mw - mg);
    return static_cast<float>(c.wm + slope * std::min(v - mw, mw - mg));
  }
};

struct CaseParams {
  // Anatomy transform: output p -> template q = cT + Ainv (p + u(p) - cO - t), then the ventricle pull.
  Mat3 a_inv{};
  Vec3 translation{};
  double deform_mm = 0;
  NoiseField ux, uy, uz;
  double ventricle_pull = 0, ventricle_len = 25;
  // Tumour
  TumourInfo info;
  Mat3 tumour_metric{};                // d = |E (p - c)|
  double axis_max = 1;                 // largest ellipsoid semi-axis factor
  double core_amp = 0.2, core_amp2 = 0.05, nec_amp = 0.2, ed_amp = 0.3, ed_amp2 = 0.15;
  double rim_mm = 3, enh_threshold = -10;  // enhancement where n_enh > threshold
  double mass_strength = 0, mass_len = 1;
  double ed_strength = 1;
  std::array<Contrast, 4> contrast{};
  double vessel_amp = 0.5, choroid_amp = 0.7;
};

Contrast draw_contrast(Rng& r, int m) {
  Contrast c{};
  auto j = [&](double v, double rel) { return v * r.uniform(1.0 - rel, 1.0 + rel); };
  switch (m) {
    case 0:  // FLAIR: CSF suppressed, GM a bit brighter than WM; all tumour compartments bright
      c.csf = j(0.30, 0.15), c.gm = j(1.22, 0.04), c.wm = 1.0;
      c.edema = j(1.75, 0.08), c.et = j(1.55, 0.08), c.nec = j(1.55, 0.10), c.net = j(1.80, 0.08);
      c.scale = r.uniform(250, 450);
      break;
    case 1:  // T1: WM > GM > CSF; tumour hypointense, necrosis darkest; ET not enhanced
      c.csf = j(0.28, 0.10), c.gm = j(0.72, 0.04), c.wm = 1.0;
      c.edema = j(0.84, 0.04), c.et = j(0.80, 0.05), c.nec = j(0.42, 0.12), c.net = j(0.68, 0.06);
      c.scale = r.uniform(400, 700);
      break;
    case 2:  // T1ce: as T1, ET strongly enhanced
      c.csf = j(0.30, 0.10), c.gm = j(0.75, 0.04), c.wm = 1.0;
      c.edema = j(0.86, 0.04), c.et = r.uniform(1.65, 2.2), c.nec = j(0.42, 0.12), c.net = j(0.70, 0.06);
      c.scale = r.uniform(450, 800);
      break;
    default:  // T2: CSF bright, GM > WM; edema and necrosis bright
      c.csf = j(2.6, 0.10), c.gm = j(1.45, 0.05), c.wm = 1.0;
      c.edema = j(2.25, 0.06), c.et = j(1.6, 0.08), c.nec = j(2.7, 0.06), c.net = j(2.1, 0.08);
      c.scale = r.uniform(300, 600);
      break;
  }
  c.noise = r.uniform(0.02, 0.045);
  c.texture = r.uniform(0.015, 0.03);
  // log-bias: 1 + 3 linear + 6 quadratic terms in coordinates normalised by 100 mm.
  c.bias[0] = 0;
  for (int k = 1; k < 4; ++k) c.bias[k] = truncated_normal(r, 0.10, 0.25);
  for (int k = 4; k < 10; ++k) c.bias[k] = truncated_normal(r, 0.06, 0.15);
  return c;
}

double log_bias(const Contrast& c, double x, double y, double z) {
  const auto& b = c.bias;
  return b[1] * x + b[2] * y + b[3] * z + b[4] * x * x + b[5] * y * y + b[6] * z * z + b[7] * x * y +
         b[8] * y * z + b[9] * x * z;
}

struct Generator {
  const SynthOptions& opt;
  int index;
  std::uint64_t case_seed;
  Geometry geom;
  std::shared_ptr<const Anatomy> anat;
  std::vector<double> xs, ys, zs;
  CaseParams P;
  Transfer tf{};

  Generator(const SynthOptions& o, int idx) : opt(o), index(idx) {
    case_seed = derive_seed(o.seed, static_cast<std::uint64_t>(idx), 0xCA5E);
    geom = brats_geometry(o.size);
    const double sp = geom.spacing[0];
    anat = detail::anatomy_for(o);
    xs.resize(geom.size[0]);
    ys.resize(geom.size[1]);
    zs.resize(geom.size[2]);
    for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = geom.origin[0] + sp * i;
    for (std::size_t i = 0; i < ys.size(); ++i) ys[i] = geom.origin[1] + sp * i;
    for (std::size_t i = 0; i < zs.size(); ++i) zs[i] = geom.origin[2] + sp * i;
    tf = Transfer{anat->tissue.mean[kCSF], anat->tissue.mean[kGM], anat->tissue.mean[kWM]};
  }

  // Output point -> template point (without mass effect; `u` is the displacement at p).
  Vec3 to_template(const Vec3& p, const Vec3& u) const {
    const Vec3 d{p[0] + u[0] - kOutCentre[0] - P.translation[0], p[1] + u[1] - kOutCentre[1] - P.translation[1],
                 p[2] + u[2] - kOutCentre[2] - P.translation[2]};
    const Vec3 q = mul(P.a_inv, d);
    const Vec3& vc = anat->ventricle_centre;
    const Vec3& bc = anat->brain_centre;
    // q is relative to the brain centre; the pull acts around the ventricle centre.
    const Vec3 rel{q[0] + bc[0] - vc[0], q[1] + bc[1] - vc[1], q[2] + bc[2] - vc[2]};
    const double rv2 = rel[0] * rel[0] + rel[1] * rel[1] + rel[2] * rel[2];
    const double fv = 1.0 - P.ventricle_pull * std::exp(-rv2 / (P.ventricle_len * P.ventricle_len));
    return {vc[0] + rel[0] * fv, vc[1] + rel[1] * fv, vc[2] + rel[2] * fv};
  }

  Vec3 displacement_at(const Vec3& p) const {
    return {P.deform_mm * P.ux.at(p[0], p[1], p[2]), P.deform_mm * P.uy.at(p[0], p[1], p[2]),
            P.deform_mm * P.uz.at(p[0], p[1], p[2])};
  }

  void draw_anatomy(Rng& r) {
    const double rx = truncated_normal(r, 4.0, 8.0) * kDeg;  // pitch
    const double ry = truncated_normal(r, 2.0, 4.0) * kDeg;  // roll
    const double rz = truncated_normal(r, 2.5, 5.0) * kDeg;  // yaw
    const Mat3 R = mul(rot_z(rz), mul(rot_y(ry), rot_x(rx)));
    // Colin27 (MNI) is larger than the SRI24 brains of BraTS: scale about 0.92 +- 5 %, +-3 % per axis.
    const double s = 0.92 * r.uniform(0.95, 1.05);
    Vec3 sc{s * r.uniform(0.97, 1.03), s * r.uniform(0.97, 1.03), s * r.uniform(0.97, 1.03)};
    sc[2] = std::min(sc[2], 0.95);  // keep the whole brain inside the 155 mm field of view
    const Mat3 Sinv{1.0 / sc[0], 0, 0, 0, 1.0 / sc[1], 0, 0, 0, 1.0 / sc[2]};
    P.a_inv = mul(transpose(R), Sinv);
    P.translation = {r.uniform(-4, 4), r.uniform(-5, 5), r.uniform(-3, 3)};
    P.deform_mm = r.uniform(2.0, 4.0);
    const double cell = r.uniform(18.0, 26.0);
    P.ux = NoiseField(r, kBoxLo, kBoxHi, cell);
    P.uy = NoiseField(r, kBoxLo, kBoxHi, cell);
    P.uz = NoiseField(r, kBoxLo, kBoxHi, cell);
    P.ventricle_pull = r.uniform(-0.12, 0.30);
    P.ventricle_len = r.uniform(18.0, 28.0);
  }

  void draw_tumour(Rng& r) {
    TumourInfo& t = P.info;
    t.hgg = opt.grade == TumourGrade::HGG ? true : opt.grade == TumourGrade::LGG ? false : r.bernoulli(0.7);
    if (t.hgg) {
      t.core_radius_mm = r.uniform(9.0, 22.0);
      t.has_necrosis = r.bernoulli(0.8);
      t.has_enhancement = true;
      t.necrosis_radius_mm = t.core_radius_mm * r.uniform(0.45, 0.8);
      t.edema_radius_mm = t.core_radius_mm + r.uniform(10.0, 32.0);
      P.rim_mm = r.uniform(2.0, 5.0);
      // Mostly a closed ring; sometimes patchy enhancement (non-enhancing parts are label 1).
      t.patchy_enhancement = r.bernoulli(0.3);
      P.enh_threshold = t.patchy_enhancement ? r.uniform(-0.6, 0.2) : -10.0;
    } else {
      t.core_radius_mm = r.uniform(10.0, 25.0);
      t.has_necrosis = r.bernoulli(0.3);
      t.has_enhancement = false;
      t.necrosis_radius_mm = t.core_radius_mm * r.uniform(0.3, 0.6);
      t.edema_radius_mm = t.core_radius_mm + r.uniform(3.0, 14.0);
      P.rim_mm = r.uniform(3.0, 6.0);
      P.enh_threshold = 10.0;
    }
    if (!t.has_necrosis) t.necrosis_radius_mm = 0;
    P.core_amp = r.uniform(0.15, 0.32);
    P.core_amp2 = r.uniform(0.04, 0.10);
    P.nec_amp = r.uniform(0.10, 0.25);
    P.ed_amp = r.uniform(0.20, 0.35);
    P.ed_amp2 = r.uniform(0.08, 0.18);
    P.ed_strength = r.uniform(0.85, 1.0);
    // Ellipsoid: semi-axis factors and a random rotation (from three uniform angles).
    const Vec3 ax{r.uniform(0.8, 1.25), r.uniform(0.8, 1.25), r.uniform(0.8, 1.25)};
    P.axis_max = std::max(ax[0], std::max(ax[1], ax[2]));
    const Mat3 Rt = mul(rot_z(r.uniform(0, 360) * kDeg), mul(rot_y(r.uniform(0, 360) * kDeg),
                                                          rot_x(r.uniform(0, 360) * kDeg)));
    const Mat3 Ainv{1.0 / ax[0], 0, 0, 0, 1.0 / ax[1], 0, 0, 0, 1.0 / ax[2]};
    P.tumour_metric = mul(Ainv, transpose(Rt));
    t.mass_effect = r.bernoulli(t.hgg ? 0.7 : 0.4);
    P.mass_strength = t.mass_effect ? r.uniform(0.12, 0.4) : 0.0;
    P.mass_len = t.core_radius_mm * 1.2 + 6.0;

    // Centre: mostly in white matter, supratentorial, not too close to the surface.
    Rng rc(derive_seed(case_seed, 0x7C));
    const bool want_wm = r.bernoulli(0.85);
    Vec3 best = kOutCentre;
    double best_score = -1e9;
    for (int attempt = 0; attempt < 4000; ++attempt) {
      const Vec3 p{kOutCentre[0] + rc.uniform(-60, 60), kOutCentre[1] + rc.uniform(-75, 75),
                   kOutCentre[2] + rc.uniform(-30, 60)};
      const Vec3 q = to_template(p, displacement_at(p));
      float v, dist;
      anat->sample(q, v, dist);
      if (v <= 0) continue;
      const auto& post = anat->posterior(v);
      const double need = std::min(0.5 * t.core_radius_mm + 5.0, 18.0);
      // Supratentorial: above the tentorium (template z, MNI, > -12 mm) and not in the midline.
      double score = (want_wm ? post[kWM] : post[kWM] + post[kGM]) + 0.02 * std::min(dist - need, 0.0) +
                     (q[2] > -12.0 ? 0.0 : -0.5) + (std::abs(q[0] - anat->brain_centre[0]) > 6 ? 0.0 : -0.3);
      if (dist < need) score -= 1.0;
      if (score > best_score) {
        best_score = score;
        best = p;
      }
      if (score >= 0.8 && attempt > 0) break;
    }
    t.centre_mm = best;
  }

  SynthResult run() {
    Rng r(case_seed);
    draw_anatomy(r);
    draw_tumour(r);
    for (int m = 0; m < 4; ++m) P.contrast[m] = draw_contrast(r, m);
    P.vessel_amp = r.uniform(0.6, 1.0);
    P.choroid_amp = r.uniform(0.5, 1.0);
    // Fields used in the composition (all drawn here, in a fixed order).
    std::array<NoiseField, 4> tex;
    for (auto& f : tex) f = NoiseField(r, kBoxLo, kBoxHi, 3.0);
    NoiseField vessel(r, kBoxLo, kBoxHi, 7.0), vessel_patch(r, kBoxLo, kBoxHi, 14.0),
        choroid(r, kBoxLo, kBoxHi, 4.0);

    const std::size_t nx = geom.size[0], ny = geom.size[1], nz = geom.size[2], nxy = nx * ny;
    const std::size_t nvox = geom.voxel_count();
    const double sp = geom.spacing[0];
    const int threads = std::max(1, opt.threads);

    // ---- 1. Anatomy warp: template intensity and surface distance at every output voxel.
    std::vector<float> t1v(nvox), distv(nvox);
    {
      const auto sx = P.ux.prepare(xs, ys, zs), sy = P.uy.prepare(xs, ys, zs), sz = P.uz.prepare(xs, ys, zs);
      const Vec3 c = P.info.centre_mm;
      const double ml2 = P.mass_len * P.mass_len;
      detail::parallel_for(threads, nz, [&](std::size_t iz) {
        std::vector<float> dx(nxy), dy(nxy), dz(nxy);
        sx.slice(iz, dx.data(), static_cast<float>(P.deform_mm));
        sy.slice(iz, dy.data(), static_cast<float>(P.deform_mm));
        sz.slice(iz, dz.data(), static_cast<float>(P.deform_mm));
        for (std::size_t iy = 0; iy < ny; ++iy)
          for (std::size_t ix = 0; ix < nx; ++ix) {
            const std::size_t k = iy * nx + ix;
            Vec3 p{xs[ix], ys[iy], zs[iz]};
            if (P.mass_strength > 0) {
              const Vec3 d{p[0] - c[0], p[1] - c[1], p[2] - c[2]};
              const double r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
              if (r2 < 9.0 * ml2) {
                const double f = 1.0 - P.mass_strength * std::exp(-r2 / ml2);
                p = {c[0] + d[0] * f, c[1] + d[1] * f, c[2] + d[2] * f};
              }
            }
            const Vec3 q = to_template(p, {dx[k], dy[k], dz[k]});
            anat->sample(q, t1v[iz * nxy + k], distv[iz * nxy + k]);
          }
      });
    }
    const float mask_thr = static_cast<float>(0.12 * anat->tissue.mean[kWM]);

    // ---- 2. Tumour: labels and soft memberships inside the tumour's bounding box.
    LabelMap seg;
    seg.geom = geom;
    seg.voxels.assign(nvox, 0);
    const TumourInfo& T = P.info;
    // Noise fields have about unit spread: 3.5 sigma bounds every surface.
    const double extent = std::max(T.edema_radius_mm * (1.0 + 3.5 * (P.ed_amp + P.ed_amp2)),
                                   T.core_radius_mm * (1.0 + 3.5 * (P.core_amp + P.core_amp2))) *
                              P.axis_max +
                          3.0;
    std::array<std::size_t, 3> lo{}, hi{};
    for (int a = 0; a < 3; ++a) {
      const double o = geom.origin[a];
      const double l = std::floor((T.centre_mm[a] - extent - o) / sp);
      const double h = std::ceil((T.centre_mm[a] + extent - o) / sp);
      lo[a] = static_cast<std::size_t>(clampd(l, 0, geom.size[a] - 1));
      hi[a] = static_cast<std::size_t>(clampd(h, 0, geom.size[a] - 1)) + 1;
    }
    const std::size_t bx = hi[0] - lo[0], by = hi[1] - lo[1], bz = hi[2] - lo[2], bxy = bx * by;
    std::vector<float> a_ed(bx * by * bz), a_edv(a_ed.size()), a_core(a_ed.size()), a_nec(a_ed.size()), a_enh(a_ed.size()),
        ttex(a_ed.size()), tvar(a_ed.size());
    {
      Rng rt(derive_seed(case_seed, 0x7E));
      const Vec3 blo{T.centre_mm[0] - extent, T.centre_mm[1] - extent, T.centre_mm[2] - extent};
      const Vec3 bhi{T.centre_mm[0] + extent, T.centre_mm[1] + extent, T.centre_mm[2] + extent};
      NoiseField n_core(rt, blo, bhi, std::max(5.0, 0.6 * T.core_radius_mm));
      NoiseField n_core2(rt, blo, bhi, 4.0);
      NoiseField n_nec(rt, blo, bhi, std::max(4.0, 0.6 * std::max(T.necrosis_radius_mm, 5.0)));
      NoiseField n_rim(rt, blo, bhi, 6.0);
      NoiseField n_enh(rt, blo, bhi, 9.0);
      NoiseField n_ed1(rt, blo, bhi, std::max(8.0, 0.5 * T.edema_radius_mm));
      NoiseField n_ed2(rt, blo, bhi, 5.0);
      NoiseField n_tex(rt, blo, bhi, 2.5);
      const std::vector<double> bxs(xs.begin() + lo[0], xs.begin() + hi[0]),
          bys(ys.begin() + lo[1], ys.begin() + hi[1]), bzs(zs.begin() + lo[2], zs.begin() + hi[2]);
      const auto s_core = n_core.prepare(bxs, bys, bzs), s_core2 = n_core2.prepare(bxs, bys, bzs),
                 s_nec = n_nec.prepare(bxs, bys, bzs),
                 s_rim = n_rim.prepare(bxs, bys, bzs), s_enh = n_enh.prepare(bxs, bys, bzs),
                 s_ed1 = n_ed1.prepare(bxs, bys, bzs), s_ed2 = n_ed2.prepare(bxs, bys, bzs),
                 s_tex = n_tex.prepare(bxs, bys, bzs);
      const double w_core = std::max(1.0, 0.8 * sp), w_nec = std::max(1.2, 0.8 * sp),
                   w_ed = std::max(2.0, 0.8 * sp), w_edv = std::max(6.0, 1.5 * sp), w_enh = 0.5;
      const Vec3 c = T.centre_mm;
      detail::parallel_for(threads, bz, [&](std::size_t kz) {
        std::vector<float> v_core(bxy), v_core2(bxy), v_nec(bxy), v_rim(bxy), v_enh(bxy), v_ed1(bxy), v_ed2(bxy);
        s_core.slice(kz, v_core.data());
        s_core2.slice(kz, v_core2.data());
        s_nec.slice(kz, v_nec.data());
        s_rim.slice(kz, v_rim.data());
        s_enh.slice(kz, v_enh.data());
        s_ed1.slice(kz, v_ed1.data());
        s_ed2.slice(kz, v_ed2.data());
        s_tex.slice(kz, &ttex[kz * bxy]);
        const std::size_t iz = lo[2] + kz;
        for (std::size_t ky = 0; ky < by; ++ky)
          for (std::size_t kx = 0; kx < bx; ++kx) {
            const std::size_t k = ky * bx + kx, b = kz * bxy + k;
            const std::size_t g = geom.index(lo[0] + kx, lo[1] + ky, iz);
            if (t1v[g] < mask_thr) continue;
            const Vec3 d0{xs[lo[0] + kx] - c[0], ys[lo[1] + ky] - c[1], zs[iz] - c[2]};
            const Vec3 e = mul(P.tumour_metric, d0);
            const double d = std::sqrt(e[0] * e[0] + e[1] * e[1] + e[2] * e[2]);
            const double r_core = T.core_radius_mm * (1.0 + P.core_amp * v_core[k] + P.core_amp2 * v_core2[k]);
            const float core = ramp(r_core - d, w_core);
            float nec = 0;
            if (T.has_necrosis) {
              const double rim = std::max(1.5, P.rim_mm * (1.0 + 0.4 * v_rim[k]));
              const double r_nec = std::min(T.necrosis_radius_mm * (1.0 + P.nec_amp * v_nec[k]), r_core - rim);
              nec = ramp(r_nec - d, w_nec);
            }
            const auto& post = anat->posterior(t1v[g]);
            // Edema spreads along white matter, less into cortex, hardly into CSF.
            const double tissue_gain = (0.55 + 0.45 * post[kWM]) * (1.0 - 0.85 * post[kCSF]);
            const double r_ed =
                T.edema_radius_mm * (1.0 + P.ed_amp * v_ed1[k] + P.ed_amp2 * v_ed2[k]) * tissue_gain;
            const float ed = std::max(ramp(r_ed - d, w_ed), core);
            // Visible edema signal: a wider ramp (half intensity on the label surface), fading outwards.
            const double fade = 1.0 - 0.3 * clampd((d - T.core_radius_mm) /
                                                       std::max(1.0, T.edema_radius_mm - T.core_radius_mm), 0.0, 1.0);
            a_edv[b] = std::max(static_cast<float>(ramp(r_ed - d, w_edv) * fade), core);
            const float enh = T.has_enhancement ? ramp(v_enh[k] - P.enh_threshold, w_enh) : 0.0f;
            a_core[b] = core;
            a_nec[b] = nec;
            a_ed[b] = ed;
            a_enh[b] = enh;
            tvar[b] = v_enh[k];
            std::uint8_t label = 0;
            if (core >= 0.5f)
              label = (nec >= 0.5f || enh < 0.5f) ? 1 : 4;
            else if (ed >= 0.5f)
              label = 2;
            seg.voxels[g] = label;
          }
      });
    }

    // ---- 3. Contrasts, tumour, bias, noise, scaling.
    SynthResult out;
    out.tumour = T;
    io::Case& cs = out.c;
    cs.id = case_name(opt.seed, index);
    cs.geom = geom;
    cs.files.id = cs.id;
    for (int m = 0; m < 4; ++m) {
      cs.images[m].emplace();
      cs.images[m]->geom = geom;
      cs.images[m]->voxels.assign(nvox, 0.0f);
    }
    out.tissue.geom = geom;
    out.tissue.voxels.assign(nvox, 0);
    {
      std::array<NoiseField::Slicer, 4> stex;
      for (int m = 0; m < 4; ++m) stex[m] = tex[m].prepare(xs, ys, zs);
      const auto sves = vessel.prepare(xs, ys, zs), spatch = vessel_patch.prepare(xs, ys, zs),
                 schor = choroid.prepare(xs, ys, zs);
      detail::parallel_for(threads, nz, [&](std::size_t iz) {
        std::array<std::vector<float>, 4> vt;
        for (int m = 0; m < 4; ++m) {
          vt[m].resize(nxy);
          stex[m].slice(iz, vt[m].data());
        }
        std::vector<float> vv(nxy), vp(nxy), vc(nxy);
        sves.slice(iz, vv.data());
        spatch.slice(iz, vp.data());
        schor.slice(iz, vc.data());
        std::array<Rng, 4> noise{Rng(derive_seed(case_seed, 0x100, iz)), Rng(derive_seed(case_seed, 0x101, iz)),
                                 Rng(derive_seed(case_seed, 0x102, iz)), Rng(derive_seed(case_seed, 0x103, iz))};
        const bool in_bz = iz >= lo[2] && iz < hi[2];
        for (std::size_t iy = 0; iy < ny; ++iy)
          for (std::size_t ix = 0; ix < nx; ++ix) {
            const std::size_t k = iy * nx + ix, g = iz * nxy + k;
            const float v = t1v[g];
            if (v < mask_thr) continue;
            const auto& post = anat->posterior(v);
            const float dsurf = distv[g];
            // Tumour memberships (0 outside the box).
            float edv = 0, core = 0, nec = 0, enh = 0, tt = 0, tv = 0;
            if (in_bz && ix >= lo[0] && ix < hi[0] && iy >= lo[1] && iy < hi[1]) {
              const std::size_t b = ((iz - lo[2]) * by + (iy - lo[1])) * bx + (ix - lo[0]);
              edv = a_edv[b], core = a_core[b], nec = a_nec[b], enh = a_enh[b], tt = ttex[b], tv = tvar[b];
            }
            if (edv <= 0.0f) {  // normal tissue well outside the tumour: nearly pure voxels only
              for (int t = 0; t < 3; ++t)
                if (post[t] >= 0.8f) out.tissue.voxels[g] = static_cast<std::uint8_t>(t + 1);
            }
            // T1ce vessels (thin ridges of a smooth field in sulcal CSF) and choroid plexus (deep CSF).
            const float ridge = std::exp(-(vv[k] * vv[k]) / (0.12f * 0.12f));
            const float sulcal = post[kCSF] * clampf((14.0f - dsurf) / 4.0f, 0.0f, 1.0f) *
                                 clampf(vp[k] + 0.3f, 0.0f, 1.0f);
            const float deep = post[kCSF] * clampf((dsurf - 14.0f) / 4.0f, 0.0f, 1.0f) *
                               clampf((vc[k] - 1.3f) * 3.0f, 0.0f, 1.0f);
            const double xn = (xs[ix] - kOutCentre[0]) / 100.0, yn = (ys[iy] - kOutCentre[1]) / 100.0,
                         zn = (zs[iz] - kOutCentre[2]) / 100.0;
            for (int m = 0; m < 4; ++m) {
              const Contrast& C = P.contrast[m];
              float s = tf(C, v) * (1.0f + static_cast<float>(C.texture) * vt[m][k]);
              if (m == 2) s += static_cast<float>(P.vessel_amp) * ridge * sulcal + static_cast<float>(P.choroid_amp) * deep;
              if (edv > 0) {
                const float lvl = static_cast<float>(C.edema) * (1.0f + 0.025f * tt);
                s += (lvl - s) * edv * 0.9f * static_cast<float>(P.ed_strength);
              }
              if (core > 0) {
                // Enhancement is heterogeneous in T1ce; elsewhere the solid tumour is fairly uniform.
                const float het = m == 2 ? 1.0f : 0.4f;
                const float et =
                    static_cast<float>(C.et) * (1.0f + het * (0.10f * tt + 0.08f * clampf(tv, -2.0f, 2.0f)));
                const float net = static_cast<float>(C.net) * (1.0f + 0.04f * tt);
                const float rimv = enh * et + (1.0f - enh) * net;
                s += (rimv - s) * core;
              }
              if (nec > 0) {
                const float nv = static_cast<float>(C.nec) * (1.0f + 0.04f * tt);
                s += (nv - s) * nec;
              }
              const double gain = C.scale * std::exp(log_bias(C, xn, yn, zn));
              const double sig = C.noise * C.scale;
              const double a = s * gain + sig * noise[m].normal();
              const double b2 = sig * noise[m].normal();
              const double val = std::round(std::sqrt(a * a + b2 * b2));
              cs.images[m]->voxels[g] = static_cast<float>(std::max(1.0, val));
            }
          }
      });
    }
    cs.seg = std::move(seg);
    return out;
  }
};

}  // namespace

SynthResult generate_case_full(const SynthOptions& opt, int index) {
  if (index < 0) throw UsageError(fmt::format("case index must be >= 0 (got {})", index));
  Generator g(opt, index);
  return g.run();
}

io::Case generate_case(const SynthOptions& opt, int index) { return generate_case_full(opt, index).c; }

}  // namespace gmd::synth
