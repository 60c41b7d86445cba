#include "process/prelude.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "base/fs.h"

namespace nsbox::process {
namespace {

// The memory the kernel shows as /proc/self/environ (fields 50 and 51 of /proc/self/stat,
// env_start and env_end), zeroed: the strings the caller gave the runtime at its execve.
void wipe_initial_environment() {
  auto stat = fs::read_file("/proc/self/stat");
  if (!stat) return;
  auto close = stat->rfind(')');
  if (close == std::string::npos) return;
  // Fields from 3 on, after the command name (which may itself contain ") ").
  unsigned long long env_start = 0, env_end = 0;
  size_t field = 3, i = close + 2;
  while (i < stat->size() && field <= 51) {
    size_t j = stat->find(' ', i);
    if (j == std::string::npos) j = stat->size();
    if (field == 50) env_start = std::strtoull(stat->c_str() + i, nullptr, 10);
    if (field == 51) env_end = std::strtoull(stat->c_str() + i, nullptr, 10);
    ++field;
    i = j + 1;
  }
  if (env_start == 0 || env_end <= env_start) return;
  std::memset(reinterpret_cast<void*>(env_start), 0, env_end - env_start);
}

}  // namespace

void set_not_dumpable() { ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }

void harden_prelude(bool dumpable) {
  if (!dumpable) set_not_dumpable();
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::signal(sig, SIG_DFL);  // glibc's own real-time signals (32, 33) refuse: no matter
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::clearenv();
  wipe_initial_environment();
}

bool close_on_exec_from(int first) {
  if (::syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return true;
  // Kernels before 5.11, or a seccomp profile that refuses the call.
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return false;
  int self = ::dirfd(d);
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long fd = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || end == e->d_name || fd < first || fd == self) continue;
    int fl = ::fcntl(static_cast<int>(fd), F_GETFD);
    if (fl >= 0) ::fcntl(static_cast<int>(fd), F_SETFD, fl | FD_CLOEXEC);
  }
  ::closedir(d);
  return true;
}

}  // namespace nsbox::process
