#include "process/spawn.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/fs.h"
#include "base/log.h"
#include "base/unique_fd.h"
#include "ns/idmap.h"
#include "process/sync.h"

extern char** environ;

namespace nsbox::process {
namespace {

using spec::NsKind;

pid_t clone3_fork(uint64_t flags, int cgroup_fd = -1) {
  clone_args args{};
  args.flags = flags;
  args.exit_signal = SIGCHLD;
  if (cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
  }
  return static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Namespaces the kernel creates at clone time on the fast path. A cgroup namespace is
// always unshared by the child itself, after the parent has moved it into its cgroups, so
// that the container's cgroup becomes the root it sees.
uint64_t clone_flags(const spec::Config& cfg) {
  uint64_t f = 0;
  for (const auto& n : cfg.linux.namespaces) {
    if (n.path.empty() && n.kind != NsKind::kCgroup) f |= static_cast<uint64_t>(spec::ns_clone_flag(n.kind));
  }
  return f;
}

// newuidmap/newgidmap (Debian's uidmap package): setuid helpers that write the maps an
// ordinary user may not write, within the ranges /etc/subuid and /etc/subgid grant.
Result<> run_map_tool(const char* tool, const char* field, pid_t pid,
                      const std::vector<spec::IdMapping>& maps) {
  std::vector<std::string> args = {tool, std::to_string(pid)};
  for (const auto& m : maps) {
    args.push_back(std::to_string(m.container_id));
    args.push_back(std::to_string(m.host_id));
    args.push_back(std::to_string(m.size));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int err[2];
  if (::pipe2(err, O_CLOEXEC) < 0) return fail_errno("pipe");
  UniqueFd rd(err[0]), wr(err[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 2);
  pid_t child = 0;
  int rc = ::posix_spawnp(&child, tool, &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  wr.reset();
  if (rc != 0) {
    return fail(std::string(field) + ": mapping ids other than your own needs " + tool +
                " (Debian package uidmap): " + std::strerror(rc));
  }
  std::string out = fs::read_fd(rd.get()).value_or("");
  int st = 0;
  while (::waitpid(child, &st, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return fail(std::string(field) + ": " + tool + " failed: " + out);
  }
  return {};
}

bool only_own_id(const std::vector<spec::IdMapping>& maps, uint32_t id) {
  return maps.size() == 1 && maps[0].host_id == id && maps[0].size == 1;
}

// As root the maps are written directly. An ordinary user may map only its own uid and
// gid, one id each, and must deny setgroups(2) first; anything more goes through the
// setuid helpers.
Result<> write_id_maps(pid_t pid, const spec::Config& cfg) {
  std::string base = "/proc/" + std::to_string(pid);
  const auto& l = cfg.linux;
  bool root = ::geteuid() == 0;
  if (root || only_own_id(l.uid_mappings, ::geteuid())) {
    TRY_CTX(fs::write_file(base + "/uid_map", spec::format_id_mappings(l.uid_mappings)),
            "write uid mappings");
  } else {
    TRY(run_map_tool("newuidmap", "linux.uidMappings", pid, l.uid_mappings));
  }
  if (root) {
    TRY_CTX(fs::write_file(base + "/gid_map", spec::format_id_mappings(l.gid_mappings)),
            "write gid mappings");
  } else if (only_own_id(l.gid_mappings, ::getegid())) {
    TRY_CTX(fs::write_file(base + "/setgroups", "deny"), "deny setgroups");
    TRY_CTX(fs::write_file(base + "/gid_map", spec::format_id_mappings(l.gid_mappings)),
            "write gid mappings");
  } else {
    TRY(run_map_tool("newgidmap", "linux.gidMappings", pid, l.gid_mappings));
  }
  return {};
}

std::string offsets_text(const spec::Config& cfg) {
  std::string t;
  if (auto& m = cfg.linux.monotonic_offset) {
    t += "monotonic " + std::to_string(m->secs) + " " + std::to_string(m->nanosecs) + "\n";
  }
  if (auto& b = cfg.linux.boottime_offset) {
    t += "boottime " + std::to_string(b->secs) + " " + std::to_string(b->nanosecs) + "\n";
  }
  return t;
}

// Slow path, first child: join the namespaces given by path (user first), create the new
// ones, then fork the container process into them (a pid or time namespace applies only
// to children). Reports the container's host pid and exits.
[[noreturn]] void intermediate_main(const SpawnOptions& o, int sync_fd) {
  const spec::Config& cfg = *o.cfg;
  for (int fd : o.close_in_child) ::close(fd);
  auto die = [&](Error e) {
    (void)send_error(sync_fd, e);
    ::_exit(1);
  };
  // Open every namespace file before entering any: after joining a mount namespace the
  // paths may no longer resolve.
  std::vector<std::pair<NsKind, UniqueFd>> joins;
  for (NsKind k : spec::kAllNsKinds) {
    const spec::Namespace* n = cfg.find_ns(k);
    if (n == nullptr || n->path.empty()) continue;
    UniqueFd fd(::open(n->path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) die(Error(errno, "open " + std::string(spec::ns_name(k)) + " namespace " + n->path));
    joins.emplace_back(k, std::move(fd));
  }
  // kAllNsKinds lists user first and mount after the others.
  for (auto& [k, fd] : joins) {
    if (::setns(fd.get(), spec::ns_clone_flag(k)) < 0) {
      die(Error(errno, "join " + std::string(spec::ns_name(k)) + " namespace " + cfg.find_ns(k)->path));
    }
  }
  if (cfg.new_ns(NsKind::kUser)) {
    if (::unshare(CLONE_NEWUSER) < 0) die(Error(errno, "unshare user namespace"));
    if (!send_msg(sync_fd, Msg::kNeedMaps)) ::_exit(1);
    if (!expect_msg(sync_fd, Msg::kMapsDone)) ::_exit(1);
  }
  int flags = 0;
  for (const auto& n : cfg.linux.namespaces) {
    if (n.path.empty() && n.kind != NsKind::kUser && n.kind != NsKind::kCgroup) {
      flags |= spec::ns_clone_flag(n.kind);
    }
  }
  if (flags != 0 && ::unshare(flags) < 0) die(Error(errno, "unshare namespaces"));
  if (cfg.new_ns(NsKind::kTime)) {
    std::string t = offsets_text(cfg);
    if (!t.empty()) {
      // One write per clock: the kernel takes one line a write.
      size_t pos = 0;
      while (pos < t.size()) {
        size_t nl = t.find('\n', pos);
        if (auto r = fs::write_file("/proc/self/timens_offsets", t.substr(pos, nl - pos + 1)); !r) {
          die(std::move(r.error().context("write time namespace offsets")));
        }
        pos = nl + 1;
      }
    }
  }
  pid_t pid = clone3_fork(0);
  if (pid < 0) die(Error(errno, "fork the container process"));
  if (pid == 0) container_init(o, sync_fd, false);
  (void)send_msg(sync_fd, Msg::kChildPid, pid);
  ::_exit(0);
}

// Kills and reaps the container process unless dismissed.
class ChildGuard {
 public:
  ~ChildGuard() {
    if (pidfd_) {
      ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
      pollfd p{pidfd_.get(), POLLIN, 0};
      ::poll(&p, 1, 2000);
    }
    for (pid_t c : children_) {
      ::kill(c, SIGKILL);
      ::waitpid(c, nullptr, 0);
    }
  }
  void add_child(pid_t c) { children_.push_back(c); }
  void set_container(int pidfd) { pidfd_.reset(pidfd); }
  void children_reaped() { children_.clear(); }
  void dismiss() {
    children_.clear();
    pidfd_.reset();
  }

 private:
  std::vector<pid_t> children_;
  UniqueFd pidfd_;
};

}  // namespace

// The fast path (one clone3, no intermediate) serves every config that joins no namespace
// and has no time namespace: time offsets can only be written before a process enters the
// namespace, and joining must happen in an order (user first) that clone cannot express.
bool needs_intermediate(const spec::Config& cfg) {
  for (const auto& n : cfg.linux.namespaces) {
    if (!n.path.empty() || n.kind == NsKind::kTime) return true;
  }
  return false;
}

Result<Spawned> spawn_container(const SpawnOptions& o) {
  const spec::Config& cfg = *o.cfg;
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
    return fail_errno("socketpair");
  }
  UniqueFd parent_end(sp[0]), child_end(sp[1]);
  bool slow = needs_intermediate(cfg);

  int cgroup_fd = !slow && o.placement != nullptr ? o.placement->clone_into() : -1;
  bool into_cgroup = cgroup_fd >= 0;
  // A network namespace made ahead (net/netns_ahead.h) is joined by the process instead.
  bool late_netns = !slow && o.netns_ahead && cfg.new_ns(NsKind::kNetwork);
  uint64_t flags = slow ? 0 : clone_flags(cfg) & ~static_cast<uint64_t>(late_netns ? CLONE_NEWNET : 0);
  pid_t child = clone3_fork(flags, cgroup_fd);
  if (child < 0 && into_cgroup) {
    // Kernels before 5.7, or a cgroup the kernel will not clone into: join it by a write.
    into_cgroup = false;
    child = clone3_fork(flags);
  }
  if (child < 0) return fail_errno("clone the container process");
  if (child > 0 && o.placement != nullptr) o.placement->cloned(into_cgroup);
  if (child == 0) {
    parent_end.reset();
    if (slow) intermediate_main(o, child_end.get());
    container_init(o, child_end.get(), true);
  }
  child_end.reset();
  ChildGuard guard;
  guard.add_child(child);
  int sync = parent_end.get();

  Spawned out;
  if (slow) {
    for (;;) {
      auto m = TRY(recv_msg(sync));
      if (m.type == Msg::kError) return fail(Error(m.err, m.text));
      if (m.type == Msg::kNeedMaps) {
        TRY(write_id_maps(child, cfg));
        TRY(send_msg(sync, Msg::kMapsDone));
      } else if (m.type == Msg::kChildPid) {
        out.pid = static_cast<pid_t>(m.value);
        break;
      } else {
        return fail("sync: unexpected message from the intermediate process");
      }
    }
    int fd = pidfd_open(out.pid);
    if (fd < 0) return fail_errno("pidfd_open container process");
    guard.set_container(fd);
    int st = 0;
    ::waitpid(child, &st, 0);
    guard.children_reaped();
    out.is_our_child = false;
  } else {
    out.pid = child;
    out.is_our_child = true;
    if (cfg.new_ns(NsKind::kUser)) TRY(write_id_maps(child, cfg));
  }
  if (std::any_of(cfg.mounts.begin(), cfg.mounts.end(), [](const spec::Mount& m) { return m.idmap; })) {
    auto mounts = TRY(ns::make_idmapped_mounts(cfg, out.pid, cfg.bundle + "/config.json"));
    for (const auto& im : mounts) {
      TRY(send_fd(sync, Msg::kIdmappedMount, im.tree.get(), std::to_string(im.index)));
    }
  }
  // The container process starts its setup at once; its cgroups are made ready meanwhile
  // (limits written, a systemd unit started, v1 cgroups joined, which may wait for an RCU
  // grace period: cgroup.h). It waits for its cgroups before anything that needs them: its
  // cgroup namespace and cgroup mounts (init.cc); it cannot reach its program before the
  // hooks, which come after this.
  cgroup::Join join = o.placement != nullptr ? o.placement->join_mode() : cgroup::Join::kNone;
  TRY(send_msg(sync, Msg::kGo, static_cast<int64_t>(join)));
  // From here on the process is at work and may fail (and exit) at any moment.
  Result<> r;
  if (late_netns) {
    int fd = o.netns_ahead();
    r = fd >= 0 ? send_fd(sync, Msg::kNetns, fd, "") : send_msg(sync, Msg::kNetns);
  }
  if (r && join != cgroup::Join::kNone) {
    auto files = o.placement->place(out.pid);
    if (!files) {
      r = fail(std::move(files.error()));
    } else if (join == cgroup::Join::kBySelf) {
      std::string text;
      for (const auto& f : *files) text += f + "\n";
      r = send_msg(sync, Msg::kJoinCgroups, 0, text);
    } else {
      r = send_msg(sync, Msg::kCgroupsJoined);
    }
  }
  if (!r) {
    // The process may have failed its setup meanwhile: its reason comes first.
    if (auto e = pending_error(sync)) return fail(std::move(*e));
    return fail(std::move(r.error()));
  }
  if (o.while_child_sets_up) TRY(o.while_child_sets_up(out.pid));
  for (;;) {
    auto m = TRY(recv_msg(sync));
    if (m.type == Msg::kError) return fail(Error(m.err, m.text));
    if (m.type == Msg::kRunHooks) {
      std::string state = TRY(o.on_mounts_ready(out.pid));
      TRY(send_msg(sync, Msg::kHooksDone, 0, state));
    } else if (m.type == Msg::kConsole) {
      out.console.reset(m.fd);
      out.console_name = m.text;
    } else if (m.type == Msg::kSeccompListener) {
      UniqueFd listener(m.fd);
      if (!o.on_seccomp_listener) return fail("sync: unexpected seccomp listener");
      TRY(o.on_seccomp_listener(out.pid, listener.get()));
    } else if (m.type == Msg::kReady) {
      break;
    } else {
      return fail("sync: unexpected message from the container process");
    }
  }
  guard.dismiss();
  return out;
}

}  // namespace nsbox::process
