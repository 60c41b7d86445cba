#include "security/lsm.h"

#include <unistd.h>

#include "base/fs.h"

namespace nsbox::security {

bool apparmor_enabled() {
  auto v = fs::read_file("/sys/module/apparmor/parameters/enabled");
  return v && !v->empty() && (*v)[0] == 'Y' && ::access("/sys/kernel/security/apparmor", F_OK) == 0;
}

bool selinux_enabled() { return ::access("/sys/fs/selinux/enforce", F_OK) == 0; }

Result<> check_lsm(const spec::Process& p, const std::string& mount_label) {
  if (!p.apparmor_profile.empty() && !apparmor_enabled()) {
    return fail("process.apparmorProfile: \"" + p.apparmor_profile +
                "\" cannot be applied: AppArmor is not enabled on this host");
  }
  if (!p.selinux_label.empty() && !selinux_enabled()) {
    return fail("process.selinuxLabel: SELinux is not enabled on this host");
  }
  if (!mount_label.empty() && !selinux_enabled()) {
    return fail("linux.mountLabel: SELinux is not enabled on this host");
  }
  return {};
}

Result<> set_exec_labels(const spec::Process& p) {
  if (!p.apparmor_profile.empty()) {
    std::string v = "exec " + p.apparmor_profile;
    auto r = fs::write_proc_file("/proc/thread-self/attr/apparmor/exec", v);
    if (!r && r.error().code() == ENOENT) r = fs::write_proc_file("/proc/thread-self/attr/exec", v);
    TRY_CTX(std::move(r), "apply AppArmor profile \"" + p.apparmor_profile + "\"");
  }
  if (!p.selinux_label.empty()) {
    TRY_CTX(fs::write_proc_file("/proc/thread-self/attr/exec", p.selinux_label),
            "set SELinux label \"" + p.selinux_label + "\"");
  }
  return {};
}

}  // namespace nsbox::security
