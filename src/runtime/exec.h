// `exec`: a new process in a running container, in all its namespaces and its cgroup.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "runtime/container.h"

namespace nsbox::runtime {

struct ExecOptions {
  std::string id;
  std::vector<std::string> args;
  std::string process_file;  // --process: a process JSON replacing everything below
  bool tty = false;
  std::string console_socket;
  bool detach = false;
  std::string pid_file;
  std::string cwd;
  std::vector<std::string> env;
  std::string user;  // UID[:GID]
  std::vector<uint32_t> additional_gids;
  std::vector<std::string> caps;
  bool no_new_privs = false;
  std::string apparmor;       // --apparmor: profile for the process
  std::string process_label;  // --process-label: SELinux label for the process
  int preserve_fds = 0;
  bool ignore_paused = false;
  std::string sub_cgroup;  // --cgroup: a sub-cgroup of the container's (v2)
};

// Foreground: the process's exit status (128+N for signal N). Detached: 0 once it runs.
Result<int> exec(const Globals& g, const ExecOptions& o);

}  // namespace nsbox::runtime
