#include "process/become.h"

#include <fcntl.h>
#include <linux/limits.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/fs.h"
#include "process/exec_path.h"
#include "process/home.h"
#include "process/prelude.h"
#include "security/caps.h"
#include "security/lsm.h"

namespace nsbox::process {
namespace {

// A cwd reached through a descriptor the runtime still holds (process.cwd
// "/proc/self/fd/N", CVE-2024-21626) lies outside the container's root: the kernel then
// has no path for it from our root, and getcwd(2) fails with ENOENT.
Result<> check_cwd_inside(const std::string& cwd) {
  char buf[PATH_MAX];
  if (::getcwd(buf, sizeof buf) == nullptr) {
    if (errno == ENOENT) return fail("process.cwd " + cwd + " is outside the container's root");
    return fail_errno("getcwd after chdir to " + cwd);
  }
  return {};
}

}  // namespace

Result<Became> become_process(const spec::Process& p, int preserve_fds,
                              security::SeccompFilter* filter) {
  Became b;
  for (const auto& r : p.rlimits) {
    rlimit rl{r.soft, r.hard};
    if (::setrlimit(r.resource, &rl) < 0) {
      // runc's wording, with the limit named: engines show this line to the user.
      int e = errno;
      std::string msg = "error setting rlimit " + r.name + " to " + std::to_string(r.soft) + ":" +
                        std::to_string(r.hard) + ": " + go_strerror(e);
      if (e == EPERM) msg += " (raising a hard limit needs CAP_SYS_RESOURCE)";
      return fail(msg);
    }
  }
  // The user may lack search permission where root has it: retry after the switch.
  bool cwd_done = ::chdir(p.cwd.c_str()) == 0;
  if (!cwd_done && errno != EACCES) return fail_errno("chdir to cwd " + p.cwd);
  if (cwd_done) TRY(check_cwd_inside(p.cwd));
  b.exe = TRY(look_path(p.args[0], p.env));
  b.env = with_home(p.env, p.user.uid);
  // Only 0-2 and the preserved descriptors may reach the program. Marked now, before any
  // seccomp filter could refuse the calls.
  for (int fd = 3; fd < 3 + preserve_fds; ++fd) {
    int fl = ::fcntl(fd, F_GETFD);
    if (fl >= 0) ::fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
  }
  if (!close_on_exec_from(3 + preserve_fds)) return fail_errno("mark descriptors close-on-exec");
  // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: kept through the user switch
  // where the process would lose it, so that the filter still loads last, right before
  // execve, and the profile needs to allow only capset and execve after it.
  b.kept_admin = filter != nullptr && !p.no_new_privileges && !security::ends_with_admin(p);
  // setgroups(2) is refused in a user namespace whose setgroups file says "deny".
  auto sg = fs::read_file("/proc/self/setgroups");
  TRY(security::switch_user(p, !sg || sg->find("deny") == std::string::npos, b.kept_admin));
  if (!cwd_done) {
    if (::chdir(p.cwd.c_str()) < 0) return fail_errno("chdir to cwd " + p.cwd);
    TRY(check_cwd_inside(p.cwd));
  }
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    return fail_errno("set no_new_privs");
  }
  TRY(security::set_exec_labels(p));
  if (p.user.umask) ::umask(*p.user.umask);
  if (filter != nullptr && filter->notifies()) {
    // A listener must reach the runtime now (create returns before the program runs).
    b.seccomp_listener = TRY(filter->load());
    if (b.kept_admin) TRY(security::drop_kept_admin(p));
    b.kept_admin = false;
  }
  return b;
}

Result<> load_late_seccomp(security::SeccompFilter* filter, const spec::Process& p, bool kept_admin) {
  if (filter != nullptr && !filter->loaded()) TRY(filter->load());
  if (kept_admin) TRY(security::drop_kept_admin(p));
  return {};
}

}  // namespace nsbox::process
