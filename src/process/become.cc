#include "process/become.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/fs.h"
#include "process/exec_path.h"
#include "security/caps.h"

namespace nsbox::process {

Result<std::string> become_process(const spec::Process& p, int preserve_fds) {
  for (const auto& r : p.rlimits) {
    rlimit rl{r.soft, r.hard};
    if (::setrlimit(r.resource, &rl) < 0) return fail_errno("setrlimit " + r.name);
  }
  // The user may lack search permission where root has it: retry after the switch.
  bool cwd_done = ::chdir(p.cwd.c_str()) == 0;
  if (!cwd_done && errno != EACCES) return fail_errno("chdir to cwd " + p.cwd);
  std::string exe = TRY(look_path(p.args[0], p.env));
  // setgroups(2) is refused in a user namespace whose setgroups file says "deny".
  auto sg = fs::read_file("/proc/self/setgroups");
  TRY(security::switch_user(p, !sg || sg->find("deny") == std::string::npos));
  if (!cwd_done && ::chdir(p.cwd.c_str()) < 0) return fail_errno("chdir to cwd " + p.cwd);
  if (p.user.umask) ::umask(*p.user.umask);
  // Only 0-2 and the preserved descriptors may reach the program.
  for (int fd = 3; fd < 3 + preserve_fds; ++fd) {
    int fl = ::fcntl(fd, F_GETFD);
    if (fl >= 0) ::fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
  }
  if (::syscall(SYS_close_range, 3 + preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
    return fail_errno("close_range");
  }
  return exe;
}

}  // namespace nsbox::process
