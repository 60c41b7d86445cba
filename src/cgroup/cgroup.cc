#include "cgroup/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <sstream>

#include "base/fs.h"
#include "base/raw_syscall.h"
#include "base/unique_fd.h"
#include "cgroup/control.h"

namespace nsbox::cgroup {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  return out;
}

bool has_option(const std::string& opts, const std::string& want) {
  for (const auto& o : split(opts, ',')) {
    if (o == want) return true;
  }
  return false;
}

// Unescape octal sequences of mountinfo (\040 for space).
std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::vector<Hierarchy> discover_from(const std::string& proc_cgroup, const std::string& mountinfo) {
  struct MountLine {
    std::string root, point, fstype, super;
  };
  std::vector<MountLine> all;
  for (const auto& line : split(mountinfo, '\n')) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    auto pre = split(line.substr(0, dash), ' ');
    auto post = split(line.substr(dash + 3), ' ');
    if (pre.size() < 5 || post.size() < 3) continue;
    all.push_back({unescape(pre[3]), unescape(pre[4]), post[0], post[2]});
  }
  // A cgroup mount that a later mount covers (on the same point or a parent of it, such as
  // an empty tmpfs over /sys/fs/cgroup/unified) is not reachable: skip it.
  std::vector<MountLine> mounts;
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i].fstype != "cgroup" && all[i].fstype != "cgroup2") continue;
    bool covered = false;
    for (size_t j = i + 1; j < all.size() && !covered; ++j) {
      covered = all[j].point == all[i].point || all[i].point.starts_with(all[j].point + "/");
    }
    if (!covered) mounts.push_back(all[i]);
  }
  std::vector<Hierarchy> out;
  for (const auto& line : split(proc_cgroup, '\n')) {
    auto a = line.find(':');
    auto b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string ctrls = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    for (const auto& m : mounts) {
      bool match = false;
      if (ctrls.empty()) {
        match = m.fstype == "cgroup2";
      } else if (m.fstype == "cgroup") {
        match = true;
        for (const auto& c : split(ctrls, ',')) match = match && has_option(m.super, c);
      }
      if (!match) continue;
      // Only a mount of the hierarchy root (or of a parent of our cgroup) can hold our cgroup.
      if (m.root != "/" && !(path == m.root || path.starts_with(m.root + "/"))) continue;
      std::string rel = m.root == "/" ? path : path.substr(m.root.size());
      if (rel.empty()) rel = "/";
      out.push_back({m.point, m.fstype, m.super, ctrls, rel});
      break;
    }
  }
  return out;
}

Result<std::vector<Hierarchy>> discover() {
  auto pc = TRY(fs::read_file("/proc/self/cgroup"));
  auto mi = TRY(fs::read_file("/proc/self/mountinfo"));
  return discover_from(pc, mi);
}

std::string container_dir(const Hierarchy& h, const std::string& cgroups_path) {
  // Lexically cleaned below the mount point: ".." can never leave the hierarchy.
  if (!cgroups_path.empty() && cgroups_path[0] == '/') {
    return h.mountpoint + fs::clean_abs(cgroups_path);
  }
  return h.mountpoint + fs::clean_abs(h.own_path + "/" + fs::clean_abs("/" + cgroups_path));
}

Plan plan(const std::vector<Hierarchy>& hs, const std::string& cgroups_path) {
  Plan p;
  for (const auto& h : hs) {
    std::string dir = container_dir(h, cgroups_path);
    bool cpuset = has_option(h.options, "cpuset");
    std::string cur = h.mountpoint;
    for (const auto& part : split(dir.substr(h.mountpoint.size()), '/')) {
      if (part.empty()) continue;
      Plan::Dir d;
      d.v2 = h.fstype == "cgroup2";
      d.cpuset = cpuset;
      if (cpuset) {
        d.files[0] = cur + "/cpuset.cpus";
        d.files[1] = cur + "/cpuset.mems";
      }
      cur += "/" + part;
      d.path = cur;
      if (cpuset) {
        d.files[2] = cur + "/cpuset.cpus";
        d.files[3] = cur + "/cpuset.mems";
      }
      p.dirs.push_back(std::move(d));
    }
    p.leaves.push_back(dir);
  }
  return p;
}

namespace {

using nsbox::raw_syscall;

long sys_open(const std::string& path, int flags) {
  return raw_syscall(SYS_openat, AT_FDCWD, reinterpret_cast<long>(path.c_str()), flags | O_CLOEXEC);
}

// One directory: 0 made, EEXIST already there, else the errno. Only raw system calls, on
// memory made beforehand, and 8 KiB of stack: the warm-up helper runs this (below).
int make_dir(const Plan::Dir& d) {
  long r = raw_syscall(SYS_mkdirat, AT_FDCWD, reinterpret_cast<long>(d.path.c_str()), 0755);
  if (r < 0) return static_cast<int>(-r);
  // A v1 cpuset starts with no cpus and mems: a task cannot join until they are set.
  for (int i = 0; i < 2 && d.cpuset; ++i) {
    char own[2048], parent[2048];
    long fd = sys_open(d.files[2 + i], O_RDONLY);
    long n = fd < 0 ? -1 : raw_syscall(SYS_read, fd, reinterpret_cast<long>(own), sizeof own);
    if (fd >= 0) raw_syscall(SYS_close, fd, 0, 0);
    if (n < 0 || (n > 0 && !(n == 1 && own[0] == '\n'))) continue;
    fd = sys_open(d.files[i], O_RDONLY);
    n = fd < 0 ? -1 : raw_syscall(SYS_read, fd, reinterpret_cast<long>(parent), sizeof parent);
    if (fd >= 0) raw_syscall(SYS_close, fd, 0, 0);
    if (n <= 0) continue;
    fd = sys_open(d.files[2 + i], O_WRONLY);
    if (fd >= 0) {
      raw_syscall(SYS_write, fd, reinterpret_cast<long>(parent), n);
      raw_syscall(SYS_close, fd, 0, 0);
    }
  }
  return 0;
}

// make_dir for each directory of the plan not tried yet (results[i] == -1), in order, up to
// the first failure (one already recorded stops it too); with v2_only, the cgroup2 ones only.
// No allocation: the warm-up helper runs this.
void make_dirs(const Plan& p, std::vector<int>& results, bool v2_only) {
  for (size_t i = 0; i < p.dirs.size(); ++i) {
    if (v2_only && !p.dirs[i].v2) continue;
    if (results[i] == -1) results[i] = make_dir(p.dirs[i]);
    if (results[i] != 0 && results[i] != EEXIST) return;
  }
}

// From the results of make_dir over a plan: the placement, or the first failure with what
// was made removed.
Result<Made> made_from(const Plan& p, const std::vector<int>& results) {
  Made pl;
  for (size_t i = 0; i < p.dirs.size(); ++i) {
    if (results[i] == 0) pl.created.push_back(p.dirs[i].path);
  }
  for (size_t i = 0; i < p.dirs.size(); ++i) {
    if (results[i] == 0 || results[i] == EEXIST || results[i] == -1) continue;
    // (Not only the ones before it: the v2 and v1 directories may be made apart.)
    for (auto it = pl.created.rbegin(); it != pl.created.rend(); ++it) ::rmdir(it->c_str());
    return fail_errno("create cgroup " + p.dirs[i].path, results[i]);
  }
  pl.leaves = p.leaves;
  return pl;
}

}  // namespace

Result<Made> make(const Plan& p) {
  std::vector<int> results(p.dirs.size(), -1);
  make_dirs(p, results, false);
  return made_from(p, results);
}

Result<Made> create(const std::vector<Hierarchy>& hs, const std::string& cgroups_path) {
  return make(plan(hs, cgroups_path));
}

std::vector<std::string> homes(const std::vector<std::string>& leaves, bool nested) {
  if (!nested) return leaves;
  std::vector<std::string> out;
  for (const auto& l : leaves) out.push_back(l + "/" + kNested);
  return out;
}

Result<std::vector<std::string>> make_nested(const std::vector<std::string>& leaves) {
  auto inner = homes(leaves, true);
  for (size_t i = 0; i < leaves.size(); ++i) {
    const std::string& leaf = leaves[i];
    if (::mkdir(inner[i].c_str(), 0755) < 0 && errno != EEXIST) return fail_errno("create cgroup " + inner[i]);
    if (is_cgroup2(leaf)) continue;
    for (const char* f : {"/cpuset.cpus", "/cpuset.mems"}) {
      auto own = fs::read_file(inner[i] + f);
      if (!own || (!own->empty() && *own != "\n")) continue;
      auto parent = TRY(fs::read_file(leaf + f));
      TRY_CTX(fs::write_file(inner[i] + f, parent), "copy " + leaf + f);
    }
  }
  return inner;
}

Result<> hand_down_controllers(const std::vector<std::string>& leaves) {
  for (const auto& leaf : leaves) {
    if (!is_cgroup2(leaf)) continue;
    auto available = fs::read_file(leaf + "/cgroup.controllers");
    std::string enable;
    std::istringstream words(available ? *available : "");
    for (std::string c; words >> c;) enable += (enable.empty() ? "+" : " +") + c;
    if (!enable.empty()) TRY_CTX(fs::write_file(leaf + "/cgroup.subtree_control", enable), "enable controllers in " + leaf);
  }
  return {};
}

std::vector<std::string> join_files(const std::vector<std::string>& dirs) {
  std::vector<std::string> out;
  for (const auto& d : dirs) out.push_back(d + (is_cgroup2(d) ? "/cgroup.procs" : "/tasks"));
  return out;
}

Result<> join_self(const std::vector<std::string>& files) {
  for (const auto& f : files) {
    if (auto r = fs::write_file(f, "0"); !r) {
      return fail(std::move(r.error().context("join cgroup " + f.substr(0, f.rfind('/')))));
    }
  }
  return {};
}

Result<> enter(const std::vector<std::string>& dirs, pid_t pid) {
  std::string p = std::to_string(pid);
  for (const auto& d : dirs) {
    if (auto r = fs::write_file(d + "/cgroup.procs", p); !r) {
      return fail(std::move(r.error().context("join cgroup " + d)));
    }
  }
  return {};
}

// The helper: the plan's directories if any, then "0", the writer itself, into the cgroup it
// is already in. It is a bare process sharing our memory (CLONE_VM, its own stack), not a
// thread: glibc does not know of it, so the runtime may fork the container while it works,
// and it makes system calls only, on memory the runtime prepared (no allocation: glibc's
// malloc, believing itself single-threaded, takes no locks).
int AttachWarmup::helper(void* arg) {
  auto* self = static_cast<AttachWarmup*>(arg);
  // A runtime killed meanwhile takes the helper with it: no directory made after a
  // `delete --force` has looked for them.
  raw_syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
  if (raw_syscall(SYS_getppid) != self->parent_) return 1;
  if (self->done_) {
    make_dirs(*self->plan_, self->results_, false);  // (not the cgroup2 ones the constructor made)
    uint64_t one = 1;
    raw_syscall(SYS_write, self->done_.get(), reinterpret_cast<long>(&one), sizeof one);
  }
  if (self->procs_fd_ >= 0) raw_syscall(SYS_write, self->procs_fd_, reinterpret_cast<long>("0"), 1);
  return 0;
}

AttachWarmup::AttachWarmup(const std::vector<Hierarchy>& hs, const Plan* make, bool warm) : plan_(make) {
  if (plan_ != nullptr) results_.assign(plan_->dirs.size(), -1);
  if (plan_ != nullptr && !warm) {
    make_dirs(*plan_, results_, true);
    // A failure: made() reports it.
    if (std::any_of(results_.begin(), results_.end(), [](int r) { return r > 0 && r != EEXIST; })) return;
  }
  UniqueFd procs;
  for (const auto& h : hs) {
    if (h.fstype != "cgroup" || !warm) continue;
    std::string path = h.mountpoint + h.own_path + (h.own_path == "/" ? "" : "/") + "cgroup.procs";
    procs.reset(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (procs) break;
  }
  // Nothing to warm and nothing to make, or no v1 hierarchy we may write: made() does the
  // work inline.
  if (!procs && (warm || plan_ == nullptr || plan_->dirs.empty())) return;
  if (plan_ != nullptr && kRawSyscalls) {
    done_.reset(::eventfd(0, EFD_CLOEXEC));
    if (!done_) return;
  }
  procs_fd_ = procs ? procs.get() : -1;
  stack_ = std::make_unique<char[]>(kStack);
  // No exit signal: nothing of ours that waits for children sees it; finish() reaps it.
  // The helper gets a copy of our descriptor table (no CLONE_FILES): ours may close.
  parent_ = ::getpid();
  pid_ = ::clone(helper, stack_.get() + kStack, CLONE_VM, this);
  if (pid_ < 0) done_.reset();
}

Result<Made> AttachWarmup::made() {
  if (collected_) {
    if (made_) return *made_;
    return Made{};
  }
  collected_ = true;
  if (plan_ == nullptr) return Made{};
  if (done_) {
    uint64_t v = 0;
    while (::read(done_.get(), &v, sizeof v) < 0 && errno == EINTR) {
    }
  } else {
    make_dirs(*plan_, results_, false);  // no helper: here
  }
  auto r = made_from(*plan_, results_);
  if (r) made_ = *r;
  return r;
}

void AttachWarmup::finish() {
  if (pid_ > 0) {
    while (::waitpid(pid_, nullptr, __WCLONE) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
}

namespace {

// rmdir, retrying on EBUSY while the budget (shared by a whole destroy) lasts: tasks that
// were just killed leave their cgroup a moment after they are reaped.
int rmdir_patiently(const std::string& dir, int& budget_ms) {
  for (;;) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return 0;
    if (errno != EBUSY || budget_ms <= 0) return errno;
    ::usleep(5000);
    budget_ms -= 5;
  }
}

// The cgroups below `dir` (made by the container's own init, as systemd does), deepest
// first; the first error, 0 if none.
int remove_below(const std::string& dir, int& budget_ms) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return errno == ENOENT ? 0 : errno;
  std::vector<std::string> subdirs;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (e->d_type == DT_DIR && n != "." && n != "..") subdirs.push_back(dir + "/" + n);
  }
  ::closedir(d);
  int first = 0;
  for (const auto& sub : subdirs) {
    int e = remove_below(sub, budget_ms);
    if (e == 0) e = rmdir_patiently(sub, budget_ms);
    if (first == 0) first = e;
  }
  return first;
}

}  // namespace

Result<> destroy(const std::vector<std::string>& leaves, const std::vector<std::string>& created) {
  Result<> res;
  int budget_ms = 2000;
  auto note = [&](int e, const std::string& dir) {
    if (e != 0 && res) res = fail_errno("remove cgroup " + dir, e);
  };
  for (const auto& leaf : leaves) {
    int e = remove_below(leaf, budget_ms);
    if (e != 0) note(e, leaf);
  }
  for (auto it = created.rbegin(); it != created.rend(); ++it) {
    // A parent we made (containerd's /<namespace> for /<namespace>/<id>) may hold other
    // containers' cgroups by now: it goes with the last of them, no waiting, no error.
    bool parent = std::any_of(created.begin(), created.end(),
                              [&](const std::string& d) { return d.starts_with(*it + "/"); }) ||
                  std::any_of(leaves.begin(), leaves.end(),
                              [&](const std::string& d) { return d.starts_with(*it + "/"); });
    if (parent) {
      ::rmdir(it->c_str());
      continue;
    }
    note(rmdir_patiently(*it, budget_ms), *it);
  }
  return res;
}

}  // namespace nsbox::cgroup
