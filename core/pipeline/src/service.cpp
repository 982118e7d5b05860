#include "gmd/pipeline/service.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>

#include "gmd/common/run_files.hpp"
#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/common/resources.hpp"
#include "gmd/engine/metrics.hpp"
#include "gmd/engine/model_io.hpp"
#include "gmd/engine/predictor.hpp"
#include "gmd/io/labels.hpp"
#include "gmd/io/nifti.hpp"
#include "gmd/io/preprocess.hpp"
#include "gmd/pipeline/dataset.hpp"
#include "pipeline_internal.hpp"
#include "gmd/engine/threads.hpp"
#include "resample.hpp"

namespace gmd::pipeline {
namespace fs = std::filesystem;

int set_threads(int n) { return engine::set_threads(n); }
int available_cores() { return engine::available_cores(); }

// ---------------------------------------------------------------- Model
Model Model::load(const fs::path& run_or_file) {
  Model m;
  m.impl = std::make_shared<Impl>();
  m.impl->loaded = engine::load_model(run_or_file, torch::kCPU);
  m.impl->loaded.model->eval();
  m.impl->params = preprocess_from_json(m.impl->loaded.card);
  m.impl->params.multiple = std::max<int>(m.impl->params.multiple,
                                          static_cast<int>(m.impl->loaded.model->config().multiple()));
  const auto& card = m.impl->loaded.card;
  if (card.contains("preprocessing") && card["preprocessing"].contains("spacing")) {
    try {
      m.impl->spacing = card["preprocessing"]["spacing"].get<std::array<double, 3>>();
    } catch (const std::exception&) {
      throw InputError(run_or_file.string() + ": model.json preprocessing.spacing is not a list of 3 numbers");
    }
  }
  m.impl->accuracy = accuracy_table(card, m.impl->loaded.dir.string());
  return m;
}

namespace {
bool is_model_dir(const fs::path& d) { return fs::exists(d / run_files::kWeights) && fs::exists(d / run_files::kCard); }
}  // namespace

fs::path Model::default_path() {
  const auto places = resource_places("models/default", "GMD_MODEL_DIR", GMD_SOURCE_RESOURCES);
  for (const auto& c : places)
    if (is_model_dir(c.path)) return c.path;
  std::string where;
  for (const auto& c : places) where += " " + c.path.string();
  throw InputError("the bundled default model was not found (looked in:" + where +
                   "); set GMD_MODEL_DIR or pass a model explicitly");
}

std::string installation_report() {
  std::ostringstream out;
  out << "executable: " << executable_path().string() << "\n";
  // Each resource: the first place that holds it, and how it was found; else every place looked at.
  const auto report = [&](const char* what, const std::vector<ResourcePlace>& places, auto holds) {
    for (const auto& p : places)
      if (holds(p.path)) {
        out << what << ": " << p.path.string() << " (" << p.how << ")\n";
        return;
      }
    out << what << ": not found (looked in";
    for (const auto& p : places) out << " " << p.path.string();
    out << ")\n";
  };
  report("model", resource_places("models/default", "GMD_MODEL_DIR", GMD_SOURCE_RESOURCES), is_model_dir);
  report("demo case", resource_places("demo", "GMD_DEMO_DIR", GMD_SOURCE_RESOURCES, true), [](const fs::path& d) {
    std::error_code ec;
    return fs::is_directory(d, ec) && !fs::is_empty(d, ec);
  });
  report("colour table", resource_places("colors", nullptr, GMD_SOURCE_RESOURCES),
         [](const fs::path& d) { return fs::is_regular_file(d / "brats.json"); });
  return out.str();
}

SubsetMask Model::modalities() const { return impl->loaded.model->config().modalities; }
std::string Model::method() const { return engine::method_name(impl->loaded.model->config().method); }
const nlohmann::json& Model::card() const { return impl->loaded.card; }
fs::path Model::path() const { return impl->loaded.dir; }
const std::optional<AccuracyTable>& Model::accuracy() const { return impl->accuracy; }
Trust Model::expected_trust(SubsetMask used) const { return pipeline::expected_trust(impl->accuracy, used, modalities()); }

std::string Model::summary() const {
  const auto& card = impl->loaded.card;
  const auto& cfg = impl->loaded.model->config();
  std::ostringstream s;
  s << "Model: " << impl->loaded.dir.string() << "\n";
  s << "Method: " << method() << "\n";
  s << "Modalities: " << subset_name(cfg.modalities) << "\n";
  s << "Widths:";
  for (auto w : cfg.widths) s << ' ' << w;
  s << "\nParameters: " << engine::parameter_count(impl->loaded.model) << "\n";
  for (const char* key : {"description", "data", "training", "metrics", "limitations", "intended_use"}) {
    if (card.contains(key)) s << key << ": " << (card[key].is_string() ? card[key].get<std::string>() : card[key].dump()) << "\n";
  }
  return s.str();
}

std::string Model::check_usable(SubsetMask use) const {
  if (use == 0) return "no modality selected";
  const SubsetMask known = modalities();
  const SubsetMask unknown = use & static_cast<SubsetMask>(~known) & kFullMask;
  if (unknown)
    return "the model was trained for " + subset_name(known) + " only and cannot use " + subset_name(unknown) +
           "; untick it or choose another model";
  return {};
}

// ---------------------------------------------------------------- helpers
std::array<double, 3> region_volumes_ml(const LabelMap& labels) {
  const auto counts = io::region_voxel_counts(labels.voxels);
  const double v = labels.geom.voxel_volume_ml();
  return {counts[0] * v, counts[1] * v, counts[2] * v};
}

std::array<double, 3> label_volumes_ml(const LabelMap& labels) {
  std::array<int64_t, 3> c{0, 0, 0};
  for (auto l : labels.voxels) {
    if (l == 1) ++c[0];
    else if (l == 2) ++c[1];
    else if (l == 4 || l == 3) ++c[2];
  }
  const double v = labels.geom.voxel_volume_ml();
  return {c[0] * v, c[1] * v, c[2] * v};
}

namespace detail {

io::Case restrict_case(const io::Case& c, SubsetMask use) {
  io::Case r;
  r.id = c.id;
  r.geom = c.geom;
  r.seg = c.seg;
  r.files = c.files;
  for (int m = 0; m < kNumModalities; ++m)
    if (subset_has(use, m)) r.images[m] = c.images[m];
  return r;
}

void check_case_for_model(const Model& model, const io::Case& c, SubsetMask use) {
  if (use == 0) throw InputError(c.id + ": no modality selected");
  const SubsetMask missing = use & static_cast<SubsetMask>(~c.present()) & kFullMask;
  if (missing) throw InputError(c.id + ": " + subset_name(missing) + " requested but not present in the case");
  const std::string why = model.check_usable(use);
  if (!why.empty()) throw InputError(why);
}

std::vector<torch::Tensor> run_model(const Model& model, const io::Preprocessed& pp, const std::vector<SubsetMask>& subsets,
                                     const SegmentOptions& opt, const Progress& progress, std::string* device_name) {
  const torch::Device device = engine::resolve_device(opt.device);
  if (device_name) *device_name = device.is_cuda() ? "cuda" : "cpu";
  const engine::Sample sample = to_sample(pp, "case");
  engine::PredictOptions po;
  const int64_t mult = model.impl->loaded.model->config().multiple();
  if (opt.patch != 0 && (opt.patch < mult || opt.patch > 1024 || opt.patch % mult != 0))
    throw UsageError(fmt::format("--patch {}: the sliding window must be a multiple of {} (the network has {} levels) "
                                 "from {} to 1024, e.g. {}",
                                 opt.patch, mult, model.impl->loaded.model->config().widths.size(), mult,
                                 std::max<int64_t>(mult, 96 / mult * mult)));
  po.patch = opt.patch > 0 ? opt.patch : model.card().value("/inference/patch"_json_pointer, int64_t{96});
  po.overlap = opt.overlap;
  if (progress.report) po.progress = [&](double f) { progress.report("segmenting", f); };
  po.cancelled = progress.cancelled;
  std::lock_guard<std::mutex> lock(model.impl->mutex);
  auto& net = model.impl->loaded.model;
  net->to(device);
  net->eval();
  return engine::predict_subsets(*net, sample.image, pp.present, subsets, device, po);
}

std::vector<uint8_t> probs_to_masked_labels(const torch::Tensor& probs, const io::Preprocessed& pp, int64_t et_min) {
  torch::Tensor lab = engine::probs_to_labels(probs, 0.5, et_min).contiguous();
  std::vector<uint8_t> out(static_cast<size_t>(lab.numel()));
  std::memcpy(out.data(), lab.data_ptr<uint8_t>(), out.size());
  for (size_t i = 0; i < out.size(); ++i)
    if (!pp.mask[i]) out[i] = 0;  // no tumour outside the brain mask
  return out;
}

std::vector<LabelMap> predict_case(const Model& model, const io::Case& c, const std::vector<SubsetMask>& subsets,
                                       const SegmentOptions& opt, const Progress& progress, std::string* device_name,
                                       Agreement* agreement) {
  const auto& spacing = model.impl->spacing;
  const bool rs = spacing && needs_resampling(c.geom, *spacing);
  std::optional<io::Case> resampled;
  if (rs) {
    if (progress.report) progress.report("resampling to the model's spacing", 0.0);
    resampled = resample_case(c, resampled_geometry(c.geom, *spacing));
  }
  const io::Case& work = rs ? *resampled : c;
  if (progress.report) progress.report("preprocessing", 0.0);
  const io::Preprocessed pp = io::preprocess(work, model.impl->params);
  auto probs = run_model(model, pp, subsets, opt, progress, device_name);
  if (progress.report) progress.report("restoring geometry", 1.0);
  std::vector<LabelMap> out;
  if (agreement) {
    // Every subset thresholded on the model's grid and counted; only the last one goes on as a label map.
    std::vector<LabelMap> each;
    for (const auto& p : probs) each.push_back(io::restore_labels(probs_to_masked_labels(p, pp, opt.et_min_voxels), pp));
    *agreement = agreement_from_labels(each, c.present());
    if (rs)
      for (auto& f : agreement->fraction) f = resample_linear(f, c.geom);
    probs.erase(probs.begin(), probs.end() - 1);
    if (!rs) {
      out.push_back(std::move(each.back()));
      return out;
    }
  }
  if (!rs) {
    for (const auto& p : probs) out.push_back(io::restore_labels(probs_to_masked_labels(p, pp, opt.et_min_voxels), pp));
    return out;
  }
  // Probabilities back to the case's own grid (linear), then threshold there; brain mask of the original images.
  const auto& g = c.geom;
  const int64_t D = g.size[2], H = g.size[1], W = g.size[0];
  std::vector<uint8_t> brain(g.voxel_count(), 0);
  for (const auto& img : c.images)
    if (img)
      for (size_t i = 0; i < brain.size(); ++i) brain[i] |= img->voxels[i] != 0.0f;
  for (const auto& p : probs) {
    torch::Tensor full = torch::empty({3, D, H, W}, torch::kFloat32);
    for (int r = 0; r < 3; ++r) {
      torch::Tensor ch = p[r].contiguous();
      std::vector<float> v(ch.data_ptr<float>(), ch.data_ptr<float>() + ch.numel());
      const Image back = resample_linear(io::restore_image(v, pp), g);
      std::memcpy(full[r].data_ptr<float>(), back.voxels.data(), sizeof(float) * back.voxels.size());
    }
    torch::Tensor lab = engine::probs_to_labels(full, 0.5, opt.et_min_voxels).contiguous();
    LabelMap lm;
    lm.geom = g;
    lm.voxels.assign(lab.data_ptr<uint8_t>(), lab.data_ptr<uint8_t>() + lab.numel());
    for (size_t i = 0; i < brain.size(); ++i)
      if (!brain[i]) lm.voxels[i] = 0;
    out.push_back(std::move(lm));
  }
  return out;
}

}  // namespace detail

// ---------------------------------------------------------------- segment
Segmentation segment(const Model& model, const io::Case& c, SubsetMask use, const SegmentOptions& opt,
                     const Progress& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  detail::check_case_for_model(model, c, use);
  Segmentation seg;
  seg.used = use;
  if (opt.agreement) {
    Agreement a;
    seg.labels = std::move(detail::predict_case(model, detail::restrict_case(c, use), subsets_within(use), opt, progress,
                                                &seg.device, &a).at(0));
    summarise_agreement(a, seg.labels);
    seg.agreement = std::move(a);
  } else {
    seg.labels = std::move(detail::predict_case(model, detail::restrict_case(c, use), {use}, opt, progress, &seg.device).at(0));
  }
  seg.trust = model.expected_trust(use);
  seg.region_ml = region_volumes_ml(seg.labels);
  seg.label_ml = label_volumes_ml(seg.labels);
  seg.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  spdlog::info("segmented {} with {} on {} in {:.1f} s", c.id, subset_name(use), seg.device, seg.seconds);
  return seg;
}

// ---------------------------------------------------------------- ablate
Ablation ablate(const Model& model, const io::Case& c, const SegmentOptions& opt, const Progress& progress) {
  const SubsetMask present = c.present() & model.modalities();
  detail::check_case_for_model(model, c, present);
  const std::vector<SubsetMask> subsets = subsets_within(present);
  auto labels = detail::predict_case(model, detail::restrict_case(c, present), subsets, opt, progress, nullptr);
  Ablation a;
  a.against_truth = c.seg.has_value();
  a.reference_subset = present;
  for (size_t i = 0; i < subsets.size(); ++i) {
    AblationEntry e;
    e.subset = subsets[i];
    e.labels = std::move(labels[i]);
    e.region_ml = region_volumes_ml(e.labels);
    a.entries.push_back(std::move(e));
  }
  const LabelMap& ref = a.against_truth ? *c.seg : a.entries.back().labels;  // last = all present
  const auto& g = c.geom;
  const std::array<int64_t, 3> dims{int64_t(g.size[2]), int64_t(g.size[1]), int64_t(g.size[0])};
  const std::array<double, 3> spacing{g.spacing[2], g.spacing[1], g.spacing[0]};
  for (auto& e : a.entries) {
    const auto sc = engine::score_labels(e.labels.voxels, ref.voxels, dims, spacing);
    e.dice = sc.dice;
    e.hd95 = sc.hd95;
  }
  return a;
}

std::string ablation_csv(const Ablation& a) {
  std::ostringstream s;
  s << "subset,modalities,n_modalities,reference,wt_dice,tc_dice,et_dice,wt_hd95,tc_hd95,et_hd95,wt_ml,tc_ml,et_ml\n";
  s.setf(std::ios::fixed);
  s.precision(4);
  for (const auto& e : a.entries) {
    s << '"' << subset_name(e.subset) << "\",\"" << subset_keys(e.subset) << "\"," << subset_size(e.subset) << ','
      << (a.against_truth ? "ground_truth" : "all_present_prediction");
    for (double d : e.dice) s << ',' << d;
    for (double h : e.hd95) s << ',' << h;
    for (double v : e.region_ml) s << ',' << v;
    s << '\n';
  }
  return s.str();
}

void write_ablation(const Ablation& a, const fs::path& out_dir) {
  // All label maps and the table, or none of them (no zero-byte label maps on a full disk).
  write_folder_atomically(out_dir, [&](const fs::path& dir) {
    for (const auto& e : a.entries) {
      std::string name = subset_keys(e.subset);
      std::replace(name.begin(), name.end(), ',', '_');
      io::write_labels(dir / (name + ".nii.gz"), e.labels);
    }
    write_text_atomically(dir / "ablation.csv", ablation_csv(a));
  });
}

}  // namespace gmd::pipeline
