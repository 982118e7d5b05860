#include "gmd/pipeline/dataset.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "gmd/common/error.hpp"
#include "gmd/io/labels.hpp"

namespace gmd::pipeline {
namespace fs = std::filesystem;

engine::Sample to_sample(const io::Preprocessed& pp, const std::string& id) {
  const auto D = pp.dims[0], H = pp.dims[1], W = pp.dims[2];
  const int64_t n = pp.voxel_count();
  engine::Sample s;
  s.id = id;
  s.present = pp.present;
  s.image = torch::zeros({kNumModalities, D, H, W}, torch::kFloat32);
  for (int m = 0; m < kNumModalities; ++m) {
    if (!pp.channels[m]) continue;
    if (static_cast<int64_t>(pp.channels[m]->size()) != n) throw InputError(id + ": internal size mismatch");
    std::memcpy(s.image[m].data_ptr<float>(), pp.channels[m]->data(), sizeof(float) * static_cast<size_t>(n));
  }
  if (pp.labels) {
    const auto regions = io::labels_to_regions(*pp.labels);
    s.target = torch::empty({3, D, H, W}, torch::kUInt8);
    std::memcpy(s.target.data_ptr<uint8_t>(), regions.data(), regions.size());
  }
  return s;
}

std::vector<engine::Sample> load_dataset(const fs::path& dir, const io::PreprocessParams& params, bool require_seg,
                                         DatasetInfo* info, const Progress& progress) {
  const auto cases = io::list_cases(dir);
  if (cases.empty()) throw InputError(dir.string() + ": no BraTS case folders found (expected DIR/<case>/<case>_t1.nii.gz ...)");
  std::vector<engine::Sample> out;
  DatasetInfo local;
  for (size_t i = 0; i < cases.size(); ++i) {
    if (progress.cancelled && progress.cancelled()) throw Cancelled();
    if (progress.report) progress.report("loading " + cases[i].filename().string(), double(i) / cases.size());
    const auto files = io::discover_case(cases[i]);
    if (require_seg && !files.seg)
      throw InputError(cases[i].string() + ": case has no *_seg file (needed for training/evaluation)");
    const auto c = io::load_case(files);
    const auto pp = io::preprocess(c, params);
    out.push_back(to_sample(pp, c.id));
    local.case_ids.push_back(c.id);
    if (c.seg) ++local.with_seg;
    if (i == 0) local.spacing = c.geom.spacing;
    else if (c.geom.spacing != local.spacing)
      spdlog::warn("{}: spacing {}x{}x{} differs from the first case's; the model records the first", c.id,
                   c.geom.spacing[0], c.geom.spacing[1], c.geom.spacing[2]);
    for (int m = 0; m < kNumModalities; ++m)
      if (subset_has(c.present(), m)) ++local.modality_counts[m];
    spdlog::debug("loaded {} ({}x{}x{})", c.id, pp.dims[0], pp.dims[1], pp.dims[2]);
  }
  if (info) *info = local;
  return out;
}

nlohmann::json preprocess_to_json(const io::PreprocessParams& p) {
  return {{"margin", p.margin},
          {"multiple", p.multiple},
          {"mask", "union of nonzero voxels of the present modalities"},
          {"normalisation", "z-score inside the brain mask, per modality"}};
}

io::PreprocessParams preprocess_from_json(const nlohmann::json& card) {
  io::PreprocessParams p;
  if (card.contains("preprocessing") && card["preprocessing"].is_object()) {
    const auto& j = card["preprocessing"];
    p.margin = j.value("margin", p.margin);
    p.multiple = j.value("multiple", p.multiple);
  }
  return p;
}

engine::TrainingData load_training_data(const TrainRequest& request, const Progress& progress) {
  const int64_t multiple = request.patch_multiple();
  std::error_code ec;
  if (fs::is_regular_file(request.data_dir, ec)) return engine::load_training_cache(request.data_dir, multiple);
  io::PreprocessParams pp;
  pp.multiple = std::max<int>(16, static_cast<int>(multiple));
  DatasetInfo info;
  engine::TrainingData d;
  d.samples = load_dataset(request.data_dir, pp, /*require_seg=*/true, &info, progress);
  d.preprocessing = preprocess_to_json(pp);
  d.preprocessing["spacing"] = info.spacing;
  d.source = {{"dir", request.data_dir}};
  return d;
}

}  // namespace gmd::pipeline
