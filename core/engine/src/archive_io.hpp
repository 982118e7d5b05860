#pragma once
// Torch archives (model.pt, checkpoint.pt, sample caches) written atomically and read back before they replace the
// previous file: a full disk or a failed write never publishes a truncated archive (fs_util.hpp).
#include <torch/serialize.h>
#include <torch/torch.h>

#include <filesystem>

#include "gmd/common/fs_util.hpp"

namespace gmd::engine {

inline void save_archive_atomically(torch::serialize::OutputArchive& archive, const std::filesystem::path& file) {
  write_atomically(
      file, [&](const std::filesystem::path& tmp) { archive.save_to(tmp.string()); },
      [](const std::filesystem::path& tmp) {
        torch::serialize::InputArchive check;
        check.load_from(tmp.string(), torch::kCPU);
      });
}

}  // namespace gmd::engine
