#include "cgroup/cgroup.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <sstream>

#include "base/fs.h"
#include "base/unique_fd.h"

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

Result<Placement> create(const std::vector<Hierarchy>& hs, const std::string& cgroups_path) {
  Placement pl;
  std::vector<std::string>& created = pl.created;
  auto undo = [&] {
    for (auto it = created.rbegin(); it != created.rend(); ++it) ::rmdir(it->c_str());
  };
  for (const auto& h : hs) {
    std::string dir = container_dir(h, cgroups_path);
    // Create each missing level, so that delete removes exactly what we made.
    std::string cur = h.mountpoint;
    std::string rest = dir.substr(h.mountpoint.size());
    for (const auto& part : split(rest, '/')) {
      if (part.empty()) continue;
      std::string parent = cur;
      cur += "/" + part;
      if (::mkdir(cur.c_str(), 0755) == 0) {
        created.push_back(cur);
        // A v1 cpuset starts with no cpus and mems: a task cannot join until they are set.
        if (has_option(h.options, "cpuset")) {
          for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
            auto v = fs::read_file(cur + "/" + f);
            if (v && (v->empty() || *v == "\n")) {
              auto pv = fs::read_file(parent + "/" + f);
              if (pv) (void)fs::write_file(cur + "/" + f, *pv);
            }
          }
        }
      } else if (errno != EEXIST) {
        int e = errno;
        undo();
        return fail_errno("create cgroup " + cur, e);
      }
    }
    pl.leaves.push_back(dir);
  }
  return pl;
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

namespace {

// "0": the writer itself, into the cgroup it is already in. The writer is a bare process
// sharing our memory (CLONE_VM, its own stack), not a thread: glibc does not know of it, so
// the runtime may fork the container while it waits, and it makes system calls only.
int warm(void* arg) {
  int fd = static_cast<int>(reinterpret_cast<intptr_t>(arg));
  (void)!::write(fd, "0", 1);
  return 0;
}

}  // namespace

AttachWarmup::AttachWarmup(const std::vector<Hierarchy>& hs) {
  for (const auto& h : hs) {
    if (h.fstype != "cgroup") continue;
    std::string procs = h.mountpoint + h.own_path + (h.own_path == "/" ? "" : "/") + "cgroup.procs";
    UniqueFd fd(::open(procs.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) continue;
    stack_ = std::make_unique<char[]>(kStack);
    // No exit signal: nothing of ours that waits for children sees it; finish() reaps it.
    pid_ = ::clone(warm, stack_.get() + kStack, CLONE_VM,
                   reinterpret_cast<void*>(static_cast<intptr_t>(fd.get())));
    return;
  }
}

void AttachWarmup::finish() {
  if (pid_ > 0) {
    while (::waitpid(pid_, nullptr, __WCLONE) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
}

Result<> destroy(const std::vector<std::string>& dirs) {
  Result<> res;
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
    // A parent we made (containerd's /<namespace> for /<namespace>/<id>) may hold other
    // containers' cgroups by now: it goes with the last of them, no waiting, no error.
    bool parent = std::any_of(dirs.begin(), dirs.end(),
                              [&](const std::string& d) { return d.starts_with(*it + "/"); });
    int tries = 0;
    while (::rmdir(it->c_str()) < 0) {
      if (errno == ENOENT || (parent && (errno == EBUSY || errno == ENOTEMPTY))) break;
      // Tasks that were just killed leave the cgroup a moment after they are reaped.
      if (errno == EBUSY && ++tries < 200) {
        ::usleep(5000);
        continue;
      }
      if (res) res = fail_errno("remove cgroup " + *it);
      break;
    }
  }
  return res;
}

}  // namespace nsbox::cgroup
