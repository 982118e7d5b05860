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
  {  // Without the checksums (a model from before issue 11) LibTorch's loader and the shape checks catch these.
    auto c = nlohmann::json::parse(gmd::read_text(dir / "model.json"));
    c.erase("weights_sha256");
    c.erase("net_sha256");
    gmd::write_text_atomically(dir / "model.json", c.dump(2));
  }

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

// A z-scored-like image: zeros outside a "brain", values of both signs inside; absent channels all zero.
torch::Tensor brain_like(const std::vector<int64_t>& dims, gmd::SubsetMask present, uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor img = torch::randn({4, dims[0], dims[1], dims[2]}) * 1.5 + 0.3;
  img.narrow(1, 0, 1).zero_();  // first slab: background
  for (int m = 0; m < 4; ++m)
    if (!gmd::subset_has(present, m)) img[m].zero_();
  return img;
}

TEST(SampleCache, RoundTripQuantisedWithinHalfStep) {
  const fs::path dir = fresh_dir("samples");
  std::vector<Sample> in(2);
  in[0].id = "case_a";
  in[0].present = 0b0101;
  in[0].image = brain_like({4, 6, 8}, in[0].present, 1);
  in[0].image[0][1][2][3] = 9.5f;  // an outlier widens the step of channel 0 only
  in[0].target = (torch::rand({3, 4, 6, 8}) > 0.5).to(torch::kUInt8);  // any bit pattern, nested or not
  in[1].id = "case_b";
  in[1].present = gmd::kFullMask;  // no target
  in[1].image = brain_like({8, 8, 8}, in[1].present, 2);
  const nlohmann::json meta = {{"preprocessing", {{"spacing", {2.0, 2.0, 2.0}}}}, {"source", "somewhere"}};
  const SampleCacheStats st = save_samples(dir / "cache.pt", in, meta);
  nlohmann::json meta_back;
  const auto out = load_samples(dir / "cache.pt", &meta_back);
  EXPECT_EQ(meta_back, meta);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].id, "case_a");
  EXPECT_EQ(out[0].present, 0b0101);
  EXPECT_TRUE(torch::equal(out[0].target, in[0].target));  // regions are lossless
  EXPECT_EQ(out[1].id, "case_b");
  EXPECT_FALSE(out[1].target.defined());
  double worst = 0;
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_EQ(out[i].image.sizes(), in[i].image.sizes());
    EXPECT_EQ(out[i].image.scalar_type(), torch::kFloat);
    for (int m = 0; m < 4; ++m) {
      const torch::Tensor a = in[i].image[m], b = out[i].image[m];
      if (!gmd::subset_has(in[i].present, m)) {
        EXPECT_EQ(b.abs().max().item<float>(), 0.f) << "absent channel must stay zero";
        continue;
      }
      // Zero iff zero (background, masks derived from != 0 stay identical).
      EXPECT_TRUE(torch::equal(a.eq(0), b.eq(0))) << "case " << i << " channel " << m;
      EXPECT_TRUE(torch::equal(a.gt(0), b.gt(0))) << "case " << i << " channel " << m;
      const double range = std::max(0.0, a.max().item<double>()) - std::min(0.0, a.min().item<double>());
      const double step = range / 254.0;
      const torch::Tensor away = a.abs() >= step / 2;  // all but the values next to 0: half a step at most
      const double err = (a - b).abs().max().item<double>();
      EXPECT_LE((a - b).abs().masked_select(away).max().item<double>(), step / 2 * 1.001 + 1e-6)
          << "case " << i << " channel " << m;
      EXPECT_LE(err, step * 1.001 + 1e-6) << "case " << i << " channel " << m;
      EXPECT_GT(err, 0.0);  // it is quantised (8 bits), not stored as float
      worst = std::max(worst, err);
    }
  }
  EXPECT_NEAR(st.max_abs_error, worst, 1e-5);
  EXPECT_EQ(st.raw_bytes, (4 * 4 * 6 * 8) * 4 + 3 * 4 * 6 * 8 + (4 * 8 * 8 * 8) * 4);
  EXPECT_EQ(st.file_bytes, static_cast<int64_t>(fs::file_size(dir / "cache.pt")));
  fs::remove_all(dir);
}

TEST(SampleCache, CompactOnSmoothData) {
  // A smooth 64^3 four-channel image compresses to well under a quarter of its float32 size.
  const fs::path dir = fresh_dir("samples_small");
  Sample s;
  s.id = "smooth";
  s.present = gmd::kFullMask;
  const auto z = torch::linspace(-2, 2, 64);
  s.image = (z.view({1, -1, 1, 1}) + z.view({1, 1, -1, 1}) * 0.5).expand({4, 64, 64, 64}).contiguous();
  s.target = torch::zeros({3, 64, 64, 64}, torch::kUInt8);
  s.target.narrow(1, 20, 10).fill_(1);
  const auto st = save_samples(dir / "c.pt", {s});
  EXPECT_LT(st.file_bytes * 4, st.raw_bytes);
  fs::remove_all(dir);
}

TEST(SampleCache, CorruptTruncatedMissingAndFormat1) {
  const fs::path dir = fresh_dir("samples_bad");
  Sample s;
  s.id = "c";
  s.present = gmd::kFullMask;
  s.image = brain_like({8, 8, 8}, s.present, 3);
  s.target = (torch::rand({3, 8, 8, 8}) > 0.7).to(torch::kUInt8);
  save_samples(dir / "cache.pt", {s});

  // Flip bytes inside the compressed image: the zlib checksum (or the archive) must refuse it.
  const auto size = fs::file_size(dir / "cache.pt");
  std::string bytes;
  {
    std::ifstream f(dir / "cache.pt", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), {});
  }
  std::string flipped = bytes;
  // The compressed image is most of the file: a third of the way in lies inside it.
  for (size_t i = size / 3; i < size / 3 + 64 && i < flipped.size(); ++i) flipped[i] = static_cast<char>(~flipped[i]);
  {
    std::ofstream f(dir / "flipped.pt", std::ios::binary);
    f << flipped;
  }
  EXPECT_THROW(load_samples(dir / "flipped.pt"), gmd::InputError);

  truncate_file(dir / "cache.pt", 0.5);
  EXPECT_THROW(load_samples(dir / "cache.pt"), gmd::InputError);
  EXPECT_THROW(load_samples(dir / "missing.pt"), gmd::InputError);

  // Format 1 (float32, uncompressed), written as the engine wrote it before format 2: still loads, exactly.
  {
    torch::serialize::OutputArchive archive, item;
    archive.write("format", c10::IValue(int64_t{1}));
    archive.write("count", c10::IValue(int64_t{1}));
    item.write("id", c10::IValue(std::string("old")));
    item.write("present", c10::IValue(int64_t{gmd::kFullMask}));
    item.write("image", s.image);
    item.write("has_target", c10::IValue(int64_t{1}));
    item.write("target", s.target);
    archive.write("s0", item);
    archive.save_to((dir / "v1.pt").string());
  }
  nlohmann::json meta = {{"x", 1}};
  const auto v1 = load_samples(dir / "v1.pt", &meta);
  ASSERT_EQ(v1.size(), 1u);
  EXPECT_TRUE(torch::equal(v1[0].image, s.image));
  EXPECT_TRUE(torch::equal(v1[0].target, s.target));
  EXPECT_TRUE(meta.is_object() && meta.empty());

  // An unknown future format is refused by name.
  {
    torch::serialize::OutputArchive archive;
    archive.write("format", c10::IValue(int64_t{3}));
    archive.write("count", c10::IValue(int64_t{0}));
    archive.save_to((dir / "v3.pt").string());
  }
  try {
    load_samples(dir / "v3.pt");
    ADD_FAILURE() << "format 3 accepted";
  } catch (const gmd::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("format 3"), std::string::npos) << e.what();
  }
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

// ---------------------------------------------------------------- checksums and the card's schema (issue 11)
namespace {
nlohmann::json read_card(const fs::path& dir) { return nlohmann::json::parse(gmd::read_text(dir / "model.json")); }
void write_card(const fs::path& dir, const nlohmann::json& j) { gmd::write_text_atomically(dir / "model.json", j.dump(2)); }
fs::path saved_tiny(const std::string& name) {
  const fs::path dir = fresh_dir(name);
  torch::manual_seed(5);
  save_model(dir, make_model(tiny(Method::DS)),
             {{"inference", {{"patch", 16}, {"overlap", 0.5}}}, {"preprocessing", {{"spacing", {2.0, 2.0, 2.0}}}}});
  return dir;
}
}  // namespace

TEST(ModelIntegrity, SaveRecordsChecksumsOfWeightsAndNetwork) {
  ASSERT_TRUE(gmd::sha256_available()) << "the full build links OpenSSL's libcrypto";
  const fs::path dir = saved_tiny("sha");
  const auto card = read_card(dir);
  EXPECT_EQ(card.at("weights_sha256").get<std::string>(), gmd::sha256_file(dir / "model.pt"));
  EXPECT_EQ(card.at("net_sha256").get<std::string>(), gmd::sha256_text(card.at("net").dump()));
  EXPECT_EQ(gmd::sha256_text("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");  // FIPS 180-2
  EXPECT_NO_THROW(load_model(dir));
}

TEST(ModelIntegrity, FlippedBytesInTheWeightsAreRefused) {
  const fs::path dir = saved_tiny("flip");
  std::string bytes = gmd::read_text(dir / "model.pt");
  for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64 && i < bytes.size(); ++i) bytes[i] ^= 0x5a;
  gmd::write_text_atomically(dir / "model.pt", bytes);
  const std::string msg = error_of([&] { load_model(dir); });
  EXPECT_NE(msg.find("model.pt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("SHA-256"), std::string::npos) << msg;
}

TEST(ModelIntegrity, EditingTheNetworkAfterTrainingIsRefused) {
  const fs::path dir = saved_tiny("groups");
  for (int groups : {1, 3, 64}) {
    auto card = read_card(dir);
    card["net"]["groups"] = groups;  // loads (GroupNorm has no per-group weights) but computes something else
    write_card(dir, card);
    EXPECT_NE(error_of([&] { load_model(dir); }).find("net_sha256"), std::string::npos) << groups;
  }
}

TEST(ModelIntegrity, CardFieldsAreValidatedByTypeAndRange) {
  const fs::path dir = saved_tiny("schema");
  const auto good = read_card(dir);
  auto expect_bad = [&](const std::string& ptr, const nlohmann::json& value, const std::string& fragment) {
    auto card = good;
    card[nlohmann::json::json_pointer(ptr)] = value;
    write_card(dir, card);
    const std::string msg = error_of([&] { load_model(dir); });
    EXPECT_NE(msg.find(fragment), std::string::npos) << ptr << " = " << value.dump() << ": " << msg;
    EXPECT_NE(msg.find("model.json"), std::string::npos) << msg;
  };
  expect_bad("/inference/patch", 3, "inference.patch");     // below the network's multiple (2 levels: 2)... and odd
  expect_bad("/inference/patch", -32, "inference.patch");
  expect_bad("/inference/patch", 17, "not a multiple of 2");
  expect_bad("/inference/patch", "96", "must be an integer");
  expect_bad("/inference/overlap", 1.5, "inference.overlap");
  expect_bad("/preprocessing/spacing", nlohmann::json::array({0.0, 2.0, 2.0}), "preprocessing.spacing[0]");
  expect_bad("/preprocessing/spacing", nlohmann::json::array({1e-3, 1e-3, 1e-3}), "preprocessing.spacing[0]");
  expect_bad("/preprocessing/spacing", "2mm", "preprocessing.spacing");
  expect_bad("/preprocessing/margin", "4", "preprocessing.margin");
  expect_bad("/method", "vanilla", "method");
  expect_bad("/weights_sha256", 12, "weights_sha256");
  write_card(dir, good);
  EXPECT_NO_THROW(load_model(dir));
}

TEST(ModelIntegrity, AModelWithoutChecksumsStillLoads) {  // models written before issue 11
  const fs::path dir = saved_tiny("legacy");
  auto card = read_card(dir);
  card.erase("weights_sha256");
  card.erase("net_sha256");
  write_card(dir, card);
  EXPECT_NO_THROW(load_model(dir));
}
