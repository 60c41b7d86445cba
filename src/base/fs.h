// Small file helpers shared by the state store, cgroups and the container init.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace nsbox::fs {

Result<std::string> read_file(const std::string& path);
// A document the runtime was given (config.json, a process or resources file, state.json):
// it must be a regular file (not a FIFO, a device such as /dev/zero, or a directory) of at
// most kMaxDocument bytes. The error names the file and the reason. `dirfd` AT_FDCWD: `path`
// as it is. "-" reads standard input, up to the same size.
inline constexpr size_t kMaxDocument = 64 << 20;
Result<std::string> read_document(int dirfd, const std::string& path, const std::string& shown);
inline Result<std::string> read_document(const std::string& path) { return read_document(-100, path, path); }
// The same for a file already open (`fd` 0: standard input, whatever it is).
Result<std::string> read_document_fd(int fd, const std::string& shown);
Result<std::string> read_fd(int fd);
Result<std::string> read_file_at(int dirfd, const std::string& name);
// Write the whole buffer to an existing file (proc and cgroup files: no O_CREAT, no O_TRUNC).
Result<> write_file(const std::string& path, std::string_view data);
// The same for a file that must be procfs's own (sysctls, LSM attributes, oom_score_adj in
// the container): a symlink or a mount over it that leads elsewhere is refused, so that a
// rootfs cannot redirect the runtime's writes (CVE-2019-16884 class).
Result<> write_proc_file(const std::string& path, std::string_view data);
// Create or replace `name` in dirfd atomically: temp file, fsync-free write, rename.
Result<> write_file_atomic(int dirfd, const std::string& name, std::string_view data, int mode = 0644);
Result<> write_file_atomic(const std::string& path, std::string_view data, int mode = 0644);
Result<> mkdir_p(const std::string& path, int mode = 0755);
// Remove a directory tree (state directories only; never crosses mounts it does not own).
void remove_tree(const std::string& path);
bool exists(const std::string& path);
// Lexical cleaning of an absolute path: collapses "//" and ".", and ".." stops at "/".
std::string clean_abs(const std::string& path);

}  // namespace nsbox::fs
