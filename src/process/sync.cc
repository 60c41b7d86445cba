#include "process/sync.h"

#include <poll.h>

#include <sys/socket.h>

#include <cstring>
#include <vector>

namespace nsbox::process {
namespace {

struct Header {
  uint32_t type;
  int32_t err;
  int64_t value;
};

constexpr size_t kMaxPacket = 1 << 16;

// One packet: the header, then as much of `text` as fits.
std::string pack(Msg type, int32_t err, int64_t value, const std::string& text) {
  std::string buf(sizeof(Header) + std::min(text.size(), kMaxPacket - sizeof(Header)), '\0');
  Header h{static_cast<uint32_t>(type), err, value};
  std::memcpy(buf.data(), &h, sizeof h);
  std::memcpy(buf.data() + sizeof h, text.data(), buf.size() - sizeof h);
  return buf;
}

Result<> send_packet(int fd, const std::string& buf) {
  if (::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL) < 0) return fail_errno("sync send");
  return {};
}

}  // namespace

Result<> send_msg(int fd, Msg type, int64_t value, const std::string& text) {
  return send_packet(fd, pack(type, 0, value, text));
}

Result<> send_error(int fd, const Error& e) {
  return send_packet(fd, pack(Msg::kError, e.code(), 0, e.message()));
}

Result<> send_raw_fd(int fd, const std::string& data, int passfd) {
  iovec iov{const_cast<char*>(data.data()), data.size()};
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl;
  mh.msg_controllen = sizeof ctl;
  cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &passfd, sizeof(int));
  if (::sendmsg(fd, &mh, MSG_NOSIGNAL) < 0) return fail_errno("send descriptor");
  return {};
}

Result<> send_fd(int fd, Msg type, int passfd, const std::string& text) {
  return send_raw_fd(fd, pack(type, 0, 0, text), passfd);
}

Result<std::optional<SyncMsg>> recv_msg_or_eof(int fd) {
  std::vector<char> buf(kMaxPacket);
  iovec iov{buf.data(), buf.size()};
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl;
  mh.msg_controllen = sizeof ctl;
  ssize_t n;
  bool reset = false;
  for (;;) {
    n = ::recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
    if (n >= 0 || errno == EINTR) {
      if (n >= 0) break;
      continue;
    }
    // A peer that exits with our messages unread leaves ECONNRESET, which the kernel reports
    // before what the peer sent last (its error, say). The report clears it: read again.
    if (errno == ECONNRESET && !reset) {
      reset = true;
      continue;
    }
    break;
  }
  if (n < 0 && errno == ECONNRESET) return std::optional<SyncMsg>();  // gone, nothing left
  if (n < 0) return fail_errno("sync receive");
  if (n == 0) return std::optional<SyncMsg>();
  if (static_cast<size_t>(n) < sizeof(Header)) return fail("sync receive: short packet");
  Header h;
  std::memcpy(&h, buf.data(), sizeof h);
  SyncMsg m;
  m.type = static_cast<Msg>(h.type);
  m.err = h.err;
  m.value = h.value;
  m.text.assign(buf.data() + sizeof h, static_cast<size_t>(n) - sizeof h);
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) std::memcpy(&m.fd, CMSG_DATA(c), sizeof(int));
  }
  return std::optional<SyncMsg>(std::move(m));
}

std::optional<Error> pending_error(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 0) != 1) return std::nullopt;
  auto m = recv_msg_or_eof(fd);
  if (!m || !*m || (*m)->type != Msg::kError) return std::nullopt;
  return Error((*m)->err, (*m)->text);
}

Result<SyncMsg> recv_msg(int fd) {
  auto m = TRY(recv_msg_or_eof(fd));
  if (!m) return fail("container process exited during setup");
  return std::move(*m);
}

Result<SyncMsg> expect_msg(int fd, Msg want) {
  auto m = TRY(recv_msg(fd));
  if (m.type == Msg::kError) return fail(Error(m.err, m.text));
  if (m.type != want) {
    return fail("sync: unexpected message " + std::to_string(static_cast<uint32_t>(m.type)) +
                " (wanted " + std::to_string(static_cast<uint32_t>(want)) + ")");
  }
  return m;
}

}  // namespace nsbox::process
