#include "cgroup/cgroup.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace nsbox::cgroup {
namespace {

using nsbox::testing::TempDir;

bool is_dir(const std::string& p) {
  struct stat st{};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool exists(const std::string& p) {
  struct stat st{};
  return ::lstat(p.c_str(), &st) == 0;
}

void expect_hierarchy(const Hierarchy& h, const std::string& mountpoint, const std::string& fstype,
                      const std::string& options, const std::string& controllers, const std::string& own_path) {
  EXPECT_EQ(h.mountpoint, mountpoint);
  EXPECT_EQ(h.fstype, fstype) << mountpoint;
  EXPECT_EQ(h.options, options) << mountpoint;
  EXPECT_EQ(h.controllers, controllers) << mountpoint;
  EXPECT_EQ(h.own_path, own_path) << mountpoint;
}

// An Ubuntu 20.04-style hybrid host: v1 controllers (some co-mounted), the named systemd
// hierarchy and cgroup2 at /sys/fs/cgroup/unified. rdma and misc are listed but not mounted.
const char* kHybridProcCgroup =
    "13:misc:/\n"
    "12:cpuset:/\n"
    "11:cpu,cpuacct:/user.slice\n"
    "10:memory:/user.slice/user-1000.slice/session-2.scope\n"
    "9:pids:/user.slice/user-1000.slice/session-2.scope\n"
    "8:devices:/user.slice\n"
    "7:freezer:/\n"
    "6:net_cls,net_prio:/\n"
    "2:rdma:/\n"
    "1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n"
    "0::/user.slice/user-1000.slice/session-2.scope\n";

const char* kHybridMountinfo =
    "24 29 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "29 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n"
    "33 24 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
    "34 33 0:29 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 "
    "rw,nsdelegate\n"
    "35 33 0:30 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup "
    "rw,xattr,name=systemd\n"
    "38 33 0:33 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup "
    "rw,cpu,cpuacct\n"
    "39 33 0:34 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory\n"
    "40 33 0:35 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,cpuset\n"
    "41 33 0:36 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,pids\n"
    "42 33 0:37 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup rw,devices\n"
    "43 33 0:38 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:20 - cgroup cgroup rw,freezer\n"
    "44 33 0:39 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:21 - cgroup cgroup "
    "rw,net_cls,net_prio\n"
    "60 29 0:50 / /run/user/1000 rw,nosuid,nodev,relatime shared:300 - tmpfs tmpfs rw,size=1000k,mode=700\n";

TEST(DiscoverFrom, HybridHost) {
  auto hs = discover_from(kHybridProcCgroup, kHybridMountinfo);
  ASSERT_EQ(hs.size(), 9u);
  const std::string scope = "/user.slice/user-1000.slice/session-2.scope";
  expect_hierarchy(hs[0], "/sys/fs/cgroup/cpuset", "cgroup", "rw,cpuset", "cpuset", "/");
  expect_hierarchy(hs[1], "/sys/fs/cgroup/cpu,cpuacct", "cgroup", "rw,cpu,cpuacct", "cpu,cpuacct", "/user.slice");
  expect_hierarchy(hs[2], "/sys/fs/cgroup/memory", "cgroup", "rw,memory", "memory", scope);
  expect_hierarchy(hs[3], "/sys/fs/cgroup/pids", "cgroup", "rw,pids", "pids", scope);
  expect_hierarchy(hs[4], "/sys/fs/cgroup/devices", "cgroup", "rw,devices", "devices", "/user.slice");
  expect_hierarchy(hs[5], "/sys/fs/cgroup/freezer", "cgroup", "rw,freezer", "freezer", "/");
  expect_hierarchy(hs[6], "/sys/fs/cgroup/net_cls,net_prio", "cgroup", "rw,net_cls,net_prio", "net_cls,net_prio",
                   "/");
  expect_hierarchy(hs[7], "/sys/fs/cgroup/systemd", "cgroup", "rw,xattr,name=systemd", "name=systemd", scope);
  expect_hierarchy(hs[8], "/sys/fs/cgroup/unified", "cgroup2", "rw,nsdelegate", "", scope);
}

TEST(DiscoverFrom, CoveredMountsAreSkipped) {
  // crun's trick on hybrid hosts: an empty tmpfs over /sys/fs/cgroup/unified hides the v2
  // hierarchy, so the process sees v1 only.
  std::string mi = std::string(kHybridMountinfo) +
                   "70 34 0:60 / /sys/fs/cgroup/unified rw,relatime - tmpfs none rw\n";
  auto hs = discover_from(kHybridProcCgroup, mi);
  ASSERT_EQ(hs.size(), 8u);
  for (const auto& h : hs) EXPECT_NE(h.fstype, "cgroup2") << h.mountpoint;
  // A tmpfs over the whole tree hides every hierarchy.
  mi = std::string(kHybridMountinfo) + "71 24 0:61 / /sys/fs/cgroup rw,relatime - tmpfs none rw\n";
  EXPECT_TRUE(discover_from(kHybridProcCgroup, mi).empty());
}

TEST(DiscoverFrom, PureV2) {
  const char* mi =
      "25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
      "30 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n"
      "34 25 0:29 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
      "rw,nsdelegate,memory_recursiveprot\n";
  auto hs = discover_from("0::/user.slice\n", mi);
  ASSERT_EQ(hs.size(), 1u);
  expect_hierarchy(hs[0], "/sys/fs/cgroup", "cgroup2", "rw,nsdelegate,memory_recursiveprot", "", "/user.slice");

  // Without a trailing newline, and in the root cgroup.
  hs = discover_from("0::/", mi);
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_EQ(hs[0].own_path, "/");
}

TEST(DiscoverFrom, V2LineDoesNotMatchAV1Mount) {
  // Only v1 hierarchies mounted: the "0::" line has nowhere to go.
  const char* mi = "39 33 0:34 / /sys/fs/cgroup/memory rw,relatime shared:16 - cgroup cgroup rw,memory\n";
  auto hs = discover_from("0::/a\n4:memory:/a\n", mi);
  ASSERT_EQ(hs.size(), 1u);
  expect_hierarchy(hs[0], "/sys/fs/cgroup/memory", "cgroup", "rw,memory", "memory", "/a");
}

TEST(DiscoverFrom, ControllersMustAllBeMounted) {
  // "cpu,cpuacct" needs a mount holding both; a mount of cpu alone does not do.
  const char* mi = "38 33 0:33 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n";
  EXPECT_TRUE(discover_from("3:cpu,cpuacct:/\n", mi).empty());
  // And "cpu" must be an exact option, not a prefix of "cpuset".
  const char* mi2 = "38 33 0:33 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n";
  EXPECT_TRUE(discover_from("3:cpu:/\n", mi2).empty());
  // Nothing mounted at all.
  EXPECT_TRUE(discover_from(kHybridProcCgroup, "").empty());
  EXPECT_TRUE(discover_from("", kHybridMountinfo).empty());
}

TEST(DiscoverFrom, MountRootIsNotSlash) {
  // Inside a container without a cgroup namespace: the host's /docker/abc is mounted at /sys/fs/cgroup.
  const char* mi =
      "700 690 0:29 /docker/abc /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime master:10 - cgroup2 cgroup2 rw\n";
  auto hs = discover_from("0::/docker/abc/sub/leaf\n", mi);
  ASSERT_EQ(hs.size(), 1u);
  expect_hierarchy(hs[0], "/sys/fs/cgroup", "cgroup2", "rw", "", "/sub/leaf");

  hs = discover_from("0::/docker/abc\n", mi);
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_EQ(hs[0].own_path, "/");

  // Our cgroup is outside what is mounted: the mount cannot hold it.
  EXPECT_TRUE(discover_from("0::/other\n", mi).empty());
  // A sibling whose name merely starts with the mount root is outside too.
  EXPECT_TRUE(discover_from("0::/docker/abcdef\n", mi).empty());
}

TEST(DiscoverFrom, FirstUsableMountWins) {
  // The same v1 hierarchy mounted twice: a sub-tree that does not hold us, then the root.
  const char* mi =
      "50 33 0:34 /elsewhere /mnt/mem rw,relatime - cgroup cgroup rw,memory\n"
      "39 33 0:34 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "51 33 0:34 / /mnt/mem2 rw,relatime - cgroup cgroup rw,memory\n";
  auto hs = discover_from("4:memory:/a/b\n", mi);
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_EQ(hs[0].mountpoint, "/sys/fs/cgroup/memory");
  EXPECT_EQ(hs[0].own_path, "/a/b");
}

TEST(DiscoverFrom, EscapedMountPoint) {
  const char* mi = "34 25 0:29 / /mnt/my\\040cgroup rw,relatime shared:9 - cgroup2 cgroup2 rw\n";
  auto hs = discover_from("0::/x\n", mi);
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_EQ(hs[0].mountpoint, "/mnt/my cgroup");
}

TEST(DiscoverFrom, CgroupPathWithColon) {
  const char* mi = "34 25 0:29 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
  auto hs = discover_from("0::/a:b/c\n", mi);
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_EQ(hs[0].own_path, "/a:b/c");
}

TEST(ContainerDir, RelativeAndAbsolute) {
  Hierarchy h{"/sys/fs/cgroup/memory", "cgroup", "rw,memory", "memory", "/user.slice/session.scope"};
  EXPECT_EQ(container_dir(h, "nsbox/c1"), "/sys/fs/cgroup/memory/user.slice/session.scope/nsbox/c1");
  EXPECT_EQ(container_dir(h, "c1"), "/sys/fs/cgroup/memory/user.slice/session.scope/c1");
  EXPECT_EQ(container_dir(h, "/nsbox/c1"), "/sys/fs/cgroup/memory/nsbox/c1");
  EXPECT_EQ(container_dir(h, "/c1"), "/sys/fs/cgroup/memory/c1");

  Hierarchy root{"/sys/fs/cgroup", "cgroup2", "rw", "", "/"};
  EXPECT_EQ(container_dir(root, "c1"), "/sys/fs/cgroup/c1");
  EXPECT_EQ(container_dir(root, "a/b"), "/sys/fs/cgroup/a/b");
  EXPECT_EQ(container_dir(root, "/a/b"), "/sys/fs/cgroup/a/b");
}

// A temp dir standing in for cgroup file systems: h1 and h2 are two "hierarchies".
class CgroupTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    dir_.mkdir("h1");
    dir_.mkdir("h2");
  }
  Hierarchy hier(const std::string& name, const std::string& own = "/") const {
    return Hierarchy{dir_ / name, "cgroup", "rw,memory", "memory", own};
  }
  TempDir dir_;
};

TEST_F(CgroupTreeTest, CreateMakesMissingLevelsAndDestroyRemovesExactlyThem) {
  dir_.mkdir("h2/nsbox");  // pre-existing parent in the second hierarchy
  auto pl = create({hier("h1"), hier("h2")}, "/nsbox/c1");
  ASSERT_TRUE(pl) << pl.error().what();
  EXPECT_EQ(pl->leaves, (std::vector<std::string>{dir_ / "h1/nsbox/c1", dir_ / "h2/nsbox/c1"}));
  EXPECT_EQ(pl->created, (std::vector<std::string>{dir_ / "h1/nsbox", dir_ / "h1/nsbox/c1", dir_ / "h2/nsbox/c1"}));
  for (const auto& d : pl->leaves) EXPECT_TRUE(is_dir(d)) << d;

  auto r = destroy(pl->leaves, pl->created);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_FALSE(exists(dir_ / "h1/nsbox"));
  EXPECT_FALSE(exists(dir_ / "h2/nsbox/c1"));
  EXPECT_TRUE(is_dir(dir_ / "h2/nsbox"));  // not ours: survives
  EXPECT_TRUE(is_dir(dir_ / "h1"));
  EXPECT_TRUE(is_dir(dir_ / "h2"));
}

TEST_F(CgroupTreeTest, AParentWeMadeThatOthersNowUseStays) {
  // containerd: /ns/a made /ns; /ns/b came later. Deleting a must neither fail nor wait.
  auto a = create({hier("h1")}, "/ns/a");
  ASSERT_TRUE(a) << a.error().what();
  dir_.mkdir("h1/ns/b");
  auto r = destroy(a->leaves, a->created);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_FALSE(exists(dir_ / "h1/ns/a"));
  EXPECT_TRUE(is_dir(dir_ / "h1/ns/b"));
}

TEST_F(CgroupTreeTest, RelativePathGoesBelowOwnCgroup) {
  dir_.mkdir("h1/user.slice");
  auto pl = create({hier("h1", "/user.slice")}, "nsbox/deep/c1");
  ASSERT_TRUE(pl) << pl.error().what();
  EXPECT_EQ(pl->leaves, (std::vector<std::string>{dir_ / "h1/user.slice/nsbox/deep/c1"}));
  EXPECT_EQ(pl->created, (std::vector<std::string>{dir_ / "h1/user.slice/nsbox", dir_ / "h1/user.slice/nsbox/deep",
                                                   dir_ / "h1/user.slice/nsbox/deep/c1"}));
  ASSERT_TRUE(destroy(pl->leaves, pl->created));
  EXPECT_FALSE(exists(dir_ / "h1/user.slice/nsbox"));
  EXPECT_TRUE(is_dir(dir_ / "h1/user.slice"));
}

TEST_F(CgroupTreeTest, ExistingLeafIsUsedButNotRecorded) {
  dir_.mkdir("h1/c1");
  auto pl = create({hier("h1")}, "c1");
  ASSERT_TRUE(pl) << pl.error().what();
  EXPECT_EQ(pl->leaves, (std::vector<std::string>{dir_ / "h1/c1"}));
  EXPECT_TRUE(pl->created.empty());
}

TEST_F(CgroupTreeTest, NoHierarchiesIsAnEmptyPlacement) {
  auto pl = create({}, "/nsbox/c1");
  ASSERT_TRUE(pl);
  EXPECT_TRUE(pl->leaves.empty());
  EXPECT_TRUE(pl->created.empty());
}

TEST_F(CgroupTreeTest, FailureLeavesNothingBehind) {
  dir_.write("notadir", "x");
  auto pl = create({hier("h1"), hier("notadir")}, "/nsbox/c1");
  ASSERT_FALSE(pl);
  EXPECT_EQ(pl.error().code(), ENOTDIR);
  EXPECT_EQ(pl.error().what(), "create cgroup " + (dir_ / "notadir/nsbox") + ": " + std::strerror(ENOTDIR));
  EXPECT_FALSE(exists(dir_ / "h1/nsbox"));  // the first hierarchy's directories were removed
  EXPECT_TRUE(is_dir(dir_ / "h1"));
}

TEST_F(CgroupTreeTest, CgroupsPathCannotEscapeTheHierarchy) {
  // runc cleans cgroupsPath (utils.CleanPath) so ".." can never leave the cgroup mount.
  std::filesystem::path tmp(dir_.path());
  std::string name = "escape-" + tmp.filename().string();
  std::string outside = tmp.parent_path().string() + "/" + name;  // where h1/../../name leads
  auto pl = create({hier("h1")}, "/../../" + name);
  bool escaped = exists(outside);
  EXPECT_FALSE(escaped) << "created " << outside;
  if (pl) {
    for (const auto& d : pl->leaves) {
      EXPECT_TRUE(std::filesystem::weakly_canonical(d).string().starts_with(dir_ / "h1/")) << d;
    }
    for (const auto& d : pl->created) {
      EXPECT_TRUE(std::filesystem::weakly_canonical(d).string().starts_with(dir_ / "h1/")) << d;
    }
    (void)destroy(pl->leaves, pl->created);
  }
  if (escaped) ::rmdir(outside.c_str());
}

TEST_F(CgroupTreeTest, DestroyIsIdempotent) {
  auto pl = create({hier("h1")}, "a/b");
  ASSERT_TRUE(pl);
  ASSERT_TRUE(destroy(pl->leaves, pl->created));
  auto r = destroy(pl->leaves, pl->created);  // already gone: not an error
  EXPECT_TRUE(r) << r.error().what();
  EXPECT_TRUE(destroy({}, {}));
}

TEST_F(CgroupTreeTest, DestroyReportsTheFirstFailureAndGoesOn) {
  auto pl = create({hier("h1"), hier("h2")}, "a/b");
  ASSERT_TRUE(pl);
  dir_.write("h1/a/b/busy", "x");  // rmdir fails: not empty
  auto r = destroy(pl->leaves, pl->created);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ENOTEMPTY);
  EXPECT_EQ(r.error().what(), "remove cgroup " + (dir_ / "h1/a/b") + ": " + std::strerror(ENOTEMPTY));
  // The other hierarchy's directories were still removed.
  EXPECT_FALSE(exists(dir_ / "h2/a"));
  EXPECT_TRUE(is_dir(dir_ / "h1/a/b"));
}

TEST_F(CgroupTreeTest, DestroyRemovesWhatTheContainerMadeBelowItsLeaf) {
  // systemd as a container's init makes init.scope, system.slice/x.service...
  dir_.mkdir("h1/pre");  // the leaf existed before create: it stays, what is below goes
  auto pl = create({hier("h1"), hier("h2")}, "/pre");
  ASSERT_TRUE(pl) << pl.error().what();
  dir_.mkdir("h1/pre/init.scope");
  dir_.mkdir("h1/pre/system.slice/cron.service");
  dir_.mkdir("h2/pre/system.slice/a.service");
  auto r = destroy(pl->leaves, pl->created);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_FALSE(exists(dir_ / "h1/pre/init.scope"));
  EXPECT_FALSE(exists(dir_ / "h1/pre/system.slice"));
  EXPECT_TRUE(is_dir(dir_ / "h1/pre"));
  EXPECT_FALSE(exists(dir_ / "h2/pre"));
}

TEST_F(CgroupTreeTest, EnterWritesThePid) {
  dir_.mkdir("h1/c");
  dir_.mkdir("h2/c");
  dir_.write("h1/c/cgroup.procs", "");
  dir_.write("h2/c/cgroup.procs", "");
  ASSERT_TRUE(enter({dir_ / "h1/c", dir_ / "h2/c"}, 4321));
  for (const char* f : {"h1/c/cgroup.procs", "h2/c/cgroup.procs"}) {
    std::ifstream in(dir_ / f);
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str(), "4321") << f;
  }
  auto r = enter({dir_ / "h1/missing"}, 1);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "join cgroup " + (dir_ / "h1/missing") + ": open " + (dir_ / "h1/missing") +
                                  "/cgroup.procs: No such file or directory");
}

// The attach warm-up helper makes a plan's directories while the runtime clones: h1 has a
// cgroup.procs of its own (a plain file here), so the helper runs; h2 has none.
TEST_F(CgroupTreeTest, WarmupHelperMakesThePlanAndWritesItsOwnCgroup) {
  dir_.write("h1/cgroup.procs", "");
  dir_.mkdir("h2/nsbox");
  Plan p = plan({hier("h1"), hier("h2")}, "/nsbox/c1");
  EXPECT_EQ(p.leaves, (std::vector<std::string>{dir_ / "h1/nsbox/c1", dir_ / "h2/nsbox/c1"}));
  ASSERT_EQ(p.dirs.size(), 4u);
  AttachWarmup w({hier("h1"), hier("h2")}, &p);
  EXPECT_TRUE(w.active());
  auto pl = w.made();
  ASSERT_TRUE(pl) << pl.error().what();
  EXPECT_EQ(pl->leaves, p.leaves);
  EXPECT_EQ(pl->created, (std::vector<std::string>{dir_ / "h1/nsbox", dir_ / "h1/nsbox/c1", dir_ / "h2/nsbox/c1"}));
  for (const auto& d : pl->leaves) EXPECT_TRUE(is_dir(d)) << d;
  w.finish();
  std::ifstream procs(dir_ / "h1/cgroup.procs");
  std::string written((std::istreambuf_iterator<char>(procs)), std::istreambuf_iterator<char>());
  EXPECT_EQ(written, "0");  // the no-op move: itself, into the cgroup it is in
  auto again = w.made();  // asked again (the runtime's cleanup does): the same placement
  ASSERT_TRUE(again);
  EXPECT_EQ(again->created, pl->created);
  ASSERT_TRUE(destroy(pl->leaves, pl->created));
}

TEST_F(CgroupTreeTest, WarmupHelperFailureLeavesNothingBehind) {
  dir_.write("h1/cgroup.procs", "");
  dir_.write("notadir", "x");
  Plan p = plan({hier("h1"), hier("notadir")}, "/nsbox/c1");
  AttachWarmup w({hier("h1"), hier("notadir")}, &p);
  EXPECT_TRUE(w.active());
  auto pl = w.made();
  ASSERT_FALSE(pl);
  EXPECT_EQ(pl.error().what(), "create cgroup " + (dir_ / "notadir/nsbox") + ": " + std::strerror(ENOTDIR));
  EXPECT_FALSE(exists(dir_ / "h1/nsbox"));
  auto again = w.made();
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->created.empty());
}

TEST_F(CgroupTreeTest, WithoutAHelperTheWarmupMakesThePlanItself) {
  Plan p = plan({hier("h2")}, "c1");  // h2 has no cgroup.procs: no helper
  AttachWarmup w({hier("h2")}, &p);
  EXPECT_FALSE(w.active());
  auto pl = w.made();
  ASSERT_TRUE(pl) << pl.error().what();
  EXPECT_EQ(pl->created, (std::vector<std::string>{dir_ / "h2/c1"}));
  ASSERT_TRUE(destroy(pl->leaves, pl->created));
}

}  // namespace
}  // namespace nsbox::cgroup
