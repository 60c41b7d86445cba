// The container's file system, built inside its new mount namespace. Every path in the
// rootfs is reached through ns/in_root.h, so a symlink in an image can never point a mount
// or a write at the host.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "cgroup/cgroup.h"
#include "spec/config.h"

namespace nsbox::ns {

struct RootfsContext {
  const spec::Config* cfg = nullptr;
  bool in_user_ns = false;  // mknod is refused: bind-mount host device nodes instead
  std::vector<cgroup::Hierarchy> hierarchies;
  std::vector<std::string> cgroup_leaves;
  std::map<size_t, int> idmapped;  // mounts[] index -> detached idmapped mount (ns/idmap.h)
  // Called before the first cgroup mount: the process must be in its cgroups (and its
  // cgroup namespace) by then.
  std::function<Result<>()> join_cgroups;
  // Called before the first sysfs mount: the process must be in its network namespace.
  std::function<Result<>()> join_netns;
};

// Bind the rootfs onto itself, after making the mount tree a slave of the host's, or, in the
// runtime's own mount namespace (`runtime_ns`: the config lists no mount namespace), making
// only the bind private.
Result<UniqueFd> prepare_rootfs(const spec::Config& cfg, bool runtime_ns);
// Mount config.mounts, create devices and /dev links, all inside `rootfd`.
Result<> mount_all(const RootfsContext& ctx, int rootfd);
// Switch root: pivot_root (or MS_MOVE + chroot when `no_pivot`; chroot only in the
// runtime's namespace).
Result<> enter_rootfs(const spec::Config& cfg, bool no_pivot, bool runtime_ns);
// After the switch: masked and read-only paths, read-only root.
Result<> finish_rootfs(const spec::Config& cfg);

// The mount id of what is mounted at `path` (statx), 0 if unknown.
uint64_t mount_id_at(const std::string& path);
// A container without a mount namespace of its own left its rootfs bind (and everything
// mounted below it) in the runtime's namespace: detach them, down to the mount that was at
// `root` before (`mount_before`, from mount_id_at ahead of create).
void detach_rootfs_bind(const std::string& root, uint64_t mount_before);

// The device nodes every container gets (/dev/null, /dev/zero...), by path.
std::vector<std::string> default_device_paths();

}  // namespace nsbox::ns
