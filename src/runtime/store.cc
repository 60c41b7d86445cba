#include "runtime/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/fs.h"

namespace nsbox::runtime {

Result<> validate_id(const std::string& id) {
  if (id.empty()) return fail("container id must not be empty");
  if (id == "." || id == "..") return fail("invalid container id \"" + id + "\"");
  if (id.size() > 1024) return fail("container id is too long");
  for (unsigned char c : id) {
    if (!(std::isalnum(c) || c == '_' || c == '+' || c == '-' || c == '.')) {
      return fail("invalid container id \"" + id +
                  "\": only letters, digits, '_', '+', '-' and '.' are allowed");
    }
  }
  return {};
}

Result<ContainerDir> ContainerDir::create(const std::string& root, const std::string& id) {
  TRY(fs::mkdir_p(root, 0700));
  ContainerDir d;
  d.path_ = root + "/" + id;
  if (::mkdir(d.path_.c_str(), 0700) < 0) {
    if (errno == EEXIST) return fail("container with id \"" + id + "\" already exists");
    return fail_errno("create state directory " + d.path_);
  }
  d.fd_.reset(::open(d.path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d.fd_) {
    int e = errno;
    ::rmdir(d.path_.c_str());
    return fail_errno("open " + d.path_, e);
  }
  ::flock(d.fd_.get(), LOCK_EX);
  return d;
}

Result<ContainerDir> ContainerDir::open(const std::string& root, const std::string& id, bool lock) {
  TRY(validate_id(id));
  ContainerDir d;
  d.path_ = root + "/" + id;
  d.fd_.reset(::open(d.path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d.fd_) {
    if (errno == ENOENT) return fail("container \"" + id + "\" does not exist");
    return fail_errno("open " + d.path_);
  }
  if (lock && ::flock(d.fd_.get(), LOCK_EX) < 0) return fail_errno("lock " + d.path_);
  // A concurrent delete may have removed it while we waited for the lock.
  if (!fs::exists(d.fd_relative("state.json"))) {
    return fail("container \"" + id + "\" does not exist");
  }
  return d;
}

std::string ContainerDir::fd_relative(const std::string& name) const {
  return "/proc/self/fd/" + std::to_string(fd_.get()) + "/" + name;
}

Result<spec::State> ContainerDir::load() const {
  auto text = TRY(fs::read_file_at(fd_.get(), "state.json"));
  return spec::state_from_json(text, path_ + "/state.json");
}

Result<> ContainerDir::save(const spec::State& s) const {
  return fs::write_file_atomic(fd_.get(), "state.json", spec::state_to_json(s), 0600);
}

void ContainerDir::remove() { fs::remove_tree(path_); }

ProcInfo proc_info(pid_t pid) {
  ProcInfo info;
  if (pid <= 0) return info;
  auto stat = fs::read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return info;
  // Fields after the command name, which may itself contain ") ".
  auto close = stat->rfind(')');
  if (close == std::string::npos) return info;
  std::string rest = stat->substr(close + 2);
  std::vector<std::string> f;
  size_t i = 0;
  while (i < rest.size() && f.size() < 20) {
    size_t j = rest.find(' ', i);
    if (j == std::string::npos) j = rest.size();
    f.push_back(rest.substr(i, j - i));
    i = j + 1;
  }
  if (f.size() < 20) return info;
  // f[0] is field 3 (state); field 22 (starttime) is f[19].
  info.alive = f[0] != "Z" && f[0] != "X";
  info.start_time = std::stoull(f[19]);
  return info;
}

spec::Status current_status(const spec::State& s, const ContainerDir& dir) {
  return current_status_at(s, dir.fd(), kExecSocket);
}

spec::Status current_status_at(const spec::State& s, int atfd, const std::string& exec_socket) {
  ProcInfo p = proc_info(s.pid);
  if (!p.alive || p.start_time != s.start_time) return spec::Status::kStopped;
  if (::faccessat(atfd, exec_socket.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0) return spec::Status::kCreated;
  // A frozen cgroup means paused (v1 freezer.state or v2 cgroup.freeze).
  for (const auto& leaf : s.cgroup_leaves) {
    auto st = fs::read_file(leaf + "/freezer.state");
    if (st && st->starts_with("FROZEN")) return spec::Status::kPaused;
    auto fz = fs::read_file(leaf + "/cgroup.freeze");
    if (fz && fz->starts_with("1")) return spec::Status::kPaused;
  }
  return spec::Status::kRunning;
}

std::vector<std::string> list_ids(const std::string& root) {
  std::vector<std::string> out;
  DIR* d = ::opendir(root.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == ".." || e->d_type != DT_DIR) continue;
    out.push_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace nsbox::runtime
