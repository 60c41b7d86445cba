#include "base/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "base/unique_fd.h"

namespace nsbox::fs {
namespace {

// Everything up to end of file, or an error past `limit` bytes (a file that grows while
// read, standard input without end).
Result<std::string> read_all(int fd, const std::string& what, size_t limit = SIZE_MAX) {
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read " + what);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > limit) return fail(what + ": too large (more than " + std::to_string(limit) + " bytes)");
  }
  return out;
}

Result<> write_all(int fd, std::string_view data, const std::string& what) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("write " + what);
    }
    off += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace

Result<std::string> read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open " + path);
  return read_all(fd.get(), path);
}

Result<std::string> read_document(int dirfd, const std::string& path, const std::string& shown) {
  if (path == "-") return read_document_fd(0, shown);
  // O_NONBLOCK: opening a FIFO must not wait for a writer.
  UniqueFd fd(::openat(dirfd, path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return fail_errno("open " + shown);
  return read_document_fd(fd.get(), shown);
}

Result<std::string> read_document_fd(int fd, const std::string& shown) {
  if (fd != 0) {
    struct stat st{};
    if (::fstat(fd, &st) < 0) return fail_errno("stat " + shown);
    if (!S_ISREG(st.st_mode)) return fail(shown + ": not a regular file");
    if (static_cast<uint64_t>(st.st_size) > kMaxDocument) {
      return fail(shown + ": too large (" + std::to_string(st.st_size) + " bytes; at most " +
                  std::to_string(kMaxDocument) + ")");
    }
  }
  return read_all(fd, shown, kMaxDocument);
}

Result<std::string> read_fd(int fd) { return read_all(fd, "fd " + std::to_string(fd)); }

Result<std::string> read_file_at(int dirfd, const std::string& name) {
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open " + name);
  return read_all(fd.get(), name);
}

Result<> write_file(const std::string& path, std::string_view data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return fail_errno("open " + path);
  return write_all(fd.get(), data, path);
}

Result<> write_proc_file(const std::string& path, std::string_view data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return fail_errno("open " + path);
  struct statfs sf{};
  if (::fstatfs(fd.get(), &sf) < 0) return fail_errno("statfs " + path);
  if (sf.f_type != PROC_SUPER_MAGIC) return fail(path + " is not on procfs");
  return write_all(fd.get(), data, path);
}

Result<> write_file_atomic(int dirfd, const std::string& name, std::string_view data, int mode) {
  // The temporary is a new file of ours, never something found there: in a directory that
  // others may write (a pid file's), a link or file planted under a name we would use is
  // refused by O_EXCL (and O_NOFOLLOW), and the name is unpredictable anyway.
  std::string tmp;
  UniqueFd fd;
  for (int attempt = 0; attempt < 100 && !fd; ++attempt) {
    uint64_t r = 0;
    if (::getrandom(&r, sizeof r, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof r)) r ^= static_cast<uint64_t>(::getpid()) << 20 ^ static_cast<uint64_t>(attempt);
    char suffix[20];
    std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(r));
    tmp = "." + name + "." + suffix;
    fd.reset(::openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    if (!fd && errno != EEXIST) return fail_errno("create " + tmp);
  }
  if (!fd) return fail_errno("create a temporary file for " + name);
  if (auto r = write_all(fd.get(), data, tmp); !r) {
    ::unlinkat(dirfd, tmp.c_str(), 0);
    return r;
  }
  fd.reset();
  if (::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) < 0) {
    int e = errno;
    ::unlinkat(dirfd, tmp.c_str(), 0);
    return fail_errno("rename " + tmp + " to " + name, e);
  }
  return {};
}

Result<> write_file_atomic(const std::string& path, std::string_view data, int mode) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) return fail_errno("open " + dir);
  if (auto r = write_file_atomic(dfd.get(), name, data, mode); !r) {
    return fail(std::move(r.error().context("write " + path)));
  }
  return {};
}

Result<> mkdir_p(const std::string& path, int mode) {
  if (path.empty()) return {};
  std::string cur;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    cur = path.substr(0, j);
    if (!cur.empty() && ::mkdir(cur.c_str(), static_cast<mode_t>(mode)) < 0 && errno != EEXIST) {
      return fail_errno("mkdir " + cur);
    }
    i = j + 1;
  }
  return {};
}

void remove_tree(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (d != nullptr) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      std::string p = path + "/" + n;
      if (e->d_type == DT_DIR) {
        remove_tree(p);
      } else {
        ::unlink(p.c_str());
      }
    }
    ::closedir(d);
  }
  ::rmdir(path.c_str());
}

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

std::string clean_abs(const std::string& p) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string part = p.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (auto& s : parts) out += "/" + s;
  return out.empty() ? "/" : out;
}

}  // namespace nsbox::fs
