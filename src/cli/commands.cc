#include "cli/commands.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <type_traits>

#include <cstdio>
#include <iostream>

#include "base/fs.h"
#include "base/log.h"
#include "cli/args.h"
#include "runtime/exec.h"
#include "runtime/features.h"
#include "runtime/signals.h"
#include "spec/default_spec.h"
#include "spec/resources.h"

namespace nsbox::cli {
namespace {

int report(const Error& e) {
  log::error(e.what());
  return 1;
}

// Parse `args` for a verb; prints the error and returns false on bad usage.
bool parse_or_report(const std::vector<std::string>& args, const std::vector<FlagSpec>& specs,
                     Parsed& out, bool interspersed = true) {
  auto p = parse(args, specs, interspersed);
  if (!p) {
    report(p.error());
    return false;
  }
  out = std::move(*p);
  return true;
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

const FlagSpec kHelp{{"help", "h"}};

const std::vector<FlagSpec> kCreateFlags = {
    {{"bundle", "b"}, true}, {{"console-socket"}, true}, {{"pid-file"}, true},
    {{"no-pivot"}},          {{"no-new-keyring"}},       {{"preserve-fds"}, true},
    kHelp};

std::vector<FlagSpec> run_flags() {
  auto f = kCreateFlags;
  f.push_back({{"detach", "d"}});
  f.push_back({{"keep"}});
  f.push_back({{"no-subreaper"}});
  return f;
}

bool help_requested(const Parsed& p, const char* name);

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
  return o;
}

int cmd_create(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (!parse_or_report(args, kCreateFlags, p)) return 1;
  if (help_requested(p, "create")) return 0;
  if (!want_args(p, "create", 1, 1)) return 1;
  auto o = create_options(p);
  if (!o) return report(o.error());
  auto r = runtime::create(g, *o);
  return r ? 0 : report(r.error());
}

int cmd_run(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (!parse_or_report(args, run_flags(), p)) return 1;
  if (help_requested(p, "run")) return 0;
  if (!want_args(p, "run", 1, 1)) return 1;
  auto o = create_options(p);
  if (!o) return report(o.error());
  auto r = runtime::run(g, *o, p.flag("detach"));
  return r ? *r : report(r.error());
}

int cmd_start(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (!parse_or_report(args, {kHelp}, p)) return 1;
  if (help_requested(p, "start")) return 0;
  if (!want_args(p, "start", 1, 1)) return 1;
  auto r = runtime::start(g, p.args[0]);
  return r ? 0 : report(r.error());
}

int cmd_state(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (!parse_or_report(args, {kHelp}, p)) return 1;
  if (help_requested(p, "state")) return 0;
  if (!want_args(p, "state", 1, 1)) return 1;
  auto r = runtime::state(g, p.args[0]);
  if (!r) return report(r.error());
  std::fputs(r->c_str(), stdout);
  return 0;
}

int cmd_kill(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (!parse_or_report(args, {{{"all", "a"}}, kHelp}, p)) return 1;
  if (help_requested(p, "kill")) return 0;
  if (!want_args(p, "kill", 1, 2)) return 1;
  auto sig = runtime::parse_signal(p.args.size() > 1 ? p.args[1] : "SIGTERM");
  if (!sig) return report(sig.error());
  auto r = runtime::kill(g, p.args[0], *sig, p.flag("all"));
  return r ? 0 : report(r.error());
}

int cmd_delete(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (!parse_or_report(args, {{{"force", "f"}}, kHelp}, p)) return 1;
  if (help_requested(p, "delete")) return 0;
  if (!want_args(p, "delete", 1, 1)) return 1;
  auto r = runtime::remove(g, p.args[0], p.flag("force"));
  return r ? 0 : report(r.error());
}

int cmd_list(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (!parse_or_report(args, {{{"format", "f"}, true}, {{"quiet", "q"}}, kHelp}, p)) return 1;
  if (help_requested(p, "list")) return 0;
  if (!want_args(p, "list", 0, 0)) return 1;
  auto r = runtime::list(g, p.get("format", "table"), p.flag("quiet"));
  if (!r) return report(r.error());
  std::fputs(r->c_str(), stdout);
  return 0;
}

int cmd_spec(const runtime::Globals&, const std::vector<std::string>& args) {
  Parsed p;
  if (!parse_or_report(args, {{{"bundle", "b"}, true}, {{"rootless"}}, kHelp}, p)) return 1;
  if (help_requested(p, "spec")) return 0;
  if (!want_args(p, "spec", 0, 0)) return 1;
  std::string path = p.get("bundle", ".") + "/config.json";
  if (fs::exists(path)) return report(Error(0, "File " + path + " exists. Remove it first."));
  auto r = fs::write_file_atomic(path, spec::default_spec(p.flag("rootless"), ::getuid(), ::getgid()), 0644);
  return r ? 0 : report(r.error());
}

int cmd_pause(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (!parse_or_report(args, {kHelp}, p)) return 1;
  if (help_requested(p, "pause")) return 0;
  if (!want_args(p, "pause", 1, 1)) return 1;
  auto r = runtime::pause(g, p.args[0]);
  return r ? 0 : report(r.error());
}

int cmd_resume(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  if (!parse_or_report(args, {kHelp}, p)) return 1;
  if (help_requested(p, "resume")) return 0;
  if (!want_args(p, "resume", 1, 1)) return 1;
  auto r = runtime::resume(g, p.args[0]);
  return r ? 0 : report(r.error());
}

int cmd_ps(const runtime::Globals& g, const std::vector<std::string>& args) {
  Parsed p;
  // Everything after the id is for ps(1): stop parsing our flags there.
  if (!parse_or_report(args, {{{"format", "f"}, true}, kHelp}, p, false)) return 1;
  if (help_requested(p, "ps")) return 0;
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
  if (!parse_or_report(args, {{{"stats"}}, {{"interval"}, true}, kHelp}, p)) return 1;
  if (help_requested(p, "events")) return 0;
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
  const std::vector<FlagSpec> flags = {
      {{"resources", "r"}, true}, {{"memory"}, true}, {{"memory-reservation"}, true},
      {{"memory-swap"}, true}, {{"kernel-memory"}, true}, {{"kernel-memory-tcp"}, true},
      {{"cpu-share", "cpu-shares"}, true}, {{"cpu-quota"}, true}, {{"cpu-period"}, true},
      {{"cpu-rt-runtime"}, true}, {{"cpu-rt-period"}, true}, {{"cpuset-cpus"}, true},
      {{"cpuset-mems"}, true}, {{"pids-limit"}, true}, {{"blkio-weight"}, true},
      {{"l3-cache-schema"}, true}, {{"mem-bw-schema"}, true}, kHelp};
  Parsed p;
  if (!parse_or_report(args, flags, p)) return 1;
  if (help_requested(p, "update")) return 0;
  if (!want_args(p, "update", 1, 1)) return 1;
  if (p.has("l3-cache-schema") || p.has("mem-bw-schema")) {
    return report(Error(0, "--l3-cache-schema/--mem-bw-schema: Intel RDT is not supported by nsbox"));
  }
  spec::Resources r;
  if (p.has("resources")) {
    std::string src = p.get("resources");
    auto text = src == "-" ? fs::read_fd(0) : fs::read_file(src);
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
  const std::vector<FlagSpec> flags = {
      {{"process", "p"}, true},   {{"tty", "t"}},          {{"console-socket"}, true},
      {{"detach", "d"}},          {{"pid-file"}, true},    {{"cwd"}, true},
      {{"env", "e"}, true},       {{"user", "u"}, true},   {{"additional-gids", "g"}, true},
      {{"cap", "c"}, true},       {{"no-new-privs"}},      {{"apparmor"}, true},
      {{"process-label"}, true},  {{"preserve-fds"}, true}, {{"cgroup"}, true},
      {{"ignore-paused"}},        kHelp};
  Parsed p;
  // Flags end at the container id: what follows is the command and its own flags.
  if (!parse_or_report(args, flags, p, false)) return 1;
  if (help_requested(p, "exec")) return 0;
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
      auto v = parse_number<uint32_t>("additional-gids", gstr);
      if (!v) return report(v.error());
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
  if (!parse_or_report(args, {kHelp}, p, true)) return 1;
  if (help_requested(p, "features")) return 0;
  if (!want_args(p, "features", 0, 0)) return 1;
  std::fputs(runtime::features_json().c_str(), stdout);
  return 0;
}

int not_yet(const char* verb) {
  log::error(std::string(verb) + ": not implemented by this nsbox version");
  return 1;
}

const std::vector<Command> kCommands = {
    {"create", "create [command options] <container-id>", "create a container", cmd_create},
    {"start", "start <container-id>", "start the user process of a created container", cmd_start},
    {"run", "run [command options] <container-id>", "create and start a container, wait for it",
     cmd_run},
    {"state", "state <container-id>", "print the state of a container", cmd_state},
    {"kill", "kill [--all] <container-id> [signal]", "send a signal (default SIGTERM)", cmd_kill},
    {"delete", "delete [--force] <container-id>", "delete a container and its resources",
     cmd_delete},
    {"list", "list [--format table|json] [--quiet]", "list the containers", cmd_list},
    {"spec", "spec [--bundle DIR] [--rootless]", "write a default config.json", cmd_spec},
    {"exec", "exec [command options] <container-id> <command> [args...]",
     "run a process in a container", cmd_exec},
    {"ps", "ps <container-id>", "list a container's processes", cmd_ps},
    {"pause", "pause <container-id>", "freeze a container", cmd_pause},
    {"resume", "resume <container-id>", "thaw a container", cmd_resume},
    {"update", "update [command options] <container-id>", "change resource limits", cmd_update},
    {"events", "events [--stats] <container-id>", "container events and stats", cmd_events},
    {"features", "features", "print the runtime-spec features this build supports (JSON)", cmd_features},
    {"checkpoint", "checkpoint [command options] <container-id>", "checkpoint (not yet)",
     [](const runtime::Globals&, const std::vector<std::string>&) { return not_yet("checkpoint"); }},
    {"restore", "restore [command options] <container-id>", "restore (not yet)",
     [](const runtime::Globals&, const std::vector<std::string>&) { return not_yet("restore"); }},
};

bool help_requested(const Parsed& p, const char* name) {
  if (!p.flag("help")) return false;
  for (const auto& c : kCommands) {
    if (std::string(c.name) == name) std::printf("usage: nsbox %s\n\n%s\n", c.usage, c.summary);
  }
  return true;
}

}  // namespace

const std::vector<Command>& commands() { return kCommands; }

}  // namespace nsbox::cli
