// The D-Bus properties of the transient unit a container runs in, as runc sets them: the
// unit's own (Description, Slice, Delegate, PIDs, accounting, DefaultDependencies), the
// container's limits that systemd knows (MemoryMax, CPUWeight, TasksMax, AllowedCPUs, IO*,
// DeviceAllow...), and `org.systemd.property.*` annotations, whose values are GVariant
// text. Pure: building the list is tested without a bus (systemd/bus.h sends it).
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "spec/resources.h"
#include "systemd/names.h"

namespace nsbox::systemd {

// One property: its name, its D-Bus signature ("t", "s", "b", "au", "ay", "a(ss)", "a(st)"...)
// and its value as JSON text (a number, a string, a boolean, an array; a struct is an array).
struct Property {
  std::string name;
  std::string signature;
  std::string value;
  bool operator==(const Property&) const = default;
};

// StartTransientUnit's properties, before the limits: a scope in its slice with the
// container's init, delegated, accounted, without default dependencies; then the
// annotations' (which may override a default, as runc allows).
std::vector<Property> unit_properties(const UnitName& u, pid_t pid, bool v2,
                                      const std::vector<Property>& from_annotations);

// The limits systemd knows as unit properties; the rest is only written to cgroupfs.
// `version`: systemd's (0 unknown: version-gated properties are left out). The CPU quota is
// rounded as systemd stores it (to 10 ms a second): `r` gets the rounded quota back so that
// cgroupfs says the same.
Result<std::vector<Property>> resource_properties(spec::Resources& r, bool v2, int version);

// `org.systemd.property.<Name>` annotations as properties (runc's rules and errors).
Result<std::vector<Property>> annotation_properties(const std::map<std::string, std::string>& annotations);

// A GVariant text value ("uint64 123", "'s'", "true", "2", "[ 'a', 'b' ]", "@as []") as a
// property value; exposed for tests.
Result<Property> parse_gvariant(const std::string& name, const std::string& text);

// systemd's "0-3,8" for AllowedCPUs: a bitmask, byte 0 = CPUs 0-7.
Result<std::vector<uint8_t>> cpuset_bits(const std::string& list);

}  // namespace nsbox::systemd
