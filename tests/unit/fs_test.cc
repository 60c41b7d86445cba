// base/fs.h: the runtime's writes of files for its caller (pid files, state).
#include "base/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace nsbox::fs {
namespace {

using nsbox::testing::TempDir;

std::string slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(FsTest, AtomicWriteNeverFollowsAPlantedLink) {
  TempDir t;
  t.mkdir("public", 01777);
  t.write("victim", "untouched\n", 0600);
  // Whatever temporary name a writer might use next to the pid file.
  for (const char* name : {".pid.tmp", ".pid", "pid.tmp"}) {
    ASSERT_EQ(::symlink((t / "victim").c_str(), (t / ("public/" + std::string(name))).c_str()), 0);
  }
  auto r = write_file_atomic(t / "public/pid", "1234", 0644);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(slurp(t / "public/pid"), "1234");
  EXPECT_EQ(slurp(t / "victim"), "untouched\n");
  struct stat st{};
  ASSERT_EQ(::lstat((t / "public/pid").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0644u);
}

TEST(FsTest, AtomicWriteReplacesALinkAtTheNameItself) {
  TempDir t;
  t.write("victim", "untouched\n", 0600);
  ASSERT_EQ(::symlink((t / "victim").c_str(), (t / "pid").c_str()), 0);
  ASSERT_TRUE(write_file_atomic(t / "pid", "42"));
  EXPECT_EQ(slurp(t / "victim"), "untouched\n");
  EXPECT_EQ(slurp(t / "pid"), "42");
  // No temporary left behind.
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(t.path())) ++n;
  EXPECT_EQ(n, 2u);
}

}  // namespace
}  // namespace nsbox::fs
