// ns/in_root.h: paths of a hostile root file system are resolved inside it, links that lead
// out of it or into /proc's magic links are not followed out, and the type checks refuse
// what is not what the caller needs. (Mounting needs root: the integration tests.)
#include "ns/in_root.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace nsbox::ns {
namespace {

using nsbox::testing::TempDir;

class InRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_.mkdir("root/etc");
    tmp_.mkdir("host");
    tmp_.write("host/secret", "host\n", 0600);
    tmp_.write("root/etc/own", "own\n");
    rootfd_ = UniqueFd(::open((tmp_ / "root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(rootfd_);
  }
  void link(const std::string& target, const std::string& rel) {
    ASSERT_EQ(::symlink(target.c_str(), (tmp_ / ("root/" + rel)).c_str()), 0) << rel;
  }
  // The file an fd names, as the kernel reports it.
  static std::string where(int fd) {
    char buf[4096];
    ssize_t n = ::readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), buf, sizeof buf);
    return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
  }
  std::string host_secret() const {
    std::ifstream f(tmp_ / "host/secret");
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }

  TempDir tmp_;
  UniqueFd rootfd_;
};

TEST_F(InRootTest, AbsoluteLinkStaysInsideTheRoot) {
  // A link to the host's path of a file resolves to the same path inside the root.
  link(tmp_ / "host/secret", "etc/abs");
  auto fd = resolve(rootfd_.get(), "/etc/abs");
  EXPECT_FALSE(fd) << "resolved to " << where(fd->get());
  if (!fd) {
    EXPECT_EQ(fd.error().code(), ENOENT);
  }
}

TEST_F(InRootTest, RelativeLinkCannotClimbOut) {
  link("../../../../../../../../host/secret", "etc/rel");
  auto fd = resolve(rootfd_.get(), "/etc/rel");
  EXPECT_FALSE(fd) << "resolved to " << where(fd->get());
}

TEST_F(InRootTest, LinkWithinTheRootIsFollowed) {
  link("/etc/own", "etc/alias");
  auto fd = resolve(rootfd_.get(), "/etc/alias");
  ASSERT_TRUE(fd) << fd.error().what();
  EXPECT_EQ(where(fd->get()), tmp_ / "root/etc/own");
}

TEST_F(InRootTest, MagicLinksAreRefused) {
  // /proc/self/root of the resolving process is the host's root: never followed.
  tmp_.mkdir("root/proc");
  ASSERT_EQ(::symlink("/proc/self/root", (tmp_ / "root/proc/escape").c_str()), 0);
  ASSERT_EQ(::symlink(("/proc/self/root" + (tmp_ / "host/secret")).c_str(), (tmp_ / "root/etc/magic").c_str()), 0);
  // Inside the root, /proc/self/root is whatever the image has there (no such file here);
  // through the host's /proc it would be a magic link.
  EXPECT_FALSE(resolve(rootfd_.get(), "/etc/magic"));
  UniqueFd host_root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  auto fd = resolve(host_root.get(), "/proc/self/root" + (tmp_ / "host/secret"));
  EXPECT_FALSE(fd) << "followed a magic link to " << where(fd->get());
  if (!fd) {
    EXPECT_EQ(fd.error().code(), ELOOP);
  }
}

TEST_F(InRootTest, NofollowReturnsTheLinkItselfAndChecksRefuseIt) {
  link(tmp_ / "host/secret", "etc/abs");
  auto fd = resolve_nofollow(rootfd_.get(), "/etc/abs");
  ASSERT_TRUE(fd) << fd.error().what();
  auto file = expect_file_or_chardev(fd->get(), "/etc/abs");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().what(), "/etc/abs is a symlink, not a file or a character device");
  EXPECT_FALSE(expect_dir(fd->get(), "/etc/abs"));
  EXPECT_FALSE(expect_chardev(fd->get(), 1, 3, "/etc/abs"));
}

TEST_F(InRootTest, NullDeviceMustBeTheRealOne) {
  tmp_.mkdir("root/dev");
  // A link to a file of the image (or of the host) is not the null device.
  link("/etc/own", "dev/null");
  auto n = null_device(rootfd_.get());
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().what(), "/dev/null in the container is a symlink, not a character device");
  ASSERT_EQ(::unlink((tmp_ / "root/dev/null").c_str()), 0);
  tmp_.write("root/dev/null", "");
  n = null_device(rootfd_.get());
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().what(), "/dev/null in the container is a regular file, not a character device");
  if (::geteuid() == 0) {
    ASSERT_EQ(::unlink((tmp_ / "root/dev/null").c_str()), 0);
    ASSERT_EQ(::mknod((tmp_ / "root/dev/null").c_str(), S_IFCHR | 0666, makedev(1, 5)), 0);
    n = null_device(rootfd_.get());
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error().what(), "/dev/null in the container is the device 1:5, not 1:3");
    ASSERT_EQ(::unlink((tmp_ / "root/dev/null").c_str()), 0);
    ASSERT_EQ(::mknod((tmp_ / "root/dev/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
    n = null_device(rootfd_.get());
    EXPECT_TRUE(n) << n.error().what();
  }
}

TEST_F(InRootTest, EnsureCreatesInsideTheRootOnly) {
  // The parent is a link to the host's directory: the directory is made inside the root.
  link(tmp_ / "host", "etc/hostdir");
  auto fd = ensure(rootfd_.get(), "/etc/hostdir/new", false);
  EXPECT_FALSE(::access((tmp_ / "host/new").c_str(), F_OK) == 0) << "created on the host";
  if (fd) {
    EXPECT_EQ(where(fd->get()).rfind(tmp_ / "root/", 0), 0u) << where(fd->get());
  }
  auto dir = ensure(rootfd_.get(), "/a/b/c", true);
  ASSERT_TRUE(dir) << dir.error().what();
  EXPECT_EQ(where(dir->get()), tmp_ / "root/a/b/c");
  EXPECT_TRUE(expect_dir(dir->get(), "/a/b/c"));
}

TEST_F(InRootTest, EnsureNeverOpensWhatIsThere) {
  // A FIFO where a file is expected: ensure must not block on it or write to it.
  ASSERT_EQ(::mkfifo((tmp_ / "root/etc/fifo").c_str(), 0644), 0);
  auto fd = ensure(rootfd_.get(), "/etc/fifo", false);
  ASSERT_TRUE(fd) << fd.error().what();
  auto check = expect_file_or_chardev(fd->get(), "/etc/fifo");
  ASSERT_FALSE(check);
  EXPECT_EQ(check.error().what(), "/etc/fifo is a FIFO, not a file or a character device");
}

TEST_F(InRootTest, WriteProcRefusesWhatIsNotProcfs) {
  tmp_.mkdir("root/proc/sys/net");
  tmp_.write("root/proc/sys/net/x", "0");
  auto r = write_proc(rootfd_.get(), "/proc/sys/net/x", "1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "/proc/sys/net/x is not on procfs");
  link(tmp_ / "host/secret", "proc/sys/link");
  EXPECT_FALSE(write_proc(rootfd_.get(), "/proc/sys/link", "x"));
  EXPECT_EQ(host_secret(), "host\n");
}

}  // namespace
}  // namespace nsbox::ns
