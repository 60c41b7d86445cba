#include "criu/swrk.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "process/exec_path.h"

extern char** environ;

namespace nsbox::criu {
namespace {

constexpr size_t kMaxMessage = 40960;  // as runc reads

}  // namespace

std::string find_program(const std::string& name) {
  const char* path = ::getenv("PATH");
  auto found = process::look_path(name, {std::string("PATH=") + (path != nullptr ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")});
  return found ? *found : "";
}

int version_number(int major, int minor, int sublevel, bool git) {
  if (git) return major * 10000 + (minor + 1) * 100;
  return major * 10000 + minor * 100 + sublevel;
}

const char* type_name(CriuReqType t) {
  switch (t) {
    case CRIU_REQ_TYPE__DUMP: return "DUMP";
    case CRIU_REQ_TYPE__RESTORE: return "RESTORE";
    case CRIU_REQ_TYPE__CHECK: return "CHECK";
    case CRIU_REQ_TYPE__PRE_DUMP: return "PRE_DUMP";
    case CRIU_REQ_TYPE__PAGE_SERVER: return "PAGE_SERVER";
    case CRIU_REQ_TYPE__NOTIFY: return "NOTIFY";
    case CRIU_REQ_TYPE__FEATURE_CHECK: return "FEATURE_CHECK";
    case CRIU_REQ_TYPE__VERSION: return "VERSION";
    default: return "EMPTY";
  }
}

Result<Swrk> Swrk::start(const std::vector<int>& extra_fds, const int stdio[3]) {
  std::string path = find_program("criu");
  if (path.empty()) return fail("criu not found: install Debian's criu (apt-get install criu)");
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) return fail_errno("socketpair");
  UniqueFd ours(sp[0]), theirs(sp[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  for (int i = 0; i < 3; ++i) {
    if (stdio != nullptr && stdio[i] >= 0) {
      posix_spawn_file_actions_adddup2(&fa, stdio[i], i);
    } else {
      posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY, 0);
    }
  }
  // (dup2 clears close-on-exec; the targets are above every fd given, so none is overwritten
  // before it is copied.)
  int high = 3 + static_cast<int>(extra_fds.size()) + 64;
  std::vector<UniqueFd> copies;
  for (int fd : extra_fds) {
    copies.emplace_back(::fcntl(fd, F_DUPFD_CLOEXEC, high));
    if (!copies.back()) return fail_errno("dup an fd for criu");
  }
  UniqueFd sock_copy(::fcntl(theirs.get(), F_DUPFD_CLOEXEC, high));
  if (!sock_copy) return fail_errno("dup the criu socket");
  posix_spawn_file_actions_adddup2(&fa, sock_copy.get(), 3);
  for (size_t i = 0; i < copies.size(); ++i) posix_spawn_file_actions_adddup2(&fa, copies[i].get(), 4 + static_cast<int>(i));
  std::vector<char*> argv = {path.data(), const_cast<char*>("swrk"), const_cast<char*>("3"), nullptr};
  Swrk s;
  int rc = ::posix_spawn(&s.pid_, path.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return fail_errno("start " + path + " swrk", rc);
  s.sock_ = std::move(ours);  // theirs closes here: a CRIU that dies gives us end of input
  return s;
}

Swrk::~Swrk() {
  if (pid_ > 0) {
    sock_.reset();
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

Result<> Swrk::send(const CriuReq& req) {
  size_t n = criu_req__get_packed_size(&req);
  std::vector<uint8_t> buf(n);
  criu_req__pack(&req, buf.data());
  if (::send(sock_.get(), buf.data(), n, MSG_NOSIGNAL) < 0) return fail_errno("send to criu");
  return {};
}

Result<CriuResp*> Swrk::receive(int* fd) {
  std::vector<uint8_t> buf(kMaxMessage);
  iovec iov{buf.data(), buf.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(sock_.get(), &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail_errno("receive from criu");
  if (n == 0) return fail("unexpected EOF");
  if (static_cast<size_t>(n) == buf.size()) return fail("buffer is too small");
  *fd = -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) std::memcpy(fd, CMSG_DATA(c), sizeof(int));
  }
  CriuResp* r = criu_resp__unpack(nullptr, static_cast<size_t>(n), buf.data());
  if (r == nullptr) {
    if (*fd >= 0) ::close(*fd);
    return fail("criu: an answer that is no criu_resp");
  }
  return r;
}

Result<CriuResp*> Swrk::call(const CriuReq& req, const NotifyHandler& on_notify) {
  TRY(send(req));
  for (;;) {
    int fd = -1;
    std::unique_ptr<CriuResp, RespDeleter> r(TRY(receive(&fd)));
    UniqueFd passed(fd);
    if (!r->success) {
      std::string msg = std::string("criu failed: type ") + type_name(r->type) + " errno " + std::to_string(r->cr_errno);
      if (r->cr_errmsg != nullptr && *r->cr_errmsg != '\0') msg += " (" + std::string(r->cr_errmsg) + ")";
      return fail(msg);
    }
    if (r->type != CRIU_REQ_TYPE__NOTIFY) {
      if (r->type != req.type) return fail(std::string("unable to parse the response ") + type_name(r->type));
      return r.release();
    }
    Result<> handled;
    if (on_notify && r->notify != nullptr && r->notify->script != nullptr) {
      handled = on_notify(r->notify->script, r->notify->has_pid ? r->notify->pid : 0, passed.get());
    }
    if (!handled) return fail(std::move(handled.error()));
    CriuReq ack = CRIU_REQ__INIT;
    ack.type = CRIU_REQ_TYPE__NOTIFY;
    ack.has_notify_success = true;
    ack.notify_success = true;
    TRY(send(ack));
  }
}

Result<> Swrk::finish(bool tolerate_exit_status) {
  ::shutdown(sock_.get(), SHUT_WR);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  if (tolerate_exit_status) return {};
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0) return fail("criu failed: exit status " + std::to_string(WEXITSTATUS(status)));
  if (WIFSIGNALED(status)) return fail("criu failed: signal " + std::to_string(WTERMSIG(status)));
  return {};
}

Result<int> version() {
  auto s = Swrk::start();
  if (!s) return fail(std::move(s.error().context("CRIU version check failed")));
  CriuReq req = CRIU_REQ__INIT;
  req.type = CRIU_REQ_TYPE__VERSION;
  auto r = s->call(req);
  if (!r) return fail(std::move(r.error().context("CRIU version check failed")));
  std::unique_ptr<CriuResp, RespDeleter> resp(*r);
  (void)s->finish(true);
  if (resp->version == nullptr) return fail("CRIU version check failed: no version in the answer");
  const CriuVersion* v = resp->version;
  return version_number(v->major_number, v->minor_number, v->has_sublevel ? v->sublevel : 0, v->gitid != nullptr);
}

}  // namespace nsbox::criu
