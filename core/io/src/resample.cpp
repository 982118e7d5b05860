// ITK resampling onto a given grid (see resample.hpp).
#include "gmd/io/resample.hpp"

#include <itkImage.h>
#include <itkLinearInterpolateImageFunction.h>
#include <itkNearestNeighborInterpolateImageFunction.h>
#include <itkResampleImageFilter.h>

#include "gmd/io/itk_image.hpp"

namespace gmd::io {
namespace {

template <typename T, typename Interp>
Volume<T> resample(const Volume<T>& v, const Geometry& target) {
  using ImageT = itk::Image<T, 3>;
  auto f = itk::ResampleImageFilter<ImageT, ImageT>::New();
  f->SetInput(itk_view(v));  // the filter only reads its input
  f->SetInterpolator(Interp::New());
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

Image resample_linear(const Image& img, const Geometry& target) {
  return resample<float, itk::LinearInterpolateImageFunction<itk::Image<float, 3>, double>>(img, target);
}

LabelMap resample_nearest(const LabelMap& labels, const Geometry& target) {
  return resample<std::uint8_t, itk::NearestNeighborInterpolateImageFunction<itk::Image<std::uint8_t, 3>, double>>(
      labels, target);
}

}  // namespace gmd::io
