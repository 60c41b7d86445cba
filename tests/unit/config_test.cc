#include "spec/config.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include <linux/capability.h>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace nsbox::spec {
namespace {

using json = nlohmann::json;
using nsbox::testing::TempDir;

// A bundle directory with a rootfs/ and a data/ directory (a bind-mount source).
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    dir_.mkdir("rootfs");
    dir_.mkdir("data");
    dir_.write("plainfile", "x");
    dir_.write("netns", "");  // stands for a namespace file the container joins
  }

  const std::string& bundle() const { return dir_.path(); }

  // The smallest valid config.
  static json minimal() {
    return json::parse(R"({
      "ociVersion": "1.3.0",
      "root": {"path": "rootfs"},
      "process": {"args": ["sh"], "cwd": "/"}
    })");
  }

  Result<Config> parse(const json& j) const { return parse_config(j.dump(), bundle()); }

  // The error text for a config that must be rejected.
  std::string error_of(const json& j) const { return error_of_text(j.dump()); }
  std::string error_of_text(const std::string& text) const {
    auto c = parse_config(text, bundle());
    if (c) return "<parsed without error>";
    EXPECT_EQ(c.error().code(), 0);
    return c.error().what();
  }

  TempDir dir_;
};

std::string full_config(const std::string& bundle) {
  return R"({
  "ociVersion": "1.3.0",
  "root": {"path": "rootfs", "readonly": true},
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/data", "type": "bind", "source": "data", "options": ["rbind", "ro", "rprivate"]},
    {"destination": "/abs", "source": ")" + bundle + R"(/data", "options": ["bind", "nodev"]}
  ],
  "process": {
    "terminal": true,
    "consoleSize": {"height": 24, "width": 80},
    "user": {"uid": 1000, "gid": 1001, "umask": 18, "additionalGids": [5, 6], "username": "who"},
    "args": ["/bin/sh", "-c", "echo hi"],
    "env": ["PATH=/bin:/usr/bin", "TERM=xterm", "EMPTY="],
    "cwd": "/work",
    "capabilities": {
      "bounding": ["CAP_SYS_ADMIN", "CAP_KILL"],
      "effective": ["CAP_KILL"],
      "inheritable": [],
      "permitted": ["cap_net_raw"],
      "ambient": ["CAP_CHOWN"]
    },
    "rlimits": [
      {"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 4096},
      {"type": "RLIMIT_CORE", "soft": 0, "hard": 18446744073709551615}
    ],
    "noNewPrivileges": true,
    "oomScoreAdj": -500,
    "someFutureField": {"x": 1}
  },
  "hostname": "box",
  "domainname": "example.org",
  "annotations": {"org.example.a": "1", "b": "two"},
  "hooks": {
    "prestart": [{"path": "/bin/true"}],
    "createRuntime": [{"path": "/usr/bin/hook", "args": ["hook", "create"], "env": ["K=V"], "timeout": 5}],
    "createContainer": [{"path": "/cc"}],
    "startContainer": [{"path": "/sc"}],
    "poststart": [{"path": "/ps"}],
    "poststop": [{"path": "/stop1"}, {"path": "/stop2", "timeout": 1}]
  },
  "linux": {
    "namespaces": [
      {"type": "pid"}, {"type": "network", "path": ")" + bundle + R"(/netns"}, {"type": "mount"},
      {"type": "ipc"}, {"type": "uts"}, {"type": "user"}, {"type": "cgroup"}, {"type": "time"}
    ],
    "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    "gidMappings": [{"containerID": 0, "hostID": 200000, "size": 1},
                    {"containerID": 1, "hostID": 300000, "size": 10}],
    "timeOffsets": {"monotonic": {"secs": -10, "nanosecs": 5}, "boottime": {"secs": 86400}},
    "devices": [
      {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 384, "uid": 7, "gid": 8},
      {"path": "/dev/sda", "type": "b", "major": 8, "minor": 0},
      {"path": "/dev/fifo", "type": "p"}
    ],
    "maskedPaths": ["/proc/kcore", "/sys/firmware"],
    "readonlyPaths": ["/proc/sys"],
    "sysctl": {"net.ipv4.ip_forward": "1", "kernel.shmmax": "1024"},
    "rootfsPropagation": "rslave",
    "cgroupsPath": "/nsbox/test",
    "resources": {"devices": [{"allow": false, "access": "rwm"}], "pids": {"limit": 10}},
    "intelRdt": {"closID": "x"}
  },
  "vm": {"hypervisor": {"path": "/x"}},
  "whatIsThis": [1, 2, 3]
})";
}

TEST_F(ConfigTest, FullConfigParsesIntoTheRightFields) {
  auto r = parse_config(full_config(bundle()), bundle());
  ASSERT_TRUE(r) << r.error().what();
  const Config& c = *r;

  EXPECT_EQ(c.oci_version, "1.3.0");
  EXPECT_EQ(c.bundle, bundle());
  EXPECT_EQ(c.root, bundle() + "/rootfs");
  EXPECT_TRUE(c.root_readonly);
  EXPECT_EQ(c.hostname, "box");
  EXPECT_EQ(c.domainname, "example.org");
  EXPECT_EQ(c.annotations, (std::map<std::string, std::string>{{"org.example.a", "1"}, {"b", "two"}}));

  // Mounts.
  ASSERT_EQ(c.mounts.size(), 4u);
  EXPECT_EQ(c.mounts[0].destination, "/proc");
  EXPECT_EQ(c.mounts[0].type, "proc");
  EXPECT_EQ(c.mounts[0].source, "proc");
  EXPECT_TRUE(c.mounts[0].options.empty());
  EXPECT_EQ(c.mounts[0].flags, 0u);
  EXPECT_FALSE(c.mounts[0].bind);
  EXPECT_EQ(c.mounts[0].data, "");

  EXPECT_EQ(c.mounts[1].destination, "/dev");
  EXPECT_EQ(c.mounts[1].options,
            (std::vector<std::string>{"nosuid", "strictatime", "mode=755", "size=65536k"}));
  EXPECT_EQ(c.mounts[1].flags, static_cast<unsigned long>(MS_NOSUID | MS_STRICTATIME));
  EXPECT_EQ(c.mounts[1].data, "mode=755,size=65536k");
  EXPECT_TRUE(c.mounts[1].propagation.empty());
  EXPECT_FALSE(c.mounts[1].bind);

  EXPECT_EQ(c.mounts[2].destination, "/data");
  EXPECT_TRUE(c.mounts[2].bind);
  EXPECT_EQ(c.mounts[2].source, bundle() + "/data");  // relative source: against the bundle
  EXPECT_EQ(c.mounts[2].flags, static_cast<unsigned long>(MS_BIND | MS_REC | MS_RDONLY));
  EXPECT_EQ(c.mounts[2].propagation, (std::vector<unsigned long>{MS_PRIVATE | MS_REC}));
  EXPECT_EQ(c.mounts[2].data, "");

  EXPECT_EQ(c.mounts[3].destination, "/abs");
  EXPECT_EQ(c.mounts[3].type, "");
  EXPECT_TRUE(c.mounts[3].bind);
  EXPECT_EQ(c.mounts[3].source, bundle() + "/data");
  EXPECT_EQ(c.mounts[3].flags, static_cast<unsigned long>(MS_BIND | MS_NODEV));

  // Process.
  ASSERT_TRUE(c.process.has_value());
  const Process& p = *c.process;
  EXPECT_TRUE(p.terminal);
  EXPECT_EQ(p.console_height, 24u);
  EXPECT_EQ(p.console_width, 80u);
  EXPECT_EQ(p.user.uid, 1000u);
  EXPECT_EQ(p.user.gid, 1001u);
  ASSERT_TRUE(p.user.umask.has_value());
  EXPECT_EQ(*p.user.umask, 18u);
  EXPECT_EQ(p.user.additional_gids, (std::vector<uint32_t>{5, 6}));
  EXPECT_EQ(p.args, (std::vector<std::string>{"/bin/sh", "-c", "echo hi"}));
  EXPECT_EQ(p.env, (std::vector<std::string>{"PATH=/bin:/usr/bin", "TERM=xterm", "EMPTY="}));
  EXPECT_EQ(p.cwd, "/work");
  ASSERT_TRUE(p.capabilities.has_value());
  EXPECT_EQ(p.capabilities->bounding, (std::vector<int>{CAP_SYS_ADMIN, CAP_KILL}));
  EXPECT_EQ(p.capabilities->effective, (std::vector<int>{CAP_KILL}));
  EXPECT_TRUE(p.capabilities->inheritable.empty());
  EXPECT_EQ(p.capabilities->permitted, (std::vector<int>{CAP_NET_RAW}));
  EXPECT_EQ(p.capabilities->ambient, (std::vector<int>{CAP_CHOWN}));
  ASSERT_EQ(p.rlimits.size(), 2u);
  EXPECT_EQ(p.rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(p.rlimits[0].name, "RLIMIT_NOFILE");
  EXPECT_EQ(p.rlimits[0].soft, 1024u);
  EXPECT_EQ(p.rlimits[0].hard, 4096u);
  EXPECT_EQ(p.rlimits[1].resource, RLIMIT_CORE);
  EXPECT_EQ(p.rlimits[1].soft, 0u);
  EXPECT_EQ(p.rlimits[1].hard, UINT64_MAX);
  EXPECT_TRUE(p.no_new_privileges);
  ASSERT_TRUE(p.oom_score_adj.has_value());
  EXPECT_EQ(*p.oom_score_adj, -500);

  // Hooks.
  ASSERT_EQ(c.hooks.prestart.size(), 1u);
  EXPECT_EQ(c.hooks.prestart[0].path, "/bin/true");
  EXPECT_TRUE(c.hooks.prestart[0].args.empty());
  EXPECT_EQ(c.hooks.prestart[0].timeout, 0);
  ASSERT_EQ(c.hooks.create_runtime.size(), 1u);
  EXPECT_EQ(c.hooks.create_runtime[0].path, "/usr/bin/hook");
  EXPECT_EQ(c.hooks.create_runtime[0].args, (std::vector<std::string>{"hook", "create"}));
  EXPECT_EQ(c.hooks.create_runtime[0].env, (std::vector<std::string>{"K=V"}));
  EXPECT_FALSE(c.hooks.prestart.empty() || c.hooks.prestart[0].env.has_value());
  EXPECT_EQ(c.hooks.create_runtime[0].timeout, 5);
  ASSERT_EQ(c.hooks.create_container.size(), 1u);
  EXPECT_EQ(c.hooks.create_container[0].path, "/cc");
  ASSERT_EQ(c.hooks.start_container.size(), 1u);
  EXPECT_EQ(c.hooks.start_container[0].path, "/sc");
  ASSERT_EQ(c.hooks.poststart.size(), 1u);
  EXPECT_EQ(c.hooks.poststart[0].path, "/ps");
  ASSERT_EQ(c.hooks.poststop.size(), 2u);
  EXPECT_EQ(c.hooks.poststop[0].path, "/stop1");
  EXPECT_EQ(c.hooks.poststop[1].path, "/stop2");
  EXPECT_EQ(c.hooks.poststop[1].timeout, 1);

  // Linux.
  const Linux& l = c.linux;
  ASSERT_EQ(l.namespaces.size(), 8u);
  const NsKind kinds[] = {NsKind::kPid,  NsKind::kNetwork, NsKind::kMount,  NsKind::kIpc,
                          NsKind::kUts,  NsKind::kUser,    NsKind::kCgroup, NsKind::kTime};
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(l.namespaces[i].kind, kinds[i]) << i;
  EXPECT_EQ(l.namespaces[1].path, bundle() + "/netns");
  EXPECT_TRUE(c.new_ns(NsKind::kPid));
  EXPECT_FALSE(c.new_ns(NsKind::kNetwork));  // joined by path
  ASSERT_NE(c.find_ns(NsKind::kNetwork), nullptr);
  EXPECT_TRUE(c.new_ns(NsKind::kUser));
  EXPECT_TRUE(c.new_ns(NsKind::kTime));

  ASSERT_EQ(l.uid_mappings.size(), 1u);
  EXPECT_EQ(l.uid_mappings[0].container_id, 0u);
  EXPECT_EQ(l.uid_mappings[0].host_id, 100000u);
  EXPECT_EQ(l.uid_mappings[0].size, 65536u);
  ASSERT_EQ(l.gid_mappings.size(), 2u);
  EXPECT_EQ(l.gid_mappings[1].container_id, 1u);
  EXPECT_EQ(l.gid_mappings[1].host_id, 300000u);
  EXPECT_EQ(l.gid_mappings[1].size, 10u);

  ASSERT_TRUE(l.monotonic_offset.has_value());
  EXPECT_EQ(l.monotonic_offset->secs, -10);
  EXPECT_EQ(l.monotonic_offset->nanosecs, 5u);
  ASSERT_TRUE(l.boottime_offset.has_value());
  EXPECT_EQ(l.boottime_offset->secs, 86400);
  EXPECT_EQ(l.boottime_offset->nanosecs, 0u);

  ASSERT_EQ(l.devices.size(), 3u);
  EXPECT_EQ(l.devices[0].path, "/dev/fuse");
  EXPECT_EQ(l.devices[0].type, 'c');
  EXPECT_EQ(l.devices[0].major, 10);
  EXPECT_EQ(l.devices[0].minor, 229);
  EXPECT_EQ(l.devices[0].file_mode, 0600u);
  EXPECT_EQ(l.devices[0].uid, 7u);
  EXPECT_EQ(l.devices[0].gid, 8u);
  EXPECT_EQ(l.devices[1].type, 'b');
  EXPECT_EQ(l.devices[1].major, 8);
  EXPECT_EQ(l.devices[1].minor, 0);
  EXPECT_EQ(l.devices[1].file_mode, 0666u);  // default
  EXPECT_EQ(l.devices[2].type, 'p');
  EXPECT_EQ(l.devices[2].major, 0);

  EXPECT_EQ(l.masked_paths, (std::vector<std::string>{"/proc/kcore", "/sys/firmware"}));
  EXPECT_EQ(l.readonly_paths, (std::vector<std::string>{"/proc/sys"}));
  EXPECT_EQ(l.sysctl, (std::map<std::string, std::string>{{"net.ipv4.ip_forward", "1"},
                                                          {"kernel.shmmax", "1024"}}));
  EXPECT_EQ(l.rootfs_propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));
  EXPECT_EQ(l.cgroups_path, "/nsbox/test");
  EXPECT_TRUE(l.resources.has_limits());
}

TEST_F(ConfigTest, MinimalConfigDefaults) {
  auto r = parse(minimal());
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->root, bundle() + "/rootfs");
  EXPECT_FALSE(r->root_readonly);
  EXPECT_TRUE(r->mounts.empty());
  ASSERT_TRUE(r->process.has_value());
  EXPECT_FALSE(r->process->terminal);
  EXPECT_EQ(r->process->user.uid, 0u);
  EXPECT_FALSE(r->process->user.umask.has_value());
  EXPECT_FALSE(r->process->capabilities.has_value());
  EXPECT_FALSE(r->process->oom_score_adj.has_value());
  EXPECT_FALSE(r->process->no_new_privileges);
  EXPECT_TRUE(r->linux.namespaces.empty());
  EXPECT_EQ(r->linux.rootfs_propagation, 0u);
  EXPECT_FALSE(r->linux.resources.has_limits());
  EXPECT_EQ(r->find_ns(NsKind::kPid), nullptr);
  EXPECT_FALSE(r->new_ns(NsKind::kPid));
}

TEST_F(ConfigTest, ProcessIsOptional) {
  json j = minimal();
  j.erase("process");
  auto r = parse(j);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_FALSE(r->process.has_value());
}

TEST_F(ConfigTest, NullFieldsCountAsAbsent) {
  json j = minimal();
  j["hostname"] = nullptr;
  j["mounts"] = nullptr;
  j["linux"] = nullptr;
  auto r = parse(j);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->hostname, "");
}

TEST_F(ConfigTest, RootPathResolution) {
  json j = minimal();
  j["root"]["path"] = "./rootfs/";
  auto r = parse(j);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->root, bundle() + "/rootfs");

  j["root"]["path"] = "data/../rootfs";
  r = parse(j);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->root, bundle() + "/rootfs");

  // Absolute paths are taken as they are (cleaned), not joined to the bundle.
  j["root"]["path"] = bundle() + "//data/.";
  r = parse(j);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->root, bundle() + "/data");
}

TEST_F(ConfigTest, UnknownFieldsAreIgnored) {
  json j = minimal();
  j["someNewTopLevel"] = {{"a", 1}};
  j["root"]["futureRootField"] = true;
  j["process"]["futureProcessField"] = json::array({1, "x"});
  j["linux"] = {{"futureLinuxField", "x"}, {"intelRdt", {{"closID", "c"}}}};
  j["solaris"] = json::object();
  j["windows"] = {{"layerFolders", json::array()}};
  auto r = parse(j);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->oci_version, "1.3.0");
}

TEST_F(ConfigTest, ResourcesOnlyDeviceRulesIsNotALimit) {
  json j = minimal();
  j["linux"]["resources"] = {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}};
  auto r = parse(j);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_FALSE(r->linux.resources.has_limits());
  j["linux"]["resources"]["memory"] = {{"limit", 1048576}};
  r = parse(j);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_TRUE(r->linux.resources.has_limits());
}

TEST_F(ConfigTest, SysctlAllowedWhenNamespaceJoinedByPath) {
  json j = minimal();
  // (A namespace of the container's: any file but the runtime's own namespace will do here.)
  j["linux"]["namespaces"] = json::array({{{"type", "network"}, {"path", bundle() + "/netns"}}});
  j["linux"]["sysctl"] = {{"net.core.somaxconn", "1024"}};
  auto r = parse(j);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->linux.sysctl.at("net.core.somaxconn"), "1024");
}

TEST_F(ConfigTest, FileNameIsThePrefix) {
  json j = minimal();
  j.erase("ociVersion");
  auto r = parse_config(j.dump(), bundle(), "/some/bundle/config.json");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "/some/bundle/config.json: ociVersion: required field is missing");
}

TEST_F(ConfigTest, InvalidJson) {
  std::string e = error_of_text("{\n  \"ociVersion\": \"1.3.0\",\n  \"root\": \n}");
  EXPECT_TRUE(e.starts_with("config.json: invalid JSON: parse error at line 4, column 1: ")) << e;
  EXPECT_EQ(e.find("[json.exception"), std::string::npos) << e;

  e = error_of_text("");
  EXPECT_TRUE(e.starts_with("config.json: invalid JSON: parse error at line 1, column 1: ")) << e;
  e = error_of_text("{} trailing");
  EXPECT_TRUE(e.starts_with("config.json: invalid JSON: parse error at line 1, column 6: ")) << e;
}

TEST_F(ConfigTest, TopLevelErrors) {
  EXPECT_EQ(error_of_text("[]"), "config.json: (top level): expected object, got array");
  EXPECT_EQ(error_of_text("\"x\""), "config.json: (top level): expected object, got string");

  json j = minimal();
  j.erase("ociVersion");
  EXPECT_EQ(error_of(j), "config.json: ociVersion: required field is missing");
  j = minimal();
  j["ociVersion"] = 1;
  EXPECT_EQ(error_of(j), "config.json: ociVersion: expected string, got integer");
  j = minimal();
  j["hostname"] = true;
  EXPECT_EQ(error_of(j), "config.json: hostname: expected string, got boolean");
  j = minimal();
  j["hostname"] = "h";
  EXPECT_EQ(error_of(j), "config.json: hostname: setting the hostname needs a uts namespace (new, or joined by path)");
  j = minimal();
  j["domainname"] = "d";
  EXPECT_EQ(error_of(j), "config.json: domainname: setting the domainname needs a uts namespace (new, or joined by path)");
  j = minimal();
  j["annotations"] = {{"k", 3}};
  EXPECT_EQ(error_of(j), "config.json: annotations.k: expected string, got integer");
  j = minimal();
  j["annotations"] = json::array();
  EXPECT_EQ(error_of(j), "config.json: annotations: expected object, got array");
}

TEST_F(ConfigTest, RootErrors) {
  json j = minimal();
  j.erase("root");
  EXPECT_EQ(error_of(j), "config.json: root: required field is missing");
  j["root"] = "rootfs";
  EXPECT_EQ(error_of(j), "config.json: root: expected object, got string");
  j["root"] = json::object();
  EXPECT_EQ(error_of(j), "config.json: root.path: required field is missing");
  j["root"] = {{"path", ""}};
  EXPECT_EQ(error_of(j), "config.json: root.path: must not be empty");
  j["root"] = {{"path", 5}};
  EXPECT_EQ(error_of(j), "config.json: root.path: expected string, got integer");
  j["root"] = {{"path", "nope"}};
  EXPECT_EQ(error_of(j), "config.json: root.path: stat " + bundle() + "/nope: No such file or directory");
  j["root"] = {{"path", "plainfile"}};
  EXPECT_EQ(error_of(j), "config.json: root.path: " + bundle() + "/plainfile is not a directory");
  j["root"] = {{"path", "rootfs"}, {"readonly", "yes"}};
  EXPECT_EQ(error_of(j), "config.json: root.readonly: expected boolean, got string");
}

TEST_F(ConfigTest, MountErrors) {
  auto with_mount = [](json m) {
    json j = minimal();
    j["mounts"] = json::array({m});
    return j;
  };
  json j = minimal();
  j["mounts"] = json::object();
  EXPECT_EQ(error_of(j), "config.json: mounts: expected array, got object");
  EXPECT_EQ(error_of(with_mount("x")), "config.json: mounts[0]: expected object, got string");
  EXPECT_EQ(error_of(with_mount({{"type", "proc"}})),
            "config.json: mounts[0].destination: required field is missing");
  EXPECT_EQ(error_of(with_mount({{"destination", "proc"}, {"type", "proc"}})),
            "config.json: mounts[0].destination: must be an absolute path, got \"proc\"");
  EXPECT_EQ(error_of(with_mount({{"destination", "/p"}, {"type", "proc"}, {"options", {"ro", 1}}})),
            "config.json: mounts[0].options[1]: expected string, got integer");
  EXPECT_EQ(error_of(with_mount({{"destination", "/p"}, {"type", "proc"}, {"options", "ro"}})),
            "config.json: mounts[0].options: expected array, got string");
  EXPECT_EQ(error_of(with_mount({{"destination", "/p"}, {"type", "tmpfs"}, {"options", {"idmap"}}})),
            "config.json: mounts[0]: idmapped mounts are only supported for bind mounts");
  EXPECT_EQ(error_of(with_mount({{"destination", "/p"},
                                 {"type", "bind"},
                                 {"source", "data"},
                                 {"gidMappings", {{{"containerID", 0}, {"hostID", 1}, {"size", 1}}}}})),
            "config.json: mounts[0]: uidMappings and gidMappings must be given together");
  EXPECT_EQ(error_of(with_mount({{"destination", "/proc/sysrq-trigger"}, {"type", "bind"}, {"source", "data"}})),
            "config.json: mounts[0].destination: \"/proc/sysrq-trigger\" cannot be mounted because it is inside /proc");
  EXPECT_EQ(error_of(with_mount({{"destination", "/proc"}, {"type", "bind"}, {"source", "data"}})),
            "config.json: mounts[0].destination: /proc may only be mounted as type proc");
  EXPECT_EQ(error_of(with_mount({{"destination", "/p"}, {"options", {"rbind"}}})),
            "config.json: mounts[0].source: a bind mount needs a source");
  EXPECT_EQ(error_of(with_mount({{"destination", "/p"}, {"type", "bind"}, {"source", "missing"}})),
            "config.json: mounts[0].source: stat " + bundle() + "/missing: No such file or directory");
  EXPECT_EQ(error_of(with_mount({{"destination", "/p"}, {"source", "tmpfs"}})),
            "config.json: mounts[0].type: required for a mount that is not a bind mount");

  // The index is the failing mount's.
  j = minimal();
  j["mounts"] = json::array({{{"destination", "/proc"}, {"type", "proc"}}, {{"destination", "x"}}});
  EXPECT_EQ(error_of(j), "config.json: mounts[1].destination: must be an absolute path, got \"x\"");
}

TEST_F(ConfigTest, ProcessErrors) {
  auto with = [](const std::string& key, json v) {
    json j = minimal();
    j["process"][key] = v;
    return j;
  };
  json j = minimal();
  j["process"] = json::array();
  EXPECT_EQ(error_of(j), "config.json: process: expected object, got array");
  j = minimal();
  j["process"].erase("args");
  EXPECT_EQ(error_of(j), "config.json: process.args: must contain at least the program to run");
  EXPECT_EQ(error_of(with("args", json::array())),
            "config.json: process.args: must contain at least the program to run");
  EXPECT_EQ(error_of(with("args", {""})), "config.json: process.args: must contain at least the program to run");
  EXPECT_EQ(error_of(with("args", {1})), "config.json: process.args[0]: expected string, got integer");
  j = minimal();
  j["process"].erase("cwd");
  EXPECT_EQ(error_of(j), "config.json: process.cwd: required field is missing");
  EXPECT_EQ(error_of(with("cwd", "work")), "config.json: process.cwd: must be an absolute path, got \"work\"");
  EXPECT_EQ(error_of(with("env", {"A=1", "NOEQUALS"})),
            "config.json: process.env[1]: \"NOEQUALS\" is not of the form KEY=VALUE");
  EXPECT_EQ(error_of(with("env", {"=x"})), "config.json: process.env[0]: \"=x\" is not of the form KEY=VALUE");
  EXPECT_EQ(error_of(with("env", {""})), "config.json: process.env[0]: \"\" is not of the form KEY=VALUE");
  EXPECT_EQ(error_of(with("terminal", "true")), "config.json: process.terminal: expected boolean, got string");
  EXPECT_EQ(error_of(with("noNewPrivileges", 1)),
            "config.json: process.noNewPrivileges: expected boolean, got integer");
  EXPECT_EQ(error_of(with("consoleSize", {{"height", 10}})),
            "config.json: process.consoleSize.width: required field is missing");
  EXPECT_EQ(error_of(with("oomScoreAdj", 1001)), "config.json: process.oomScoreAdj: must be between -1000 and 1000");
  EXPECT_EQ(error_of(with("oomScoreAdj", -1001)),
            "config.json: process.oomScoreAdj: must be between -1000 and 1000");
  EXPECT_EQ(error_of(with("oomScoreAdj", 1.5)), "config.json: process.oomScoreAdj: expected integer, got number");
}

TEST_F(ConfigTest, UserErrors) {
  auto with_user = [](json u) {
    json j = minimal();
    j["process"]["user"] = u;
    return j;
  };
  EXPECT_EQ(error_of(with_user({{"uid", -1}})), "config.json: process.user.uid: value out of range");
  EXPECT_EQ(error_of(with_user({{"uid", 4294967296LL}})), "config.json: process.user.uid: value out of range");
  EXPECT_EQ(error_of(with_user({{"gid", 1.5}})), "config.json: process.user.gid: expected integer, got number");
  EXPECT_EQ(error_of(with_user({{"uid", "0"}})), "config.json: process.user.uid: expected integer, got string");
  EXPECT_EQ(error_of(with_user({{"umask", 512}})), "config.json: process.user.umask: must be at most 0777");
  EXPECT_EQ(error_of(with_user({{"additionalGids", {1, "x"}}})),
            "config.json: process.user.additionalGids[1]: expected integer, got string");
  EXPECT_EQ(error_of(with_user({{"username", 3}})),
            "config.json: process.user.username: expected string, got integer");
  EXPECT_EQ(error_of(with_user("root")), "config.json: process.user: expected object, got string");

  // The largest valid uid fits ((uid_t)-1 is not one: TheInvalidIdIsRefused).
  auto r = parse(with_user({{"uid", 4294967294LL}, {"umask", 511}}));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->process->user.uid, 4294967294u);
  EXPECT_EQ(*r->process->user.umask, 0777u);
}

TEST_F(ConfigTest, CapabilityAndRlimitErrors) {
  json j = minimal();
  // Unknown names (a newer kernel's) are set aside to be warned about, not an error
  // (runtime-spec 1.1, runc): UnknownCapabilitiesAreSetAside.
  j["process"]["capabilities"] = {{"bounding", {12}}};
  EXPECT_EQ(error_of(j), "config.json: process.capabilities.bounding[0]: expected string, got integer");
  j["process"]["capabilities"] = {{"ambient", "CAP_KILL"}};
  EXPECT_EQ(error_of(j), "config.json: process.capabilities.ambient: expected array, got string");

  auto with_rlimits = [](json rl) {
    json jj = minimal();
    jj["process"]["rlimits"] = rl;
    return jj;
  };
  EXPECT_EQ(error_of(with_rlimits({{{"type", "RLIMIT_NOFILE"}, {"soft", 1}, {"hard", 1}},
                                   {{"type", "RLIMIT_FOO"}, {"soft", 1}, {"hard", 1}}})),
            "config.json: process.rlimits[1].type: unknown rlimit \"RLIMIT_FOO\"");
  EXPECT_EQ(error_of(with_rlimits({{{"type", "RLIMIT_NOFILE"}, {"soft", 1}, {"hard", 1}},
                                   {{"type", "RLIMIT_NOFILE"}, {"soft", 2}, {"hard", 2}}})),
            "config.json: process.rlimits[1].type: duplicate rlimit \"RLIMIT_NOFILE\"");
  EXPECT_EQ(error_of(with_rlimits({{{"type", "RLIMIT_NOFILE"}, {"soft", 2}, {"hard", 1}}})),
            "config.json: process.rlimits[0]: soft limit is greater than the hard limit");
  EXPECT_EQ(error_of(with_rlimits({{{"type", "RLIMIT_NOFILE"}, {"soft", 2}}})),
            "config.json: process.rlimits[0].hard: required field is missing");
  EXPECT_EQ(error_of(with_rlimits({{{"soft", 2}, {"hard", 2}}})),
            "config.json: process.rlimits[0].type: required field is missing");
  EXPECT_EQ(error_of(with_rlimits({{{"type", "RLIMIT_NOFILE"}, {"soft", -1}, {"hard", 2}}})),
            "config.json: process.rlimits[0].soft: value out of range");
  EXPECT_EQ(error_of(with_rlimits({"RLIMIT_NOFILE"})),
            "config.json: process.rlimits[0]: expected object, got string");
}

TEST_F(ConfigTest, HookErrors) {
  auto with_hooks = [](json h) {
    json j = minimal();
    j["hooks"] = h;
    return j;
  };
  EXPECT_EQ(error_of(with_hooks({{"prestart", {{{"path", "true"}}}}})),
            "config.json: hooks.prestart[0].path: must be an absolute path, got \"true\"");
  EXPECT_EQ(error_of(with_hooks({{"poststop", {{{"path", "/a"}}, {{"path", "/b"}, {"timeout", 0}}}}})),
            "config.json: hooks.poststop[1].timeout: must be greater than 0");
  EXPECT_EQ(error_of(with_hooks({{"createRuntime", {{"path", "/x"}}}})),
            "config.json: hooks.createRuntime: expected array, got object");
  EXPECT_EQ(error_of(with_hooks({{"startContainer", {{{"args", {"x"}}}}}})),
            "config.json: hooks.startContainer[0].path: required field is missing");
  EXPECT_EQ(error_of(with_hooks({{"poststart", {{{"path", "/x"}, {"env", {"NOPE"}}}}}})),
            "config.json: hooks.poststart[0].env[0]: \"NOPE\" is not of the form KEY=VALUE");
  EXPECT_EQ(error_of(with_hooks({{"createContainer", {"/x"}}})),
            "config.json: hooks.createContainer[0]: expected object, got string");
}

TEST_F(ConfigTest, NamespaceAndMappingErrors) {
  auto with_linux = [](json l) {
    json j = minimal();
    j["linux"] = l;
    return j;
  };
  auto nss = [](std::initializer_list<const char*> types) {
    json a = json::array();
    for (auto* t : types) a.push_back({{"type", t}});
    return a;
  };
  json map1 = json::array({{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}});

  EXPECT_EQ(error_of(with_linux({{"namespaces", nss({"pid", "foo"})}})),
            "config.json: linux.namespaces[1].type: unknown namespace type \"foo\"");
  EXPECT_EQ(error_of(with_linux({{"namespaces", nss({"pid", "ipc", "pid"})}})),
            "config.json: linux.namespaces[2].type: duplicate namespace \"pid\"");
  EXPECT_EQ(error_of(with_linux({{"namespaces", json::array({{{"path", "/x"}}})}})),
            "config.json: linux.namespaces[0].type: required field is missing");
  EXPECT_EQ(error_of(with_linux({{"namespaces", json::array({{{"type", "net"}}})}})),
            "config.json: linux.namespaces[0].type: unknown namespace type \"net\"");
  EXPECT_EQ(error_of(with_linux({{"namespaces", json::array({{{"type", "ipc"}, {"path", "proc/1/ns/ipc"}}})}})),
            "config.json: linux.namespaces[0].path: must be an absolute path, got \"proc/1/ns/ipc\"");
  EXPECT_EQ(error_of(with_linux({{"namespaces", json::array({{{"type", "ipc"}, {"path", "/no/such/ns"}}})}})),
            "config.json: linux.namespaces[0].path: stat /no/such/ns: No such file or directory");

  EXPECT_EQ(error_of(with_linux({{"namespaces", nss({"user"})}})),
            "config.json: linux.uidMappings: a new user namespace needs uid mappings");
  EXPECT_EQ(error_of(with_linux({{"namespaces", nss({"user"})}, {"uidMappings", map1}})),
            "config.json: linux.gidMappings: a new user namespace needs gid mappings");
  EXPECT_EQ(error_of(with_linux({{"uidMappings", map1}, {"gidMappings", map1}})),
            "config.json: linux.uidMappings: mappings need a new user namespace in linux.namespaces");
  EXPECT_EQ(error_of(with_linux({{"gidMappings", map1}})),
            "config.json: linux.gidMappings: mappings need a new user namespace in linux.namespaces");
  // Joining a user namespace by path: mappings are not ours to write.
  EXPECT_EQ(error_of(with_linux({{"namespaces", json::array({{{"type", "user"}, {"path", "/proc/self/ns/user"}}})},
                                 {"uidMappings", map1},
                                 {"gidMappings", map1}})),
            "config.json: linux.uidMappings: mappings need a new user namespace in linux.namespaces");
  EXPECT_EQ(error_of(with_linux({{"namespaces", nss({"user"})},
                                 {"uidMappings", {{{"containerID", 0}, {"hostID", 1000}, {"size", 0}}}},
                                 {"gidMappings", map1}})),
            "config.json: linux.uidMappings[0].size: must be greater than 0");
  EXPECT_EQ(error_of(with_linux({{"namespaces", nss({"user"})},
                                 {"uidMappings", map1},
                                 {"gidMappings", {{{"containerID", 0}, {"size", 1}}}}})),
            "config.json: linux.gidMappings[0].hostID: required field is missing");
  EXPECT_EQ(error_of(with_linux({{"namespaces", nss({"user"})},
                                 {"uidMappings", {{{"containerID", -5}, {"hostID", 1000}, {"size", 1}}}},
                                 {"gidMappings", map1}})),
            "config.json: linux.uidMappings[0].containerID: value out of range");
  EXPECT_EQ(error_of(with_linux({{"uidMappings", {"0 1000 1"}}})),
            "config.json: linux.uidMappings[0]: expected object, got string");
}

TEST_F(ConfigTest, LinuxOtherErrors) {
  auto with_linux = [](json l) {
    json j = minimal();
    j["linux"] = l;
    return j;
  };
  json time_ns = json::array({{{"type", "time"}}});
  EXPECT_EQ(error_of(with_linux({{"namespaces", time_ns}, {"timeOffsets", {{"realtime", {{"secs", 1}}}}}})),
            "config.json: linux.timeOffsets.realtime: unknown clock \"realtime\" (monotonic or boottime)");
  EXPECT_EQ(error_of(with_linux({{"timeOffsets", {{"monotonic", {{"secs", 1}}}}}})),
            "config.json: linux.timeOffsets: offsets need a new time namespace in linux.namespaces");
  EXPECT_EQ(error_of(with_linux({{"namespaces", time_ns},
                                 {"timeOffsets", {{"boottime", {{"nanosecs", 1000000000}}}}}})),
            "config.json: linux.timeOffsets.boottime.nanosecs: must be less than 1000000000");
  EXPECT_EQ(error_of(with_linux({{"namespaces", time_ns}, {"timeOffsets", {{"boottime", 5}}}})),
            "config.json: linux.timeOffsets.boottime: expected object, got integer");

  EXPECT_EQ(error_of(with_linux({{"devices", {{{"path", "/dev/x"}, {"type", "x"}}}}})),
            "config.json: linux.devices[0].type: unknown device type \"x\" (c, b, u or p)");
  EXPECT_EQ(error_of(with_linux({{"devices", {{{"path", "/dev/x"}, {"type", "cc"}}}}})),
            "config.json: linux.devices[0].type: unknown device type \"cc\" (c, b, u or p)");
  EXPECT_EQ(error_of(with_linux({{"devices", {{{"path", "/dev/x"}, {"type", "c"}, {"minor", 1}}}}})),
            "config.json: linux.devices[0].major: required field is missing");
  EXPECT_EQ(error_of(with_linux({{"devices", {{{"path", "dev/x"}, {"type", "c"}}}}})),
            "config.json: linux.devices[0].path: must be an absolute path, got \"dev/x\"");
  EXPECT_EQ(error_of(with_linux({{"devices", {{{"type", "c"}}}}})),
            "config.json: linux.devices[0].path: required field is missing");

  EXPECT_EQ(error_of(with_linux({{"maskedPaths", {"/proc/kcore", "proc/keys"}}})),
            "config.json: linux.maskedPaths[1]: must be an absolute path, got \"proc/keys\"");
  EXPECT_EQ(error_of(with_linux({{"readonlyPaths", {""}}})),
            "config.json: linux.readonlyPaths[0]: must be an absolute path, got \"\"");
  EXPECT_EQ(error_of(with_linux({{"readonlyPaths", {7}}})),
            "config.json: linux.readonlyPaths[0]: expected string, got integer");

  EXPECT_EQ(error_of(with_linux({{"sysctl", {{"vm.swappiness", "10"}}}})),
            "config.json: linux.sysctl.vm.swappiness: is not a namespaced sysctl");
  EXPECT_EQ(error_of(with_linux({{"sysctl", {{"net.ipv4.ip_forward", "1"}}}})),
            "config.json: linux.sysctl.net.ipv4.ip_forward: needs its own network namespace");
  EXPECT_EQ(error_of(with_linux({{"sysctl", {{"kernel.msgmax", "1"}}}})),
            "config.json: linux.sysctl.kernel.msgmax: needs its own ipc namespace");
  // The UTS names have fields of their own, which the sysctls would bypass.
  EXPECT_EQ(error_of(with_linux({{"namespaces", json::array({{{"type", "uts"}}})}, {"sysctl", {{"kernel.hostname", "h"}}}})),
            "config.json: linux.sysctl.kernel.hostname: is not allowed: set the \"hostname\" field instead");
  EXPECT_EQ(error_of(with_linux({{"namespaces", json::array({{{"type", "uts"}}})}, {"sysctl", {{"kernel.domainname", "d"}}}})),
            "config.json: linux.sysctl.kernel.domainname: is not allowed: set the \"domainname\" field instead");
  // A namespace joined by path may take sysctls, unless it is the runtime's own (the host's).
  EXPECT_EQ(error_of(with_linux({{"namespaces", json::array({{{"type", "network"}, {"path", "/proc/self/ns/net"}}})},
                                 {"sysctl", {{"net.ipv4.ip_forward", "1"}}}})),
            "config.json: linux.sysctl.net.ipv4.ip_forward: is not allowed in the host's network namespace (/proc/self/ns/net)");
  EXPECT_EQ(error_of(with_linux({{"namespaces", json::array({{{"type", "ipc"}, {"path", "/proc/self/ns/ipc"}}})},
                                 {"sysctl", {{"kernel.msgmax", "1"}}}})),
            "config.json: linux.sysctl.kernel.msgmax: is not allowed in the host's ipc namespace (/proc/self/ns/ipc)");
  EXPECT_EQ(error_of(with_linux({{"namespaces", json::array({{{"type", "ipc"}}})}, {"sysctl", {{"kernel.shmmax", 1}}}})),
            "config.json: linux.sysctl.kernel.shmmax: expected string, got integer");
  EXPECT_EQ(error_of(with_linux({{"namespaces", json::array({{{"type", "network"}}})},
                                 {"sysctl", {{"net.ipv4/../../x", "1"}}}})),
            "config.json: linux.sysctl.net.ipv4/../../x: invalid name");

  EXPECT_EQ(error_of(with_linux({{"rootfsPropagation", "bogus"}})),
            "config.json: linux.rootfsPropagation: unknown propagation \"bogus\"");
  EXPECT_EQ(error_of(with_linux({{"cgroupsPath", 1}})), "config.json: linux.cgroupsPath: expected string, got integer");
  EXPECT_EQ(error_of(with_linux({{"resources", json::array()}})),
            "config.json: linux.resources: expected object, got array");
  EXPECT_EQ(error_of(with_linux({{"seccomp", json::array()}})),
            "config.json: linux.seccomp: expected object, got array");
  EXPECT_EQ(error_of(with_linux("x")), "config.json: linux: expected object, got string");
}

TEST_F(ConfigTest, RootfsPropagationValues) {
  const std::pair<const char*, unsigned long> cases[] = {
      {"private", MS_PRIVATE},         {"rprivate", MS_PRIVATE | MS_REC},
      {"shared", MS_SHARED},           {"rshared", MS_SHARED | MS_REC},
      {"slave", MS_SLAVE},             {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE},   {"runbindable", MS_UNBINDABLE | MS_REC}};
  for (auto [name, flags] : cases) {
    json j = minimal();
    j["linux"]["rootfsPropagation"] = name;
    auto r = parse(j);
    ASSERT_TRUE(r) << name << ": " << r.error().what();
    EXPECT_EQ(r->linux.rootfs_propagation, flags) << name;
  }
}

// --- parse_mount_options ---

Mount mount_with(std::vector<std::string> options, std::string type = "tmpfs") {
  Mount m;
  m.destination = "/m";
  m.type = std::move(type);
  m.source = "src";
  m.options = std::move(options);
  return m;
}

TEST(ParseMountOptions, FlagsPropagationAndData) {
  auto r = parse_mount_options(mount_with({"ro", "nosuid", "rbind", "rprivate", "size=64k"}, "none"));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->flags, static_cast<unsigned long>(MS_RDONLY | MS_NOSUID | MS_BIND | MS_REC));
  EXPECT_EQ(r->propagation, (std::vector<unsigned long>{MS_PRIVATE | MS_REC}));
  EXPECT_EQ(r->data, "size=64k");
  EXPECT_TRUE(r->bind);
  // The rest of the mount is carried through.
  EXPECT_EQ(r->destination, "/m");
  EXPECT_EQ(r->source, "src");
  EXPECT_EQ(r->type, "none");
  EXPECT_EQ(r->options, (std::vector<std::string>{"ro", "nosuid", "rbind", "rprivate", "size=64k"}));
}

TEST(ParseMountOptions, LaterOptionsWin) {
  auto r = parse_mount_options(mount_with({"ro", "rw"}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->flags, 0u);
  r = parse_mount_options(mount_with({"rw", "ro"}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->flags, static_cast<unsigned long>(MS_RDONLY));
  r = parse_mount_options(mount_with({"nodev", "noexec", "nosuid", "dev", "exec", "suid"}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->flags, 0u);
  r = parse_mount_options(mount_with({"noatime", "atime", "relatime", "strictatime"}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->flags, static_cast<unsigned long>(MS_RELATIME | MS_STRICTATIME));
}

TEST(ParseMountOptions, DataKeepsOrder) {
  auto r = parse_mount_options(
      mount_with({"nosuid", "mode=755", "noexec", "size=65536k", "newinstance", "ptmxmode=0666"}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC));
  EXPECT_EQ(r->data, "mode=755,size=65536k,newinstance,ptmxmode=0666");
  EXPECT_FALSE(r->bind);
  EXPECT_TRUE(r->propagation.empty());
}

TEST(ParseMountOptions, BindForms) {
  auto r = parse_mount_options(mount_with({}, "bind"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->bind);
  EXPECT_EQ(r->flags, static_cast<unsigned long>(MS_BIND));

  r = parse_mount_options(mount_with({"bind"}, "none"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->bind);
  EXPECT_EQ(r->flags, static_cast<unsigned long>(MS_BIND));

  r = parse_mount_options(mount_with({"defaults"}, "none"));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->bind);
  EXPECT_EQ(r->flags, 0u);
  EXPECT_EQ(r->data, "");
}

TEST(ParseMountOptions, SeveralPropagations) {
  auto r = parse_mount_options(mount_with({"shared", "rslave", "unbindable", "runbindable", "private", "rshared", "slave"}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->propagation,
            (std::vector<unsigned long>{MS_SHARED, MS_SLAVE | MS_REC, MS_UNBINDABLE, MS_UNBINDABLE | MS_REC,
                                        MS_PRIVATE, MS_SHARED | MS_REC, MS_SLAVE}));
  EXPECT_EQ(r->flags, 0u);
}

TEST(ParseMountOptions, RecomputesFromOptions) {
  Mount m = mount_with({"nodev"});
  m.flags = MS_RDONLY;
  m.data = "stale";
  m.propagation = {MS_SHARED};
  m.bind = true;
  auto r = parse_mount_options(m);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->flags, static_cast<unsigned long>(MS_NODEV));
  EXPECT_EQ(r->data, "");
  EXPECT_TRUE(r->propagation.empty());
  EXPECT_FALSE(r->bind);
}

TEST(ParseMountOptions, UnsupportedOptions) {
  auto r = parse_mount_options(mount_with({"nosuid", "tmpcopyup"}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "option \"tmpcopyup\" is not supported by this nsbox version");
}

TEST(ParseMountOptions, IdmapAndRecursiveReadOnly) {
  auto r = parse_mount_options(mount_with({"rbind", "ridmap", "rro"}));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_TRUE(r->idmap);
  EXPECT_TRUE(r->idmap_recursive);
  EXPECT_EQ(r->recursive_ro, std::optional<bool>(true));
  r = parse_mount_options(mount_with({"bind", "idmap", "rrw"}));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_TRUE(r->idmap);
  EXPECT_FALSE(r->idmap_recursive);
  EXPECT_EQ(r->recursive_ro, std::optional<bool>(false));
  EXPECT_TRUE(r->data.empty());  // none of them reaches mount(2)
}

// --- name tables ---

TEST(RlimitFromName, KnownAndUnknown) {
  EXPECT_EQ(rlimit_from_name("RLIMIT_NOFILE"), std::optional<int>(RLIMIT_NOFILE));
  EXPECT_EQ(rlimit_from_name("RLIMIT_CORE"), std::optional<int>(RLIMIT_CORE));
  EXPECT_EQ(rlimit_from_name("RLIMIT_AS"), std::optional<int>(RLIMIT_AS));
  EXPECT_EQ(rlimit_from_name("RLIMIT_RTTIME"), std::optional<int>(RLIMIT_RTTIME));
  EXPECT_EQ(rlimit_from_name("RLIMIT_SIGPENDING"), std::optional<int>(RLIMIT_SIGPENDING));
  EXPECT_EQ(rlimit_from_name("RLIMIT_FOO"), std::nullopt);
  EXPECT_EQ(rlimit_from_name("NOFILE"), std::nullopt);
  EXPECT_EQ(rlimit_from_name("rlimit_nofile"), std::nullopt);
  EXPECT_EQ(rlimit_from_name(""), std::nullopt);
  EXPECT_EQ(rlimit_from_name("7"), std::nullopt);
}

TEST(CapabilityFromName, Accepted) {
  EXPECT_EQ(capability_from_name("CAP_SYS_ADMIN"), std::optional<int>(CAP_SYS_ADMIN));
  EXPECT_EQ(capability_from_name("cap_sys_admin"), std::optional<int>(CAP_SYS_ADMIN));
  EXPECT_EQ(capability_from_name("Cap_Kill"), std::optional<int>(CAP_KILL));
  EXPECT_EQ(capability_from_name("CAP_CHOWN"), std::optional<int>(CAP_CHOWN));
  EXPECT_EQ(capability_from_name("CAP_NET_BIND_SERVICE"), std::optional<int>(CAP_NET_BIND_SERVICE));
  EXPECT_EQ(capability_from_name("CAP_AUDIT_WRITE"), std::optional<int>(CAP_AUDIT_WRITE));
}

TEST(CapabilityFromName, Rejected) {
  EXPECT_EQ(capability_from_name("CAP_NOPE"), std::nullopt);
  EXPECT_EQ(capability_from_name("12"), std::nullopt);
  EXPECT_EQ(capability_from_name("CAP_12"), std::nullopt);
  EXPECT_EQ(capability_from_name(""), std::nullopt);
  EXPECT_EQ(capability_from_name("CAP_"), std::nullopt);
  EXPECT_EQ(capability_from_name("SYS_ADMIN"), std::nullopt);
  EXPECT_EQ(capability_from_name("CAP_KILLER"), std::nullopt);
}

// A name must be exactly one capability: no trailing characters after a known name.
TEST(CapabilityFromName, RejectsTrailingCharacters) {
  EXPECT_EQ(capability_from_name("CAP_KILL2"), std::nullopt);
  EXPECT_EQ(capability_from_name("CAP_KILL "), std::nullopt);
  EXPECT_EQ(capability_from_name("CAP_KILL,CAP_CHOWN"), std::nullopt);
  EXPECT_EQ(capability_from_name("CAP_SYS_ADMIN=ep"), std::nullopt);
}

TEST_F(ConfigTest, UnknownCapabilitiesAreSetAside) {
  json j = minimal();
  j["process"]["capabilities"] = {{"bounding", {"CAP_KILL2", "CAP_KILL", "CAP_NEWER_KERNEL"}},
                                  {"effective", {"CAP_NEWER_KERNEL", "12"}}};
  auto r = parse(j);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->process->capabilities->bounding, std::vector<int>{CAP_KILL});
  EXPECT_TRUE(r->process->capabilities->effective.empty());
  EXPECT_EQ(r->process->capabilities->unknown, (std::vector<std::string>{"CAP_KILL2", "CAP_NEWER_KERNEL", "12"}));
}

TEST(FormatIdMappings, Lines) {
  EXPECT_EQ(format_id_mappings({}), "");
  EXPECT_EQ(format_id_mappings({{0, 1000, 1}}), "0 1000 1\n");
  EXPECT_EQ(format_id_mappings({{0, 100000, 65536}, {65536, 4294967294u, 2}}),
            "0 100000 65536\n65536 4294967294 2\n");
}

TEST(NsNames, Spellings) {
  EXPECT_STREQ(ns_name(NsKind::kNetwork), "network");
  EXPECT_STREQ(ns_proc_name(NsKind::kNetwork), "net");
  EXPECT_STREQ(ns_name(NsKind::kMount), "mount");
  EXPECT_STREQ(ns_proc_name(NsKind::kMount), "mnt");
  EXPECT_STREQ(ns_name(NsKind::kTime), "time");
  EXPECT_EQ(ns_clone_flag(NsKind::kUser), CLONE_NEWUSER);
  EXPECT_EQ(ns_clone_flag(NsKind::kTime), 0x80);
}

TEST(SeccompConfig, ProfileParsed) {
  json sc = {{"defaultAction", "SCMP_ACT_ERRNO"},
             {"defaultErrnoRet", 38},
             {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}},
             {"flags", {"SECCOMP_FILTER_FLAG_LOG"}},
             {"listenerPath", "/run/agent.sock"},
             {"listenerMetadata", "m"},
             {"syscalls",
              {{{"names", {"read", "write"}}, {"action", "SCMP_ACT_ALLOW"}},
               {{"names", {"personality"}},
                {"action", "SCMP_ACT_NOTIFY"},
                {"args", {{{"index", 0}, {"value", 8}, {"valueTwo", 2}, {"op", "SCMP_CMP_MASKED_EQ"}}}}}}}};
  auto s = parse_seccomp_json(sc.dump(), "config.json");
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_EQ(s->default_action, SeccompAction::kErrno);
  EXPECT_EQ(s->default_errno_ret, 38u);
  EXPECT_EQ(s->architectures.size(), 2u);
  EXPECT_EQ(s->listener_path, "/run/agent.sock");
  ASSERT_EQ(s->syscalls.size(), 2u);
  EXPECT_EQ(s->syscalls[0].names, (std::vector<std::string>{"read", "write"}));
  EXPECT_FALSE(s->syscalls[0].errno_ret);
  ASSERT_EQ(s->syscalls[1].args.size(), 1u);
  EXPECT_EQ(s->syscalls[1].args[0].op, SeccompOp::kMaskedEq);
  EXPECT_EQ(s->syscalls[1].args[0].value_two, 2u);
  EXPECT_TRUE(s->uses_notify());
}

TEST(SeccompConfig, ProfileErrors) {
  auto err = [](const json& sc) {
    auto s = parse_seccomp_json(sc.dump(), "c.json");
    return s ? std::string("<parsed without error>") : s.error().what();
  };
  EXPECT_EQ(err({{"defaultAction", "SCMP_ACT_TRACE"}, {"defaultErrnoRet", -1}}),
            "c.json: linux.seccomp.defaultErrnoRet: value out of range");
  EXPECT_EQ(err({{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", {{{"names", {"read"}}}}}}),
            "c.json: linux.seccomp.syscalls[0].action: required field is missing");
  EXPECT_EQ(err({{"defaultAction", "SCMP_ACT_ALLOW"},
                 {"syscalls", {{{"names", {"read"}}, {"action", "SCMP_ACT_ERRNO"}, {"args", {{{"index", 1}}}}}}}}),
            "c.json: linux.seccomp.syscalls[0].args[0].value: required field is missing");
  EXPECT_EQ(err({{"defaultAction", "SCMP_ACT_ALLOW"}, {"architectures", "SCMP_ARCH_X86"}}),
            "c.json: linux.seccomp.architectures: expected array, got string");
}

TEST(Features, EveryMountOptionNamedIsTakenAsAnOption) {
  for (const auto& o : mount_option_names()) {
    auto r = parse_mount_options(mount_with({o}));
    ASSERT_TRUE(r) << o << ": " << r.error().what();
    EXPECT_TRUE(r->data.empty()) << o << " would reach mount(2) as data";
  }
}

TEST(Features, SeccompNamesAreTheOnesTheParserTakes) {
  for (const auto& a : seccomp_arch_names()) {
    json sc = {{"defaultAction", "SCMP_ACT_ALLOW"}, {"architectures", {a}}};
    EXPECT_TRUE(parse_seccomp_json(sc.dump(), "c.json")) << a;
  }
  for (const auto& f : seccomp_flag_names()) {
    json sc = {{"defaultAction", "SCMP_ACT_ALLOW"}, {"flags", {f}}};
    EXPECT_TRUE(parse_seccomp_json(sc.dump(), "c.json")) << f;
  }
}


TEST(ParseId, DecimalIdsBelowTheInvalidOne) {
  EXPECT_EQ(parse_id("0"), 0u);
  EXPECT_EQ(parse_id("1000"), 1000u);
  EXPECT_EQ(parse_id("4294967294"), 4294967294u);
  // (uid_t)-1 leaves the id unchanged in setresuid: it would run as root.
  for (const char* bad : {"-1", "4294967295", "99999999999", "", "+1", "1x", " 1", "0x10", "1e3"}) {
    EXPECT_FALSE(parse_id(bad)) << bad;
  }
}

TEST_F(ConfigTest, TheInvalidIdIsRefused) {
  json j = minimal();
  j["process"]["user"]["uid"] = 4294967295U;
  EXPECT_EQ(error_of(j), "config.json: process.user.uid: 4294967295 is not a valid user id");
  j = minimal();
  j["process"]["user"]["gid"] = 4294967295U;
  EXPECT_EQ(error_of(j), "config.json: process.user.gid: 4294967295 is not a valid group id");
  j = minimal();
  j["process"]["user"]["additionalGids"] = {1, 4294967295U};
  EXPECT_EQ(error_of(j), "config.json: process.user.additionalGids[1]: 4294967295 is not a valid group id");
}

}  // namespace
}  // namespace nsbox::spec

namespace nsbox::spec {
namespace {

TEST(ConfigDepth, DeepNestingIsAnErrorNotACrash) {
  nsbox::testing::TempDir d;
  d.mkdir("rootfs");
  std::string deep = R"({"ociVersion":"1.3.0","root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/","x":)" +
                     std::string(100000, '[') + std::string(100000, ']') + "}}";
  auto c = parse_config(deep, d.path());
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().what(), "config.json: invalid JSON: nested deeper than 256 levels");
  // Brackets inside strings do not count.
  std::string ok = R"({"ociVersion":"1.3.0","root":{"path":"rootfs"},"annotations":{"a":")" + std::string(1000, '[') + R"("}})";
  EXPECT_TRUE(parse_config(ok, d.path())) << parse_config(ok, d.path()).error().what();
  EXPECT_FALSE(parse_process_json(std::string(300, '[') + std::string(300, ']'), "p.json"));
}

}  // namespace
}  // namespace nsbox::spec
