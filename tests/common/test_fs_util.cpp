// write_atomically / write_text_atomically / read_text (core/common/fs_util.hpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

#include "gmd/common/error.hpp"
#include "gmd/common/fs_util.hpp"

namespace fs = std::filesystem;

namespace {
struct TempDir {
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("gmd_common_test_" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::size_t entries() const {
    std::size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(path)) (void)e, ++n;
    return n;
  }
  fs::path path;
};
}  // namespace

TEST(WriteAtomically, WritesViaTempSiblingWithTheSameExtension) {
  TempDir tmp;
  const fs::path target = tmp.path / "sub" / "out.nii.gz";
  fs::path seen;
  gmd::write_atomically(target, [&](const fs::path& t) {
    seen = t;
    EXPECT_FALSE(fs::exists(target));  // not visible until complete
    std::ofstream(t) << "payload";
  });
  EXPECT_EQ(seen.parent_path(), target.parent_path());
  EXPECT_NE(seen, target);
  const std::string name = seen.filename().string();
  ASSERT_GE(name.size(), 7u);
  EXPECT_EQ(name.substr(name.size() - 7), ".nii.gz");  // ITK picks the format from it
  EXPECT_EQ(gmd::read_text(target), "payload");
  EXPECT_FALSE(fs::exists(seen));
  EXPECT_EQ(tmp.entries(), 2u);  // sub/ and out.nii.gz
}

TEST(WriteAtomically, ReplacesAnExistingFile) {
  TempDir tmp;
  const fs::path target = tmp.path / "report.json";
  gmd::write_text_atomically(target, "old");
  gmd::write_text_atomically(target, "new content");
  EXPECT_EQ(gmd::read_text(target), "new content");
  EXPECT_EQ(tmp.entries(), 1u);
}

TEST(WriteAtomically, FailureLeavesTargetUntouchedAndNoTempFile) {
  TempDir tmp;
  const fs::path target = tmp.path / "model.json";
  gmd::write_text_atomically(target, "original");
  EXPECT_THROW(gmd::write_atomically(target,
                                     [](const fs::path& t) {
                                       std::ofstream(t) << "half written";
                                       throw std::runtime_error("disk full");
                                     }),
               std::runtime_error);
  EXPECT_EQ(gmd::read_text(target), "original");
  EXPECT_EQ(tmp.entries(), 1u);
}

TEST(WriteAtomically, BinaryContentIsKeptExactly) {
  TempDir tmp;
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  bytes += std::string("\r\n\0end", 6);
  gmd::write_text_atomically(tmp.path / "b.bin", bytes);
  EXPECT_EQ(gmd::read_text(tmp.path / "b.bin"), bytes);
}

TEST(ReadText, MissingFileIsAnInputErrorNamingIt) {
  TempDir tmp;
  try {
    gmd::read_text(tmp.path / "absent.json");
    FAIL() << "no exception";
  } catch (const gmd::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("absent.json"), std::string::npos) << e.what();
  }
}
