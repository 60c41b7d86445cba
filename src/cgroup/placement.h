// How a container is placed in its cgroups: one interface, one implementation per way, chosen
// once for a container from the host and the command line, and remembered in its state.
//
//   direct     (cgroupfs) make the directories, write the limits, clone the process into
//              the cgroup2 one (CLONE_INTO_CGROUP) and move it into the others: cgroup v2
//              hosts, and rootless containers.
//   v1 fast    (cgroupfs) as root on a v1 or hybrid host: a helper makes the v1 directories
//              while the runtime clones the container, the limits are written while it sets
//              itself up, and the process moves itself into them (no global lock taken).
//   systemd    (--systemd-cgroup) a transient scope unit holding the process, made by
//              systemd over D-Bus, with the limits systemd knows as unit properties and all
//              of them written to cgroupfs too, as runc does.
//
// create runs plan() and make(), clones the process (into clone_into() where that is a cgroup),
// tells it join_mode() with the go-ahead, and calls place() while it sets itself up; undo()
// on failure. The other verbs need only the state: the leaves (exec, pause, ps, events,
// kill), update() and remove().
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "cgroup/cgroup.h"
#include "spec/resources.h"
#include "spec/state.h"

namespace nsbox::cgroup {

// How the container process gets into its cgroups once it has the go-ahead.
enum class Join {
  kNone = 0,     // it is there already (cloned into its only cgroup), or there is none
  kByRuntime = 1,  // the runtime moves it (place()), then tells it so
  kBySelf = 2,     // it writes 0 to the files place() returns
};

struct Choice {
  std::string id;
  std::string cgroups_path;  // linux.cgroupsPath as given
  spec::Resources resources;
  bool systemd = false;      // --systemd-cgroup
  bool rootless = false;     // an ordinary user, or root of a user namespace
  bool self_join = false;    // the process may move itself (root of the host's user ns, fast path)
  bool limits_needed = false;  // the config asks for limits (a rootless fallback to no cgroups is then refused)
  std::map<std::string, std::string> annotations;  // org.systemd.property.* (systemd)
  bool nested = false;  // its processes go below its limits (cgroup::kNested)
};

class Placement {
 public:
  virtual ~Placement() = default;

  // Before anything is made: check the cgroups are the container's to take, and record in
  // `fp` what will be made (saved before make()).
  virtual Result<> plan(spec::Footprint& fp) = 0;
  // Before the clone: make what must exist before the process does.
  virtual Result<> make() { return {}; }
  // The cgroup2 directory to clone the process into (CLONE_INTO_CGROUP), or -1; cloned()
  // then says whether the kernel did (before 5.7, or a cgroup it refuses, it does not).
  virtual int clone_into() const { return -1; }
  virtual void cloned(bool /*into_cgroup*/) {}
  virtual Join join_mode() const = 0;
  // After the clone, while the process sets itself up: the limits written (it never runs
  // without them), the process put in place (kByRuntime), or the files it writes to join
  // (kBySelf).
  virtual Result<std::vector<std::string>> place(pid_t pid) = 0;
  // A create that failed: remove what make() and place() made.
  virtual void undo() = 0;

  // What the state records.
  const std::vector<Hierarchy>& hierarchies() const { return hierarchies_; }
  const std::vector<std::string>& leaves() const { return made_.leaves; }
  const std::vector<std::string>& created() const { return made_.created; }
  // Where its processes go: the leaves, or kNested below them (cgroup.h).
  std::vector<std::string> homes() const { return cgroup::homes(made_.leaves, nested_); }
  bool nested() const { return nested_; }
  std::string freezer() const;
  virtual std::string systemd_unit() const { return ""; }

 protected:
  Placement(std::vector<Hierarchy> hs, const Choice& c)
      : hierarchies_(std::move(hs)), resources_(c.resources), nested_(c.nested) {}
  // The existing leaves must hold no process (runc's rule): checked by plan().
  static Result<> refuse_busy(const std::vector<std::string>& existing_leaves);
  // The limits and device rules on the leaves (`devices`: false where the runtime may not
  // write them, rootless).
  Result<> write_limits(bool devices);
  // For a nested container, after write_limits: its homes made (cgroup::make_nested), the
  // process `move` put there if it is in the leaves already, the v2 controllers handed down.
  Result<> make_homes(pid_t move = 0);

  std::vector<Hierarchy> hierarchies_;
  spec::Resources resources_;
  Made made_;
  bool nested_ = false;
};


// The way for a container to be created, from the host's hierarchies and the choice. The
// systemd way starts its bus helper at once (its connection overlaps what create does next).
Result<std::unique_ptr<Placement>> choose(const Choice& c);

// The verbs after create, from the state: new limits, and the cgroups (or unit) removed once
// the container's processes are gone.
// update returns the container's resources with `r` laid over them, for its state.
Result<spec::Resources> update(const spec::State& st, const spec::Resources& r);
Result<> remove(const std::vector<std::string>& leaves, const std::vector<std::string>& created,
                const std::string& systemd_unit, bool systemd_user);
// The systemd way's v1 slice directories above `leaves` that are empty now.
void remove_empty_slices(const std::vector<std::string>& leaves);

}  // namespace nsbox::cgroup
