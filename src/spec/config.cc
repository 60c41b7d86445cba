#include "spec/config.h"

#include <sched.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "base/fs.h"
#include "spec/json_depth.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace nsbox::spec {

using json = nlohmann::json;

const char* ns_name(NsKind k) {
  switch (k) {
    case NsKind::kPid: return "pid";
    case NsKind::kNetwork: return "network";
    case NsKind::kMount: return "mount";
    case NsKind::kIpc: return "ipc";
    case NsKind::kUts: return "uts";
    case NsKind::kUser: return "user";
    case NsKind::kCgroup: return "cgroup";
    case NsKind::kTime: return "time";
  }
  return "?";
}

const char* ns_proc_name(NsKind k) {
  switch (k) {
    case NsKind::kPid: return "pid";
    case NsKind::kNetwork: return "net";
    case NsKind::kMount: return "mnt";
    case NsKind::kIpc: return "ipc";
    case NsKind::kUts: return "uts";
    case NsKind::kUser: return "user";
    case NsKind::kCgroup: return "cgroup";
    case NsKind::kTime: return "time";
  }
  return "?";
}

int ns_clone_flag(NsKind k) {
  switch (k) {
    case NsKind::kPid: return CLONE_NEWPID;
    case NsKind::kNetwork: return CLONE_NEWNET;
    case NsKind::kMount: return CLONE_NEWNS;
    case NsKind::kIpc: return CLONE_NEWIPC;
    case NsKind::kUts: return CLONE_NEWUTS;
    case NsKind::kUser: return CLONE_NEWUSER;
    case NsKind::kCgroup: return CLONE_NEWCGROUP;
    case NsKind::kTime: return CLONE_NEWTIME;
  }
  return 0;
}

const Namespace* Config::find_ns(NsKind k) const {
  for (const auto& n : linux.namespaces) {
    if (n.kind == k) return &n;
  }
  return nullptr;
}

bool Seccomp::uses_notify() const {
  return std::any_of(syscalls.begin(), syscalls.end(),
                     [](const SeccompRule& r) { return r.action == SeccompAction::kNotify; });
}

namespace {

// A parse failure at a JSON path; caught at parse_config's boundary and turned into an Error.
struct BadField {
  std::string path;
  std::string reason;
};

[[noreturn]] void bad(const std::string& path, const std::string& reason) {
  throw BadField{path, reason};
}

// nlohmann's text without its "[json.exception.parse_error.101] " prefix.
std::string json_error_text(const json::exception& e) {
  std::string what = e.what();
  auto pos = what.find("] ");
  return pos == std::string::npos ? what : what.substr(pos + 2);
}

// Any document nlohmann can fail on (a syntax error, a number too large for a double such
// as 1e400 or a 400-digit integer) is an error naming the file, never an exception.
Result<json> parse_json(const std::string& text, const std::string& file) {
  if (nested_deeper_than(text)) {
    return fail(file + ": invalid JSON: nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    return fail(file + ": invalid JSON: " + json_error_text(e));
  }
}

const char* type_name(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "object";
    case json::value_t::array: return "array";
    case json::value_t::string: return "string";
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "number";
    default: return "value";
  }
}

std::string join(const std::string& base, const std::string& key) {
  return base.empty() ? key : base + "." + key;
}
std::string index(const std::string& base, size_t i) { return base + "[" + std::to_string(i) + "]"; }

// Typed accessors: a missing optional field yields the default, a present field of the
// wrong type is an error naming its path.
const json* field(const json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

void expect(const json& j, json::value_t t, const std::string& path, const char* want) {
  bool ok = j.type() == t;
  if (t == json::value_t::number_integer) ok = j.is_number_integer();
  if (!ok) bad(path, std::string("expected ") + want + ", got " + type_name(j));
}

std::string get_string(const json& obj, const std::string& base, const char* key,
                       bool required = false) {
  const json* j = field(obj, key);
  std::string path = join(base, key);
  if (j == nullptr) {
    if (required) bad(path, "required field is missing");
    return {};
  }
  expect(*j, json::value_t::string, path, "string");
  return j->get<std::string>();
}

bool get_bool(const json& obj, const std::string& base, const char* key) {
  const json* j = field(obj, key);
  if (j == nullptr) return false;
  expect(*j, json::value_t::boolean, join(base, key), "boolean");
  return j->get<bool>();
}

template <typename T>
T as_int(const json& j, const std::string& path) {
  if (!j.is_number_integer()) bad(path, std::string("expected integer, got ") + type_name(j));
  if (j.is_number_unsigned()) {
    auto v = j.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) bad(path, "value out of range");
    return static_cast<T>(v);
  }
  auto v = j.get<int64_t>();
  if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
      (v > 0 && static_cast<uint64_t>(v) > static_cast<uint64_t>(std::numeric_limits<T>::max()))) {
    bad(path, "value out of range");
  }
  return static_cast<T>(v);
}

template <typename T>
std::optional<T> get_int(const json& obj, const std::string& base, const char* key,
                         bool required = false) {
  const json* j = field(obj, key);
  if (j == nullptr) {
    if (required) bad(join(base, key), "required field is missing");
    return std::nullopt;
  }
  return as_int<T>(*j, join(base, key));
}

const json* get_object(const json& obj, const std::string& base, const char* key) {
  const json* j = field(obj, key);
  if (j != nullptr) expect(*j, json::value_t::object, join(base, key), "object");
  return j;
}

const json* get_array(const json& obj, const std::string& base, const char* key) {
  const json* j = field(obj, key);
  if (j != nullptr) expect(*j, json::value_t::array, join(base, key), "array");
  return j;
}

std::vector<std::string> get_strings(const json& obj, const std::string& base, const char* key) {
  std::vector<std::string> out;
  const json* a = get_array(obj, base, key);
  if (a == nullptr) return out;
  std::string path = join(base, key);
  for (size_t i = 0; i < a->size(); ++i) {
    expect((*a)[i], json::value_t::string, index(path, i), "string");
    out.push_back((*a)[i].get<std::string>());
  }
  return out;
}

void check_env(const std::vector<std::string>& env, const std::string& path) {
  for (size_t i = 0; i < env.size(); ++i) {
    if (env[i].find('=') == std::string::npos || env[i].front() == '=') {
      bad(index(path, i), "\"" + env[i] + "\" is not of the form KEY=VALUE");
    }
  }
}

std::vector<IdMapping> parse_mappings(const json& lin, const std::string& base, const char* key) {
  std::vector<IdMapping> out;
  const json* a = get_array(lin, base, key);
  if (a == nullptr) return out;
  std::string path = join(base, key);
  for (size_t i = 0; i < a->size(); ++i) {
    const json& m = (*a)[i];
    std::string p = index(path, i);
    expect(m, json::value_t::object, p, "object");
    IdMapping im;
    im.container_id = *get_int<uint32_t>(m, p, "containerID", true);
    im.host_id = *get_int<uint32_t>(m, p, "hostID", true);
    im.size = *get_int<uint32_t>(m, p, "size", true);
    if (im.size == 0) bad(join(p, "size"), "must be greater than 0");
    out.push_back(im);
  }
  return out;
}

unsigned long parse_propagation(const std::string& s, const std::string& path) {
  static const std::map<std::string, unsigned long> kProp = {
      {"private", MS_PRIVATE},          {"rprivate", MS_PRIVATE | MS_REC},
      {"shared", MS_SHARED},            {"rshared", MS_SHARED | MS_REC},
      {"slave", MS_SLAVE},              {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE},    {"runbindable", MS_UNBINDABLE | MS_REC}};
  auto it = kProp.find(s);
  if (it == kProp.end()) bad(path, "unknown propagation \"" + s + "\"");
  return it->second;
}

// Nothing may be mounted over procfs files but the few that lxcfs-style tools replace, and
// /proc itself only as procfs (runc's rule; CVE-2019-16884 and CVE-2019-19921 class).
void check_proc_destination(const Mount& m, const std::string& p) {
  static const std::set<std::string> kAllowed = {
      "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo",  "/proc/stat",
      "/proc/swaps",   "/proc/uptime",    "/proc/loadavg",  "/proc/slabinfo",
      "/proc/net/dev", "/proc/sys/kernel/ns_last_pid", "/proc/sys/crypto/fips_enabled"};
  std::string d = fs::clean_abs(m.destination);
  if (d == "/proc") {
    if (m.type != "proc") bad(join(p, "destination"), "/proc may only be mounted as type proc");
  } else if (d.starts_with("/proc/") && !kAllowed.contains(d)) {
    bad(join(p, "destination"), "\"" + d + "\" cannot be mounted because it is inside /proc");
  }
}

void check_idmap(Mount& m, const std::string& p) {
  if (m.uid_mappings.empty() != m.gid_mappings.empty()) {
    bad(p, "uidMappings and gidMappings must be given together");
  }
  if (!m.uid_mappings.empty()) m.idmap = true;
  if (m.idmap && !m.bind) bad(p, "idmapped mounts are only supported for bind mounts");
}

Hook parse_hook(const json& h, const std::string& p) {
  expect(h, json::value_t::object, p, "object");
  Hook hook;
  hook.path = get_string(h, p, "path", true);
  if (hook.path.empty() || hook.path[0] != '/') {
    bad(join(p, "path"), "must be an absolute path, got \"" + hook.path + "\"");
  }
  hook.args = get_strings(h, p, "args");
  if (field(h, "env") != nullptr) {
    hook.env = get_strings(h, p, "env");
    check_env(*hook.env, join(p, "env"));
  }
  if (auto t = get_int<int>(h, p, "timeout")) {
    if (*t <= 0) bad(join(p, "timeout"), "must be greater than 0");
    hook.timeout = *t;
  }
  return hook;
}

std::vector<Hook> parse_hooks(const json& hooks, const char* key) {
  std::vector<Hook> out;
  const json* a = get_array(hooks, "hooks", key);
  if (a == nullptr) return out;
  for (size_t i = 0; i < a->size(); ++i) out.push_back(parse_hook((*a)[i], index(join("hooks", key), i)));
  return out;
}

std::vector<int> parse_cap_set(const json& caps, const std::string& base, const char* key,
                               std::vector<std::string>& unknown) {
  std::vector<int> out;
  for (const auto& name : get_strings(caps, base, key)) {
    if (auto c = capability_from_name(name)) {
      out.push_back(*c);
    } else if (std::find(unknown.begin(), unknown.end(), name) == unknown.end()) {
      unknown.push_back(name);
    }
  }
  return out;
}

std::optional<NsKind> ns_from_name(const std::string& s) {
  for (NsKind k : kAllNsKinds) {
    if (s == ns_name(k)) return k;
  }
  return std::nullopt;
}

// The namespace file `path` is the runtime's own namespace of that kind (the host's).
bool is_runtime_ns(const std::string& path, NsKind kind) {
  struct stat theirs{}, ours{};
  if (::stat(path.c_str(), &theirs) < 0) return false;
  if (::stat((std::string("/proc/self/ns/") + ns_proc_name(kind)).c_str(), &ours) < 0) return false;
  return theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino;
}

Process parse_process(const json& pj) {
  const std::string base = "process";
  Process p;
  p.terminal = get_bool(pj, base, "terminal");
  if (const json* cs = get_object(pj, base, "consoleSize")) {
    p.console_height = *get_int<unsigned>(*cs, "process.consoleSize", "height", true);
    p.console_width = *get_int<unsigned>(*cs, "process.consoleSize", "width", true);
  }
  if (const json* u = get_object(pj, base, "user")) {
    const std::string ub = "process.user";
    p.user.uid = get_int<uint32_t>(*u, ub, "uid").value_or(0);
    p.user.gid = get_int<uint32_t>(*u, ub, "gid").value_or(0);
    if (p.user.uid > kMaxId) bad(ub + ".uid", "4294967295 is not a valid user id");
    if (p.user.gid > kMaxId) bad(ub + ".gid", "4294967295 is not a valid group id");
    p.user.umask = get_int<uint32_t>(*u, ub, "umask");
    if (p.user.umask && *p.user.umask > 0777) bad("process.user.umask", "must be at most 0777");
    if (const json* g = get_array(*u, ub, "additionalGids")) {
      for (size_t i = 0; i < g->size(); ++i) {
        p.user.additional_gids.push_back(as_int<uint32_t>((*g)[i], index(ub + ".additionalGids", i)));
        if (p.user.additional_gids.back() > kMaxId) {
          bad(index(ub + ".additionalGids", i), "4294967295 is not a valid group id");
        }
      }
    }
    if (field(*u, "username") != nullptr) get_string(*u, ub, "username");
  }
  p.apparmor_profile = get_string(pj, base, "apparmorProfile");
  p.selinux_label = get_string(pj, base, "selinuxLabel");
  p.args = get_strings(pj, base, "args");
  if (p.args.empty() || p.args[0].empty()) bad("process.args", "must contain at least the program to run");
  p.env = get_strings(pj, base, "env");
  check_env(p.env, "process.env");
  p.cwd = get_string(pj, base, "cwd", true);
  if (p.cwd.empty() || p.cwd[0] != '/') bad("process.cwd", "must be an absolute path, got \"" + p.cwd + "\"");
  if (const json* c = get_object(pj, base, "capabilities")) {
    const std::string cb = "process.capabilities";
    Capabilities caps;
    caps.bounding = parse_cap_set(*c, cb, "bounding", caps.unknown);
    caps.effective = parse_cap_set(*c, cb, "effective", caps.unknown);
    caps.inheritable = parse_cap_set(*c, cb, "inheritable", caps.unknown);
    caps.permitted = parse_cap_set(*c, cb, "permitted", caps.unknown);
    caps.ambient = parse_cap_set(*c, cb, "ambient", caps.unknown);
    p.capabilities = caps;
  }
  if (const json* rl = get_array(pj, base, "rlimits")) {
    std::set<int> seen;
    for (size_t i = 0; i < rl->size(); ++i) {
      std::string rp = index("process.rlimits", i);
      const json& r = (*rl)[i];
      expect(r, json::value_t::object, rp, "object");
      Rlimit lim;
      lim.name = get_string(r, rp, "type", true);
      auto res = rlimit_from_name(lim.name);
      if (!res) bad(join(rp, "type"), "unknown rlimit \"" + lim.name + "\"");
      if (!seen.insert(*res).second) bad(join(rp, "type"), "duplicate rlimit \"" + lim.name + "\"");
      lim.resource = *res;
      lim.soft = *get_int<uint64_t>(r, rp, "soft", true);
      lim.hard = *get_int<uint64_t>(r, rp, "hard", true);
      if (lim.soft > lim.hard) bad(rp, "soft limit is greater than the hard limit");
      p.rlimits.push_back(lim);
    }
  }
  p.no_new_privileges = get_bool(pj, base, "noNewPrivileges");
  p.oom_score_adj = get_int<int>(pj, base, "oomScoreAdj");
  if (p.oom_score_adj && (*p.oom_score_adj < -1000 || *p.oom_score_adj > 1000)) {
    bad("process.oomScoreAdj", "must be between -1000 and 1000");
  }
  return p;
}

template <typename T>
std::vector<T> parse_list(const json& obj, const std::string& base, const char* key,
                          T (*one)(const json&, const std::string&)) {
  std::vector<T> out;
  const json* a = get_array(obj, base, key);
  if (a == nullptr) return out;
  for (size_t i = 0; i < a->size(); ++i) {
    std::string p = index(join(base, key), i);
    expect((*a)[i], json::value_t::object, p, "object");
    out.push_back(one((*a)[i], p));
  }
  return out;
}

ThrottleDevice parse_throttle(const json& j, const std::string& p) {
  ThrottleDevice d;
  d.major = *get_int<int64_t>(j, p, "major", true);
  d.minor = *get_int<int64_t>(j, p, "minor", true);
  d.rate = *get_int<uint64_t>(j, p, "rate", true);
  return d;
}

WeightDevice parse_weight_device(const json& j, const std::string& p) {
  WeightDevice d;
  d.major = *get_int<int64_t>(j, p, "major", true);
  d.minor = *get_int<int64_t>(j, p, "minor", true);
  d.weight = get_int<uint16_t>(j, p, "weight");
  d.leaf_weight = get_int<uint16_t>(j, p, "leafWeight");
  return d;
}

HugepageLimit parse_hugepage(const json& j, const std::string& p) {
  HugepageLimit h;
  h.page_size = get_string(j, p, "pageSize", true);
  h.limit = *get_int<uint64_t>(j, p, "limit", true);
  return h;
}

DeviceRule parse_device_rule(const json& j, const std::string& p) {
  DeviceRule r;
  r.allow = get_bool(j, p, "allow");
  std::string t = get_string(j, p, "type");
  if (t.empty()) t = "a";
  if (t != "a" && t != "c" && t != "b") bad(join(p, "type"), "unknown device type \"" + t + "\" (a, c or b)");
  r.type = t[0];
  r.major = get_int<int64_t>(j, p, "major");
  r.minor = get_int<int64_t>(j, p, "minor");
  if ((r.major && *r.major < 0) || (r.minor && *r.minor < 0)) bad(p, "device numbers must not be negative");
  r.access = get_string(j, p, "access");
  if (r.access.empty()) r.access = "rwm";
  for (char c : r.access) {
    if (c != 'r' && c != 'w' && c != 'm') bad(join(p, "access"), "unknown access \"" + r.access + "\" (r, w, m)");
  }
  return r;
}

// Docker sends 0 for every limit it does not set; runc reads 0 as "leave it alone" for
// these, and so does nsbox (writing it would fail, or mean something else to the kernel).
template <typename... T>
void unset_zeros(std::optional<T>&... v) {
  ((v && *v == 0 ? v.reset() : void()), ...);
}

Resources parse_resources_obj(const json& r, const std::string& base) {
  static const std::set<std::string> kKnown = {"memory", "cpu",     "pids",   "blockIO",
                                               "hugepageLimits", "network", "devices", "unified",
                                               "rdma"};
  Resources res;
  for (auto it = r.begin(); it != r.end(); ++it) {
    if (!kKnown.contains(it.key())) bad(join(base, it.key()), "unknown resource");
  }
  if (field(r, "rdma") != nullptr) bad(join(base, "rdma"), "rdma limits are not supported");
  if (const json* m = get_object(r, base, "memory")) {
    std::string p = join(base, "memory");
    MemoryLimits ml;
    ml.limit = get_int<int64_t>(*m, p, "limit");
    ml.reservation = get_int<int64_t>(*m, p, "reservation");
    ml.swap = get_int<int64_t>(*m, p, "swap");
    ml.kernel = get_int<int64_t>(*m, p, "kernel");
    ml.kernel_tcp = get_int<int64_t>(*m, p, "kernelTCP");
    ml.swappiness = get_int<uint64_t>(*m, p, "swappiness");
    if (field(*m, "disableOOMKiller") != nullptr) ml.disable_oom_killer = get_bool(*m, p, "disableOOMKiller");
    if (field(*m, "useHierarchy") != nullptr) ml.use_hierarchy = get_bool(*m, p, "useHierarchy");
    unset_zeros(ml.limit, ml.reservation, ml.swap, ml.kernel, ml.kernel_tcp);
    res.memory = ml;
  }
  if (const json* c = get_object(r, base, "cpu")) {
    std::string p = join(base, "cpu");
    CpuLimits cl;
    cl.shares = get_int<uint64_t>(*c, p, "shares");
    cl.quota = get_int<int64_t>(*c, p, "quota");
    cl.burst = get_int<uint64_t>(*c, p, "burst");
    cl.period = get_int<uint64_t>(*c, p, "period");
    cl.realtime_runtime = get_int<int64_t>(*c, p, "realtimeRuntime");
    cl.realtime_period = get_int<uint64_t>(*c, p, "realtimePeriod");
    cl.cpus = get_string(*c, p, "cpus");
    cl.mems = get_string(*c, p, "mems");
    cl.idle = get_int<int64_t>(*c, p, "idle");
    unset_zeros(cl.shares, cl.quota, cl.period, cl.realtime_runtime, cl.realtime_period);
    res.cpu = cl;
  }
  if (const json* pj = get_object(r, base, "pids")) {
    res.pids_limit = *get_int<int64_t>(*pj, join(base, "pids"), "limit", true);
  }
  if (const json* b = get_object(r, base, "blockIO")) {
    std::string p = join(base, "blockIO");
    BlockIoLimits bl;
    bl.weight = get_int<uint16_t>(*b, p, "weight");
    bl.leaf_weight = get_int<uint16_t>(*b, p, "leafWeight");
    bl.weight_devices = parse_list<WeightDevice>(*b, p, "weightDevice", parse_weight_device);
    bl.read_bps = parse_list<ThrottleDevice>(*b, p, "throttleReadBpsDevice", parse_throttle);
    bl.write_bps = parse_list<ThrottleDevice>(*b, p, "throttleWriteBpsDevice", parse_throttle);
    bl.read_iops = parse_list<ThrottleDevice>(*b, p, "throttleReadIOPSDevice", parse_throttle);
    bl.write_iops = parse_list<ThrottleDevice>(*b, p, "throttleWriteIOPSDevice", parse_throttle);
    unset_zeros(bl.weight, bl.leaf_weight);
    res.block_io = bl;
  }
  res.hugepages = parse_list<HugepageLimit>(r, base, "hugepageLimits", parse_hugepage);
  if (const json* n = get_object(r, base, "network")) {
    std::string p = join(base, "network");
    NetworkLimits nl;
    nl.class_id = get_int<uint32_t>(*n, p, "classID");
    if (const json* pr = get_array(*n, p, "priorities")) {
      for (size_t i = 0; i < pr->size(); ++i) {
        std::string ip = index(join(p, "priorities"), i);
        expect((*pr)[i], json::value_t::object, ip, "object");
        nl.priorities.emplace_back(get_string((*pr)[i], ip, "name", true),
                                   *get_int<uint32_t>((*pr)[i], ip, "priority", true));
      }
    }
    res.network = nl;
  }
  res.devices = parse_list<DeviceRule>(r, base, "devices", parse_device_rule);
  if (auto v = validate_resources(res, base); !v) {
    // validate_resources names "<base>.<field>: reason"; split it back for BadField.
    const std::string& m = v.error().message();
    auto colon = m.find(": ");
    bad(m.substr(0, colon), m.substr(colon + 2));
  }
  if (const json* u = get_object(r, base, "unified")) {
    for (auto it = u->begin(); it != u->end(); ++it) {
      std::string p = join(join(base, "unified"), it.key());
      expect(it.value(), json::value_t::string, p, "string");
      if (it.key().find('/') != std::string::npos || it.key().starts_with(".")) bad(p, "invalid cgroup file name");
      res.unified[it.key()] = it.value().get<std::string>();
    }
  }
  return res;
}

SeccompAction parse_seccomp_action(const json& obj, const std::string& base, const char* key) {
  static const std::map<std::string, SeccompAction> kActions = {
      {"SCMP_ACT_KILL", SeccompAction::kKill},
      {"SCMP_ACT_KILL_PROCESS", SeccompAction::kKillProcess},
      {"SCMP_ACT_KILL_THREAD", SeccompAction::kKillThread},
      {"SCMP_ACT_TRAP", SeccompAction::kTrap},
      {"SCMP_ACT_ERRNO", SeccompAction::kErrno},
      {"SCMP_ACT_TRACE", SeccompAction::kTrace},
      {"SCMP_ACT_ALLOW", SeccompAction::kAllow},
      {"SCMP_ACT_LOG", SeccompAction::kLog},
      {"SCMP_ACT_NOTIFY", SeccompAction::kNotify}};
  std::string a = get_string(obj, base, key, true);
  auto it = kActions.find(a);
  if (it == kActions.end()) bad(join(base, key), "unknown action \"" + a + "\"");
  return it->second;
}

// errnoRet is only meaningful for the actions that return an errno.
std::optional<uint32_t> parse_errno_ret(const json& obj, const std::string& base, const char* key,
                                        SeccompAction action) {
  auto v = get_int<uint32_t>(obj, base, key);
  if (v && action != SeccompAction::kErrno && action != SeccompAction::kTrace) {
    bad(join(base, key), "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno");
  }
  return v;
}

Seccomp parse_seccomp(const json& sj, const std::string& base) {
  static const std::map<std::string, SeccompOp> kOps = {
      {"SCMP_CMP_NE", SeccompOp::kNe}, {"SCMP_CMP_LT", SeccompOp::kLt},
      {"SCMP_CMP_LE", SeccompOp::kLe}, {"SCMP_CMP_EQ", SeccompOp::kEq},
      {"SCMP_CMP_GE", SeccompOp::kGe}, {"SCMP_CMP_GT", SeccompOp::kGt},
      {"SCMP_CMP_MASKED_EQ", SeccompOp::kMaskedEq}};
  Seccomp s;
  s.default_action = parse_seccomp_action(sj, base, "defaultAction");
  if (s.default_action == SeccompAction::kNotify) {
    bad(join(base, "defaultAction"), "SCMP_ACT_NOTIFY cannot be the default action");
  }
  s.default_errno_ret = parse_errno_ret(sj, base, "defaultErrnoRet", s.default_action);
  s.architectures = get_strings(sj, base, "architectures");
  for (size_t i = 0; i < s.architectures.size(); ++i) {
    if (!seccomp_arch_names().contains(s.architectures[i])) {
      bad(index(join(base, "architectures"), i), "unknown architecture \"" + s.architectures[i] + "\"");
    }
  }
  s.flags = get_strings(sj, base, "flags");
  for (size_t i = 0; i < s.flags.size(); ++i) {
    if (!seccomp_flag_names().contains(s.flags[i])) {
      bad(index(join(base, "flags"), i), "unknown flag \"" + s.flags[i] + "\"");
    }
  }
  s.listener_path = get_string(sj, base, "listenerPath");
  s.listener_metadata = get_string(sj, base, "listenerMetadata");
  if (const json* a = get_array(sj, base, "syscalls")) {
    for (size_t i = 0; i < a->size(); ++i) {
      std::string p = index(join(base, "syscalls"), i);
      const json& rj = (*a)[i];
      expect(rj, json::value_t::object, p, "object");
      SeccompRule r;
      r.names = get_strings(rj, p, "names");
      if (r.names.empty()) bad(join(p, "names"), "must name at least one system call");
      r.action = parse_seccomp_action(rj, p, "action");
      r.errno_ret = parse_errno_ret(rj, p, "errnoRet", r.action);
      if (const json* args = get_array(rj, p, "args")) {
        for (size_t k = 0; k < args->size(); ++k) {
          std::string ap = index(join(p, "args"), k);
          const json& aj = (*args)[k];
          expect(aj, json::value_t::object, ap, "object");
          SeccompArg arg;
          arg.index = *get_int<unsigned>(aj, ap, "index", true);
          if (arg.index > 5) bad(join(ap, "index"), "must be between 0 and 5");
          arg.value = *get_int<uint64_t>(aj, ap, "value", true);
          arg.value_two = get_int<uint64_t>(aj, ap, "valueTwo").value_or(0);
          std::string op = get_string(aj, ap, "op", true);
          auto it = kOps.find(op);
          if (it == kOps.end()) bad(join(ap, "op"), "unknown operator \"" + op + "\"");
          arg.op = it->second;
          r.args.push_back(arg);
        }
      }
      s.syscalls.push_back(std::move(r));
    }
  }
  if (s.uses_notify() && s.listener_path.empty()) {
    bad(join(base, "listenerPath"), "required when a rule uses SCMP_ACT_NOTIFY");
  }
  return s;
}

void parse_linux(const json& lj, Config& c) {
  Linux& l = c.linux;
  if (const json* ns = get_array(lj, "linux", "namespaces")) {
    for (size_t i = 0; i < ns->size(); ++i) {
      std::string p = index("linux.namespaces", i);
      expect((*ns)[i], json::value_t::object, p, "object");
      std::string t = get_string((*ns)[i], p, "type", true);
      auto kind = ns_from_name(t);
      if (!kind) bad(join(p, "type"), "unknown namespace type \"" + t + "\"");
      if (c.find_ns(*kind) != nullptr) bad(join(p, "type"), "duplicate namespace \"" + t + "\"");
      std::string path = get_string((*ns)[i], p, "path");
      if (!path.empty()) {
        if (path[0] != '/') bad(join(p, "path"), "must be an absolute path, got \"" + path + "\"");
        struct stat st{};
        if (::stat(path.c_str(), &st) < 0) {
          bad(join(p, "path"), "stat " + path + ": " + std::strerror(errno));
        }
      }
      l.namespaces.push_back({*kind, path});
    }
  }
  l.uid_mappings = parse_mappings(lj, "linux", "uidMappings");
  l.gid_mappings = parse_mappings(lj, "linux", "gidMappings");
  if (c.new_ns(NsKind::kUser)) {
    if (l.uid_mappings.empty()) bad("linux.uidMappings", "a new user namespace needs uid mappings");
    if (l.gid_mappings.empty()) bad("linux.gidMappings", "a new user namespace needs gid mappings");
  } else if (!l.uid_mappings.empty() || !l.gid_mappings.empty()) {
    bad(l.uid_mappings.empty() ? "linux.gidMappings" : "linux.uidMappings",
        "mappings need a new user namespace in linux.namespaces");
  }
  if (const json* to = get_object(lj, "linux", "timeOffsets")) {
    for (auto it = to->begin(); it != to->end(); ++it) {
      std::string p = "linux.timeOffsets." + it.key();
      expect(it.value(), json::value_t::object, p, "object");
      TimeOffset off;
      off.secs = get_int<int64_t>(it.value(), p, "secs").value_or(0);
      off.nanosecs = get_int<uint32_t>(it.value(), p, "nanosecs").value_or(0);
      if (off.nanosecs >= 1000000000U) bad(join(p, "nanosecs"), "must be less than 1000000000");
      if (it.key() == "monotonic") {
        l.monotonic_offset = off;
      } else if (it.key() == "boottime") {
        l.boottime_offset = off;
      } else {
        bad(p, "unknown clock \"" + it.key() + "\" (monotonic or boottime)");
      }
    }
    if ((l.monotonic_offset || l.boottime_offset) && !c.new_ns(NsKind::kTime)) {
      bad("linux.timeOffsets", "offsets need a new time namespace in linux.namespaces");
    }
  }
  if (const json* d = get_array(lj, "linux", "devices")) {
    for (size_t i = 0; i < d->size(); ++i) {
      std::string p = index("linux.devices", i);
      const json& dj = (*d)[i];
      expect(dj, json::value_t::object, p, "object");
      Device dev;
      dev.path = get_string(dj, p, "path", true);
      if (dev.path.empty() || dev.path[0] != '/') {
        bad(join(p, "path"), "must be an absolute path, got \"" + dev.path + "\"");
      }
      std::string t = get_string(dj, p, "type", true);
      if (t.size() != 1 || std::string("cbup").find(t[0]) == std::string::npos) {
        bad(join(p, "type"), "unknown device type \"" + t + "\" (c, b, u or p)");
      }
      dev.type = t[0];
      if (dev.type != 'p') {
        dev.major = *get_int<int64_t>(dj, p, "major", true);
        dev.minor = *get_int<int64_t>(dj, p, "minor", true);
      }
      dev.file_mode = get_int<uint32_t>(dj, p, "fileMode").value_or(0666);
      dev.uid = get_int<uint32_t>(dj, p, "uid").value_or(0);
      dev.gid = get_int<uint32_t>(dj, p, "gid").value_or(0);
      l.devices.push_back(dev);
    }
  }
  l.masked_paths = get_strings(lj, "linux", "maskedPaths");
  l.readonly_paths = get_strings(lj, "linux", "readonlyPaths");
  for (auto* v : {&l.masked_paths, &l.readonly_paths}) {
    for (size_t i = 0; i < v->size(); ++i) {
      if ((*v)[i].empty() || (*v)[i][0] != '/') {
        bad(index(v == &l.masked_paths ? "linux.maskedPaths" : "linux.readonlyPaths", i),
            "must be an absolute path, got \"" + (*v)[i] + "\"");
      }
    }
  }
  if (const json* s = get_object(lj, "linux", "sysctl")) {
    for (auto it = s->begin(); it != s->end(); ++it) {
      std::string p = "linux.sysctl." + it.key();
      expect(it.value(), json::value_t::string, p, "string");
      const std::string& k = it.key();
      // Only namespaced sysctls may be set, and only in a namespace that is not the host's
      // (one joined by path may be: the runtime's own is the host's, as runc checks it).
      auto needs = [&](NsKind kind) {
        const Namespace* n = c.find_ns(kind);
        if (n == nullptr) bad(p, std::string("needs its own ") + ns_name(kind) + " namespace");
        if (!n->path.empty() && is_runtime_ns(n->path, kind)) {
          bad(p, std::string("is not allowed in the host's ") + ns_name(kind) + " namespace (" + n->path + ")");
        }
      };
      if (k.starts_with("net.")) {
        needs(NsKind::kNetwork);
      } else if (k.starts_with("fs.mqueue.") || k == "kernel.sem" || k.starts_with("kernel.shm") ||
                 k.starts_with("kernel.msg")) {
        needs(NsKind::kIpc);
      } else if (k == "kernel.hostname" || k == "kernel.domainname") {
        // It would bypass the "hostname"/"domainname" fields (and their checks).
        bad(p, std::string("is not allowed: set the \"") + k.substr(7) + "\" field instead");
      } else {
        bad(p, "is not a namespaced sysctl");
      }
      if (k.find("..") != std::string::npos || k.find('/') != std::string::npos) bad(p, "invalid name");
      l.sysctl[k] = it.value().get<std::string>();
    }
  }
  if (const json* nd = get_object(lj, "linux", "netDevices")) {
    // runtime-spec 1.3: interfaces moved into the container's network namespace.
    if (!nd->empty() && c.find_ns(NsKind::kNetwork) == nullptr) {
      bad("linux.netDevices", "unable to move network devices without a NET namespace");
    }
    auto valid = [](const std::string& n) {
      return !n.empty() && n.size() <= 15 && n != "." && n != ".." &&
             n.find_first_of("/: \t\n") == std::string::npos;
    };
    for (auto it = nd->begin(); it != nd->end(); ++it) {
      std::string p = "linux.netDevices." + it.key();
      expect(it.value(), json::value_t::object, p, "object");
      if (!valid(it.key())) bad(p, "invalid network device name \"" + it.key() + "\"");
      std::string name = get_string(it.value(), p, "name");
      if (!name.empty() && !valid(name)) bad(join(p, "name"), "invalid network device name \"" + name + "\"");
      l.net_devices[it.key()] = name;
    }
  }
  std::string rp = get_string(lj, "linux", "rootfsPropagation");
  if (!rp.empty()) l.rootfs_propagation = parse_propagation(rp, "linux.rootfsPropagation");
  // Cleaned lexically, as runc does, so that ".." cannot leave the cgroup hierarchy.
  l.mount_label = get_string(lj, "linux", "mountLabel");
  l.cgroups_path = get_string(lj, "linux", "cgroupsPath");
  if (!l.cgroups_path.empty() && l.cgroups_path.find(':') == std::string::npos) {
    bool abs = l.cgroups_path[0] == '/';
    l.cgroups_path = fs::clean_abs("/" + l.cgroups_path);
    if (!abs) l.cgroups_path.erase(0, 1);
    if (l.cgroups_path.empty() || l.cgroups_path == "/") {
      bad("linux.cgroupsPath", "must name a cgroup below the root");
    }
  }
  if (const json* r = get_object(lj, "linux", "resources")) {
    l.resources = parse_resources_obj(*r, "linux.resources");
  }
  if (const json* sj = get_object(lj, "linux", "seccomp")) {
    l.seccomp = parse_seccomp(*sj, "linux.seccomp");
    l.seccomp_json = sj->dump();
  }
}

}  // namespace

const std::set<std::string>& seccomp_arch_names() {
  static const std::set<std::string> kArches = {
      "SCMP_ARCH_X86",       "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
      "SCMP_ARCH_AARCH64",   "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
      "SCMP_ARCH_MIPSEL",    "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
      "SCMP_ARCH_PPC64",     "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
      "SCMP_ARCH_PARISC",    "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64",
      "SCMP_ARCH_M68K",      "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB"};
  return kArches;
}

const std::set<std::string>& seccomp_flag_names() {
  static const std::set<std::string> kFlags = {
      "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
      "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  return kFlags;
}

std::optional<int> rlimit_from_name(const std::string& name) {
  static const std::map<std::string, int> kLimits = {
      {"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},
      {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
      {"RLIMIT_NICE", RLIMIT_NICE},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK}};
  auto it = kLimits.find(name);
  if (it == kLimits.end()) return std::nullopt;
  return it->second;
}

std::optional<int> capability_from_name(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (!lower.starts_with("cap_")) return std::nullopt;
  cap_value_t v = 0;
  if (cap_from_name(lower.c_str(), &v) != 0) return std::nullopt;
  // libcap stops at the first character that is not part of a name ("cap_kill2" reads as
  // cap_kill) and accepts numbers: only an exact round trip is a capability name.
  char* back = cap_to_name(v);
  bool exact = back != nullptr && lower == back;
  cap_free(back);
  if (!exact) return std::nullopt;
  return static_cast<int>(v);
}

std::optional<uint32_t> parse_id(const std::string& text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(ch - '0');
  }
  if (v > kMaxId) return std::nullopt;
  return static_cast<uint32_t>(v);
}

std::string format_id_mappings(const std::vector<IdMapping>& maps) {
  std::string out;
  for (const auto& m : maps) {
    out += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
           std::to_string(m.size) + "\n";
  }
  return out;
}

namespace {

struct MountFlag {
  bool clear;
  unsigned long flag;
};

const std::map<std::string, MountFlag>& mount_flags() {
  static const std::map<std::string, MountFlag> kFlags = {
      {"async", {true, MS_SYNCHRONOUS}},     {"atime", {true, MS_NOATIME}},
      {"defaults", {false, 0}},              {"dev", {true, MS_NODEV}},
      {"diratime", {true, MS_NODIRATIME}},   {"dirsync", {false, MS_DIRSYNC}},
      {"exec", {true, MS_NOEXEC}},           {"iversion", {false, MS_I_VERSION}},
      {"lazytime", {false, MS_LAZYTIME}},    {"loud", {true, MS_SILENT}},
      {"mand", {false, MS_MANDLOCK}},        {"noatime", {false, MS_NOATIME}},
      {"nodev", {false, MS_NODEV}},          {"nodiratime", {false, MS_NODIRATIME}},
      {"noexec", {false, MS_NOEXEC}},        {"noiversion", {true, MS_I_VERSION}},
      {"nolazytime", {true, MS_LAZYTIME}},   {"nomand", {true, MS_MANDLOCK}},
      {"norelatime", {true, MS_RELATIME}},   {"nostrictatime", {true, MS_STRICTATIME}},
      {"nosuid", {false, MS_NOSUID}},        {"relatime", {false, MS_RELATIME}},
      {"remount", {false, MS_REMOUNT}},      {"ro", {false, MS_RDONLY}},
      {"rw", {true, MS_RDONLY}},             {"silent", {false, MS_SILENT}},
      {"strictatime", {false, MS_STRICTATIME}}, {"suid", {true, MS_NOSUID}},
      {"sync", {false, MS_SYNCHRONOUS}}};
  return kFlags;
}

const std::set<std::string>& propagation_options() {
  static const std::set<std::string> kProp = {"private", "rprivate", "shared",     "rshared",
                                               "slave",   "rslave",   "unbindable", "runbindable"};
  return kProp;
}

}  // namespace

std::vector<std::string> mount_option_names() {
  std::vector<std::string> out = {"bind", "rbind", "idmap", "ridmap", "rro", "rrw"};
  for (const auto& [name, f] : mount_flags()) out.push_back(name);
  for (const auto& name : propagation_options()) out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

Result<Mount> parse_mount_options(Mount m) {
  const auto& kFlags = mount_flags();
  const auto& kProp = propagation_options();
  m.flags = 0;
  m.propagation.clear();
  m.data.clear();
  m.bind = m.type == "bind";
  for (const auto& o : m.options) {
    if (o == "bind") {
      m.bind = true;
      m.flags |= MS_BIND;
    } else if (o == "rbind") {
      m.bind = true;
      m.flags |= MS_BIND | MS_REC;
    } else if (kProp.contains(o)) {
      try {
        m.propagation.push_back(parse_propagation(o, ""));
      } catch (const BadField&) {
      }
    } else if (auto it = kFlags.find(o); it != kFlags.end()) {
      if (it->second.clear) {
        m.flags &= ~it->second.flag;
      } else {
        m.flags |= it->second.flag;
      }
    } else if (o == "idmap" || o == "ridmap") {
      m.idmap = true;
      m.idmap_recursive = o == "ridmap";
    } else if (o == "rro" || o == "rrw") {
      m.recursive_ro = o == "rro";
    } else if (o == "tmpcopyup") {
      return fail("option \"" + o + "\" is not supported by this nsbox version");
    } else {
      // Everything else is file-system data, as mount(8) passes it (mode=755, size=65536k...).
      if (!m.data.empty()) m.data += ",";
      m.data += o;
    }
  }
  if (m.bind) m.flags |= MS_BIND;
  return m;
}

Result<Config> parse_config(const std::string& text, const std::string& bundle,
                            const std::string& file) {
  json j;
  if (auto parsed = parse_json(text, file); !parsed) {
    return fail(std::move(parsed.error()));
  } else {
    j = std::move(*parsed);
  }
  Config c;
  c.bundle = bundle;
  try {
    if (!j.is_object()) bad("(top level)", std::string("expected object, got ") + type_name(j));
    c.oci_version = get_string(j, "", "ociVersion", true);
    const json* root = get_object(j, "", "root");
    if (root == nullptr) bad("root", "required field is missing");
    std::string rp = get_string(*root, "root", "path", true);
    if (rp.empty()) bad("root.path", "must not be empty");
    c.root = fs::clean_abs(rp[0] == '/' ? rp : bundle + "/" + rp);
    c.root_readonly = get_bool(*root, "root", "readonly");
    struct stat st{};
    if (::stat(c.root.c_str(), &st) < 0) {
      bad("root.path", "stat " + c.root + ": " + std::strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) bad("root.path", c.root + " is not a directory");

    if (const json* ms = get_array(j, "", "mounts")) {
      for (size_t i = 0; i < ms->size(); ++i) {
        std::string p = index("mounts", i);
        const json& mj = (*ms)[i];
        expect(mj, json::value_t::object, p, "object");
        Mount m;
        m.destination = get_string(mj, p, "destination", true);
        if (m.destination.empty() || m.destination[0] != '/') {
          bad(join(p, "destination"), "must be an absolute path, got \"" + m.destination + "\"");
        }
        m.type = get_string(mj, p, "type");
        m.source = get_string(mj, p, "source");
        m.options = get_strings(mj, p, "options");
        m.uid_mappings = parse_mappings(mj, p, "uidMappings");
        m.gid_mappings = parse_mappings(mj, p, "gidMappings");
        check_proc_destination(m, p);
        auto parsed = parse_mount_options(std::move(m));
        if (!parsed) bad(join(p, "options"), parsed.error().message());
        check_idmap(*parsed, p);
        if (parsed->bind) {
          if (parsed->source.empty()) bad(join(p, "source"), "a bind mount needs a source");
          if (parsed->source[0] != '/') parsed->source = bundle + "/" + parsed->source;
          if (::stat(parsed->source.c_str(), &st) < 0) {
            bad(join(p, "source"), "stat " + parsed->source + ": " + std::strerror(errno));
          }
        } else if (parsed->type.empty()) {
          bad(join(p, "type"), "required for a mount that is not a bind mount");
        }
        c.mounts.push_back(std::move(*parsed));
      }
    }
    if (const json* pj = get_object(j, "", "process")) {
      c.process = parse_process(*pj);
      c.process_json = pj->dump();
    }
    c.hostname = get_string(j, "", "hostname");
    c.domainname = get_string(j, "", "domainname");
    if (const json* a = get_object(j, "", "annotations")) {
      for (auto it = a->begin(); it != a->end(); ++it) {
        expect(it.value(), json::value_t::string, "annotations." + it.key(), "string");
        c.annotations[it.key()] = it.value().get<std::string>();
      }
    }
    if (const json* h = get_object(j, "", "hooks")) {
      c.hooks.prestart = parse_hooks(*h, "prestart");
      c.hooks.create_runtime = parse_hooks(*h, "createRuntime");
      c.hooks.create_container = parse_hooks(*h, "createContainer");
      c.hooks.start_container = parse_hooks(*h, "startContainer");
      c.hooks.poststart = parse_hooks(*h, "poststart");
      c.hooks.poststop = parse_hooks(*h, "poststop");
    }
    if (const json* l = get_object(j, "", "linux")) parse_linux(*l, c);
    for (size_t i = 0; i < c.mounts.size(); ++i) {
      if (c.mounts[i].idmap && c.mounts[i].uid_mappings.empty() && c.find_ns(NsKind::kUser) == nullptr) {
        bad(index("mounts", i), "idmap without uidMappings and gidMappings maps through the "
                                "container's user namespace, and there is none");
      }
    }
    // A uts namespace joined by path may take them too (it is the container's), as runc.
    if (!c.hostname.empty() && c.find_ns(NsKind::kUts) == nullptr) {
      bad("hostname", "setting the hostname needs a uts namespace (new, or joined by path)");
    }
    if (!c.domainname.empty() && c.find_ns(NsKind::kUts) == nullptr) {
      bad("domainname", "setting the domainname needs a uts namespace (new, or joined by path)");
    }
  } catch (const BadField& b) {
    return fail(file + ": " + b.path + ": " + b.reason);
  } catch (const json::exception& e) {
    return fail(file + ": " + json_error_text(e));
  }
  return c;
}

Result<> validate_resources(const Resources& r, const std::string& base) {
  auto err = [&](const std::string& field, const std::string& why) {
    return fail(join(base, field) + ": " + why);
  };
  if (const auto& m = r.memory) {
    for (auto [name, v] : {std::pair{"memory.limit", m->limit}, {"memory.reservation", m->reservation},
                           {"memory.swap", m->swap}, {"memory.kernel", m->kernel},
                           {"memory.kernelTCP", m->kernel_tcp}}) {
      if (v && *v < -1) return err(name, "must be -1 (unlimited) or a number of bytes");
    }
    if (m->swappiness && *m->swappiness > 100) return err("memory.swappiness", "must be between 0 and 100");
    if (m->limit && m->swap && *m->limit > 0 && *m->swap > 0 && *m->swap < *m->limit) {
      return err("memory.swap", "memory+swap limit must not be below the memory limit");
    }
  }
  if (const auto& c = r.cpu) {
    if (c->quota && (*c->quota < -1 || *c->quota == 0)) return err("cpu.quota", "must be -1 (unlimited) or positive");
    if (c->period && (*c->period < 1000 || *c->period > 1000000)) {
      return err("cpu.period", "must be between 1000 and 1000000 microseconds");
    }
    if (c->idle && *c->idle != 0 && *c->idle != 1) return err("cpu.idle", "must be 0 or 1");
  }
  // 0 means "unlimited" to runc (docker sends it); the spec itself asks for a positive count.
  if (r.pids_limit && *r.pids_limit < -1) return err("pids.limit", "must be -1 (unlimited) or positive");
  if (const auto& b = r.block_io) {
    for (auto [name, v] : {std::pair{"blockIO.weight", b->weight}, {"blockIO.leafWeight", b->leaf_weight}}) {
      if (v && *v != 0 && (*v < 10 || *v > 1000)) return err(name, "must be between 10 and 1000");
    }
  }
  return {};
}

namespace {

// One JSON object given as text, through `parse` (which throws BadField): errors read
// "<file>: <json.path>: <reason>", or "<file>: invalid JSON: <where>".
template <typename F>
auto parse_object_text(const std::string& text, const std::string& file, const std::string& path,
                       F parse) -> Result<decltype(parse(std::declval<const json&>()))> {
  json j;
  if (auto parsed = parse_json(text, file); !parsed) {
    return fail(std::move(parsed.error()));
  } else {
    j = std::move(*parsed);
  }
  try {
    if (!j.is_object()) bad(path.empty() ? "(top level)" : path, std::string("expected object, got ") + type_name(j));
    return parse(j);
  } catch (const BadField& b) {
    return fail(file + ": " + b.path + ": " + b.reason);
  } catch (const json::exception& e) {
    return fail(file + ": " + json_error_text(e));
  }
}

}  // namespace

std::string resources_to_json(const Resources& r) {
  json j = json::object();
  auto put = [](json& o, const char* k, const auto& v) {
    if (v) o[k] = *v;
  };
  if (const auto& m = r.memory) {
    json o = json::object();
    put(o, "limit", m->limit);
    put(o, "reservation", m->reservation);
    put(o, "swap", m->swap);
    put(o, "kernel", m->kernel);
    put(o, "kernelTCP", m->kernel_tcp);
    put(o, "swappiness", m->swappiness);
    put(o, "disableOOMKiller", m->disable_oom_killer);
    put(o, "useHierarchy", m->use_hierarchy);
    j["memory"] = o;
  }
  if (const auto& c = r.cpu) {
    json o = json::object();
    put(o, "shares", c->shares);
    put(o, "quota", c->quota);
    put(o, "burst", c->burst);
    put(o, "period", c->period);
    put(o, "realtimeRuntime", c->realtime_runtime);
    put(o, "realtimePeriod", c->realtime_period);
    put(o, "idle", c->idle);
    if (!c->cpus.empty()) o["cpus"] = c->cpus;
    if (!c->mems.empty()) o["mems"] = c->mems;
    j["cpu"] = o;
  }
  if (r.pids_limit) j["pids"] = {{"limit", *r.pids_limit}};
  if (const auto& b = r.block_io) {
    json o = json::object();
    put(o, "weight", b->weight);
    put(o, "leafWeight", b->leaf_weight);
    json wd = json::array();
    for (const auto& d : b->weight_devices) {
      json e = {{"major", d.major}, {"minor", d.minor}};
      put(e, "weight", d.weight);
      put(e, "leafWeight", d.leaf_weight);
      wd.push_back(e);
    }
    if (!wd.empty()) o["weightDevice"] = wd;
    auto throttle = [&](const char* k, const std::vector<ThrottleDevice>& ts) {
      json a = json::array();
      for (const auto& t : ts) a.push_back({{"major", t.major}, {"minor", t.minor}, {"rate", t.rate}});
      if (!a.empty()) o[k] = a;
    };
    throttle("throttleReadBpsDevice", b->read_bps);
    throttle("throttleWriteBpsDevice", b->write_bps);
    throttle("throttleReadIOPSDevice", b->read_iops);
    throttle("throttleWriteIOPSDevice", b->write_iops);
    j["blockIO"] = o;
  }
  if (!r.hugepages.empty()) {
    json a = json::array();
    for (const auto& h : r.hugepages) a.push_back({{"pageSize", h.page_size}, {"limit", h.limit}});
    j["hugepageLimits"] = a;
  }
  if (const auto& n = r.network) {
    json o = json::object();
    put(o, "classID", n->class_id);
    json pr = json::array();
    for (const auto& [name, prio] : n->priorities) pr.push_back({{"name", name}, {"priority", prio}});
    if (!pr.empty()) o["priorities"] = pr;
    j["network"] = o;
  }
  if (!r.devices.empty()) {
    json a = json::array();
    for (const auto& d : r.devices) {
      json e = {{"allow", d.allow}, {"type", std::string(1, d.type)}, {"access", d.access}};
      put(e, "major", d.major);
      put(e, "minor", d.minor);
      a.push_back(e);
    }
    j["devices"] = a;
  }
  if (!r.unified.empty()) j["unified"] = r.unified;
  return j.dump();
}

Resources merged(Resources base, const Resources& u) {
  auto over = [](auto& dst, const auto& src) {
    if (src) dst = src;
  };
  if (u.memory) {
    auto& m = base.memory ? *base.memory : base.memory.emplace();
    over(m.limit, u.memory->limit);
    over(m.reservation, u.memory->reservation);
    over(m.swap, u.memory->swap);
    over(m.kernel, u.memory->kernel);
    over(m.kernel_tcp, u.memory->kernel_tcp);
    over(m.swappiness, u.memory->swappiness);
    over(m.disable_oom_killer, u.memory->disable_oom_killer);
    over(m.use_hierarchy, u.memory->use_hierarchy);
  }
  if (u.cpu) {
    auto& c = base.cpu ? *base.cpu : base.cpu.emplace();
    over(c.shares, u.cpu->shares);
    over(c.quota, u.cpu->quota);
    over(c.burst, u.cpu->burst);
    over(c.period, u.cpu->period);
    over(c.realtime_runtime, u.cpu->realtime_runtime);
    over(c.realtime_period, u.cpu->realtime_period);
    over(c.idle, u.cpu->idle);
    if (!u.cpu->cpus.empty()) c.cpus = u.cpu->cpus;
    if (!u.cpu->mems.empty()) c.mems = u.cpu->mems;
  }
  over(base.pids_limit, u.pids_limit);
  if (u.block_io) {
    auto& b = base.block_io ? *base.block_io : base.block_io.emplace();
    over(b.weight, u.block_io->weight);
    over(b.leaf_weight, u.block_io->leaf_weight);
    for (auto [dst, src] : {std::pair{&b.read_bps, &u.block_io->read_bps}, {&b.write_bps, &u.block_io->write_bps},
                            {&b.read_iops, &u.block_io->read_iops}, {&b.write_iops, &u.block_io->write_iops}}) {
      if (!src->empty()) *dst = *src;
    }
    if (!u.block_io->weight_devices.empty()) b.weight_devices = u.block_io->weight_devices;
  }
  if (!u.hugepages.empty()) base.hugepages = u.hugepages;
  over(base.network, u.network);
  if (!u.devices.empty()) base.devices = u.devices;
  for (const auto& [k, v] : u.unified) base.unified[k] = v;
  return base;
}

Result<Resources> parse_resources(const std::string& text, const std::string& file,
                                  const std::string& base) {
  return parse_object_text(text, file, base, [&](const json& j) { return parse_resources_obj(j, base); });
}

Result<Process> parse_process_json(const std::string& text, const std::string& file) {
  return parse_object_text(text, file, "process", [](const json& j) { return parse_process(j); });
}

Result<Seccomp> parse_seccomp_json(const std::string& text, const std::string& file) {
  return parse_object_text(text, file, "linux.seccomp",
                           [](const json& j) { return parse_seccomp(j, "linux.seccomp"); });
}

Result<Config> load_config(const std::string& bundle) {
  std::string path = bundle + "/config.json";
  auto text = fs::read_document(path);
  if (!text) return fail(std::move(text.error()));
  return parse_config(*text, bundle, path);
}

}  // namespace nsbox::spec
