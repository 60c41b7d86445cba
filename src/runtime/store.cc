#include "runtime/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/fs.h"
#include "base/lock.h"

namespace nsbox::runtime {

Result<> validate_id(const std::string& id) {
  if (id.empty()) return fail("container id must not be empty");
  if (id == "." || id == "..") return fail("invalid container id \"" + id + "\"");
  // The id names the state directory and the default cgroup ("nsbox-<id>"): both must fit
  // in a file name (255 bytes).
  if (id.size() > kMaxIdLength) {
    return fail("container id is too long (" + std::to_string(id.size()) + " characters; at most " +
                std::to_string(kMaxIdLength) + ")");
  }
  for (unsigned char c : id) {
    if (!(std::isalnum(c) || c == '_' || c == '+' || c == '-' || c == '.')) {
      return fail("invalid container id \"" + id +
                  "\": only letters, digits, '_', '+', '-' and '.' are allowed");
    }
  }
  return {};
}

namespace {

Result<> lock_bounded(int fd, Lock mode, const std::string& id) {
  if (mode == Lock::kNone) return {};
  return flock_bounded(fd, mode == Lock::kShared ? LOCK_SH : LOCK_EX, "container \"" + id + "\"");
}

}  // namespace

Result<ContainerDir> ContainerDir::create(const std::string& root, const std::string& id) {
  TRY(fs::mkdir_p(root, 0700));
  ContainerDir d;
  d.id_ = id;
  d.path_ = root + "/" + id;
  // The directory appears under the container's name already locked: made under a name no
  // id can have (':'), locked, then renamed into place. Another command (a delete --force)
  // can never find it unlocked and half made.
  std::string tmp = root + "/creating:" + std::to_string(::getpid());
  if (::mkdir(tmp.c_str(), 0700) < 0) return fail_errno("create state directory " + tmp);
  d.fd_.reset(::open(tmp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d.fd_) {
    int e = errno;
    ::rmdir(tmp.c_str());
    return fail_errno("open " + tmp, e);
  }
  ::flock(d.fd_.get(), LOCK_EX);
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, d.path_.c_str(), RENAME_NOREPLACE) < 0) {
    int e = errno;
    ::rmdir(tmp.c_str());
    if (e == EEXIST) return fail("container with id \"" + id + "\" already exists");
    return fail_errno("create state directory " + d.path_, e);
  }
  return d;
}

Result<ContainerDir> ContainerDir::open(const std::string& root, const std::string& id, Lock lock,
                                        bool any) {
  TRY(validate_id(id));
  ContainerDir d;
  d.id_ = id;
  d.path_ = root + "/" + id;
  d.fd_.reset(::open(d.path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d.fd_) {
    if (errno == ENOENT) return fail("container \"" + id + "\" does not exist");
    return fail_errno("open " + d.path_);
  }
  TRY(lock_bounded(d.fd_.get(), lock, id));
  // A concurrent delete may have removed it while we waited for the lock (its directory
  // is then gone from the root, or emptied: a new container of that name is another).
  struct stat here{}, named{};
  if (::fstat(d.fd_.get(), &here) < 0 || ::stat(d.path_.c_str(), &named) < 0 ||
      here.st_ino != named.st_ino || here.st_dev != named.st_dev ||
      (!any && !d.has_state())) {
    return fail("container \"" + id + "\" does not exist");
  }
  return d;
}

Result<> ContainerDir::lock(Lock mode) { return lock_bounded(fd_.get(), mode, id_); }

void ContainerDir::unlock() { ::flock(fd_.get(), LOCK_UN); }

bool ContainerDir::has_state() const {
  return ::faccessat(fd_.get(), "state.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

std::string ContainerDir::fd_relative(const std::string& name) const {
  return "/proc/self/fd/" + std::to_string(fd_.get()) + "/" + name;
}

Result<spec::State> ContainerDir::load() const {
  auto text = TRY(fs::read_document(fd_.get(), "state.json", path_ + "/state.json"));
  return spec::state_from_json(text, path_ + "/state.json");
}

Result<> ContainerDir::save(const spec::State& s) const {
  return fs::write_file_atomic(fd_.get(), "state.json", spec::state_to_json(s), 0600);
}

Result<> ContainerDir::save_footprint(const spec::Footprint& f) const {
  // Written once, before anything it names exists: a plain write (a torn one reads as
  // damaged, and delete --force then derives the cgroups from the id).
  UniqueFd out(::openat(fd_.get(), "footprint.json", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) return fail_errno("create " + path_ + "/footprint.json");
  std::string text = spec::footprint_to_json(f);
  if (::write(out.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return fail_errno("write " + path_ + "/footprint.json");
  }
  return {};
}

Result<spec::Footprint> ContainerDir::load_footprint() const {
  auto text = TRY(fs::read_document(fd_.get(), "footprint.json", path_ + "/footprint.json"));
  return spec::footprint_from_json(text, path_ + "/footprint.json");
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
  return current_status_at(s, dir.fd(), ".");
}

spec::Status current_status_at(const spec::State& s, int atfd, const std::string& dir) {
  ProcInfo p = proc_info(s.pid);
  if (!p.alive || p.start_time != s.start_time) return spec::Status::kStopped;
  // A frozen cgroup means paused (v1 freezer.state or v2 cgroup.freeze), a created
  // container too (as runc: `start` then refuses it until it is resumed).
  if (!s.freezer.empty()) {
    auto f = fs::read_file(s.freezer);
    if (f && (f->starts_with("FROZEN") || f->starts_with("1"))) return spec::Status::kPaused;
  }
  auto at = [&](const char* name) {
    return ::faccessat(atfd, (dir + "/" + name).c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0;
  };
  if (at(kExecSocket)) return spec::Status::kCreated;
  if (at(kExecSocketCreating)) return spec::Status::kCreating;
  return spec::Status::kRunning;
}

bool container_exists(const std::string& root, const std::string& id) { return fs::exists(root + "/" + id); }

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
