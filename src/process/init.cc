// The container process: everything between clone and execve, in the order the kernel
// requires. Errors before `start` go back to the runtime over the sync socket; errors after
// it (execve itself) go to the `start` command over the exec connection.
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <functional>

#include "base/fs.h"
#include "base/unique_fd.h"
#include "cgroup/cgroup.h"
#include "net/loopback.h"
#include "ns/in_root.h"
#include "ns/rootfs.h"
#include "process/become.h"
#include "process/prelude.h"
#include "process/spawn.h"
#include "process/sync.h"
#include "process/terminal.h"
#include "runtime/hooks.h"
#include "security/caps.h"
#include "spec/state.h"

#ifndef KEYCTL_JOIN_SESSION_KEYRING
#define KEYCTL_JOIN_SESSION_KEYRING 1
#endif

namespace nsbox::process {
namespace {

using spec::NsKind;

// Inside the container's root ("/" once it is entered).
Result<> set_sysctls(const spec::Config& cfg, int rootfd) {
  for (const auto& [k, v] : cfg.linux.sysctl) {
    std::string path = "/proc/sys/" + k;
    for (size_t i = 10; i < path.size(); ++i) {
      if (path[i] == '.') path[i] = '/';
    }
    TRY_CTX(ns::write_proc(rootfd, path, v), cfg.field("linux.sysctl." + k));
  }
  return {};
}

Result<> setup_fs(const SpawnOptions& o, int sync_fd, std::string& hook_state,
                  const std::map<size_t, int>& idmapped, const std::function<Result<>()>& join_netns,
                  const std::function<Result<>()>& join_cgroups) {
  const spec::Config& cfg = *o.cfg;
  // The file system is built in the container's mount namespace, new or joined by path (set
  // up inside it all the same, as runc does), or, when the config lists none, in the
  // runtime's (chroot instead of pivot_root; delete detaches what was mounted).
  bool runtime_ns = cfg.find_ns(NsKind::kMount) == nullptr;
  UniqueFd rootfd = TRY(ns::prepare_rootfs(cfg, runtime_ns));
  {
    ns::RootfsContext ctx;
    ctx.cfg = &cfg;
    ctx.in_user_ns = cfg.find_ns(NsKind::kUser) != nullptr || security::in_user_namespace();
    ctx.hierarchies = o.hierarchies;
    ctx.cgroup_leaves = o.cgroup_leaves;
    ctx.idmapped = idmapped;
    ctx.join_netns = join_netns;
    ctx.join_cgroups = join_cgroups;
    TRY(ns::mount_all(ctx, rootfd.get()));
  }
  TRY(join_cgroups());
  TRY(send_msg(sync_fd, Msg::kRunHooks));
  auto m = TRY(expect_msg(sync_fd, Msg::kHooksDone));
  hook_state = m.text;
  if (!cfg.hooks.create_container.empty()) {
    TRY(runtime::run_hooks(cfg.hooks.create_container, "createContainer",
                           spec::restated(hook_state, spec::Status::kCreating, ::getpid())));
  }
  TRY(ns::enter_rootfs(cfg, o.no_pivot, runtime_ns));
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return fail_errno("open /");
  // Both before readonlyPaths and a read-only root take effect, as runc orders them.
  TRY(set_sysctls(cfg, root.get()));
  TRY_CTX(ns::ensure(root.get(), cfg.process->cwd, true), cfg.field("process.cwd"));
  TRY(ns::finish_rootfs(cfg));
  return {};
}

Result<Became> setup(const SpawnOptions& o, int sync_fd, std::string& hook_state) {
  const spec::Config& cfg = *o.cfg;
  const spec::Process& p = *cfg.process;
  std::map<size_t, int> idmapped;
  // Idmapped mounts made by the runtime arrive before the go-ahead.
  std::vector<UniqueFd> held;
  int64_t cgroups_pending = 0;  // 1: the runtime moves us, 2: we move ourselves
  for (;;) {
    auto m = TRY(recv_msg(sync_fd));
    if (m.type == Msg::kError) return fail(Error(m.err, m.text));
    if (m.type == Msg::kGo) {
      cgroups_pending = m.value;
      break;
    }
    if (m.type != Msg::kIdmappedMount) return fail("sync: unexpected message from the runtime");
    held.emplace_back(m.fd);
    idmapped[std::stoul(m.text)] = m.fd;
  }
  // The id maps are written (kGo): nothing of the runtime's needs this process dumpable.
  set_not_dumpable();
  if (cfg.new_ns(NsKind::kUser)) {
    // Become the namespace's root (the maps are written now) so that files we create in the
    // rootfs belong to the container, not to the host's root.
    if (::setresgid(0, 0, 0) < 0 && errno != EINVAL) return fail_errno("setresgid 0");
    if (::setresuid(0, 0, 0) < 0 && errno != EINVAL) return fail_errno("setresuid 0");
  }
  // A network namespace made ahead comes once the runtime has it; needed first for sysfs
  // (which shows the devices of the mounter's namespace) or at the end of the mounts.
  bool late_netns = o.netns_ahead && cfg.new_ns(NsKind::kNetwork) && !needs_intermediate(cfg);  // as spawn_container
  bool net_joined = false;
  auto join_netns = [&]() -> Result<> {
    if (net_joined) return {};
    net_joined = true;
    if (late_netns) {
      auto m = TRY(expect_msg(sync_fd, Msg::kNetns));
      UniqueFd ns(m.fd);
      if (ns ? ::setns(ns.get(), CLONE_NEWNET) < 0 : ::unshare(CLONE_NEWNET) < 0) {
        return fail_errno("join the network namespace made for the container");
      }
    }
    if (cfg.new_ns(NsKind::kNetwork)) TRY(net::loopback_up());
    return {};
  };
  if (!late_netns) TRY(join_netns());
  // Once the runtime has moved us into our cgroups (it may still be waiting for the
  // kernel): only then may the cgroup namespace be made, rooted there.
  bool joined = false;
  auto join_cgroups = [&]() -> Result<> {
    if (joined) return {};
    joined = true;
    TRY(join_netns());  // its message comes first
    if (cgroups_pending == 1) TRY(expect_msg(sync_fd, Msg::kCgroupsJoined));
    if (cgroups_pending == 2) {
      auto m = TRY(expect_msg(sync_fd, Msg::kJoinCgroups));
      std::vector<std::string> files;
      for (size_t i = 0, j; i < m.text.size(); i = j + 1) {
        j = m.text.find('\n', i);
        if (j == std::string::npos) j = m.text.size();
        if (j > i) files.push_back(m.text.substr(i, j - i));
      }
      TRY(cgroup::join_self(files));
    }
    if (cfg.new_ns(NsKind::kCgroup) && ::unshare(CLONE_NEWCGROUP) < 0) {
      return fail_errno("unshare cgroup namespace");
    }
    return {};
  };
  if (!cfg.hostname.empty() && ::sethostname(cfg.hostname.data(), cfg.hostname.size()) < 0) {
    return fail_errno(cfg.field("hostname: sethostname"));
  }
  if (!cfg.domainname.empty() &&
      ::setdomainname(cfg.domainname.data(), cfg.domainname.size()) < 0) {
    return fail_errno(cfg.field("domainname: setdomainname"));
  }
  TRY(setup_fs(o, sync_fd, hook_state, idmapped, join_netns, join_cgroups));
  if (::setsid() < 0) return fail_errno("setsid");
  if (p.terminal) {
    // The master goes to the runtime, which hands it to the console socket or relays it.
    auto console = TRY(setup_console(p.console_height, p.console_width, true));
    TRY(send_fd(sync_fd, Msg::kConsole, console.master.get(), console.slave_path));
  }
  if (!o.no_new_keyring) {
    // A fresh session keyring keeps the container away from the caller's keys. Kernels
    // without keyrings (ENOSYS) or with them denied (EACCES in some sandboxes) are tolerated,
    // as runc does.
    std::string name = "_ses." + o.id;
    if (::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.c_str()) < 0 && errno != ENOSYS &&
        errno != EACCES && errno != EDQUOT) {
      return fail_errno("join session keyring");
    }
  }
  if (p.oom_score_adj) {
    UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return fail_errno("open /");
    TRY_CTX(ns::write_proc(root.get(), "/proc/self/oom_score_adj", std::to_string(*p.oom_score_adj)),
            cfg.field("process.oomScoreAdj"));
  }
  auto became = TRY(become_process(p, o.preserve_fds, o.seccomp));
  if (became.seccomp_listener) {
    TRY(send_fd(sync_fd, Msg::kSeccompListener, became.seccomp_listener.get(), ""));
    became.seccomp_listener.reset();
  }
  return became;
}

}  // namespace

void container_init(const SpawnOptions& o, int sync_fd, bool parent_is_runtime) {
  const spec::Config& cfg = *o.cfg;
  for (int fd : o.close_in_child) ::close(fd);
  // An ordinary user's runtime writes our id maps itself after the clone: it needs this
  // process dumpable until then (setup() ends that at kGo).
  harden_prelude(parent_is_runtime && ::geteuid() != 0 && cfg.new_ns(NsKind::kUser));
  // If the runtime dies during setup the half-made container must die with it. (On the slow
  // path the parent is the intermediate, which exits at once; a closed sync socket ends
  // the setup there instead.)
  if (parent_is_runtime) ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  std::string hook_state;
  auto became = setup(o, sync_fd, hook_state);
  if (!became) {
    (void)send_error(sync_fd, became.error());
    ::_exit(1);
  }
  // From here on the process outlives `create`: no death signal.
  if (parent_is_runtime) ::prctl(PR_SET_PDEATHSIG, 0);
  if (!send_msg(sync_fd, Msg::kReady)) ::_exit(1);
  int conn;
  do {
    conn = ::accept4(o.exec_listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  } while (conn < 0 && errno == EINTR);
  if (conn < 0) ::_exit(1);
  ::close(o.exec_listen_fd);
  ::close(sync_fd);
  auto report = [&](const Error& e) {
    std::string msg = e.what();
    (void)::send(conn, msg.data(), msg.size(), MSG_NOSIGNAL);
    ::_exit(127);
  };
  // startContainer hooks without an env get the container's, as runc gives them.
  if (auto r = cfg.hooks.start_container.empty()
                   ? Result<>{}
                   : runtime::run_hooks(cfg.hooks.start_container, "startContainer",
                                        spec::restated(hook_state, spec::Status::kCreated, ::getpid()), &became->env);
      !r) {
    report(r.error());
  }
  std::vector<char*> argv, envp;
  for (const auto& a : cfg.process->args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : became->env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  // The last call before execve: from here on the user's profile decides what may run.
  if (auto r = load_late_seccomp(o.seccomp, *cfg.process, became->kept_admin); !r) report(r.error());
  ::execve(became->exe.c_str(), argv.data(), envp.data());
  report(Error(errno, "exec \"" + cfg.process->args[0] + "\""));
  ::_exit(127);
}

}  // namespace nsbox::process
