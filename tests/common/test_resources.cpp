// Resources relative to the executable (issue 17): the places looked at, in order, and what overrides them.
#include <gtest/gtest.h>

#include <cstdlib>

#include "gmd/common/resources.hpp"

namespace fs = std::filesystem;

TEST(Resources, PlacesAreTheVariableThenNextToTheExecutableThenTheSourceTree) {
  ::unsetenv("GMD_TEST_RESOURCE_DIR");
  const fs::path exe = gmd::executable_path();
  ASSERT_FALSE(exe.empty());
  EXPECT_EQ(exe.filename(), "test_common");
  auto places = gmd::resource_places("models/default", "GMD_TEST_RESOURCE_DIR", "/src/resources");
  ASSERT_EQ(places.size(), 2u);
  EXPECT_EQ(places[0].path, (exe.parent_path().parent_path() / "share/gmd-studio/models/default").lexically_normal());
  EXPECT_EQ(places[0].how, "next to the executable");
  EXPECT_EQ(places[1].path, fs::path("/src/resources/models/default"));
  EXPECT_EQ(places[1].how, "source tree");

  ::setenv("GMD_TEST_RESOURCE_DIR", "/opt/model", 1);
  places = gmd::resource_places("models/default", "GMD_TEST_RESOURCE_DIR", "/src/resources");
  ASSERT_EQ(places.size(), 3u);
  EXPECT_EQ(places[0].path, fs::path("/opt/model"));
  EXPECT_EQ(places[0].how, "GMD_TEST_RESOURCE_DIR");
  // An explicit choice only (the demo case): nowhere else.
  places = gmd::resource_places("demo", "GMD_TEST_RESOURCE_DIR", "/src/resources", /*env_only=*/true);
  ASSERT_EQ(places.size(), 1u);
  ::unsetenv("GMD_TEST_RESOURCE_DIR");
  // A package build has no source tree to fall back on.
  EXPECT_EQ(gmd::resource_places("colors", nullptr, "").size(), 1u);
}
