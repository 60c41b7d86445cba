#include "runtime/container.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include "base/defer.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/time.h"
#include "cgroup/cgroup.h"
#include "cgroup/control.h"
#include "cgroup/members.h"
#include "cgroup/placement.h"
#include "net/attach.h"
#include "net/net_devices.h"
#include "net/netns_ahead.h"
#include "net/request.h"
#include "ns/rootfs.h"
#include "process/console_keeper.h"
#include "process/spawn.h"
#include "process/terminal.h"
#include "runtime/hooks.h"
#include "runtime/signals.h"
#include "runtime/store.h"
#include "security/caps.h"
#include "security/lsm.h"
#include "spec/config.h"
#include "spec/default_spec.h"
#include "spec/state.h"
#include "systemd/system_state.h"

namespace nsbox::runtime {
namespace {

using spec::NsKind;
using spec::Status;

Result<std::string> absolute(const std::string& p) {
  std::string path = p.empty() ? "." : p;
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return fail_errno("bundle " + path);
  return std::string(buf);
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// Signal the recorded container process, refusing if its pid now names another process.
// A pidfd on the container's init, if the recorded pid still is it: the same start time
// (pid reuse), and, where the container has cgroups, a member of them (the cgroups, not a
// pid in a file, say which processes are the container's). Empty otherwise.
UniqueFd pin_init(const spec::State& st) {
  UniqueFd pidfd(pidfd_open(st.pid));
  if (!pidfd || proc_info(st.pid).start_time != st.start_time) return {};
  if (!st.cgroup_leaves.empty()) {
    auto m = cgroup::members(st.cgroup_leaves);
    if (std::find(m.begin(), m.end(), st.pid) == m.end()) return {};
  }
  return pidfd;
}

// Signal the recorded container process, refusing if its pid now names another process.
Result<> signal_init(const spec::State& st, int sig) {
  UniqueFd pidfd = pin_init(st);
  if (!pidfd) return fail("container not running");
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) < 0) {
    if (errno == ESRCH) return fail("container not running");
    return fail_errno("signal container process");
  }
  return {};
}

void thaw(const spec::State& st) {
  for (const auto& leaf : st.cgroup_leaves) {
    (void)fs::write_file(leaf + "/freezer.state", "THAWED");
    (void)fs::write_file(leaf + "/cgroup.freeze", "0");
  }
}

// SIGKILL the container and wait until its init has exited.
void kill_and_wait(const spec::State& st) {
  UniqueFd pidfd = pin_init(st);
  bool ours = static_cast<bool>(pidfd);
  if (ours) ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
  // Without its own pid namespace the container's other processes outlive its init.
  if (!st.own_pid_ns) cgroup::kill_members(st.cgroup_leaves);
  thaw(st);  // a frozen task cannot act on SIGKILL until thawed (cgroup v1)
  if (ours) {
    pollfd p{pidfd.get(), POLLIN, 0};
    ::poll(&p, 1, 10000);
  }
}

// The console keeper ends with the container's init: waited for (briefly; killed after
// that), so that nothing writes in the state directory while it goes.
void end_console_keeper(const spec::State& st) {
  if (st.console_keeper <= 0) return;
  UniqueFd pidfd(pidfd_open(st.console_keeper));
  if (!pidfd || proc_info(st.console_keeper).start_time != st.console_keeper_start) return;
  pollfd p{pidfd.get(), POLLIN, 0};
  if (::poll(&p, 1, 2000) == 1) return;
  ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
  ::poll(&p, 1, 2000);
}

std::string state_for_hooks(const spec::State& st, Status s) {
  return spec::oci_state_json(st, s, false);
}

// True inside a user namespace other than the initial one (rootless engines).
// Rootless: an ordinary user, or root of a user namespace (a rootless engine runs us there).
// Neither may write the cgroup tree unless it was delegated, nor the devices controller.
// Asked several times by create, which never changes its user namespace: read once.
bool rootless() {
  static const bool r = ::geteuid() != 0 || security::in_user_namespace();
  return r;
}

// The container's end of sd_notify: a datagram socket bound at <state>/notify/notify.sock.
// The container sees that directory read-only at /run/notify (create), so nothing in it can
// be its doing; and it is reached through the state directory's descriptor, never by a path
// of the container's.
Result<UniqueFd> bind_notify_socket(const ContainerDir& dir) {
  UniqueFd s(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) return fail_errno("notify socket");
  UniqueFd notify_dir(::openat(dir.fd(), "notify", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!notify_dir) return fail_errno("open " + dir.path() + "/notify");
  ::unlinkat(notify_dir.get(), "notify.sock", 0);
  std::string path = "/proc/self/fd/" + std::to_string(notify_dir.get()) + "/notify.sock";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  // The container's user may not be root: the socket is made 0777 by bind itself (no chmod
  // by path afterwards, which a link put in its place would redirect).
  mode_t old_umask = ::umask(0);
  int rc = ::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int e = errno;
  ::umask(old_umask);
  if (rc < 0) return fail_errno("bind the notify socket in " + dir.path() + "/notify", e);
  return s;
}

// Pass the container's sd_notify messages on to the caller's NOTIFY_SOCKET until READY=1
// (or the container exits), as runc does before `start` returns.
Result<> relay_notify(int sock, const spec::State& st, const ContainerDir& dir) {
  UniqueFd out(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!out) return fail_errno("socket");
  sockaddr_un to{};
  to.sun_family = AF_UNIX;
  std::strncpy(to.sun_path, st.notify_socket.c_str(), sizeof to.sun_path - 1);
  if (to.sun_path[0] == '@') to.sun_path[0] = '\0';  // abstract socket, systemd's notation
  for (;;) {
    pollfd p{sock, POLLIN, 0};
    int r = ::poll(&p, 1, 100);
    if (r == 0) {
      if (current_status(st, dir) == Status::kStopped) return {};
      continue;
    }
    if (r < 0) {
      if (errno == EINTR) continue;
      return fail_errno("poll the notify socket");
    }
    char buf[4096];
    ssize_t n = ::recv(sock, buf, sizeof buf, 0);
    if (n <= 0) continue;
    std::string msg(buf, static_cast<size_t>(n));
    if (::sendto(out.get(), buf, static_cast<size_t>(n), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&to),
                 sizeof to) < 0) {
      return fail_errno("forward sd_notify to " + st.notify_socket);
    }
    if (msg.find("READY=1") != std::string::npos) return {};
  }
}

}  // namespace

namespace {

// A container that `run` created: its locked directory and its state, so that start and
// the final delete need not read them back.
struct Live {
  ContainerDir dir;
  spec::State st;
};

// config.json, and what the command line asks of it, checked before anything is made.
Result<spec::Config> load_checked(const std::string& bundle, const CreateOptions& o) {
  spec::Config cfg = TRY(spec::load_config(bundle));
  std::string file = bundle + "/config.json";
  if (!cfg.process) return fail(file + ": process: required to create a container");
  if (cfg.process->capabilities) security::drop_unavailable(*cfg.process->capabilities);
  if (!o.console_socket.empty() && (!cfg.process->terminal || o.foreground)) {
    return fail("cannot use console socket if nsbox will not detach or allocate tty");
  }
  TRY_CTX(security::check_lsm(*cfg.process, cfg.linux.mount_label), file);
  for (size_t i = 0; i < cfg.mounts.size(); ++i) {
    if (cfg.mounts[i].idmap && rootless()) {
      return fail(file + ": mounts[" + std::to_string(i) +
                  "]: idmapped mounts need root: only it may set a mapping on the source's file system");
    }
  }
  return cfg;
}

// Socket activation (systemd's LISTEN_FDS): the listening fds 3.. pass into the container,
// which is told they are its own (LISTEN_PID=1), as runc does. The descriptors to preserve.
int socket_activation(spec::Config& cfg, int preserve_fds) {
  const char* lf = std::getenv("LISTEN_FDS");
  int n = lf != nullptr ? std::atoi(lf) : 0;
  if (n <= 0) return preserve_fds;
  std::erase_if(cfg.process->env, [](const std::string& e) {
    return e.starts_with("LISTEN_FDS=") || e.starts_with("LISTEN_PID=");
  });
  cfg.process->env.push_back("LISTEN_FDS=" + std::to_string(n));
  cfg.process->env.push_back("LISTEN_PID=1");
  return preserve_fds + n;  // the listening fds come first; --preserve-fds counts those after
}

// sd_notify (NOTIFY_SOCKET): the container gets a directory of ours at /run/notify, and
// `start` passes what arrives at the socket there on to the caller's until READY=1. The
// caller's socket, or "".
Result<std::string> notify_socket(spec::Config& cfg, const ContainerDir& dir) {
  const char* caller = std::getenv("NOTIFY_SOCKET");
  if (caller == nullptr || *caller == '\0') return std::string();
  if (::mkdirat(dir.fd(), "notify", 0755) < 0) return fail_errno("create " + dir.path() + "/notify");
  spec::Mount m;
  m.destination = "/run/notify";
  m.source = dir.path() + "/notify";
  // Read-only: the runtime binds the socket there at `start`, and the container must not be
  // able to put anything in its place (a link that `start` would follow).
  m.options = {"bind", "ro", "nosuid", "nodev", "noexec"};
  cfg.mounts.push_back(TRY(spec::parse_mount_options(m)));
  std::erase_if(cfg.process->env, [](const std::string& e) { return e.starts_with("NOTIFY_SOCKET="); });
  cfg.process->env.push_back("NOTIFY_SOCKET=/run/notify/notify.sock");
  return std::string(caller);
}

spec::State initial_state(const spec::Config& cfg, const std::string& id, const std::string& bundle,
                          const std::string& notify) {
  spec::State st;
  st.oci_version = cfg.oci_version;
  st.id = id;
  st.bundle = bundle;
  st.rootfs = cfg.root;
  st.created = now_rfc3339();
  st.owner = ::geteuid();
  st.annotations = cfg.annotations;
  st.own_pid_ns = cfg.new_ns(NsKind::kPid);
  st.process_json = cfg.process_json;
  st.seccomp_json = cfg.linux.seccomp_json;
  st.poststart = cfg.hooks.poststart;
  st.notify_socket = notify;
  st.poststop = cfg.hooks.poststop;
  return st;
}

// The socket the created container waits on for `start`. Named "creating" until create is
// done (renamed then): `state` says so meanwhile, and `start` cannot reach a container still
// being set up.
Result<UniqueFd> exec_socket(const ContainerDir& dir) {
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener) return fail_errno("exec socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string sock_path = dir.fd_relative(kExecSocketCreating);
  std::strncpy(addr.sun_path, sock_path.c_str(), sizeof addr.sun_path - 1);
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
      ::listen(listener.get(), 1) < 0) {
    return fail_errno("exec socket " + dir.path() + "/" + kExecSocketCreating);
  }
  return listener;
}

// What nsbox's networking needs to know of a container (net/attach.h).
net::Context network_context(const Globals& g, const std::string& id, const std::string& rootfs,
                             const std::string& hostname) {
  net::Context c;
  c.root = g.root;
  c.id = id;
  c.state_dir = g.root + "/" + id;
  c.rootfs = rootfs;
  c.hostname = hostname;
  c.cni_config_dir = g.cni_config_dir;
  std::string root = g.root;
  c.alive = [root](const std::string& owner) { return container_exists(root, owner); };
  return c;
}

// A container that may write to its own cgroups: a cgroup namespace of its own and a cgroup
// mount without "ro" (a system container whose init manages cgroups). It is nested below its
// limits (cgroup::kNested).
bool writes_own_cgroups(const spec::Config& cfg) {
  if (!cfg.new_ns(NsKind::kCgroup)) return false;
  return std::any_of(cfg.mounts.begin(), cfg.mounts.end(), [](const spec::Mount& m) {
    return (m.type == "cgroup" || m.type == "cgroup2") && (m.flags & MS_RDONLY) == 0;
  });
}

// nsbox's networks are made for a network namespace of the container's own, by root.
Result<> check_networkable(const spec::Config& cfg, const std::string& file) {
  std::string where = file + ": annotations[\"" + net::kNetworkAnnotation + "\"]";
  if (!cfg.new_ns(NsKind::kNetwork)) {
    return fail(where + ": nsbox's networks need a network namespace of the container's own " +
                "(linux.namespaces: \"network\" without a path)");
  }
  if (rootless()) return fail(where + ": nsbox's networks need root");
  return {};
}

// The generated /etc files bound read-only over the rootfs's.
Result<> add_network_mounts(spec::Config& cfg, const net::Attached& a, const std::string& state_dir) {
  for (const auto& name : a.mounts) {
    spec::Mount m;
    m.destination = "/etc/" + name;
    m.type = "bind";
    m.source = state_dir + "/" + name;
    m.options = {"bind", "ro", "nosuid", "nodev", "noexec"};
    cfg.mounts.push_back(TRY(spec::parse_mount_options(std::move(m))));
  }
  return {};
}

// What the process's fds 0, 1, 2 are (readlink of /proc/PID/fd/N, "" where unreadable).
std::vector<std::string> stdio_names(pid_t pid) {
  std::vector<std::string> out;
  for (int fd = 0; fd < 3; ++fd) {
    char buf[PATH_MAX];
    std::string link = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
    ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
    out.emplace_back(n > 0 ? std::string(buf, static_cast<size_t>(n)) : "");
  }
  return out;
}

// annotations["org.nsbox.boot-id"] = "random": a boot id of the container's own, a new one
// each create (a file in its state directory bound read-only over
// /proc/sys/kernel/random/boot_id, as LXC does), so that `journalctl -b` inside knows its boots.
Result<> add_boot_id(spec::Config& cfg, const ContainerDir& dir, const std::string& file) {
  auto a = cfg.annotations.find(spec::kBootIdAnnotation);
  if (a == cfg.annotations.end()) return {};
  if (a->second != "random") {
    return fail(file + ": annotations[\"" + a->first + "\"]: \"" + a->second + "\": the only value is \"random\"");
  }
  if (cfg.find_ns(NsKind::kMount) == nullptr) {
    return fail(file + ": annotations[\"" + a->first + "\"]: a boot id of its own needs a mount namespace of the container's own");
  }
  auto id = TRY(fs::read_file("/proc/sys/kernel/random/uuid"));
  TRY_CTX(fs::write_file_atomic(dir.fd(), "boot_id", id, 0444), "write " + dir.path() + "/boot_id");
  spec::Mount m;
  m.destination = "/proc/sys/kernel/random/boot_id";
  m.type = "bind";
  m.source = dir.path() + "/boot_id";
  m.options = {"bind", "ro", "nosuid", "nodev", "noexec"};
  cfg.mounts.push_back(TRY(spec::parse_mount_options(std::move(m))));
  return {};
}

Result<Created> create_container(const Globals& g, const CreateOptions& o, Live* live) {
  TRY(validate_id(o.id));
  std::string bundle = TRY(absolute(o.bundle));
  spec::Config cfg = TRY(load_checked(bundle, o));
  std::string file = bundle + "/config.json";
  int preserve_fds = socket_activation(cfg, o.preserve_fds);

  // The container process is cloned by root of the host's user namespace and stays there:
  // it may join its cgroups itself, and its network namespace may be made ahead.
  bool host_root_clone = !rootless() && cfg.find_ns(NsKind::kUser) == nullptr && !process::needs_intermediate(cfg);
  // The container's network namespace is made meanwhile, where the kernel would have made
  // it in the runtime's user namespace anyway (net/netns_ahead.h).
  std::optional<net::NetnsAhead> netns;
  if (cfg.new_ns(NsKind::kNetwork) && host_root_clone) netns.emplace();

  // Built before anything exists, so that a profile libseccomp rejects leaves nothing behind.
  std::optional<security::SeccompFilter> seccomp;
  if (cfg.linux.seccomp) seccomp.emplace(TRY_CTX(security::SeccompFilter::build(*cfg.linux.seccomp, cfg.linux.seccomp_json, seccomp_cache_dir(g)), file));

  // How the container goes into its cgroups, chosen once (cgroup/placement.h).
  cgroup::Choice choice;
  choice.id = o.id;
  choice.cgroups_path = cfg.linux.cgroups_path;
  choice.resources = cfg.linux.resources;
  choice.systemd = g.systemd_cgroup;
  choice.rootless = rootless();
  choice.self_join = host_root_clone;
  choice.limits_needed = cfg.linux.resources.has_limits();
  choice.annotations = cfg.annotations;
  choice.nested = writes_own_cgroups(cfg);
  if (!g.systemd_cgroup && cfg.linux.cgroups_path.find(':') != std::string::npos) {
    return fail(file + ": linux.cgroupsPath: \"" + cfg.linux.cgroups_path +
                "\" is a systemd slice path: it needs --systemd-cgroup");
  }
  auto placement = TRY(cgroup::choose(choice));
  // nsbox's own networks, asked for in the annotations (net/request.h).
  net::add_to_annotation(cfg.annotations, net::kNetworkAnnotation, o.networks);
  net::add_to_annotation(cfg.annotations, net::kPublishAnnotation, o.publish);
  net::add_to_annotation(cfg.annotations, net::kDnsAnnotation, o.dns);
  auto net_request = TRY(net::parse_request(cfg.annotations, file));
  if (!net_request.empty()) TRY(check_networkable(cfg, file));
  if (!cfg.linux.net_devices.empty() && rootless()) {
    return fail(file + ": linux.netDevices: network devices are not supported for rootless containers");
  }

  auto dir = TRY(ContainerDir::create(g.root, o.id));
  Defer drop_dir([&] { dir.remove(); });
  std::string notify = TRY(notify_socket(cfg, dir));
  TRY(add_boot_id(cfg, dir, file));
  spec::State st = initial_state(cfg, o.id, bundle, notify);
  st.resources_json = spec::resources_to_json(cfg.linux.resources);

  // What will be made is recorded before it is made: a create killed at any point leaves
  // nothing that `delete --force` cannot find.
  spec::Footprint footprint;
  TRY(placement->plan(footprint));
  if (cfg.find_ns(NsKind::kMount) == nullptr) {
    // The rootfs is bound in the runtime's own namespace (ns/rootfs.h): delete detaches it.
    footprint.rootfs_bind = st.rootfs_bind = cfg.root;
    footprint.rootfs_mount_before = st.rootfs_mount_before = ns::mount_id_at(cfg.root);
  }
  for (const auto& j : net_request.networks) footprint.networks.push_back(j.network);
  TRY(dir.save_footprint(footprint));
  // Addresses and ports taken now; the links once the network namespace exists.
  net::Context net_ctx = network_context(g, o.id, cfg.root, cfg.hostname);
  net::Attached attached;
  Defer undo_network([&] {
    if (!net_request.empty()) net::disconnect(net_ctx, attached);
  });
  if (!net_request.empty()) {
    attached = TRY(net::prepare(net_ctx, net_request, file));
    TRY(add_network_mounts(cfg, attached, net_ctx.state_dir));
    st.addresses = attached.addresses();
    st.network_json = net::attached_to_json(attached);
  }
  Defer undo_cgroups([&] { placement->undo(); });
  TRY(placement->make());
  st.freezer = placement->freezer();
  st.cgroup_nested = placement->nested();
  st.systemd_unit = placement->systemd_unit();
  st.systemd_user = footprint.systemd_user;

  UniqueFd listener = TRY(exec_socket(dir));
  process::SpawnOptions so;
  so.cfg = &cfg;
  so.id = o.id;
  so.no_pivot = o.no_pivot;
  so.no_new_keyring = o.no_new_keyring;
  so.preserve_fds = preserve_fds;
  so.exec_listen_fd = listener.get();
  so.placement = placement.get();
  so.hierarchies = placement->hierarchies();
  so.cgroup_leaves = placement->leaves();
  so.close_in_child = {dir.fd(), placement->clone_into()};
  if (netns) so.netns_ahead = [&] { return netns->get(); };
  // The state is complete once the process is in its cgroups: saved while it sets itself up
  // (on failure the whole directory goes).
  so.while_child_sets_up = [&](pid_t pid) -> Result<> {
    st.external_descriptors = stdio_names(pid);
    st.cgroup_leaves = placement->leaves();
    st.cgroup_created = placement->created();
    st.pid = pid;
    st.start_time = proc_info(pid).start_time;
    TRY_CTX(dir.save(st), "save state");
    return {};
  };
  so.on_mounts_ready = [&](pid_t pid) -> Result<std::string> {
    st.pid = pid;
    // The network is there before the hooks, as the runtime-spec has it for createRuntime.
    if (!attached.empty()) {
      TRY(net::connect(net_ctx, attached, pid));
      st.addresses = attached.addresses();
      st.network_json = net::attached_to_json(attached);
      TRY_CTX(dir.save(st), "save state");
    }
    TRY(net::move_net_devices(cfg.linux.net_devices, pid));
    std::string creating = state_for_hooks(st, Status::kCreating);
    TRY(run_hooks(cfg.hooks.prestart, "prestart", creating));
    TRY(run_hooks(cfg.hooks.create_runtime, "createRuntime", creating));
    return creating;
  };
  if (seccomp) {
    so.seccomp = &*seccomp;
    so.on_seccomp_listener = [&](pid_t pid, int fd) -> Result<> {
      st.pid = pid;
      return security::send_to_listener(*cfg.linux.seccomp, fd, pid, state_for_hooks(st, Status::kCreating));
    };
  }
  log::debug("create " + o.id + ": bundle " + bundle);
  auto spawned = TRY(spawn_container(so));
  log::debug("create " + o.id + ": container process " + std::to_string(spawned.pid) + " is ready");
  listener.reset();
  Defer kill_container([&] { kill_and_wait(st); });
  if (!o.pid_file.empty()) {
    std::string pf = o.pid_file[0] == '/' ? o.pid_file : TRY(absolute(".")) + "/" + o.pid_file;
    TRY_CTX(fs::write_file_atomic(pf, std::to_string(spawned.pid)), "pid file");
  }
  Created out{spawned.pid, spawned.is_our_child, -1};
  if (spawned.console) {
    if (!o.console_socket.empty()) {
      TRY(process::send_to_console_socket(o.console_socket, spawned.console.get(), spawned.console_name));
    } else if (o.foreground) {
      out.console = spawned.console.release();
    } else {
      // Detached with no one to take the terminal: a keeper holds it (`nsbox console`).
      st.console_keeper = TRY(process::start_keeper(dir.path(), spawned.console.get(), spawned.pid));
      st.console_keeper_start = proc_info(st.console_keeper).start_time;
      TRY_CTX(dir.save(st), "save state");
    }
  }
  if (::renameat(dir.fd(), kExecSocketCreating, dir.fd(), kExecSocket) < 0) {
    return fail_errno("rename " + dir.path() + "/" + kExecSocketCreating);
  }
  kill_container.dismiss();
  undo_network.dismiss();
  undo_cgroups.dismiss();
  drop_dir.dismiss();
  if (live != nullptr) {
    live->dir = std::move(dir);
    live->st = std::move(st);
  }
  return out;
}

Result<> start_container(ContainerDir& dir, const spec::State& st) {
  UniqueFd notify;
  if (!st.notify_socket.empty()) notify = TRY(bind_notify_socket(dir));
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return fail_errno("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string sock_path = dir.fd_relative(kExecSocket);
  std::strncpy(addr.sun_path, sock_path.c_str(), sizeof addr.sun_path - 1);
  int rc = ::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::unlinkat(dir.fd(), kExecSocket, 0);
  if (rc < 0) return fail("cannot start a container that has stopped");
  // The container closes the connection by execve (close-on-exec) or sends why it failed.
  std::string err;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(s.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    err.append(buf, static_cast<size_t>(n));
  }
  if (!err.empty()) return fail(err);
  log::debug("start " + st.id + ": container process " + std::to_string(st.pid) + " executed");
  // The container runs: other commands may act on it while its READY=1 is awaited (which
  // may never come), and the poststart hooks run.
  dir.unlock();
  if (notify) TRY(relay_notify(notify.get(), st, dir));
  run_hooks_warn(st.poststart, "poststart", state_for_hooks(st, Status::kRunning));
  return {};
}

// Delete a container whose state is loaded: its init (if still there), every process left
// in its cgroups (without a pid namespace of its own, or with a pid in the state that is no
// longer its init: the cgroups say which processes are the container's), the cgroups, the
// poststop hooks, the record. The record stays while anything is left.
Result<> remove_container(const Globals& g, ContainerDir& dir, const spec::State& st, Status status, bool force) {
  if (status != Status::kStopped) kill_and_wait(st);
  if (!cgroup::is_empty(st.cgroup_leaves)) {
    // Processes left behind by an init that had no pid namespace of its own are the
    // container's to kill (runc does so). With a pid namespace there can be none once its
    // init is gone: the state's pid is not the container's any more; only --force kills.
    auto left = cgroup::members(st.cgroup_leaves);
    bool live = std::any_of(left.begin(), left.end(), [](pid_t p) { return proc_info(p).alive; });
    if (st.own_pid_ns && !force && live) {
      return fail("cannot delete container \"" + st.id + "\": its cgroup still holds processes, " +
                  "though the process recorded as its init is gone (delete --force kills them)");
    }
    cgroup::kill_members(st.cgroup_leaves);
  }
  TRY_CTX(cgroup::remove(st.cgroup_leaves, st.cgroup_created, st.systemd_unit, st.systemd_user),
          "delete " + st.id + " (its record is kept: delete --force again once that is fixed)");
  if (!st.rootfs_bind.empty()) ns::detach_rootfs_bind(st.rootfs_bind, st.rootfs_mount_before);
  if (!st.network_json.empty()) {
    net::Context ctx = network_context(g, st.id, st.rootfs, "");
    if (auto a = net::attached_from_json(st.network_json, dir.path() + "/state.json")) {
      net::disconnect(ctx, *a);
    } else {
      log::warn(a.error().what());
      if (auto fp = dir.load_footprint()) net::disconnect_owner(ctx, fp->networks, true);
    }
  }
  run_hooks_warn(st.poststop, "poststop", state_for_hooks(st, Status::kStopped));
  end_console_keeper(st);
  dir.remove();
  return {};
}

// delete --force of a container without a readable state: a create killed before it saved
// one, or a damaged file. What create recorded before making anything (footprint.json), or
// else the cgroups named after the id by default, say what is the container's.
Result<> remove_unreadable(const Globals& g, ContainerDir& dir, const std::string& id) {
  spec::Footprint fp;
  if (auto loaded = dir.load_footprint()) {
    fp = std::move(*loaded);
  } else if (auto hs = cgroup::discover()) {
    fp.cgroup_leaves = cgroup::plan(*hs, "nsbox-" + id).leaves;
    fp.cgroup_new = fp.cgroup_leaves;
  }
  std::vector<std::string> existing;
  for (const auto& l : fp.cgroup_leaves) {
    if (::access(l.c_str(), F_OK) == 0) existing.push_back(l);
  }
  if (!existing.empty() && !cgroup::is_empty(existing)) cgroup::kill_members(existing);
  TRY_CTX(cgroup::remove(existing, fp.cgroup_new, fp.systemd_unit, fp.systemd_user),
          "delete " + id + " (its record is kept: delete --force again once that is fixed)");
  if (!fp.rootfs_bind.empty()) ns::detach_rootfs_bind(fp.rootfs_bind, fp.rootfs_mount_before);
  if (!fp.networks.empty()) net::disconnect_owner(network_context(g, id, "", ""), fp.networks, true);
  dir.remove();
  return {};
}

}  // namespace

Result<Created> create(const Globals& g, const CreateOptions& o) { return create_container(g, o, nullptr); }

Result<> start(const Globals& g, const std::string& id) {
  auto dir = TRY(ContainerDir::open(g.root, id, Lock::kExclusive));
  auto st = TRY(dir.load());
  switch (current_status(st, dir)) {
    case Status::kCreated: break;
    case Status::kStopped: return fail("cannot start a container that has stopped");
    case Status::kPaused: return fail("cannot start a container in the paused state");
    default: return fail("cannot start an already running container");
  }
  return start_container(dir, st);
}

Result<> kill(const Globals& g, const std::string& id, int sig, bool all) {
  auto dir = TRY(ContainerDir::open(g.root, id, Lock::kShared));
  auto st = TRY(dir.load());
  Status status = current_status(st, dir);
  if (status == Status::kStopped) return fail("container not running");
  Result<> r;
  if (all && !st.cgroup_leaves.empty()) {
    if (sig == SIGKILL) {
      cgroup::kill_members(st.cgroup_leaves);
    } else {
      cgroup::signal_members(st.cgroup_leaves, sig);
    }
  } else {
    r = signal_init(st, sig);
  }
  // A frozen task acts on SIGKILL only once thawed: thaw, as runc does, so that the kill
  // takes effect (containerd kills paused tasks this way).
  if (r && sig == SIGKILL && status == Status::kPaused) thaw(st);
  return r;
}

Result<Stopped> stop(const Globals& g, const std::string& id, int seconds) {
  auto dir = TRY(ContainerDir::open(g.root, id, Lock::kShared));
  auto st = TRY(dir.load());
  dir.unlock();
  Status status = current_status(st, dir);
  if (status == Status::kStopped) return Stopped::kAlready;
  if (status == Status::kCreated || status == Status::kCreating) {
    return fail("cannot stop container \"" + id + "\" that has not started (delete it)");
  }
  int sig = SIGTERM;
  if (auto a = st.annotations.find(spec::kStopSignalAnnotation); a != st.annotations.end()) {
    auto parsed = parse_signal(a->second);
    if (!parsed) return fail(st.bundle + "/config.json: annotations[\"" + a->first + "\"]: " + parsed.error().what());
    sig = *parsed;
  }
  UniqueFd pidfd = pin_init(st);
  if (!pidfd) return Stopped::kAlready;
  if (seconds > 0) {
    if (::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) < 0 && errno != ESRCH) {
      return fail_errno("signal container process");
    }
    // A frozen init acts on the signal once thawed.
    if (status == Status::kPaused) thaw(st);
    pollfd p{pidfd.get(), POLLIN, 0};
    int rc;
    while ((rc = ::poll(&p, 1, seconds * 1000)) < 0 && errno == EINTR) {
    }
    if (rc > 0) {
      // Without a pid namespace of its own, what its init leaves behind goes too.
      if (!st.own_pid_ns && !cgroup::is_empty(st.cgroup_leaves)) cgroup::kill_members(st.cgroup_leaves);
      return Stopped::kOnSignal;
    }
  }
  kill_and_wait(st);
  cgroup::kill_members(st.cgroup_leaves);
  return Stopped::kKilled;
}

Result<> remove(const Globals& g, const std::string& id, bool force) {
  TRY(validate_id(id));
  auto opened = ContainerDir::open(g.root, id, Lock::kExclusive, force);
  if (!opened) {
    // Already gone: nothing to do for --force (as runc).
    if (force && opened.error().message().ends_with("does not exist")) return {};
    return fail(std::move(opened.error()));
  }
  ContainerDir dir = std::move(*opened);
  auto loaded = dir.has_state() ? dir.load() : fail("container \"" + id + "\" has no state yet");
  if (!loaded) {
    if (!force) return fail(std::move(loaded.error()));
    log::debug("delete --force " + id + ": " + loaded.error().what());
    return remove_unreadable(g, dir, id);
  }
  const spec::State& st = *loaded;
  Status status = current_status(st, dir);
  if ((status == Status::kRunning || status == Status::kPaused || status == Status::kCreating) && !force) {
    return fail("cannot delete container \"" + id + "\" that is not stopped: " +
                spec::status_name(status));
  }
  return remove_container(g, dir, st, status, force);
}

Result<> console(const Globals& g, const std::string& id, bool log_only) {
  auto dir = TRY(ContainerDir::open(g.root, id, Lock::kNone));
  auto st = TRY(dir.load());
  if (log_only) {
    auto text = TRY(process::console_log(dir.path()));
    std::fwrite(text.data(), 1, text.size(), stdout);
    return {};
  }
  return process::attach_console(dir.path(), id);
}

Result<std::string> state(const Globals& g, const std::string& id) {
  auto dir = TRY(ContainerDir::open(g.root, id, Lock::kNone));
  auto st = TRY(dir.load());
  Status status = current_status(st, dir);
  if (status == Status::kRunning) st.system_state = systemd::system_state(st.pid);
  return spec::oci_state_json(st, status, true) + "\n";
}

Result<std::string> list(const Globals& g, const std::string& format, bool quiet) {
  struct Row {
    spec::State st;
    Status status;
  };
  std::vector<Row> rows;
  std::string out;
  if (!quiet && format != "table" && format != "json") {
    return fail("invalid format option \"" + format + "\" (table or json)");
  }
  if (quiet) {
    // Ids only: no state to parse, no process to look at. A damaged container, or one whose
    // create died before it saved its state, is listed too: `delete --force` removes it.
    for (const auto& id : list_ids(g.root)) {
      std::string d = g.root + "/" + id;
      if (fs::exists(d + "/state.json") || fs::exists(d + "/footprint.json")) out += id + "\n";
    }
    return out;
  }
  // Unlocked, as runc: a container may come or go meanwhile. Each is one read of the head of
  // its state file (state_summary_from_json), one of /proc/PID/stat and one lookup of the
  // exec socket, all relative to the root.
  UniqueFd rootfd(::open(g.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  for (const auto& id : rootfd ? list_ids(g.root) : std::vector<std::string>{}) {
    std::string file = g.root + "/" + id + "/state.json";
    auto text = fs::read_document(rootfd.get(), id + "/state.json", file);
    auto st = text ? spec::state_summary_from_json(*text, file) : fail(std::move(text.error()));
    if (st) {
      Status status = current_status_at(*st, rootfd.get(), id);
      if (status == Status::kRunning) st->system_state = systemd::system_state(st->pid);
      rows.push_back({std::move(*st), status});
      continue;
    }
    // Never hidden: a container whose state cannot be read shows as "unknown", unless it is
    // a create still at work (its directory locked, no state written yet).
    if (st.error().code() == ENOENT) {
      UniqueFd d(::openat(rootfd.get(), id.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!d || ::faccessat(d.get(), "footprint.json", F_OK, 0) < 0 || ::flock(d.get(), LOCK_SH | LOCK_NB) < 0) continue;
      log::warn("container \"" + id + "\": its create did not finish (no state.json); `nsbox delete --force " + id + "` removes it");
    } else {
      log::warn("container \"" + id + "\": " + st.error().what() + "; `nsbox delete --force " + id + "` removes it");
    }
    spec::State unknown;
    unknown.id = id;
    rows.push_back({std::move(unknown), Status::kUnknown});
  }
  if (format == "json") {
    out = "[";
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i > 0) out += ",";
      out += spec::oci_state_json(rows[i].st, rows[i].status, false);
    }
    return out + "]\n";
  }
  std::vector<std::vector<std::string>> cells = {{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER", "IPS", "SYSTEM"}};
  for (const auto& r : rows) {
    std::string ips;
    for (const auto& a : r.st.addresses) ips += (ips.empty() ? "" : ",") + a;
    cells.push_back({r.st.id, std::to_string(r.status == Status::kStopped || r.status == Status::kUnknown ? 0 : r.st.pid),
                     spec::status_name(r.status), r.st.bundle, r.st.created,
                     r.st.owner == 0 ? "root" : std::to_string(r.st.owner), ips.empty() ? "-" : ips,
                     r.st.system_state.empty() ? "-" : r.st.system_state});
  }
  // Columns as Go's tabwriter lays them out for runc (minimum width 12, padding 3).
  std::vector<size_t> width(8, 12);
  for (const auto& row : cells) {
    for (size_t c = 0; c + 1 < row.size(); ++c) width[c] = std::max(width[c], row[c].size() + 3);
  }
  for (const auto& row : cells) {
    for (size_t c = 0; c < row.size(); ++c) {
      out += row[c];
      if (c + 1 < row.size()) out += std::string(width[c] - row[c].size(), ' ');
    }
    out += "\n";
  }
  return out;
}

Result<> pause(const Globals& g, const std::string& id) {
  auto dir = TRY(ContainerDir::open(g.root, id, Lock::kExclusive));
  auto st = TRY(dir.load());
  Status s = current_status(st, dir);
  if (s == Status::kPaused) return fail("container \"" + id + "\" is already paused");
  if (s != Status::kRunning && s != Status::kCreated) {
    return fail("cannot pause container \"" + id + "\": it is " + spec::status_name(s));
  }
  return cgroup::set_frozen(st.cgroup_leaves, true);
}

Result<> resume(const Globals& g, const std::string& id) {
  auto dir = TRY(ContainerDir::open(g.root, id, Lock::kExclusive));
  auto st = TRY(dir.load());
  Status s = current_status(st, dir);
  if (s != Status::kPaused) {
    return fail("cannot resume container \"" + id + "\": it is " + spec::status_name(s) + ", not paused");
  }
  return cgroup::set_frozen(st.cgroup_leaves, false);
}

Result<std::vector<pid_t>> pids(const Globals& g, const std::string& id) {
  auto dir = TRY(ContainerDir::open(g.root, id, Lock::kNone));
  auto st = TRY(dir.load());
  if (current_status(st, dir) == Status::kStopped) return fail("container \"" + id + "\" is not running");
  if (st.cgroup_leaves.empty()) return std::vector<pid_t>{st.pid};
  return cgroup::members(st.cgroup_leaves);
}

Result<> update(const Globals& g, const std::string& id, const spec::Resources& r) {
  auto dir = TRY(ContainerDir::open(g.root, id, Lock::kExclusive));
  auto st = TRY(dir.load());
  if (current_status(st, dir) == Status::kStopped) {
    return fail("cannot update container \"" + id + "\": it is stopped");
  }
  auto all = TRY(cgroup::update(st, r));
  st.resources_json = spec::resources_to_json(all);
  TRY_CTX(dir.save(st), "save state");
  return {};
}

Result<> events(const Globals& g, const std::string& id, bool stats_once, int interval_ms,
                FILE* out) {
  auto dir = TRY(ContainerDir::open(g.root, id, Lock::kNone));
  auto st = TRY(dir.load());
  if (current_status(st, dir) == Status::kStopped) return fail("container \"" + id + "\" is not running");
  auto emit = [&](const char* type, const std::string& data) {
    std::string line = std::string("{\"type\":\"") + type + "\",\"id\":\"" + log::json_escape(id) + "\"";
    if (!data.empty()) line += ",\"data\":" + data;
    line += "}\n";
    std::fputs(line.c_str(), out);
    std::fflush(out);
  };
  if (stats_once) {
    emit("stats", cgroup::stats_json(st.cgroup_leaves));
    return {};
  }
  auto watch = cgroup::OomWatch::open(st.cgroup_leaves);
  auto next = std::chrono::steady_clock::now() + std::chrono::milliseconds(interval_ms);
  for (;;) {
    if (current_status(st, dir) == Status::kStopped) {
      // An oom kill that ended the container is reported before we go.
      if (watch && watch->poll(0)) emit("oom", "");
      return {};
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next - std::chrono::steady_clock::now()).count();
    int wait = static_cast<int>(std::clamp<long long>(left, 0, 250));
    bool oom = watch ? watch->poll(wait) : (::usleep(static_cast<useconds_t>(wait) * 1000), false);
    if (oom) emit("oom", "");
    if (std::chrono::steady_clock::now() >= next) {
      emit("stats", cgroup::stats_json(st.cgroup_leaves));
      next += std::chrono::milliseconds(interval_ms);
    }
  }
}

Result<int> run(const Globals& g, const CreateOptions& o, bool detach) {
  static constexpr int kForwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1,
                                       SIGUSR2, SIGALRM, SIGCONT, SIGWINCH};
  sigset_t mask, old;
  sigemptyset(&mask);
  UniqueFd sfd;
  if (!detach) {
    // Become the reaper of the container process even when an intermediate forked it, and
    // collect signals in order: the child's exit and those we pass on to it.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    sigaddset(&mask, SIGCHLD);
    for (int s : kForwarded) sigaddset(&mask, s);
    ::sigprocmask(SIG_BLOCK, &mask, &old);
    sfd.reset(::signalfd(-1, &mask, SFD_CLOEXEC));
    if (!sfd) return fail_errno("signalfd");
  }
  CreateOptions co = o;
  co.foreground = !detach;
  Live live;
  auto created = TRY(create_container(g, co, &live));
  UniqueFd console(created.console);
  if (auto r = start_container(live.dir, live.st); !r) {
    (void)remove_container(g, live.dir, live.st, Status::kCreated, true);
    return fail(std::move(r.error()));
  }
  // Other commands may act on the container while it runs (kill, pause, delete --force).
  live.dir.unlock();
  if (detach) return 0;
  int code = 0;
  // Reap what exited; true once the container process has.
  auto on_signal = [&](int sig) {
    if (sig != SIGCHLD) {
      ::kill(created.pid, sig);
      return false;
    }
    bool done = false;
    for (;;) {
      int status = 0;
      pid_t p = ::waitpid(-1, &status, WNOHANG);
      if (p <= 0) break;
      if (p == created.pid) {
        code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        done = true;
      }
    }
    return done;
  };
  TRY(process::wait_foreground(console.get(), sfd.get(), on_signal));
  // Deleted meanwhile (delete --force): its directory is gone, and a new container may
  // already have its name; the directory we hold tells them apart.
  TRY(live.dir.lock(Lock::kExclusive));
  Result<> r;
  if (::faccessat(live.dir.fd(), "state.json", F_OK, 0) == 0) {
    r = remove_container(g, live.dir, live.st, Status::kStopped, true);
  }
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  if (!r) return fail(std::move(r.error()));
  return code;
}

}  // namespace nsbox::runtime
