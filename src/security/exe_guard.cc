#include "security/exe_guard.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <linux/sched.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <cstring>

#include "base/log.h"
#include "base/unique_fd.h"

extern char** environ;

#ifndef NSBOX_LIBEXEC_DIR
#define NSBOX_LIBEXEC_DIR "/usr/local/libexec/nsbox"
#endif

namespace nsbox::security {
namespace {

// Set in the environment of the re-executed runtime, so that a binary that is still not
// safe after the re-exec is an error instead of a loop. Removed at once.
constexpr const char* kGuardEnv = "_NSBOX_EXE_GUARD";
// The path the binary had before the re-exec (its read-only view has none a user would know).
constexpr const char* kPathEnv = "_NSBOX_EXE_PATH";

std::string g_exe_path;

bool is_safe(int fd) {
  struct statvfs sv{};
  if (::fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_RDONLY) != 0) return true;
  int seals = ::fcntl(fd, F_GET_SEALS);
  return seals >= 0 && (seals & F_SEAL_WRITE) != 0;
}

// A detached read-only bind mount of the binary: nothing appears in any mount table, and
// the mount goes away with the last process that runs from it.
UniqueFd readonly_view(int fd) {
  UniqueFd tree(static_cast<int>(
      ::syscall(SYS_open_tree, fd, "", AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
  if (!tree) return tree;
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  if (::syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
    return UniqueFd();
  }
  return tree;
}

Result<UniqueFd> sealed_copy(int fd) {
  UniqueFd mem(::memfd_create("nsbox", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!mem) return fail_errno("memfd_create");
  struct stat st{};
  if (::fstat(fd, &st) < 0) return fail_errno("stat /proc/self/exe");
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = ::sendfile(mem.get(), fd, &off, static_cast<size_t>(st.st_size - off));
    if (n <= 0) return fail_errno("copy /proc/self/exe");
  }
  if (::fcntl(mem.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
    return fail_errno("seal the copy of /proc/self/exe");
  }
  return mem;
}

// The detached mount goes away with the last descriptor of it, and that release waits for
// an RCU grace period (an expedited one: 0.5-1 ms here). A child holds a copy of the
// descriptor until our execve has closed ours (it reads a pipe whose close-on-exec end we
// hold), so that its exit pays that wait while we go on. It has no exit signal (nothing of
// ours that reaps children sees it); the re-executed runtime reaps it when it exits.
struct Holder {
  pid_t pid = -1;
  int wfd = -1;  // our end of its pipe
};

Holder hold_until_exec() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return {};
  clone_args args{};
  args.exit_signal = 0;
  pid_t pid = static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
  if (pid == 0) {
    ::close(p[1]);
    char c;
    while (::read(p[0], &c, 1) < 0 && errno == EINTR) {
    }
    ::_exit(0);
  }
  ::close(p[0]);
  if (pid < 0) {
    ::close(p[1]);
    return {};
  }
  return {pid, p[1]};  // closed by the execve
}

pid_t g_holder = -1;

void reap_holder() {
  if (g_holder > 0) {
    while (::waitpid(g_holder, nullptr, __WALL) < 0 && errno == EINTR) {
    }
    g_holder = -1;
  }
}

}  // namespace

Result<> protect_runtime_exe(char** argv) {
  const char* mark = std::getenv(kGuardEnv);
  bool again = mark != nullptr;
  if (again && std::atoi(mark) > 1) {
    g_holder = std::atoi(mark);
    std::atexit(reap_holder);
  }
  ::unsetenv(kGuardEnv);
  if (const char* path = std::getenv(kPathEnv); again && path != nullptr) g_exe_path = path;
  ::unsetenv(kPathEnv);
  UniqueFd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) return fail_errno("open /proc/self/exe");
  if (is_safe(self.get())) return {};
  if (again) return fail("cannot run from a read-only copy of the nsbox binary");
  // Without root a container can only write what this user can: nothing to protect then.
  if (::geteuid() != 0 &&
      ::syscall(SYS_faccessat2, self.get(), "", W_OK, AT_EMPTY_PATH | AT_EACCESS) < 0 &&
      errno == EACCES) {
    return {};
  }
  UniqueFd exe = readonly_view(self.get());
  Holder holder;
  if (exe) {
    holder = hold_until_exec();
  } else {
    log::debug("no read-only bind of the nsbox binary (" + std::string(std::strerror(errno)) +
               "): running from a sealed copy");
    exe = TRY(sealed_copy(self.get()));
  }
  ::setenv(kGuardEnv, holder.pid > 1 ? std::to_string(holder.pid).c_str() : "1", 1);
  ::setenv(kPathEnv, runtime_exe_path().c_str(), 1);
  ::syscall(SYS_execveat, exe.get(), "", argv, environ, AT_EMPTY_PATH);
  int e = errno;
  ::unsetenv(kGuardEnv);
  ::unsetenv(kPathEnv);
  if (holder.pid > 0) {
    ::close(holder.wfd);
    g_holder = holder.pid;
    reap_holder();
  }
  return fail_errno("re-execute nsbox from a read-only binary", e);
}

std::string runtime_exe_path() {
  if (!g_exe_path.empty()) return g_exe_path;
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

std::string helper_program(const std::string& name, const char* env_var) {
  if (const char* e = std::getenv(env_var); e != nullptr && *e != '\0') return e;
  std::string exe = runtime_exe_path();
  if (auto slash = exe.rfind('/'); slash != std::string::npos) {
    std::string beside = exe.substr(0, slash + 1) + name;
    if (::access(beside.c_str(), X_OK) == 0) return beside;
  }
  return NSBOX_LIBEXEC_DIR "/" + name;
}

}  // namespace nsbox::security
