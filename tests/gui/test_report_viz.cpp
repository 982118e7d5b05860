// Report/export, the overlay palette, the display frame (orientation) and window/level defaults.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gmd/common/error.hpp"
#include "gmd/gui/report.hpp"
#include "gmd/io/nifti.hpp"
#include "gmd/viz/display.hpp"
#include "gmd/viz/palette.hpp"
#include "gui_test_util.hpp"

using namespace gmd;
namespace fs = std::filesystem;

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
gui::Report sample_report() {
  gui::Report r;
  r.case_id = "BraTS_007";
  r.case_folder = "/data/BraTS_007";
  r.present = kFullMask;
  r.used = parse_subset("flair,t2");
  r.model_name = "default (ds-gmd, FLAIR+T1+T1ce+T2)";
  r.model_path = "/models/default";
  r.device = "cpu";
  r.seconds = 4.25;
  r.region_ml = {61.5, 20.25, 8.125};
  r.label_ml = {12.125, 41.25, 8.125};
  r.size = {240, 240, 155};
  r.spacing = {1, 1, 1};
  r.created = "2024-01-01T10:00:00";
  return r;
}
}  // namespace

TEST(Report, JsonHoldsVolumesModalitiesAndModel) {
  const auto j = sample_report().to_json();
  EXPECT_EQ(j["case"], "BraTS_007");
  EXPECT_EQ(j["modalities_used"], "flair,t2");
  EXPECT_EQ(j["modalities_present"], "flair,t1,t1ce,t2");
  EXPECT_EQ(j["model"]["name"], "default (ds-gmd, FLAIR+T1+T1ce+T2)");
  EXPECT_DOUBLE_EQ(j["volume_ml"]["WT"].get<double>(), 61.5);
  EXPECT_DOUBLE_EQ(j["volume_ml"]["TC"].get<double>(), 20.25);
  EXPECT_DOUBLE_EQ(j["volume_ml"]["ET"].get<double>(), 8.125);
  EXPECT_DOUBLE_EQ(j["volume_ml"]["NCR_NET"].get<double>(), 12.125);
  EXPECT_DOUBLE_EQ(j["volume_ml"]["ED"].get<double>(), 41.25);
  EXPECT_EQ(j["device"], "cpu");
}

TEST(Report, CsvIsQuotedAndComplete) {
  const std::string csv = sample_report().to_csv();
  EXPECT_EQ(csv.rfind("quantity,value\n", 0), 0u);
  EXPECT_NE(csv.find("WT_ml,61.500\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("TC_ml,20.250\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("ET_ml,8.125\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("ED_ml,41.250\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("modalities_used,FLAIR+T2\n"), std::string::npos) << csv;
  // the model name has a comma: quoted
  EXPECT_NE(csv.find("model,\"default (ds-gmd, FLAIR+T1+T1ce+T2)\"\n"), std::string::npos) << csv;
  // every line has exactly two fields outside quotes
  std::istringstream in(csv);
  std::string line;
  while (std::getline(in, line)) {
    int commas = 0;
    bool quoted = false;
    for (char ch : line) {
      if (ch == '"') quoted = !quoted;
      else if (ch == ',' && !quoted) ++commas;
    }
    EXPECT_EQ(commas, 1) << line;
  }
}

TEST(Report, ExportsRoundTrip) {
  const fs::path dir = test::scratch_dir("export");
  gui::write_report_json(QString::fromStdString((dir / "r.json").string()), sample_report());
  const auto j = nlohmann::json::parse(slurp(dir / "r.json"));
  EXPECT_DOUBLE_EQ(j["volume_ml"]["WT"].get<double>(), 61.5);
  gui::write_report_csv(QString::fromStdString((dir / "r.csv").string()), sample_report());
  EXPECT_EQ(slurp(dir / "r.csv"), sample_report().to_csv());

  test::TinyCaseSpec spec;
  spec.spacing = {1.0, 1.5, 2.0};
  LabelMap labels = test::tiny_labels(spec);
  labels.geom.origin = {10, -20, 5};
  gui::write_label_map(QString::fromStdString((dir / "pred.nii.gz").string()), labels);
  const LabelMap back = io::read_labels(dir / "pred.nii.gz");
  EXPECT_EQ(back.voxels, labels.voxels);
  EXPECT_TRUE(back.geom.difference(labels.geom).empty()) << back.geom.difference(labels.geom);
  // not NIfTI: refused with the file named
  try {
    gui::write_label_map(QString::fromStdString((dir / "pred.png").string()), labels);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("pred.png"), std::string::npos) << e.what();
  }
  // an unwritable place: InputError naming it, nothing half-written
  EXPECT_THROW(gui::write_report_json("/proc/forbidden/r.json", sample_report()), std::exception);
}

TEST(Palette, BuiltinFollowsBratsPracticeAndIsDocumented) {
  const auto& p = viz::Palette::builtin();
  // NCR/NET red, ED green, ET yellow
  EXPECT_GT(p.label[0].r, 200);
  EXPECT_LT(p.label[0].g, 100);
  EXPECT_GT(p.label[1].g, 150);
  EXPECT_LT(p.label[1].r, 100);
  EXPECT_GT(p.label[2].r, 200);
  EXPECT_GT(p.label[2].g, 200);
  EXPECT_LT(p.label[2].b, 80);
  // regions are distinct from each other
  EXPECT_FALSE(p.region[0] == p.region[1]);
  EXPECT_FALSE(p.region[1] == p.region[2]);
  const std::string json = slurp(fs::path(GMD_SOURCE_DIR) / "resources/colors/brats.json");
  const auto again = viz::Palette::from_json(json);
  EXPECT_TRUE(again.label == p.label);
  EXPECT_THROW(viz::Palette::from_json("{\"labels\": []}"), InputError);
  EXPECT_THROW(viz::Palette::from_json("not json"), InputError);
}

TEST(Palette, LabelAndRegionModesColourTheRightVoxels) {
  const auto& p = viz::Palette::builtin();
  viz::OverlayStyle s;
  auto rgba = viz::label_rgba(p, s);
  EXPECT_EQ(rgba[0][3], 0);
  EXPECT_EQ(rgba[1][0], p.label[0].r);
  EXPECT_EQ(rgba[2][1], p.label[1].g);
  EXPECT_EQ(rgba[4][2], p.label[2].b);
  EXPECT_EQ(rgba[3], rgba[4]) << "label 3 (BraTS 2023 ET) drawn as ET";
  s.visible = {true, false, true};  // ED off
  rgba = viz::label_rgba(p, s);
  EXPECT_EQ(rgba[2][3], 0);
  EXPECT_EQ(rgba[1][3], 255);
  // regions: nested; hiding ET shows ET voxels in the TC colour, hiding TC too -> WT colour
  s.mode = viz::OverlayMode::Regions;
  s.visible = {true, true, true};
  rgba = viz::label_rgba(p, s);
  EXPECT_EQ(rgba[2][0], p.region[0].r);  // ED voxel: WT
  EXPECT_EQ(rgba[1][0], p.region[1].r);  // NCR: TC
  EXPECT_EQ(rgba[4][0], p.region[2].r);  // ET: ET
  s.visible = {true, true, false};
  rgba = viz::label_rgba(p, s);
  EXPECT_EQ(rgba[4][0], p.region[1].r);
  s.visible = {true, false, false};
  rgba = viz::label_rgba(p, s);
  EXPECT_EQ(rgba[4][0], p.region[0].r);
  EXPECT_EQ(rgba[1][0], p.region[0].r);
  s.visible = {false, false, false};
  rgba = viz::label_rgba(p, s);
  for (int v = 0; v < 5; ++v) EXPECT_EQ(rgba[v][3], 0);
  // 3D surfaces in label mode: WT takes the ED colour/toggle
  viz::OverlayStyle ls;
  ls.visible = {true, false, true};
  EXPECT_TRUE(viz::surface_color(p, ls, 0) == p.label[1]);
  EXPECT_FALSE(viz::surface_visible(ls, 0));
  EXPECT_TRUE(viz::surface_visible(ls, 1));
}

TEST(DisplayFrame, BringsAnyAxisOrderToLeftPosteriorSuperior) {
  Geometry g;
  g.size = {4, 5, 6};
  g.spacing = {1, 2, 3};
  // voxel x runs toward patient Right (-L), voxel y toward Superior, voxel z toward Anterior (-P)
  g.direction = {-1, 0, 0, 0, 0, -1, 0, 1, 0};
  const auto f = viz::DisplayFrame::from_geometry(g);
  EXPECT_EQ(f.src_axis, (std::array<int, 3>{0, 2, 1}));
  EXPECT_EQ(f.flip, (std::array<bool, 3>{true, true, false}));
  EXPECT_EQ(f.size, (std::array<std::size_t, 3>{4, 6, 5}));
  EXPECT_EQ(f.spacing, (std::array<double, 3>{1, 3, 2}));
  std::vector<float> src(g.voxel_count());
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<float>(i);
  const auto disp = viz::to_display(src, f);
  for (std::size_t z = 0; z < f.size[2]; ++z)
    for (std::size_t y = 0; y < f.size[1]; ++y)
      for (std::size_t x = 0; x < f.size[0]; ++x) {
        const auto s = f.to_source({x, y, z});
        ASSERT_EQ(disp[(z * f.size[1] + y) * f.size[0] + x], src[g.index(s[0], s[1], s[2])]);
        ASSERT_EQ(f.to_display(s), (std::array<std::size_t, 3>{x, y, z}));
      }
  // voxel x runs toward the patient's right, so source x = 0 is the leftmost voxel: it lands at the
  // largest display x (display x grows toward patient left)
  EXPECT_EQ(f.to_display({0, 0, 0})[0], 3u);
}

TEST(WindowLevel, DefaultIsTheBrainPercentileRange) {
  std::vector<float> v(100000, 0.0f);  // background
  for (int i = 0; i < 10000; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i % 1000);  // brain 0..999
  v[20000] = 1e6f;  // one hot voxel must not set the window
  const auto wl = viz::auto_window_level(v);
  EXPECT_NEAR(wl.lower(), 5, 3);
  EXPECT_NEAR(wl.upper(), 995, 3);
  const auto full = viz::preset_window_level(v, viz::window_presets()[3]);
  EXPECT_NEAR(full.upper(), 1e6, 1);
  EXPECT_NEAR(full.lower(), 0, 1e-6);
}
