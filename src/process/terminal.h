// Terminals: a pty allocated in the container's own devpts, its master handed to the
// runtime (and from there to a console socket, or relayed to the caller's terminal).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"

namespace nsbox::process {

struct Console {
  UniqueFd master;
  std::string slave_path;  // /dev/pts/N inside the container
};

// In the container process, after its root is in place and setsid(): open /dev/ptmx,
// size it (0 x 0 leaves it), make the slave the controlling terminal and stdin/out/err, and
// when `bind_console` bind it over /dev/console.
Result<Console> setup_console(unsigned rows, unsigned cols, bool bind_console);

// Connect to the unix socket `path` and send `master` with SCM_RIGHTS (conmon, the
// containerd shim and recvtty read it so), the slave's name as payload.
Result<> send_to_console_socket(const std::string& path, int master, const std::string& name);

// Copy between the caller's stdin/stdout and `master`, with the caller's terminal raw, until
// `on_signal` (given every signal read from `signal_fd` but SIGWINCH, which resizes the pty)
// returns true: the process has exited. Output still buffered in the pty is drained then.
void relay(int master, int signal_fd, const std::function<bool(int sig)>& on_signal);

// A foreground run or exec: relay `console` when there is one (-1: none), else just read
// `signal_fd`, until `on_signal` says the process has exited.
Result<> wait_foreground(int console, int signal_fd, const std::function<bool(int sig)>& on_signal);

}  // namespace nsbox::process
