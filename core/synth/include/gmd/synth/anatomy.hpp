#pragma once
// The anatomical template for the generator: Colin27 T1 (skull-stripped), its tissue model
// (CSF / grey / white matter as a 3-class Gaussian mixture on the T1 intensities, fitted by EM on
// the histogram), and the inside distance to the brain surface. Loaded once per (file, blur) and
// shared (thread-safe). Internal to gmd_synth; exposed for tests.
#include <array>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <vector>

namespace gmd::synth {

enum Tissue : int { kCSF = 0, kGM = 1, kWM = 2 };

struct TissueModel {
  std::array<double, 3> mean{}, sd{}, weight{};  // CSF, GM, WM
  double max_intensity = 0;
  // Posterior class probabilities of an intensity (CSF below the CSF mean, WM above the WM mean).
  std::array<float, 3> posterior(double intensity) const;
};

class Anatomy {
 public:
  // Reads the template with ITK (throws gmd::InputError naming the file), optionally smooths it
  // (Gaussian, sigma in mm; 0 = none) for coarser output grids.
  static std::shared_ptr<const Anatomy> load(const std::filesystem::path& path, double blur_mm);
  // Throws gmd::InputError (how to get one) if the template file does not exist; cheap, before any output is made.
  static void check_template(const std::filesystem::path& path);

  std::array<std::size_t, 3> size{};
  std::array<double, 9> phys_to_index{};  // continuous index = M (p - origin), LPS mm
  std::array<double, 3> origin{};
  std::vector<float> t1;    // [z][y][x]
  std::vector<float> dist;  // mm to the brain surface inside the brain, 0 outside
  TissueModel tissue;
  std::array<double, 3> brain_centre{};  // LPS mm, centre of the brain's bounding box
  std::array<double, 3> ventricle_centre{};  // LPS mm, centroid of deep CSF

  // Trilinear samples at a physical point (0 outside the volume).
  void sample(const std::array<double, 3>& p, float& t1_out, float& dist_out) const;
  // Tissue posteriors from a lookup table (fast).
  const std::array<float, 3>& posterior(float intensity) const;

 private:
  std::vector<std::array<float, 3>> lut_;
  double lut_scale_ = 1.0;
  friend struct AnatomyBuilder;
};

}  // namespace gmd::synth
