// floor: what the kernel itself charges for the pieces of one short-lived container, on this
// machine, with no runtime code in the way. Built by bench/run.sh with g++ -O2 -std=c++20.
//
// usage (as root):
//   floor ns ROOTFS N        N x: clone(NEWNS|NEWUTS|NEWIPC|NEWPID|NEWNET); the child makes /
//                            rprivate, binds ROOTFS on itself, mounts proc in it, pivot_root
//                            into it, detaches the old root, execs /bin/true; the parent waits.
//   floor exec N CMD [ARG..] N x: fork + execve(CMD ARG..) (stdio to /dev/null) + wait.
//   floor cgroup N PREFIX    N x: mkdir + rmdir of PREFIX-floor-<pid>-<i> in every cgroup
//                            hierarchy mounted (v1 and, on a hybrid host, the v2 one), under
//                            this process's own cgroup in each (where a runtime puts its own).
//   floor procs N PREFIX GAP_MS
//                            N x: a fresh cgroup in every hierarchy, a child blocked on a pipe,
//                            GAP_MS idle, then the child's pid written to cgroup.procs of each
//                            fresh cgroup in turn: the first write and the sum of the others are
//                            timed separately (the first after an idle period waits for an RCU
//                            grace period: cgroup_threadgroup_rwsem is a percpu rwsem).
//   floor selfjoin N PREFIX GAP_MS
//                            N x: the same fresh cgroups (v1 only), but the child, after GAP_MS
//                            idle, moves itself: "0" to `tasks` of each (no global lock).
// Output: one line per figure, "NAME mean_us median_us min_us max_us n", plus "# ..." notes.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double us_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

std::vector<std::string> g_dirs;  // cgroup directories made and not yet removed

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "floor: %s: %s\n", what.c_str(), std::strerror(errno));
  for (auto it = g_dirs.rbegin(); it != g_dirs.rend(); ++it) rmdir(it->c_str());
  std::exit(1);
}

void report(const char* name, std::vector<double> v) {
  if (v.empty()) return;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  size_t n = v.size();
  double med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  std::printf("%s %.1f %.1f %.1f %.1f %zu\n", name, sum / n, med, v.front(), v.back(), n);
}

// --- ns: clone .. pivot_root .. exec ---------------------------------------------------------
const char* g_rootfs;

int ns_child(void*) {
  // Any failure: exit 1 (the parent checks the status).
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) _exit(10);
  if (mount(g_rootfs, g_rootfs, nullptr, MS_BIND | MS_REC, nullptr) < 0) _exit(11);
  std::string proc = std::string(g_rootfs) + "/proc";
  if (mount("proc", proc.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) _exit(12);
  if (chdir(g_rootfs) < 0) _exit(13);
  if (syscall(SYS_pivot_root, ".", ".") < 0) _exit(14);
  if (umount2(".", MNT_DETACH) < 0) _exit(15);
  if (chdir("/") < 0) _exit(16);
  char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
  char* envp[] = {nullptr};
  execve("/bin/true", argv, envp);
  _exit(17);
}

int do_ns(const char* rootfs, int n) {
  g_rootfs = rootfs;
  const size_t stack_size = 256 * 1024;
  std::vector<char> stack(stack_size);
  const int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET;
  std::vector<double> t;
  for (int i = 0; i < n; i++) {
    auto t0 = Clock::now();
    pid_t pid = clone(ns_child, stack.data() + stack_size, flags | SIGCHLD, nullptr);
    if (pid < 0) die("clone");
    int st;
    if (waitpid(pid, &st, 0) < 0) die("waitpid");
    t.push_back(us_since(t0));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      std::fprintf(stderr, "floor: ns child failed: status 0x%x (exit %d)\n", st,
                   WIFEXITED(st) ? WEXITSTATUS(st) : -1);
      return 1;
    }
  }
  report("ns", t);
  return 0;
}

// --- exec: fork + execve + wait --------------------------------------------------------------
int do_exec(int n, char** argv) {
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) die("/dev/null");
  std::vector<double> t;
  for (int i = 0; i < n; i++) {
    auto t0 = Clock::now();
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
      execv(argv[0], argv);
      _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) < 0) die("waitpid");
    t.push_back(us_since(t0));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      std::fprintf(stderr, "floor: %s exited with status 0x%x\n", argv[0], st);
      return 1;
    }
  }
  report("exec", t);
  return 0;
}

// --- cgroups ---------------------------------------------------------------------------------
struct Hier {
  std::string name;  // "cpu", "name=systemd", "unified"
  std::string dir;   // this process's cgroup directory in the hierarchy
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
}

// Every cgroup/cgroup2 mount (the last one on a mount point wins), with this process's cgroup
// in it (from /proc/self/cgroup), as a runtime would find them.
std::vector<Hier> hierarchies() {
  std::vector<std::pair<std::string, std::string>> self;  // controllers ("" for v2), path
  {
    std::ifstream f("/proc/self/cgroup");
    std::string line;
    while (std::getline(f, line)) {
      auto a = line.find(':'), b = line.find(':', a + 1);
      if (a == std::string::npos || b == std::string::npos) continue;
      self.emplace_back(line.substr(a + 1, b - a - 1), line.substr(b + 1));
    }
  }
  std::vector<Hier> out;
  std::ifstream f("/proc/self/mountinfo");
  std::string line;
  while (std::getline(f, line)) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    auto pre = split(line.substr(0, dash), ' ');
    auto post = split(line.substr(dash + 3), ' ');
    if (pre.size() < 5 || post.size() < 3) continue;
    const std::string &root = pre[3], &mnt = pre[4], &fstype = post[0];
    // A later mount on the same point (an empty tmpfs over /sys/fs/cgroup/unified) hides it.
    std::erase_if(out, [&](const Hier& h) { return h.dir.starts_with(mnt + "/") || h.dir == mnt; });
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    std::string want;  // the /proc/self/cgroup controllers field for this mount
    if (fstype == "cgroup") {
      std::vector<std::string> ctl;
      for (auto& o : split(post[2], ','))
        if (o != "rw" && o != "ro" && o != "relatime" && o != "noatime" && o != "nosuid" &&
            o != "nodev" && o != "noexec" && !o.starts_with("release_agent") &&
            o != "clone_children" && o != "xattr" && o != "noprefix" && o != "favordynmods")
          ctl.push_back(o);
      for (auto& self_line : self) {
        auto have = split(self_line.first, ',');
        if (!ctl.empty() && std::is_permutation(have.begin(), have.end(), ctl.begin(), ctl.end())) {
          want = self_line.first;
          break;
        }
      }
      if (want.empty()) continue;
    }
    std::string path;
    bool found = false;
    for (auto& [c, p] : self)
      if (c == want) path = p, found = true;
    if (!found) continue;
    if (path.starts_with(root) && root != "/") path = path.substr(root.size());
    std::string dir = mnt + (path == "/" ? "" : path);
    std::string name = fstype == "cgroup2" ? "unified" : want;
    out.push_back({name, dir});
  }
  return out;
}

int do_cgroup(int n, const std::string& prefix) {
  auto hs = hierarchies();
  if (hs.empty()) {
    std::fprintf(stderr, "floor: no cgroup hierarchy mounted\n");
    return 1;
  }
  std::vector<double> total;
  std::vector<std::vector<double>> per(hs.size());
  for (int i = 0; i < n; i++) {
    std::string leaf = "/" + prefix + "-floor-" + std::to_string(getpid()) + "-" + std::to_string(i);
    double sum = 0;
    for (size_t h = 0; h < hs.size(); h++) {
      std::string d = hs[h].dir + leaf;
      auto t0 = Clock::now();
      if (mkdir(d.c_str(), 0755) < 0) die("mkdir " + d);
      g_dirs.assign(1, d);
      if (rmdir(d.c_str()) < 0) die("rmdir " + d);
      g_dirs.clear();
      double us = us_since(t0);
      per[h].push_back(us);
      sum += us;
    }
    total.push_back(sum);
  }
  std::printf("# hierarchies %zu:", hs.size());
  for (auto& h : hs) std::printf(" %s", h.name.c_str());
  std::printf("\n");
  report("cgroup", total);
  for (size_t h = 0; h < hs.size(); h++) report(("cgroup:" + hs[h].name).c_str(), per[h]);
  return 0;
}

void write_file(const std::string& path, const std::string& s) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open " + path);
  if (write(fd, s.data(), s.size()) != static_cast<ssize_t>(s.size())) die("write " + path);
  close(fd);
}

// A fresh cgroup LEAF in each hierarchy, ready to take a task.
void make_fresh(const std::vector<Hier>& hs, const std::string& leaf) {
  for (auto& h : hs) {
    std::string d = h.dir + leaf;
    if (mkdir(d.c_str(), 0755) < 0) die("mkdir " + d);
    g_dirs.push_back(d);
    if (h.name == "cpuset")  // an empty cpuset takes no task: copy the parent's, as runtimes do
      for (const char* f : {"/cpuset.cpus", "/cpuset.mems"}) {
        std::ifstream in(h.dir + f);
        std::string v;
        std::getline(in, v);
        write_file(d + f, v.empty() ? "\n" : v);
      }
  }
}

// Remove them once the task that was moved there has exited.
void remove_fresh(const std::vector<Hier>& hs, const std::string& leaf) {
  for (auto& h : hs) {
    std::string d = h.dir + leaf;
    for (int tries = 0; rmdir(d.c_str()) < 0; tries++) {  // EBUSY until the exit is accounted
      if (errno != EBUSY || tries > 1000) die("rmdir " + d);
      usleep(1000);
    }
  }
  g_dirs.clear();
}

int do_procs(int n, const std::string& prefix, int gap_ms) {
  auto hs = hierarchies();
  if (hs.empty()) {
    std::fprintf(stderr, "floor: no cgroup hierarchy mounted\n");
    return 1;
  }
  std::vector<double> first, rest;
  for (int i = 0; i < n; i++) {
    std::string leaf = "/" + prefix + "-procs-" + std::to_string(getpid()) + "-" + std::to_string(i);
    make_fresh(hs, leaf);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) die("pipe");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      char c;
      close(p[1]);
      (void)!read(p[0], &c, 1);
      _exit(0);
    }
    close(p[0]);
    std::string spid = std::to_string(pid);
    usleep(gap_ms * 1000);
    double r = 0;
    for (size_t h = 0; h < hs.size(); h++) {
      auto t0 = Clock::now();
      write_file(hs[h].dir + leaf + "/cgroup.procs", spid);
      double us = us_since(t0);
      if (h == 0)
        first.push_back(us);
      else
        r += us;
    }
    rest.push_back(r);
    close(p[1]);  // the child exits; its cgroups are then empty
    int st;
    waitpid(pid, &st, 0);
    remove_fresh(hs, leaf);
  }
  std::printf("# procs: %zu hierarchies, %d ms idle before the first write\n", hs.size(), gap_ms);
  report("procs_first", first);
  report("procs_rest", rest);
  return 0;
}

// The same fresh cgroups, but the child moves itself: after GAP_MS idle it writes "0" to the
// `tasks` file of each v1 one (its only thread; the kernel takes no global lock for a thread
// moving itself), timing the writes; the v2 hierarchy, where a process cannot do that, is
// left out (nsbox clones into it). What nsbox's container process does.
int do_selfjoin(int n, const std::string& prefix, int gap_ms) {
  auto all = hierarchies();
  std::vector<Hier> hs;
  for (auto& h : all)
    if (h.name != "unified") hs.push_back(h);
  if (hs.empty()) {
    std::printf("# selfjoin: no v1 hierarchy\n");
    return 0;
  }
  std::vector<double> total;
  for (int i = 0; i < n; i++) {
    std::string leaf = "/" + prefix + "-self-" + std::to_string(getpid()) + "-" + std::to_string(i);
    make_fresh(hs, leaf);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) die("pipe");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
      close(p[0]);
      usleep(gap_ms * 1000);
      auto t0 = Clock::now();
      for (auto& h : hs) write_file(h.dir + leaf + "/tasks", "0");
      double us = us_since(t0);
      (void)!write(p[1], &us, sizeof us);
      _exit(0);
    }
    close(p[1]);
    double us = -1;
    if (read(p[0], &us, sizeof us) != sizeof us) die("selfjoin child");
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    total.push_back(us);
    remove_fresh(hs, leaf);
  }
  std::printf("# selfjoin: %zu v1 hierarchies, %d ms idle before the writes\n", hs.size(), gap_ms);
  report("selfjoin", total);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto usage = [] {
    std::fprintf(stderr,
                 "usage: floor ns ROOTFS N | floor exec N CMD [ARG..] | floor cgroup N PREFIX |"
                 " floor procs N PREFIX GAP_MS | floor selfjoin N PREFIX GAP_MS\n");
    return 2;
  };
  if (argc < 3) return usage();
  std::string mode = argv[1];
  if (mode == "ns" && argc == 4) return do_ns(argv[2], std::atoi(argv[3]));
  if (mode == "exec" && argc >= 4) return do_exec(std::atoi(argv[2]), argv + 3);
  if (mode == "cgroup" && argc == 4) return do_cgroup(std::atoi(argv[2]), argv[3]);
  if (mode == "procs" && argc == 5) return do_procs(std::atoi(argv[2]), argv[3], std::atoi(argv[4]));
  if (mode == "selfjoin" && argc == 5) return do_selfjoin(std::atoi(argv[2]), argv[3], std::atoi(argv[4]));
  return usage();
}
