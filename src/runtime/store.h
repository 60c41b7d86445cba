// The state directory: <root>/<id>/ holds state.json (replaced atomically), footprint.json
// (what create may make on the host, written before it makes it), the exec socket (named
// exec.sock.creating while create sets the container up, exec.sock once it waits for
// `start`), and is itself the lock (flock) that serializes commands on one container.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "base/lock.h"
#include "base/unique_fd.h"
#include "spec/state.h"

namespace nsbox::runtime {

inline constexpr const char* kExecSocket = "exec.sock";
inline constexpr const char* kExecSocketCreating = "exec.sock.creating";

// Container IDs: letters, digits, '_', '+', '-', '.'; not "." or ".."; at most kMaxIdLength.
inline constexpr size_t kMaxIdLength = 249;
Result<> validate_id(const std::string& id);

// How a command holds the container's lock: create, start, delete, pause, resume and update
// exclusively; exec and kill shared (they must not act on a container that create, start
// or delete is still working on, but may run beside each other). A command waits for
// another's lock at most kLockWaitMs, then fails saying the container is busy: no verb
// waits unbounded.
enum class Lock { kNone, kShared, kExclusive };

class ContainerDir {
 public:
  // Create <root>/<id> (root is created 0700 if missing), locked exclusively.
  static Result<ContainerDir> create(const std::string& root, const std::string& id);
  // Open an existing container's directory and take `lock`. Without `any`, a directory with
  // no state.json (a create that has not saved it yet, or died before) does not exist.
  static Result<ContainerDir> open(const std::string& root, const std::string& id, Lock lock,
                                   bool any = false);

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  // "/proc/self/fd/N/<name>": a short path for sockets whatever the root's length.
  std::string fd_relative(const std::string& name) const;

  // Take or drop the lock (bounded as above).
  Result<> lock(Lock mode);
  void unlock();

  bool has_state() const;
  Result<spec::State> load() const;
  Result<> save(const spec::State& s) const;
  Result<> save_footprint(const spec::Footprint& f) const;
  Result<spec::Footprint> load_footprint() const;
  void remove();  // the whole directory

 private:
  UniqueFd fd_;
  std::string path_;
  std::string id_;
};

// Process identity and liveness. `start_time` 0 reads it; a zombie counts as gone.
struct ProcInfo {
  bool alive = false;
  uint64_t start_time = 0;
};
ProcInfo proc_info(pid_t pid);

// Status from the recorded state and the live system.
spec::Status current_status(const spec::State& s, const ContainerDir& dir);
// The same relative to `atfd` and the container's directory name below it (`list`).
spec::Status current_status_at(const spec::State& s, int atfd, const std::string& dir);

// Names of the directories under `root` (sorted): the containers, and maybe a create that
// has not saved its state yet (callers look for state.json).
std::vector<std::string> list_ids(const std::string& root);
// Whether container `id` has a directory in `root` (it exists, whatever its status): what the
// network leases and port registrations ask of their owners.
bool container_exists(const std::string& root, const std::string& id);

}  // namespace nsbox::runtime
