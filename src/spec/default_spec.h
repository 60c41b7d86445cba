// The config.json that `nsbox spec` writes: runc's default, with nsbox's hostname.
#pragma once

#include <map>
#include <string>

namespace nsbox::spec {

// `rootless`: a user namespace mapping the caller's uid and gid to root, no network or
// cgroup namespace and a bind of the host /sys, as `runc spec --rootless` does.
// `annotations` go into the config's annotations (nsbox's networks: `spec --network`).
std::string default_spec(bool rootless, unsigned uid, unsigned gid,
                         const std::map<std::string, std::string>& annotations = {});

}  // namespace nsbox::spec
