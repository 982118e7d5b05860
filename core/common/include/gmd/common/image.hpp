#pragma once
// Plain image containers on the ground floor (gmd_common), shared by io, synth, pipeline, viz and gui. No ITK,
// VTK or Qt here; the conversion to and from ITK images is gmd/io/itk_image.hpp (gmd_io).
// Voxel layout: x fastest, then y, then z (ITK buffer order), i.e. a C array [z][y][x].
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gmd {

struct Geometry {
  std::array<std::size_t, 3> size{0, 0, 0};        // x, y, z voxels
  std::array<double, 3> spacing{1.0, 1.0, 1.0};      // mm
  std::array<double, 3> origin{0.0, 0.0, 0.0};       // mm (LPS, as ITK)
  std::array<double, 9> direction{1, 0, 0, 0, 1, 0, 0, 0, 1};  // row-major 3x3
  std::size_t voxel_count() const { return size[0] * size[1] * size[2]; }
  std::size_t index(std::size_t x, std::size_t y, std::size_t z) const { return (z * size[1] + y) * size[0] + x; }
  double voxel_volume_ml() const { return spacing[0] * spacing[1] * spacing[2] / 1000.0; }
  // Empty string when equal within tolerance; otherwise a description of every difference,
  // e.g. "size 240x240x155 vs 240x240x154; spacing differs by 0.5 mm".
  std::string difference(const Geometry& other, double tol = 1e-4) const;
  bool operator==(const Geometry& o) const { return difference(o).empty(); }
};

template <typename T>
struct Volume {
  Geometry geom;
  std::vector<T> voxels;
  T& at(std::size_t x, std::size_t y, std::size_t z) { return voxels[geom.index(x, y, z)]; }
  const T& at(std::size_t x, std::size_t y, std::size_t z) const { return voxels[geom.index(x, y, z)]; }
};
using Image = Volume<float>;            // one MRI modality
using LabelMap = Volume<std::uint8_t>;  // BraTS labels 0/1/2/4

}  // namespace gmd
