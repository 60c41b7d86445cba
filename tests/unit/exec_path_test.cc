#include "process/exec_path.h"
#include "process/home.h"

#include <cerrno>
#include <cstring>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace nsbox::process {
namespace {

using nsbox::testing::TempDir;

class LookPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    dir_.mkdir("bin1");
    dir_.mkdir("bin2");
    dir_.mkdir("bin3");
  }
  std::string p(const std::string& rel) const { return dir_ / rel; }
  std::vector<std::string> env_path(const std::string& path) const {
    return {"HOME=/root", "PATH=" + path, "TERM=xterm"};
  }
  TempDir dir_;
};

TEST_F(LookPathTest, FoundInPath) {
  dir_.write("bin2/prog", "#!/bin/sh\n", 0755);
  auto r = look_path("prog", env_path(p("bin1") + ":" + p("bin2")));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(*r, p("bin2/prog"));
}

TEST_F(LookPathTest, FirstMatchWins) {
  dir_.write("bin1/prog", "", 0755);
  dir_.write("bin2/prog", "", 0755);
  auto r = look_path("prog", env_path(p("bin1") + ":" + p("bin2")));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(*r, p("bin1/prog"));
  r = look_path("prog", env_path(p("bin2") + ":" + p("bin1")));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(*r, p("bin2/prog"));
}

TEST_F(LookPathTest, AnyExecuteBitCounts) {
  dir_.write("bin1/prog", "", 0701);
  auto r = look_path("prog", env_path(p("bin1")));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(*r, p("bin1/prog"));
}

TEST_F(LookPathTest, NonExecutableIsSkipped) {
  dir_.write("bin1/prog", "", 0644);
  dir_.write("bin2/prog", "", 0755);
  auto r = look_path("prog", env_path(p("bin1") + ":" + p("bin2")));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(*r, p("bin2/prog"));

  // Only a non-executable one: not found (even for root, who may read it).
  r = look_path("prog", env_path(p("bin1")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "exec: \"prog\": executable file not found in $PATH");
}

TEST_F(LookPathTest, DirectoryIsNotExecutable) {
  dir_.mkdir("bin1/prog", 0755);
  dir_.write("bin3/prog", "", 0755);
  auto r = look_path("prog", env_path(p("bin1") + ":" + p("bin3")));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(*r, p("bin3/prog"));

  r = look_path("prog", env_path(p("bin1")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "exec: \"prog\": executable file not found in $PATH");

  // Named by path: a directory is a permission error, as with Go's exec.LookPath.
  r = look_path(p("bin1/prog"), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "exec: \"" + p("bin1/prog") + "\": " + "permission denied");
}

TEST_F(LookPathTest, MissingGivesTheRuncText) {
  auto r = look_path("X", env_path(p("bin1") + ":" + p("bin2")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "exec: \"X\": executable file not found in $PATH");
  EXPECT_EQ(r.error().code(), 0);
}

TEST_F(LookPathTest, NoPathInEnvironment) {
  dir_.write("bin1/prog", "", 0755);
  for (const auto& env : std::vector<std::vector<std::string>>{
           {}, {"HOME=/"}, {"XPATH=" + p("bin1")}, {"MYPATH=" + p("bin1")}, {"PATH="}}) {
    auto r = look_path("prog", env);
    ASSERT_FALSE(r) << (env.empty() ? "" : env[0]);
    EXPECT_EQ(r.error().what(), "exec: \"prog\": executable file not found in $PATH");
  }
}

TEST_F(LookPathTest, AbsolutePath) {
  dir_.write("bin1/prog", "", 0755);
  auto r = look_path(p("bin1/prog"), {});
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(*r, p("bin1/prog"));

  // PATH is not consulted for a name with a slash.
  r = look_path(p("bin2/prog"), env_path(p("bin1")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(),
            "exec: \"" + p("bin2/prog") + "\": stat " + p("bin2/prog") + ": no such file or directory");
}

TEST_F(LookPathTest, AbsoluteMissing) {
  auto r = look_path("/no/such", env_path("/bin"));
  ASSERT_FALSE(r);
  // Go's (and so runc's) errno texts are lower case; engines match on them.
  EXPECT_EQ(r.error().what(), "exec: \"/no/such\": stat /no/such: no such file or directory");
  EXPECT_EQ(r.error().code(), 0);
}

TEST_F(LookPathTest, AbsoluteThroughAFile) {
  dir_.write("file", "", 0755);
  auto r = look_path(p("file/x"), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "exec: \"" + p("file/x") + "\": stat " + p("file/x") + ": not a directory");
}

TEST_F(LookPathTest, AbsoluteNotExecutable) {
  dir_.write("bin1/data", "", 0644);
  auto r = look_path(p("bin1/data"), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "exec: \"" + p("bin1/data") + "\": permission denied");
}

}  // namespace
}  // namespace nsbox::process

namespace nsbox::process {
namespace {

TEST(HomeFromPasswd, TheUidsHomeOrNothing) {
  std::string passwd =
      "root:x:0:0:root:/root:/bin/sh\n"
      "# a comment line\n"
      "broken line\n"
      "www:x:33:33:www:/var/www:/usr/sbin/nologin\n"
      "odd:x:1e3:1:odd:/nope:/bin/sh\n"
      "last:x:1000:1000::/home/last:/bin/sh";  // no final newline
  EXPECT_EQ(home_from_passwd(passwd, 0), "/root");
  EXPECT_EQ(home_from_passwd(passwd, 33), "/var/www");
  EXPECT_EQ(home_from_passwd(passwd, 1000), "/home/last");
  EXPECT_EQ(home_from_passwd(passwd, 1), "");
  EXPECT_EQ(home_from_passwd("", 0), "");
}

}  // namespace
}  // namespace nsbox::process
