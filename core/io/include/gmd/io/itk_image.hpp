#pragma once
// The one place where our plain images (gmd/common/image.hpp) meet ITK's: geometry both ways, a read-only view of a
// Volume as an itk::Image (no copy), and a copy out of an itk::Image. Used by the NIfTI IO and the resampling.
#include <itkImage.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "gmd/common/image.hpp"

namespace gmd::io {

// Size (largest possible region), spacing, origin and direction of an ITK image.
inline Geometry geometry_of(const itk::ImageBase<3>& img) {
  Geometry g;
  const auto size = img.GetLargestPossibleRegion().GetSize();
  const auto& sp = img.GetSpacing();
  const auto& org = img.GetOrigin();
  const auto& dir = img.GetDirection();
  for (unsigned i = 0; i < 3; ++i) {
    g.size[i] = static_cast<std::size_t>(size[i]);
    g.spacing[i] = sp[i];
    g.origin[i] = org[i];
    for (unsigned j = 0; j < 3; ++j) g.direction[i * 3 + j] = dir(i, j);
  }
  return g;
}

// Gives an ITK image our geometry: regions from index 0 with g.size, spacing, origin, direction. Allocates nothing.
inline void set_geometry(itk::ImageBase<3>& img, const Geometry& g) {
  itk::ImageRegion<3> region;
  itk::ImageBase<3>::SpacingType spacing;
  itk::ImageBase<3>::PointType origin;
  itk::ImageBase<3>::DirectionType direction;
  for (unsigned i = 0; i < 3; ++i) {
    region.SetIndex(i, 0);
    region.SetSize(i, g.size[i]);
    spacing[i] = g.spacing[i];
    origin[i] = g.origin[i];
    for (unsigned j = 0; j < 3; ++j) direction(i, j) = g.direction[i * 3 + j];
  }
  img.SetRegions(region);
  img.SetSpacing(spacing);
  img.SetOrigin(origin);
  img.SetDirection(direction);
}

// An itk::Image over v's voxels, without copying and without taking ownership: for readers of the image (writers,
// filters' inputs) only, and only while v lives unchanged. Throws std::invalid_argument when v's voxel count does not
// match its geometry.
template <typename T>
typename itk::Image<T, 3>::Pointer itk_view(const Volume<T>& v) {
  if (v.voxels.size() != v.geom.voxel_count())
    throw std::invalid_argument("image holds " + std::to_string(v.voxels.size()) + " voxels but its geometry needs " +
                                std::to_string(v.geom.voxel_count()));
  auto img = itk::Image<T, 3>::New();
  set_geometry(*img, v.geom);
  img->GetPixelContainer()->SetImportPointer(const_cast<T*>(v.voxels.data()), v.voxels.size(), false);
  return img;
}

// A copy of an ITK image's buffer (its largest possible region) with its geometry.
template <typename T>
Volume<T> from_itk(const itk::Image<T, 3>& img) {
  Volume<T> v;
  v.geom = geometry_of(img);
  const T* buf = img.GetBufferPointer();
  v.voxels.assign(buf, buf + v.geom.voxel_count());
  return v;
}

}  // namespace gmd::io
