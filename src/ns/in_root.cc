#include "ns/in_root.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

namespace nsbox::ns {
namespace {

// The path relative to the root ("." for the root itself).
std::string relative(const std::string& path) {
  size_t i = 0;
  while (i < path.size() && path[i] == '/') ++i;
  return i == path.size() ? "." : path.substr(i);
}

int openat2_in_root(int rootfd, const std::string& path, int flags, uint64_t extra = 0) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra;
  std::string rel = relative(path);
  long r;
  do {
    r = ::syscall(SYS_openat2, rootfd, rel.c_str(), &how, sizeof how);
  } while (r < 0 && errno == EAGAIN);  // a rename elsewhere in the tree meanwhile: retry
  return static_cast<int>(r);
}

Result<UniqueFd> resolved(int fd, const std::string& path) {
  if (fd < 0) return fail_errno("resolve " + path + " in the rootfs");
  return UniqueFd(fd);
}

// Create `path` (a directory, or an empty file when !want_dir) and whatever parents it
// lacks, each step resolved inside the root again. Commonly only the last component is
// missing: one open of its parent and one mkdir.
Result<> create_in_root(int rootfd, std::string path, bool want_dir) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.rfind('/');
  std::string parent = slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
  std::string part = slash == std::string::npos ? path : path.substr(slash + 1);
  if (part.empty() || part == "/" || part == "." || part == "..") return {};
  UniqueFd pfd(openat2_in_root(rootfd, parent, O_PATH | O_DIRECTORY));
  if (!pfd) {
    if (errno != ENOENT) return fail_errno("resolve " + parent + " in the rootfs");
    TRY(create_in_root(rootfd, parent, true));
    pfd.reset(openat2_in_root(rootfd, parent, O_PATH | O_DIRECTORY));
    if (!pfd) return fail_errno("resolve " + parent + " in the rootfs");
  }
  if (!want_dir) {
    // O_EXCL: never open what is there (a FIFO would block, a link would be followed).
    UniqueFd f(::openat(pfd.get(), part.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!f && errno != EEXIST) return fail_errno("create " + path + " in the rootfs");
  } else if (::mkdirat(pfd.get(), part.c_str(), 0755) < 0 && errno != EEXIST) {
    return fail_errno("mkdir " + path + " in the rootfs");
  }
  return {};
}

const char* type_name(mode_t m) {
  switch (m & S_IFMT) {
    case S_IFLNK: return "a symlink";
    case S_IFDIR: return "a directory";
    case S_IFREG: return "a regular file";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFIFO: return "a FIFO";
    case S_IFSOCK: return "a socket";
  }
  return "of an unknown type";
}

Result<struct stat> stat_fd(int fd, const std::string& what) {
  struct stat st{};
  if (::fstat(fd, &st) < 0) return fail_errno("stat " + what);
  return st;
}

Result<> move_onto(int tree, int target, const std::string& what) {
  if (::move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
    return fail_errno(what);
  }
  return {};
}

}  // namespace

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

Result<UniqueFd> resolve(int rootfd, const std::string& path) {
  return resolved(openat2_in_root(rootfd, path, O_PATH), path);
}

Result<UniqueFd> resolve_nofollow(int rootfd, const std::string& path) {
  return resolved(openat2_in_root(rootfd, path, O_PATH | O_NOFOLLOW), path);
}

Result<UniqueFd> open_file(int rootfd, const std::string& path, int flags) {
  int fd = openat2_in_root(rootfd, path, flags);
  if (fd < 0) return fail_errno("open " + path + " in the rootfs");
  return UniqueFd(fd);
}

Result<UniqueFd> ensure(int rootfd, const std::string& path, bool want_dir) {
  int fd = openat2_in_root(rootfd, path, O_PATH);
  if (fd >= 0) return UniqueFd(fd);
  if (errno != ENOENT) return fail_errno("resolve " + path + " in the rootfs");
  TRY(create_in_root(rootfd, path[0] == '/' ? path : "/" + path, want_dir));
  return resolve(rootfd, path);
}

Result<> expect_dir(int fd, const std::string& what) {
  auto st = TRY(stat_fd(fd, what));
  if (!S_ISDIR(st.st_mode)) return fail(what + " is " + type_name(st.st_mode) + ", not a directory");
  return {};
}

Result<> expect_file_or_chardev(int fd, const std::string& what) {
  auto st = TRY(stat_fd(fd, what));
  if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
    return fail(what + " is " + type_name(st.st_mode) + ", not a file or a character device");
  }
  return {};
}

Result<> expect_chardev(int fd, unsigned major, unsigned minor, const std::string& what) {
  auto st = TRY(stat_fd(fd, what));
  if (!S_ISCHR(st.st_mode)) return fail(what + " is " + type_name(st.st_mode) + ", not a character device");
  if (::major(st.st_rdev) != major || ::minor(st.st_rdev) != minor) {
    return fail(what + " is the device " + std::to_string(::major(st.st_rdev)) + ":" +
                std::to_string(::minor(st.st_rdev)) + ", not " + std::to_string(major) + ":" +
                std::to_string(minor));
  }
  return {};
}

Result<UniqueFd> null_device(int rootfd) {
  auto fd = TRY(resolve_nofollow(rootfd, "/dev/null"));
  TRY(expect_chardev(fd.get(), 1, 3, "/dev/null in the container"));
  return fd;
}

Result<> mount_at(int target, const char* source, const char* fstype, unsigned long flags,
                  const char* data) {
  if (::mount(source, fd_path(target).c_str(), fstype, flags, data) < 0) return fail_errno("mount");
  return {};
}

Result<> bind_onto(int source, int target, bool recursive) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
  UniqueFd tree(::open_tree(source, "", flags));
  if (!tree) return fail_errno("open_tree");
  return move_onto(tree.get(), target, "move_mount");
}

Result<> tmpfs_onto(int target, unsigned attrs, const std::string& label) {
  UniqueFd fs(::fsopen("tmpfs", FSOPEN_CLOEXEC));
  if (!fs) return fail_errno("fsopen tmpfs");
  if (!label.empty() && ::fsconfig(fs.get(), FSCONFIG_SET_STRING, "context", label.c_str(), 0) < 0) {
    return fail_errno("tmpfs context=" + label);
  }
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) return fail_errno("create tmpfs");
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, attrs));
  if (!mnt) return fail_errno("fsmount tmpfs");
  return move_onto(mnt.get(), target, "move_mount tmpfs");
}

Result<> set_readonly(int mount_root, bool recursive) {
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  if (::mount_setattr(mount_root, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) < 0) {
    return fail_errno("mount_setattr read-only");
  }
  return {};
}

Result<> bind_readonly(int target) {
  UniqueFd tree(::open_tree(target, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE));
  if (!tree) return fail_errno("open_tree");
  TRY(set_readonly(tree.get(), true));
  return move_onto(tree.get(), target, "move_mount");
}

Result<> write_proc(int rootfd, const std::string& path, std::string_view data) {
  auto fd = TRY(open_file(rootfd, path, O_WRONLY | O_NOFOLLOW));
  struct statfs sf{};
  if (::fstatfs(fd.get(), &sf) < 0) return fail_errno("statfs " + path);
  if (sf.f_type != PROC_SUPER_MAGIC) return fail(path + " is not on procfs");
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("write " + path);
    }
    off += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace nsbox::ns
