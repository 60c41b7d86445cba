// systemd_mock: a stand-in for systemd's manager (org.freedesktop.systemd1 on
// /org/freedesktop/systemd1, interface org.freedesktop.systemd1.Manager) on a private bus, so
// that the systemd cgroup driver (--systemd-cgroup, nsbox-systemd) is tested end to end on a
// host without systemd as pid 1 (tests/integration/systemd_mock_test.sh).
//
// It does what systemd does with a transient scope, as far as the driver can see: it checks
// names, modes and property types as systemd does (an unknown property, a wrong D-Bus type or
// a value out of range is refused with systemd's error), makes the unit's cgroup in the
// cgroup2 tree and in the v1 name=systemd hierarchy and moves the PIDs there, answers with a
// job whose JobRemoved signal follows (to subscribed clients), kills what is left in the
// unit's cgroup at StopUnit and removes it, keeps failed units until ResetFailedUnit.
//
// Every call is one JSON line in the log (--log): {"seq", "method", "sender", arguments...,
// properties as {"name", "signature", "value"} in the order received, "error" or "job"};
// job results and the exit are lines with an "event". The units it knows are written to
// --units after every call ({"units": [{"name", "state", "cgroup", "dirs", "properties"}]}).
//
// The test steers it with files in --control (read at each call):
//   start-result      the result of StartTransientUnit's job ("done" unless given: "failed",
//                     "timeout", "canceled"...)
//   start-attach      "1": make the cgroup and move the PIDs even when the result is not
//                     "done" ("0": not even then); default: only for "done"
//   stop-result       the result of StopUnit's job ("done" unless given)
//   unit-exists-once  present: the next StartTransientUnit fails with UnitExists (file removed)
//   set-error-once    present: the next SetUnitProperties fails (file removed)
//   job-delay-ms      milliseconds before a start job's JobRemoved; "never": it never comes
//   version           the Version property ("252.39-1~deb12u1" unless given)
//   realize-v1        "1": as systemd on a hybrid host with Delegate=yes, also make the scope's
//                     cgroup in the v1 controllers systemd manages (cpu, cpuacct, blkio,
//                     memory, devices, pids), and write the limits systemd knows to cgroupfs as
//                     systemd 252 does (MemoryMax as memory.limit_in_bytes, CPUWeight as
//                     cpu.shares = weight * 1024 / 100, ...), again for the controllers a
//                     SetUnitProperties touches, and for all at Reload (daemon-reload)
//
// Options: --log FILE --units FILE --control DIR --ready FILE (made once the name is owned).
// SIGTERM: every unit left is stopped (killed, its cgroups removed), the slices it made are
// removed, and an {"event": "exit", "units_left": [...]} line is logged.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using json = nlohmann::json;

constexpr const char* kName = "org.freedesktop.systemd1";
constexpr const char* kPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";
constexpr const char* kUnitExists = "org.freedesktop.systemd1.UnitExists";
constexpr const char* kNoSuchUnit = "org.freedesktop.systemd1.NoSuchUnit";
constexpr const char* kNoSuchProcess = "org.freedesktop.systemd1.NoSuchProcess";
constexpr const char* kUnitInactive = "org.freedesktop.systemd1.UnitInactive";
constexpr const char* kInvalidArgs = "org.freedesktop.DBus.Error.InvalidArgs";
constexpr const char* kReadOnly = "org.freedesktop.DBus.Error.PropertyReadOnly";
constexpr uint64_t kInfinity = UINT64_MAX;

struct Options {
  std::string log, units, control, ready;
} opt;

sd_bus* bus = nullptr;
sd_event* event = nullptr;
int log_fd = -1;
uint64_t seq = 0;
uint32_t next_job = 1;
bool subscribed = false;

// The cgroup mounts: the cgroup2 tree, and each v1 hierarchy by its controller names.
std::string v2_mount;
std::map<std::string, std::string> v1_mounts;  // "name=systemd" -> /sys/fs/cgroup/systemd, "cpu" -> ...

struct Unit {
  std::string name;
  std::string state;   // activating, active, failed
  std::string cgroup;  // below each mount: /a.slice/x.scope
  std::vector<std::string> dirs;  // the unit's directories the mock made (or moved PIDs into)
  json properties = json::array();
  uint32_t job = 0;    // a start job still to end
  std::string job_result;
  bool realize_v1 = false;
};
std::map<std::string, Unit> units;
std::vector<std::string> slice_dirs;  // slice directories the mock made, in the order made

// --- helpers -------------------------------------------------------------------------------

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::string> control(const char* name) {
  if (opt.control.empty()) return std::nullopt;
  auto v = read_file(opt.control + "/" + name);
  if (!v) return std::nullopt;
  return trim(*v);
}

bool write_file(const std::string& path, const std::string& text, std::string* err = nullptr) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    if (err) *err = "open " + path + ": " + std::strerror(errno);
    return false;
  }
  ssize_t n = ::write(fd, text.data(), text.size());
  int e = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    if (err) *err = "write " + text + " to " + path + ": " + std::strerror(n < 0 ? e : EIO);
    return false;
  }
  return true;
}

void log_line(json j) {
  j["seq"] = ++seq;
  std::string text = j.dump() + "\n";
  if (log_fd >= 0) (void)!::write(log_fd, text.data(), text.size());
}

void save_units() {
  if (opt.units.empty()) return;
  json a = json::array();
  for (const auto& [name, u] : units) {
    a.push_back({{"name", name}, {"state", u.state}, {"cgroup", u.cgroup}, {"dirs", u.dirs}, {"properties", u.properties}});
  }
  std::string tmp = opt.units + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << json{{"units", a}}.dump() << "\n";
  }
  ::rename(tmp.c_str(), opt.units.c_str());
}

void discover_mounts() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent maj:min root mountpoint options [optional...] - fstype source superoptions
    std::istringstream ls(line);
    std::vector<std::string> f;
    std::string w;
    while (ls >> w) f.push_back(w);
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || dash + 3 > f.end()) continue;
    std::string mountpoint = f[4], fstype = *(dash + 1), super = *(dash + 3);
    if (f[3] != "/") continue;  // a bind of a sub-tree: not a hierarchy's root
    if (fstype == "cgroup2" && v2_mount.empty()) v2_mount = mountpoint;
    if (fstype == "cgroup") {
      std::istringstream os(super);
      std::string o;
      while (std::getline(os, o, ',')) {
        static const std::set<std::string> kControllers = {"cpu", "cpuacct", "blkio", "memory", "devices", "pids",
                                                           "cpuset", "freezer", "net_cls", "net_prio", "hugetlb",
                                                           "perf_event", "rdma", "misc"};
        if (o == "name=systemd" || kControllers.count(o)) v1_mounts.emplace(o, mountpoint);
      }
    }
  }
}

// systemd's unit_name_is_valid, without instances: [a-zA-Z0-9:_.\-\\]+ then a known suffix.
bool valid_unit_name(const std::string& n, const std::string& suffix = "") {
  if (n.empty() || n.size() > 255) return false;
  size_t dot = n.rfind('.');
  if (dot == std::string::npos || dot == 0) return false;
  std::string type = n.substr(dot + 1);
  static const std::set<std::string> kTypes = {"service", "socket", "target", "device", "mount", "automount",
                                               "swap",    "timer",  "path",   "slice",  "scope"};
  if (!kTypes.count(type)) return false;
  if (!suffix.empty() && type != suffix) return false;
  for (char c : n.substr(0, dot)) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == ':' || c == '-' || c == '_' || c == '.' || c == '\\')) {
      return false;
    }
  }
  return true;
}

// "a-b.slice" -> "/a.slice/a-b.slice" ("-.slice" -> ""); nullopt for a name systemd refuses.
std::optional<std::string> expand_slice(const std::string& slice) {
  if (!valid_unit_name(slice, "slice")) return std::nullopt;
  if (slice == "-.slice") return std::string();
  std::string stem = slice.substr(0, slice.size() - 6);
  if (stem.front() == '-' || stem.back() == '-' || stem.find("--") != std::string::npos) return std::nullopt;
  std::string path, prefix;
  std::istringstream parts(stem);
  std::string p;
  while (std::getline(parts, p, '-')) {
    prefix += (prefix.empty() ? "" : "-") + p;
    path += "/" + prefix + ".slice";
  }
  return path;
}

// The hierarchies the unit's cgroup is made in: the cgroup2 tree and name=systemd, and with
// realize-v1 systemd's v1 controllers (cpu and cpuacct may share one hierarchy).
std::vector<std::string> unit_mounts(bool realize_v1) {
  std::vector<std::string> m;
  if (!v2_mount.empty()) m.push_back(v2_mount);
  if (auto it = v1_mounts.find("name=systemd"); it != v1_mounts.end()) m.push_back(it->second);
  if (realize_v1) {
    for (const char* c : {"cpu", "cpuacct", "blkio", "memory", "devices", "pids"}) {
      if (auto it = v1_mounts.find(c); it != v1_mounts.end() && std::find(m.begin(), m.end(), it->second) == m.end()) {
        m.push_back(it->second);
      }
    }
  }
  return m;
}

// As systemd, for a unit with accounting and Delegate=yes: the controllers its parents pass
// down on cgroup2 (never the root's, which is the host's).
void enable_controllers(const std::string& dir) {
  auto avail = read_file(dir + "/cgroup.controllers");
  if (!avail) return;
  std::istringstream in(*avail);
  std::string c;
  while (in >> c) {
    if (c == "cpu" || c == "cpuset" || c == "io" || c == "memory" || c == "pids") {
      (void)write_file(dir + "/cgroup.subtree_control", "+" + c);
    }
  }
}

// Make mount + cgroup (slices included); the slices it makes are remembered. Retries when a
// slice another process removed vanishes in between.
bool make_cgroup(const std::string& mount, const std::string& cgroup, std::string& err) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    std::string path = mount;
    size_t start = 1;
    bool again = false;
    while (start <= cgroup.size()) {
      size_t slash = cgroup.find('/', start);
      std::string part = cgroup.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
      start = slash == std::string::npos ? cgroup.size() + 1 : slash + 1;
      if (mount == v2_mount && path != v2_mount) enable_controllers(path);
      if (mount == v2_mount && path == v2_mount) {
        // The root's controllers are the host's: only used where enabled already.
      }
      path += "/" + part;
      bool leaf = start > cgroup.size();
      if (::mkdir(path.c_str(), 0755) == 0) {
        if (!leaf) slice_dirs.push_back(path);
      } else if (errno == EEXIST && !leaf) {
        // a slice that exists
      } else if (errno == ENOENT) {
        again = true;
        break;
      } else {
        err = "mkdir " + path + ": " + std::strerror(errno);
        return false;
      }
    }
    if (!again) return true;
  }
  err = "mkdir " + mount + cgroup + ": its parent keeps vanishing";
  return false;
}

std::vector<pid_t> procs_of(const std::string& dir) {
  std::vector<pid_t> out;
  auto t = read_file(dir + "/cgroup.procs");
  if (!t) return out;
  std::istringstream in(*t);
  pid_t p;
  while (in >> p) out.push_back(p);
  return out;
}

// dir and every directory below it, deepest first.
void subtree(const std::string& dir, std::vector<std::string>& out) {
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_type == DT_DIR && std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
        subtree(dir + "/" + e->d_name, out);
      }
    }
    ::closedir(d);
  }
  out.push_back(dir);
}

// SIGKILL of everything in the unit's cgroups (below them too), until they are empty (5 s),
// then the directories go, and the slices the mock made if they are empty now. The names of
// the processes killed are returned (for the log).
json kill_and_remove(Unit& u) {
  json killed = json::array();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    bool any = false;
    for (const auto& d : u.dirs) {
      std::vector<std::string> dirs;
      subtree(d, dirs);
      for (const auto& s : dirs) {
        for (pid_t p : procs_of(s)) {
          if (p <= 0) continue;
          any = true;
          if (::kill(p, SIGKILL) == 0 && std::find(killed.begin(), killed.end(), p) == killed.end()) killed.push_back(p);
        }
      }
    }
    if (!any || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::vector<std::string> left;
  for (const auto& d : u.dirs) {
    std::vector<std::string> dirs;
    subtree(d, dirs);
    for (const auto& s : dirs) {
      if (::rmdir(s.c_str()) < 0 && errno != ENOENT) left.push_back(s + ": " + std::strerror(errno));
    }
  }
  u.dirs.clear();
  for (auto it = slice_dirs.rbegin(); it != slice_dirs.rend(); ++it) (void)::rmdir(it->c_str());
  std::erase_if(slice_dirs, [](const std::string& s) { return ::access(s.c_str(), F_OK) != 0; });
  if (!left.empty()) log_line({{"event", "rmdir failed"}, {"unit", u.name}, {"dirs", left}});
  return killed;
}

// --- properties ------------------------------------------------------------------------------

// Any D-Bus value as JSON (a struct or a dict entry as an array, a variant as
// {"signature", "value"}).
int read_value(sd_bus_message* m, json& out) {
  char type = 0;
  const char* contents = nullptr;
  int r = sd_bus_message_peek_type(m, &type, &contents);
  if (r <= 0) return r < 0 ? r : -EBADMSG;
  switch (type) {
#define BASIC(c, T)                                     \
  case c: {                                             \
    T v{};                                              \
    r = sd_bus_message_read_basic(m, c, &v);            \
    out = v;                                            \
    return r;                                           \
  }
    BASIC('y', uint8_t)
    BASIC('n', int16_t)
    BASIC('q', uint16_t)
    BASIC('i', int32_t)
    BASIC('u', uint32_t)
    BASIC('x', int64_t)
    BASIC('t', uint64_t)
    BASIC('d', double)
    BASIC('h', int)
#undef BASIC
    case 'b': {
      int v = 0;
      r = sd_bus_message_read_basic(m, 'b', &v);
      out = v != 0;
      return r;
    }
    case 's':
    case 'o':
    case 'g': {
      const char* v = nullptr;
      r = sd_bus_message_read_basic(m, type, &v);
      out = v != nullptr ? v : "";
      return r;
    }
    case 'a':
    case 'r':
    case 'e': {
      std::string c = contents;
      r = sd_bus_message_enter_container(m, type, c.c_str());
      if (r < 0) return r;
      out = json::array();
      for (;;) {
        r = sd_bus_message_at_end(m, false);
        if (r < 0) return r;
        if (r > 0) break;
        json e;
        r = read_value(m, e);
        if (r < 0) return r;
        out.push_back(e);
      }
      return sd_bus_message_exit_container(m);
    }
    case 'v': {
      std::string c = contents;
      r = sd_bus_message_enter_container(m, 'v', c.c_str());
      if (r < 0) return r;
      json e;
      r = read_value(m, e);
      if (r < 0) return r;
      out = {{"signature", c}, {"value", e}};
      return sd_bus_message_exit_container(m);
    }
    default: return -EBADMSG;
  }
}

// a(sv) as [{"name", "signature", "value"}].
int read_properties(sd_bus_message* m, json& out) {
  out = json::array();
  int r = sd_bus_message_enter_container(m, 'a', "(sv)");
  if (r < 0) return r;
  while ((r = sd_bus_message_enter_container(m, 'r', "sv")) > 0) {
    const char* name = nullptr;
    r = sd_bus_message_read_basic(m, 's', &name);
    if (r < 0) return r;
    std::string n = name;
    char type = 0;
    const char* contents = nullptr;
    r = sd_bus_message_peek_type(m, &type, &contents);
    if (r < 0) return r;
    std::string sig = contents;
    r = sd_bus_message_enter_container(m, 'v', sig.c_str());
    if (r < 0) return r;
    json v;
    r = read_value(m, v);
    if (r < 0) return r;
    if ((r = sd_bus_message_exit_container(m)) < 0) return r;
    if ((r = sd_bus_message_exit_container(m)) < 0) return r;
    out.push_back({{"name", n}, {"signature", sig}, {"value", v}});
  }
  if (r < 0) return r;
  return sd_bus_message_exit_container(m);
}

// The properties systemd takes for a transient scope or slice (a subset: what a container
// runtime sends, and what annotations in the tests name), with their D-Bus types.
const std::map<std::string, std::string>& known_properties() {
  static const std::map<std::string, std::string> k = {
      {"Description", "s"}, {"Slice", "s"}, {"Delegate", "b"}, {"DelegateControllers", "as"}, {"PIDs", "au"},
      {"MemoryAccounting", "b"}, {"CPUAccounting", "b"}, {"IOAccounting", "b"}, {"BlockIOAccounting", "b"},
      {"TasksAccounting", "b"}, {"DefaultDependencies", "b"}, {"Wants", "as"}, {"After", "as"}, {"Before", "as"},
      {"Requires", "as"}, {"TimeoutStopUSec", "t"}, {"RuntimeMaxUSec", "t"}, {"CollectMode", "s"}, {"KillMode", "s"},
      {"KillSignal", "i"}, {"SendSIGKILL", "b"}, {"DevicePolicy", "s"}, {"DeviceAllow", "a(ss)"},
      {"MemoryMax", "t"}, {"MemoryLimit", "t"}, {"MemoryLow", "t"}, {"MemoryHigh", "t"}, {"MemoryMin", "t"},
      {"MemorySwapMax", "t"}, {"CPUWeight", "t"}, {"StartupCPUWeight", "t"}, {"CPUShares", "t"},
      {"StartupCPUShares", "t"}, {"CPUQuotaPerSecUSec", "t"}, {"CPUQuotaPeriodUSec", "t"}, {"AllowedCPUs", "ay"},
      {"AllowedMemoryNodes", "ay"}, {"TasksMax", "t"}, {"IOWeight", "t"}, {"StartupIOWeight", "t"},
      {"BlockIOWeight", "t"}, {"IODeviceWeight", "a(st)"}, {"IOReadBandwidthMax", "a(st)"},
      {"IOWriteBandwidthMax", "a(st)"}, {"IOReadIOPSMax", "a(st)"}, {"IOWriteIOPSMax", "a(st)"},
      {"BlockIODeviceWeight", "a(st)"}, {"BlockIOReadBandwidth", "a(st)"}, {"BlockIOWriteBandwidth", "a(st)"},
  };
  return k;
}

// The ones SetUnitProperties takes on a running scope (its cgroup context, and a few more).
bool settable_at_runtime(const std::string& name) {
  static const std::set<std::string> k = {"Description", "TimeoutStopUSec", "RuntimeMaxUSec", "CollectMode"};
  if (k.count(name)) return true;
  return name.starts_with("Memory") || name.starts_with("CPU") || name.starts_with("IO") || name.starts_with("BlockIO") ||
         name.starts_with("Tasks") || name.starts_with("Device") || name.starts_with("Allowed") ||
         name.starts_with("StartupCPU") || name.starts_with("StartupIO");
}

// systemd's checks of one property: nullopt when taken, else {error name, message}.
std::optional<std::pair<std::string, std::string>> check_property(const json& p, bool runtime, bool scope) {
  std::string name = p["name"], sig = p["signature"];
  const json& v = p["value"];
  auto range = [&](const std::string& what = "") -> std::pair<std::string, std::string> {
    return {kInvalidArgs, what.empty() ? "Value specified in " + name + " is out of range" : what};
  };
  auto k = known_properties().find(name);
  if (k == known_properties().end() || (runtime && !settable_at_runtime(name)) ||
      (!scope && (name == "PIDs" || name == "Delegate"))) {
    return std::make_pair(std::string(kReadOnly), "Cannot set property " + name + ", or unknown property.");
  }
  if (k->second != sig) {
    // sd_bus_message_read of the variant fails: systemd answers with -ENXIO's error.
    return std::make_pair(std::string(kInvalidArgs),
                          "Property " + name + " has signature " + sig + ", systemd reads " + k->second);
  }
  if (name == "CPUWeight" || name == "StartupCPUWeight" || name == "IOWeight" || name == "StartupIOWeight") {
    uint64_t w = v.get<uint64_t>();
    if (w != kInfinity && (w < 1 || w > 10000)) return range();
  }
  if (name == "CPUShares" || name == "StartupCPUShares") {
    uint64_t s = v.get<uint64_t>();
    if (s != kInfinity && (s < 2 || s > 262144)) return range();
  }
  if (name == "BlockIOWeight") {
    uint64_t s = v.get<uint64_t>();
    if (s != kInfinity && (s < 10 || s > 1000)) return range();
  }
  if (name == "CPUQuotaPerSecUSec" && v.get<uint64_t>() == 0) return range("CPUQuotaPerSecUSec= value out of range");
  if (name == "TasksMax" && v.get<uint64_t>() == 0) return range();
  if (name == "DevicePolicy") {
    std::string s = v;
    if (s != "auto" && s != "closed" && s != "strict") return range("Invalid DevicePolicy: " + s);
  }
  if (name == "CollectMode") {
    std::string s = v;
    if (s != "inactive" && s != "inactive-or-failed") return range("Invalid collect mode: " + s);
  }
  if (name == "DeviceAllow") {
    for (const auto& e : v) {
      std::string path = e[0], rwm = e[1];
      bool ok_path = path.starts_with("/dev/") || path.starts_with("char-") || path.starts_with("block-");
      if (!ok_path) return range("DeviceAllow= requires device node or pattern");
      if (rwm.find_first_not_of("rwm") != std::string::npos) return range("DeviceAllow= requires combination of rwm flags");
    }
  }
  if (name.starts_with("IO") && sig == "a(st)") {
    for (const auto& e : v) {
      std::string path = e[0];
      if (!path.starts_with("/dev/")) return range("Path '" + path + "' specified in " + name + "= is not normalized.");
    }
  }
  if (name == "Slice") {
    std::string s = v;
    if (!expand_slice(s)) return range("Unit name '" + s + "' is not a valid slice name.");
  }
  if (name == "Wants" || name == "After" || name == "Before" || name == "Requires") {
    for (const auto& e : v) {
      if (!valid_unit_name(e.get<std::string>())) return range("Invalid unit name " + e.get<std::string>());
    }
  }
  return std::nullopt;
}

// --- realize-v1: the limits systemd 252 writes on a hybrid host --------------------------------

std::optional<json> property(const Unit& u, const std::string& name) {
  std::optional<json> out;
  for (const auto& p : u.properties) {
    if (p["name"] == name) out = p["value"];
  }
  return out;
}

// The controllers a property belongs to ("" for none), as systemd invalidates them.
std::string controller_of(const std::string& name) {
  if (name.starts_with("Memory")) return "memory";
  if (name.starts_with("CPU") || name.starts_with("StartupCPU")) return "cpu";
  if (name.starts_with("Tasks")) return "pids";
  return "";
}

// `only`: the controllers a SetUnitProperties touched (systemd applies those again), or all.
void realize_limits(const Unit& u, const std::set<std::string>& only = {}) {
  if (!u.realize_v1) return;
  auto put = [&](const char* controller, const char* file, const std::string& value) {
    if (!only.empty() && !only.count(controller)) return;
    auto it = v1_mounts.find(controller);
    if (it == v1_mounts.end()) return;
    std::string path = it->second + u.cgroup + "/" + file, err;
    bool ok = write_file(path, value, &err);
    log_line({{"event", "realize"}, {"unit", u.name}, {"file", path}, {"value", value}, {"ok", ok}});
  };
  auto num = [](uint64_t v, const char* inf) { return v == kInfinity ? std::string(inf) : std::to_string(v); };
  // memory: MemoryMax applied as MemoryLimit, else MemoryLimit, else unlimited.
  auto mem = property(u, "MemoryMax");
  if (!mem) mem = property(u, "MemoryLimit");
  put("memory", "memory.limit_in_bytes", mem ? num(mem->get<uint64_t>(), "-1") : "-1");
  // cpu: CPUWeight applied as CPUShares (weight * 1024 / 100), else CPUShares, else 1024; the
  // quota per second at the period (100 ms unless given).
  uint64_t shares = 1024;
  if (auto w = property(u, "CPUWeight"); w && w->get<uint64_t>() != kInfinity) {
    shares = std::clamp<uint64_t>(w->get<uint64_t>() * 1024 / 100, 2, 262144);
  } else if (auto s = property(u, "CPUShares"); s && s->get<uint64_t>() != kInfinity) {
    shares = s->get<uint64_t>();
  }
  put("cpu", "cpu.shares", std::to_string(shares));
  uint64_t period = 100000;
  if (auto p = property(u, "CPUQuotaPeriodUSec"); p && p->get<uint64_t>() != kInfinity) period = p->get<uint64_t>();
  put("cpu", "cpu.cfs_period_us", std::to_string(period));
  auto q = property(u, "CPUQuotaPerSecUSec");
  put("cpu", "cpu.cfs_quota_us",
      q && q->get<uint64_t>() != kInfinity ? std::to_string(std::max<uint64_t>(q->get<uint64_t>() * period / 1000000, 1000)) : "-1");
  auto tasks = property(u, "TasksMax");
  put("pids", "pids.max", tasks ? num(tasks->get<uint64_t>(), "max") : "max");
}

// --- the manager ------------------------------------------------------------------------------

json call_line(sd_bus_message* m, const char* method) {
  const char* sender = sd_bus_message_get_sender(m);
  return {{"method", method}, {"sender", sender != nullptr ? sender : ""}};
}

int reply_error(sd_bus_error* error, json& line, const std::string& name, const std::string& message) {
  line["error"] = name;
  line["error_message"] = message;
  log_line(line);
  save_units();
  return sd_bus_error_set(error, name.c_str(), message.c_str());
}

std::string job_path(uint32_t id) { return "/org/freedesktop/systemd1/job/" + std::to_string(id); }

void job_removed(uint32_t id, const std::string& unit, const std::string& result) {
  log_line({{"event", "JobRemoved"}, {"job", job_path(id)}, {"unit", unit}, {"result", result}, {"sent", subscribed}});
  // systemd sends its signals only while a client is subscribed.
  if (subscribed) sd_bus_emit_signal(bus, kPath, kManager, "JobRemoved", "uoss", id, job_path(id).c_str(), unit.c_str(), result.c_str());
}

// The end of a start job: the unit is active, or failed.
void finish_start(const std::string& name, uint32_t job) {
  auto it = units.find(name);
  if (it == units.end() || it->second.job != job) return;
  Unit& u = it->second;
  u.job = 0;
  u.state = u.job_result == "done" ? "active" : "failed";
  job_removed(job, name, u.job_result);
  save_units();
}

struct Pending {
  std::string unit;
  uint32_t job;
};

int on_job_timer(sd_event_source* s, uint64_t, void* userdata) {
  auto* p = static_cast<Pending*>(userdata);
  finish_start(p->unit, p->job);
  delete p;
  sd_event_source_unref(s);
  return 0;
}

int method_subscribe(sd_bus_message* m, void*, sd_bus_error*) {
  log_line(call_line(m, "Subscribe"));
  subscribed = true;
  return sd_bus_reply_method_return(m, "");
}

int method_unsubscribe(sd_bus_message* m, void*, sd_bus_error*) {
  log_line(call_line(m, "Unsubscribe"));
  return sd_bus_reply_method_return(m, "");
}

int method_start(sd_bus_message* m, void*, sd_bus_error* error) {
  json line = call_line(m, "StartTransientUnit");
  const char *name_c = nullptr, *mode_c = nullptr;
  int r = sd_bus_message_read(m, "ss", &name_c, &mode_c);
  if (r < 0) return r;
  std::string name = name_c, mode = mode_c;
  json props, aux = json::array();
  if ((r = read_properties(m, props)) < 0) return r;
  if ((r = sd_bus_message_enter_container(m, 'a', "(sa(sv))")) < 0) return r;
  while ((r = sd_bus_message_enter_container(m, 'r', "sa(sv)")) > 0) {
    const char* aux_name = nullptr;
    json aux_props;
    if ((r = sd_bus_message_read_basic(m, 's', &aux_name)) < 0) return r;
    std::string an = aux_name;
    if ((r = read_properties(m, aux_props)) < 0) return r;
    if ((r = sd_bus_message_exit_container(m)) < 0) return r;
    aux.push_back({{"name", an}, {"properties", aux_props}});
  }
  if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0) return r;
  line["unit"] = name;
  line["mode"] = mode;
  line["properties"] = props;
  line["aux"] = aux;

  if (control("unit-exists-once")) {
    ::unlink((opt.control + "/unit-exists-once").c_str());
    return reply_error(error, line, kUnitExists, "Unit " + name + " was already loaded or has a fragment file.");
  }
  static const std::set<std::string> kModes = {"replace", "fail", "isolate", "ignore-dependencies",
                                               "ignore-requirements", "flush", "replace-irreversibly"};
  if (!kModes.count(mode)) return reply_error(error, line, kInvalidArgs, "Job mode " + mode + " invalid");
  if (!valid_unit_name(name)) return reply_error(error, line, kInvalidArgs, "Invalid unit name or type.");
  bool scope = name.ends_with(".scope"), slice = name.ends_with(".slice");
  if (!scope && !slice) return reply_error(error, line, kInvalidArgs, "Unit type " + name + " does not support transient units.");
  if (units.count(name)) return reply_error(error, line, kUnitExists, "Unit " + name + " was already loaded or has a fragment file.");
  std::vector<pid_t> pids;
  std::string slice_name = scope ? "system.slice" : "";
  for (const auto& p : props) {
    if (auto e = check_property(p, false, scope)) return reply_error(error, line, e->first, e->second);
    if (p["name"] == "PIDs") {
      for (const auto& pid : p["value"]) {
        pid_t x = pid.get<pid_t>();
        if (x <= 0 || ::kill(x, 0) < 0) {
          return reply_error(error, line, kNoSuchProcess, "Process with ID " + std::to_string(x) + " does not exist.");
        }
        pids.push_back(x);
      }
    }
    if (p["name"] == "Slice") slice_name = p["value"];
  }
  if (scope && pids.empty()) return reply_error(error, line, kInvalidArgs, "No PIDs specified for scope " + name);

  Unit u;
  u.name = name;
  u.state = "activating";
  u.properties = props;
  u.realize_v1 = control("realize-v1").value_or("") == "1";
  std::string parent = slice ? std::string() : *expand_slice(slice_name);
  u.cgroup = slice ? *expand_slice(name) : parent + "/" + name;
  u.job = next_job++;
  u.job_result = control("start-result").value_or("done");
  if (u.job_result.empty()) u.job_result = "done";
  std::string attach = control("start-attach").value_or("");
  bool do_attach = attach.empty() ? u.job_result == "done" : attach == "1";
  if (do_attach) {
    for (const auto& mount : unit_mounts(u.realize_v1)) {
      std::string err;
      if (!make_cgroup(mount, u.cgroup, err)) {
        log_line({{"event", "realize failed"}, {"unit", name}, {"error", err}});
        u.job_result = "resources";
        break;
      }
      u.dirs.push_back(mount + u.cgroup);
      for (pid_t p : pids) {
        if (!write_file(mount + u.cgroup + "/cgroup.procs", std::to_string(p), &err)) {
          log_line({{"event", "attach failed"}, {"unit", name}, {"error", err}});
          u.job_result = "resources";
        }
      }
    }
    if (u.job_result == "done") realize_limits(u);
  }
  uint32_t job = u.job;
  units[name] = u;
  line["job"] = job_path(job);
  log_line(line);
  save_units();
  r = sd_bus_reply_method_return(m, "o", job_path(job).c_str());
  if (r < 0) return r;
  std::string delay = control("job-delay-ms").value_or("0");
  if (delay == "never") return 1;
  long ms = std::atol(delay.c_str());
  if (ms <= 0) {
    finish_start(name, job);
  } else {
    sd_event_source* s = nullptr;
    sd_event_add_time_relative(event, &s, CLOCK_MONOTONIC, static_cast<uint64_t>(ms) * 1000, 0, on_job_timer,
                               new Pending{name, job});
  }
  return 1;
}

int method_set(sd_bus_message* m, void*, sd_bus_error* error) {
  json line = call_line(m, "SetUnitProperties");
  const char* name_c = nullptr;
  int runtime = 0;
  int r = sd_bus_message_read(m, "sb", &name_c, &runtime);
  if (r < 0) return r;
  std::string name = name_c;
  json props;
  if ((r = read_properties(m, props)) < 0) return r;
  line["unit"] = name;
  line["runtime"] = runtime != 0;
  line["properties"] = props;
  auto it = units.find(name);
  if (it == units.end()) return reply_error(error, line, kNoSuchUnit, "Unit " + name + " not loaded.");
  if (control("set-error-once")) {
    ::unlink((opt.control + "/set-error-once").c_str());
    return reply_error(error, line, "org.freedesktop.DBus.Error.Failed", "Refused by the test (set-error-once)");
  }
  for (const auto& p : props) {
    if (auto e = check_property(p, true, name.ends_with(".scope"))) return reply_error(error, line, e->first, e->second);
  }
  Unit& u = it->second;
  for (const auto& p : props) {
    // DeviceAllow adds to the list (an empty one resets it); everything else replaces.
    if (p["name"] == "DeviceAllow" && !p["value"].empty()) {
      bool merged = false;
      for (auto& q : u.properties) {
        if (q["name"] == "DeviceAllow") {
          for (const auto& e : p["value"]) q["value"].push_back(e);
          merged = true;
        }
      }
      if (merged) continue;
    }
    json kept = json::array();
    for (const auto& q : u.properties) {
      if (q["name"] != p["name"]) kept.push_back(q);
    }
    kept.push_back(p);
    u.properties = std::move(kept);
  }
  log_line(line);
  std::set<std::string> touched;
  for (const auto& p : props) {
    if (auto c = controller_of(p["name"]); !c.empty()) touched.insert(c);
  }
  if (!touched.empty()) realize_limits(u, touched);
  save_units();
  return sd_bus_reply_method_return(m, "");
}

int method_stop(sd_bus_message* m, void*, sd_bus_error* error) {
  json line = call_line(m, "StopUnit");
  const char *name_c = nullptr, *mode_c = nullptr;
  int r = sd_bus_message_read(m, "ss", &name_c, &mode_c);
  if (r < 0) return r;
  std::string name = name_c, mode = mode_c;
  line["unit"] = name;
  line["mode"] = mode;
  auto it = units.find(name);
  if (it == units.end()) return reply_error(error, line, kNoSuchUnit, "Unit " + name + " not loaded.");
  Unit& u = it->second;
  if (u.job != 0) {  // the start job still pending is replaced
    uint32_t old = u.job;
    u.job = 0;
    job_removed(old, name, "canceled");
  }
  line["killed"] = kill_and_remove(u);
  uint32_t job = next_job++;
  std::string result = control("stop-result").value_or("done");
  if (result.empty()) result = "done";
  if (result == "done") {
    units.erase(it);
  } else {
    u.state = "failed";
  }
  line["job"] = job_path(job);
  log_line(line);
  save_units();
  r = sd_bus_reply_method_return(m, "o", job_path(job).c_str());
  if (r < 0) return r;
  job_removed(job, name, result);
  return 1;
}

int method_reset(sd_bus_message* m, void*, sd_bus_error* error) {
  json line = call_line(m, "ResetFailedUnit");
  const char* name_c = nullptr;
  int r = sd_bus_message_read(m, "s", &name_c);
  if (r < 0) return r;
  std::string name = name_c;
  line["unit"] = name;
  auto it = units.find(name);
  if (it == units.end()) return reply_error(error, line, kNoSuchUnit, "Unit " + name + " not loaded.");
  line["state"] = it->second.state;
  if (it->second.state == "failed") {
    // A failed unit is collected: its cgroup goes once empty (systemd does not kill here).
    for (const auto& d : it->second.dirs) {
      if (::rmdir(d.c_str()) < 0 && errno != ENOENT) {
        log_line({{"event", "rmdir failed"}, {"unit", name}, {"dir", d}, {"error", std::strerror(errno)}});
      }
    }
    for (auto s = slice_dirs.rbegin(); s != slice_dirs.rend(); ++s) (void)::rmdir(s->c_str());
    std::erase_if(slice_dirs, [](const std::string& s) { return ::access(s.c_str(), F_OK) != 0; });
    units.erase(it);
  }
  log_line(line);
  save_units();
  return sd_bus_reply_method_return(m, "");
}

int method_attach(sd_bus_message* m, void*, sd_bus_error* error) {
  json line = call_line(m, "AttachProcessesToUnit");
  const char *name_c = nullptr, *sub_c = nullptr;
  int r = sd_bus_message_read(m, "ss", &name_c, &sub_c);
  if (r < 0) return r;
  std::string name = name_c, sub = sub_c;
  json pids;
  if ((r = read_value(m, pids)) < 0) return r;
  line["unit"] = name;
  line["subcgroup"] = sub;
  line["pids"] = pids;
  auto it = units.find(name);
  if (it == units.end()) return reply_error(error, line, kNoSuchUnit, "Unit " + name + " not loaded.");
  if (it->second.state != "active") return reply_error(error, line, kUnitInactive, "Unit " + name + " is not active.");
  for (const auto& d : it->second.dirs) {
    std::string dir = d + (sub.empty() || sub == "/" ? "" : (sub[0] == '/' ? sub : "/" + sub));
    if (dir != d) (void)::mkdir(dir.c_str(), 0755);
    for (const auto& p : pids) {
      std::string err;
      if (!write_file(dir + "/cgroup.procs", std::to_string(p.get<uint32_t>()), &err)) {
        return reply_error(error, line, "org.freedesktop.DBus.Error.Failed", err);
      }
    }
  }
  log_line(line);
  return sd_bus_reply_method_return(m, "");
}

// daemon-reload: every unit's cgroup settings are applied again.
int method_reload(sd_bus_message* m, void*, sd_bus_error*) {
  log_line(call_line(m, "Reload"));
  for (const auto& [name, u] : units) realize_limits(u);
  return sd_bus_reply_method_return(m, "");
}

int get_version(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void*, sd_bus_error*) {
  std::string v = control("version").value_or("252.39-1~deb12u1");
  log_line({{"method", "Get"}, {"property", "Version"}, {"value", v}});
  return sd_bus_message_append(reply, "s", v.c_str());
}

int get_control_group(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void*, sd_bus_error*) {
  log_line({{"method", "Get"}, {"property", "ControlGroup"}, {"value", "/"}});
  return sd_bus_message_append(reply, "s", "/");
}

const sd_bus_vtable kVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Version", "s", get_version, 0, 0),
    SD_BUS_PROPERTY("ControlGroup", "s", get_control_group, 0, 0),
    SD_BUS_METHOD("Subscribe", "", "", method_subscribe, 0),
    SD_BUS_METHOD("Unsubscribe", "", "", method_unsubscribe, 0),
    SD_BUS_METHOD("StartTransientUnit", "ssa(sv)a(sa(sv))", "o", method_start, 0),
    SD_BUS_METHOD("SetUnitProperties", "sba(sv)", "", method_set, 0),
    SD_BUS_METHOD("StopUnit", "ss", "o", method_stop, 0),
    SD_BUS_METHOD("ResetFailedUnit", "s", "", method_reset, 0),
    SD_BUS_METHOD("AttachProcessesToUnit", "ssau", "", method_attach, 0),
    SD_BUS_METHOD("Reload", "", "", method_reload, 0),
    SD_BUS_SIGNAL("JobRemoved", "uoss", 0),
    SD_BUS_VTABLE_END,
};

int on_signal(sd_event_source*, const signalfd_siginfo*, void*) { return sd_event_exit(event, 0); }

[[noreturn]] void die(const std::string& what, int r) {
  std::fprintf(stderr, "systemd_mock: %s: %s\n", what.c_str(), std::strerror(-r));
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--log") opt.log = argv[i + 1];
    else if (a == "--units") opt.units = argv[i + 1];
    else if (a == "--control") opt.control = argv[i + 1];
    else if (a == "--ready") opt.ready = argv[i + 1];
    else {
      std::fprintf(stderr, "systemd_mock: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (!opt.log.empty()) {
    log_fd = ::open(opt.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) die("open " + opt.log, -errno);
  }
  discover_mounts();
  sigset_t ss;
  sigemptyset(&ss);
  sigaddset(&ss, SIGTERM);
  sigaddset(&ss, SIGINT);
  sigprocmask(SIG_BLOCK, &ss, nullptr);
  int r = sd_event_default(&event);
  if (r < 0) die("sd_event_default", r);
  sd_event_add_signal(event, nullptr, SIGTERM, on_signal, nullptr);
  sd_event_add_signal(event, nullptr, SIGINT, on_signal, nullptr);
  r = sd_bus_open_system(&bus);  // $DBUS_SYSTEM_BUS_ADDRESS: the test's own bus
  if (r < 0) die("connect to the bus", r);
  r = sd_bus_add_object_vtable(bus, nullptr, kPath, kManager, kVtable, nullptr);
  if (r < 0) die("add the manager's vtable", r);
  r = sd_bus_request_name(bus, kName, 0);
  if (r < 0) die(std::string("own ") + kName, r);
  r = sd_bus_attach_event(bus, event, 0);
  if (r < 0) die("attach the bus", r);
  log_line({{"event", "ready"}, {"cgroup2", v2_mount}, {"name=systemd", v1_mounts.count("name=systemd") ? v1_mounts["name=systemd"] : ""}});
  save_units();
  if (!opt.ready.empty()) {
    std::ofstream(opt.ready) << ::getpid() << "\n";
  }
  r = sd_event_loop(event);
  json left = json::array();
  for (auto& [name, u] : units) {
    left.push_back({{"name", name}, {"state", u.state}, {"killed", kill_and_remove(u)}});
  }
  units.clear();
  for (auto it = slice_dirs.rbegin(); it != slice_dirs.rend(); ++it) (void)::rmdir(it->c_str());
  log_line({{"event", "exit"}, {"units_left", left}});
  save_units();
  sd_bus_flush_close_unref(bus);
  sd_event_unref(event);
  return r < 0 ? 1 : 0;
}
