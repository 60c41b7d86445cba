#include "cgroup/members.h"

#include <dirent.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "base/fs.h"
#include "base/unique_fd.h"
#include "cgroup/control.h"

namespace nsbox::cgroup {
namespace {

// Every line of cgroup.procs in `dir` (and below): 0 for a process the reader cannot see.
void read_procs(const std::string& dir, bool below, std::vector<pid_t>& out) {
  if (auto procs = fs::read_file(dir + "/cgroup.procs")) {
    size_t i = 0;
    while (i < procs->size()) {
      size_t j = procs->find('\n', i);
      if (j == std::string::npos) j = procs->size();
      if (j > i) out.push_back(static_cast<pid_t>(std::strtol(procs->c_str() + i, nullptr, 10)));
      i = j + 1;
    }
  }
  if (!below) return;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> subdirs;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (e->d_type == DT_DIR && n != "." && n != "..") subdirs.push_back(dir + "/" + n);
  }
  ::closedir(d);
  for (const auto& s : subdirs) read_procs(s, true, out);
}

// The first leaf whose cgroup.procs can be read: the processes are the same in each.
const std::string* readable_leaf(const std::vector<std::string>& leaves) {
  for (const auto& l : leaves) {
    if (::access((l + "/cgroup.procs").c_str(), R_OK) == 0) return &l;
  }
  return nullptr;
}

}  // namespace

std::vector<pid_t> members(const std::vector<std::string>& leaves, bool below) {
  std::vector<pid_t> out;
  if (const std::string* l = readable_leaf(leaves)) read_procs(*l, below, out);
  std::erase_if(out, [](pid_t p) { return p <= 0; });
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool is_empty(const std::vector<std::string>& leaves) {
  for (const auto& l : leaves) {
    if (is_cgroup2(l)) {
      // "populated" counts the processes below too, of every pid namespace.
      auto ev = fs::read_file(l + "/cgroup.events");
      if (ev && ev->find("populated 1") != std::string::npos) return false;
      if (ev) continue;
    }
    std::vector<pid_t> all;  // zeros included: a process we cannot see is still there
    read_procs(l, true, all);
    if (!all.empty()) return false;
  }
  return true;
}

size_t signal_members(const std::vector<std::string>& leaves, int sig) {
  std::vector<std::pair<pid_t, UniqueFd>> pinned;
  for (pid_t p : members(leaves)) {
    UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, p, 0)));
    if (fd) pinned.emplace_back(p, std::move(fd));
  }
  if (pinned.empty()) return 0;
  // Read again with the pidfds held: a pid still listed names the process its pidfd holds.
  auto now = members(leaves);
  std::set<pid_t> still(now.begin(), now.end());
  size_t n = 0;
  for (auto& [p, fd] : pinned) {
    if (still.count(p) == 0) continue;
    if (::syscall(SYS_pidfd_send_signal, fd.get(), sig, nullptr, 0) == 0) ++n;
  }
  return n;
}

void kill_members(const std::vector<std::string>& leaves) {
  for (const auto& l : leaves) {
    if (is_cgroup2(l) && fs::write_file(l + "/cgroup.kill", "1")) return;
  }
  bool froze = !is_frozen(leaves) && set_frozen(leaves, true).has_value();
  signal_members(leaves, SIGKILL);
  // A frozen task acts on SIGKILL only once thawed (cgroup v1).
  if (froze || is_frozen(leaves)) (void)set_frozen(leaves, false);
}

}  // namespace nsbox::cgroup
