#include "cli/commands.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <type_traits>

#include "base/fs.h"
#include "base/log.h"
#include "cli/args.h"
#include "cli/network_command.h"
#include "net/request.h"
#include "runtime/checkpoint.h"
#include "runtime/exec.h"
#include "runtime/features.h"
#include "runtime/signals.h"
#include "security/caps.h"
#include "spec/config.h"
#include "spec/default_spec.h"
#include "spec/resources.h"

namespace nsbox::cli {

int report(const Error& e) {
  log::error(e.what());
  return 1;
}

namespace {

// Parse `args` with the verb's flag table in commands(), the one its help lists. Returns the
// verb's exit status when it is done: 1 on bad usage (reported), 0 once --help is printed.
std::optional<int> parse_verb(const char* verb, const std::vector<std::string>& args, Parsed& out,
                              bool interspersed = true) {
  const Command* c = find_command(verb);
  auto p = parse(args, *c->flags, interspersed);
  if (!p) return report(p.error());
  if (p->flag("help")) {
    std::fputs(help_text(*c).c_str(), stdout);
    return 0;
  }
  out = std::move(*p);
  return std::nullopt;
}

bool want_args(const Parsed& p, const char* verb, size_t min, size_t max) {
  if (p.args.size() < min || p.args.size() > max) {
    std::string what = min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
    log::error(std::string(verb) + ": expected " + what + " argument(s), got " +
               std::to_string(p.args.size()) + " (see nsbox " + verb + " --help)");
    return false;
  }
  return true;
}

// Each verb's flags: what its parser accepts and what its --help lists.
const FlagSpec kHelp{{"help", "h"}, false, "", "print this help"};
const FlagSpec kConsoleSocket{{"console-socket"},
                              true,
                              "PATH",
                              "unix socket to pass the master of the process's terminal to"};
const FlagSpec kPidFile{{"pid-file"}, true, "FILE", "write the process's pid to FILE"};
const FlagSpec kPreserveFds{
    {"preserve-fds"}, true, "N", "pass N more file descriptors (3 and up) to the process"};
const FlagSpec kDetach{
    {"detach", "d"}, false, "", "do not wait for the process, return once it started"};

const std::vector<FlagSpec> kCreateFlags = {
    {{"bundle", "b"},
     true,
     "DIR",
     "the bundle: config.json and rootfs (default: current directory)"},
    kConsoleSocket,
    kPidFile,
    {{"no-pivot"}, false, "", "enter the root filesystem without pivot_root (for a ramfs root)"},
    {{"no-new-keyring"},
     false,
     "",
     "keep the caller's session keyring, make none for the container"},
    kPreserveFds,
    {{"network"}, true, "NAME[:ip=IP]", "join nsbox network NAME (repeatable; as annotation org.nsbox.network)"},
    {{"publish", "p"}, true, "PORTS", "publish HOST:CONTAINER[/tcp|udp] (repeatable; as org.nsbox.publish)"},
    {{"dns"}, true, "IP", "a name server for /etc/resolv.conf (repeatable; as org.nsbox.dns)"},
    kHelp};

const std::vector<FlagSpec> kRunFlags = [] {
  auto f = kCreateFlags;
  f.insert(f.end() - 1,
           {kDetach,
            {{"keep"}, false, "", "accepted as runc's; ignored (the container is deleted)"},
            {{"no-subreaper"}, false, "", "accepted as runc's; ignored (run always reaps)"}});
  return f;
}();

const std::vector<FlagSpec> kHelpOnly = {kHelp};
const std::vector<FlagSpec> kKillFlags = {
    {{"all", "a"}, false, "", "signal every process of the container, not only its init"}, kHelp};
const std::vector<FlagSpec> kDeleteFlags = {
    {{"force", "f"}, false, "", "kill the container first if it is still running"}, kHelp};
const std::vector<FlagSpec> kListFlags = {
    {{"format", "f"}, true, "table|json", "output format (default table)"},
    {{"quiet", "q"}, false, "", "print the container ids only"},
    kHelp};
const std::vector<FlagSpec> kSpecFlags = {
    {{"bundle", "b"}, true, "DIR", "where to write config.json (default: current directory)"},
    {{"rootless"}, false, "", "for an ordinary user: a user namespace mapping their ids"},
    {{"system"}, false, "", "a system container: boots the rootfs's /sbin/init (systemd) on a terminal, as LXC does"},
    {{"network"}, true, "NAME[:ip=IP]", "join nsbox network NAME (repeatable; none: no network): written as annotations"},
    {{"publish", "p"}, true, "PORTS", "publish HOST:CONTAINER[/tcp|udp] (repeatable): written as annotations"},
    kHelp};
const std::vector<FlagSpec> kStopFlags = {
    {{"time", "t"}, true, "SECONDS", "how long to wait after the stop signal before SIGKILL (default 10; 0: kill at once)"},
    kHelp};
const std::vector<FlagSpec> kConsoleFlags = {
    {{"log"}, false, "", "print what the console printed (the last 1 to 2 MiB) instead of attaching"},
    kHelp};
// The flags checkpoint and restore share (runc's).
const std::vector<FlagSpec> kCriuFlags = {
    {{"image-path"}, true, "DIR", "where CRIU's images are (default: ./checkpoint)"},
    {{"work-path"}, true, "DIR", "where CRIU's log and work files go (default: the image directory)"},
    {{"tcp-established"}, false, "", "established TCP connections too"},
    {{"ext-unix-sk"}, false, "", "external unix sockets allowed"},
    {{"shell-job"}, false, "", "a shell job: the terminal is the caller's"},
    {{"file-locks"}, false, "", "file locks too"},
    {{"manage-cgroups-mode"}, true, "MODE", "CRIU's cgroups mode: soft, full, strict or ignore"},
    {{"empty-ns"}, true, "NS", "a namespace CRIU leaves alone (network only; repeatable)"},
    {{"auto-dedup"}, false, "", "free the parent images' pages as they are dumped again"},
    {{"lazy-pages"}, false, "", "memory pages on demand (post-copy; needs userfaultfd)"},
};
const std::vector<FlagSpec> kCheckpointFlags = [] {
  std::vector<FlagSpec> f = kCriuFlags;
  f.push_back({{"parent-path"}, true, "DIR", "the pre-dump this one follows, relative to --image-path"});
  f.push_back({{"leave-running"}, false, "", "the container keeps running after the checkpoint"});
  f.push_back({{"tcp-skip-in-flight"}, false, "", "skip in-flight TCP connections"});
  f.push_back({{"link-remap"}, false, "", "link files that are open but unlinked"});
  f.push_back({{"page-server"}, true, "ADDRESS:PORT", "send the memory pages to a CRIU page server"});
  f.push_back({{"status-fd"}, true, "FD", "with --lazy-pages: one NUL byte on FD once the pages can be served"});
  f.push_back({{"pre-dump"}, false, "", "only the memory, the container keeps running (for a later dump)"});
  f.push_back({{"network-lock"}, true, "METHOD", "iptables or nftables (default: iptables if iptables-restore is installed)"});
  f.push_back(kHelp);
  return f;
}();
const std::vector<FlagSpec> kRestoreFlags = [] {
  std::vector<FlagSpec> f = kCriuFlags;
  f.push_back({{"bundle", "b"}, true, "DIR", "the container's bundle (default: current directory)"});
  f.push_back(kDetach);
  f.push_back(kPidFile);
  f.push_back(kConsoleSocket);
  f.push_back({{"no-subreaper"}, false, "", "do not become the restored process's subreaper"});
  f.push_back({{"no-pivot"}, false, "", "accepted, as runc (CRIU sets up the root itself)"});
  f.push_back({{"no-new-keyring"}, false, "", "accepted (engines send it)"});
  f.push_back({{"tcp-close"}, false, "", "restore TCP connections closed"});
  f.push_back({{"parent-path"}, true, "DIR", "accepted (containerd sends it)"});
  f.push_back({{"lsm-profile"}, true, "TYPE:NAME", "the LSM profile to restore the processes under"});
  f.push_back({{"lsm-mount-context"}, true, "CONTEXT", "the SELinux mount context of the restored mounts"});
  f.push_back(kHelp);
  return f;
}();
const std::vector<FlagSpec> kPsFlags = {
    {{"format", "f"}, true, "table|json", "ps(1)'s table (default) or a JSON array of the pids"},
    kHelp};
const std::vector<FlagSpec> kEventsFlags = {
    {{"stats"}, false, "", "print the statistics once and exit"},
    {{"interval"}, true, "DURATION", "time between statistics records (default 5s)"},
    kHelp};

const std::vector<FlagSpec> kUpdateFlags = {
    {{"resources", "r"}, true, "FILE", "linux.resources JSON to apply (- for stdin)"},
    {{"memory"}, true, "BYTES", "memory limit (sizes as 512k, 64m, 1g; -1 for none)"},
    {{"memory-reservation"}, true, "BYTES", "memory soft limit"},
    {{"memory-swap"}, true, "BYTES", "memory plus swap limit"},
    {{"kernel-memory"}, true, "BYTES", "kernel memory limit (cgroup v1 only)"},
    {{"kernel-memory-tcp"}, true, "BYTES", "kernel TCP buffer limit (cgroup v1 only)"},
    {{"cpu-share", "cpu-shares"}, true, "N", "relative CPU weight"},
    {{"cpu-quota"}, true, "USEC", "CPU time allowed in each period"},
    {{"cpu-period"}, true, "USEC", "length of the CPU quota period"},
    {{"cpu-rt-runtime"}, true, "USEC", "real-time CPU time allowed in each real-time period"},
    {{"cpu-rt-period"}, true, "USEC", "length of the real-time period"},
    {{"cpuset-cpus"}, true, "LIST", "CPUs the container may run on (0-3,7)"},
    {{"cpuset-mems"}, true, "LIST", "memory nodes the container may use"},
    {{"pids-limit"}, true, "N", "maximum number of processes (-1 for none)"},
    {{"blkio-weight"}, true, "N", "relative block I/O weight (10 to 1000)"},
    {{"l3-cache-schema"}, true, "SCHEMA", "Intel RDT L3 cache schema (refused: no RDT)"},
    {{"mem-bw-schema"}, true, "SCHEMA", "Intel RDT memory bandwidth schema (refused: no RDT)"},
    kHelp};

const std::vector<FlagSpec> kExecFlags = {
    {{"process", "p"}, true, "FILE", "the process to run, as a config.json \"process\" object"},
    {{"tty", "t"}, false, "", "give the process a terminal"},
    kConsoleSocket,
    kDetach,
    kPidFile,
    {{"cwd"}, true, "DIR", "working directory in the container"},
    {{"env", "e"}, true, "NAME=VALUE", "set an environment variable (repeatable)"},
    {{"user", "u"}, true, "UID[:GID]", "user (and group) to run as"},
    {{"additional-gids", "g"}, true, "GID", "add a supplementary group (repeatable)"},
    {{"cap", "c"}, true, "CAP", "add a capability, as CAP_SYS_ADMIN (repeatable)"},
    {{"no-new-privs"}, false, "", "set no_new_privs: execve cannot gain privileges"},
    {{"apparmor"}, true, "PROFILE", "AppArmor profile of the process"},
    {{"process-label"}, true, "LABEL", "SELinux label of the process"},
    kPreserveFds,
    {{"cgroup"}, true, "[CONTROLLER:]PATH", "run in this sub-cgroup of the container's cgroup"},
    {{"ignore-paused"}, false, "", "allow exec in a paused container"},
    kHelp};

Result<runtime::CreateOptions> create_options(const Parsed& p) {
  runtime::CreateOptions o;
  o.id = p.args[0];
  o.bundle = p.get("bundle", ".");
  o.pid_file = p.get("pid-file");
  o.console_socket = p.get("console-socket");
  o.no_pivot = p.flag("no-pivot");
  o.no_new_keyring = p.flag("no-new-keyring");
  std::string pf = p.get("preserve-fds", "0");
  char* end = nullptr;
  long n = std::strtol(pf.c_str(), &end, 10);
  if (pf.empty() || *end != '\0' || n < 0 || n > 65536) {
    return fail("--preserve-fds: invalid value \"" + pf + "\"");
  }
  o.preserve_fds = static_cast<int>(n);
  if (p.has("network")) o.networks = p.values.at("network");
  if (p.has("publish")) o.publish = p.values.at("publish");
  if (p.has("dns")) o.dns = p.values.at("dns");
  return o;
}

int cmd_create(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (auto rc = parse_verb("create", args, p)) return *rc;
  if (!want_args(p, "create", 1, 1)) return 1;
  auto o = create_options(p);
  if (!o) return report(o.error());
  auto r = runtime::create(g, *o);
  return r ? 0 : report(r.error());
}

int cmd_run(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (auto rc = parse_verb("run", args, p)) return *rc;
  if (!want_args(p, "run", 1, 1)) return 1;
  auto o = create_options(p);
  if (!o) return report(o.error());
  auto r = runtime::run(g, *o, p.flag("detach"));
  return r ? *r : report(r.error());
}

int cmd_start(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (auto rc = parse_verb("start", args, p)) return *rc;
  if (!want_args(p, "start", 1, 1)) return 1;
  auto r = runtime::start(g, p.args[0]);
  return r ? 0 : report(r.error());
}

int cmd_state(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (auto rc = parse_verb("state", args, p)) return *rc;
  if (!want_args(p, "state", 1, 1)) return 1;
  auto r = runtime::state(g, p.args[0]);
  if (!r) return report(r.error());
  std::fputs(r->c_str(), stdout);
  return 0;
}

int cmd_kill(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (auto rc = parse_verb("kill", args, p)) return *rc;
  if (!want_args(p, "kill", 1, 2)) return 1;
  auto sig = runtime::parse_signal(p.args.size() > 1 ? p.args[1] : "SIGTERM");
  if (!sig) return report(sig.error());
  auto r = runtime::kill(g, p.args[0], *sig, p.flag("all"));
  return r ? 0 : report(r.error());
}

int cmd_stop(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (auto rc = parse_verb("stop", args, p)) return *rc;
  if (!want_args(p, "stop", 1, 1)) return 1;
  std::string t = p.get("time", "10");
  int seconds = -1;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), seconds);
  if (ec != std::errc() || end != t.data() + t.size() || seconds < 0 || seconds > 86400) {
    return report(Error(0, "stop: --time \"" + t + "\": a number of seconds from 0 to 86400"));
  }
  auto r = runtime::stop(g, p.args[0], seconds);
  if (!r) return report(r.error());
  if (*r == runtime::Stopped::kKilled) {
    log::warn("stop " + p.args[0] + ": killed" +
              (seconds > 0 ? " (it did not stop within " + std::to_string(seconds) + " s of its stop signal)" : ""));
    return 2;
  }
  return 0;
}

int cmd_console(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (auto rc = parse_verb("console", args, p)) return *rc;
  if (!want_args(p, "console", 1, 1)) return 1;
  auto r = runtime::console(g, p.args[0], p.flag("log"));
  return r ? 0 : report(r.error());
}

int cmd_delete(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (auto rc = parse_verb("delete", args, p)) return *rc;
  if (!want_args(p, "delete", 1, 1)) return 1;
  auto r = runtime::remove(g, p.args[0], p.flag("force"));
  return r ? 0 : report(r.error());
}

int cmd_list(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (auto rc = parse_verb("list", args, p)) return *rc;
  if (!want_args(p, "list", 0, 0)) return 1;
  auto r = runtime::list(g, p.get("format", "table"), p.flag("quiet"));
  if (!r) return report(r.error());
  std::fputs(r->c_str(), stdout);
  return 0;
}

int cmd_spec(const runtime::Globals&, const std::vector<std::string>& args) {
  Parsed p;
  if (auto rc = parse_verb("spec", args, p)) return *rc;
  if (!want_args(p, "spec", 0, 0)) return 1;
  std::string path = p.get("bundle", ".") + "/config.json";
  if (fs::exists(path)) return report(Error(0, "File " + path + " exists. Remove it first."));
  spec::SpecOptions o;
  o.rootless = p.flag("rootless");
  o.system = p.flag("system");
  o.uid = ::getuid();
  o.gid = ::getgid();
  if (o.system && o.rootless) return report(Error(0, "spec: --system and --rootless together are not supported yet"));
  if (o.system) o.system_caps = security::system_capabilities();
  // A system container joins nsbox's default network unless told otherwise (--network none).
  std::vector<std::string> networks;
  if (p.has("network")) networks = p.values.at("network");
  if (o.system && networks.empty()) networks.push_back(net::kDefaultNetwork);
  std::erase(networks, std::string("none"));
  if (!networks.empty()) net::add_to_annotation(o.annotations, net::kNetworkAnnotation, networks);
  if (p.has("publish")) net::add_to_annotation(o.annotations, net::kPublishAnnotation, p.values.at("publish"));
  // Checked as create will read them: a bad value is refused now, not at create.
  if (auto req = net::parse_request(o.annotations, "--network/--publish"); !req) return report(req.error());
  std::string text = spec::default_spec(o);
  auto r = fs::write_file_atomic(path, text, 0644);
  return r ? 0 : report(r.error());
}

int cmd_pause(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (auto rc = parse_verb("pause", args, p)) return *rc;
  if (!want_args(p, "pause", 1, 1)) return 1;
  auto r = runtime::pause(g, p.args[0]);
  return r ? 0 : report(r.error());
}

int cmd_resume(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (auto rc = parse_verb("resume", args, p)) return *rc;
  if (!want_args(p, "resume", 1, 1)) return 1;
  auto r = runtime::resume(g, p.args[0]);
  return r ? 0 : report(r.error());
}

int cmd_ps(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  // Everything after the id is for ps(1): stop parsing our flags there.
  if (auto rc = parse_verb("ps", args, p, false)) return *rc;
  if (p.args.empty()) return want_args(p, "ps", 1, 1) ? 0 : 1;
  auto pids = runtime::pids(g, p.args[0]);
  if (!pids) return report(pids.error());
  std::string format = p.get("format", "table");
  if (format == "json") {
    std::string out = "[";
    for (size_t i = 0; i < pids->size(); ++i) out += (i ? "," : "") + std::to_string((*pids)[i]);
    std::printf("%s]\n", out.c_str());
    return 0;
  }
  if (format != "table") return report(Error(0, "invalid format option \"" + format + "\" (table or json)"));
  std::string cmd = "ps";
  if (p.args.size() == 1) {
    cmd += " -ef";
  } else {
    for (size_t i = 1; i < p.args.size(); ++i) {
      std::string a = p.args[i];
      std::string q = "'";
      for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
      cmd += " " + q + "'";
    }
  }
  FILE* f = ::popen(cmd.c_str(), "r");
  if (f == nullptr) return report(Error(errno, "run ps"));
  char line[8192];
  int pid_col = -1;
  bool header = true;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    std::vector<std::string> cols;
    {
      std::string t;
      for (const char* c = line; *c != '\0'; ++c) {
        if (*c == ' ' || *c == '\n' || *c == '\t') {
          if (!t.empty()) cols.push_back(t), t.clear();
        } else {
          t += *c;
        }
      }
      if (!t.empty()) cols.push_back(t);
    }
    if (header) {
      header = false;
      for (size_t i = 0; i < cols.size(); ++i) {
        if (cols[i] == "PID") pid_col = static_cast<int>(i);
      }
      if (pid_col < 0) {
        ::pclose(f);
        return report(Error(0, "ps: no PID column in the output of `" + cmd + "`"));
      }
      std::fputs(line, stdout);
      continue;
    }
    if (static_cast<size_t>(pid_col) >= cols.size()) continue;
    pid_t pid = static_cast<pid_t>(std::strtol(cols[static_cast<size_t>(pid_col)].c_str(), nullptr, 10));
    if (std::find(pids->begin(), pids->end(), pid) != pids->end()) std::fputs(line, stdout);
  }
  int st = ::pclose(f);
  return st == 0 ? 0 : report(Error(0, "`" + cmd + "` failed"));
}

// Go's duration syntax as runc takes it: "5s", "500ms", "1m30s".
Result<int> parse_duration_ms(const std::string& s) {
  if (s.empty()) return fail("invalid duration \"\"");
  double total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.')) ++j;
    if (j == i) return fail("invalid duration \"" + s + "\"");
    double v = std::strtod(s.substr(i, j - i).c_str(), nullptr);
    size_t k = j;
    while (k < s.size() && std::isalpha(static_cast<unsigned char>(s[k]))) ++k;
    std::string unit = s.substr(j, k - j);
    double mult = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? 60000 : unit == "h" ? 3600000 : -1;
    if (mult < 0) return fail("invalid duration \"" + s + "\"");
    total += v * mult;
    i = k;
  }
  if (total < 1) return fail("invalid duration \"" + s + "\": must be at least 1ms");
  return static_cast<int>(total);
}

int cmd_events(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (auto rc = parse_verb("events", args, p)) return *rc;
  if (!want_args(p, "events", 1, 1)) return 1;
  auto ms = parse_duration_ms(p.get("interval", "5s"));
  if (!ms) return report(Error(0, "--interval: " + ms.error().what()));
  auto r = runtime::events(g, p.args[0], p.flag("stats"), *ms, stdout);
  return r ? 0 : report(r.error());
}

// Byte sizes as runc's update takes them (docker's units.RAMInBytes): "64M", "1g", "512kb".
Result<int64_t> parse_bytes(const std::string& flag, const std::string& s) {
  if (s == "-1") return -1;
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return fail("--" + flag + ": invalid size \"" + s + "\"");
  double v = std::strtod(s.substr(0, i).c_str(), nullptr);
  std::string unit;
  for (char c : s.substr(i)) unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (unit.size() == 2 && unit[1] == 'b') unit.pop_back();
  if (unit == "b") unit.clear();
  static const std::map<std::string, double> kMult = {{"", 1}, {"k", 1024.0}, {"m", 1048576.0},
      {"g", 1073741824.0}, {"t", 1099511627776.0}, {"p", 1125899906842624.0}};
  auto it = kMult.find(unit);
  if (it == kMult.end()) return fail("--" + flag + ": invalid size \"" + s + "\"");
  return static_cast<int64_t>(v * it->second);
}

template <typename T>
Result<T> parse_number(const std::string& flag, const std::string& s) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0) return fail("--" + flag + ": invalid number \"" + s + "\"");
  if constexpr (std::is_unsigned_v<T>) {
    if (v < 0) return fail("--" + flag + ": must not be negative, got \"" + s + "\"");
  }
  if (v < static_cast<long long>(std::numeric_limits<T>::min()) ||
      static_cast<unsigned long long>(v) > static_cast<unsigned long long>(std::numeric_limits<T>::max())) {
    if (!(v < 0 && std::is_signed_v<T>)) return fail("--" + flag + ": out of range: \"" + s + "\"");
  }
  return static_cast<T>(v);
}

int cmd_update(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (auto rc = parse_verb("update", args, p)) return *rc;
  if (!want_args(p, "update", 1, 1)) return 1;
  if (p.has("l3-cache-schema") || p.has("mem-bw-schema")) {
    return report(Error(0, "--l3-cache-schema/--mem-bw-schema: Intel RDT is not supported by nsbox"));
  }
  spec::Resources r;
  if (p.has("resources")) {
    std::string src = p.get("resources");
    auto text = fs::read_document(src);  // "-": standard input
    if (!text) return report(text.error());
    auto parsed = spec::parse_resources(*text, src == "-" ? "(stdin)" : src, "");
    if (!parsed) return report(parsed.error());
    r = *parsed;
  }
  auto set = [&](auto& field, const char* flag, auto parse) -> bool {
    if (!p.has(flag)) return true;
    auto v = parse(flag, p.get(flag));
    if (!v) {
      report(v.error());
      return false;
    }
    field = *v;
    return true;
  };
  auto bytes = [](const std::string& f, const std::string& v) { return parse_bytes(f, v); };
  auto i64 = [](const std::string& f, const std::string& v) { return parse_number<int64_t>(f, v); };
  auto u64 = [](const std::string& f, const std::string& v) { return parse_number<uint64_t>(f, v); };
  auto u16 = [](const std::string& f, const std::string& v) { return parse_number<uint16_t>(f, v); };
  auto str = [](const std::string&, const std::string& v) -> Result<std::string> { return v; };
  spec::MemoryLimits m = r.memory.value_or(spec::MemoryLimits{});
  spec::CpuLimits c = r.cpu.value_or(spec::CpuLimits{});
  bool ok = set(m.limit, "memory", bytes) && set(m.reservation, "memory-reservation", bytes) &&
            set(m.swap, "memory-swap", bytes) && set(m.kernel, "kernel-memory", bytes) &&
            set(m.kernel_tcp, "kernel-memory-tcp", bytes) && set(c.shares, "cpu-share", u64) &&
            set(c.quota, "cpu-quota", i64) && set(c.period, "cpu-period", u64) &&
            set(c.realtime_runtime, "cpu-rt-runtime", i64) &&
            set(c.realtime_period, "cpu-rt-period", u64) && set(c.cpus, "cpuset-cpus", str) &&
            set(c.mems, "cpuset-mems", str) && set(r.pids_limit, "pids-limit", i64);
  if (!ok) return 1;
  if (p.has("blkio-weight")) {
    spec::BlockIoLimits b = r.block_io.value_or(spec::BlockIoLimits{});
    if (!set(b.weight, "blkio-weight", u16)) return 1;
    r.block_io = b;
  }
  for (auto [name, v] : {std::pair{"memory", m.limit}, {"memory-reservation", m.reservation},
                         {"memory-swap", m.swap}, {"kernel-memory", m.kernel}}) {
    if (v && *v < -1) return report(Error(0, std::string("--") + name + ": must be -1 or a size, got " + std::to_string(*v)));
  }
  if (m.limit || m.reservation || m.swap || m.kernel || m.kernel_tcp) r.memory = m;
  if (c.shares || c.quota || c.period || c.realtime_runtime || c.realtime_period || !c.cpus.empty() ||
      !c.mems.empty()) {
    r.cpu = c;
  }
  if (auto v = spec::validate_resources(r, ""); !v) return report(v.error());
  auto res = runtime::update(g, p.args[0], r);
  return res ? 0 : report(res.error());
}

int cmd_exec(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  // Flags end at the container id: what follows is the command and its own flags.
  if (auto rc = parse_verb("exec", args, p, false)) return *rc;
  if (p.args.empty()) return want_args(p, "exec", 1, 1) ? 0 : 1;
  runtime::ExecOptions o;
  o.id = p.args[0];
  o.args.assign(p.args.begin() + 1, p.args.end());
  o.process_file = p.get("process");
  if (o.process_file.empty() && o.args.empty()) {
    return report(Error(0, "exec: a command (or --process FILE) is required"));
  }
  o.tty = p.flag("tty");
  o.console_socket = p.get("console-socket");
  o.detach = p.flag("detach");
  o.pid_file = p.get("pid-file");
  o.cwd = p.get("cwd");
  if (p.has("env")) o.env = p.values.at("env");
  o.user = p.get("user");
  if (p.has("additional-gids")) {
    for (const auto& gstr : p.values.at("additional-gids")) {
      auto v = spec::parse_id(gstr);
      if (!v) return report(Error(0, "--additional-gids: \"" + gstr + "\" is not a group id"));
      o.additional_gids.push_back(*v);
    }
  }
  if (p.has("cap")) o.caps = p.values.at("cap");
  o.no_new_privs = p.flag("no-new-privs");
  o.apparmor = p.get("apparmor");
  o.process_label = p.get("process-label");
  auto pf = parse_number<int>("preserve-fds", p.get("preserve-fds", "0"));
  if (!pf || *pf < 0) return report(pf ? Error(0, "--preserve-fds: must not be negative") : pf.error());
  o.preserve_fds = *pf;
  o.ignore_paused = p.flag("ignore-paused");
  o.sub_cgroup = p.get("cgroup");
  auto r = runtime::exec(g, o);
  return r ? *r : report(r.error());
}

int cmd_features(const runtime::Globals&, const std::vector<std::string>& args) {
  Parsed p;
  if (auto rc = parse_verb("features", args, p)) return *rc;
  if (!want_args(p, "features", 0, 0)) return 1;
  std::fputs(runtime::features_json().c_str(), stdout);
  return 0;
}

int cmd_help(const runtime::Globals&, const std::vector<std::string>& args) {
  Parsed p;
  if (auto rc = parse_verb("help", args, p)) return *rc;
  if (!want_args(p, "help", 0, 1)) return 1;
  if (p.args.empty()) {
    std::fputs(help_text(*find_command("help")).c_str(), stdout);
    std::printf("\nCOMMANDS\n");
    for (const auto& c : commands()) std::printf("    %-11s %s\n", c.name, c.summary);
    return 0;
  }
  const Command* c = find_command(p.args[0]);
  if (c == nullptr) return report(Error(0, "help: unknown command \"" + p.args[0] + "\""));
  std::fputs(help_text(*c).c_str(), stdout);
  return 0;
}

// A verb nsbox does not have yet: its help says so, anything else fails.
int cmd_checkpoint(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (auto rc = parse_verb("checkpoint", args, p)) return *rc;
  if (!want_args(p, "checkpoint", 1, 1)) return 1;
  runtime::CheckpointOptions o;
  o.image_path = p.get("image-path");
  o.work_path = p.get("work-path");
  o.parent_path = p.get("parent-path");
  o.page_server = p.get("page-server");
  o.manage_cgroups_mode = p.get("manage-cgroups-mode");
  o.network_lock = p.get("network-lock");
  if (p.has("empty-ns")) o.empty_ns = p.values.at("empty-ns");
  o.leave_running = p.flag("leave-running");
  o.tcp_established = p.flag("tcp-established");
  o.tcp_skip_in_flight = p.flag("tcp-skip-in-flight");
  o.link_remap = p.flag("link-remap");
  o.ext_unix_sk = p.flag("ext-unix-sk");
  o.shell_job = p.flag("shell-job");
  o.file_locks = p.flag("file-locks");
  o.pre_dump = p.flag("pre-dump");
  o.lazy_pages = p.flag("lazy-pages");
  o.auto_dedup = p.flag("auto-dedup");
  if (p.has("status-fd")) {
    std::string v = p.get("status-fd");
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), o.status_fd);
    if (ec != std::errc() || end != v.data() + v.size()) return report(Error(0, "invalid --status-fd argument " + v));
  }
  auto r = runtime::checkpoint(g, p.args[0], o);
  return r ? 0 : report(r.error());
}

int cmd_restore(const runtime::Globals&, const std::vector<std::string>& args) {
  Parsed p;
  if (auto rc = parse_verb("restore", args, p)) return *rc;
  if (!want_args(p, "restore", 1, 1)) return 1;
  log::error("restore: not implemented by this nsbox version yet");
  return 1;
}

int cmd_network_verb(const runtime::Globals& g, const std::vector<std::string>& args) {
  return cmd_network(g, args, *find_command("network"));
}

const std::vector<Command> kCommands = {
    {"create", "create [command options] <container-id>", "create a container",
     "Set up a container from a bundle: its namespaces, cgroup, root filesystem and mounts, "
     "and its init process, which waits there without running the program of config.json. "
     "`nsbox start` runs it. The id names the container in every other command and must be "
     "new in the state directory (--root). With process.terminal, the process gets a "
     "terminal whose master goes to --console-socket.",
     &kCreateFlags, cmd_create},
    {"start", "start <container-id>", "start the user process of a created container",
     "Let the init process of a container made by `nsbox create` execute the program of its "
     "config.json. nsbox returns as soon as the program started; it does not wait for it to "
     "end (see `nsbox state` and `nsbox delete`).",
     &kHelpOnly, cmd_start},
    {"run", "run [command options] <container-id>", "create and start a container, wait for it",
     "Create a container and start it in one step. In the foreground (the default), nsbox "
     "relays its terminal and the signals it gets to the container, waits for it, deletes it "
     "and exits with its status (128+N when signal N killed it). With --detach it returns "
     "once the container runs, and the container stays until `nsbox delete`.",
     &kRunFlags, cmd_run},
    {"state", "state <container-id>", "print the state of a container",
     "Print the runtime-spec state of a container as JSON: its id, status (creating, created, "
     "running, paused or stopped), the host pid of its init process, its bundle and its "
     "annotations.",
     &kHelpOnly, cmd_state},
    {"kill", "kill [--all] <container-id> [signal]", "send a signal (default SIGTERM)",
     "Send a signal to the init process of a container, or with --all to every process in "
     "its cgroup. The signal is a name with or without SIG (TERM, SIGKILL), a number, or "
     "RTMIN+N; the default is SIGTERM.",
     &kKillFlags, cmd_kill},
    {"stop", "stop [--time SECONDS] <container-id>", "stop a container: its stop signal, then SIGKILL",
     "Stop a running container as a machine is shut down: send its init the container's stop "
     "signal (the annotation org.nsbox.stop-signal, SIGRTMIN+3 for systemd in a config made by "
     "`spec --system`; else SIGTERM), wait up to --time seconds for it to end, then SIGKILL "
     "everything in its cgroups. The container is stopped, not deleted (`nsbox delete`). "
     "Exit status: 0 when it ended on its stop signal (or was not running), 2 when it had to "
     "be killed, 1 on error.",
     &kStopFlags, cmd_stop},
    {"console", "console [--log] <container-id>", "attach to a container's console",
     "Attach this terminal to the console of a container started detached with a terminal and "
     "no --console-socket (e.g. `nsbox run -d` of a `spec --system` bundle): nsbox keeps such a "
     "console in a small process of its own, which logs what it prints and lets any number of "
     "`nsbox console` attach and detach. Ctrl-a q detaches (Ctrl-a Ctrl-a types a Ctrl-a). "
     "With input that is not a terminal, it is sent and the output shown until the console is "
     "quiet. With --log, print the console's log instead.",
     &kConsoleFlags, cmd_console},
    {"delete", "delete [--force] <container-id>", "delete a container and its resources",
     "Remove a created or stopped container: its state, its cgroup and anything else nsbox "
     "made for it, and run its poststop hooks. A container that still runs is refused "
     "unless --force, which kills it first.",
     &kDeleteFlags, cmd_delete},
    {"list", "list [--format table|json] [--quiet]", "list the containers",
     "List the containers of the state directory (--root): id, init pid, status, bundle and "
     "creation time, as a table or as JSON; with --quiet their ids only, one per line.",
     &kListFlags, cmd_list},
    {"spec", "spec [--bundle DIR] [--rootless | --system] [--network NAME] [--publish PORTS]", "write a default config.json",
     "Write a config.json with a default configuration into a bundle directory, to edit "
     "before `nsbox create`: sh on a terminal, in a rootfs directory next to it, with the "
     "usual namespaces, mounts and capabilities. With --system, a system container that boots "
     "the rootfs's own init (/sbin/init, e.g. systemd) as LXC does: a writable root, LXC's "
     "capabilities, a writable cgroup tree below limits it cannot reach, /run, /run/lock and "
     "/tmp as tmpfs, a boot id of its own, the stop signal systemd expects (`nsbox stop`), and "
     "nsbox's default network unless --network none. An existing config.json is never "
     "overwritten.",
     &kSpecFlags, cmd_spec},
    {"exec", "exec [command options] <container-id> <command> [args...]",
     "run a process in a container",
     "Run one more process in a running container: it joins the container's namespaces and "
     "cgroup and gets its security settings, with the changes the flags ask for. The command "
     "follows the container id (flags after the id are the command's), or comes from "
     "--process. Without --detach nsbox waits for it and exits with its status.",
     &kExecFlags, cmd_exec},
    {"ps", "ps [--format table|json] <container-id> [ps options...]",
     "list a container's processes",
     "Show the processes of a container: the lines of ps(1) output (ps -ef unless ps options "
     "follow the container id) for the processes in its cgroup, or with --format json the "
     "list of their host pids.",
     &kPsFlags, cmd_ps},
    {"pause", "pause <container-id>", "freeze a container",
     "Freeze every process of a running container with the cgroup freezer; its status becomes "
     "paused until `nsbox resume`.",
     &kHelpOnly, cmd_pause},
    {"resume", "resume <container-id>", "thaw a container",
     "Thaw the processes of a container frozen by `nsbox pause`; its status becomes running.",
     &kHelpOnly, cmd_resume},
    {"update", "update [command options] <container-id>", "change resource limits",
     "Change the cgroup limits of a running or paused container, from the flags, from a "
     "linux.resources JSON document given with --resources, or both (the flags win). Limits "
     "not named stay as they are.",
     &kUpdateFlags, cmd_update},
    {"events", "events [--stats] [--interval DURATION] <container-id>",
     "container events and stats",
     "Print a container's events as JSON lines until it stops: a stats record (cpu, memory, "
     "pids, block I/O) every --interval, and an oom record when the kernel kills one of its "
     "processes for lack of memory. With --stats, one stats record and exit.",
     &kEventsFlags, cmd_events},
    {"features", "features", "print the runtime-spec features this build supports (JSON)",
     "Print the runtime-spec features document of this nsbox build: the namespaces, mount "
     "options, capabilities, seccomp actions and other parts of config.json it implements, "
     "for engines to see what they may ask for.",
     &kHelpOnly, cmd_features},
    {"network", "network create|ls|inspect|rm|check [options] [NAME|ID...]", "manage nsbox's own networks",
     "nsbox's own networks, as LXC gives them: a bridge with the gateway's address, a subnet whose "
     "addresses containers lease, masquerade out (unless --no-nat or --internal), isolation from the "
     "other networks. `create NAME` makes one, `ls` lists them, `inspect NAME` prints one as JSON, "
     "`rm NAME` removes one no container uses, `check ID` runs the CNI plugins' CHECK for the CNI "
     "networks of container ID. Containers join with the annotation org.nsbox.network (or "
     "create/run --network); the network \"nsbox\" (bridge nsbox0, 10.77.0.0/16) is made on first use. "
     "The state directory (--root) holds them.",
     &kNetworkFlags, cmd_network_verb},
    {"checkpoint", "checkpoint [command options] <container-id>", "checkpoint a running container",
     "Save a running (or paused) container's processes with CRIU (Debian's criu, through its RPC "
     "service `criu swrk`) into --image-path, as runc does: with the files restore needs beside "
     "CRIU's images (descriptors.json), CRIU's log in --work-path. Afterwards the container is "
     "gone, unless --leave-running or --pre-dump.",
     &kCheckpointFlags, cmd_checkpoint},
    {"restore", "restore [command options] <container-id>", "restore a container (not yet)",
     "Restore a container from a checkpoint. Its flags are runc's; the restore itself is not "
     "implemented by this version of nsbox: it always fails.",
     &kRestoreFlags, cmd_restore},
    {"help", "help [command]", "print the help of a command",
     "Print the help of a command, as `nsbox COMMAND --help` does; without one, the list of "
     "commands (`nsbox --help` also lists the global options).",
     &kHelpOnly, cmd_help},
};

// `text` filled to 80 columns with `indent` spaces before each line.
std::string fill(const std::string& text, size_t indent) {
  std::string out, line;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    std::string word = text.substr(start, end - start);
    start = end + 1;
    if (word.empty()) continue;
    if (!line.empty() && indent + line.size() + 1 + word.size() > 80) {
      out += std::string(indent, ' ') + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) out += std::string(indent, ' ') + line + "\n";
  return out;
}

}  // namespace

const std::vector<Command>& commands() { return kCommands; }

const Command* find_command(const std::string& name) {
  for (const auto& c : kCommands) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

std::string help_text(const Command& c) {
  std::string out = std::string("usage: nsbox ") + c.usage + "\n\nNAME\n    nsbox " + c.name +
                    " - " + c.summary + "\n\nDESCRIPTION\n" + fill(c.description, 4) +
                    "\nOPTIONS\n";
  constexpr size_t kColumn = 32;  // where the flags' descriptions start
  for (const auto& f : *c.flags) {
    std::string left = "    " + flag_synopsis(f);
    std::string help = fill(f.help, kColumn);
    out += left.size() < kColumn ? left + help.substr(left.size()) : left + "\n" + help;
  }
  return out;
}

}  // namespace nsbox::cli
