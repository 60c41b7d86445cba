#include "spec/default_spec.h"

#include <nlohmann/json.hpp>

namespace nsbox::spec {

std::string default_spec(const SpecOptions& o) {
  using json = nlohmann::ordered_json;
  const bool rootless = o.rootless && !o.system;
  const bool system = o.system;
  json caps = system ? json(o.system_caps) : json::array({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
  json env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};
  // systemd and others tell a container by this variable (LXC sets container=lxc).
  if (system) env.push_back("container=nsbox");
  json capabilities = {{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  if (!system) capabilities["ambient"] = caps;
  json j;
  // runc writes 1.0.2-dev; crun 1.8 refuses versions above 1.1, so this keeps bundles portable.
  j["ociVersion"] = "1.0.2-dev";
  j["process"] = {
      {"terminal", true},
      {"user", {{"uid", 0}, {"gid", 0}}},
      {"args", {system ? "/sbin/init" : "sh"}},
      {"env", env},
      {"cwd", "/"},
      {"capabilities", capabilities},
      {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
      // An init starts programs that gain privileges (su, setuid helpers), as on a machine.
      {"noNewPrivileges", !system}};
  // A system container's init sets its own limits, within the ones it inherits (as LXC).
  if (system) j["process"].erase("rlimits");
  j["root"] = {{"path", "rootfs"}, {"readonly", !system}};
  j["hostname"] = "nsbox";
  json mounts = json::array();
  auto mount = [&](const char* dest, const char* type, const char* src, json opts) {
    json m = {{"destination", dest}, {"type", type}, {"source", src}};
    if (!opts.empty()) m["options"] = opts;
    mounts.push_back(m);
  };
  // runc's spec gives /proc no options; nothing is ever run, made setuid or a device node
  // there, so nsbox's default says so (and readonlyPaths below /proc keep it).
  mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"});
  mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"});
  if (rootless) {
    mount("/dev/pts", "devpts", "devpts",
          {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"});
  } else {
    mount("/dev/pts", "devpts", "devpts",
          {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"});
  }
  mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"});
  mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"});
  if (rootless) {
    mount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"});
  } else {
    mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"});
    // Writable for a system container's init, which then lives below its limits, in a
    // cgroup namespace rooted there (nsbox nests it): they stay out of its reach.
    if (system) {
      mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime"});
    } else {
      mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"});
    }
  }
  if (system) {
    mount("/run", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=755", "size=20%"});
    mount("/run/lock", "tmpfs", "tmpfs", {"nosuid", "nodev", "noexec", "mode=1777", "size=5m"});
    mount("/tmp", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=1777", "size=50%"});
  }
  j["mounts"] = mounts;
  json linux;
  if (!rootless) {
    linux["resources"] = {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}};
  }
  auto ns_entry = [](const char* t) { return json::object({{"type", t}}); };
  json ns = json::array({ns_entry("pid"), ns_entry("ipc"), ns_entry("uts"), ns_entry("mount")});
  if (rootless) {
    ns.push_back(ns_entry("user"));
    linux["uidMappings"] = json::array({{{"containerID", 0}, {"hostID", o.uid}, {"size", 1}}});
    linux["gidMappings"] = json::array({{{"containerID", 0}, {"hostID", o.gid}, {"size", 1}}});
  } else {
    ns.insert(ns.begin() + 1, ns_entry("network"));
    ns.push_back(ns_entry("cgroup"));
  }
  linux["namespaces"] = ns;
  linux["maskedPaths"] = {"/proc/acpi",         "/proc/asound",     "/proc/kcore",
                          "/proc/keys",         "/proc/latency_stats", "/proc/timer_list",
                          "/proc/timer_stats",  "/proc/sched_debug",   "/sys/firmware",
                          "/proc/scsi"};
  linux["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  j["linux"] = linux;
  auto annotations = o.annotations;
  if (system) {
    // systemd halts on SIGRTMIN+3 (SIGTERM makes it re-execute itself); a boot id of its own
    // (journalctl -b) for each run.
    annotations.emplace(kStopSignalAnnotation, "SIGRTMIN+3");
    annotations.emplace(kBootIdAnnotation, "random");
  }
  if (!annotations.empty()) j["annotations"] = annotations;
  return j.dump(1, '\t') + "\n";
}

}  // namespace nsbox::spec
