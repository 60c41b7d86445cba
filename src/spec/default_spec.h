// The config.json that `nsbox spec` writes: runc's default with nsbox's hostname, or with
// --system one that boots a distribution's init, as an LXC system container does.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace nsbox::spec {

struct SpecOptions {
  // A user namespace mapping the caller's uid and gid to root, no network or cgroup
  // namespace and a bind of the host /sys, as `runc spec --rootless` does.
  bool rootless = false;
  unsigned uid = 0, gid = 0;
  // A system container: /sbin/init on a terminal, a writable root, the capabilities given in
  // `system_caps` (LXC's default set, as security::system_capabilities gives it), a cgroup
  // namespace with a writable cgroup mount, /run, /run/lock and /tmp as tmpfs, container=nsbox,
  // a boot id of its own and the stop signal systemd expects (annotations).
  bool system = false;
  std::vector<std::string> system_caps;
  // Into the config's annotations (nsbox's networks: `spec --network`).
  std::map<std::string, std::string> annotations;
};

// The annotations of a system container that nsbox acts on.
inline constexpr const char* kStopSignalAnnotation = "org.nsbox.stop-signal";
inline constexpr const char* kBootIdAnnotation = "org.nsbox.boot-id";  // "random": one of its own

std::string default_spec(const SpecOptions& o);

}  // namespace nsbox::spec
