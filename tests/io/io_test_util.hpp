#pragma once
// Helpers shared by the io tests: temp folders and small synthetic volumes.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "gmd/common/image.hpp"

namespace gmd::io::test {
namespace fs = std::filesystem;

// A fresh temporary folder, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = "gmd_io_";
    if (info) name += std::string(info->test_suite_name()) + "_" + info->name();
    for (char& ch : name)
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_') ch = '_';
    std::random_device rd;
    path_ = fs::temp_directory_path() / (name + "_" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& s) const { return path_ / s; }

 private:
  fs::path path_;
};

inline Geometry small_geometry(std::size_t nx = 20, std::size_t ny = 24, std::size_t nz = 16) {
  Geometry g;
  g.size = {nx, ny, nz};
  return g;
}

// A rotated, shifted, anisotropic geometry: 30 degrees about z, then a flip of x (det -1, like LPS/RAS).
inline Geometry oblique_geometry() {
  Geometry g = small_geometry();
  g.spacing = {0.9, 1.2, 2.5};
  g.origin = {-91.25, 12.5, -37.75};
  const double a = 30.0 * 3.14159265358979323846 / 180.0, c = std::cos(a), s = std::sin(a);
  g.direction = {-c, -s, 0, -s, c, 0, 0, 0, 1};
  return g;
}

// A "brain": an ellipsoid of nonzero, smoothly varying intensity with a little noise, zero outside.
// `inset` = distance in voxels from the ellipsoid's bounding box to the image border (0: touches it).
inline Image ellipsoid_image(const Geometry& g, int inset, float scale, unsigned seed) {
  Image img;
  img.geom = g;
  img.voxels.assign(g.voxel_count(), 0.0f);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> noise(0.5f, 1.5f);
  const double cx = (g.size[0] - 1) / 2.0, cy = (g.size[1] - 1) / 2.0, cz = (g.size[2] - 1) / 2.0;
  const double rx = cx - inset + 0.5, ry = cy - inset + 0.5, rz = cz - inset + 0.5;
  for (std::size_t z = 0; z < g.size[2]; ++z)
    for (std::size_t y = 0; y < g.size[1]; ++y)
      for (std::size_t x = 0; x < g.size[0]; ++x) {
        const double dx = (x - cx) / rx, dy = (y - cy) / ry, dz = (z - cz) / rz;
        if (dx * dx + dy * dy + dz * dz <= 1.0)
          img.at(x, y, z) = scale * (1.0f + 0.05f * static_cast<float>(x + 2 * y + 3 * z)) * noise(rng);
      }
  return img;
}

// A tumour-like label blob: ET core, NCR ring, edema shell around (cx, cy, cz).
inline LabelMap blob_labels(const Geometry& g, double cx, double cy, double cz, double r) {
  LabelMap l;
  l.geom = g;
  l.voxels.assign(g.voxel_count(), 0);
  for (std::size_t z = 0; z < g.size[2]; ++z)
    for (std::size_t y = 0; y < g.size[1]; ++y)
      for (std::size_t x = 0; x < g.size[0]; ++x) {
        const double d = std::sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy) + (z - cz) * (z - cz));
        l.at(x, y, z) = d <= r * 0.4 ? 4 : d <= r * 0.7 ? 1 : d <= r ? 2 : 0;
      }
  return l;
}

// Gaussian noise around 100 (incompressible: for write-size tests).
inline Image noise_image(const Geometry& g, unsigned seed) {
  Image img;
  img.geom = g;
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(100.f, 30.f);
  img.voxels.resize(g.voxel_count());
  for (auto& v : img.voxels) v = d(rng);
  return img;
}

inline std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
inline void write_bytes(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary);
  out << data;
}

}  // namespace gmd::io::test
