// nsbox-systemd: nsbox's link to systemd's manager over D-Bus, through libsystemd's sd-bus.
//
// nsbox itself is a static binary (an exec of it is as cheap as an exec can be, and it runs
// twice per container start), and Debian has libsystemd only as a shared library; so the
// D-Bus calls live in this small dynamically linked helper, which nsbox starts only with
// --systemd-cgroup, early enough that its exec and bus connection overlap nsbox's own work.
//
// Protocol: fd 3 is a SOCK_SEQPACKET socket; each packet is one JSON request, answered by one
// JSON reply ({"ok": true, ...} or {"error": "text"}). Requests ("op"):
//   version                           -> {"version": N}      the manager's Version, 0 unknown
//   start  unit properties            -> StartTransientUnit, waits for its job (30 s); a unit
//                                        that exists is reset (ResetFailedUnit) and tried again
//   set    unit properties            -> SetUnitProperties(runtime=true)
//   stop   unit                       -> StopUnit, waits for its job, then ResetFailedUnit
//   attach unit subcgroup pids        -> AttachProcessesToUnit
//   control_group                     -> {"path": ...} the manager's ControlGroup (user manager)
// A property is {"name", "signature", "value"}: the value as JSON (a struct as an array).
// argv[1]: "--system" or "--user" (the user's own manager, as rootless podman uses it).
//
// One more use, with no socket: `nsbox-systemd --system-state PID` prints the SystemState of
// the systemd whose pid is PID (a container's init; its /run/systemd/private reached through
// /proc/PID/root), as `systemctl is-system-running` would, and exits; 1 when it cannot.
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace {

using json = nlohmann::json;

constexpr const char* kDest = "org.freedesktop.systemd1";
constexpr const char* kPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";
constexpr uint64_t kJobTimeoutUsec = 30ULL * 1000 * 1000;

struct Failure {
  std::string text;
};

[[noreturn]] void failure(const std::string& text) { throw Failure{text}; }

std::string bus_error(const sd_bus_error& e, int r) {
  if (sd_bus_error_is_set(&e)) return std::string(e.name) + ": " + (e.message != nullptr ? e.message : "");
  return std::strerror(-r);
}

// The end of the complete type that starts at `sig[i]`.
size_t type_end(const std::string& sig, size_t i) {
  if (i >= sig.size()) failure("bad signature \"" + sig + "\"");
  char c = sig[i];
  if (c == 'a') return type_end(sig, i + 1);
  if (c == '(' || c == '{') {
    char close = c == '(' ? ')' : '}';
    size_t j = i + 1;
    while (j < sig.size() && sig[j] != close) j = type_end(sig, j) + 1;
    if (j >= sig.size()) failure("bad signature \"" + sig + "\"");
    return j;
  }
  return i;
}

void check(int r, const std::string& what) {
  if (r < 0) failure(what + ": " + std::strerror(-r));
}

// Append the value `v` of the single complete type `sig`.
void append(sd_bus_message* m, const std::string& sig, const json& v) {
  char c = sig[0];
  switch (c) {
    case 'y': { uint8_t x = v.get<uint8_t>(); check(sd_bus_message_append_basic(m, c, &x), "append"); return; }
    case 'n': { int16_t x = v.get<int16_t>(); check(sd_bus_message_append_basic(m, c, &x), "append"); return; }
    case 'q': { uint16_t x = v.get<uint16_t>(); check(sd_bus_message_append_basic(m, c, &x), "append"); return; }
    case 'i': { int32_t x = v.get<int32_t>(); check(sd_bus_message_append_basic(m, c, &x), "append"); return; }
    case 'u': { uint32_t x = v.get<uint32_t>(); check(sd_bus_message_append_basic(m, c, &x), "append"); return; }
    case 'x': { int64_t x = v.get<int64_t>(); check(sd_bus_message_append_basic(m, c, &x), "append"); return; }
    case 't': { uint64_t x = v.get<uint64_t>(); check(sd_bus_message_append_basic(m, c, &x), "append"); return; }
    case 'd': { double x = v.get<double>(); check(sd_bus_message_append_basic(m, c, &x), "append"); return; }
    case 'b': { int x = v.get<bool>() ? 1 : 0; check(sd_bus_message_append_basic(m, c, &x), "append"); return; }
    case 's':
    case 'o': { std::string s = v.get<std::string>(); check(sd_bus_message_append_basic(m, c, s.c_str()), "append"); return; }
    case 'a': {
      std::string elem = sig.substr(1, type_end(sig, 1));
      check(sd_bus_message_open_container(m, 'a', elem.c_str()), "open array");
      for (const auto& e : v) append(m, elem, e);
      check(sd_bus_message_close_container(m), "close array");
      return;
    }
    case '(': {
      std::string contents = sig.substr(1, sig.size() - 2);
      check(sd_bus_message_open_container(m, 'r', contents.c_str()), "open struct");
      size_t i = 0, k = 0;
      while (i < contents.size()) {
        size_t e = type_end(contents, i);
        append(m, contents.substr(i, e - i + 1), v.at(k++));
        i = e + 1;
      }
      check(sd_bus_message_close_container(m), "close struct");
      return;
    }
    default: failure(std::string("unsupported D-Bus type '") + c + "'");
  }
}

// a(sv): the properties of a request.
void append_properties(sd_bus_message* m, const json& props) {
  check(sd_bus_message_open_container(m, 'a', "(sv)"), "open properties");
  for (const auto& p : props) {
    std::string name = p.at("name"), sig = p.at("signature");
    check(sd_bus_message_open_container(m, 'r', "sv"), "open property");
    check(sd_bus_message_append_basic(m, 's', name.c_str()), "append property name");
    check(sd_bus_message_open_container(m, 'v', sig.c_str()), "open variant " + name);
    append(m, sig, p.at("value"));
    check(sd_bus_message_close_container(m), "close variant");
    check(sd_bus_message_close_container(m), "close property");
  }
  check(sd_bus_message_close_container(m), "close properties");
}

class Manager {
 public:
  explicit Manager(sd_bus* bus) : bus_(bus) {
    // JobRemoved reaches only subscribed clients; results are kept by job path, so that a
    // signal read together with a method reply is not lost.
    check(sd_bus_match_signal(bus_, nullptr, kDest, kPath, kManager, "JobRemoved", on_job_removed, this),
          "watch JobRemoved");
    call("Subscribe", nullptr);
  }

  int version() {
    char* v = nullptr;
    sd_bus_error e = SD_BUS_ERROR_NULL;
    int r = sd_bus_get_property_string(bus_, kDest, kPath, kManager, "Version", &e, &v);
    sd_bus_error_free(&e);
    if (r < 0 || v == nullptr) return 0;
    // "252.39-1~deb12u2", "v245.4-1.fc32": the first integer.
    std::string s = v;
    free(v);
    size_t i = s.find_first_of("0123456789");
    return i == std::string::npos ? 0 : std::atoi(s.c_str() + i);
  }

  std::string control_group() {
    char* v = nullptr;
    sd_bus_error e = SD_BUS_ERROR_NULL;
    int r = sd_bus_get_property_string(bus_, kDest, kPath, kManager, "ControlGroup", &e, &v);
    std::string text = bus_error(e, r);
    sd_bus_error_free(&e);
    if (r < 0) failure("the manager's ControlGroup: " + text);
    std::string s = v;
    free(v);
    return s;
  }

  void start(const std::string& unit, const json& props) {
    std::string err;
    for (int attempt = 0; attempt < 2; ++attempt) {
      sd_bus_message* m = nullptr;
      check(sd_bus_message_new_method_call(bus_, &m, kDest, kPath, kManager, "StartTransientUnit"), "message");
      check(sd_bus_message_append(m, "ss", unit.c_str(), "replace"), "append");
      append_properties(m, props);
      check(sd_bus_message_append(m, "a(sa(sv))", 0), "append aux");
      sd_bus_error e = SD_BUS_ERROR_NULL;
      sd_bus_message* reply = nullptr;
      int r = sd_bus_call(bus_, m, 0, &e, &reply);
      sd_bus_message_unref(m);
      if (r >= 0) {
        const char* job = nullptr;
        check(sd_bus_message_read(reply, "o", &job), "read the job");
        std::string job_path = job;
        sd_bus_message_unref(reply);
        std::string result = wait_job(job_path);
        if (result == "timeout") {
          reset_failed(unit);
          failure("Timeout waiting for systemd to create " + unit);
        }
        if (result != "done") {
          reset_failed(unit);
          failure("error creating systemd unit `" + unit + "`: got `" + result + "`");
        }
        return;
      }
      bool exists = sd_bus_error_has_name(&e, "org.freedesktop.systemd1.UnitExists");
      err = bus_error(e, r);
      sd_bus_error_free(&e);
      if (!exists || attempt == 1) break;
      // A unit of that name left over (failed, or still stopping): reset it once, as runc.
      reset_failed(unit);
    }
    failure("unable to start unit \"" + unit + "\": " + err);
  }

  void set(const std::string& unit, const json& props) {
    sd_bus_message* m = nullptr;
    check(sd_bus_message_new_method_call(bus_, &m, kDest, kPath, kManager, "SetUnitProperties"), "message");
    check(sd_bus_message_append(m, "sb", unit.c_str(), 1), "append");
    append_properties(m, props);
    sd_bus_error e = SD_BUS_ERROR_NULL;
    int r = sd_bus_call(bus_, m, 0, &e, nullptr);
    sd_bus_message_unref(m);
    std::string text = bus_error(e, r);
    sd_bus_error_free(&e);
    if (r < 0) failure("unable to set unit properties: " + text);
  }

  // Stop the unit (a missing one is stopped already), then reset it so that a failed unit
  // goes too. Returns a warning, or "".
  std::string stop(const std::string& unit) {
    std::string warning;
    sd_bus_error e = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    int r = sd_bus_call_method(bus_, kDest, kPath, kManager, "StopUnit", &e, &reply, "ss", unit.c_str(), "replace");
    if (r >= 0) {
      const char* job = nullptr;
      if (sd_bus_message_read(reply, "o", &job) >= 0) {
        std::string result = wait_job(job);
        if (result == "timeout") failure("Timed out while waiting for systemd to remove " + unit);
        if (result != "done") warning = "error removing unit `" + unit + "`: got `" + result + "`. Continuing...";
      }
      sd_bus_message_unref(reply);
    } else if (!sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit")) {
      warning = "stop unit " + unit + ": " + bus_error(e, r);
    }
    sd_bus_error_free(&e);
    reset_failed(unit);
    return warning;
  }

  void attach(const std::string& unit, const std::string& sub, const json& pids) {
    sd_bus_message* m = nullptr;
    check(sd_bus_message_new_method_call(bus_, &m, kDest, kPath, kManager, "AttachProcessesToUnit"), "message");
    check(sd_bus_message_append(m, "ss", unit.c_str(), sub.c_str()), "append");
    append(m, "au", pids);
    sd_bus_error e = SD_BUS_ERROR_NULL;
    int r = sd_bus_call(bus_, m, 0, &e, nullptr);
    sd_bus_message_unref(m);
    std::string text = bus_error(e, r);
    sd_bus_error_free(&e);
    if (r < 0) failure("attach to unit " + unit + ": " + text);
  }

 private:
  static int on_job_removed(sd_bus_message* m, void* self, sd_bus_error*) {
    uint32_t id = 0;
    const char *job = nullptr, *unit = nullptr, *result = nullptr;
    if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) >= 0) {
      static_cast<Manager*>(self)->jobs_[job] = result;
    }
    return 0;
  }

  void reset_failed(const std::string& unit) {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    sd_bus_call_method(bus_, kDest, kPath, kManager, "ResetFailedUnit", &e, nullptr, "s", unit.c_str());
    sd_bus_error_free(&e);
  }

  // The job's result ("done", "failed", ...), or "timeout".
  std::string wait_job(const std::string& job) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(kJobTimeoutUsec);
    for (;;) {
      if (auto it = jobs_.find(job); it != jobs_.end()) return it->second;
      int r = sd_bus_process(bus_, nullptr);
      check(r, "process the bus");
      if (r > 0) continue;
      auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) return "timeout";
      check(sd_bus_wait(bus_, static_cast<uint64_t>(left)), "wait on the bus");
    }
  }

  void call(const char* method, sd_bus_message** reply) {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    int r = sd_bus_call_method(bus_, kDest, kPath, kManager, method, &e, reply, "");
    bool absent = sd_bus_error_has_name(&e, "org.freedesktop.DBus.Error.ServiceUnknown");
    std::string text = bus_error(e, r);
    sd_bus_error_free(&e);
    if (absent) failure("systemd is not on the bus (" + text + ")");
    if (r < 0) failure(std::string(method) + ": " + text);
  }

  sd_bus* bus_;
  std::map<std::string, std::string> jobs_;
};

// The system bus, else (as root) systemd's private socket; the user's bus for --user.
sd_bus* connect(bool user) {
  sd_bus* bus = nullptr;
  if (user) {
    int r = sd_bus_open_user(&bus);
    if (r < 0) {
      failure("could not connect to the user's systemd (no DBUS_SESSION_BUS_ADDRESS, and no bus in "
              "$XDG_RUNTIME_DIR/bus: install dbus-user-session and log in again): " + std::string(std::strerror(-r)));
    }
    return bus;
  }
  int r = sd_bus_open_system(&bus);
  if (r >= 0) return bus;
  if (::geteuid() == 0) {
    sd_bus* priv = nullptr;
    if (sd_bus_new(&priv) >= 0 && sd_bus_set_address(priv, "unix:path=/run/systemd/private") >= 0 &&
        sd_bus_start(priv) >= 0) {
      return priv;
    }
    sd_bus_unref(priv);
  }
  failure("failed to connect to dbus: " + std::string(std::strerror(-r)));
}

json handle(Manager& mgr, const json& req) {
  std::string op = req.at("op");
  if (op == "version") return {{"ok", true}, {"version", mgr.version()}};
  if (op == "control_group") return {{"ok", true}, {"path", mgr.control_group()}};
  if (op == "start") {
    mgr.start(req.at("unit"), req.at("properties"));
    return {{"ok", true}};
  }
  if (op == "set") {
    mgr.set(req.at("unit"), req.at("properties"));
    return {{"ok", true}};
  }
  if (op == "stop") return {{"ok", true}, {"warning", mgr.stop(req.at("unit"))}};
  if (op == "attach") {
    mgr.attach(req.at("unit"), req.at("subcgroup"), req.at("pids"));
    return {{"ok", true}};
  }
  failure("unknown request \"" + op + "\"");
}

void send(const json& reply) {
  std::string text = reply.dump();
  (void)::send(3, text.data(), text.size(), MSG_NOSIGNAL);
}

// The manager's SystemState over its private socket (a direct connection, no bus daemon).
int print_system_state(const std::string& socket_path) {
  sd_bus* bus = nullptr;
  char* state = nullptr;
  sd_bus_error err = SD_BUS_ERROR_NULL;
  std::string address = "unix:path=" + socket_path;
  int r = sd_bus_new(&bus);
  if (r >= 0) r = sd_bus_set_address(bus, address.c_str());
  if (r >= 0) r = sd_bus_set_method_call_timeout(bus, 1000 * 1000);
  if (r >= 0) r = sd_bus_start(bus);
  if (r >= 0) r = sd_bus_get_property_string(bus, nullptr, kPath, kManager, "SystemState", &err, &state);
  if (r >= 0) std::printf("%s\n", state);
  if (r < 0) std::fprintf(stderr, "nsbox-systemd: %s: %s\n", socket_path.c_str(), sd_bus_error_is_set(&err) ? err.message : std::strerror(-r));
  std::free(state);
  sd_bus_error_free(&err);
  if (bus != nullptr) sd_bus_flush_close_unref(bus);
  return r >= 0 ? 0 : 1;
}

// systemd takes private connections only from root, known by the peer's credentials, which
// name no process for a peer outside its pid namespace: connect from a child made there.
int system_state_of(const std::string& pid) {
  std::string proc = "/proc/" + pid;
  int ns = ::open((proc + "/ns/pid").c_str(), O_RDONLY | O_CLOEXEC);
  if (ns < 0 || ::setns(ns, CLONE_NEWPID) < 0) return 1;
  ::close(ns);
  pid_t child = ::fork();
  if (child < 0) return 1;
  if (child == 0) {
    int rc = print_system_state(proc + "/root/run/systemd/private");
    std::fflush(stdout);
    ::_exit(rc);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--system-state") return system_state_of(argv[2]);
  bool user = argc > 1 && std::string(argv[1]) == "--user";
  std::unique_ptr<Manager> mgr;
  sd_bus* bus = nullptr;
  std::string setup_error;
  try {
    bus = connect(user);
    mgr = std::make_unique<Manager>(bus);
  } catch (const Failure& f) {
    setup_error = f.text;
  }
  std::string buf(1 << 20, '\0');
  for (;;) {
    ssize_t n = ::recv(3, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // nsbox is done (or gone)
    json reply;
    try {
      if (!mgr) failure(setup_error);
      reply = handle(*mgr, json::parse(buf.substr(0, static_cast<size_t>(n))));
    } catch (const Failure& f) {
      reply = {{"error", f.text}};
    } catch (const std::exception& e) {
      reply = {{"error", std::string("bad request: ") + e.what()}};
    }
    send(reply);
  }
  mgr.reset();
  if (bus != nullptr) sd_bus_flush_close_unref(bus);
  return 0;
}
