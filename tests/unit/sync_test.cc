// The runtime <-> container process handshake (process/sync.h), over a real socket pair.
#include "process/sync.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include <gtest/gtest.h>

namespace nsbox::process {
namespace {

struct Pair {
  Pair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fd), 0); }
  ~Pair() {
    for (int f : fd) {
      if (f >= 0) ::close(f);
    }
  }
  int fd[2] = {-1, -1};
};

TEST(Sync, MessageAndFields) {
  Pair p;
  ASSERT_TRUE(send_msg(p.fd[0], Msg::kGo, 2, "text"));
  auto m = recv_msg(p.fd[1]);
  ASSERT_TRUE(m) << m.error().what();
  EXPECT_EQ(m->type, Msg::kGo);
  EXPECT_EQ(m->value, 2);
  EXPECT_EQ(m->text, "text");
}

// A container process that fails and exits before it read what the runtime sent: the kernel
// reports ECONNRESET first, and its error message is still there after that.
TEST(Sync, ErrorOfAPeerThatLeftOurMessagesUnread) {
  Pair p;
  ASSERT_TRUE(send_msg(p.fd[0], Msg::kJoinCgroups, 0, "/sys/fs/cgroup/x/tasks\n"));  // never read
  ASSERT_TRUE(send_error(p.fd[1], Error(ENOENT, "mount /proc: it is a symlink")));
  ::close(p.fd[1]);
  p.fd[1] = -1;
  auto m = recv_msg(p.fd[0]);
  ASSERT_TRUE(m) << m.error().what();
  EXPECT_EQ(m->type, Msg::kError);
  EXPECT_EQ(m->text, "mount /proc: it is a symlink");
  auto eof = recv_msg(p.fd[0]);
  ASSERT_FALSE(eof);
  EXPECT_EQ(eof.error().what(), "container process exited during setup");
}

// Our send fails on a process that already failed and exited: its reason is still there.
TEST(Sync, PendingErrorAfterABrokenPipe) {
  Pair p;
  EXPECT_FALSE(pending_error(p.fd[0]));  // nothing yet, and no waiting
  ASSERT_TRUE(send_error(p.fd[1], Error(ENOENT, "mount /proc: it is a symlink")));
  ::close(p.fd[1]);
  p.fd[1] = -1;
  EXPECT_FALSE(send_msg(p.fd[0], Msg::kNetns));
  auto e = pending_error(p.fd[0]);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->what(), std::string("mount /proc: it is a symlink: ") + std::strerror(ENOENT));
  EXPECT_EQ(e->code(), ENOENT);
}

TEST(Sync, PeerGoneWithNothingSaid) {
  Pair p;
  ASSERT_TRUE(send_msg(p.fd[0], Msg::kGo));  // never read
  ::close(p.fd[1]);
  p.fd[1] = -1;
  auto m = recv_msg(p.fd[0]);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().what(), "container process exited during setup");
}

}  // namespace
}  // namespace nsbox::process
