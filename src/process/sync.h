// The create handshake between the runtime (parent) and the container process (child)
// over a SOCK_SEQPACKET socketpair: one message a packet, in a fixed order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/error.h"

namespace nsbox::process {

enum class Msg : uint32_t {
  kNeedMaps = 1,  // child (slow path): unshared its user namespace, write its id maps
  kMapsDone,      // parent: maps written
  kChildPid,      // intermediate (slow path): value = host pid of the container process
  kGo,            // parent: maps written, cgroups joined: set up the container
  kRunHooks,      // child: mounts ready, run prestart/createRuntime hooks
  kHooksDone,     // parent: hooks ran; text = state JSON for the container-side hooks
  kReady,         // child: waiting for `start`
  kError,         // child: setup failed; err = errno, text = message
  kConsole,       // child: the pty master rides along (SCM_RIGHTS); text = slave path
  kSeccompListener,  // child: the SCMP_ACT_NOTIFY listener rides along (SCM_RIGHTS)
  kIdmappedMount,    // parent, before kGo: a detached idmapped mount; text = mounts[] index
  kCgroupsJoined,    // parent: the container process is in its cgroups now (after a kGo
                     // whose value 1 said they were still pending)
  kJoinCgroups,      // parent: the cgroups are ready, join them yourself (after a kGo whose
                     // value 2 said so); text = the files to write "0" to, one a line
  kNetns,            // parent (after kGo, before any cgroup message): the network namespace
                     // made ahead rides along (SCM_RIGHTS); none: unshare one yourself
};

struct SyncMsg {
  Msg type{};
  int32_t err = 0;
  int64_t value = 0;
  std::string text;
  int fd = -1;  // a descriptor passed with the message (the receiver owns it)
};

Result<> send_msg(int fd, Msg type, int64_t value = 0, const std::string& text = {});
Result<> send_error(int fd, const Error& e);
// Send `passfd` with SCM_RIGHTS (console masters: to the runtime, or to a console socket).
Result<> send_fd(int fd, Msg type, int passfd, const std::string& text);
// The bare form: `data` as the message, `passfd` alongside (what recvtty-style readers take).
Result<> send_raw_fd(int fd, const std::string& data, int passfd);
// The error the peer has already sent, if that is what waits on `fd` (never blocks): a
// process that failed while we were busy is reported by its reason, not by the broken pipe
// or missing message our side runs into.
std::optional<Error> pending_error(int fd);
// Blocks for the next packet. A closed peer is an error ("container process exited").
Result<SyncMsg> recv_msg(int fd);
// Same, but a closed peer gives nullopt (the peer's execve closes the socket on success).
Result<std::optional<SyncMsg>> recv_msg_or_eof(int fd);
// Receive and check the type; a kError packet becomes that Error.
Result<SyncMsg> expect_msg(int fd, Msg want);

}  // namespace nsbox::process
