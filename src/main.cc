// nsbox: an OCI runtime. Global flags, then the verb.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/log.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "security/caps.h"
#include "security/exe_guard.h"

#ifndef NSBOX_VERSION
#define NSBOX_VERSION "0.0.0"
#endif

namespace {

void print_help() {
  std::printf(
      "nsbox - an OCI container runtime\n\n"
      "usage: nsbox [global options] command [command options] [arguments...]\n\n"
      "commands:\n");
  for (const auto& c : nsbox::cli::commands()) std::printf("  %-11s %s\n", c.name, c.summary);
  std::printf(
      "\nglobal options:\n"
      "  --root DIR              state directory (default /run/nsbox; $XDG_RUNTIME_DIR/nsbox\n"
      "                          for an ordinary user)\n"
      "  --log FILE              also write log messages to FILE\n"
      "  --log-format text|json  format of the log file (default text)\n"
      "  --debug                 log debug messages\n"
      "  --systemd-cgroup        use the systemd cgroup driver (cgroupsPath \"slice:prefix:name\")\n"
      "  --cni-config-dir DIR    where networks that are not nsbox's own are looked for as CNI\n"
      "                          configuration lists (default /etc/cni/net.d)\n"
      "  --version, -v           print the version\n"
      "  --help, -h              print this help\n"
      "\n`nsbox help COMMAND` or `nsbox COMMAND --help` prints the help of a command.\n");
}

// As runc: an ordinary user keeps its state in $XDG_RUNTIME_DIR/nsbox, and so does the root
// of a user namespace that a rootless engine runs us in (unless USER says root).
std::string default_root() {
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  if (xdg == nullptr || *xdg == '\0') return "/run/nsbox";
  bool honor = ::geteuid() != 0;
  if (!honor && nsbox::security::in_user_namespace()) {
    const char* user = std::getenv("USER");
    honor = user == nullptr || std::string(user) != "root";
  }
  return honor ? std::string(xdg) + "/nsbox" : "/run/nsbox";
}

int run_main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  using nsbox::cli::FlagSpec;
  const std::vector<FlagSpec> globals = {
      {{"root"}, true},   {{"log"}, true},      {{"log-format"}, true}, {{"debug"}},
      {{"systemd-cgroup"}}, {{"criu"}, true},   {{"rootless"}, true},   {{"version", "v"}},
      {{"cni-config-dir"}, true}, {{"help", "h"}}};
  auto p = nsbox::cli::parse(args, globals, false);
  if (!p) {
    std::fprintf(stderr, "nsbox: %s\n", p.error().what().c_str());
    return 1;
  }
  std::string format = p->get("log-format", "text");
  if (format != "text" && format != "json") {
    std::fprintf(stderr, "nsbox: --log-format: unknown format \"%s\" (text or json)\n", format.c_str());
    return 1;
  }
  if (auto r = nsbox::log::configure(p->get("log"), format == "json", p->flag("debug")); !r) {
    nsbox::log::error(r.error().what());
    return 1;
  }
  if (p->flag("version")) {
    std::printf("nsbox version %s\nspec: 1.3.0\n", NSBOX_VERSION);
    return 0;
  }
  if (p->args.empty() || p->flag("help")) {
    print_help();
    return p->args.empty() && !p->flag("help") ? 1 : 0;
  }
  nsbox::runtime::Globals g;
  g.root = p->get("root", default_root());
  g.systemd_cgroup = p->flag("systemd-cgroup");
  g.cni_config_dir = p->get("cni-config-dir", g.cni_config_dir);
  const std::string verb = p->args[0];
  std::vector<std::string> rest(p->args.begin() + 1, p->args.end());
  // The verbs that put a process into a container run from a binary it cannot write.
  if (verb == "create" || verb == "run" || verb == "exec") {
    if (auto r = nsbox::security::protect_runtime_exe(argv); !r) {
      nsbox::log::error(r.error().what());
      return 1;
    }
  }
  for (const auto& c : nsbox::cli::commands()) {
    if (verb == c.name) return c.run(g, rest);
  }
  nsbox::log::error("unknown command \"" + verb + "\" (see nsbox --help)");
  return 1;
}

}  // namespace

// Every failure is a one-line error and an exit status: an exception that some library
// throws where nothing expected it (a bad_alloc, a bug) ends here, never in std::terminate.
int main(int argc, char** argv) {
  try {
    return run_main(argc, argv);
  } catch (const std::exception& e) {
    nsbox::log::error(std::string("internal error: ") + e.what());
  } catch (...) {
    nsbox::log::error("internal error: unknown exception");
  }
  return 1;
}
