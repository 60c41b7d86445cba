// The OCI lifecycle operations, one function per verb; the CLI layer only parses flags.
#pragma once

#include <sys/types.h>

#include <cstdio>
#include <string>
#include <vector>

#include "base/error.h"
#include "spec/resources.h"

namespace nsbox::runtime {

struct Globals {
  std::string root = "/run/nsbox";
  bool systemd_cgroup = false;
  // Where networks that are not nsbox's own are looked for as CNI configuration lists.
  std::string cni_config_dir = "/etc/cni/net.d";
};

// Compiled seccomp programs (security/seccomp.h), kept beside the containers: a name no
// container id can have (':').
inline std::string seccomp_cache_dir(const Globals& g) { return g.root + "/seccomp-cache:v1"; }

struct CreateOptions {
  std::string id;
  std::string bundle;  // as given; resolved to an absolute path
  std::string pid_file;
  std::string console_socket;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
  bool foreground = false;  // `run` without -d: a terminal is relayed, not sent to a socket
  // --network, --publish, --dns: added to the annotations of the same meaning (net/request.h).
  std::vector<std::string> networks, publish, dns;
};

struct Created {
  pid_t pid = 0;
  bool is_our_child = false;
  int console = -1;  // pty master kept for a foreground run (owned by the caller)
};

// create: on error nothing is left (no process, cgroup, state directory).
Result<Created> create(const Globals& g, const CreateOptions& o);
Result<> start(const Globals& g, const std::string& id);
Result<> kill(const Globals& g, const std::string& id, int sig, bool all);
Result<> remove(const Globals& g, const std::string& id, bool force);
// stop: the container's stop signal (annotations["org.nsbox.stop-signal"], else SIGTERM) to
// its init, up to `seconds` for it to end, then SIGKILL to everything in its cgroups. The
// container is stopped afterwards (not deleted).
enum class Stopped { kOnSignal, kKilled, kAlready };
Result<Stopped> stop(const Globals& g, const std::string& id, int seconds);
Result<std::string> state(const Globals& g, const std::string& id);
// console: attach to the console a detached container's keeper holds, or print its log.
Result<> console(const Globals& g, const std::string& id, bool log_only);
Result<std::string> list(const Globals& g, const std::string& format, bool quiet);
// pause/resume: freeze or thaw every process of the container and wait for it.
Result<> pause(const Globals& g, const std::string& id);
Result<> resume(const Globals& g, const std::string& id);
// Host pids of the container's processes.
Result<std::vector<pid_t>> pids(const Globals& g, const std::string& id);
// update: apply new limits to a live container.
Result<> update(const Globals& g, const std::string& id, const spec::Resources& r);
// events: one stats record (`stats_once`), or a stream of stats every `interval_ms` and oom
// records as they happen, until the container stops. Each record is a JSON line on `out`.
Result<> events(const Globals& g, const std::string& id, bool stats_once, int interval_ms,
                FILE* out);

// run: create + start + wait + delete (or only create + start with detach). Returns the
// exit status to exit with: the container's, or 128+N for signal N.
Result<int> run(const Globals& g, const CreateOptions& o, bool detach);

}  // namespace nsbox::runtime
