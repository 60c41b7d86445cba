#include "runtime/exec.h"

#include <fcntl.h>
#include <poll.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "base/fs.h"
#include "base/unique_fd.h"
#include "cgroup/cgroup.h"
#include "cgroup/control.h"
#include "process/become.h"
#include "process/prelude.h"
#include "process/sync.h"
#include "process/terminal.h"
#include "runtime/store.h"
#include "security/caps.h"
#include "security/lsm.h"
#include "security/seccomp.h"
#include "spec/config.h"
#include "spec/state.h"

namespace nsbox::runtime {
namespace {

using process::Msg;
using spec::NsKind;

// Namespaces of `pid` that differ from ours (setns to our own user namespace is refused).
// One that cannot be read is an error: skipping it would run the process outside it.
Result<int> namespaces_to_join(pid_t pid) {
  int flags = 0;
  for (NsKind k : spec::kAllNsKinds) {
    std::string name = spec::ns_proc_name(k);
    struct stat mine{}, theirs{};
    if (::stat(("/proc/self/ns/" + name).c_str(), &mine) < 0) continue;  // a kind this kernel lacks
    std::string path = "/proc/" + std::to_string(pid) + "/ns/" + name;
    if (::stat(path.c_str(), &theirs) < 0) return fail_errno("read the container's " + std::string(spec::ns_name(k)) + " namespace (" + path + ")");
    if (mine.st_ino != theirs.st_ino || mine.st_dev != theirs.st_dev) flags |= spec::ns_clone_flag(k);
  }
  return flags;
}

Result<spec::Process> build_process(const ExecOptions& o, const spec::State& st) {
  if (!o.process_file.empty()) {
    auto text = TRY(fs::read_document(o.process_file));
    return spec::parse_process_json(text, o.process_file);
  }
  if (st.process_json.empty()) return fail("container \"" + st.id + "\" has no process to start from");
  // Start from the container's own process: its user, capabilities, env and limits.
  std::string text = st.process_json;
  auto base = TRY(spec::parse_process_json(text, st.bundle + "/config.json"));
  if (o.args.empty()) return fail("exec: no command given (and no --process)");
  base.args = o.args;
  base.terminal = o.tty;
  base.console_height = base.console_width = 0;
  for (const auto& kv : o.env) {
    if (kv.find('=') == std::string::npos) return fail("--env: \"" + kv + "\" is not KEY=VALUE");
    std::string key = kv.substr(0, kv.find('=') + 1);
    std::erase_if(base.env, [&](const std::string& e) { return e.starts_with(key); });
    base.env.push_back(kv);
  }
  if (!o.cwd.empty()) {
    if (o.cwd[0] != '/') return fail("--cwd: must be an absolute path, got \"" + o.cwd + "\"");
    base.cwd = o.cwd;
  }
  if (!o.user.empty()) {
    // UID[:GID], each a decimal id below 4294967295; the group defaults to 0, as runc's.
    auto colon = o.user.find(':');
    auto uid = spec::parse_id(o.user.substr(0, colon));
    auto gid = colon == std::string::npos ? std::optional<uint32_t>(0) : spec::parse_id(o.user.substr(colon + 1));
    if (!uid || !gid) {
      return fail("--user: \"" + o.user + "\" is not UID[:GID] (decimal ids from 0 to " +
                  std::to_string(spec::kMaxId) + ")");
    }
    base.user.uid = *uid;
    base.user.gid = *gid;
  }
  if (!o.additional_gids.empty()) base.user.additional_gids = o.additional_gids;
  if (!o.caps.empty()) {
    if (!base.capabilities) base.capabilities = spec::Capabilities{};
    for (const auto& name : o.caps) {
      auto c = spec::capability_from_name(name);
      if (!c) {
        base.capabilities->unknown.push_back(name);  // warned about and skipped, as runc
        continue;
      }
      for (auto* set : {&base.capabilities->bounding, &base.capabilities->effective,
                        &base.capabilities->permitted}) {
        set->push_back(*c);
      }
    }
  }
  if (base.capabilities) security::drop_unavailable(*base.capabilities);
  if (o.no_new_privs) base.no_new_privileges = true;
  if (!o.apparmor.empty()) base.apparmor_profile = o.apparmor;
  if (!o.process_label.empty()) base.selinux_label = o.process_label;
  return base;
}

struct ExecChild {
  const spec::Process* p;
  int root_fd;  // the container's root, where it shares the runtime's mount namespace (-1: none)
  const std::vector<std::string>* join_cgroups;  // files to write 0 to (cgroup::join_self), or null
  int pidfd;
  int ns_flags;
  int preserve_fds;
  int sync;
  security::SeccompFilter* seccomp;
};

// The exec'd process: join the container, become the process the spec describes.
Result<process::Became> exec_setup(const ExecChild& c) {
  const spec::Process& p = *c.p;
  // Its cgroups first, while it still sees the host's cgroup mounts.
  if (c.join_cgroups != nullptr) TRY(cgroup::join_self(*c.join_cgroups));
  // One setns with a pidfd joins them all in the order the kernel needs (user first).
  if (c.ns_flags != 0 && ::setns(c.pidfd, c.ns_flags) < 0) return fail_errno("join the container's namespaces");
  ::close(c.pidfd);
  if (c.root_fd >= 0) {
    // No mount namespace of its own: the container's root is a chroot in ours.
    if (::fchdir(c.root_fd) < 0 || ::chroot(".") < 0) return fail_errno("enter the container's root");
    ::close(c.root_fd);
  }
  TRY(process::expect_msg(c.sync, Msg::kGo));
  if (p.terminal) {
    if (::setsid() < 0) return fail_errno("setsid");
    auto console = TRY(process::setup_console(p.console_height, p.console_width, false));
    TRY(process::send_fd(c.sync, Msg::kConsole, console.master.get(), console.slave_path));
  }
  auto became = TRY(process::become_process(p, c.preserve_fds, c.seccomp));
  if (became.seccomp_listener) {
    TRY(process::send_fd(c.sync, Msg::kSeccompListener, became.seccomp_listener.get(), ""));
    became.seccomp_listener.reset();
  }
  return became;
}

[[noreturn]] void exec_child(const ExecChild& c) {
  process::harden_prelude(false);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  auto became = exec_setup(c);
  if (!became) {
    (void)process::send_error(c.sync, became.error());
    ::_exit(127);
  }
  std::vector<char*> argv, envp;
  for (const auto& a : c.p->args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : became->env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ::prctl(PR_SET_PDEATHSIG, 0);
  // The last call before execve: from here on the user's profile decides what may run.
  if (auto r = process::load_late_seccomp(c.seccomp, *c.p, became->kept_admin); !r) {
    (void)process::send_error(c.sync, r.error());
    ::_exit(127);
  }
  ::execve(became->exe.c_str(), argv.data(), envp.data());
  (void)process::send_error(c.sync, Error(errno, "exec \"" + c.p->args[0] + "\""));
  ::_exit(127);
}

}  // namespace

namespace {

// Where the exec'd process goes: the container's homes (cgroup.h). On cgroup v2 a home that
// hands controllers down to cgroups of the container's own (systemd inside does) may hold no
// process: there the process joins its init's cgroup instead, as runc does.
std::vector<std::string> exec_cgroups(const spec::State& st) {
  auto dirs = cgroup::homes(st.cgroup_leaves, st.cgroup_nested);
  for (auto& d : dirs) {
    if (!cgroup::is_cgroup2(d)) continue;
    auto sc = fs::read_file(d + "/cgroup.subtree_control");
    if (!sc || sc->find_first_not_of(" \n") == std::string::npos) continue;
    auto own = fs::read_file("/proc/" + std::to_string(st.pid) + "/cgroup");
    auto hs = cgroup::discover();
    if (!own || !hs) continue;
    auto at = own->starts_with("0::") ? 0 : own->find("\n0::");
    if (at != std::string::npos && at > 0) ++at;
    auto v2 = std::find_if(hs->begin(), hs->end(), [](const cgroup::Hierarchy& h) { return h.fstype == "cgroup2"; });
    if (at == std::string::npos || v2 == hs->end()) continue;
    std::string path = own->substr(at + 3, own->find('\n', at) - at - 3);
    std::string init_dir = v2->mountpoint + fs::clean_abs(path);
    if (init_dir.starts_with(d + "/")) d = init_dir;  // (never outside the container's)
  }
  return dirs;
}

Result<int> exec_into(const Globals& g, const ExecOptions& o, ContainerDir& dir, const spec::State& st);

// The recorded init has exited, or does within half a second.
bool init_gone_soon(const spec::State& st) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, st.pid, 0)));
  if (!pidfd || proc_info(st.pid).start_time != st.start_time) return true;
  pollfd p{pidfd.get(), POLLIN, 0};
  return ::poll(&p, 1, 500) == 1;
}

}  // namespace

Result<int> exec(const Globals& g, const ExecOptions& o) {
  // Shared: not into a container that create, start or delete is still working on; the
  // lock is not held while the process runs.
  auto dir = TRY(ContainerDir::open(g.root, o.id, Lock::kShared));
  auto st = TRY(dir.load());
  dir.unlock();
  auto r = exec_into(g, o, dir, st);
  // A container that stops meanwhile (killed, deleted) makes a step fail on the way in: its
  // namespaces go early in its exit, while it still looks alive. Give a dying init a moment
  // to be gone, and say what happened.
  if (!r && init_gone_soon(st)) return fail("cannot exec in a stopped container");
  return r;
}

namespace {

Result<int> exec_into(const Globals& g, const ExecOptions& o, ContainerDir& dir, const spec::State& st) {
  // As root of the host's user namespace the process moves itself into the container's v1
  // cgroups, taking no global lock (cgroup::join_self). Otherwise the runtime moves it, and
  // the v1 attach lock's grace period is paid while the process is prepared (cgroup.h).
  bool self_join = ::geteuid() == 0 && !security::in_user_namespace();
  std::optional<cgroup::AttachWarmup> warmup;
  if (!self_join && std::any_of(st.cgroup_leaves.begin(), st.cgroup_leaves.end(),
                                [](const std::string& l) { return !cgroup::is_cgroup2(l); })) {
    if (auto hs = cgroup::discover()) warmup.emplace(*hs);
  }
  spec::Status status = current_status(st, dir);
  if (status == spec::Status::kStopped) return fail("cannot exec in a stopped container");
  if (status == spec::Status::kPaused && !o.ignore_paused) {
    return fail("cannot exec in a paused container (use --ignore-paused)");
  }
  spec::Process p = TRY(build_process(o, st));
  TRY(security::check_lsm(p, ""));
  // The container's seccomp profile confines every process in it, as runc does.
  std::optional<spec::Seccomp> seccomp_spec;
  std::optional<security::SeccompFilter> seccomp;
  if (!st.seccomp_json.empty()) {
    std::string file = st.bundle + "/config.json";
    seccomp_spec = TRY(spec::parse_seccomp_json(st.seccomp_json, file));
    seccomp.emplace(TRY_CTX(security::SeccompFilter::build(*seccomp_spec, st.seccomp_json, seccomp_cache_dir(g)), file));
  }
  if (p.terminal && o.detach && o.console_socket.empty()) {
    return fail("cannot allocate tty if nsbox will detach without setting console socket");
  }
  if (!o.console_socket.empty() && (!p.terminal || !o.detach)) {
    return fail("cannot use console socket if nsbox will not detach or allocate tty");
  }
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, st.pid, 0)));
  if (!pidfd || proc_info(st.pid).start_time != st.start_time) {
    return fail("cannot exec in a stopped container");
  }
  int flags = TRY(namespaces_to_join(st.pid));
  UniqueFd root_fd;
  if (!st.rootfs_bind.empty() && !(flags & CLONE_NEWNS)) {
    root_fd.reset(::open(("/proc/" + std::to_string(st.pid) + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root_fd) return fail_errno("open the container's root");
  }
  // A pid (and time) namespace applies to children: enter it here, before the clone.
  int for_children = flags & (CLONE_NEWPID | CLONE_NEWTIME);
  // An ordinary user holds no capability over the container's pid namespace until it is in
  // the container's user namespace, which it owns: join that first, here (rootless).
  if (::geteuid() != 0 && for_children != 0) for_children |= flags & CLONE_NEWUSER;
  // Joining a user or time namespace wants a process whose memory no other shares: the
  // warm-up helper (CLONE_VM) must be gone first.
  if ((for_children & (CLONE_NEWUSER | CLONE_NEWTIME)) != 0 && warmup) warmup->finish();
  if (for_children != 0 && ::setns(pidfd.get(), for_children) < 0) {
    return fail_errno("join the container's pid namespace");
  }
  std::vector<std::string> leaves = exec_cgroups(st);
  if (!o.sub_cgroup.empty()) {
    for (auto& l : leaves) l = fs::clean_abs(l + "/" + fs::clean_abs("/" + o.sub_cgroup));
  }
  UniqueFd cg2;
  std::string cg2_leaf;
  for (const auto& l : leaves) {
    // CLONE_INTO_CGROUP takes the cgroup mutex, which the warming writer holds (cgroup.h).
    if (cgroup::is_cgroup2(l) && !(warmup && warmup->active())) {
      cg2.reset(::open(l.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      cg2_leaf = l;
    }
  }
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) return fail_errno("socketpair");
  UniqueFd parent_end(sp[0]), child_end(sp[1]);

  static constexpr int kForwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
                                       SIGALRM, SIGCONT, SIGWINCH, SIGCHLD};
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : kForwarded) sigaddset(&mask, s);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  UniqueFd sfd(::signalfd(-1, &mask, SFD_CLOEXEC));
  if (!sfd) return fail_errno("signalfd");

  clone_args args{};
  args.exit_signal = SIGCHLD;
  if (cg2) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cg2.get());
  }
  pid_t child = static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
  if (child < 0 && cg2) {
    args.flags = 0;
    cg2_leaf.clear();
    child = static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
  }
  if (child < 0) return fail_errno("clone the exec process");
  // Every cgroup but the one cloned into (none if that clone failed and the second made it).
  std::vector<std::string> to_enter;
  for (const auto& l : leaves) {
    if (l != cg2_leaf) to_enter.push_back(l);
  }
  if (child == 0) {
    parent_end.reset();
    dir = ContainerDir();  // the lock must not ride into the container
    cg2.reset();           // nor a directory of the host (CVE-2024-21626)
    std::vector<std::string> join = cgroup::join_files(to_enter);
    exec_child(ExecChild{&p, root_fd.get(), self_join ? &join : nullptr, pidfd.get(), flags & ~for_children,
                         o.preserve_fds, child_end.get(), seccomp ? &*seccomp : nullptr});
  }
  child_end.reset();
  auto kill_child = [&] {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
  };
  if (!self_join) {
    if (auto r = cgroup::enter(to_enter, child); !r) {
      kill_child();
      return fail(std::move(r.error()));
    }
  }
  if (auto r = process::send_msg(parent_end.get(), Msg::kGo); !r) {
    // The process may have failed before it waited for us (joining its cgroups).
    auto e = process::pending_error(parent_end.get());
    kill_child();
    return fail(e ? std::move(*e) : std::move(r.error()));
  }
  UniqueFd console;
  for (;;) {
    auto m = process::recv_msg_or_eof(parent_end.get());
    if (!m) {
      kill_child();
      return fail(std::move(m.error()));
    }
    if (!*m) break;  // closed by a successful execve
    if ((*m)->type == Msg::kConsole) {
      console.reset((*m)->fd);
      if (!o.console_socket.empty()) {
        if (auto r = process::send_to_console_socket(o.console_socket, console.get(), (*m)->text); !r) {
          kill_child();
          return fail(std::move(r.error()));
        }
        console.reset();
      }
      continue;
    }
    if ((*m)->type == Msg::kSeccompListener) {
      UniqueFd listener((*m)->fd);
      if (auto r = security::send_to_listener(*seccomp_spec, listener.get(), child,
                                              spec::oci_state_json(st, status, false));
          !r) {
        kill_child();
        return fail(std::move(r.error()));
      }
      continue;
    }
    if ((*m)->type == Msg::kError) {
      ::waitpid(child, nullptr, 0);
      return fail(Error((*m)->err, (*m)->text));
    }
  }
  if (!o.pid_file.empty()) {
    TRY_CTX(fs::write_file_atomic(o.pid_file, std::to_string(child)), "pid file");
  }
  if (o.detach) return 0;
  int code = 0;
  auto on_signal = [&](int sig) {
    if (sig != SIGCHLD) {
      ::kill(child, sig);
      return false;
    }
    int status_ = 0;
    if (::waitpid(child, &status_, WNOHANG) != child) return false;
    code = WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
    return true;
  };
  TRY(process::wait_foreground(console.get(), sfd.get(), on_signal));
  return code;
}

}  // namespace

}  // namespace nsbox::runtime
