#include "ns/rootfs.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>

namespace nsbox::ns {
namespace {

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

int openat2_in_root(int rootfd, const std::string& path, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string rel = path;
  while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
  if (rel.empty()) rel = ".";
  long r;
  do {
    r = ::syscall(SYS_openat2, rootfd, rel.c_str(), &how, sizeof how);
  } while (r < 0 && errno == EAGAIN);
  return static_cast<int>(r);
}

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

Result<> bind_remount(const std::string& target, unsigned long flags, int fd) {
  unsigned long f = MS_BIND | MS_REMOUNT | (flags & ~(MS_BIND | MS_REC | MS_REMOUNT));
  if (::mount(nullptr, target.c_str(), nullptr, f, nullptr) == 0) return {};
  if (errno == EPERM) {
    unsigned long keep = locked_flags(fd) & ~MS_RDONLY;
    if (::mount(nullptr, target.c_str(), nullptr, f | keep, nullptr) == 0) return {};
  }
  return fail_errno("remount");
}

Result<> apply_propagation(const spec::Mount& m, const std::string& target) {
  for (unsigned long p : m.propagation) {
    if (::mount(nullptr, target.c_str(), nullptr, p, nullptr) < 0) {
      return fail_errno("set propagation");
    }
  }
  return {};
}

Result<> mount_cgroup(const RootfsContext& ctx, int rootfd, const spec::Mount& m) {
  bool own_ns = ctx.cfg->new_ns(spec::NsKind::kCgroup);
  unsigned long flags = m.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  auto dest = TRY(open_in_root(rootfd, m.destination, true, true));
  if (ctx.cgroup_leaves.empty()) {
    // No cgroup of its own (rootless, nothing delegated): the host's tree, read-only, as
    // for a sysfs that cannot be mounted.
    if (::mount("/sys/fs/cgroup", fd_path(dest.get()).c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
      return fail_errno("bind /sys/fs/cgroup on " + m.destination);
    }
    auto again = TRY(open_in_root(rootfd, m.destination, false, true));
    return bind_remount(fd_path(again.get()), flags | MS_RDONLY, again.get());
  }
  // Pure cgroup v2: one cgroup2 mount (or a bind of our own directory without a cgroupns).
  bool unified = ctx.hierarchies.size() == 1 && ctx.hierarchies[0].fstype == "cgroup2";
  if (unified) {
    int r = own_ns ? ::mount("cgroup2", fd_path(dest.get()).c_str(), "cgroup2", flags, nullptr)
                   : ::mount(ctx.cgroup_leaves.at(0).c_str(), fd_path(dest.get()).c_str(), nullptr,
                             MS_BIND | MS_REC, nullptr);
    if (r < 0) return fail_errno("mount cgroup2 on " + m.destination);
    if (!own_ns && (flags & MS_RDONLY)) {
      auto again = TRY(open_in_root(rootfd, m.destination, false, true));
      TRY_CTX(bind_remount(fd_path(again.get()), flags, again.get()), "remount " + m.destination);
    }
    return {};
  }
  // v1 or hybrid: a tmpfs holding one directory per hierarchy, named as on the host.
  if (::mount("tmpfs", fd_path(dest.get()).c_str(), "tmpfs", flags & ~MS_RDONLY, "mode=755") < 0) {
    return fail_errno("mount tmpfs on " + m.destination);
  }
  for (size_t i = 0; i < ctx.hierarchies.size(); ++i) {
    const auto& h = ctx.hierarchies[i];
    std::string name = h.mountpoint.substr(h.mountpoint.rfind('/') + 1);
    std::string sub = m.destination + "/" + name;
    auto fd = TRY(open_in_root(rootfd, sub, true, true));
    int r;
    if (own_ns) {
      std::string opts = h.fstype == "cgroup" ? h.controllers : "";
      if (opts.starts_with("name=")) opts = "none," + opts;
      r = ::mount("cgroup", fd_path(fd.get()).c_str(), h.fstype.c_str(), flags,
                  opts.empty() ? nullptr : opts.c_str());
    } else {
      r = ::mount(ctx.cgroup_leaves.at(i).c_str(), fd_path(fd.get()).c_str(), nullptr,
                  MS_BIND | MS_REC, nullptr);
      if (r == 0 && flags != 0) {
        auto again = TRY(open_in_root(rootfd, sub, false, true));
        TRY_CTX(bind_remount(fd_path(again.get()), flags, again.get()), "remount " + sub);
      }
    }
    if (r < 0) return fail_errno("mount cgroup on " + sub);
  }
  if (flags & MS_RDONLY) {
    auto again = TRY(open_in_root(rootfd, m.destination, false, true));
    TRY_CTX(bind_remount(fd_path(again.get()), flags | MS_RDONLY, again.get()),
            "remount " + m.destination);
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
    UniqueFd at(openat2_in_root(rootfd, m.destination, O_PATH | O_NOFOLLOW));
    struct stat st{};
    if (at && ::fstat(at.get(), &st) == 0 && !S_ISDIR(st.st_mode)) {
      return fail(m.type + " must be mounted on an ordinary directory: " + m.destination + " is not one");
    }
  }
  auto target = TRY(open_in_root(rootfd, m.destination, true, dir));
  std::string tp = fd_path(target.get());
  if (m.bind) {
    if (idmapped >= 0) {
      if (::syscall(SYS_move_mount, idmapped, "", target.get(), "",
                    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
        return fail_errno("move the idmapped mount of " + m.source + " on " + m.destination);
      }
    } else if (::mount(m.source.c_str(), tp.c_str(), nullptr, MS_BIND | (m.flags & MS_REC), nullptr) < 0) {
      return fail_errno("bind " + m.source + " on " + m.destination);
    }
    if (m.recursive_ro) {
      auto again = TRY(open_in_root(rootfd, m.destination, false, dir));
      mount_attr attr{};
      (*m.recursive_ro ? attr.attr_set : attr.attr_clr) = MOUNT_ATTR_RDONLY;
      if (::syscall(SYS_mount_setattr, again.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0) {
        return fail_errno(std::string(*m.recursive_ro ? "rro" : "rrw") + " on " + m.destination);
      }
    }
    if ((m.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) != 0 || !m.propagation.empty()) {
      // The fd still names the covered directory: reopen to reach the new mount.
      auto again = TRY(open_in_root(rootfd, m.destination, false, dir));
      std::string ap = fd_path(again.get());
      if ((m.flags & ~(MS_BIND | MS_REC | MS_REMOUNT)) != 0) {
        TRY_CTX(bind_remount(ap, m.flags, again.get()), "remount " + m.destination);
      }
      TRY_CTX(apply_propagation(m, ap), m.destination);
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
  if (::mount(m.source.c_str(), tp.c_str(), m.type.c_str(), flags, data) < 0) {
    int e = errno;
    // sysfs cannot be mounted without owning the network namespace: fall back to a
    // read-only recursive bind of the host's /sys, as runc does.
    if (m.type == "sysfs" && e == EPERM) {
      if (::mount("/sys", tp.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
        return fail_errno("bind /sys on " + m.destination);
      }
      auto again = TRY(open_in_root(rootfd, m.destination, false, true));
      return bind_remount(fd_path(again.get()), flags | MS_RDONLY, again.get());
    }
    return fail_errno("mount " + m.type + " on " + m.destination, e);
  }
  if (!m.propagation.empty()) {
    auto again = TRY(open_in_root(rootfd, m.destination, false, true));
    TRY_CTX(apply_propagation(m, fd_path(again.get())), m.destination);
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

Result<> make_device(const RootfsContext& ctx, int rootfd, const spec::Device& d) {
  if (ctx.in_user_ns) {
    // mknod is not allowed in a user namespace: bind the host's node instead.
    auto target = TRY(open_in_root(rootfd, d.path, true, false));
    if (::mount(d.path.c_str(), fd_path(target.get()).c_str(), nullptr, MS_BIND, nullptr) < 0) {
      return fail_errno("bind device " + d.path);
    }
    return {};
  }
  auto slash = d.path.rfind('/');
  std::string parent = d.path.substr(0, slash);
  std::string name = d.path.substr(slash + 1);
  auto pfd = TRY(open_in_root(rootfd, parent.empty() ? "/" : parent, true, true));
  // O_PATH dirfds serve *at calls; reopen as a real directory for mknodat.
  UniqueFd dfd(::openat(pfd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) return fail_errno("open " + parent);
  mode_t type = d.type == 'b' ? S_IFBLK : d.type == 'p' ? S_IFIFO : S_IFCHR;
  ::unlinkat(dfd.get(), name.c_str(), 0);
  if (::mknodat(dfd.get(), name.c_str(), type | (d.file_mode & 07777),
                makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor))) < 0) {
    return fail_errno("mknod " + d.path);
  }
  // mknod obeys the umask; the spec's fileMode is exact.
  if (::fchmodat(dfd.get(), name.c_str(), d.file_mode & 07777, 0) < 0) {
    return fail_errno("chmod " + d.path);
  }
  if (::fchownat(dfd.get(), name.c_str(), d.uid, d.gid, AT_SYMLINK_NOFOLLOW) < 0) {
    return fail_errno("chown " + d.path);
  }
  return {};
}

Result<> make_dev_links(int rootfd) {
  auto dev = TRY(open_in_root(rootfd, "/dev", true, true));
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

}  // namespace

namespace {

// Create `path` (a directory, or an empty file when !want_dir) and whatever parents it
// lacks, each step resolved inside the root again. Commonly only the last component is
// missing: one open of its parent and one mkdir.
Result<> create_in_root(int rootfd, std::string path, bool want_dir) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  size_t slash = path.rfind('/');
  std::string parent = slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
  std::string part = slash == std::string::npos ? path : path.substr(slash + 1);
  if (part.empty() || part == "/") return {};  // the root itself
  UniqueFd pfd(openat2_in_root(rootfd, parent, O_PATH | O_DIRECTORY));
  if (!pfd) {
    if (errno != ENOENT) return fail_errno("resolve " + parent + " in the rootfs");
    TRY(create_in_root(rootfd, parent, true));
    pfd.reset(openat2_in_root(rootfd, parent, O_PATH | O_DIRECTORY));
    if (!pfd) return fail_errno("resolve " + parent + " in the rootfs");
  }
  if (!want_dir) {
    UniqueFd f(::openat(pfd.get(), part.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!f && errno != EEXIST) return fail_errno("create " + path + " in the rootfs");
  } else if (::mkdirat(pfd.get(), part.c_str(), 0755) < 0 && errno != EEXIST) {
    return fail_errno("mkdir " + path + " in the rootfs");
  }
  return {};
}

}  // namespace

Result<UniqueFd> open_in_root(int rootfd, const std::string& path, bool create, bool want_dir) {
  int fd = openat2_in_root(rootfd, path, O_PATH);
  if (fd >= 0) return UniqueFd(fd);
  if (errno != ENOENT || !create) return fail_errno("resolve " + path + " in the rootfs");
  TRY(create_in_root(rootfd, path[0] == '/' ? path : "/" + path, want_dir));
  fd = openat2_in_root(rootfd, path, O_PATH);
  if (fd < 0) return fail_errno("resolve " + path + " in the rootfs");
  return UniqueFd(fd);
}

Result<UniqueFd> prepare_rootfs(const spec::Config& cfg) {
  // Nothing we mount may propagate back to the host: make the whole tree slave (or what
  // rootfsPropagation asks) before the first mount.
  unsigned long prop = cfg.linux.rootfs_propagation ? cfg.linux.rootfs_propagation
                                                    : (MS_SLAVE | MS_REC);
  if (::mount(nullptr, "/", nullptr, prop, nullptr) < 0) {
    return fail_errno("make / " + std::string((prop & MS_SHARED) ? "shared" : "slave"));
  }
  if (::mount(cfg.root.c_str(), cfg.root.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
    return fail_errno("bind rootfs " + cfg.root);
  }
  // pivot_root needs the new root's mount not to be shared with the host's.
  if ((prop & MS_SHARED) && ::mount(nullptr, cfg.root.c_str(), nullptr, MS_PRIVATE, nullptr) < 0) {
    return fail_errno("make rootfs private");
  }
  int fd = ::open(cfg.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail_errno("open rootfs " + cfg.root);
  return UniqueFd(fd);
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
            "mount " + m.destination);
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
  for (const auto& d : cfg.linux.devices) TRY(make_device(ctx, rootfd, d));
  return {};
}

Result<> enter_rootfs(const spec::Config& cfg, bool no_pivot) {
  if (::chdir(cfg.root.c_str()) < 0) return fail_errno("chdir " + cfg.root);
  if (no_pivot) {
    if (::mount(".", "/", nullptr, MS_MOVE, nullptr) < 0) return fail_errno("move rootfs to /");
    if (::chroot(".") < 0) return fail_errno("chroot");
  } else {
    // pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves
    // the container on its rootfs without needing a directory for the old root.
    if (::syscall(SYS_pivot_root, ".", ".") < 0) return fail_errno("pivot_root");
    if (::umount2(".", MNT_DETACH) < 0) return fail_errno("detach the old root");
  }
  if (::chdir("/") < 0) return fail_errno("chdir /");
  if (cfg.linux.rootfs_propagation != 0 &&
      ::mount(nullptr, "/", nullptr, cfg.linux.rootfs_propagation, nullptr) < 0) {
    return fail_errno("set rootfs propagation");
  }
  return {};
}

Result<> finish_rootfs(const spec::Config& cfg) {
  for (const auto& p : cfg.linux.masked_paths) {
    struct stat st{};
    if (::stat(p.c_str(), &st) < 0) {
      if (errno == ENOENT) continue;
      return fail_errno("mask " + p);
    }
    int r = S_ISDIR(st.st_mode)
                ? ::mount("tmpfs", p.c_str(), "tmpfs", MS_RDONLY, nullptr)
                : ::mount("/dev/null", p.c_str(), nullptr, MS_BIND, nullptr);
    if (r < 0) return fail_errno("mask " + p);
  }
  for (const auto& p : cfg.linux.readonly_paths) {
    if (::mount(p.c_str(), p.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
      if (errno == ENOENT) continue;
      return fail_errno("bind " + p + " read-only");
    }
    UniqueFd fd(::open(p.c_str(), O_PATH | O_CLOEXEC));
    TRY_CTX(bind_remount(p, MS_RDONLY, fd.get()),
            "make " + p + " read-only");
  }
  if (cfg.root_readonly) {
    UniqueFd fd(::open("/", O_PATH | O_CLOEXEC));
    TRY_CTX(bind_remount("/", MS_RDONLY, fd.get()), "make the rootfs read-only");
  }
  return {};
}

}  // namespace nsbox::ns
