// Template loading (ITK) and the tissue model.
#include "gmd/synth/anatomy.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <itkBinaryThresholdImageFilter.h>
#include <itkImage.h>
#include <itkImageFileReader.h>
#include <itkNiftiImageIO.h>
#include <itkSignedMaurerDistanceMapImageFilter.h>
#include <itkSmoothingRecursiveGaussianImageFilter.h>

#include "gmd/common/error.hpp"
#include "gmd/io/nifti.hpp"

namespace gmd::synth {
namespace fs = std::filesystem;

namespace {

using FloatImage = itk::Image<float, 3>;
using MaskImage = itk::Image<unsigned char, 3>;

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

double gauss(double x, double m, double s) {
  const double z = (x - m) / s;
  return std::exp(-0.5 * z * z) / s;
}

// 3-class Gaussian mixture fitted by EM on a weighted histogram (bin centres `x`, counts `h`).
TissueModel fit_tissue(const std::vector<double>& x, const std::vector<double>& h, double p99) {
  TissueModel m;
  m.mean = {0.30 * p99, 0.72 * p99, 0.95 * p99};
  m.sd = {0.08 * p99, 0.08 * p99, 0.05 * p99};
  m.weight = {0.2, 0.4, 0.4};
  for (int it = 0; it < 200; ++it) {
    std::array<double, 3> sw{}, sx{}, sxx{};
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (h[i] <= 0) continue;
      std::array<double, 3> l;
      double tot = 0;
      for (int k = 0; k < 3; ++k) tot += (l[k] = m.weight[k] * gauss(x[i], m.mean[k], m.sd[k]));
      if (tot <= 0) continue;
      for (int k = 0; k < 3; ++k) {
        const double r = h[i] * l[k] / tot;
        sw[k] += r;
        sx[k] += r * x[i];
        sxx[k] += r * x[i] * x[i];
      }
    }
    const double n = sw[0] + sw[1] + sw[2];
    for (int k = 0; k < 3; ++k) {
      if (sw[k] <= 0) continue;
      m.mean[k] = sx[k] / sw[k];
      m.sd[k] = std::max(0.01 * p99, std::sqrt(std::max(0.0, sxx[k] / sw[k] - m.mean[k] * m.mean[k])));
      m.weight[k] = sw[k] / n;
    }
  }
  return m;
}

}  // namespace

std::array<float, 3> TissueModel::posterior(double v) const {
  if (v <= mean[kCSF]) return {1.f, 0.f, 0.f};
  if (v >= mean[kWM]) return {0.f, 0.f, 1.f};
  std::array<double, 3> l;
  double tot = 0;
  for (int k = 0; k < 3; ++k) tot += (l[k] = weight[k] * gauss(v, mean[k], sd[k]));
  if (tot <= 0) return {0.f, 1.f, 0.f};
  return {static_cast<float>(l[0] / tot), static_cast<float>(l[1] / tot), static_cast<float>(l[2] / tot)};
}

struct AnatomyBuilder {
  static std::shared_ptr<const Anatomy> build(const fs::path& path, double blur_mm) {
    Anatomy::check_template(path);
    // Our checked reader first: header, truncation (niftilib would zero-fill a short file), NaN/Inf voxels.
    try {
      (void)io::read_image(path);
    } catch (const InputError& e) {
      throw InputError(std::string(e.what()) + " (the synthetic-data template)");
    }
    FloatImage::Pointer img;
    try {
      auto reader = itk::ImageFileReader<FloatImage>::New();
      reader->SetImageIO(itk::NiftiImageIO::New());
      reader->SetFileName(path.string());
      reader->Update();
      img = reader->GetOutput();
      img->DisconnectPipeline();
    } catch (const itk::ExceptionObject& e) {
      throw InputError(path.string() + ": cannot read the synthetic-data template: " +
                       one_line(e.GetDescription()));
    }
    auto a = std::make_shared<Anatomy>();
    const auto sz = img->GetLargestPossibleRegion().GetSize();
    for (int i = 0; i < 3; ++i) a->size[i] = sz[i];
    const std::size_t nvox = a->size[0] * a->size[1] * a->size[2];
    if (nvox < 1000) throw InputError(path.string() + ": synthetic-data template is too small");

    // Geometry: p = origin + D diag(s) idx  =>  idx = (D diag(s))^-1 (p - origin).
    double m[9];
    for (int i = 0; i < 3; ++i) {
      a->origin[i] = img->GetOrigin()[i];
      for (int j = 0; j < 3; ++j) m[i * 3 + j] = img->GetDirection()(i, j) * img->GetSpacing()[j];
    }
    const double det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
                       m[2] * (m[3] * m[7] - m[4] * m[6]);
    if (std::abs(det) < 1e-12) throw InputError(path.string() + ": template has a singular orientation");
    auto& inv = a->phys_to_index;
    inv[0] = (m[4] * m[8] - m[5] * m[7]) / det;
    inv[1] = (m[2] * m[7] - m[1] * m[8]) / det;
    inv[2] = (m[1] * m[5] - m[2] * m[4]) / det;
    inv[3] = (m[5] * m[6] - m[3] * m[8]) / det;
    inv[4] = (m[0] * m[8] - m[2] * m[6]) / det;
    inv[5] = (m[2] * m[3] - m[0] * m[5]) / det;
    inv[6] = (m[3] * m[7] - m[4] * m[6]) / det;
    inv[7] = (m[1] * m[6] - m[0] * m[7]) / det;
    inv[8] = (m[0] * m[4] - m[1] * m[3]) / det;

    const float* raw = img->GetBufferPointer();
    // Inside distance (mm) from the unsmoothed brain mask.
    {
      auto thr = itk::BinaryThresholdImageFilter<FloatImage, MaskImage>::New();
      thr->SetInput(img);
      thr->SetLowerThreshold(std::nextafter(0.0f, 1.0f));
      thr->SetInsideValue(1);
      thr->SetOutsideValue(0);
      auto dm = itk::SignedMaurerDistanceMapImageFilter<MaskImage, FloatImage>::New();
      dm->SetInput(thr->GetOutput());
      dm->SetInsideIsPositive(true);
      dm->SetSquaredDistance(false);
      dm->SetUseImageSpacing(true);
      dm->SetBackgroundValue(0);
      dm->Update();
      const float* d = dm->GetOutput()->GetBufferPointer();
      a->dist.resize(nvox);
      for (std::size_t i = 0; i < nvox; ++i) a->dist[i] = raw[i] > 0 ? std::max(0.0f, d[i]) : 0.0f;
    }
    // Tissue model on the unsmoothed intensities.
    float vmax = 0;
    for (std::size_t i = 0; i < nvox; ++i) {
      if (!std::isfinite(raw[i])) throw InputError(path.string() + ": template holds NaN/Inf voxels");
      vmax = std::max(vmax, raw[i]);
    }
    if (vmax <= 0) throw InputError(path.string() + ": template is all zero");
    const int nbins = 512;
    std::vector<double> hx(nbins), hh(nbins, 0.0);
    for (int b = 0; b < nbins; ++b) hx[b] = (b + 0.5) * vmax / nbins;
    double total = 0;
    for (std::size_t i = 0; i < nvox; ++i)
      if (raw[i] > 0) {
        hh[std::min(nbins - 1, static_cast<int>(raw[i] / vmax * nbins))] += 1;
        total += 1;
      }
    double acc = 0, p99 = vmax;
    for (int b = 0; b < nbins; ++b) {
      acc += hh[b];
      if (acc >= 0.99 * total) {
        p99 = hx[b];
        break;
      }
    }
    // Ignore the faint partial-volume rim at the stripped surface when fitting.
    for (int b = 0; b < nbins; ++b)
      if (hx[b] < 0.15 * p99) hh[b] = 0;
    a->tissue = fit_tissue(hx, hh, p99);
    a->tissue.max_intensity = vmax;
    const int nlut = 4096;
    a->lut_scale_ = (nlut - 1) / (1.05 * vmax);
    a->lut_.resize(nlut);
    for (int i = 0; i < nlut; ++i) a->lut_[i] = a->tissue.posterior(i / a->lut_scale_);

    // Brain bounding box centre and deep-CSF (ventricle) centroid, in physical LPS mm.
    std::array<std::size_t, 3> lo{a->size}, hi{0, 0, 0};
    double vc[3] = {0, 0, 0}, vn = 0;
    for (std::size_t z = 0; z < a->size[2]; ++z)
      for (std::size_t y = 0; y < a->size[1]; ++y)
        for (std::size_t x = 0; x < a->size[0]; ++x) {
          const std::size_t i = (z * a->size[1] + y) * a->size[0] + x;
          if (raw[i] <= 0) continue;
          lo = {std::min(lo[0], x), std::min(lo[1], y), std::min(lo[2], z)};
          hi = {std::max(hi[0], x), std::max(hi[1], y), std::max(hi[2], z)};
          if (a->dist[i] > 15.0f && a->posterior(raw[i])[kCSF] > 0.8f) {
            vc[0] += x, vc[1] += y, vc[2] += z;
            vn += 1;
          }
        }
    auto to_phys = [&](double x, double y, double z) {
      std::array<double, 3> p;
      for (int i = 0; i < 3; ++i) p[i] = a->origin[i] + m[i * 3 + 0] * x + m[i * 3 + 1] * y + m[i * 3 + 2] * z;
      return p;
    };
    a->brain_centre = to_phys(0.5 * (lo[0] + hi[0]), 0.5 * (lo[1] + hi[1]), 0.5 * (lo[2] + hi[2]));
    a->ventricle_centre = vn > 100 ? to_phys(vc[0] / vn, vc[1] / vn, vc[2] / vn) : a->brain_centre;

    // Intensities used for sampling: optionally smoothed for coarse output grids.
    if (blur_mm > 0) {
      auto sm = itk::SmoothingRecursiveGaussianImageFilter<FloatImage, FloatImage>::New();
      sm->SetInput(img);
      sm->SetSigma(blur_mm);
      sm->Update();
      const float* s = sm->GetOutput()->GetBufferPointer();
      a->t1.assign(s, s + nvox);
    } else {
      a->t1.assign(raw, raw + nvox);
    }
    return a;
  }
};

void Anatomy::check_template(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw InputError(path.string() +
                     ": synthetic-data template not found (install Debian's mricron-data, or set "
                     "GMD_SYNTH_TEMPLATE to a skull-stripped T1 NIfTI such as Colin27 ch2bet.nii.gz)");
}

std::shared_ptr<const Anatomy> Anatomy::load(const fs::path& path, double blur_mm) {
  static std::mutex mu;
  static std::map<std::pair<std::string, double>, std::shared_ptr<const Anatomy>> cache;
  std::lock_guard<std::mutex> lock(mu);
  const auto key = std::make_pair(path.string(), blur_mm);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  auto a = AnatomyBuilder::build(path, blur_mm);
  cache.emplace(key, a);
  return a;
}

const std::array<float, 3>& Anatomy::posterior(float v) const {
  const double f = std::max(0.0, static_cast<double>(v) * lut_scale_ + 0.5);
  const std::size_t i = std::min(lut_.size() - 1, static_cast<std::size_t>(f));
  return lut_[i];
}

void Anatomy::sample(const std::array<double, 3>& p, float& t1_out, float& dist_out) const {
  const double dx = p[0] - origin[0], dy = p[1] - origin[1], dz = p[2] - origin[2];
  const auto& M = phys_to_index;
  const double fx = M[0] * dx + M[1] * dy + M[2] * dz;
  const double fy = M[3] * dx + M[4] * dy + M[5] * dz;
  const double fz = M[6] * dx + M[7] * dy + M[8] * dz;
  t1_out = 0;
  dist_out = 0;
  if (!(fx >= 0 && fy >= 0 && fz >= 0)) return;
  const std::size_t x0 = static_cast<std::size_t>(fx), y0 = static_cast<std::size_t>(fy),
                    z0 = static_cast<std::size_t>(fz);
  if (x0 + 1 >= size[0] || y0 + 1 >= size[1] || z0 + 1 >= size[2]) return;
  const float ax = static_cast<float>(fx - x0), ay = static_cast<float>(fy - y0), az = static_cast<float>(fz - z0);
  const std::size_t sx = 1, sy = size[0], sz = size[0] * size[1];
  const std::size_t i0 = z0 * sz + y0 * sy + x0;
  auto tri = [&](const std::vector<float>& v) {
    const float* q = v.data() + i0;
    const float c00 = q[0] + ax * (q[sx] - q[0]);
    const float c10 = q[sy] + ax * (q[sy + sx] - q[sy]);
    const float c01 = q[sz] + ax * (q[sz + sx] - q[sz]);
    const float c11 = q[sz + sy] + ax * (q[sz + sy + sx] - q[sz + sy]);
    const float c0 = c00 + ay * (c10 - c00);
    const float c1 = c01 + ay * (c11 - c01);
    return c0 + az * (c1 - c0);
  };
  t1_out = tri(t1);
  dist_out = tri(dist);
}

}  // namespace gmd::synth
