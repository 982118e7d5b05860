// gmd_fuzz_seeds OUT: writes the seed corpus of every fuzz target, OUT/<target>/seed-*, from synthetic data made here
// with the project's own writers (gmd::io::write_image / write_labels, gmd::engine::save_model): tiny BraTS-like
// 8x8x8 cases (a bright sphere with a necrotic core in noise, its label map 0/1/2/4), .nii and .nii.gz, model cards
// and a tiny model.pt, metrics.jsonl streams (tests/panels/data/metrics_small.jsonl and generated runs).
// Deterministic: the same bytes every run. tools/fuzz.sh runs it before fuzzing; nothing here is committed.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "fuzz_util.hpp"
#include "gmd/io/nifti.hpp"
#include "model_fixture.hpp"

namespace {
using namespace gmd::fuzz;
fs::path g_out;

void seed(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(g_out / target);
  write_file(g_out / target / ("seed-" + name), bytes);
}

gmd::Geometry geom(std::size_t nx, std::size_t ny, std::size_t nz) {
  gmd::Geometry g;
  g.size = {nx, ny, nz};
  return g;
}

// A synthetic modality: noise + a bright sphere (tumour) with a dark core; and its BraTS label map.
gmd::Image synth_image(const gmd::Geometry& g, unsigned seed_value, float scale) {
  std::mt19937 rng(seed_value);
  std::normal_distribution<float> noise(0.0f, 0.05f);
  gmd::Image img;
  img.geom = g;
  img.voxels.resize(g.voxel_count());
  const double cx = g.size[0] / 2.0, cy = g.size[1] / 2.0, cz = g.size[2] / 2.0;
  for (std::size_t z = 0; z < g.size[2]; ++z)
    for (std::size_t y = 0; y < g.size[1]; ++y)
      for (std::size_t x = 0; x < g.size[0]; ++x) {
        const double r = std::sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy) + (z - cz) * (z - cz));
        const float v = r < 1.5 ? 0.2f : r < 3.0 ? 1.0f : 0.5f;
        img.at(x, y, z) = scale * (v + noise(rng));
      }
  return img;
}

gmd::LabelMap synth_labels(const gmd::Geometry& g) {
  gmd::LabelMap l;
  l.geom = g;
  l.voxels.resize(g.voxel_count());
  const double cx = g.size[0] / 2.0, cy = g.size[1] / 2.0, cz = g.size[2] / 2.0;
  for (std::size_t z = 0; z < g.size[2]; ++z)
    for (std::size_t y = 0; y < g.size[1]; ++y)
      for (std::size_t x = 0; x < g.size[0]; ++x) {
        const double r = std::sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy) + (z - cz) * (z - cz));
        l.at(x, y, z) = r < 1.5 ? 1 : r < 2.5 ? 4 : r < 3.5 ? 2 : 0;
      }
  return l;
}

// fuzz_nifti inputs: flag byte + file bytes (see fuzz_nifti.cpp).
void nifti_seeds() {
  const fs::path tmp = scratch() / "nifti";
  fs::create_directories(tmp);
  auto image_file = [&](const gmd::Image& img, const std::string& name) {
    gmd::io::write_image(tmp / name, img);
    return read_file(tmp / name);
  };
  auto flagged = [](unsigned flag, const std::string& bytes) {
    return std::string(1, static_cast<char>(flag)) + bytes;
  };

  const auto g = geom(8, 8, 8);
  const std::string nii = image_file(synth_image(g, 1, 100.0f), "a.nii");
  const std::string niigz = image_file(synth_image(g, 1, 100.0f), "a.nii.gz");
  seed("fuzz_nifti", "flair.nii", flagged(0, nii));
  seed("fuzz_nifti", "flair-upper.NII", flagged(3, nii));
  seed("fuzz_nifti", "flair.nii.gz-stream", flagged(2, niigz));
  seed("fuzz_nifti", "flair.nii-gzipped", flagged(1, nii));
  seed("fuzz_nifti", "flair-truncated.nii", flagged(0, nii.substr(0, nii.size() - 100)));
  // Anisotropic spacing, an oblique direction and an origin (sform/qform both set by ITK's writer).
  auto g2 = geom(8, 6, 5);
  g2.spacing = {1.0, 1.5, 2.5};
  g2.origin = {-10.0, 20.5, 3.0};
  const double c = std::cos(0.3), s = std::sin(0.3);
  g2.direction = {c, -s, 0, s, c, 0, 0, 0, 1};
  seed("fuzz_nifti", "t1ce-oblique.nii", flagged(0, image_file(synth_image(g2, 2, 1000.0f), "b.nii")));
  gmd::Image zero;
  zero.geom = geom(4, 4, 4);
  zero.voxels.assign(64, 0.0f);
  const std::string zero_nii = image_file(zero, "z.nii");
  seed("fuzz_nifti", "zero.nii", flagged(0, zero_nii));
  seed("fuzz_nifti", "zero-allowed.nii", flagged(8, zero_nii));
  gmd::Image flat = synth_image(geom(8, 8, 1), 3, 10.0f);  // one slice: "2D" error path
  seed("fuzz_nifti", "slice.nii", flagged(0, image_file(flat, "s.nii")));
  gmd::io::write_labels(tmp / "seg.nii", synth_labels(g));
  gmd::io::write_labels(tmp / "seg.nii.gz", synth_labels(g));
  seed("fuzz_nifti", "seg.nii", flagged(4, read_file(tmp / "seg.nii")));
  seed("fuzz_nifti", "seg.nii.gz-stream", flagged(6, read_file(tmp / "seg.nii.gz")));
}

// fuzz_case inputs: folder name, then kind byte + name per line (see fuzz_case.cpp).
void case_seeds() {
  auto files = [](const std::string& folder, const std::vector<std::string>& names) {
    std::string s = folder;
    for (const auto& n : names) s += "\n0" + n;
    return s;
  };
  seed("fuzz_case", "brats2021",
       files("BraTS2021_00001",
             {"BraTS2021_00001_flair.nii.gz", "BraTS2021_00001_t1.nii.gz", "BraTS2021_00001_t1ce.nii.gz",
              "BraTS2021_00001_t2.nii.gz", "BraTS2021_00001_seg.nii.gz"}));
  seed("fuzz_case", "brats2023",
       files("BraTS-GLI-00000-000",
             {"BraTS-GLI-00000-000-t2f.nii.gz", "BraTS-GLI-00000-000-t1n.nii.gz", "BraTS-GLI-00000-000-t1c.nii.gz",
              "BraTS-GLI-00000-000-t2w.nii.gz", "BraTS-GLI-00000-000-seg.nii.gz"}));
  seed("fuzz_case", "missing-and-upper",
       files("case_7", {"CASE_7_T1CE.NII", "case_7_t1.nii", "notes.txt", "._case_7_t2.nii.gz"}));
  seed("fuzz_case", "duplicate", files("dup", {"a_t1.nii", "b_T1.nii.gz", "a_t1gd.nii"}));
  seed("fuzz_case", "dirs-links", std::string("x\n2x_flair.nii\n3x_t2.nii.gz\n0x_t1.nii.gz\n1t1.nii"));
  seed("fuzz_case", "synth",
       files("synth_000", {"synth_000_flair.nii.gz", "synth_000_t1.nii.gz", "synth_000_t1ce.nii.gz",
                           "synth_000_t2.nii.gz", "synth_000_seg.nii.gz"}));
}

void model_seeds() {
  using gmd::engine::Method;
  using gmd::engine::NetConfig;
  const fs::path tmp = scratch() / "models";
  std::vector<std::pair<std::string, NetConfig>> configs;
  configs.emplace_back("tiny-ds", tiny_net());
  NetConfig v = tiny_net();
  v.method = Method::Vanilla;
  v.widths = {2, 4};
  configs.emplace_back("vanilla", v);
  NetConfig u = tiny_net();
  u.method = Method::Unimodal;
  u.modalities = 0b0101;
  configs.emplace_back("unimodal", u);
  NetConfig f = tiny_net();
  f.method = Method::DSGMD;
  f.widths = {2, 4, 4};
  f.fusion = gmd::engine::Fusion::Feature;
  f.modality_stem = true;
  f.half_mid = true;
  configs.emplace_back("ds-gmd-feature-stem-half", f);
  for (const auto& [name, cfg] : configs) {
    write_model(tmp / name, cfg);
    seed("fuzz_model_json", name + ".json", read_file(tmp / name / "model.json"));
  }
  seed("fuzz_model_json", "bare-net.json", R"({"net":{"method":"ds","widths":[2]}})");
  const fs::path def = fs::path(GMD_SOURCE_DIR) / "resources/models/default/model.json";
  if (fs::exists(def)) seed("fuzz_model_json", "default-model.json", read_file(def));
  // fuzz_model_pt loads its input next to the card of tiny_net(): the matching weights, and another network's.
  seed("fuzz_model_pt", "tiny-ds.pt", read_file(tmp / "tiny-ds" / "model.pt"));
  seed("fuzz_model_pt", "vanilla.pt", read_file(tmp / "vanilla" / "model.pt"));
}

// fuzz_metrics inputs: chunk byte + metrics.jsonl bytes (see fuzz_metrics.cpp).
void metrics_seeds() {
  const fs::path small = fs::path(GMD_SOURCE_DIR) / "tests/panels/data/metrics_small.jsonl";
  if (fs::exists(small)) seed("fuzz_metrics", "metrics_small.jsonl", std::string("\x07") + read_file(small));
  const char* names[] = {"FLAIR", "T1ce", "FLAIR+T2", "T1+T1ce+T2"};
  std::string run =
      "\x05{\"type\":\"config\",\"config\":{\"steps\":6,\"method\":\"ds-gmd\",\"k\":3},\"method\":\"ds-gmd\","
      "\"subset_names\":[\"FLAIR\",\"T1ce\",\"FLAIR+T2\",\"T1+T1ce+T2\"]}\n";
  char buf[1024];
  for (int s = 1; s <= 6; ++s) {
    const char* a = names[s % 4];
    const char* b = names[(s + 1) % 4];
    const char* c = names[(s + 2) % 4];
    std::snprintf(
        buf, sizeof buf,
        "{\"type\":\"step\",\"step\":%d,\"loss\":%.3f,\"losses\":{\"%s\":0.5,\"%s\":0.4,\"%s\":0.3},"
        "\"subsets\":[\"%s\",\"%s\",\"%s\"],\"lr\":0.001,\"time_s\":0.5,\"elapsed_s\":%d.5,"
        "\"gmd\":{\"cos\":[[1,-0.2,0.1],[-0.2,1,0.3],[0.1,0.3,1]],\"cos_after\":[[1,0,0.1],[0,1,0.3],[0.1,0.3,1]],"
        "\"norms\":[1.5,0.5,2],\"weights\":[1,1.2,0.9],\"conflicts\":1}}\n",
        s, 1.0 / s, a, b, c, a, b, c, s);
    run += buf;
    if (s % 3 == 0) {
      std::snprintf(buf, sizeof buf,
                    "{\"type\":\"val\",\"step\":%d,\"dice\":{\"WT\":0.%d,\"TC\":0.4,\"ET\":0.2},"
                    "\"dice_subsets\":{\"FLAIR\":[0.5,0.3,0.1],\"T1ce\":[0.4,0.5,0.6]}}\n",
                    s, s);
      run += buf;
    }
  }
  seed("fuzz_metrics", "ds-gmd-run.jsonl", run);
  // A resumed run (steps go back), CRLF line ends, a torn last line.
  seed(
      "fuzz_metrics", "resumed-crlf-torn.jsonl",
      "\x02{\"type\":\"step\",\"step\":5,\"loss\":0.3}\r\n{\"type\":\"step\",\"step\":6,\"loss\":0.2}\r\n"
      "{\"type\":\"step\",\"step\":4,\"loss\":0.25,\"subsets\":[\"T1\"]}\r\n{\"type\":\"val\",\"step\":4,\"dice\":{}}\n"
      "[1,2]\n{\"type\":\"step\",\"ste");
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: gmd_fuzz_seeds OUT_DIR\n");
    return 2;
  }
  g_out = argv[1];
  torch::set_num_threads(1);
  nifti_seeds();
  case_seeds();
  model_seeds();
  metrics_seeds();
  std::size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(g_out)) n += e.is_regular_file();
  std::printf("gmd_fuzz_seeds: %zu seed files in %s\n", n, g_out.c_str());
  return 0;
}
