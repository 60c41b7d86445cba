// The state directory: <root>/<id>/ holds state.json (replaced atomically), exec.sock (present
// while the container waits for `start`) and is itself the lock (flock) that serializes
// commands on one container.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "spec/state.h"

namespace nsbox::runtime {

inline constexpr const char* kExecSocket = "exec.sock";

// Container IDs: letters, digits, '_', '+', '-', '.'; not "." or "..".
Result<> validate_id(const std::string& id);

class ContainerDir {
 public:
  // Create <root>/<id> (root is created 0700 if missing) and lock it.
  static Result<ContainerDir> create(const std::string& root, const std::string& id);
  // Open an existing container's directory; `lock`: take the exclusive lock.
  static Result<ContainerDir> open(const std::string& root, const std::string& id, bool lock);

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  // "/proc/self/fd/N/<name>": a short path for sockets whatever the root's length.
  std::string fd_relative(const std::string& name) const;

  Result<spec::State> load() const;
  Result<> save(const spec::State& s) const;
  void remove();  // the whole directory

 private:
  UniqueFd fd_;
  std::string path_;
};

// Process identity and liveness. `start_time` 0 reads it; a zombie counts as gone.
struct ProcInfo {
  bool alive = false;
  uint64_t start_time = 0;
};
ProcInfo proc_info(pid_t pid);

// Status from the recorded state and the live system.
spec::Status current_status(const spec::State& s, const ContainerDir& dir);
// The same with the exec socket's path relative to `atfd` (`list`: <root> and "<id>/exec.sock").
spec::Status current_status_at(const spec::State& s, int atfd, const std::string& exec_socket);

// Names of the directories under `root` (sorted): the containers, and maybe a create that
// has not saved its state yet (callers look for state.json).
std::vector<std::string> list_ids(const std::string& root);

}  // namespace nsbox::runtime
