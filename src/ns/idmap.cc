#include "ns/idmap.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fs.h"

namespace nsbox::ns {
namespace {

bool same(const std::vector<spec::IdMapping>& a, const std::vector<spec::IdMapping>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].container_id != b[i].container_id || a[i].host_id != b[i].host_id ||
        a[i].size != b[i].size) {
      return false;
    }
  }
  return true;
}

// A user namespace carrying the mount's own mappings: a child made in it waits while the
// maps are written and the namespace is opened, then exits; the descriptor keeps it.
Result<UniqueFd> userns_with(const spec::Mount& m) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return fail_errno("pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  clone_args args{};
  args.flags = CLONE_NEWUSER;
  args.exit_signal = SIGCHLD;
  pid_t pid = static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
  if (pid < 0) return fail_errno("clone a user namespace for the mount's mappings");
  if (pid == 0) {
    ::close(wr.get());  // EOF on rd once the runtime closes its end
    char c;
    (void)::read(rd.get(), &c, 1);
    ::_exit(0);
  }
  rd.reset();
  auto done = [&] {
    wr.reset();
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  };
  std::string base = "/proc/" + std::to_string(pid);
  auto r = fs::write_file(base + "/uid_map", spec::format_id_mappings(m.uid_mappings));
  if (r) r = fs::write_file(base + "/gid_map", spec::format_id_mappings(m.gid_mappings));
  if (!r) {
    done();
    return fail(std::move(r.error()).context("write the mount's id mappings"));
  }
  UniqueFd ns(::open((base + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC));
  int e = errno;
  done();
  if (!ns) return fail_errno("open the mount's user namespace", e);
  return ns;
}

Result<UniqueFd> container_userns(const spec::Config& cfg, pid_t container) {
  const spec::Namespace* u = cfg.find_ns(spec::NsKind::kUser);
  std::string path = u->path.empty() ? "/proc/" + std::to_string(container) + "/ns/user" : u->path;
  UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return fail_errno("open user namespace " + path);
  return ns;
}

}  // namespace

Result<std::vector<IdmappedMount>> make_idmapped_mounts(const spec::Config& cfg, pid_t container,
                                                        const std::string& file) {
  std::vector<IdmappedMount> out;
  for (size_t i = 0; i < cfg.mounts.size(); ++i) {
    const spec::Mount& m = cfg.mounts[i];
    if (!m.idmap) continue;
    std::string where = file + ": mounts[" + std::to_string(i) + "]: idmapped mount of " +
                        m.source + " on " + m.destination;
    bool own = m.uid_mappings.empty() ||
               (cfg.new_ns(spec::NsKind::kUser) && same(m.uid_mappings, cfg.linux.uid_mappings) &&
                same(m.gid_mappings, cfg.linux.gid_mappings));
    UniqueFd userns = own ? TRY_CTX(container_userns(cfg, container), where)
                          : TRY_CTX(userns_with(m), where);
    unsigned tree_flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((m.flags & MS_REC) ? AT_RECURSIVE : 0);
    UniqueFd tree(static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, m.source.c_str(), tree_flags)));
    if (!tree) return fail_errno(where + ": open_tree");
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_IDMAP;
    attr.userns_fd = static_cast<uint64_t>(userns.get());
    unsigned at = AT_EMPTY_PATH | (m.idmap_recursive ? AT_RECURSIVE : 0);
    if (::syscall(SYS_mount_setattr, tree.get(), "", at, &attr, sizeof attr) < 0) {
      if (errno == EINVAL) {
        return fail_errno(where + ": the file system (or this kernel) does not support idmapped mounts");
      }
      return fail_errno(where);
    }
    out.push_back({i, std::move(tree)});
  }
  return out;
}

}  // namespace nsbox::ns
