// Montage rendering (plain C++) and PNG writing (ITK).
#include <algorithm>
#include <cmath>

#include <itkImage.h>
#include <itkImageFileWriter.h>
#include <itkPNGImageIO.h>
#include <itkRGBPixel.h>

#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/synth/synth.hpp"

namespace gmd::synth {
namespace fs = std::filesystem;

namespace {

// Display window: 0 .. 99.9th percentile of the nonzero voxels.
float window_high(const Image& img) {
  std::vector<float> v;
  v.reserve(img.voxels.size() / 4);
  for (float x : img.voxels)
    if (x > 0) v.push_back(x);
  if (v.empty()) return 1.0f;
  const std::size_t k = static_cast<std::size_t>(0.999 * (v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return std::max(v[k], 1e-6f);
}

}  // namespace

Rgb8Image render_montage(const io::Case& c, int slice, int* chosen_slice) {
  const auto& g = c.geom;
  const int nx = static_cast<int>(g.size[0]), ny = static_cast<int>(g.size[1]), nz = static_cast<int>(g.size[2]);
  if (nx == 0 || ny == 0 || nz == 0) throw UsageError("render_montage: empty case");
  if (slice < 0) {
    // Slice with the largest core (labels 1, 4); the whole tumour if there is no core.
    std::vector<long> core(nz, 0), whole(nz, 0);
    if (c.seg)
      for (int z = 0; z < nz; ++z)
        for (int i = 0; i < nx * ny; ++i) {
          const auto l = c.seg->voxels[static_cast<std::size_t>(z) * nx * ny + i];
          if (l) ++whole[z];
          if (l == 1 || l == 4) ++core[z];
        }
    const auto& pick = *std::max_element(core.begin(), core.end()) > 0 ? core : whole;
    slice = static_cast<int>(std::max_element(pick.begin(), pick.end()) - pick.begin());
    if (pick[slice] == 0) slice = nz / 2;
  }
  slice = std::min(slice, nz - 1);
  if (chosen_slice) *chosen_slice = slice;
  const int zoom = std::max(1, 240 / std::max(nx, ny));
  const int pw = nx * zoom, ph = ny * zoom, gap = 4;
  Rgb8Image out;
  out.width = 5 * pw + 4 * gap;
  out.height = ph;
  out.rgb.assign(static_cast<std::size_t>(out.width) * out.height * 3, 0);
  auto put = [&](int panel, int x, int y, std::uint8_t r, std::uint8_t gr, std::uint8_t b) {
    for (int dy = 0; dy < zoom; ++dy)
      for (int dx = 0; dx < zoom; ++dx) {
        const std::size_t o =
            (static_cast<std::size_t>(y * zoom + dy) * out.width + panel * (pw + gap) + x * zoom + dx) * 3;
        out.rgb[o] = r, out.rgb[o + 1] = gr, out.rgb[o + 2] = b;
      }
  };
  std::array<float, 4> hi{1, 1, 1, 1};
  for (int m = 0; m < 4; ++m)
    if (c.images[m]) hi[m] = window_high(*c.images[m]);
  // Radiological display: voxel x (towards patient left in the BraTS frame) to the right, y (towards
  // posterior) downwards.
  for (int y = 0; y < ny; ++y)
    for (int x = 0; x < nx; ++x) {
      const std::size_t idx = g.index(x, y, slice);
      std::array<std::uint8_t, 4> grey{};
      for (int m = 0; m < 4; ++m)
        if (c.images[m])
          grey[m] = static_cast<std::uint8_t>(
              std::lround(255.0 * std::clamp(c.images[m]->voxels[idx] / hi[m], 0.0f, 1.0f)));
      for (int m = 0; m < 4; ++m) put(m, x, y, grey[m], grey[m], grey[m]);
      // Overlay on T1ce: ED green, NCR/NET red, ET yellow.
      double r = grey[2], gg = grey[2], b = grey[2];
      const int l = c.seg ? c.seg->voxels[idx] : 0;
      if (l) {
        const double a = 0.5;
        const double cr = l == 2 ? 0 : 255, cg = l == 1 ? 0 : 220, cb = 0;
        r = (1 - a) * r + a * cr, gg = (1 - a) * gg + a * cg, b = (1 - a) * b + a * cb;
      }
      put(4, x, y, static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(gg), static_cast<std::uint8_t>(b));
    }
  return out;
}

void write_png(const fs::path& path, const Rgb8Image& img) {
  using Px = itk::RGBPixel<unsigned char>;
  using ImageT = itk::Image<Px, 2>;
  auto im = ImageT::New();
  ImageT::RegionType region;
  region.SetSize(0, static_cast<itk::SizeValueType>(img.width));
  region.SetSize(1, static_cast<itk::SizeValueType>(img.height));
  im->SetRegions(region);
  im->Allocate();
  Px* buf = im->GetBufferPointer();
  for (std::size_t i = 0; i < static_cast<std::size_t>(img.width) * img.height; ++i) {
    buf[i][0] = img.rgb[3 * i];
    buf[i][1] = img.rgb[3 * i + 1];
    buf[i][2] = img.rgb[3 * i + 2];
  }
  try {
    write_atomically(path, [&](const fs::path& tmp) {
      auto w = itk::ImageFileWriter<ImageT>::New();
      w->SetImageIO(itk::PNGImageIO::New());
      w->SetFileName(tmp.string());
      w->SetInput(im);
      w->Update();
    });
  } catch (const itk::ExceptionObject& e) {
    throw InputError(path.string() + ": cannot write PNG: " + std::string(e.GetDescription()));
  }
}

}  // namespace gmd::synth
