// Cgroup placement for a container: one directory per mounted hierarchy (v1 controllers,
// the v2 unified tree, or both on a hybrid host), created at create and removed at delete.
// Resource limits are applied by the manager in issue #3; this is the placement core.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

namespace nsbox::cgroup {

struct Hierarchy {
  std::string mountpoint;  // /sys/fs/cgroup/memory
  std::string fstype;      // cgroup or cgroup2
  std::string options;     // super options of a v1 mount: "rw,memory"
  std::string controllers; // from /proc/self/cgroup: "memory", "name=systemd", "" for v2
  std::string own_path;    // this process's cgroup relative to the mount root
};

// The hierarchies this process is in that are mounted, in /proc/self/cgroup order.
Result<std::vector<Hierarchy>> discover();
// Pure part of discover(), for tests: the two files' contents.
std::vector<Hierarchy> discover_from(const std::string& proc_cgroup, const std::string& mountinfo);

// Directory of the container's cgroup within hierarchy `h` for the spec's cgroupsPath:
// absolute paths are taken from the hierarchy root, relative ones below our own cgroup.
std::string container_dir(const Hierarchy& h, const std::string& cgroups_path);

struct Made {
  std::vector<std::string> leaves;   // the container's directory in each hierarchy
  std::vector<std::string> created;  // every directory we made, parents first
};

// What create() makes, worked out without touching anything: the container's directory in
// each hierarchy, and every level below the mount points that may have to be made, parents
// first (a v1 cpuset level copies its parent's cpus and mems, the paths of which are here).
struct Plan {
  struct Dir {
    std::string path;
    bool v2 = false;  // in the cgroup2 hierarchy
    bool cpuset = false;
    std::string files[4];  // parent cpus, parent mems, own cpus, own mems (cpuset only)
  };
  std::vector<std::string> leaves;
  std::vector<Dir> dirs;
};
Plan plan(const std::vector<Hierarchy>& hs, const std::string& cgroups_path);
// Make a plan's directories. On failure nothing is left.
Result<Made> make(const Plan& p);
// Create the container's directories (missing parents too): make(plan(hs, cgroups_path)).
Result<Made> create(const std::vector<Hierarchy>& hs, const std::string& cgroups_path);
// Move `pid` into every directory.
Result<> enter(const std::vector<std::string>& dirs, pid_t pid);

// A process moving itself. Writing a pid to cgroup.procs takes the global lock described
// below (AttachWarmup), whose first taker after an idle moment waits for an RCU grace period
// (up to 15 ms on a busy host). A single-threaded process that writes "0" to a v1
// hierarchy's `tasks` moves its one thread, and the kernel takes no such lock for a thread
// moving itself: 0.06 ms. join_files: the file to write in each directory (`tasks` in v1,
// cgroup.procs in v2, which has no such path); join_self: writes "0" to each, from the
// process to move (single-threaded, still seeing the host's cgroup mounts).
std::vector<std::string> join_files(const std::vector<std::string>& dirs);
Result<> join_self(const std::vector<std::string>& files);

// Moving a task between v1 cgroups takes a global lock whose first taker waits for an RCU
// grace period (7.5 ms on the development VM: most of a container's start). AttachWarmup
// pays it at once in a helper process (a no-op move of the helper within one of our own
// v1 cgroups) while the runtime parses, creates cgroups, clones and sets the container up;
// the runtime's own move then waits only for what is left of that grace period, if any.
// Nothing happens where there is no v1 hierarchy or no right to write.
//
// Given a plan, the helper first makes its directories (a v1 host has ten or so, 0.4 ms),
// so that the runtime can clone the container meanwhile; made() waits for them. With
// `warm` false it only does that: a container process that joins its cgroups itself
// (join_self) needs no warming; the plan's cgroup2 directories are then made at once, by
// the constructor, for the container to be cloned into (CLONE_INTO_CGROUP).
class AttachWarmup {
 public:
  explicit AttachWarmup(const std::vector<Hierarchy>& hs, const Plan* make = nullptr, bool warm = true);
  AttachWarmup(const AttachWarmup&) = delete;
  AttachWarmup& operator=(const AttachWarmup&) = delete;
  ~AttachWarmup() { finish(); }
  void finish();  // reap the helper
  bool active() const { return pid_ > 0; }
  // The plan's directories (made here if no helper runs), once; on failure what was made is
  // removed. Again after that: the same placement, or an empty one after a failure.
  Result<Made> made();

 private:
  static constexpr size_t kStack = 32768;
  static int helper(void* self);
  std::unique_ptr<char[]> stack_;
  pid_t pid_ = -1;
  pid_t parent_ = -1;  // the runtime: the helper dies with it
  int procs_fd_ = -1;  // -1: no warming write
  // The helper's side: the plan, one result a directory (0 made, EEXIST there, else errno;
  // -1 not tried), and the eventfd it signals once the directories are done.
  const Plan* plan_ = nullptr;
  std::vector<int> results_;
  UniqueFd done_;
  bool collected_ = false;
  std::optional<Made> made_;
};
// A container that may write to its cgroups (a writable cgroup mount in a cgroup namespace of
// its own: a system container whose init manages cgroups) lives one level below the cgroup
// that carries its limits, in kNested, and its cgroup namespace is rooted there: nothing it
// does can reach the limits (LXC's payload/inner layout, systemd's delegation rule on v2).
// homes: where its processes go (the leaves themselves when it is not nested).
inline constexpr const char* kNested = "container";
std::vector<std::string> homes(const std::vector<std::string>& leaves, bool nested);
// Make kNested below each leaf, after the leaf's limits and device rules are written (a v1
// devices cgroup copies its parent's rules when made, and refuses a deny-all once it has a
// child), with cpuset's cpus and mems copied.
Result<std::vector<std::string>> make_nested(const std::vector<std::string>& leaves);
// Enable every controller a v2 leaf has for the cgroups below it (its own tree distributes
// them). v2 allows it only while the leaf itself holds no process.
Result<> hand_down_controllers(const std::vector<std::string>& leaves);

// Remove a container's cgroups once its processes are gone: every cgroup below each leaf
// (its init may have made its own: systemd's init.scope, system.slice...), deepest first,
// then the directories `created` by create (a parent we made that other containers use by
// now stays). Retries briefly while the last tasks exit. Reports the first directory that
// would not go (the caller keeps its record of the container then).
Result<> destroy(const std::vector<std::string>& leaves, const std::vector<std::string>& created);

}  // namespace nsbox::cgroup
