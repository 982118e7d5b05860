#include "gui_test_util.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <mutex>

namespace gmd::test {

fs::path scratch_dir(const std::string& name) {
  const fs::path p = fs::path(GMD_BINARY_DIR) / "tests" / "gui" / "scratch" / (name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

LabelMap tiny_labels(const TinyCaseSpec& spec) {
  LabelMap l;
  l.geom.size = spec.size;
  l.geom.spacing = spec.spacing;
  l.geom.direction = spec.direction;
  l.voxels.assign(l.geom.voxel_count(), 0);
  for (std::size_t z = 0; z < spec.size[2]; ++z)
    for (std::size_t y = 0; y < spec.size[1]; ++y)
      for (std::size_t x = 0; x < spec.size[0]; ++x) {
        const double dx = (x - spec.tumour[0]) * spec.spacing[0], dy = (y - spec.tumour[1]) * spec.spacing[1],
                     dz = (z - spec.tumour[2]) * spec.spacing[2];
        const double r = std::sqrt(dx * dx + dy * dy + dz * dz);
        std::uint8_t v = 0;
        if (r <= 3.0) v = 4;
        else if (r <= 4.5) v = 1;
        else if (r <= 8.0) v = 2;
        l.at(x, y, z) = v;
      }
  return l;
}

fs::path write_tiny_case(const fs::path& parent, const std::string& id, const TinyCaseSpec& spec) {
  const fs::path dir = parent / id;
  fs::create_directories(dir);
  const LabelMap labels = tiny_labels(spec);
  // Brain: an ellipsoid filling most of the volume; per-modality tumour contrast.
  const std::array<std::array<float, 5>, 4> contrast{{
      // background-brain, ED, NCR, (unused), ET
      {300, 520, 380, 0, 420},  // FLAIR: edema bright
      {400, 330, 250, 0, 380},  // T1
      {380, 360, 200, 0, 700},  // T1ce: ET bright, necrosis dark
      {350, 600, 650, 0, 500},  // T2
  }};
  for (int m = 0; m < kNumModalities; ++m) {
    if (!subset_has(spec.modalities, m)) continue;
    Image img;
    img.geom = labels.geom;
    img.voxels.assign(img.geom.voxel_count(), 0.0f);
    for (std::size_t z = 0; z < spec.size[2]; ++z)
      for (std::size_t y = 0; y < spec.size[1]; ++y)
        for (std::size_t x = 0; x < spec.size[0]; ++x) {
          const double ex = (x - (spec.size[0] - 1) / 2.0) / (spec.size[0] * 0.46);
          const double ey = (y - (spec.size[1] - 1) / 2.0) / (spec.size[1] * 0.46);
          const double ez = (z - (spec.size[2] - 1) / 2.0) / (spec.size[2] * 0.46);
          if (ex * ex + ey * ey + ez * ez > 1.0) continue;
          const std::uint8_t l = labels.at(x, y, z);
          float v = l == 0 ? contrast[m][0] : contrast[m][l];
          v += static_cast<float>(20.0 * std::sin(0.7 * x + 0.3 * m) * std::cos(0.5 * y + 0.2 * z));  // texture
          img.at(x, y, z) = v;
        }
    io::write_image(dir / (id + "_" + std::string(modality_key(m)) + ".nii.gz"), img);
  }
  if (spec.with_seg) io::write_labels(dir / (id + "_seg.nii.gz"), labels);
  return dir;
}

int run_gmd(const std::string& args, std::string* output) {
  const std::string cmd = std::string(GMD_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf{};
  std::string out;
  while (fgets(buf.data(), static_cast<int>(buf.size()), p)) out += buf.data();
  const int st = pclose(p);
  if (output) *output = out;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

namespace {
struct Fixture {
  fs::path root, data;
  std::string log;
  bool ok = false;
};
// The tiny dataset (synthesised once per process).
Fixture& dataset() {
  static Fixture f;
  static std::once_flag once;
  std::call_once(once, [] {
    f.root = scratch_dir("models");
    f.data = f.root / "data";
    std::string out;
    f.ok = run_gmd("synth --out " + f.data.string() + " --cases 2 --seed 11 --size small", &out) == 0;
    if (!f.ok) f.log = "gmd synth failed: " + out;
  });
  return f;
}

fs::path train(const std::string& name, const fs::path& data, const std::string& args, std::string* why) {
  const fs::path run = dataset().root / name;
  std::string out;
  if (run_gmd("train --data " + data.string() + " --out " + run.string() + " " + args, &out) != 0) {
    if (why) *why = "gmd train failed: " + out;
    return {};
  }
  return run;
}
}  // namespace

fs::path tiny_model(std::string* why) {
  static fs::path run;
  static std::string log;
  static std::once_flag once;
  std::call_once(once, [] {
    if (!dataset().ok) {
      log = dataset().log;
      return;
    }
    run = train("run", dataset().data,
                "--method ds-gmd --steps 2 --patch 32 --widths 4,8 --k 3 --val-cases 0 --val-every 0 --device cpu "
                "--seed 3",
                &log);
  });
  if (why) *why = log;
  return run;
}

fs::path tiny_model_without_t2(std::string* why) {
  static fs::path run;
  static std::string log;
  static std::once_flag once;
  std::call_once(once, [] {
    if (!dataset().ok) {
      log = dataset().log;
      return;
    }
    const fs::path partial = dataset().root / "data_no_t2";
    for (const auto& c : fs::directory_iterator(dataset().data)) {
      if (!c.is_directory()) continue;
      fs::create_directories(partial / c.path().filename());
      for (const auto& f : fs::directory_iterator(c.path()))
        if (f.path().filename().string().find("_t2.") == std::string::npos)
          fs::copy_file(f.path(), partial / c.path().filename() / f.path().filename());
    }
    run = train("run_no_t2", partial,
                "--method ds --steps 1 --patch 32 --widths 4,8 --val-cases 0 --val-every 0 --device cpu --seed 3", &log);
  });
  if (why) *why = log;
  return run;
}

fs::path tiny_dataset() { return dataset().data; }

void pump(int ms) {
  QEventLoop loop;
  QTimer::singleShot(ms, &loop, &QEventLoop::quit);
  loop.exec();
}

}  // namespace gmd::test
