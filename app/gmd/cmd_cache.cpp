// gmd cache: preprocesses a BraTS-layout dataset once and writes a sample cache (engine/sample.hpp, format 2) that
// `gmd train --data FILE` reads, also in the engine-only build (a GPU machine without ITK, Qt or VTK).
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "commands.hpp"
#include "gmd/common/error.hpp"
#include "gmd/engine/sample.hpp"
#include "gmd/pipeline/dataset.hpp"

namespace gmd::cli {
namespace fs = std::filesystem;

void add_cache(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "cache",
      "Preprocess a dataset once into a compact sample cache for `gmd train --data FILE` (images quantised to 8 "
      "bits per channel, regions packed, zlib): readable by the engine alone, e.g. on a GPU machine");
  struct Opts {
    std::string data, out;
    int multiple = 16, margin = 4;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("DATA", o->data, "Dataset folder (BraTS layout, every case with a seg file)")->required();
  cmd->add_option("OUT", o->out, "Cache file to write (e.g. train.gmdcache)")->required();
  cmd->add_option("--multiple", o->multiple,
                  "Pad every case to a multiple of this (16 suits up to 5 U-Net levels; 2^(levels-1) at least)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--margin", o->margin, "Voxels kept around the brain's bounding box")
      ->capture_default_str()
      ->check(CLI::Range(0, 64));
  cmd->callback([o] {
    const fs::path out(o->out);
    if (fs::is_directory(out)) throw UsageError("OUT " + o->out + " is a directory; give a file name");
    if (!out.parent_path().empty() && !fs::is_directory(out.parent_path()))
      throw InputError(o->out + ": folder " + out.parent_path().string() + " does not exist");
    io::PreprocessParams pp;
    pp.multiple = o->multiple;
    pp.margin = o->margin;
    pipeline::DatasetInfo info;
    const auto samples = pipeline::load_dataset(o->data, pp, /*require_seg=*/true, &info);
    nlohmann::json prep = pipeline::preprocess_to_json(pp);
    prep["spacing"] = info.spacing;
    std::vector<std::string> ids;
    for (const auto& s : samples) ids.push_back(s.id);
    const nlohmann::json meta = {{"preprocessing", prep},
                                 {"source", fs::absolute(o->data).lexically_normal().string()},
                                 {"cases", ids},
                                 {"created_by", "gmd " GMD_VERSION " cache"}};
    const engine::SampleCacheStats st = engine::save_samples(out, samples, meta);
    std::cout << fmt::format(
        "wrote {}: {} cases, {:.1f} MiB ({:.1f} MiB as float32 in memory, {:.1f}x smaller); largest quantisation "
        "error {:.4f} (z-score units)\n",
        o->out, samples.size(), st.file_bytes / 1048576.0, st.raw_bytes / 1048576.0,
        st.file_bytes > 0 ? static_cast<double>(st.raw_bytes) / static_cast<double>(st.file_bytes) : 0.0,
        st.max_abs_error);
  });
}

}  // namespace gmd::cli
