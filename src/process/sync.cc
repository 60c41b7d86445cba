#include "process/sync.h"

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

}  // namespace

Result<> send_msg(int fd, Msg type, int64_t value, const std::string& text) {
  std::string buf(sizeof(Header) + std::min(text.size(), kMaxPacket - sizeof(Header)), '\0');
  Header h{static_cast<uint32_t>(type), 0, value};
  std::memcpy(buf.data(), &h, sizeof h);
  std::memcpy(buf.data() + sizeof h, text.data(), buf.size() - sizeof h);
  if (::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL) < 0) return fail_errno("sync send");
  return {};
}

Result<> send_error(int fd, const Error& e) {
  std::string buf(sizeof(Header) + std::min(e.message().size(), kMaxPacket - sizeof(Header)), '\0');
  Header h{static_cast<uint32_t>(Msg::kError), e.code(), 0};
  std::memcpy(buf.data(), &h, sizeof h);
  std::memcpy(buf.data() + sizeof h, e.message().data(), buf.size() - sizeof h);
  if (::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL) < 0) return fail_errno("sync send");
  return {};
}

Result<SyncMsg> recv_msg(int fd) {
  std::vector<char> buf(kMaxPacket);
  ssize_t n;
  do {
    n = ::recv(fd, buf.data(), buf.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail_errno("sync receive");
  if (n == 0) return fail("container process exited during setup");
  if (static_cast<size_t>(n) < sizeof(Header)) return fail("sync receive: short packet");
  Header h;
  std::memcpy(&h, buf.data(), sizeof h);
  SyncMsg m;
  m.type = static_cast<Msg>(h.type);
  m.err = h.err;
  m.value = h.value;
  m.text.assign(buf.data() + sizeof h, static_cast<size_t>(n) - sizeof h);
  return m;
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
