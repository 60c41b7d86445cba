// The console keeper: for a detached container with a terminal and no --console-socket, a
// small process of its own (the one extra process, like LXC's monitor) holds the pty master,
// so that the container's console never depends on another program staying alive. It reads
// everything the console prints into a log in the container's state directory (console.log,
// rotated to console.log.1 at 1 MiB), and serves console.sock there: `nsbox console ID`
// attaches, as often as wanted, from any terminal, several at once. It ends when the
// container's init does (it holds a pidfd on it); delete kills it if it is still there.
//
// On console.sock, what the client sends is framed: a type byte, a 16-bit big-endian length,
// the payload; 'd' is input for the console, 'w' a window size (rows, cols, 16 bits each).
// What the keeper sends is the console's output as it comes.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/error.h"

namespace nsbox::process {

inline constexpr const char* kConsoleSocket = "console.sock";
inline constexpr const char* kConsoleLog = "console.log";
inline constexpr size_t kConsoleLogMax = 1 << 20;

// Start the keeper of the pty `master` for the container whose init is `init_pid`, its
// files in the state directory `dir` (a path; opened anew, so no lock held on it is shared).
// On return console.sock accepts connections. Returns the keeper's pid.
Result<pid_t> start_keeper(const std::string& dir, int master, pid_t init_pid);

// `nsbox console`: attach the caller's terminal (raw, its window size followed) to the
// keeper in `dir` until the console goes away or the caller types Ctrl-a q; a caller whose
// stdin is not a terminal is attached until its input ends.
Result<> attach_console(const std::string& dir, const std::string& id);

// `nsbox console --log`: what the console printed, the rotated part first.
Result<std::string> console_log(const std::string& dir);

}  // namespace nsbox::process
