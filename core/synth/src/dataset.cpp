// Writing cases and datasets in BraTS layout.
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>

#include <fmt/format.h>

#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/common/modality.hpp"
#include "gmd/io/labels.hpp"
#include "gmd/io/nifti.hpp"
#include "gmd/synth/detail.hpp"
#include "gmd/synth/synth.hpp"
#include "gmd/synth/anatomy.hpp"

namespace gmd::synth {
namespace fs = std::filesystem;

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

fs::path write_case_impl(io::Case& c, const fs::path& out, int threads) {
  if (c.id.empty()) throw UsageError("write_case: the case has no id");
  if (!c.seg) throw UsageError("write_case: case " + c.id + " has no segmentation");
  const fs::path dir = out / c.id;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw InputError(dir.string() + ": cannot create the case folder: " + ec.message());
  c.files.id = c.id;
  for (int m = 0; m < kNumModalities; ++m)
    if (c.images[m]) c.files.modality[m] = dir / (c.id + "_" + std::string(modality_key(m)) + ".nii.gz");
  c.files.seg = dir / (c.id + "_seg.nii.gz");
  // Five independent files: write them concurrently.
  detail::parallel_for(threads, kNumModalities + 1, [&](std::size_t i) {
    if (i < static_cast<std::size_t>(kNumModalities)) {
      if (c.images[i]) io::write_image(*c.files.modality[i], *c.images[i]);
    } else {
      io::write_labels(*c.files.seg, *c.seg);
    }
  });
  return dir;
}
}  // namespace

fs::path write_case(io::Case& c, const fs::path& out) { return write_case_impl(c, out, 2); }

std::vector<fs::path> generate_dataset(const fs::path& out, int n, const DatasetOptions& opt) {
  if (n < 0) throw UsageError(fmt::format("number of cases must be >= 0 (got {})", n));
  if (opt.first_index < 0) throw UsageError(fmt::format("first index must be >= 0 (got {})", opt.first_index));
  // The template is read (and checked) before the output folder exists: no empty folder is left by a bad one. The
  // anatomy is cached, so the cases reuse it.
  if (n > 0) (void)detail::anatomy_for(opt.synth);
  check_output_folder(out, "output folder");
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) throw InputError(out.string() + ": cannot create the output folder: " + ec.message());
  std::vector<fs::path> dirs(static_cast<std::size_t>(n));
  std::map<int, CaseReport> done;
  std::mutex mu;
  int next_report = 0;
  auto emit_ready = [&] {  // caller holds mu; reports go out in index order
    while (true) {
      auto it = done.find(next_report);
      if (it == done.end()) return;
      if (opt.on_case) opt.on_case(it->second);
      done.erase(it);
      ++next_report;
    }
  };
  detail::parallel_for(std::max(1, opt.parallel_cases), static_cast<std::size_t>(n), [&](std::size_t i) {
    const int index = opt.first_index + static_cast<int>(i);
    const auto t0 = std::chrono::steady_clock::now();
    SynthResult r = generate_case_full(opt.synth, index);
    const double gen_s = seconds_since(t0);
    const auto t1 = std::chrono::steady_clock::now();
    const fs::path dir = write_case_impl(r.c, out, std::max(1, opt.synth.threads));
    CaseReport rep;
    rep.index = index;
    rep.id = r.c.id;
    rep.dir = dir;
    rep.tumour = r.tumour;
    rep.region_voxels = io::region_voxel_counts(r.c.seg->voxels);
    rep.voxel_ml = r.c.geom.voxel_volume_ml();
    rep.generate_s = gen_s;
    rep.write_s = seconds_since(t1);
    std::lock_guard<std::mutex> lock(mu);
    dirs[i] = dir;
    done.emplace(static_cast<int>(i), std::move(rep));
    emit_ready();
  });
  return dirs;
}

std::vector<fs::path> generate_dataset(const fs::path& out, int n, std::uint64_t seed, SynthSize size) {
  DatasetOptions o;
  o.synth.seed = seed;
  o.synth.size = size;
  return generate_dataset(out, n, o);
}

}  // namespace gmd::synth
