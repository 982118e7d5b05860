// End-to-end checks of the `gmd` CLI contract on tiny synthetic data (CPU).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <unistd.h>

#include "gmd/common/regions.hpp"
#include "gmd/common/train_request.hpp"
#include "../common/unusual_request.hpp"
#include "cli_run.hpp"
#include "gmd/io/case.hpp"
#include "gmd/io/dicom.hpp"
#include "gmd/io/dicom_seg.hpp"
#include "gmd/io/labels.hpp"
#include "gmd/io/nifti.hpp"
#include "gmd/io/resample.hpp"

namespace fs = std::filesystem;

namespace {
const std::string kGmd = std::string(GMD_BINARY_DIR) + "/app/gmd/gmd";

using gmd_test::Result;
using gmd_test::run_command;
Result run(const std::string& args) { return run_command(kGmd + " " + args); }
Result run_shell(const std::string& script) { return run_command("bash -c '" + script + "'"); }
std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One tiny dataset and one tiny trained model shared by all tests of this file.
// CTest runs every test in its own process, and making them (gmd synth + gmd train) was most of each test's time
// (about 16 s in the test preset, over a minute under AddressSanitizer). They are therefore made once per gmd binary
// in the build tree (`cli-fixture/`, guarded by a lock file, valid while `stamp` names this binary's size and mtime and
// the commands) and copied into each process's own folder, so tests can never see each other's writes.
// A failure while making them is kept in setup_error and reported by every test's SetUp: a failed assertion in
// SetUpTestSuite itself makes GoogleTest mark the tests SKIPPED, which CTest counts as skipped, not failed.
class CliTest : public ::testing::Test {
 protected:
  static fs::path root, data, run_dir;
  static std::string setup_error;
  void SetUp() override { ASSERT_TRUE(setup_error.empty()) << setup_error; }

  static std::string make_fixture(const fs::path& d, const fs::path& r) {
    auto s = run("synth --out " + d.string() + " --cases 3 --seed 11 --size small");
    if (s.rc != 0) return "gmd synth exited with " + std::to_string(s.rc) + ":\n" + s.out;
    auto t = run("train --data " + d.string() + " --method ds-gmd --out " + r.string() + kTrainArgs);
    if (t.rc != 0) return "gmd train exited with " + std::to_string(t.rc) + ":\n" + t.out;
    return "";
  }
  static constexpr const char* kTrainArgs =
      " --steps 3 --patch 32 --widths 4,8,16 --k 3 --val-cases 1 --val-every 0 --checkpoint-every 2 "
      "--device cpu --seed 3 --infer-patch 64";

  // The shared copy: made under an exclusive lock by the first process that finds it missing or stale.
  static std::string shared_fixture(fs::path& shared) {
    const fs::path base = fs::path(GMD_BINARY_DIR) / "cli-fixture";
    std::error_code ec;
    fs::create_directories(base, ec);
    const int fd = ::open((base / "lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0) return "cannot open " + (base / "lock").string() + ": " + std::strerror(errno);
    if (::flock(fd, LOCK_EX) != 0) {
      ::close(fd);
      return "cannot lock " + (base / "lock").string();
    }
    const auto mtime = fs::last_write_time(kGmd, ec).time_since_epoch().count();
    const std::string stamp = std::to_string(fs::file_size(kGmd, ec)) + " " + std::to_string(mtime) + "\n" +
                              kTrainArgs + "\n";
    shared = base / "ready";
    std::string err;
    if (slurp(base / "stamp") != stamp || !fs::exists(shared / "run" / "model.pt")) {
      fs::remove(base / "stamp", ec);
      fs::remove_all(shared, ec);
      err = make_fixture(shared / "data", shared / "run");
      if (err.empty()) {
        std::ofstream(base / "stamp.tmp") << stamp;
        fs::rename(base / "stamp.tmp", base / "stamp", ec);
        if (ec) err = "cannot write " + (base / "stamp").string() + ": " + ec.message();
      }
    }
    ::flock(fd, LOCK_UN);
    ::close(fd);
    return err;
  }

  static void SetUpTestSuite() {
    setup_error.clear();
    root = fs::temp_directory_path() / ("gmd_cli_test_" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    data = root / "data";
    run_dir = root / "run";
    fs::path shared;
    setup_error = shared_fixture(shared);
    if (!setup_error.empty()) return;
    std::error_code ec;
    fs::copy(shared / "data", data, fs::copy_options::recursive, ec);
    if (!ec) fs::copy(shared / "run", run_dir, fs::copy_options::recursive, ec);
    if (ec) setup_error = "cannot copy " + shared.string() + " to " + root.string() + ": " + ec.message();
  }
  static void TearDownTestSuite() { fs::remove_all(root); }
  static fs::path first_case() { return gmd::io::list_cases(data).at(0); }
};
fs::path CliTest::root, CliTest::data, CliTest::run_dir;
std::string CliTest::setup_error;
}  // namespace

TEST_F(CliTest, TrainWritesModelCardAndMetrics) {
  ASSERT_TRUE(fs::exists(run_dir / "model.pt"));
  const auto card = nlohmann::json::parse(slurp(run_dir / "model.json"));
  EXPECT_EQ(card["net"]["method"], "ds-gmd");
  EXPECT_EQ(card["net"]["widths"], nlohmann::json({4, 8, 16}));
  EXPECT_TRUE(card.contains("preprocessing"));
  EXPECT_EQ(card["preprocessing"]["spacing"].size(), 3u);
  std::ifstream m(run_dir / "metrics.jsonl");
  std::string line;
  int steps = 0;
  while (std::getline(m, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j.value("type", "") != "step") continue;
    ++steps;
    ASSERT_TRUE(j.contains("gmd")) << line;
    EXPECT_EQ(j["gmd"]["cos"].size(), j["subsets"].size());
    EXPECT_EQ(j["gmd"]["weights"].size(), j["subsets"].size());
  }
  EXPECT_EQ(steps, 3);
}

TEST_F(CliTest, SegmentKeepsGeometryAndPrintsVolumes) {
  const fs::path out = root / "seg.nii.gz";
  auto r = run("segment --model " + run_dir.string() + " --case " + first_case().string() +
               " --modalities flair,t2 --device cpu --out " + out.string());
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("WT"), std::string::npos);
  EXPECT_NE(r.out.find("mL"), std::string::npos);
  const auto files = gmd::io::discover_case(first_case());
  const auto img = gmd::io::read_image(*files.modality[0]);
  const auto lab = gmd::io::read_labels(out);
  EXPECT_EQ(lab.geom.difference(img.geom), "");
  for (auto v : lab.voxels) ASSERT_TRUE(v == 0 || v == 1 || v == 2 || v == 4);
}

TEST_F(CliTest, AblateWritesEverySubsetAndMatchesSegment) {
  const fs::path out = root / "ablate";
  auto r = run("ablate --model " + run_dir.string() + " --case " + first_case().string() + " --device cpu --out " +
               out.string());
  ASSERT_EQ(r.rc, 0) << r.out;
  const std::string csv = slurp(out / "ablation.csv");
  int lines = 0;
  for (char c : csv) lines += c == '\n';
  EXPECT_EQ(lines, 16);  // header + 15 subsets
  // Encode-once ablation equals a separate segmentation with that subset.
  const fs::path single = root / "single.nii.gz";
  ASSERT_EQ(run("segment --model " + run_dir.string() + " --case " + first_case().string() +
                " --modalities t1,t1ce --device cpu --out " + single.string()).rc, 0);
  EXPECT_EQ(gmd::io::read_labels(single).voxels, gmd::io::read_labels(out / "t1_t1ce.nii.gz").voxels);
}

TEST_F(CliTest, EvaluateWritesPaperTables) {
  const fs::path out = root / "eval";
  auto r = run("evaluate --model " + run_dir.string() + " --data " + data.string() + " --device cpu --out " + out.string());
  ASSERT_EQ(r.rc, 0) << r.out;
  for (const char* f : {"table2.md", "table2.csv", "table3.md", "per_case.csv", "summary.json"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  const std::string t2 = slurp(out / "table2.csv");
  EXPECT_NE(t2.find("FLAIR+T1+T1ce+T2"), std::string::npos);
  EXPECT_NE(t2.find("dice,ET"), std::string::npos);
  // per_case: 3 cases x 15 subsets x 3 regions + header
  const std::string pc = slurp(out / "per_case.csv");
  int lines = 0;
  for (char c : pc) lines += c == '\n';
  EXPECT_EQ(lines, 1 + 3 * 15 * 3);
}

TEST_F(CliTest, InfoPrintsCard) {
  auto r = run("info " + run_dir.string());
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("ds-gmd"), std::string::npos);
  EXPECT_NE(r.out.find("FLAIR+T1+T1ce+T2"), std::string::npos);
}

TEST_F(CliTest, InfoSaysWhereItFoundItsResourcesAlsoWhenRelocated) {
  // The build tree: the model from the source tree (nothing is installed next to the executable).
  auto r = run("info --paths");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("gmd " GMD_VERSION_FOR_TESTS), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("model: " + (fs::path(GMD_SOURCE_DIR) / "resources/models/default").string() + " (source tree)"),
            std::string::npos) << r.out;
  // An installed layout anywhere: PREFIX/bin/gmd finds PREFIX/share/gmd-studio/... by its own location.
  const fs::path prefix = root / "prefix";
  fs::create_directories(prefix / "bin");
  fs::create_directories(prefix / "share/gmd-studio/models");
  fs::copy_file(kGmd, prefix / "bin/gmd");
  fs::copy(fs::path(GMD_SOURCE_DIR) / "resources/models/default", prefix / "share/gmd-studio/models/default");
  fs::create_directories(prefix / "share/gmd-studio/colors");
  fs::copy_file(fs::path(GMD_SOURCE_DIR) / "resources/colors/brats.json", prefix / "share/gmd-studio/colors/brats.json");
  r = run_command((prefix / "bin/gmd").string() + " info");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("executable: " + (prefix / "bin/gmd").string()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("model: " + (prefix / "share/gmd-studio/models/default").string() + " (next to the executable)"),
            std::string::npos) << r.out;
  EXPECT_NE(r.out.find("colour table: " + (prefix / "share/gmd-studio/colors").string() + " (next to the executable)"),
            std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ds-gmd"), std::string::npos) << r.out;  // and the card of the model it found
  // GMD_MODEL_DIR overrides.
  r = run_command("GMD_MODEL_DIR=" + run_dir.string() + " " + (prefix / "bin/gmd").string() + " info --paths");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("model: " + run_dir.string() + " (GMD_MODEL_DIR)"), std::string::npos) << r.out;
  fs::remove_all(prefix);
}

// The thread count LibTorch runs with, from a run's metrics.jsonl config record.
int recorded_threads(const fs::path& run) {
  std::ifstream m(run / "metrics.jsonl");
  std::string line;
  while (std::getline(m, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j.value("type", "") == "config") return j.value("threads", -1);
  }
  return -1;
}

TEST_F(CliTest, ThreadsOptionIsHonoured) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  const int cores = CPU_COUNT(&set);
  // Default: every core this process may use (LibTorch's own default on our VMs is 1).
  EXPECT_EQ(recorded_threads(run_dir), cores);
  const fs::path r1 = root / "run_threads1";
  auto r = run("train --data " + data.string() + " --method ds --out " + r1.string() +
               " --steps 1 --patch 32 --widths 4,8 --val-cases 1 --val-every 0 --device cpu --threads 1");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(recorded_threads(r1), 1);
  EXPECT_NE(r.out.find("1 CPU threads"), std::string::npos) << r.out;
  r = run("segment --case " + first_case().string() + " --model " + run_dir.string() + " --threads -2 --out " +
          (root / "t.nii.gz").string());
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("--threads"), std::string::npos) << r.out;
}

TEST_F(CliTest, ResumeContinuesFromCheckpoint) {
  const fs::path r2 = root / "run_resume";
  const std::string base = "train --data " + data.string() + " --method ds --out " + r2.string() +
                           " --patch 32 --widths 4,8 --val-cases 1 --val-every 0 --checkpoint-every 2 --device cpu";
  ASSERT_EQ(run(base + " --steps 2").rc, 0);
  auto r = run(base + " --steps 4 --resume");
  ASSERT_EQ(r.rc, 0) << r.out;
  std::ifstream m(r2 / "metrics.jsonl");
  std::string line;
  std::vector<int> steps;
  while (std::getline(m, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j.value("type", "") == "step") steps.push_back(j["step"].get<int>());
  }
  ASSERT_EQ(steps.size(), 4u);
  for (size_t i = 0; i < steps.size(); ++i) EXPECT_GT(steps[i], i == 0 ? -1 : steps[i - 1]);
}

TEST_F(CliTest, BadInputsExitWithCode2AndNameTheProblem) {
  // Case folder without any modality.
  const fs::path empty = root / "empty_case";
  fs::create_directories(empty);
  auto r = run("segment --model " + run_dir.string() + " --case " + empty.string() + " --out " + (root / "x.nii.gz").string());
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find(empty.filename().string()), std::string::npos) << r.out;
  // Unknown modality name.
  r = run("segment --model " + run_dir.string() + " --case " + first_case().string() + " --modalities flair,dwi --out " +
          (root / "x.nii.gz").string());
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.out.find("dwi"), std::string::npos) << r.out;
  // Corrupt checkpoint.
  const fs::path bad = root / "bad_model";
  fs::create_directories(bad);
  fs::copy_file(run_dir / "model.json", bad / "model.json");
  { std::ofstream(bad / "model.pt") << "not a torch archive"; }
  r = run("info " + bad.string());
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("model.pt"), std::string::npos) << r.out;
  // Method name typo.
  r = run("train --data " + data.string() + " --method dsgnd --out " + (root / "r").string());
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.out.find("dsgnd"), std::string::npos) << r.out;
  // A model trained for fewer modalities asked for one it does not know.
  const fs::path partial = root / "partial_data";
  fs::create_directories(partial);
  for (const auto& c : gmd::io::list_cases(data)) {
    const fs::path dst = partial / c.filename();
    fs::create_directories(dst);
    for (const auto& f : fs::directory_iterator(c))
      if (f.path().filename().string().find("_t2") == std::string::npos) fs::copy_file(f.path(), dst / f.path().filename());
  }
  const fs::path prun = root / "partial_run";
  ASSERT_EQ(run("train --data " + partial.string() + " --method ds --out " + prun.string() +
                " --steps 1 --patch 32 --widths 4,8 --val-cases 0 --device cpu").rc, 0);
  r = run("segment --model " + prun.string() + " --case " + first_case().string() + " --modalities flair,t2 --out " +
          (root / "y.nii.gz").string());
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("T2"), std::string::npos) << r.out;
}

// The training request's three forms agree with the CLI: TrainRequest::arguments(), parsed by `gmd train`, is the
// same request (--dry-run prints what it parsed), so the panel, which starts runs with those arguments, and the CLI
// cannot drift apart; a bad request exits 2 before any data is read.
TEST_F(CliTest, TrainParsesTheRequestsArgumentsBackToTheSameRequest) {
  gmd::TrainRequest req = gmd_test::unusual_request();
  req.data_dir = (root / "no such data, yet").string();  // --dry-run reads nothing
  req.run_dir = (root / "run 'quoted'").string();
  std::string cmd = kGmd;
  for (const auto& a : req.arguments(false)) {
    std::string q = "'";
    for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    cmd += " " + q + "'";
  }
  const auto r = run_command(cmd + " --dry-run");
  ASSERT_EQ(r.rc, 0) << r.out;
  const auto json_start = r.out.find('{');
  ASSERT_NE(json_start, std::string::npos) << r.out;
  EXPECT_EQ(gmd::TrainRequest::from_json(nlohmann::json::parse(r.out.substr(json_start))), req) << r.out;
  EXPECT_FALSE(fs::exists(req.run_dir));
  // Validation before loading: the request's own words, exit 2.
  const auto bad = run("train --data " + data.string() + " --out " + (root / "r2").string() + " --widths 4,8 --patch 9 --steps 1");
  EXPECT_EQ(bad.rc, 2) << bad.out;
  EXPECT_NE(bad.out.find("multiple of 2 for 2 levels"), std::string::npos) << bad.out;
}

// Viewer-ready output (issue 15): --et-label 3 writes ET as 3 (BraTS 2023), --viewer-files the ITK-SNAP label
// description and the 3D Slicer colour table next to the map, and a .csv --report is CSV recording both.
TEST_F(CliTest, SegmentWritesViewerFilesAndTheEtLabelAsked) {
  const fs::path out = root / "viewer" / "pred.nii.gz", report = root / "viewer" / "pred.csv";
  fs::create_directories(out.parent_path());
  const auto four = run("segment --model " + run_dir.string() + " --case " + first_case().string() + " --out " +
                        (root / "viewer" / "four.nii.gz").string());
  ASSERT_EQ(four.rc, 0) << four.out;
  const auto r = run("segment --model " + run_dir.string() + " --case " + first_case().string() + " --out " +
                     out.string() + " --et-label 3 --viewer-files --report " + report.string());
  ASSERT_EQ(r.rc, 0) << r.out;
  const auto with4 = gmd::io::read_labels(root / "viewer" / "four.nii.gz");
  const auto with3 = gmd::io::read_labels(out);
  ASSERT_EQ(with4.voxels.size(), with3.voxels.size());
  for (size_t i = 0; i < with4.voxels.size(); ++i) {  // (the relabelling itself: test_common's set_et_label)
    ASSERT_NE(with3.voxels[i], 4);
    ASSERT_EQ(with3.voxels[i], with4.voxels[i] == 4 ? 3 : with4.voxels[i]);
  }
  const std::string snap = slurp(root / "viewer" / "pred_itksnap_labels.txt");
  EXPECT_NE(snap.find("ITK-SnAP Label Description File"), std::string::npos);
  EXPECT_NE(snap.find("    3   255  225    0        1  1  1    \"ET\""), std::string::npos) << snap;
  EXPECT_NE(slurp(root / "viewer" / "pred_slicer_colors.ctbl").find("3 ET 255 225 0 255"), std::string::npos);
  const std::string csv = slurp(report);
  EXPECT_EQ(csv.rfind("quantity,value\n", 0), 0u) << csv;
  EXPECT_NE(csv.find("et_label,3\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("viewer_file,"), std::string::npos) << csv;
  // Anything but 3 or 4 is refused before any work, in words.
  const auto bad = run("segment --model " + run_dir.string() + " --case " + first_case().string() + " --out " +
                       (root / "viewer" / "x.nii.gz").string() + " --et-label 2");
  EXPECT_EQ(bad.rc, 2) << bad.out;
  EXPECT_NE(bad.out.find("--et-label must be 4 (BraTS 2018-2021) or 3 (BraTS 2023)"), std::string::npos) << bad.out;
}

// DICOM in (issue 15): the fixture case written as four DICOM series (plus a localizer; the io tests cover grids) is
// listed, assigned from the series descriptions, put on one grid and segmented like the NIfTI case it came from.
TEST_F(CliTest, SegmentsADicomFolderLikeTheNiftiCase) {
  const fs::path dicom = root / "dicom case";
  const auto files = gmd::io::discover_case(first_case());
  const char* descriptions[] = {"AX FLAIR", "T1 SE", "T1 SE POST", "T2 TSE"};
  const std::string study = "1.2.826.0.1.3680043.9.9";
  for (int m = 0; m < 4; ++m) {
    gmd::Image img = gmd::io::read_image(*files.modality[static_cast<size_t>(m)]);
    float hi = 0;
    for (float v : img.voxels) hi = std::max(hi, std::abs(v));
    for (float& v : img.voxels) v *= 2000.0f / hi;  // DICOM stores integers; z-scoring makes the scale irrelevant
    gmd::io::write_dicom_series(img, dicom / ("s" + std::to_string(m)), descriptions[m],
                                study + "." + std::to_string(m + 1), study, m == 2 ? "GADOVIST" : "");
    if (m == 0)
      gmd::io::write_dicom_series(img, dicom / "loc", "3-plane loc", study + ".9", study, "",
                                  "ORIGINAL\\PRIMARY\\LOCALIZER");
  }
  const auto list = run("dicom '" + dicom.string() + "'");
  ASSERT_EQ(list.rc, 0) << list.out;
  EXPECT_NE(list.out.find("T1 SE POST"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("skipped: a localizer"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("T1ce: series 'T1 SE POST'"), std::string::npos) << list.out;

  const fs::path nifti_out = root / "dicom_ref.nii.gz", dicom_out = root / "dicom_pred.nii.gz";
  ASSERT_EQ(run("segment --model " + run_dir.string() + " --case " + first_case().string() + " --out " +
                nifti_out.string()).rc, 0);
  const auto r = run("segment --model " + run_dir.string() + " --case '" + dicom.string() + "' --out " +
                     dicom_out.string() + " --report " + (root / "dicom_report.json").string());
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("FLAIR+T1+T1ce+T2"), std::string::npos) << r.out;
  const auto a = gmd::io::read_labels(nifti_out), b = gmd::io::read_labels(dicom_out);
  ASSERT_EQ(a.geom.difference(b.geom), "");
  size_t same = 0;
  for (size_t i = 0; i < a.voxels.size(); ++i) same += a.voxels[i] == b.voxels[i];
  EXPECT_GE(double(same) / double(a.voxels.size()), 0.99);
  const auto report = nlohmann::json::parse(slurp(root / "dicom_report.json"));
  ASSERT_TRUE(report.contains("input")) << report.dump();
  EXPECT_NE(report["input"].dump().find("T1 SE POST"), std::string::npos);

  // The user's word: T1 skipped; a malformed --assign and --assign on a NIfTI case exit 2 in words.
  const auto skip = run("segment --model " + run_dir.string() + " --case '" + dicom.string() + "' --out " +
                        (root / "dicom_skip.nii.gz").string() + " --assign " + study + ".2=skip");
  ASSERT_EQ(skip.rc, 0) << skip.out;
  EXPECT_NE(skip.out.find("FLAIR+T1ce+T2"), std::string::npos) << skip.out;
  const auto bad = run("segment --model " + run_dir.string() + " --case '" + dicom.string() + "' --out " +
                       (root / "dicom_bad.nii.gz").string() + " --assign nonsense");
  EXPECT_EQ(bad.rc, 2) << bad.out;
  EXPECT_NE(bad.out.find("SERIES_UID=MODALITY"), std::string::npos) << bad.out;
  const auto nifti = run("segment --model " + run_dir.string() + " --case " + first_case().string() + " --out " +
                         (root / "dicom_n.nii.gz").string() + " --assign 1.2=t1");
  EXPECT_EQ(nifti.rc, 2) << nifti.out;
}

// Issue 15's "done when": three of the four sequences on three different grids, the patient moved between them
// (known rigid transforms up to 15 degrees and 20 mm): co-registered, segmented like the unmoved case, the transforms
// in the report; the same folder read in scanner coordinates only (--register off) is not.
TEST_F(CliTest, SegmentsADicomCaseWhoseSequencesMovedOnThreeGrids) {
  const fs::path dicom = root / "moved dicom";
  const auto files = gmd::io::discover_case(first_case());
  const std::string study = "1.2.826.0.1.3680043.9.11";
  // Rodrigues rotation, row-major.
  auto rot = [](std::array<double, 3> a, double deg) {
    const double n = std::sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
    for (double& v : a) v /= n;
    const double c = std::cos(deg * M_PI / 180), s = std::sin(deg * M_PI / 180), t = 1 - c;
    return std::array<double, 9>{t * a[0] * a[0] + c,        t * a[0] * a[1] - s * a[2], t * a[0] * a[2] + s * a[1],
                                 t * a[0] * a[1] + s * a[2], t * a[1] * a[1] + c,        t * a[1] * a[2] - s * a[0],
                                 t * a[0] * a[2] - s * a[1], t * a[1] * a[2] + s * a[0], t * a[2] * a[2] + c};
  };
  const gmd::Image t1ce = gmd::io::read_image(*files.modality[2]);
  const gmd::Geometry& g = t1ce.geom;
  std::array<double, 3> centre{};
  for (int i = 0; i < 3; ++i)
    centre[i] = g.origin[i] + g.direction[i * 3 + i] * g.spacing[i] * (static_cast<double>(g.size[i]) - 1) / 2;
  struct Acq { int m; const char* name; double deg; std::array<double, 3> axis, shift, spacing; };
  const Acq acq[] = {{2, "AX T1 +C", 0, {0, 0, 1}, {0, 0, 0}, {0, 0, 0}},
                     {0, "AX FLAIR", 15, {1, 0.3, 0.2}, {12, 10, -12}, {0.8, 0.8, 1.25}},
                     {3, "COR T2 TSE", -10, {0.2, 1, -0.4}, {-8, 6, 10}, {1.25, 1.0, 0.75}}};
  // Two folders on the same three grids: the patient still, and the patient moving between the sequences.
  const fs::path still = root / "still dicom";
  for (const Acq& a : acq)
    for (const bool moving : {false, true}) {
      gmd::Image img = gmd::io::read_image(*files.modality[static_cast<size_t>(a.m)]);
      float hi = 0;
      for (float v : img.voxels) hi = std::max(hi, std::abs(v));
      for (float& v : img.voxels) v *= 2000.0f / hi;
      if (a.deg != 0) {
        gmd::io::RigidTransform motion;
        if (moving) {
          motion.rotation = rot(a.axis, a.deg);
          motion.centre = centre;
          motion.translation = a.shift;
        }
        // Another voxel size and a field of view 30 mm larger on every side (a scanner's covers the whole head).
        gmd::Geometry grid = g;
        for (int i = 0; i < 3; ++i) {
          grid.spacing[i] = g.spacing[i] * a.spacing[i];
          grid.size[i] = static_cast<size_t>(
              std::lround((static_cast<double>(g.size[i]) * g.spacing[i] + 60) / grid.spacing[i]));
          grid.origin[i] -= 30 * g.direction[i * 3 + i];
        }
        img = gmd::io::resample_linear(img, grid, motion);
      }
      gmd::io::write_dicom_series(img, (moving ? dicom : still) / a.name, a.name,
                                  study + "." + std::to_string(a.m + 1), study, a.m == 2 ? "GADOVIST" : "");
    }
  // The bundled model (the fixture's 3-step model finds no tumour to compare). The reference: the still patient's
  // series, read onto the T1ce grid in scanner coordinates (so both runs share the grids' own resampling loss).
  const fs::path still_out = root / "still_pred.nii.gz", out = root / "moved_pred.nii.gz";
  const auto s0 = run("segment --case '" + still.string() + "' --out " + still_out.string() + " --register off");
  ASSERT_EQ(s0.rc, 0) << s0.out;
  const fs::path seg_dcm = root / "moved_seg.dcm";
  const auto r = run("segment --case '" + dicom.string() + "' --out " + out.string() + " --report " +
                     (root / "moved_report.json").string() + " --dicom-seg " + seg_dcm.string());
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("registering FLAIR onto T1ce"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("FLAIR: registered rigidly onto T1ce"), std::string::npos) << r.out;
  // Dice against the truth, region by region: the moved case's segmentation keeps >= 95 % of the unmoved one's.
  auto dice = [](const gmd::LabelMap& a, const gmd::LabelMap& b, int region) {
    size_t both = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a.voxels.size(); ++i) {
      const bool x = gmd::label_in_region(a.voxels[i], region), y = gmd::label_in_region(b.voxels[i], region);
      both += x && y;
      na += x;
      nb += y;
    }
    return na + nb ? 2.0 * double(both) / double(na + nb) : 1.0;
  };
  const auto truth = gmd::io::read_labels(*files.seg);
  const auto ref = gmd::io::read_labels(still_out), got = gmd::io::read_labels(out);
  ASSERT_EQ(ref.geom.difference(got.geom), "");
  for (int region = 0; region < 3; ++region) {
    const double unmoved = dice(ref, truth, region), moved = dice(got, truth, region);
    std::printf("[ registration ] %s Dice vs the truth: still patient %.3f, moving patient registered %.3f\n",
                gmd::region_name(region), unmoved, moved);
    EXPECT_GT(unmoved, 0.5) << gmd::region_name(region) << ": the bundled model segments the still case";
    EXPECT_GE(moved, 0.95 * unmoved) << gmd::region_name(region);
  }
  // The DICOM SEG: what dciodvfy accepts, on the T1ce series' grid, the same labels as the label map.
  const auto verify = run_command("/usr/bin/dciodvfy '" + seg_dcm.string() + "'");
  EXPECT_EQ(verify.out.find("\nError"), std::string::npos) << verify.out;
  EXPECT_NE(verify.out.rfind("Error", 0), 0u) << verify.out;
  const auto info = gmd::io::read_dicom_seg(seg_dcm, got.geom);
  EXPECT_EQ(info.segments.size(), 3u);
  EXPECT_EQ(info.referenced_series_uid, study + ".3");  // T1ce
  EXPECT_EQ(info.labels.voxels, got.voxels);
  const auto nifti_seg = run("segment --model " + run_dir.string() + " --case " + first_case().string() + " --out " +
                             (root / "n.nii.gz").string() + " --dicom-seg " + (root / "n.dcm").string());
  EXPECT_EQ(nifti_seg.rc, 2) << nifti_seg.out;
  EXPECT_FALSE(fs::exists(root / "n.dcm"));
  const auto report = nlohmann::json::parse(slurp(root / "moved_report.json"));
  ASSERT_TRUE(report.contains("registration")) << report.dump();
  ASSERT_TRUE(report["registration"].contains("FLAIR") && report["registration"].contains("T2")) << report.dump();
  for (const Acq& a : acq) {
    if (a.deg == 0) continue;
    const auto& t = report["registration"][a.m == 0 ? "FLAIR" : "T2"];
    gmd::io::RigidTransform found, motion;
    found.rotation = t["rotation"].get<std::array<double, 9>>();
    found.centre = t["centre_mm"].get<std::array<double, 3>>();
    found.translation = t["translation_mm"].get<std::array<double, 3>>();
    motion.rotation = rot(a.axis, a.deg);
    motion.centre = centre;
    motion.translation = a.shift;
    const auto residual = found.then(motion);  // reference -> acquired -> true: the identity when recovered
    std::printf("[ registration ] %s: residual %.2f deg, %.2f mm at the grid's corners\n", a.name,
                residual.angle_deg(), residual.max_displacement_mm(g));
    EXPECT_LT(residual.angle_deg(), 1.0) << a.name;
    EXPECT_LT(residual.max_displacement_mm(g), 2.0) << a.name;
  }
  EXPECT_NEAR(report["registration"]["FLAIR"]["angle_deg"].get<double>(), 15.0, 1.0);
  EXPECT_NEAR(report["registration"]["T2"]["angle_deg"].get<double>(), 10.0, 1.0);
  EXPECT_EQ(report["registration"]["T2"]["reference"], "T1ce");

  // Scanner coordinates only, on request (the fixture's model: only the reading is checked).
  const auto o = run("segment --model " + run_dir.string() + " --case '" + dicom.string() + "' --out " +
                     (root / "moved_off.nii.gz").string() + " --register off");
  ASSERT_EQ(o.rc, 0) << o.out;
  EXPECT_NE(o.out.find("resampled onto the T1ce grid in scanner coordinates"), std::string::npos) << o.out;
  const auto bad = run("segment --model " + run_dir.string() + " --case '" + dicom.string() + "' --out " +
                       (root / "moved_bad.nii.gz").string() + " --register sometimes");
  EXPECT_EQ(bad.rc, 2) << bad.out;
}

// Issue 11: each of these exited 0 with a wrong or missing result, aborted, or left something behind.
TEST_F(CliTest, NeverCrashNeverLie) {
  const fs::path c = first_case();
  const std::string model = " --model " + run_dir.string();
  const fs::path flair = gmd::io::discover_case(c).modality[0].value();
  const std::string flair_before = slurp(flair);
  auto expect2 = [](const Result& r, const std::string& fragment) {
    EXPECT_EQ(r.rc, 2) << r.out;
    EXPECT_NE(r.out.find(fragment), std::string::npos) << r.out;
  };
  // An unusable sliding window.
  expect2(run("segment" + model + " --case " + c.string() + " --patch 7 --out " + (root / "p.nii.gz").string()),
          "--patch 7");
  EXPECT_FALSE(fs::exists(root / "p.nii.gz"));
  // --out naming an input.
  expect2(run("segment" + model + " --case " + c.string() + " --out " + flair.string()), "FLAIR");
  EXPECT_EQ(slurp(flair), flair_before);
  // Existing files where folders are needed; an empty --modalities.
  { std::ofstream(root / "a_file") << "x"; }
  for (const std::string& cmd : {"evaluate" + model + " --data " + data.string(), "ablate" + model + " --case " + c.string(),
                                 "train --data " + data.string() + " --steps 1 --widths 4,8 --patch 32"})
    expect2(run(cmd + " --out " + (root / "a_file").string()), "not a folder");
  expect2(run("segment" + model + " --case " + c.string() + " --modalities '' --out " + (root / "m.nii.gz").string()),
          "--modalities");
  // Nothing left behind by commands that cannot start.
  expect2(run("train --data " + data.string() + " --resume --out " + (root / "no_run").string()), "checkpoint");
  EXPECT_FALSE(fs::exists(root / "no_run"));
  expect2(run("synth --cases 1 --size tiny --template " + (root / "missing.nii.gz").string() + " --out " +
              (root / "no_synth").string()),
          "template not found");
  EXPECT_FALSE(fs::exists(root / "no_synth"));
  {  // a truncated template: niftilib would zero-fill it
    const std::string tpl = slurp("/usr/share/mricron/templates/ch2bet.nii.gz");
    ASSERT_GT(tpl.size(), 1000u);
    std::ofstream(root / "half.nii.gz", std::ios::binary) << tpl.substr(0, tpl.size() / 2);
  }
  expect2(run("synth --cases 1 --size tiny --template " + (root / "half.nii.gz").string() + " --out " +
              (root / "no_synth2").string()),
          "truncated");
  EXPECT_FALSE(fs::exists(root / "no_synth2"));
  // A full disk (here: a file-size limit of 1 KiB) is an error, and no partial label map is published.
  const Result full = run_shell("ulimit -f 1; " + kGmd + " segment" + model + " --case " + c.string() + " --out " +
                                (root / "full.nii.gz").string());
  EXPECT_EQ(full.rc, 2) << full.out;
  EXPECT_NE(full.out.find("file size limit"), std::string::npos) << full.out;
  EXPECT_FALSE(fs::exists(root / "full.nii.gz"));
  const Result full_ablate = run_shell("ulimit -f 1; " + kGmd + " ablate" + model + " --case " + c.string() + " --out " +
                                       (root / "full_ablation").string());
  EXPECT_EQ(full_ablate.rc, 2) << full_ablate.out;
  EXPECT_FALSE(fs::exists(root / "full_ablation"));  // no zero-byte label maps
  for (const auto& e : fs::directory_iterator(root))
    EXPECT_EQ(e.path().filename().string().find(".gmdtmp-"), std::string::npos) << e.path();
  // A NaN in the sform rows (sform_code 1) used to abort in VNL.
  const fs::path nan_case = root / "nan_case";
  fs::create_directories(nan_case);
  gmd::io::write_image(nan_case / "N_flair.nii", gmd::io::read_image(flair));
  {
    std::string b = slurp(nan_case / "N_flair.nii");
    const int16_t code = 1;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(&b[254], &code, 2);
    std::memcpy(&b[280], &nan, 4);
    std::ofstream(nan_case / "N_flair.nii", std::ios::binary) << b;
  }
  expect2(run("segment" + model + " --case " + nan_case.string() + " --out " + (root / "n.nii.gz").string()), "srow_x");
  // Model cards: an impossible spacing, a wrong type; flipped bytes in the weights.
  auto edited = [&](const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
    const fs::path d = root / name;
    fs::create_directories(d);
    fs::copy_file(run_dir / "model.pt", d / "model.pt", fs::copy_options::overwrite_existing);
    auto card = nlohmann::json::parse(slurp(run_dir / "model.json"));
    edit(card);
    std::ofstream(d / "model.json") << card.dump(2);
    return d;
  };
  const fs::path sp0 = edited("spacing0", [](nlohmann::json& j) { j["preprocessing"]["spacing"] = {0.0, 2.0, 2.0}; });
  expect2(run("segment --model " + sp0.string() + " --case " + c.string() + " --out " + (root / "s.nii.gz").string()),
          "preprocessing.spacing[0]");
  const fs::path type = edited("type", [](nlohmann::json& j) { j["inference"]["patch"] = "64"; });
  expect2(run("info " + type.string()), "inference.patch");
  const fs::path flipped = edited("flipped", [](nlohmann::json&) {});
  {
    std::string w = slurp(flipped / "model.pt");
    for (std::size_t i = w.size() / 3; i < w.size() / 3 + 4096 && i < w.size(); ++i) w[i] = static_cast<char>(~w[i]);
    std::ofstream(flipped / "model.pt", std::ios::binary) << w;
  }
  expect2(run("segment --model " + flipped.string() + " --case " + c.string() + " --out " + (root / "f.nii.gz").string()),
          "SHA-256");
}

// First-step losses of a run's metrics.jsonl.
std::vector<double> step_losses(const fs::path& run) {
  std::ifstream m(run / "metrics.jsonl");
  std::string line;
  std::vector<double> out;
  while (std::getline(m, line)) {
    const auto j = nlohmann::json::parse(line);
    if (j.value("type", "") == "step") out.push_back(j["loss"].get<double>());
  }
  return out;
}

TEST_F(CliTest, CacheTrainsLikeTheDatasetItCameFrom) {
  const fs::path cache = root / "train.gmdcache";
  auto r = run("cache " + data.string() + " " + cache.string());
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("3 cases"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("quantisation error"), std::string::npos) << r.out;
  // Compact: the three small cases' NIfTI files (gzip) are larger than their cache.
  uintmax_t nifti = 0;
  for (const auto& f : fs::recursive_directory_iterator(data))
    if (f.is_regular_file()) nifti += f.file_size();
  EXPECT_LT(fs::file_size(cache), nifti);

  // Same seed, same config: from the cache and from the folder, the runs see the same cases in the same order
  // and the same patches; the 8-bit quantisation changes losses only slightly.
  const std::string cfg = " --method ds-gmd --steps 2 --patch 32 --widths 4,8,16 --k 3 --val-cases 1 --val-every 0 "
                          "--device cpu --seed 5 --threads 1";
  const fs::path from_dir = root / "run_dir", from_cache = root / "run_cache";
  ASSERT_EQ(run("train --data " + data.string() + " --out " + from_dir.string() + cfg).rc, 0);
  r = run("train --data " + cache.string() + " --out " + from_cache.string() + cfg);
  ASSERT_EQ(r.rc, 0) << r.out;
  const auto a = step_losses(from_dir), b = step_losses(from_cache);
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_NEAR(a[i], b[i], 0.02 * std::abs(a[i])) << "step " << i + 1;
  const auto ca = nlohmann::json::parse(slurp(from_dir / "model.json"));
  const auto cb = nlohmann::json::parse(slurp(from_cache / "model.json"));
  EXPECT_EQ(ca["preprocessing"], cb["preprocessing"]);  // the model card says how to preprocess, either way
  EXPECT_EQ(ca["data"]["train_cases"], cb["data"]["train_cases"]);
  EXPECT_EQ(ca["data"]["val_cases"], cb["data"]["val_cases"]);
  EXPECT_EQ(cb["data"]["dir"], fs::absolute(data).lexically_normal().string());
  EXPECT_TRUE(cb["data"].contains("cache"));
  // The model trained from the cache segments a case from the folder.
  r = run("segment --model " + from_cache.string() + " --case " + first_case().string() + " --out " +
          (root / "from_cache.nii.gz").string() + " --device cpu");
  EXPECT_EQ(r.rc, 0) << r.out;

  // Bad caches: truncated, a network whose levels do not divide the padded size, a case without segmentation.
  {
    std::ifstream in(cache, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(root / "half.gmdcache", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  r = run("train --data " + (root / "half.gmdcache").string() + " --out " + (root / "r_half").string() + cfg);
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("half.gmdcache"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(root / "r_half" / "model.pt"));
  r = run("train --data " + cache.string() + " --out " + (root / "r_deep").string() +
          " --steps 1 --patch 64 --widths 2,2,2,2,2,2,2 --device cpu");
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("gmd cache --multiple 64"), std::string::npos) << r.out;
  const fs::path noseg = root / "noseg";
  fs::create_directories(noseg);
  const fs::path c0 = first_case();
  fs::create_directories(noseg / c0.filename());
  for (const auto& f : fs::directory_iterator(c0))
    if (f.path().filename().string().find("_seg") == std::string::npos)
      fs::copy_file(f.path(), noseg / c0.filename() / f.path().filename());
  r = run("cache " + noseg.string() + " " + (root / "noseg.gmdcache").string());
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find(c0.filename().string()), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(root / "noseg.gmdcache"));
}

// GMD_TCMALLOC_LINKED (tests/CMakeLists.txt): 0 where the build does not link tcmalloc (GMD_USE_TCMALLOC=OFF, e.g.
// the sanitizer build, whose AddressSanitizer must own malloc); gmd must then run without it.
TEST(Allocator, GmdRunsWithTcmallocAsConfigured) {
  auto r = run("--check-allocator");
#if GMD_TCMALLOC_LINKED
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("tcmalloc: loaded"), std::string::npos) << r.out;
#else
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("tcmalloc: NOT loaded"), std::string::npos) << r.out;
#endif
}

TEST_F(CliTest, ExpectedAccuracyIsAttachedOnlyFromHeldOutCasesAndReported) {
  const fs::path model = root / "attach_model";
  fs::create_directories(model);
  for (const char* f : {"model.pt", "model.json"}) fs::copy_file(run_dir / f, model / f);
  const fs::path report = root / "attach_report.json";
  const fs::path seg = root / "attach_seg.nii.gz";
  const std::string segment = "segment --model " + model.string() + " --case " + first_case().string() +
                              " --modalities flair,t2 --device cpu --agreement --out " + seg.string() + " --report " +
                              report.string();
  // Not evaluated yet: said so, in the output and the report, never a number.
  auto r = run(segment);
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("not evaluated"), std::string::npos) << r.out;
  auto j = nlohmann::json::parse(slurp(report));
  EXPECT_EQ(j["expected_accuracy"]["status"], "not evaluated");
  // The agreement maps of the 3 subsets of FLAIR+T2, in the case's geometry, named in the report.
  EXPECT_EQ(j["agreement"]["subsets"], 3);
  ASSERT_EQ(j["agreement"]["files"].size(), 3u);
  const auto wt = gmd::io::read_image(root / "attach_seg_WT.nii.gz", /*reject_all_zero=*/false);
  EXPECT_EQ(wt.geom.difference(gmd::io::read_labels(seg).geom), "");
  // The training data cannot vouch for the model.
  r = run("evaluate --model " + model.string() + " --data " + data.string() + " --device cpu --attach --out " +
          (root / "attach_eval_train").string());
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.out.find("used to train or validate"), std::string::npos) << r.out;
  EXPECT_FALSE(nlohmann::json::parse(slurp(model / "model.json")).contains("metrics"));
  // Held-out cases can.
  const fs::path held = root / "held_out";
  ASSERT_EQ(run("synth --out " + held.string() + " --cases 1 --seed 77 --size small").rc, 0);
  r = run("evaluate --model " + model.string() + " --data " + held.string() + " --device cpu --attach --test-set "
          "\"one case, seed 77\" --out " + (root / "attach_eval").string());
  ASSERT_EQ(r.rc, 0) << r.out;
  const auto card = nlohmann::json::parse(slurp(model / "model.json"));
  EXPECT_EQ(card["metrics"]["cases"], 1);
  EXPECT_EQ(card["metrics"]["test_set"], "one case, seed 77");
  EXPECT_EQ(card["metrics"]["per_subset"].size(), 15u);
  const auto summary = nlohmann::json::parse(slurp(root / "attach_eval" / "summary.json"));
  EXPECT_EQ(card["metrics"]["per_subset"]["FLAIR+T2"]["dice"], summary["subsets"]["FLAIR+T2"]["dice"]);
  EXPECT_TRUE(fs::exists(root / "attach_eval" / "agreement.md"));
  r = run(segment);
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("Expected Dice with FLAIR+T2 (1 held-out cases)"), std::string::npos) << r.out;
  j = nlohmann::json::parse(slurp(report));
  EXPECT_EQ(j["expected_accuracy"]["evaluated"], true);
  EXPECT_DOUBLE_EQ(j["expected_accuracy"]["regions"]["WT"]["expected_dice"].get<double>(),
                   summary["subsets"]["FLAIR+T2"]["dice"]["WT"].get<double>());
}
