// ITK resampling onto a given grid (see resample.hpp).
#include "gmd/io/resample.hpp"

#include <fmt/format.h>
#include <itkAffineTransform.h>
#include <itkImage.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkNearestNeighborInterpolateImageFunction.h>
#include <itkResampleImageFilter.h>

#include <algorithm>
#include <cmath>

#include "gmd/io/itk_image.hpp"

namespace gmd::io {
namespace {

constexpr double kPi = 3.14159265358979323846;

template <typename T, typename Interp>
Volume<T> resample(const Volume<T>& v, const Geometry& target, const RigidTransform& t) {
  using ImageT = itk::Image<T, 3>;
  auto f = itk::ResampleImageFilter<ImageT, ImageT>::New();
  f->SetInput(itk_view(v));  // the filter only reads its input
  f->SetInterpolator(Interp::New());
  if (!t.is_identity()) {
    auto a = itk::AffineTransform<double, 3>::New();
    itk::AffineTransform<double, 3>::MatrixType m;
    itk::AffineTransform<double, 3>::InputPointType c;
    itk::AffineTransform<double, 3>::OutputVectorType tr;
    for (unsigned i = 0; i < 3; ++i) {
      for (unsigned j = 0; j < 3; ++j) m(i, j) = t.rotation[i * 3 + j];
      c[i] = t.centre[i];
      tr[i] = t.translation[i];
    }
    a->SetCenter(c);
    a->SetMatrix(m);
    a->SetTranslation(tr);
    f->SetTransform(a);
  }
  auto grid = ImageT::New();  // the output grid: geometry only, nothing allocated
  set_geometry(*grid, target);
  f->SetOutputParametersFromImage(grid);
  f->SetDefaultPixelValue(0);
  f->Update();
  Volume<T> out = from_itk(*f->GetOutput());
  out.geom = target;  // exactly the requested grid (the filter's copy of it is the same numbers)
  return out;
}
}  // namespace

std::array<double, 3> RigidTransform::apply(const std::array<double, 3>& p) const {
  std::array<double, 3> q{};
  for (int i = 0; i < 3; ++i) {
    q[i] = centre[i] + translation[i];
    for (int j = 0; j < 3; ++j) q[i] += rotation[i * 3 + j] * (p[j] - centre[j]);
  }
  return q;
}

RigidTransform RigidTransform::inverse() const {
  // p = R^T (q - c - t) + c: same centre, R^T, translation -R^T t.
  RigidTransform inv;
  inv.centre = centre;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) inv.rotation[i * 3 + j] = rotation[j * 3 + i];
  for (int i = 0; i < 3; ++i) {
    inv.translation[i] = 0;
    for (int j = 0; j < 3; ++j) inv.translation[i] -= inv.rotation[i * 3 + j] * translation[j];
  }
  return inv;
}

RigidTransform RigidTransform::then(const RigidTransform& next) const {
  // Keep this centre: q = R2 R1 (p - c) + [R2 (c + t1 - c2) + c2 + t2] - c + c.
  RigidTransform out;
  out.centre = centre;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      double s = 0;
      for (int k = 0; k < 3; ++k) s += next.rotation[i * 3 + k] * rotation[k * 3 + j];
      out.rotation[i * 3 + j] = s;
    }
  const std::array<double, 3> image_of_centre = next.apply(apply(centre));
  for (int i = 0; i < 3; ++i) out.translation[i] = image_of_centre[i] - centre[i];
  return out;
}

double RigidTransform::angle_deg() const {
  const double c = std::clamp((rotation[0] + rotation[4] + rotation[8] - 1.0) / 2.0, -1.0, 1.0);
  return std::acos(c) * 180.0 / kPi;
}

std::array<double, 3> RigidTransform::axis() const {
  std::array<double, 3> a{rotation[7] - rotation[5], rotation[2] - rotation[6], rotation[3] - rotation[1]};
  const double n = std::sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
  if (n < 1e-12) return {1, 0, 0};
  for (double& v : a) v /= n;
  return a;
}

double RigidTransform::max_displacement_mm(const Geometry& g) const {
  double worst = 0;
  for (int corner = 0; corner < 8; ++corner) {
    std::array<double, 3> idx{};
    for (int a = 0; a < 3; ++a) idx[a] = (corner >> a & 1) ? static_cast<double>(g.size[a]) - 1.0 : 0.0;
    std::array<double, 3> p{};
    for (int i = 0; i < 3; ++i) {
      p[i] = g.origin[i];
      for (int j = 0; j < 3; ++j) p[i] += g.direction[i * 3 + j] * g.spacing[j] * idx[j];
    }
    const auto q = apply(p);
    worst = std::max(worst, std::hypot(q[0] - p[0], q[1] - p[1], q[2] - p[2]));
  }
  return worst;
}

bool RigidTransform::is_identity() const {
  for (int i = 0; i < 9; ++i)
    if (rotation[i] != (i % 4 == 0 ? 1.0 : 0.0)) return false;
  return translation[0] == 0 && translation[1] == 0 && translation[2] == 0;
}

std::string RigidTransform::describe() const {
  const auto ax = axis();
  return fmt::format("rotation {:.1f} deg about ({:.2f}, {:.2f}, {:.2f}), translation ({:+.1f}, {:+.1f}, {:+.1f}) mm",
                     angle_deg(), ax[0], ax[1], ax[2], translation[0], translation[1], translation[2]);
}

Image resample_linear(const Image& img, const Geometry& target, const RigidTransform& t) {
  return resample<float, itk::LinearInterpolateImageFunction<itk::Image<float, 3>, double>>(img, target, t);
}

LabelMap resample_nearest(const LabelMap& labels, const Geometry& target, const RigidTransform& t) {
  return resample<std::uint8_t, itk::NearestNeighborInterpolateImageFunction<itk::Image<std::uint8_t, 3>, double>>(
      labels, target, t);
}

}  // namespace gmd::io
