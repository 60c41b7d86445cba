// The systemd cgroup driver's names, as runc and crun derive them from linux.cgroupsPath
// ("slice:prefix:name"): the unit (a transient scope, or a slice), its parent slice, and the
// cgroup directory systemd gives it. Pure: no bus, no file system.
#pragma once

#include <string>

#include "base/error.h"

namespace nsbox::systemd {

struct UnitName {
  std::string slice;  // the parent slice, as given ("machine.slice"; default system.slice)
  std::string unit;   // "libpod-<id>.scope", or "<name>.slice" when the name is a slice
  std::string name;   // the third part (the container's name in Description)
  bool is_slice() const { return unit.ends_with(".slice"); }
};

// cgroupsPath "slice:prefix:name" (empty: ":nsbox:<id>"); `rootless`: the default slice is
// user.slice. Errors in runc's words.
Result<UnitName> unit_name(const std::string& cgroups_path, const std::string& id, bool rootless);

// A slice's place in the tree: "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice", "-.slice"
// -> "/". "invalid slice name: <slice>" for a name systemd would refuse.
Result<std::string> expand_slice(const std::string& slice);

// The unit's cgroup below the cgroup2 mount (or a v1 hierarchy's): "/machine.slice/libpod-x.scope".
Result<std::string> unit_cgroup(const UnitName& u);

}  // namespace nsbox::systemd
