// The runtime-spec config.json model (v1.3.0), parsed and fully validated before the
// runtime touches the system: anything wrong is reported as
//   config.json: <json.path>: <reason>
// and nothing is created.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "spec/resources.h"

namespace nsbox::spec {

enum class NsKind { kPid, kNetwork, kMount, kIpc, kUts, kUser, kCgroup, kTime };
inline constexpr NsKind kAllNsKinds[] = {NsKind::kUser, NsKind::kPid,  NsKind::kNetwork,
                                         NsKind::kIpc,  NsKind::kUts,  NsKind::kMount,
                                         NsKind::kCgroup, NsKind::kTime};

const char* ns_name(NsKind k);          // "pid", "network", ... (config.json spelling)
const char* ns_proc_name(NsKind k);     // "pid", "net", ... (/proc/PID/ns spelling)
int ns_clone_flag(NsKind k);            // CLONE_NEWPID, ...

struct Namespace {
  NsKind kind;
  std::string path;  // empty: create a new one
};

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
  // Parsed from options.
  unsigned long flags = 0;                 // MS_* set on the mount itself
  std::vector<unsigned long> propagation;  // MS_SHARED|MS_REC ... applied after the mount
  std::string data;                        // options the kernel takes as data
  bool bind = false;
  std::optional<bool> recursive_ro;        // rro (true) / rrw (false): mount_setattr AT_RECURSIVE
  // idmapped bind mount (options idmap/ridmap, or mappings given): files appear with their
  // ids mapped through these (empty: through the container's user namespace).
  bool idmap = false;
  bool idmap_recursive = false;  // ridmap: every mount below the source too
  std::vector<IdMapping> uid_mappings, gid_mappings;
};

struct Device {
  std::string path;
  char type = 'c';  // c, b, u, p
  int64_t major = 0;
  int64_t minor = 0;
  uint32_t file_mode = 0666;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

struct Rlimit {
  int resource = 0;
  std::string name;
  uint64_t soft = 0;
  uint64_t hard = 0;
};

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
};

struct Capabilities {
  std::vector<int> bounding, effective, inheritable, permitted, ambient;
  // Names this build does not know (a capability of a newer kernel, say): skipped with a
  // warning, as runtime-spec 1.1 asks (security::drop_unavailable).
  std::vector<std::string> unknown;
};

struct Process {
  bool terminal = false;
  unsigned console_height = 0, console_width = 0;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  std::string apparmor_profile;
  std::string selinux_label;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  // The hook's environment; none given: the runtime's own (runc's behaviour).
  std::optional<std::vector<std::string>> env;
  int timeout = 0;  // seconds; 0 = none
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
      poststop;
};

struct TimeOffset {
  int64_t secs = 0;
  uint32_t nanosecs = 0;
};

// linux.seccomp, validated; libseccomp is only reached when the filter is built.
enum class SeccompAction { kKill, kKillProcess, kKillThread, kTrap, kErrno, kTrace, kAllow, kLog, kNotify };
enum class SeccompOp { kNe, kLt, kLe, kEq, kGe, kGt, kMaskedEq };

struct SeccompArg {
  unsigned index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  SeccompOp op = SeccompOp::kEq;
};

struct SeccompRule {
  std::vector<std::string> names;
  SeccompAction action = SeccompAction::kAllow;
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  SeccompAction default_action = SeccompAction::kAllow;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;  // SCMP_ARCH_* names
  std::vector<std::string> flags;          // SECCOMP_FILTER_FLAG_* names
  std::string listener_path;
  std::string listener_metadata;
  std::vector<SeccompRule> syscalls;
  bool uses_notify() const;
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::optional<TimeOffset> monotonic_offset, boottime_offset;
  std::vector<Device> devices;
  std::vector<std::string> masked_paths, readonly_paths;
  std::map<std::string, std::string> sysctl;
  // linux.netDevices: host interface -> its name in the container ("" keeps it).
  std::map<std::string, std::string> net_devices;
  unsigned long rootfs_propagation = 0;  // 0: default (rslave)
  std::string cgroups_path;
  std::string mount_label;
  Resources resources;
  std::optional<Seccomp> seccomp;
  std::string seccomp_json;  // linux.seccomp as given: exec applies it to its process too
};

struct Config {
  std::string oci_version;
  std::string bundle;  // absolute bundle directory
  std::string root;    // absolute rootfs path
  bool root_readonly = false;
  std::vector<Mount> mounts;
  std::optional<Process> process;
  std::string process_json;  // the process object as given: exec starts from it
  std::string hostname;
  std::string domainname;
  std::map<std::string, std::string> annotations;
  Hooks hooks;
  Linux linux;

  // "<bundle>/config.json: <path>": how an error names the field it comes from.
  std::string field(const std::string& path) const { return bundle + "/config.json: " + path; }
  const Namespace* find_ns(NsKind k) const;
  bool new_ns(NsKind k) const {
    auto* n = find_ns(k);
    return n != nullptr && n->path.empty();
  }
};

// Parse config.json text. `bundle` (absolute) resolves a relative root.path.
// `file` names the source in error messages. Checks that need the file system
// (root.path exists) are done here too.
Result<Config> parse_config(const std::string& text, const std::string& bundle,
                            const std::string& file = "config.json");
// A process object alone (exec --process FILE, and the one kept in the state).
Result<Process> parse_process_json(const std::string& text, const std::string& file);
// linux.seccomp alone (kept in the state for exec).
Result<Seccomp> parse_seccomp_json(const std::string& text, const std::string& file);
// Read <bundle>/config.json and parse it.
Result<Config> load_config(const std::string& bundle);

// What this build recognises (for `nsbox features` and validation).
const std::set<std::string>& seccomp_arch_names();   // SCMP_ARCH_* of the runtime-spec
const std::set<std::string>& seccomp_flag_names();   // SECCOMP_FILTER_FLAG_* of the spec
std::vector<std::string> mount_option_names();       // options that are not file-system data

// Exposed for unit tests.
Result<Mount> parse_mount_options(Mount m);
std::optional<int> rlimit_from_name(const std::string& name);
std::optional<int> capability_from_name(const std::string& name);
std::string format_id_mappings(const std::vector<IdMapping>& maps);
// A user or group id given as text (exec --user, --additional-gids): decimal digits only, at
// most 4294967294 ((uid_t)-1 means "unchanged" to setresuid, which would leave root as is).
std::optional<uint32_t> parse_id(const std::string& text);
inline constexpr uint32_t kMaxId = 4294967294U;

}  // namespace nsbox::spec
