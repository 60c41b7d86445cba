// The one way to reach a path inside the container's root file system.
//
// The root file system comes from an image: any path in it may be a symlink to a host file,
// may be swapped for one while we work (another container sharing the rootfs, a process
// exec'd into a created container), or may be a device or FIFO where a directory is
// expected. Every place that mounts, opens, creates or changes a file for the container goes
// through these functions: paths are resolved as if `rootfd` were "/" (openat2 with
// RESOLVE_IN_ROOT, no /proc magic link followed), the result is held as a descriptor, its
// type is checked where a device or a directory is expected, and mounts are made from and
// onto descriptors (open_tree, move_mount, fsmount, mount_setattr), never by a path that
// could be resolved again differently.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "base/unique_fd.h"

namespace nsbox::ns {

// `path` inside `rootfd`, opened O_PATH; symlinks are followed, but only within the root.
Result<UniqueFd> resolve(int rootfd, const std::string& path);
// The same without following a symlink in the last component: a link is returned as such
// (callers that need a file or device refuse it through check_type).
Result<UniqueFd> resolve_nofollow(int rootfd, const std::string& path);
// `path` inside `rootfd` opened for I/O with `flags` (O_RDWR, O_WRONLY..., and O_NOFOLLOW
// where the last component must not be a link).
Result<UniqueFd> open_file(int rootfd, const std::string& path, int flags);
// resolve(), making what is missing: directories, and an empty file as the last component
// when `want_dir` is false. Nothing existing is opened for writing or truncated.
Result<UniqueFd> ensure(int rootfd, const std::string& path, bool want_dir);

// Type checks on a resolved descriptor; the error names `what`.
Result<> expect_dir(int fd, const std::string& what);
// A regular file or a character device (mount targets for a file: /dev/console...).
Result<> expect_file_or_chardev(int fd, const std::string& what);
// The character device major:minor.
Result<> expect_chardev(int fd, unsigned major, unsigned minor, const std::string& what);

// /dev/null of the root: the character device 1:3 itself, not a link or another file
// (runc's CVE-2025-31133: a /dev/null that is a link makes a mask a writable view).
Result<UniqueFd> null_device(int rootfd);

// Mounts on descriptors. Before pivot_root the runtime-side /proc is the host's, so
// mount_at() may name the target as /proc/self/fd/N; afterwards only the fd-based calls
// (bind_onto, tmpfs_onto, set_readonly) are used, which need no /proc at all.
// A classic mount(2) of `source` (a file system, or a host path for a bind) onto `target`.
Result<> mount_at(int target, const char* source, const char* fstype, unsigned long flags,
                  const char* data);
// A copy of the mount tree at `source` (recursive or not) put on `target`.
Result<> bind_onto(int source, int target, bool recursive);
// A fresh tmpfs with mount attributes `attrs` (MOUNT_ATTR_*) and SELinux `label` ("" none).
Result<> tmpfs_onto(int target, unsigned attrs, const std::string& label);
// Make the mount that `mount_root` is the root of read-only (recursively or not), keeping
// every other flag it has (nosuid, nodev, noexec...).
Result<> set_readonly(int mount_root, bool recursive);
// A bind of `target` onto itself, made read-only (recursively), keeping its other flags.
Result<> bind_readonly(int target);

// Write `data` to a file that must be procfs's own (sysctls, oom_score_adj, LSM
// attributes), resolved inside `rootfd`: a link or a mount that leads elsewhere is refused.
Result<> write_proc(int rootfd, const std::string& path, std::string_view data);

// "/proc/self/fd/N": for calls that take only a path, before pivot_root.
std::string fd_path(int fd);

}  // namespace nsbox::ns
