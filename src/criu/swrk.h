// nsbox's link to CRIU: `criu swrk 3` over a SOCK_SEQPACKET pair, one protobuf-encoded
// criu_req / criu_resp per datagram, with the messages of Debian's /usr/include/criu/rpc.proto
// (compiled by protoc-c at build time). One Swrk is one CRIU process: a request, its
// notifications, its answer.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

extern "C" {
#include "criu/rpc.pb-c.h"
}

namespace nsbox::criu {

// The program `name` on this process's PATH (as CRIU and runc look for theirs), or "".
std::string find_program(const std::string& name);

// CRIU's version as runc counts it: major*10000 + minor*100 + sublevel; a git build counts as
// the next minor.
int version_number(int major, int minor, int sublevel, bool git);

class Swrk {
 public:
  // Start `criu swrk 3`: `extra_fds` become its fds 4, 5...; `stdio` (three fds, -1 for
  // /dev/null) its 0, 1, 2.
  static Result<Swrk> start(const std::vector<int>& extra_fds = {}, const int stdio[3] = nullptr);
  Swrk(Swrk&& o) noexcept : sock_(std::move(o.sock_)), pid_(std::exchange(o.pid_, -1)) {}
  Swrk& operator=(Swrk&&) = delete;
  ~Swrk();
  pid_t pid() const { return pid_; }

  // Send `req`; each NOTIFY the answer brings is given to `on_notify` (script, pid, the fd
  // that came with it or -1) and acknowledged (a failing handler is reported instead), until
  // the answer to `req`, which is returned (freed by the caller with criu_resp__free_unpacked).
  using NotifyHandler = std::function<Result<>(const std::string& script, pid_t pid, int fd)>;
  Result<CriuResp*> call(const CriuReq& req, const NotifyHandler& on_notify = {});
  // After the last call: end of input to CRIU, wait for it; its exit status as an error.
  Result<> finish(bool tolerate_exit_status = false);

 private:
  Swrk() = default;
  Result<> send(const CriuReq& req);
  Result<CriuResp*> receive(int* fd);
  UniqueFd sock_;
  pid_t pid_ = -1;
};

// A criu_resp, freed when it goes.
struct RespDeleter {
  void operator()(CriuResp* r) const { criu_resp__free_unpacked(r, nullptr); }
};

// The name of a request type, as runc prints it (DUMP, RESTORE...).
const char* type_name(CriuReqType t);

// CRIU's version (a VERSION request to a fresh `criu swrk`); the error says what to install.
Result<int> version();

}  // namespace nsbox::criu
