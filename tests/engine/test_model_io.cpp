// Model files (model.pt + model.json), sample cache, device resolution, the archive check before LibTorch reads.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "archive_check.hpp"  // engine-internal (tests/CMakeLists.txt adds core/engine/src)
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

// An 8^3 sample with all four modalities and a random target.
Sample small_sample() {
  Sample s;
  s.id = "c";
  s.present = gmd::kFullMask;
  s.image = brain_like({8, 8, 8}, s.present, 3);
  s.target = (torch::rand({3, 8, 8, 8}) > 0.7).to(torch::kUInt8);
  return s;
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
  const Sample s = small_sample();
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

// ---- The check of a torch archive's declared sizes before LibTorch trusts them (core/engine/src/archive_check.hpp):
// zip records declaring more than the file holds, pickle strings longer than their pickle, memo indices; through
// load_model and load_samples, and directly.
namespace {
void spill(const fs::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << bytes;
}

uint32_t le32(const std::string& b, std::size_t at) {
  uint32_t v = 0;
  for (int k = 3; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(b[at + k]);
  return v;
}
void put_le32(std::string& b, std::size_t at, uint32_t v) {
  for (int k = 0; k < 4; ++k) b[at + k] = static_cast<char>((v >> (8 * k)) & 0xff);
}

// The offset of the central-directory record of the first entry whose name ends with `suffix`.
std::size_t directory_record(const std::string& zip, const std::string& suffix) {
  for (std::size_t at = zip.find("PK\x01\x02"); at != std::string::npos; at = zip.find("PK\x01\x02", at + 4)) {
    if (at + 46 > zip.size()) break;
    const std::size_t name_len = le32(zip, at + 28) & 0xffff;
    const std::string name = zip.substr(at + 46, name_len);
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      return at;
  }
  return std::string::npos;
}

// The offset of the first BINUNICODE ('X', 4-byte length) opcode inside the data.pkl record of `zip`, found by
// walking the pickle from its start (so it is an opcode, not a byte of some argument).
std::size_t first_binunicode(const std::string& zip, const ZipEntry& pkl) {
  const char* p = zip.data() + pkl.data;
  const auto n = static_cast<std::size_t>(pkl.uncompressed);
  PickleOp op;
  for (std::size_t i = 0; i < n;) {
    if (!read_pickle_op(p, n, i, op).empty() || op.shape == PickleOp::Unknown) break;
    if (op.code == 'X') return static_cast<std::size_t>(pkl.data) + op.at;
  }
  return std::string::npos;
}

// A tiny saved model without checksums in its card, so edited weights reach the archive check (with a checksum, the
// SHA-256 refuses them first).
fs::path tiny_model(const std::string& name) {
  const fs::path dir = fresh_dir("archive_" + name);
  save_model(dir, make_model(tiny(Method::DS)), {});
  auto card = nlohmann::json::parse(gmd::read_text(dir / "model.json"));
  card.erase("weights_sha256");
  card.erase("net_sha256");
  gmd::write_text_atomically(dir / "model.json", card.dump(2));
  return dir;
}
}  // namespace

TEST(ArchiveCheck, AValidModelArchivePassesAndListsItsRecords) {
  const fs::path dir = tiny_model("valid");
  const auto entries = check_torch_archive(dir / "model.pt", "model weights");
  const std::string bytes = gmd::read_text(dir / "model.pt");
  bool has_pickle = false;
  for (const auto& e : entries) {
    EXPECT_TRUE(e.method == 0 || e.method == 8) << e.name;  // stored, or deflated (some TorchScript sources)
    if (e.method == 0) EXPECT_EQ(e.compressed, e.uncompressed) << e.name;
    EXPECT_LE(e.data + e.compressed, bytes.size()) << e.name;
    if (e.name.size() > 8 && e.name.compare(e.name.size() - 8, 8, "data.pkl") == 0) {
      has_pickle = true;
      // The record's bytes are where the entry says: a pickle starts with PROTO (0x80) and ends with STOP.
      EXPECT_EQ(static_cast<unsigned char>(bytes[e.data]), 0x80u);
      EXPECT_EQ(bytes[e.data + e.uncompressed - 1], '.');
    }
  }
  EXPECT_TRUE(has_pickle);
  EXPECT_NO_THROW(load_model(dir));
  fs::remove_all(dir);
}

// The fuzz finding of CI's smoke of 2026-12-04 (fuzz_model_pt: libFuzzer out-of-memory, malloc(4294508921)): a zip
// record whose directory entry declares 4 GB makes LibTorch's zip reader allocate 4 GB before reading it.
TEST(ArchiveCheck, AZipRecordDeclaringMoreThanTheFileHoldsIsRefusedBeforeLibTorchAllocatesIt) {
  const fs::path dir = tiny_model("zipsize");
  std::string bytes = gmd::read_text(dir / "model.pt");
  const std::size_t rec = directory_record(bytes, "data.pkl");
  ASSERT_NE(rec, std::string::npos);
  put_le32(bytes, rec + 20, 0xfff8fe79u);  // compressed size
  put_le32(bytes, rec + 24, 0xfff8fe79u);  // uncompressed size
  spill(dir / "model.pt", bytes);
  const std::string msg = error_of([&] { load_model(dir); });
  EXPECT_NE(msg.find("model.pt: corrupt or truncated model weights"), std::string::npos) << msg;
  EXPECT_NE(msg.find("declares 4294508153 bytes"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;

  // A stored record whose sizes disagree is refused by name too.
  put_le32(bytes, rec + 20, 10);
  spill(dir / "model.pt", bytes);
  EXPECT_NE(error_of([&] { load_model(dir); }).find("but stores 10"), std::string::npos);

  // A deflated record (LibTorch deflates some TorchScript sources) declaring more than deflate can expand to.
  const fs::path other = tiny_model("zipsize2");
  std::string fresh = gmd::read_text(other / "model.pt");
  std::size_t py = std::string::npos;
  for (std::size_t at = fresh.find("PK\x01\x02"); at != std::string::npos; at = fresh.find("PK\x01\x02", at + 4))
    if ((le32(fresh, at + 10) & 0xffff) == 8) {
      py = at;
      break;
    }
  ASSERT_NE(py, std::string::npos) << "no deflated record in a LibTorch archive";
  const uint32_t packed = le32(fresh, py + 20);
  put_le32(fresh, py + 24, packed * 2000u);
  spill(dir / "model.pt", fresh);
  const std::string deflated = error_of([&] { load_model(dir); });
  EXPECT_NE(deflated.find("compressed bytes can hold"), std::string::npos) << deflated;
  fs::remove_all(dir);
  fs::remove_all(other);
}

// Finding 5 of docs/reliability.md (fuzz_model_pt/unpickler-huge-reserve): a pickle string declaring gigabytes made
// LibTorch's unpickler reserve them.
TEST(ArchiveCheck, APickleStringLongerThanItsPickleIsRefused) {
  const fs::path dir = tiny_model("pickle");
  std::string bytes = gmd::read_text(dir / "model.pt");
  const auto entries = check_torch_archive(dir / "model.pt", "model weights");
  const ZipEntry* pkl = nullptr;
  for (const auto& e : entries)
    if (e.name.size() > 8 && e.name.compare(e.name.size() - 8, 8, "data.pkl") == 0) pkl = &e;
  ASSERT_NE(pkl, nullptr);
  const std::size_t x = first_binunicode(bytes, *pkl);
  ASSERT_NE(x, std::string::npos) << "no BINUNICODE in data.pkl";
  put_le32(bytes, x + 1, 0xfd000005u);
  spill(dir / "model.pt", bytes);
  const std::string msg = error_of([&] { load_model(dir); });
  EXPECT_NE(msg.find("corrupt or truncated model weights"), std::string::npos) << msg;
  EXPECT_NE(msg.find("declares 4244635653 bytes"), std::string::npos) << msg;
  fs::remove_all(dir);
}

TEST(ArchiveCheck, PickleProblemsAreNamedAndValidPicklesPass) {
  // PROTO 2, SHORT_BINUNICODE "ab", BINPUT 0, STOP.
  const std::string ok("\x80\x02\x8c\x02" "ab" "q\x00.", 9);
  EXPECT_EQ(pickle_problem(ok.data(), ok.size()), "");
  // BINUNICODE of 3 bytes with only 2 following.
  const std::string longer("\x80\x02X\x03\x00\x00\x00" "ab", 9);
  EXPECT_NE(pickle_problem(longer.data(), longer.size()).find("declares 3 bytes, more than the 2"), std::string::npos);
  // An 8-byte length (BINBYTES8) of 2^63.
  std::string huge("\x80\x04\x8e\x00\x00\x00\x00\x00\x00\x00\x80.", 12);
  EXPECT_NE(pickle_problem(huge.data(), huge.size()).find("declares 9223372036854775808"), std::string::npos);
  // LONG_BINPUT with an index of 4 billion: LibTorch's unpickler reserves memo space for it.
  const std::string memo("\x80\x02N" "r\xff\xff\xff\xf0.", 9);
  EXPECT_NE(pickle_problem(memo.data(), memo.size()).find("memo index 4043309055"), std::string::npos);
  // A pickle cut inside an opcode's length, and inside a GLOBAL's lines.
  const std::string cut("\x80\x02X\x03\x00", 5);
  EXPECT_NE(pickle_problem(cut.data(), cut.size()).find("ends inside an opcode at byte 2"), std::string::npos);
  const std::string cut_line("\x80\x02" "ctorch\nFloat", 14);
  EXPECT_NE(pickle_problem(cut_line.data(), cut_line.size()).find("ends inside an opcode"), std::string::npos);
  // Bytes after STOP are not read.
  const std::string after(".X\xff\xff\xff\xff", 6);
  EXPECT_EQ(pickle_problem(after.data(), after.size()), "");
}

TEST(ArchiveCheck, NotAZipAndATruncatedDirectoryAreNamed) {
  const fs::path dir = fresh_dir("archive_notzip");
  spill(dir / "a.pt", "short");
  EXPECT_NE(error_of([&] { check_torch_archive(dir / "a.pt", "checkpoint"); })
                .find("a.pt: corrupt or truncated checkpoint (too short"),
            std::string::npos);
  spill(dir / "b.pt", std::string(4096, 'x'));
  EXPECT_NE(error_of([&] { check_torch_archive(dir / "b.pt", "checkpoint"); }).find("no zip directory"),
            std::string::npos);
  EXPECT_NE(error_of([&] { check_torch_archive(dir / "missing.pt", "checkpoint"); }).find("cannot be opened"),
            std::string::npos);
  // A nested archive (as checkpoints hold the model and the optimizer) passes; its directory pointed past the end
  // of the file does not.
  {
    torch::serialize::OutputArchive outer, inner;
    inner.write("w", torch::ones({3}));
    outer.write("model", inner);
    outer.write("step", c10::IValue(int64_t{7}));
    outer.save_to((dir / "c.pt").string());
  }
  EXPECT_NO_THROW(check_torch_archive(dir / "c.pt", "checkpoint"));
  std::string bytes = gmd::read_text(dir / "c.pt");
  const std::size_t eocd = bytes.rfind("PK\x05\x06");
  ASSERT_NE(eocd, std::string::npos);
  // LibTorch writes a zip64 end record too, and its reader takes the directory's offset from there (so the 32-bit
  // field alone does not matter): move both.
  put_le32(bytes, eocd + 16, static_cast<uint32_t>(bytes.size()));
  const std::size_t z64 = bytes.rfind("PK\x06\x06");
  if (z64 != std::string::npos) {
    put_le32(bytes, z64 + 48, static_cast<uint32_t>(bytes.size()));
    put_le32(bytes, z64 + 52, 0);
  }
  spill(dir / "c.pt", bytes);
  EXPECT_NE(error_of([&] { check_torch_archive(dir / "c.pt", "checkpoint"); }).find("lies outside the file"),
            std::string::npos);
  fs::remove_all(dir);
}

TEST(ArchiveCheck, ASampleCacheWithAnInflatedRecordIsRefusedByName) {
  const fs::path dir = fresh_dir("archive_cache");
  save_samples(dir / "cache.pt", {small_sample()});
  std::string bytes = gmd::read_text(dir / "cache.pt");
  const std::size_t rec = directory_record(bytes, "data.pkl");
  ASSERT_NE(rec, std::string::npos);
  put_le32(bytes, rec + 20, 0x7fffffffu);
  put_le32(bytes, rec + 24, 0x7fffffffu);
  spill(dir / "cache.pt", bytes);
  const std::string msg = error_of([&] { load_samples(dir / "cache.pt"); });
  EXPECT_NE(msg.find("cache.pt: corrupt or truncated sample cache"), std::string::npos) << msg;
  EXPECT_NE(msg.find("declares 2147483647 bytes"), std::string::npos) << msg;
  fs::remove_all(dir);
}

// Fuzz finding 6: LibTorch 1.13's TorchScript compiler crashed (SEGV in ScriptTypeParser::parseClassConstant) on a
// class-level assignment it does not expect in model.pt's class definitions (`__paramtr__see = [...]`, one mutated
// name; 2.11 throws instead). Such sources are refused before LibTorch compiles them, in stored and deflated records.
TEST(ArchiveCheck, TorchScriptSourcesOtherThanModuleAttributesAreRefused) {
  const fs::path dir = tiny_model("torchscript");
  const std::string valid = gmd::read_text(dir / "model.pt");
  std::string bytes = valid;
  const std::size_t at = bytes.find("  __parameters__ = [\"weight\"");
  ASSERT_NE(at, std::string::npos) << "no stored class definition with parameters in a LibTorch archive";
  bytes.replace(at + 2, 14, "__paramtr__see");  // same length: the record's sizes stay right
  spill(dir / "model.pt", bytes);
  const std::string msg = error_of([&] { load_model(dir); });
  EXPECT_NE(msg.find("corrupt or truncated model weights"), std::string::npos) << msg;
  EXPECT_NE(msg.find("is not a module attribute gmd writes: '  __paramtr__see = [\"weight\""), std::string::npos)
      << msg;
  spill(dir / "model.pt", valid);
  EXPECT_NO_THROW(load_model(dir));
  fs::remove_all(dir);

  // The lines LibTorch writes for C++ modules (both LibTorches) pass; anything else is named by line.
  EXPECT_EQ(torchscript_problem("class Module(Module):\n  __parameters__ = [\"weight\", \"bias\", ]\n"
                                "  __buffers__ = []\n  __annotations__ = []\n  __annotations__[\"0\"] = Tensor\n"
                                "  weight : Tensor\n  unet : __torch__.___torch_mangle_0.Module\n"
                                "  betas : Tuple[float, float]\n  d : Dict[str, List[Tensor]]\n"),
            "");
  EXPECT_NE(torchscript_problem("class Module(Module):\n  __buhfers__ = []\n").find("line 2 "), std::string::npos);
  EXPECT_NE(torchscript_problem("class Module(Module):\n  __parametesr_=_  [\"weight\", ]\n").find("line 2 "),
            std::string::npos);
  EXPECT_NE(torchscript_problem("class Module(Module):\n  def forward(self, x):\n    return x\n").find("line 2 "),
            std::string::npos);
  EXPECT_NE(torchscript_problem("class Module(Module):\n  w : Tensor]\n").find("line 2 "), std::string::npos);
  EXPECT_NE(torchscript_problem("  x : Tuple[Tuple[Tuple[Tuple[Tuple[Tuple[Tuple[Tuple[Tuple[Tuple[int]]]]]]]]]]")
                .find("line 1 "),
            std::string::npos);  // nesting deeper than LibTorch writes
}

// LibTorch builds each tensor storage over its record as it is, with the element count the pickle declares: a record
// shorter than that was read past its end (LibTorch 2.11 loaded such a model.pt, weights of -1.7e38 from beyond the
// record's buffer). The check compares every storage the pickles declare with its record.
TEST(ArchiveCheck, ATensorRecordShorterThanItsStorageIsRefused) {
  const fs::path dir = tiny_model("storage");
  std::string bytes = gmd::read_text(dir / "model.pt");
  const std::size_t rec = directory_record(bytes, "/data/0");
  ASSERT_NE(rec, std::string::npos);
  const uint32_t size = le32(bytes, rec + 24);
  ASSERT_GT(size, 8u);
  put_le32(bytes, rec + 20, size - 4);  // one float32 short
  put_le32(bytes, rec + 24, size - 4);
  spill(dir / "model.pt", bytes);
  const std::string msg = error_of([&] { load_model(dir); });
  EXPECT_NE(msg.find("corrupt or truncated model weights"), std::string::npos) << msg;
  EXPECT_NE(msg.find("data/0' holds " + std::to_string(size - 4) + " bytes, but data.pkl declares " +
                     std::to_string(size / 4) + " elements of 4 bytes"),
            std::string::npos)
      << msg;
  fs::remove_all(dir);

  // The pickle machine follows memoised strings and globals (LibTorch writes 'storage' and the type once and
  // refers back to them): ('storage', torch.FloatStorage, '0', 'cpu', 10) then (memo 0, memo 1, '1', 'cpu', 300).
  const std::string p("\x80\x02(X\x07\x00\x00\x00storageq\x00" "ctorch\nFloatStorage\nq\x01"
                      "X\x01\x00\x00\x00" "0X\x03\x00\x00\x00" "cpuK\x0atQ0"
                      "(h\x00h\x01X\x01\x00\x00\x00" "1X\x03\x00\x00\x00" "cpuM\x2c\x01tQ.",
                      83);
  ASSERT_EQ(pickle_problem(p.data(), p.size()), "");
  const auto st = pickle_storages(p.data(), p.size());
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].type, "torch.FloatStorage");
  EXPECT_EQ(st[0].key, "0");
  EXPECT_EQ(st[0].numel, 10);
  EXPECT_EQ(st[1].type, "torch.FloatStorage");
  EXPECT_EQ(st[1].key, "1");
  EXPECT_EQ(st[1].numel, 300);
}
