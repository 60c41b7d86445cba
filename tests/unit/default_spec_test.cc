#include "spec/default_spec.h"

#include <sys/mount.h>
#include <sys/resource.h>

#include <linux/capability.h>

#include <algorithm>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "spec/config.h"
#include "temp_dir.h"

namespace nsbox::spec {
namespace {

using nsbox::testing::TempDir;

SpecOptions options(bool rootless, unsigned uid, unsigned gid) {
  SpecOptions o;
  o.rootless = rootless;
  o.uid = uid;
  o.gid = gid;
  return o;
}

// Write the spec to <bundle>/config.json, as `nsbox spec` does, and load it back.
Result<Config> load_default(const TempDir& bundle, bool rootless, unsigned uid, unsigned gid) {
  bundle.mkdir("rootfs");
  bundle.write("config.json", default_spec(options(rootless, uid, gid)));
  return load_config(bundle.path());
}

std::vector<NsKind> kinds(const Config& c) {
  std::vector<NsKind> out;
  for (const auto& n : c.linux.namespaces) {
    EXPECT_TRUE(n.path.empty()) << ns_name(n.kind);
    out.push_back(n.kind);
  }
  return out;
}

const std::vector<int> kDefaultCaps = {CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE};

void expect_process_defaults(const Config& c) {
  ASSERT_TRUE(c.process.has_value());
  const Process& p = *c.process;
  EXPECT_TRUE(p.terminal);
  EXPECT_EQ(p.args, std::vector<std::string>{"sh"});
  EXPECT_EQ(p.env, (std::vector<std::string>{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                             "TERM=xterm"}));
  EXPECT_EQ(p.cwd, "/");
  EXPECT_EQ(p.user.uid, 0u);
  EXPECT_EQ(p.user.gid, 0u);
  ASSERT_TRUE(p.capabilities.has_value());
  EXPECT_EQ(p.capabilities->bounding, kDefaultCaps);
  EXPECT_EQ(p.capabilities->effective, kDefaultCaps);
  EXPECT_EQ(p.capabilities->permitted, kDefaultCaps);
  EXPECT_EQ(p.capabilities->ambient, kDefaultCaps);
  EXPECT_TRUE(p.capabilities->inheritable.empty());
  ASSERT_EQ(p.rlimits.size(), 1u);
  EXPECT_EQ(p.rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(p.rlimits[0].name, "RLIMIT_NOFILE");
  EXPECT_EQ(p.rlimits[0].soft, 1024u);
  EXPECT_EQ(p.rlimits[0].hard, 1024u);
  EXPECT_TRUE(p.no_new_privileges);
}

TEST(DefaultSpec, ParsesWithTheRuncDefaults) {
  TempDir bundle;
  ASSERT_FALSE(bundle.path().empty());
  auto c = load_default(bundle, false, 0, 0);
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(c->oci_version, "1.0.2-dev");  // as runc writes it
  EXPECT_EQ(c->root, bundle / "rootfs");
  EXPECT_TRUE(c->root_readonly);
  EXPECT_EQ(c->hostname, "nsbox");
  expect_process_defaults(*c);

  EXPECT_EQ(kinds(*c), (std::vector<NsKind>{NsKind::kPid, NsKind::kNetwork, NsKind::kIpc, NsKind::kUts,
                                            NsKind::kMount, NsKind::kCgroup}));
  EXPECT_EQ(c->find_ns(NsKind::kUser), nullptr);
  EXPECT_TRUE(c->linux.uid_mappings.empty());
  EXPECT_TRUE(c->linux.gid_mappings.empty());
  EXPECT_FALSE(c->linux.resources.has_limits());  // only the device rule
  EXPECT_EQ(c->linux.masked_paths,
            (std::vector<std::string>{"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                                      "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                                      "/proc/sched_debug", "/sys/firmware", "/proc/scsi"}));
  EXPECT_EQ(c->linux.readonly_paths,
            (std::vector<std::string>{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}));

  std::vector<std::string> dests;
  for (const auto& m : c->mounts) dests.push_back(m.destination);
  EXPECT_EQ(dests, (std::vector<std::string>{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys",
                                             "/sys/fs/cgroup"}));
  ASSERT_EQ(c->mounts.size(), 7u);
  EXPECT_EQ(c->mounts[0].type, "proc");
  EXPECT_EQ(c->mounts[0].flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV));
  EXPECT_EQ(c->mounts[1].type, "tmpfs");
  EXPECT_EQ(c->mounts[1].flags, static_cast<unsigned long>(MS_NOSUID | MS_STRICTATIME));
  EXPECT_EQ(c->mounts[1].data, "mode=755,size=65536k");
  EXPECT_EQ(c->mounts[2].type, "devpts");
  EXPECT_EQ(c->mounts[2].data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  EXPECT_EQ(c->mounts[3].flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV));
  EXPECT_EQ(c->mounts[3].data, "mode=1777,size=65536k");
  EXPECT_EQ(c->mounts[5].type, "sysfs");
  EXPECT_EQ(c->mounts[5].flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
  EXPECT_EQ(c->mounts[6].type, "cgroup");
  EXPECT_EQ(c->mounts[6].flags,
            static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY));
  for (const auto& m : c->mounts) EXPECT_FALSE(m.bind) << m.destination;
}

TEST(DefaultSpec, UidGidIgnoredWhenNotRootless) {
  EXPECT_EQ(default_spec(options(false, 1000, 1000)), default_spec(options(false, 0, 0)));
}

TEST(DefaultSpec, Rootless) {
  TempDir bundle;
  ASSERT_FALSE(bundle.path().empty());
  auto c = load_default(bundle, true, 1000, 1001);
  ASSERT_TRUE(c) << c.error().what();
  expect_process_defaults(*c);
  EXPECT_TRUE(c->root_readonly);

  EXPECT_EQ(kinds(*c),
            (std::vector<NsKind>{NsKind::kPid, NsKind::kIpc, NsKind::kUts, NsKind::kMount, NsKind::kUser}));
  EXPECT_EQ(c->find_ns(NsKind::kNetwork), nullptr);
  EXPECT_EQ(c->find_ns(NsKind::kCgroup), nullptr);
  EXPECT_TRUE(c->new_ns(NsKind::kUser));

  ASSERT_EQ(c->linux.uid_mappings.size(), 1u);
  EXPECT_EQ(c->linux.uid_mappings[0].container_id, 0u);
  EXPECT_EQ(c->linux.uid_mappings[0].host_id, 1000u);
  EXPECT_EQ(c->linux.uid_mappings[0].size, 1u);
  ASSERT_EQ(c->linux.gid_mappings.size(), 1u);
  EXPECT_EQ(c->linux.gid_mappings[0].container_id, 0u);
  EXPECT_EQ(c->linux.gid_mappings[0].host_id, 1001u);
  EXPECT_EQ(c->linux.gid_mappings[0].size, 1u);
  EXPECT_EQ(format_id_mappings(c->linux.uid_mappings), "0 1000 1\n");
  EXPECT_EQ(format_id_mappings(c->linux.gid_mappings), "0 1001 1\n");
  EXPECT_FALSE(c->linux.resources.has_limits());

  std::vector<std::string> dests;
  for (const auto& m : c->mounts) dests.push_back(m.destination);
  EXPECT_EQ(dests, (std::vector<std::string>{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"}));
  ASSERT_EQ(c->mounts.size(), 6u);
  // No gid=5 on devpts: that group is not mapped.
  EXPECT_EQ(c->mounts[2].data, "newinstance,ptmxmode=0666,mode=0620");
  // /sys is a recursive read-only bind of the host's.
  EXPECT_TRUE(c->mounts[5].bind);
  EXPECT_EQ(c->mounts[5].source, "/sys");
  EXPECT_EQ(c->mounts[5].flags,
            static_cast<unsigned long>(MS_BIND | MS_REC | MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
}

TEST(DefaultSpec, SystemBootsInitWithWritableCgroupsAndItsAnnotations) {
  TempDir bundle;
  ASSERT_FALSE(bundle.path().empty());
  bundle.mkdir("rootfs");
  SpecOptions o;
  o.system = true;
  o.system_caps = {"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_SYS_BOOT"};
  o.annotations = {{"org.nsbox.network", "nsbox"}};
  bundle.write("config.json", default_spec(o));
  auto c = load_config(bundle.path());
  ASSERT_TRUE(c) << c.error().what();
  ASSERT_TRUE(c->process.has_value());
  EXPECT_EQ(c->process->args, (std::vector<std::string>{"/sbin/init"}));
  EXPECT_TRUE(c->process->terminal);
  EXPECT_FALSE(c->process->no_new_privileges);
  EXPECT_FALSE(c->root_readonly);
  EXPECT_NE(std::find(c->process->env.begin(), c->process->env.end(), "container=nsbox"), c->process->env.end());
  ASSERT_TRUE(c->process->capabilities.has_value());
  const std::vector<int> caps = {CAP_CHOWN, CAP_SYS_ADMIN, CAP_SYS_BOOT};
  EXPECT_EQ(c->process->capabilities->bounding, caps);
  EXPECT_EQ(c->process->capabilities->effective, caps);
  EXPECT_EQ(c->process->capabilities->permitted, caps);
  EXPECT_TRUE(c->process->capabilities->ambient.empty());
  EXPECT_TRUE(c->new_ns(NsKind::kCgroup));
  EXPECT_TRUE(c->new_ns(NsKind::kNetwork));
  std::map<std::string, unsigned long> flags;
  for (const auto& m : c->mounts) flags[m.destination] = m.flags;
  ASSERT_TRUE(flags.contains("/sys/fs/cgroup"));
  EXPECT_EQ(flags["/sys/fs/cgroup"] & MS_RDONLY, 0u);
  for (const char* tmpfs : {"/run", "/run/lock", "/tmp"}) EXPECT_TRUE(flags.contains(tmpfs)) << tmpfs;
  EXPECT_EQ(c->annotations.at(kStopSignalAnnotation), "SIGRTMIN+3");
  EXPECT_EQ(c->annotations.at(kBootIdAnnotation), "random");
  EXPECT_EQ(c->annotations.at("org.nsbox.network"), "nsbox");
}

TEST(DefaultSpec, IsTabIndentedJsonEndingInANewline) {
  std::string s = default_spec(options(false, 0, 0));
  ASSERT_FALSE(s.empty());
  EXPECT_TRUE(s.starts_with("{\n\t\"ociVersion\": \"1.0.2-dev\",\n")) << s.substr(0, 40);
  EXPECT_EQ(s.back(), '\n');
  EXPECT_NE(s[s.size() - 2], '\n');
}

}  // namespace
}  // namespace nsbox::spec
