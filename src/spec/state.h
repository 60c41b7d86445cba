// The container state kept in <root>/<id>/state.json, and the runtime-spec state document
// that `state` prints. The file holds what later commands need: the pid and its start time
// (to recognise pid reuse), the cgroups to remove, and the hooks still to run.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "spec/config.h"

namespace nsbox::spec {

// kUnknown: the state file cannot be read (damaged); `list` shows such a container anyway.
enum class Status { kCreating, kCreated, kRunning, kPaused, kStopped, kUnknown };
const char* status_name(Status s);

struct State {
  std::string oci_version;
  std::string id;
  pid_t pid = 0;
  uint64_t start_time = 0;  // /proc/PID/stat field 22
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339, UTC
  uint32_t owner = 0;
  std::map<std::string, std::string> annotations;
  std::vector<std::string> cgroup_leaves;
  // The one file that says whether the container is frozen (a v1 freezer.state or a v2
  // cgroup.freeze), so that a status costs one read; "" when there is no freezer.
  std::string freezer;
  std::vector<std::string> cgroup_created;
  bool cgroup_nested = false;  // its processes live in cgroup::kNested below the leaves
  bool own_pid_ns = false;  // the container has its own pid namespace: killing pid 1 ends it all
  std::string process_json;  // config.json's process, the base of every exec
  std::string seccomp_json;  // config.json's linux.seccomp, applied to every exec too
  std::string resources_json;  // its linux.resources as `update` left them ("" none)
  std::string notify_socket;  // the caller's NOTIFY_SOCKET, relayed to by `start`
  std::vector<Hook> poststart;
  std::vector<Hook> poststop;
  std::string rootfs_bind;  // as Footprint's
  uint64_t rootfs_mount_before = 0;
  // The systemd driver's unit ("" with cgroupfs), remembered: engines pass --systemd-cgroup
  // only at create.
  std::string systemd_unit;
  bool systemd_user = false;
  // nsbox's networks (net/attach.h): the container's addresses, shown by list and state, and
  // the record of all that was made for it (net::attached_to_json), undone by delete.
  std::vector<std::string> addresses;
  std::string network_json;
  // The console keeper of a detached container with a terminal (process/console_keeper.h).
  pid_t console_keeper = 0;
  uint64_t console_keeper_start = 0;
  // What the init's fds 0, 1 and 2 were at create (readlink of /proc/PID/fd/N; "" if
  // unreadable): checkpoint writes them to descriptors.json for restore, as runc does.
  std::vector<std::string> external_descriptors;
  // Its init's state as systemctl is-system-running says (systemd/system_state.h): read by
  // `state` and `list` for a running container, shown by oci_state_json, never saved.
  std::string system_state;
};

// Everything `create` may make on the host for a container, written to
// <root>/<id>/footprint.json before any of it is made: `delete --force` finds it all there
// when create was killed at any point or state.json is damaged.
struct Footprint {
  std::vector<std::string> cgroup_leaves;  // the container's cgroup in each hierarchy
  std::vector<std::string> cgroup_new;     // directories above them that create makes
  // Without a mount namespace of its own, the container's rootfs bind and its mounts live
  // in the runtime's namespace: the rootfs path, and the mount id there before create.
  std::string rootfs_bind;
  uint64_t rootfs_mount_before = 0;
  // With the systemd driver: the container's unit, and whether the user's manager has it.
  std::string systemd_unit;
  bool systemd_user = false;
  // The networks it joins: its leases, port registrations and host veths are found by its id.
  std::vector<std::string> networks;
};
std::string footprint_to_json(const Footprint& f);
Result<Footprint> footprint_from_json(const std::string& text, const std::string& file);

std::string state_to_json(const State& s);
Result<State> state_from_json(const std::string& text, const std::string& file);
// What `list` shows and needs for the status: ociVersion, id, pid, startTime, bundle,
// rootfs, created, owner, annotations, cgroupLeaves, addresses and freezer, the rest left unread (the saved
// process and seccomp profile are most of the file).
Result<State> state_summary_from_json(const std::string& text, const std::string& file);
// The runtime-spec state document (what `state` prints and hooks read on stdin).
std::string oci_state_json(const State& s, Status status, bool pretty);
// A state document with another status and pid: the hooks run in the container get it as
// runc gives it (createContainer "creating", startContainer "created", the pid as the
// container sees it).
std::string restated(const std::string& state_json, Status status, pid_t pid);

}  // namespace nsbox::spec
