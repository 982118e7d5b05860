#pragma once
// Shared helpers of the GUI tests: tiny synthetic cases written with gmd::io, the gmd CLI, a
// tiny trained model (trained once per test process with `gmd train`).
#include <QCoreApplication>
#include <QEventLoop>
#include <QTimer>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "gmd/common/modality.hpp"
#include "gmd/common/image.hpp"
#include "gmd/io/nifti.hpp"

namespace gmd::test {
namespace fs = std::filesystem;

// A fresh, empty folder under the build tree for one test.
fs::path scratch_dir(const std::string& name);

struct TinyCaseSpec {
  std::array<std::size_t, 3> size{40, 48, 32};
  std::array<double, 3> spacing{1.0, 1.0, 1.0};
  std::array<double, 9> direction{-1, 0, 0, 0, -1, 0, 0, 0, 1};  // like Colin27 / ch2bet (LPS)
  SubsetMask modalities = kFullMask;
  bool with_seg = true;
  // Tumour centre in source voxel indices; ET radius 3, NCR/NET shell to 4.5, ED shell to 8.
  std::array<double, 3> tumour{12, 24, 16};
};

// The label map of a spec (0 outside, 2 ED, 1 NCR/NET, 4 ET).
LabelMap tiny_labels(const TinyCaseSpec& spec);
// Writes <dir>/<id>/<id>_<modality>.nii.gz (+ _seg) and returns the case folder.
fs::path write_tiny_case(const fs::path& parent, const std::string& id, const TinyCaseSpec& spec = {});

// Runs the gmd CLI; returns the exit status and fills `output` with stdout+stderr.
int run_gmd(const std::string& args, std::string* output = nullptr);
// A tiny ds-gmd model trained (once per process) on a tiny synthetic dataset; and one trained
// without T2 (for "cannot use T2" messages). Empty path on failure (output in `why`).
fs::path tiny_model(std::string* why = nullptr);
fs::path tiny_model_without_t2(std::string* why = nullptr);
// The small synthetic dataset those models were trained on (BraTS layout).
fs::path tiny_dataset();

// Processes events for `ms` milliseconds.
void pump(int ms);

}  // namespace gmd::test
