#include "ns/rootfs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>

#include "ns/in_root.h"

namespace nsbox::ns {
namespace {

// Mount flags that the kernel locks on a mount seen through a user namespace; a bind
// remount must repeat them or it fails with EPERM.
unsigned long locked_flags(int fd) {
  struct statvfs sv{};
  if (::fstatvfs(fd, &sv) < 0) return 0;
  unsigned long f = 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

// Remount the mount at `fd` (resolved again after the mount was made) with `flags`.
Result<> bind_remount(int fd, unsigned long flags) {
  unsigned long f = MS_BIND | MS_REMOUNT | (flags & ~(MS_BIND | MS_REC | MS_REMOUNT));
  auto r = mount_at(fd, nullptr, nullptr, f, nullptr);
  if (!r && r.error().code() == EPERM) {
    unsigned long keep = locked_flags(fd) & ~MS_RDONLY;
    r = mount_at(fd, nullptr, nullptr, f | keep, nullptr);
  }
  if (!r) return fail_errno("remount", r.error().code());
  return {};
}

Result<> apply_propagation(const spec::Mount& m, int fd) {
  for (unsigned long p : m.propagation) {
    if (auto r = mount_at(fd, nullptr, nullptr, p, nullptr); !r) return fail_errno("set propagation", r.error().code());
  }
  return {};
}

// The mount just made on `path`: resolved again (the fd from before names what it covers).
Result<UniqueFd> mounted(int rootfd, const std::string& path) { return resolve(rootfd, path); }

Result<> mount_cgroup(const RootfsContext& ctx, int rootfd, const spec::Mount& m) {
  bool own_ns = ctx.cfg->new_ns(spec::NsKind::kCgroup);
  unsigned long flags = m.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  auto dest = TRY(ensure(rootfd, m.destination, true));
  TRY(expect_dir(dest.get(), m.destination));
  if (ctx.cgroup_leaves.empty()) {
    // No cgroup of its own (rootless, nothing delegated): the host's tree, read-only, as
    // for a sysfs that cannot be mounted.
    TRY_CTX(mount_at(dest.get(), "/sys/fs/cgroup", nullptr, MS_BIND | MS_REC, nullptr),
            "bind /sys/fs/cgroup on " + m.destination);
    auto again = TRY(mounted(rootfd, m.destination));
    return bind_remount(again.get(), flags | MS_RDONLY);
  }
  // Pure cgroup v2: one cgroup2 mount (or a bind of our own directory without a cgroupns).
  bool unified = ctx.hierarchies.size() == 1 && ctx.hierarchies[0].fstype == "cgroup2";
  if (unified) {
    auto r = own_ns ? mount_at(dest.get(), "cgroup2", "cgroup2", flags, nullptr)
                    : mount_at(dest.get(), ctx.cgroup_leaves.at(0).c_str(), nullptr, MS_BIND | MS_REC, nullptr);
    if (!r) return fail(std::move(r.error().context("mount cgroup2 on " + m.destination)));
    if (!own_ns && (flags & MS_RDONLY)) {
      auto again = TRY(mounted(rootfd, m.destination));
      TRY_CTX(bind_remount(again.get(), flags), "remount " + m.destination);
    }
    return {};
  }
  // v1 or hybrid: a tmpfs holding one directory per hierarchy, named as on the host.
  TRY_CTX(mount_at(dest.get(), "tmpfs", "tmpfs", flags & ~MS_RDONLY, "mode=755"),
          "mount tmpfs on " + m.destination);
  for (size_t i = 0; i < ctx.hierarchies.size(); ++i) {
    const auto& h = ctx.hierarchies[i];
    std::string name = h.mountpoint.substr(h.mountpoint.rfind('/') + 1);
    std::string sub = m.destination + "/" + name;
    auto fd = TRY(ensure(rootfd, sub, true));
    if (own_ns) {
      std::string opts = h.fstype == "cgroup" ? h.controllers : "";
      if (opts.starts_with("name=")) opts = "none," + opts;
      TRY_CTX(mount_at(fd.get(), "cgroup", h.fstype.c_str(), flags, opts.empty() ? nullptr : opts.c_str()),
              "mount cgroup on " + sub);
    } else {
      TRY_CTX(mount_at(fd.get(), ctx.cgroup_leaves.at(i).c_str(), nullptr, MS_BIND | MS_REC, nullptr),
              "mount cgroup on " + sub);
      if (flags != 0) {
        auto again = TRY(mounted(rootfd, sub));
        TRY_CTX(bind_remount(again.get(), flags), "remount " + sub);
      }
    }
  }
  if (flags & MS_RDONLY) {
    auto again = TRY(mounted(rootfd, m.destination));
    TRY_CTX(bind_remount(again.get(), flags | MS_RDONLY), "remount " + m.destination);
  }
  return {};
}

Result<> mount_one(const RootfsContext& ctx, int rootfd, const spec::Mount& m, int idmapped) {
  if (m.type == "cgroup" || m.type == "cgroup2") return mount_cgroup(ctx, rootfd, m);
  bool dir = true;
  if (m.bind) {
    struct stat st{};
    if (::stat(m.source.c_str(), &st) < 0) return fail_errno("stat " + m.source);
    dir = S_ISDIR(st.st_mode);
  }
  if (m.type == "proc" || m.type == "sysfs") {
    // The runtime's later writes under /proc must reach this mount; a symlink there would
    // let the rootfs choose where it lands (CVE-2019-19921): only a real directory will do.
    if (auto at = resolve_nofollow(rootfd, m.destination)) {
      if (auto r = expect_dir(at->get(), m.destination); !r) {
        return fail(m.type + " must be mounted on an ordinary directory: " + r.error().what());
      }
    }
  }
  auto target = TRY(ensure(rootfd, m.destination, dir));
  // A file system or a directory goes on a directory, a file on a file (or a device node):
  // never on a FIFO or socket the image put there.
  if (dir) {
    TRY(expect_dir(target.get(), m.destination));
  } else {
    TRY(expect_file_or_chardev(target.get(), m.destination));
  }
  if (m.bind) {
    if (idmapped >= 0) {
      if (::move_mount(idmapped, "", target.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
        return fail_errno("move the idmapped mount of " + m.source + " on " + m.destination);
      }
    } else {
      TRY_CTX(mount_at(target.get(), m.source.c_str(), nullptr, MS_BIND | (m.flags & MS_REC), nullptr),
              "bind " + m.source + " on " + m.destination);
    }
    if (m.recursive_ro) {
      auto again = TRY(mounted(rootfd, m.destination));
      mount_attr attr{};
      (*m.recursive_ro ? attr.attr_set : attr.attr_clr) = MOUNT_ATTR_RDONLY;
      if (::mount_setattr(again.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0) {
        return fail_errno(std::string(*m.recursive_ro ? "rro" : "rrw") + " on " + m.destination);
      }
    }
    if ((m.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) != 0 || !m.propagation.empty()) {
      auto again = TRY(mounted(rootfd, m.destination));
      if ((m.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) != 0) {
        TRY_CTX(bind_remount(again.get(), m.flags), "remount " + m.destination);
      }
      TRY_CTX(apply_propagation(m, again.get()), m.destination);
    }
    return {};
  }
  unsigned long flags = m.flags & ~MS_REMOUNT;
  std::string label_data = m.data;
  const std::string& label = ctx.cfg->linux.mount_label;
  if (!label.empty() && m.type != "proc" && m.type != "sysfs") {
    // linux.mountLabel (SELinux; create has checked it is enabled) labels the file systems
    // the container gets fresh, as runc does.
    if (!label_data.empty()) label_data += ",";
    label_data += "context=\"" + label + "\"";
  }
  const char* data = label_data.empty() ? nullptr : label_data.c_str();
  if (auto r = mount_at(target.get(), m.source.c_str(), m.type.c_str(), flags, data); !r) {
    int e = r.error().code();
    // sysfs cannot be mounted without owning the network namespace: fall back to a
    // read-only recursive bind of the host's /sys, as runc does.
    if (m.type == "sysfs" && e == EPERM) {
      TRY_CTX(mount_at(target.get(), "/sys", nullptr, MS_BIND | MS_REC, nullptr), "bind /sys on " + m.destination);
      auto again = TRY(mounted(rootfd, m.destination));
      return bind_remount(again.get(), flags | MS_RDONLY);
    }
    return fail_errno("mount " + m.type + " on " + m.destination, e);
  }
  if (!m.propagation.empty()) {
    auto again = TRY(mounted(rootfd, m.destination));
    TRY_CTX(apply_propagation(m, again.get()), m.destination);
  }
  return {};
}

struct DefaultDevice {
  const char* path;
  unsigned major, minor;
};
constexpr DefaultDevice kDefaultDevices[] = {{"/dev/null", 1, 3},   {"/dev/zero", 1, 5},
                                             {"/dev/full", 1, 7},   {"/dev/random", 1, 8},
                                             {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}};

// The host's node at the same path, bound onto the container's.
Result<> bind_host_device(int rootfd, const spec::Device& d) {
  auto target = TRY(ensure(rootfd, d.path, false));
  TRY(expect_file_or_chardev(target.get(), d.path));
  TRY_CTX(mount_at(target.get(), d.path.c_str(), nullptr, MS_BIND, nullptr), "bind device " + d.path);
  return {};
}

Result<> make_device(const RootfsContext& ctx, int rootfd, const spec::Device& d) {
  // mknod is not allowed in a user namespace: bind the host's node instead.
  if (ctx.in_user_ns) return bind_host_device(rootfd, d);
  auto slash = d.path.rfind('/');
  std::string parent = d.path.substr(0, slash);
  std::string name = d.path.substr(slash + 1);
  auto pfd = TRY(ensure(rootfd, parent.empty() ? "/" : parent, true));
  // O_PATH dirfds serve *at calls; reopen as a real directory for mknodat.
  UniqueFd dfd(::openat(pfd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) return fail_errno("open " + parent);
  mode_t type = d.type == 'b' ? S_IFBLK : d.type == 'p' ? S_IFIFO : S_IFCHR;
  ::unlinkat(dfd.get(), name.c_str(), 0);
  // The spec's fileMode is exact: made with no umask rather than chmod'ed afterwards, which
  // would follow a link that another user of the rootfs put in the node's place meanwhile.
  mode_t old_umask = ::umask(0);
  int rc = ::mknodat(dfd.get(), name.c_str(), type | (d.file_mode & 07777),
                     makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor)));
  int e = errno;
  ::umask(old_umask);
  // A devices cgroup above ours that refuses mknod (a pod's slice with a device policy): the
  // host's node instead, as runc falls back.
  if (rc < 0 && e == EPERM && d.type != 'p') return bind_host_device(rootfd, d);
  if (rc < 0) return fail_errno("mknod " + d.path, e);
  if (::fchownat(dfd.get(), name.c_str(), d.uid, d.gid, AT_SYMLINK_NOFOLLOW) < 0) {
    return fail_errno("chown " + d.path);
  }
  return {};
}

Result<> make_dev_links(int rootfd) {
  auto dev = TRY(ensure(rootfd, "/dev", true));
  TRY(expect_dir(dev.get(), "/dev"));
  UniqueFd dfd(::openat(dev.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) return fail_errno("open /dev");
  const std::pair<const char*, const char*> links[] = {{"/proc/self/fd", "fd"},
                                                       {"/proc/self/fd/0", "stdin"},
                                                       {"/proc/self/fd/1", "stdout"},
                                                       {"/proc/self/fd/2", "stderr"},
                                                       {"pts/ptmx", "ptmx"}};
  for (auto [target, name] : links) {
    if (::symlinkat(target, dfd.get(), name) < 0 && errno != EEXIST) {
      return fail_errno(std::string("symlink /dev/") + name);
    }
  }
  for (const char* d : {"pts", "shm"}) {
    if (::mkdirat(dfd.get(), d, 0755) < 0 && errno != EEXIST) {
      return fail_errno(std::string("mkdir /dev/") + d);
    }
  }
  return {};
}

// Mask `p` (if it exists): a directory with an empty read-only tmpfs, anything else with
// the container's /dev/null (`null_dev`, found and checked at the first file).
Result<> mask(int rootfd, const std::string& p, const std::string& label, UniqueFd& null_dev) {
  auto target = resolve(rootfd, p);
  if (!target) return target.error().code() == ENOENT ? Result<>{} : fail(std::move(target.error()));
  struct stat st{};
  if (::fstat(target->get(), &st) < 0) return fail_errno("stat " + p);
  if (S_ISDIR(st.st_mode)) {
    return tmpfs_onto(target->get(), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, label);
  }
  if (!null_dev) null_dev = TRY(null_device(rootfd));
  return bind_onto(null_dev.get(), target->get(), false);
}

Result<> switch_root(const spec::Config& cfg, bool no_pivot, bool runtime_ns);

}  // namespace

Result<UniqueFd> prepare_rootfs(const spec::Config& cfg, bool runtime_ns) {
  if (!runtime_ns) {
    // Nothing mounted in this namespace may ever propagate back to the host, whatever
    // rootfsPropagation says: the whole tree becomes a slave first (the host's mounts still
    // reach us), so that neither the rootfs bind nor any mount below it joins a peer group
    // of the host's (a bundle on a shared mount would otherwise receive every container
    // mount). rootfsPropagation itself is applied to the new root after pivot_root
    // (enter_rootfs), where "shared" cannot make pivot_root fail and "unbindable" cannot
    // refuse the bind.
    if (::mount(nullptr, "/", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) return fail_errno("make / slave");
  }
  if (::mount(cfg.root.c_str(), cfg.root.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
    return fail_errno("bind rootfs " + cfg.root);
  }
  // In the runtime's own namespace (the config lists no mount namespace) the runtime's tree
  // is left as it is: only the rootfs bind is made private, so that the container's mounts
  // below it reach no other namespace; delete detaches it all (detach_rootfs_bind).
  if (runtime_ns && ::mount(nullptr, cfg.root.c_str(), nullptr, MS_PRIVATE | MS_REC, nullptr) < 0) {
    return fail_errno("make the rootfs bind private");
  }
  int fd = ::open(cfg.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail_errno("open rootfs " + cfg.root);
  return UniqueFd(fd);
}

uint64_t mount_id_at(const std::string& path) {
  struct statx sx{};
  if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) < 0) return 0;
  return (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0;
}

void detach_rootfs_bind(const std::string& root, uint64_t mount_before) {
  // Each detach removes the topmost mount at the path; ours sits on what was there.
  for (int i = 0; i < 8; ++i) {
    uint64_t now = mount_id_at(root);
    if (now == 0 || now == mount_before) return;
    if (::umount2(root.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) < 0) return;
  }
}

std::vector<std::string> default_device_paths() {
  std::vector<std::string> out;
  for (const auto& d : kDefaultDevices) out.emplace_back(d.path);
  return out;
}

Result<> mount_all(const RootfsContext& ctx, int rootfd) {
  const spec::Config& cfg = *ctx.cfg;
  bool dev_bound = false;
  for (size_t i = 0; i < cfg.mounts.size(); ++i) {
    const spec::Mount& m = cfg.mounts[i];
    if ((m.type == "cgroup" || m.type == "cgroup2") && ctx.join_cgroups) TRY(ctx.join_cgroups());
    if (m.type == "sysfs" && ctx.join_netns) TRY(ctx.join_netns());
    auto im = ctx.idmapped.find(i);
    TRY_CTX(mount_one(ctx, rootfd, m, im == ctx.idmapped.end() ? -1 : im->second),
            cfg.field("mounts[" + std::to_string(i) + "] (" + m.destination + ")"));
    if (m.destination == "/dev" && m.bind) dev_bound = true;
  }
  if (!dev_bound) {
    for (const auto& d : kDefaultDevices) {
      spec::Device dev;
      dev.path = d.path;
      dev.major = d.major;
      dev.minor = d.minor;
      TRY(make_device(ctx, rootfd, dev));
    }
    TRY(make_dev_links(rootfd));
  }
  for (size_t i = 0; i < cfg.linux.devices.size(); ++i) {
    const auto& d = cfg.linux.devices[i];
    TRY_CTX(make_device(ctx, rootfd, d), cfg.field("linux.devices[" + std::to_string(i) + "] (" + d.path + ")"));
  }
  return {};
}

Result<> enter_rootfs(const spec::Config& cfg, bool no_pivot, bool runtime_ns) {
  auto r = switch_root(cfg, no_pivot, runtime_ns);
  if (!r) return fail(std::move(r.error().context(cfg.field("root.path (" + cfg.root + ")"))));
  if (cfg.linux.rootfs_propagation != 0 &&
      ::mount(nullptr, "/", nullptr, cfg.linux.rootfs_propagation, nullptr) < 0) {
    return fail_errno(cfg.field("linux.rootfsPropagation: set the propagation of /"));
  }
  return {};
}

namespace {

Result<> switch_root(const spec::Config& cfg, bool no_pivot, bool runtime_ns) {
  if (::chdir(cfg.root.c_str()) < 0) return fail_errno("chdir " + cfg.root);
  if (runtime_ns) {
    // The runtime's namespace: its root must stay where it is.
    if (::chroot(".") < 0) return fail_errno("chroot");
  } else if (no_pivot) {
    if (::mount(".", "/", nullptr, MS_MOVE, nullptr) < 0) return fail_errno("move rootfs to /");
    if (::chroot(".") < 0) return fail_errno("chroot");
  } else {
    // pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves
    // the container on its rootfs without needing a directory for the old root.
    if (::syscall(SYS_pivot_root, ".", ".") < 0) return fail_errno("pivot_root");
    if (::umount2(".", MNT_DETACH) < 0) return fail_errno("detach the old root");
  }
  if (::chdir("/") < 0) return fail_errno("chdir /");
  return {};
}

}  // namespace

Result<> finish_rootfs(const spec::Config& cfg) {
  // After pivot_root: "/" is the container's root, and every path below is resolved inside
  // it again (a mount made above may have changed what a path leads to).
  UniqueFd rootfd(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd) return fail_errno("open /");
  UniqueFd null_dev;  // the container's /dev/null, checked once, for every masked file
  for (size_t i = 0; i < cfg.linux.masked_paths.size(); ++i) {
    const std::string& p = cfg.linux.masked_paths[i];
    auto r = mask(rootfd.get(), p, cfg.linux.mount_label, null_dev);
    if (!r) return fail(std::move(r.error().context(cfg.field("linux.maskedPaths[" + std::to_string(i) + "] (" + p + ")"))));
  }
  for (size_t i = 0; i < cfg.linux.readonly_paths.size(); ++i) {
    const std::string& p = cfg.linux.readonly_paths[i];
    auto target = resolve(rootfd.get(), p);
    auto r = !target ? (target.error().code() == ENOENT ? Result<>{} : fail(std::move(target.error())))
                     : bind_readonly(target->get());
    if (!r) return fail(std::move(r.error().context(cfg.field("linux.readonlyPaths[" + std::to_string(i) + "] (" + p + ")"))));
  }
  if (cfg.root_readonly) TRY_CTX(set_readonly(rootfd.get(), false), cfg.field("root.readonly"));
  return {};
}

}  // namespace nsbox::ns
