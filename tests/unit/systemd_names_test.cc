// systemd/names.h: cgroupsPath -> unit, slice and cgroup, as runc and crun derive them.
#include "systemd/names.h"

#include <gtest/gtest.h>

namespace nsbox::systemd {
namespace {

TEST(SystemdNames, ExpandSlice) {
  EXPECT_EQ(*expand_slice("machine.slice"), "/machine.slice");
  EXPECT_EQ(*expand_slice("-.slice"), "/");
  EXPECT_EQ(*expand_slice("a-b-c.slice"), "/a.slice/a-b.slice/a-b-c.slice");
  EXPECT_EQ(*expand_slice("kubepods-burstable-pod1234_5678.slice"),
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234_5678.slice");
  for (const char* bad : {"test--a.slice", "-test.slice", "user.slice/x.slice", ".slice", "machine", "a-.slice", ""}) {
    auto r = expand_slice(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().what(), std::string("invalid slice name: ") + bad);
  }
}

TEST(SystemdNames, UnitsAsRuncNamesThem) {
  struct Case {
    const char* path;
    const char* unit;
    const char* cgroup;
  } cases[] = {
      {"", "nsbox-abc.scope", "/system.slice/nsbox-abc.scope"},
      {"system.slice:docker:abc", "docker-abc.scope", "/system.slice/docker-abc.scope"},
      {"machine.slice:libpod:abc", "libpod-abc.scope", "/machine.slice/libpod-abc.scope"},
      {"kubepods-besteffort-podU.slice:cri-containerd:abc", "cri-containerd-abc.scope",
       "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podU.slice/cri-containerd-abc.scope"},
      {"machine.slice::pod-x.slice", "pod-x.slice", "/machine.slice/pod-x.slice"},
      {":runc:abc", "runc-abc.scope", "/system.slice/runc-abc.scope"},
      {"-.slice:p:n", "p-n.scope", "/p-n.scope"},
  };
  for (const auto& c : cases) {
    auto u = unit_name(c.path, "abc", false);
    ASSERT_TRUE(u) << c.path << ": " << u.error().what();
    EXPECT_EQ(u->unit, c.unit) << c.path;
    EXPECT_EQ(*unit_cgroup(*u), c.cgroup) << c.path;
  }
  EXPECT_EQ(unit_name("", "abc", true)->slice, "user.slice");
  EXPECT_TRUE(unit_name("machine.slice::pod-x.slice", "abc", false)->is_slice());
}

TEST(SystemdNames, Errors) {
  EXPECT_EQ(unit_name("/nsbox/abc", "abc", false).error().what(),
            "expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got \"/nsbox/abc\" instead");
  EXPECT_EQ(unit_name("a:b:c:d", "abc", false).error().what(),
            "expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got \"a:b:c:d\" instead");
  EXPECT_EQ(unit_name("bad:libpod:abc", "abc", false).error().what(), "invalid slice name: bad");
  EXPECT_FALSE(unit_name("machine.slice:libpod:", "abc", false));
}

}  // namespace
}  // namespace nsbox::systemd
