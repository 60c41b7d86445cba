#include "cli/commands.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "base/fs.h"
#include "base/log.h"
#include "cli/args.h"
#include "runtime/signals.h"
#include "spec/default_spec.h"

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
     "run a process in a container (not yet)", [](const runtime::Globals&, const std::vector<std::string>&) { return not_yet("exec"); }},
    {"ps", "ps <container-id>", "list a container's processes (not yet)",
     [](const runtime::Globals&, const std::vector<std::string>&) { return not_yet("ps"); }},
    {"pause", "pause <container-id>", "freeze a container (not yet)",
     [](const runtime::Globals&, const std::vector<std::string>&) { return not_yet("pause"); }},
    {"resume", "resume <container-id>", "thaw a container (not yet)",
     [](const runtime::Globals&, const std::vector<std::string>&) { return not_yet("resume"); }},
    {"update", "update [command options] <container-id>", "change resource limits (not yet)",
     [](const runtime::Globals&, const std::vector<std::string>&) { return not_yet("update"); }},
    {"events", "events [--stats] <container-id>", "container events and stats (not yet)",
     [](const runtime::Globals&, const std::vector<std::string>&) { return not_yet("events"); }},
    {"features", "features", "print the supported features (not yet)",
     [](const runtime::Globals&, const std::vector<std::string>&) { return not_yet("features"); }},
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
