// Model files (model.pt + model.json), sample cache, device resolution.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"
#include "gmd/engine/model_io.hpp"
#include "gmd/engine/sample.hpp"

using namespace gmd::engine;
namespace fs = std::filesystem;

namespace {
fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("gmd_test_model_io_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

NetConfig tiny(Method m) {
  NetConfig c;
  c.method = m;
  c.widths = {4, 8};
  c.groups = 2;
  return c;
}

std::array<torch::Tensor, gmd::kNumModalities> inputs(int64_t n = 8) {
  torch::manual_seed(3);
  std::array<torch::Tensor, gmd::kNumModalities> x;
  for (auto& t : x) t = torch::randn({1, 1, n, n, n});
  return x;
}

void truncate_file(const fs::path& p, double keep) {
  const auto size = fs::file_size(p);
  fs::resize_file(p, static_cast<uintmax_t>(static_cast<double>(size) * keep));
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const gmd::InputError& e) {
    return e.what();
  }
  return "<no InputError>";
}
}  // namespace

TEST(ModelIO, RoundTripGivesIdenticalOutputs) {
  const fs::path dir = fresh_dir("roundtrip");
  for (Method m : {Method::DSGMD, Method::Vanilla, Method::Unimodal}) {
    torch::manual_seed(11);
    SegModel model = make_model(tiny(m));
    model->eval();
    // Perturb the norm affines too, so that modality-specific parameters are really round-tripped.
    {
      torch::NoGradGuard ng;
      for (auto& p : model->parameters()) p.add_(0.01 * torch::randn_like(p));
    }
    const auto x = inputs();
    const torch::Tensor before = model->forward(x, gmd::kFullMask);
    save_model(dir, model, {{"note", "hello"}});
    ASSERT_TRUE(fs::exists(dir / "model.pt"));
    ASSERT_TRUE(fs::exists(dir / "model.json"));
    for (const fs::path& p : {dir, dir / "model.pt", dir / "model.json"}) {
      LoadedModel lm = load_model(p);
      EXPECT_EQ(lm.card["note"], "hello");
      EXPECT_EQ(lm.card["net"]["widths"], nlohmann::json({4, 8}));
      EXPECT_EQ(lm.model->config().method, m);
      EXPECT_FALSE(lm.model->is_training());
      const torch::Tensor after = lm.model->forward(x, gmd::kFullMask);
      EXPECT_TRUE(torch::equal(before, after)) << method_name(m) << " via " << p;
    }
  }
  fs::remove_all(dir);
}

TEST(ModelIO, LoadErrorsAreClearInputErrors) {
  const fs::path dir = fresh_dir("errors");
  SegModel model = make_model(tiny(Method::DS));
  save_model(dir, model, {});

  EXPECT_NE(error_of([&] { load_model(dir / "nothing_here"); }).find("not found"), std::string::npos);

  // Missing model.pt
  const fs::path nopt = fresh_dir("nopt");
  fs::copy_file(dir / "model.json", nopt / "model.json");
  std::string msg = error_of([&] { load_model(nopt); });
  EXPECT_NE(msg.find("model.pt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not found"), std::string::npos) << msg;

  // Truncated model.pt
  const fs::path trunc = fresh_dir("trunc");
  fs::copy_file(dir / "model.json", trunc / "model.json");
  fs::copy_file(dir / "model.pt", trunc / "model.pt");
  truncate_file(trunc / "model.pt", 0.6);
  msg = error_of([&] { load_model(trunc); });
  EXPECT_NE(msg.find("corrupt or truncated"), std::string::npos) << msg;
  EXPECT_NE(msg.find("model.pt"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "one-line message expected: " << msg;

  // model.json not JSON
  const fs::path badjson = fresh_dir("badjson");
  fs::copy_file(dir / "model.pt", badjson / "model.pt");
  std::ofstream(badjson / "model.json") << "{ not json";
  msg = error_of([&] { load_model(badjson); });
  EXPECT_NE(msg.find("model.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("invalid model card"), std::string::npos) << msg;

  // Card without "net"
  std::ofstream(badjson / "model.json") << R"({"method": "ds"})";
  msg = error_of([&] { load_model(badjson); });
  EXPECT_NE(msg.find("net"), std::string::npos) << msg;

  // Card describing another architecture (wider second level): weights do not fit.
  nlohmann::json card = nlohmann::json::parse(gmd::read_text(dir / "model.json"));
  card["net"]["widths"] = {4, 16};
  std::ofstream(badjson / "model.json") << card.dump();
  msg = error_of([&] { load_model(badjson); });
  EXPECT_NE(msg.find("do not match the architecture"), std::string::npos) << msg;

  // Card with one more level: missing tensors.
  card["net"]["widths"] = {4, 8, 16};
  std::ofstream(badjson / "model.json") << card.dump();
  msg = error_of([&] { load_model(badjson); });
  EXPECT_NE(msg.find("do not match the architecture"), std::string::npos) << msg;

  for (const auto& d : {dir, nopt, trunc, badjson}) fs::remove_all(d);
}

TEST(ModelIO, ResolveDevice) {
  EXPECT_EQ(resolve_device("cpu").type(), torch::kCPU);
  EXPECT_EQ(resolve_device("CPU").type(), torch::kCPU);
  if (torch::cuda::is_available()) {
    EXPECT_TRUE(resolve_device("auto").is_cuda());
    EXPECT_TRUE(resolve_device("cuda").is_cuda());
  } else {
    EXPECT_EQ(resolve_device("auto").type(), torch::kCPU);
    EXPECT_THROW(resolve_device("cuda"), gmd::InputError);
  }
  EXPECT_THROW(resolve_device("tpu"), gmd::UsageError);
}

TEST(SampleCache, RoundTripAndCorruption) {
  const fs::path dir = fresh_dir("samples");
  std::vector<Sample> in(2);
  in[0].id = "case_a";
  in[0].image = torch::randn({4, 4, 6, 8});
  in[0].present = 0b0101;
  in[0].target = (torch::rand({3, 4, 6, 8}) > 0.5).to(torch::kUInt8);
  in[1].id = "case_b";
  in[1].image = torch::randn({4, 8, 8, 8});
  in[1].present = gmd::kFullMask;  // no target
  save_samples(dir / "cache.pt", in);
  const auto out = load_samples(dir / "cache.pt");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].id, "case_a");
  EXPECT_EQ(out[0].present, 0b0101);
  EXPECT_TRUE(torch::equal(out[0].image, in[0].image));
  EXPECT_TRUE(torch::equal(out[0].target, in[0].target));
  EXPECT_EQ(out[1].id, "case_b");
  EXPECT_FALSE(out[1].target.defined());
  EXPECT_TRUE(torch::equal(out[1].image, in[1].image));

  truncate_file(dir / "cache.pt", 0.5);
  EXPECT_THROW(load_samples(dir / "cache.pt"), gmd::InputError);
  EXPECT_THROW(load_samples(dir / "missing.pt"), gmd::InputError);
  fs::remove_all(dir);
}

TEST(SampleCache, SplitModalities) {
  const torch::Tensor img = torch::arange(4 * 2 * 2 * 2, torch::kFloat).reshape({4, 2, 2, 2});
  const auto x = split_modalities(img, 0b1010);
  EXPECT_FALSE(x[0].defined());
  EXPECT_FALSE(x[2].defined());
  ASSERT_TRUE(x[1].defined());
  EXPECT_EQ(x[1].sizes(), torch::IntArrayRef({1, 1, 2, 2, 2}));
  EXPECT_TRUE(torch::equal(x[1][0][0], img[1]));
  EXPECT_TRUE(torch::equal(x[3][0][0], img[3]));
  const auto xb = split_modalities(torch::stack({img, img + 1}), gmd::kFullMask);
  EXPECT_EQ(xb[2].sizes(), torch::IntArrayRef({2, 1, 2, 2, 2}));
  EXPECT_TRUE(torch::equal(xb[2][1][0], img[2] + 1));
  EXPECT_THROW(split_modalities(torch::zeros({3, 2, 2, 2}), gmd::kFullMask), gmd::InputError);
}
