#include "net/cni.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "base/fs.h"
#include "base/unique_fd.h"
#include "spec/json_depth.h"

namespace nsbox::net::cni {

using json = nlohmann::json;

namespace {

// ---- Versions ----

// What nsbox speaks. 0.1.0/0.2.0 results have another form altogether, and 1.1.0 adds only
// GC, STATUS and optional fields, which a 1.1.0 configuration keeps under 1.0.0 (the format
// is compatible within a major version).
constexpr std::array<const char*, 4> kSpoken = {"0.3.0", "0.3.1", "0.4.0", "1.0.0"};

struct Semver {
  int major = -1, minor = 0, patch = 0;
  bool valid() const { return major >= 0; }
  auto operator<=>(const Semver&) const = default;
};

Semver parse_version(const std::string& v) {
  Semver s;
  int n = 0;
  if (std::sscanf(v.c_str(), "%d.%d.%d%n", &s.major, &s.minor, &s.patch, &n) != 3 ||
      static_cast<size_t>(n) != v.size() || s.major < 0 || s.minor < 0 || s.patch < 0) {
    return {};
  }
  return s;
}

bool spoken(const std::string& v) {
  return std::any_of(kSpoken.begin(), kSpoken.end(), [&](const char* s) { return v == s; });
}

// The version nsbox uses for a configuration declaring `v`, or "" when none.
std::string usable_version(const std::string& v) {
  if (spoken(v)) return v;
  Semver s = parse_version(v);
  if (s.valid() && s.major == 1) return "1.0.0";
  return "";
}

// CHECK, and prevResult on DEL, came with 0.4.0.
bool has_prev_result_on_del(const std::string& v) {
  return parse_version(v) >= Semver{0, 4, 0};
}

bool is_1x(const std::string& v) {
  return parse_version(v).major == 1;
}

std::string spoken_list() {
  std::string s;
  for (const char* v : kSpoken) s += (s.empty() ? "" : ", ") + std::string(v);
  return s;
}

// ---- Small helpers ----

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < parts.size(); ++i) s += (i ? sep : "") + parts[i];
  return s;
}

// Error text from a plugin on one line, at most `max` bytes (its end, which says most).
std::string one_line(std::string_view text, size_t max = 1000) {
  std::string s;
  for (char c : text) {
    if (c == '\n') {
      if (!s.empty() && s.back() != ' ') s += "; ";
    } else if (c != '\r') {
      s += c;
    }
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == ';')) s.pop_back();
  size_t start = s.find_first_not_of(' ');
  s = start == std::string::npos ? "" : s.substr(start);
  if (s.size() > max) s = "..." + s.substr(s.size() - max);
  return s;
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// nlohmann's text without its "[json.exception.parse_error.101] " prefix.
std::string json_error_text(const json::exception& e) {
  std::string what = e.what();
  auto pos = what.find("] ");
  return pos == std::string::npos ? what : what.substr(pos + 2);
}

Result<json> parse_json(std::string_view text, const std::string& what) {
  if (spec::nested_deeper_than(text)) {
    return fail(what + ": invalid JSON: nested deeper than " + std::to_string(spec::kMaxJsonDepth) +
                " levels");
  }
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    return fail(what + ": invalid JSON: " + json_error_text(e));
  }
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool valid_plugin_type(const std::string& t) {
  return !t.empty() && t != "." && t != ".." && t.find('/') == std::string::npos &&
         t.find('\0') == std::string::npos;
}

// ---- Configuration files ----

Result<std::string> select_version(const json& conf, const std::string& file) {
  auto v = conf.find("cniVersion");
  if (v == conf.end() || !v->is_string()) return fail(file + ": no \"cniVersion\" string");
  std::vector<std::string> declared = {v->get<std::string>()};
  if (auto vs = conf.find("cniVersions"); vs != conf.end()) {
    if (!vs->is_array()) return fail(file + ": \"cniVersions\" is not an array");
    for (const auto& e : *vs) {
      if (!e.is_string()) return fail(file + ": \"cniVersions\" holds a non-string");
      declared.push_back(e.get<std::string>());
    }
  }
  std::string best;
  for (const auto& d : declared) {
    std::string u = usable_version(d);
    if (!u.empty() && (best.empty() || parse_version(u) > parse_version(best))) best = u;
  }
  if (best.empty()) {
    return fail(file + ": cniVersion " + join(declared, ", ") + " is not supported (nsbox speaks " +
                spoken_list() + ")");
  }
  return best;
}

Result<> check_plugin_object(const json& p, const std::string& where) {
  if (!p.is_object()) return fail(where + " is not an object");
  auto t = p.find("type");
  if (t == p.end() || !t->is_string()) return fail(where + " has no \"type\" string");
  if (!valid_plugin_type(t->get<std::string>())) {
    return fail(where + ": invalid plugin type \"" + t->get<std::string>() + "\"");
  }
  return {};
}

// A configuration `conf` (an object named as wanted) from `file` as a Network.
Result<Network> load_network(const json& conf, const std::string& file) {
  Network net;
  net.name = conf.at("name").get<std::string>();
  net.file = file;
  net.cni_version = TRY(select_version(conf, file));
  if (auto dc = conf.find("disableCheck"); dc != conf.end()) {
    if (!dc->is_boolean()) return fail(file + ": \"disableCheck\" is not a boolean");
    net.disable_check = dc->get<bool>();
  }
  // A list by its extension, as other runtimes decide, or a .conf that holds one anyway.
  bool is_list =
      ends_with(file, ".conflist") || (conf.contains("plugins") && !conf.contains("type"));
  if (!is_list) {
    TRY(check_plugin_object(conf, file + ": the plugin configuration"));
    net.plugins = json::array({conf});
    return net;
  }
  auto plugins = conf.find("plugins");
  if (plugins == conf.end() || !plugins->is_array()) return fail(file + ": no \"plugins\" array");
  if (plugins->empty()) return fail(file + ": \"plugins\" is empty");
  for (size_t i = 0; i < plugins->size(); ++i) {
    TRY(check_plugin_object((*plugins)[i], file + ": plugins[" + std::to_string(i) + "]"));
  }
  net.plugins = *plugins;
  return net;
}

// The candidate files' names in lexical order; none when `dir` does not exist.
Result<std::vector<std::string>> config_files(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) {
    if (errno == ENOENT || errno == ENOTDIR) return std::vector<std::string>{};
    return fail_errno("open " + dir);
  }
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d.get())) {
    std::string n = e->d_name;
    if (ends_with(n, ".conflist") || ends_with(n, ".conf") || ends_with(n, ".json"))
      names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

// ---- Running one plugin ----

struct Exit {
  int status = 0;
  bool timed_out = false;
  std::string out, err;
};

constexpr size_t kMaxStdout = 4 << 20;
constexpr size_t kMaxStderr = 64 << 10;

// `fd` moved above the standard descriptors, so that the child's dup2s onto 0, 1 and 2 can
// never overwrite one another (the runtime may run with a standard descriptor closed).
Result<UniqueFd> above_stdio(UniqueFd fd, const char* what) {
  if (fd.get() > 2) return fd;
  UniqueFd moved(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3));
  if (!moved) return fail_errno(std::string("duplicate ") + what);
  return moved;
}

// Appends what is readable now; false once at end of file (or on a read error). Past `cap`
// bytes the start is dropped (`keep_tail`) or reading stops, for the caller to see.
bool drain(int fd, std::string& into, size_t cap, bool keep_tail) {
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN;
    }
    if (n == 0) return false;
    into.append(buf, static_cast<size_t>(n));
    if (into.size() > cap) {
      if (!keep_tail) return true;
      into.erase(0, into.size() - cap);
    }
  }
}

void kill_group(pid_t pid) {
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
}

void reap(pid_t pid, int* status) {
  while (::waitpid(pid, status, 0) < 0 && errno == EINTR) {
  }
}

// Runs `path` with `input` on standard input and `env` as its whole environment, in a
// process group of its own (so that a timeout kills what it started too), with no other
// descriptor of ours; at most `timeout_ms`.
Result<Exit> run(const std::string& path, const std::vector<std::string>& env,
                 std::string_view input, int timeout_ms) {
  // Standard input from a memory file: no writer to block on a full pipe.
  UniqueFd in(static_cast<int>(::memfd_create("cni-request", MFD_CLOEXEC)));
  if (!in) return fail_errno("create memfd");
  for (size_t off = 0; off < input.size();) {
    ssize_t n = ::write(in.get(), input.data() + off, input.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("write the plugin's input");
    off += static_cast<size_t>(n);
  }
  if (::lseek(in.get(), 0, SEEK_SET) < 0) return fail_errno("seek the plugin's input");
  in = TRY(above_stdio(std::move(in), "memfd"));

  int out_p[2], err_p[2];
  if (::pipe2(out_p, O_CLOEXEC) < 0) return fail_errno("create pipe");
  UniqueFd out_r(out_p[0]), out_w(out_p[1]);
  if (::pipe2(err_p, O_CLOEXEC) < 0) return fail_errno("create pipe");
  UniqueFd err_r(err_p[0]), err_w(err_p[1]);
  out_r = TRY(above_stdio(std::move(out_r), "pipe"));
  out_w = TRY(above_stdio(std::move(out_w), "pipe"));
  err_r = TRY(above_stdio(std::move(err_r), "pipe"));
  err_w = TRY(above_stdio(std::move(err_w), "pipe"));
  ::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(err_r.get(), F_SETFL, O_NONBLOCK);

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  ::posix_spawn_file_actions_init(&fa);
  ::posix_spawnattr_init(&attr);
  ::posix_spawn_file_actions_adddup2(&fa, in.get(), 0);
  ::posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  ::posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
  ::posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setsigdefault(&attr, &all);
  ::posix_spawnattr_setpgroup(&attr, 0);
  ::posix_spawnattr_setflags(
      &attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  std::vector<char*> argv = {const_cast<char*>(path.c_str()), nullptr};
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, path.c_str(), &fa, &attr, argv.data(), envp.data());
  ::posix_spawn_file_actions_destroy(&fa);
  ::posix_spawnattr_destroy(&attr);
  if (rc != 0) return fail_errno("run " + path, rc);
  out_w.reset();
  err_w.reset();
  in.reset();

  // The exit is learnt from a pidfd: a plugin's own child may keep the pipes open after it.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  Exit ex;
  bool exited = false, lost = false, out_open = true, err_open = true;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (!exited) {
      pid_t r = ::waitpid(pid, &ex.status, WNOHANG);
      // ECHILD: a reaper of the caller's (waitpid(-1)) took it; its status is unknown.
      lost = r < 0 && errno == ECHILD;
      exited = r == pid || lost;
    }
    if (exited) {
      // What it wrote before exiting is in the pipes; a descendant still writing is not waited for.
      if (out_open) drain(out_r.get(), ex.out, kMaxStdout, false);
      if (err_open) drain(err_r.get(), ex.err, kMaxStderr, true);
      break;
    }
    if (ex.out.size() > kMaxStdout) {
      kill_group(pid);
      reap(pid, &ex.status);
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill_group(pid);
      reap(pid, &ex.status);
      ex.timed_out = true;
      break;
    }
    std::vector<pollfd> fds;
    if (out_open) fds.push_back({out_r.get(), POLLIN, 0});
    if (err_open) fds.push_back({err_r.get(), POLLIN, 0});
    if (pidfd) fds.push_back({pidfd.get(), POLLIN, 0});
    // Without a pidfd (an old kernel) the exit is polled for.
    int wait_ms =
        pidfd ? static_cast<int>(left.count()) : std::min<int>(static_cast<int>(left.count()), 5);
    int n = ::poll(fds.data(), fds.size(), wait_ms);
    if (n < 0 && errno != EINTR) {
      int e = errno;
      kill_group(pid);
      reap(pid, &ex.status);
      return fail_errno("wait for " + path, e);
    }
    for (const auto& p : fds) {
      if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (p.fd == out_r.get()) out_open = drain(out_r.get(), ex.out, kMaxStdout, false);
      if (p.fd == err_r.get()) err_open = drain(err_r.get(), ex.err, kMaxStderr, true);
    }
  }
  if (lost) return fail("its exit status was collected by another waiter");
  if (ex.out.size() > kMaxStdout) {
    return fail("output too large (more than " + std::to_string(kMaxStdout) + " bytes)");
  }
  return ex;
}

// ---- The protocol ----

Result<> check_attachment(const Attachment& att, Command cmd) {
  const std::string& id = att.container_id;
  bool id_ok = !id.empty() && std::isalnum(static_cast<unsigned char>(id[0]));
  for (unsigned char c : id) id_ok = id_ok && (std::isalnum(c) || c == '_' || c == '.' || c == '-');
  if (!id_ok) {
    return fail("container id \"" + id +
                "\" is not valid for CNI (letters, digits, '_', '.' and '-', starting with a "
                "letter or digit)");
  }
  const std::string& ifn = att.ifname;
  bool if_ok = !ifn.empty() && ifn.size() < 16 && ifn != "." && ifn != "..";
  for (unsigned char c : ifn) if_ok = if_ok && c > ' ' && c != '/' && c != ':' && c < 0x7f;
  if (!if_ok) return fail("invalid interface name \"" + ifn + "\"");
  if (cmd != Command::kDel && att.netns_path.empty()) return fail("no network namespace path");
  for (const auto& [k, v] : att.cni_args) {
    if (k.empty() || k.find_first_of("=;") != std::string::npos ||
        v.find(';') != std::string::npos) {
      return fail("invalid CNI argument \"" + k + "=" + v + "\"");
    }
  }
  if (att.timeout_ms <= 0)
    return fail("invalid plugin timeout " + std::to_string(att.timeout_ms) + " ms");
  return {};
}

Result<> check_network(const Network& net) {
  if (!net.plugins.is_array() || net.plugins.empty()) return fail("no plugins");
  for (size_t i = 0; i < net.plugins.size(); ++i) {
    TRY(check_plugin_object(net.plugins[i], "plugins[" + std::to_string(i) + "]"));
  }
  if (!spoken(net.cni_version)) return fail("cniVersion " + net.cni_version + " is not supported");
  return {};
}

std::string plugin_type(const Network& net, size_t i) {
  return net.plugins[i]["type"].get<std::string>();
}

Result<std::string> find_plugin(const std::string& type, const std::vector<std::string>& dirs) {
  for (const auto& d : dirs) {
    if (d.empty()) continue;
    std::string p = d + "/" + type;
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0)
      return p;
  }
  return fail("plugin " + type + " not found in " + join(dirs, ":"));
}

std::vector<std::string> plugin_env(Command cmd, const Attachment& att) {
  std::string args;
  for (const auto& [k, v] : att.cni_args) args += (args.empty() ? "" : ";") + k + "=" + v;
  const char* path = std::getenv("PATH");
  return {
      std::string("CNI_COMMAND=") + command_name(cmd),
      "CNI_CONTAINERID=" + att.container_id,
      "CNI_NETNS=" + att.netns_path,
      "CNI_IFNAME=" + att.ifname,
      "CNI_ARGS=" + args,
      "CNI_PATH=" + join(att.plugin_dirs, ":"),
      std::string("PATH=") +
          (path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
  };
}

// Runs plugin `i` at `path` for `cmd`: its result (ADD, converted to the network's version),
// or null; errors read "plugin TYPE (CMD): ...".
Result<json> invoke(const Network& net, size_t i, const std::string& path, Command cmd,
                    const Attachment& att, const json* prev) {
  std::string what = "plugin " + plugin_type(net, i) + " (" + command_name(cmd) + ")";
  std::string input = dump(request_config(net, i, att, prev));
  Exit ex = TRY_CTX(run(path, plugin_env(cmd, att), input, att.timeout_ms), what);
  std::string err_text = one_line(ex.err);
  if (ex.timed_out) {
    std::string s = "no answer in " + std::to_string(att.timeout_ms) + " ms, killed";
    return fail(what + ": " + s + (err_text.empty() ? "" : ": " + err_text));
  }
  if (!WIFEXITED(ex.status) || WEXITSTATUS(ex.status) != 0) {
    auto pe = parse_plugin_error(ex.out);
    if (!pe) pe = parse_plugin_error(ex.err);
    if (pe) return fail(what + ": " + pe->text());
    std::string how = WIFEXITED(ex.status)
                          ? "exit status " + std::to_string(WEXITSTATUS(ex.status))
                          : "killed by signal " + std::to_string(WTERMSIG(ex.status));
    return fail(what + ": " + how + (err_text.empty() ? "" : ": " + err_text));
  }
  if (cmd != Command::kAdd) return json();
  json result = TRY(parse_json(ex.out, what + ": result"));
  if (!result.is_object()) return fail(what + ": result is not a JSON object");
  return TRY_CTX(convert_result(result, net.cni_version), what);
}

// DEL for plugins `from`..0, best effort; the first error, if any.
std::optional<Error> undo(const Network& net, const Attachment& att,
                          const std::vector<std::string>& paths, size_t from, const json* prev) {
  std::optional<Error> first;
  const json* p = has_prev_result_on_del(net.cni_version) ? prev : nullptr;
  for (size_t j = from + 1; j-- > 0;) {
    auto r = invoke(net, j, paths[j], Command::kDel, att, p);
    if (!r && !first) first = r.error();
  }
  return first;
}

// The stored ADD result, in the network's version; null when there is none. For DEL a
// result that cannot be used is dropped: plugins delete without one, and what must go
// should not stay because a state file was damaged.
Result<json> stored_result(const Network& net, const std::string& text) {
  if (text.empty()) return json();
  json r = TRY(parse_json(text, "the stored ADD result"));
  if (!r.is_object()) return fail("the stored ADD result is not a JSON object");
  return TRY_CTX(convert_result(r, net.cni_version), "the stored ADD result");
}

// Library exceptions (a json type error on a Network the caller built) end here.
template <typename F>
auto guarded(const std::string& ctx, F f) -> decltype(f()) {
  try {
    auto r = f();
    if (!r) r.error().context(ctx);
    return r;
  } catch (const std::exception& e) {
    return fail(ctx + ": " + e.what());
  }
}

std::vector<std::string> strings_of(const json& obj, const char* key) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_array()) return out;
  for (const auto& e : *it) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

std::string string_of(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

const char* command_name(Command c) {
  switch (c) {
    case Command::kAdd:
      return "ADD";
    case Command::kDel:
      return "DEL";
    case Command::kCheck:
      return "CHECK";
  }
  return "?";
}

Result<std::optional<Network>> find(const std::string& dir, const std::string& name) {
  try {
    auto names = TRY(config_files(dir));
    std::optional<Error> broken;
    for (const auto& n : names) {
      std::string file = dir + "/" + n;
      struct stat st {};
      if (::stat(file.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
      auto text = fs::read_document(file);
      if (!text) {
        if (!broken) broken = text.error();
        continue;
      }
      auto conf = parse_json(*text, file);
      if (conf && !conf->is_object()) conf = fail(file + ": not a JSON object");
      if (conf && !(conf->contains("name") && (*conf)["name"].is_string()))
        conf = fail(file + ": no \"name\" string");
      if (!conf) {
        if (!broken) broken = conf.error();
        continue;
      }
      if ((*conf)["name"].get<std::string>() != name) continue;
      return TRY(load_network(*conf, file));
    }
    if (broken) return fail(*broken);
    return std::optional<Network>();
  } catch (const std::exception& e) {
    return fail("look for CNI network " + name + " in " + dir + ": " + e.what());
  }
}

json request_config(const Network& net, size_t index, const Attachment& att,
                    const json* prev_result) {
  json c = net.plugins.at(index);
  c["cniVersion"] = net.cni_version;
  c["name"] = net.name;
  json rc = json::object();
  if (auto caps = c.find("capabilities"); caps != c.end() && caps->is_object()) {
    for (const auto& [cap, on] : caps->items()) {
      if (!on.is_boolean() || !on.get<bool>()) continue;
      if (cap == "portMappings" && !att.ports.empty()) {
        json ports = json::array();
        for (const auto& p : att.ports) {
          json m = {{"hostPort", p.host_port},
                    {"containerPort", p.container_port},
                    {"protocol", p.protocol.empty() ? "tcp" : p.protocol}};
          if (!p.host_ip.empty()) m["hostIP"] = p.host_ip;
          ports.push_back(std::move(m));
        }
        rc[cap] = std::move(ports);
      } else if (att.capability_args.is_object() && att.capability_args.contains(cap)) {
        rc[cap] = att.capability_args[cap];
      }
    }
  }
  c.erase("capabilities");
  c.erase("runtimeConfig");
  c.erase("prevResult");
  if (!rc.empty()) c["runtimeConfig"] = std::move(rc);
  if (prev_result) c["prevResult"] = *prev_result;
  return c;
}

std::string PluginError::text() const {
  std::string m = one_line(msg), d = one_line(details);
  if (m.empty() && d.empty()) return "error code " + std::to_string(code);
  if (d.empty() || d == m) return m;
  if (m.empty()) return d;
  return m + ": " + d;
}

std::optional<PluginError> parse_plugin_error(std::string_view text) {
  if (text.find('{') == std::string_view::npos || spec::nested_deeper_than(text))
    return std::nullopt;
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto code = j.find("code");
  auto msg = j.find("msg");
  bool has_code = code != j.end() && code->is_number_integer();
  bool has_msg = msg != j.end() && msg->is_string();
  if (!has_code && !has_msg) return std::nullopt;
  PluginError e;
  if (has_code)
    e.code = static_cast<int>(std::clamp<int64_t>(code->get<int64_t>(), INT32_MIN, INT32_MAX));
  e.msg = string_of(j, "msg");
  e.details = string_of(j, "details");
  return e;
}

Result<json> convert_result(const json& result, const std::string& to) {
  if (!result.is_object()) return fail("a CNI result must be a JSON object");
  std::string from = result.contains("cniVersion") && result["cniVersion"].is_string()
                         ? result["cniVersion"].get<std::string>()
                         : to;
  auto form = [](const std::string& v) {
    Semver s = parse_version(v);
    if (s.major == 1) return 1;
    if (s.major == 0 && s.minor >= 3) return 0;
    return -1;
  };
  if (form(from) < 0 || form(to) < 0)
    return fail("cannot convert a CNI result from version " + from + " to " + to);
  json r = result;
  r["cniVersion"] = to;
  if (form(from) == form(to)) return r;
  if (auto ips = r.find("ips"); ips != r.end() && ips->is_array()) {
    for (auto& ip : *ips) {
      if (!ip.is_object()) continue;
      if (is_1x(to)) {
        ip.erase("version");
      } else {
        ip["version"] = string_of(ip, "address").find(':') != std::string::npos ? "6" : "4";
      }
    }
  }
  return r;
}

AddResult summarize(const json& result) {
  AddResult a;
  a.json = dump(result);
  if (!result.is_object()) return a;
  json none = json::array();
  auto ifs_it = result.find("interfaces");
  const json& ifs = ifs_it != result.end() && ifs_it->is_array() ? *ifs_it : none;
  if (auto ips = result.find("ips"); ips != result.end() && ips->is_array()) {
    for (const auto& ip : *ips) {
      if (!ip.is_object()) continue;
      // An address on a host-side interface (no sandbox) is not the container's.
      if (auto idx = ip.find("interface"); idx != ip.end() && idx->is_number_unsigned()) {
        size_t k = idx->get<size_t>();
        if (k < ifs.size() && ifs[k].is_object() && string_of(ifs[k], "sandbox").empty()) continue;
      }
      std::string addr = string_of(ip, "address"), gw = string_of(ip, "gateway");
      if (!addr.empty()) a.addresses.push_back(addr);
      if (!gw.empty() && std::find(a.gateways.begin(), a.gateways.end(), gw) == a.gateways.end()) {
        a.gateways.push_back(gw);
      }
    }
  }
  if (auto dns = result.find("dns"); dns != result.end() && dns->is_object()) {
    a.dns_servers = strings_of(*dns, "nameservers");
    a.dns_search = strings_of(*dns, "search");
    // "search" wins over "domain", as in resolv.conf.
    if (a.dns_search.empty() && !string_of(*dns, "domain").empty())
      a.dns_search.push_back(string_of(*dns, "domain"));
    a.dns_options = strings_of(*dns, "options");
  }
  return a;
}

Result<AddResult> add(const Network& net, const Attachment& att) {
  return guarded("network " + net.name, [&]() -> Result<AddResult> {
    TRY(check_network(net));
    TRY(check_attachment(att, Command::kAdd));
    // Every plugin is found before any runs: a missing one then leaves nothing to undo.
    std::vector<std::string> paths;
    for (size_t i = 0; i < net.plugins.size(); ++i)
      paths.push_back(TRY(find_plugin(plugin_type(net, i), att.plugin_dirs)));
    json prev;
    for (size_t i = 0; i < net.plugins.size(); ++i) {
      auto r = invoke(net, i, paths[i], Command::kAdd, att, i ? &prev : nullptr);
      if (!r) {
        Error e = r.error();
        if (auto u = undo(net, att, paths, i, i ? &prev : nullptr)) {
          return fail(Error(e.code(), e.what() + "; undoing it: " + u->what()));
        }
        return fail(e);
      }
      prev = std::move(*r);
    }
    return summarize(prev);
  });
}

Result<> del(const Network& net, const Attachment& att, const std::string& prev_result_json) {
  return guarded("network " + net.name, [&]() -> Result<> {
    TRY(check_network(net));
    TRY(check_attachment(att, Command::kDel));
    auto stored = stored_result(net, prev_result_json);
    json prev = stored ? *stored : json();
    const json* p = has_prev_result_on_del(net.cni_version) && prev.is_object() ? &prev : nullptr;
    std::optional<Error> first;
    for (size_t i = net.plugins.size(); i-- > 0;) {
      auto path = find_plugin(plugin_type(net, i), att.plugin_dirs);
      auto r =
          path ? invoke(net, i, *path, Command::kDel, att, p) : Result<json>(fail(path.error()));
      if (!r && !first) first = r.error();
    }
    if (first) return fail(*first);
    return {};
  });
}

Result<> check(const Network& net, const Attachment& att, const std::string& prev_result_json) {
  return guarded("network " + net.name, [&]() -> Result<> {
    TRY(check_network(net));
    if (net.disable_check) return {};
    if (!has_prev_result_on_del(net.cni_version)) {
      return fail("CHECK needs cniVersion 0.4.0 or later (the configuration has " +
                  net.cni_version + ")");
    }
    TRY(check_attachment(att, Command::kCheck));
    if (prev_result_json.empty()) return fail("CHECK needs the result of ADD");
    json prev = TRY(stored_result(net, prev_result_json));
    for (size_t i = 0; i < net.plugins.size(); ++i) {
      std::string path = TRY(find_plugin(plugin_type(net, i), att.plugin_dirs));
      TRY(invoke(net, i, path, Command::kCheck, att, &prev));
    }
    return {};
  });
}

}  // namespace nsbox::net::cni
