#include "net/nft.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "base/unique_fd.h"
#include "security/exe_guard.h"

extern char** environ;

namespace nsbox::net::nft {
namespace {

constexpr std::string_view kTable = "inet nsbox";
// A builder given a name it cannot put in a script safely writes this line instead: nft would
// reject it too, but run() refuses it first, with the reason.
constexpr std::string_view kInvalid = "invalid input: ";
constexpr size_t kMaxNetworkName = 32;
constexpr size_t kMaxIfName = 15;  // IFNAMSIZ - 1
constexpr size_t kMaxErrorText = 4096;

// Only these characters go into a script unchecked by nft's parser: an unquoted chain name
// takes them, and in a quoted interface name they cannot end the string.
bool plain_name(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  for (unsigned char c : s) {
    if (!(std::isalnum(c) || c == '_' || c == '.' || c == '-')) return false;
  }
  return true;
}

std::string invalid(const std::string& reason) { return std::string(kInvalid) + reason + "\n"; }

// A name as an error shows it: on one line, control characters escaped.
std::string shown(const std::string& name) {
  std::string s = "\"";
  for (unsigned char c : name) {
    if (c == '\n') {
      s += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      s += "\\x";
      s += kHex[c >> 4];
      s += kHex[c & 15];
    } else {
      s += static_cast<char>(c);
    }
  }
  return s + "\"";
}

std::optional<std::string> check_network(const std::string& name, const std::string& bridge) {
  if (!plain_name(name, kMaxNetworkName)) return invalid("network name " + shown(name) + " is not valid");
  if (!plain_name(bridge, kMaxIfName)) return invalid("bridge name " + shown(bridge) + " is not valid");
  return std::nullopt;
}

std::optional<std::string> check_ports(const std::vector<Port>& ports) {
  for (const auto& p : ports) {
    if (p.proto != "tcp" && p.proto != "udp") return invalid("port protocol " + shown(p.proto) + " is not tcp or udp");
    if (p.host_port == 0 || p.container_port == 0) return invalid("port 0 cannot be published");
  }
  return std::nullopt;
}

std::string quoted(const std::string& ifname) { return "\"" + ifname + "\""; }
std::string out_chain(const std::string& name) { return "net-" + name + "-out"; }
std::string fwd_chain(const std::string& name) { return "net-" + name + "-fwd"; }

// One command on nsbox's table: "add rule inet nsbox CHAIN ...".
std::string cmd(std::string_view verb, std::string_view rest) {
  return std::string(verb) + " " + std::string(kTable) + " " + std::string(rest) + "\n";
}

// The element of an absent key cannot be deleted (and this nft has no `destroy`): adding it
// first makes the deletion always valid, and the pair is a no-op on nothing. The addition
// fails if the key is there with other data: someone else's element is left alone.
std::string add_then_delete(const std::string& set, const std::string& key, const std::string& data) {
  std::string element = data.empty() ? key : key + " : " + data;
  return cmd("add element", set + " { " + element + " }") + cmd("delete element", set + " { " + key + " }");
}

std::string port_key(const Port& p) { return p.proto + " . " + std::to_string(p.host_port); }
std::string port_target(const Port& p) { return p.addr.str() + " . " + std::to_string(p.container_port); }

// The reason of the first invalid-input line, if the script has one.
std::optional<std::string> invalid_reason(const std::string& script) {
  size_t at = 0;
  if (!script.starts_with(kInvalid)) {
    at = script.find("\n" + std::string(kInvalid));
    if (at == std::string::npos) return std::nullopt;
    ++at;
  }
  size_t begin = at + kInvalid.size();
  return script.substr(begin, script.find('\n', begin) - begin);
}

}  // namespace

std::string ensure_table() {
  std::string s = "add table " + std::string(kTable) + "\n";
  s += cmd("add map", "ports { type inet_proto . inet_service : ipv4_addr . inet_service; }");
  s += cmd("add set", "bridges { type ifname; }");
  s += cmd("add map", "nat_out { type ifname : verdict; }");
  // Not "fwd": a keyword of nft's grammar.
  s += cmd("add map", "net_forward { type ifname : verdict; }");
  s += cmd("add chain", "guard { type filter hook prerouting priority raw; policy accept; }");
  s += cmd("add chain", "prerouting { type nat hook prerouting priority dstnat; policy accept; }");
  s += cmd("add chain", "output { type nat hook output priority -100; policy accept; }");
  s += cmd("add chain", "postrouting { type nat hook postrouting priority srcnat; policy accept; }");
  s += cmd("add chain", "forward { type filter hook forward priority filter; policy accept; }");
  for (const char* chain : {"guard", "prerouting", "output", "postrouting", "forward"}) s += cmd("flush chain", chain);
  // route_localnet on a bridge (for published ports on 127.0.0.1) would also let a container
  // reach the host's loopback services by routing 127.0.0.0/8 to its gateway.
  s += cmd("add rule", "guard iifname @bridges ip daddr 127.0.0.0/8 drop");
  // Published ports: for packets that arrive, and for the host's own (the output hook).
  s += cmd("add rule", "prerouting fib daddr type local dnat ip to meta l4proto . th dport map @ports");
  s += cmd("add rule", "output fib daddr type local dnat ip to meta l4proto . th dport map @ports");
  // The host's connection to 127.0.0.1:PORT leaves from 127.0.0.1, which a container cannot
  // answer: it gets the bridge's address instead.
  s += cmd("add rule", "postrouting oifname @bridges ip saddr 127.0.0.0/8 masquerade");
  // Hairpin: a container reaching a published port of its own network through a host address
  // would get the answer straight from the other container, not de-NATed by the host. (Where
  // br_netfilter hands bridged traffic to these hooks, that traffic is bridged, de-NATed on
  // the bridge, and has no input interface here; a container then cannot reach its own
  // published port that way.)
  s += cmd("add rule", "postrouting iifname @bridges oifname @bridges ct status dnat masquerade");
  // In postrouting, iifname is the interface a forwarded packet came in by (the kernel hands
  // the postrouting hook the input device: ip_output); the host's own packets have none and
  // match no bridge. So a network is its bridge here too, with no need to know its subnet.
  s += cmd("add rule", "postrouting iifname vmap @nat_out");
  // A published port is open to whoever reaches the host, other nsbox networks included; its
  // answers leave even an --internal network.
  s += cmd("add rule", "forward ct status dnat accept");
  s += cmd("add rule", "forward iifname vmap @net_forward");
  return s;
}

std::string add_network(const std::string& name, const std::string& bridge, bool nat, bool internal) {
  if (auto bad = check_network(name, bridge)) return *bad;
  std::string br = quoted(bridge), out = out_chain(name), fwd = fwd_chain(name);
  std::string s = ensure_table();
  s += cmd("add chain", out) + cmd("flush chain", out);
  s += cmd("add rule", out + " oifname != " + br + " masquerade");
  s += cmd("add chain", fwd) + cmd("flush chain", fwd);
  // Not to other nsbox networks; or, internal, nowhere but its own bridge.
  s += cmd("add rule", fwd + " oifname != " + br + (internal ? " drop" : " oifname @bridges drop"));
  s += cmd("add element", "bridges { " + br + " }");
  if (nat) {
    s += cmd("add element", "nat_out { " + br + " : jump " + out + " }");
  } else {
    s += add_then_delete("nat_out", br, "jump " + out);  // it may have been NATed before
  }
  s += cmd("add element", "net_forward { " + br + " : jump " + fwd + " }");
  return s;
}

std::string remove_network(const std::string& name, const std::string& bridge) {
  if (auto bad = check_network(name, bridge)) return *bad;
  std::string br = quoted(bridge), out = out_chain(name), fwd = fwd_chain(name);
  std::string s = ensure_table();
  s += cmd("add chain", out) + cmd("add chain", fwd);  // the elements' targets must exist
  s += add_then_delete("bridges", br, "");
  s += add_then_delete("nat_out", br, "jump " + out);
  s += add_then_delete("net_forward", br, "jump " + fwd);
  s += cmd("flush chain", out) + cmd("delete chain", out);
  s += cmd("flush chain", fwd) + cmd("delete chain", fwd);
  return s;
}

std::string publish(const std::vector<Port>& ports) {
  if (ports.empty()) return {};
  if (auto bad = check_ports(ports)) return *bad;
  std::string s = ensure_table();
  // `create`, unlike `add`, fails on a key that is there: two containers never share a port.
  for (const auto& p : ports) s += cmd("create element", "ports { " + port_key(p) + " : " + port_target(p) + " }");
  return s;
}

std::string unpublish(const std::vector<Port>& ports) {
  if (ports.empty()) return {};
  if (auto bad = check_ports(ports)) return *bad;
  std::string s = ensure_table();
  for (const auto& p : ports) s += add_then_delete("ports", port_key(p), port_target(p));
  return s;
}

namespace {

using Clock = std::chrono::steady_clock;

struct Spawned {
  pid_t pid = -1;
  UniqueFd in;   // the helper's standard input (a socket: a write to a dead helper is EPIPE, not SIGPIPE)
  UniqueFd err;  // its standard error
};

Result<Spawned> spawn_helper(const std::string& path) {
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) return fail_errno("socketpair");
  UniqueFd in_ours(sp[0]), in_theirs(sp[1]);
  int ep[2];
  if (::pipe2(ep, O_CLOEXEC) < 0) return fail_errno("pipe");
  UniqueFd err_ours(ep[0]), err_theirs(ep[1]);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_theirs.get(), STDIN_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, err_theirs.get(), STDERR_FILENO);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  // Whatever signals the runtime blocks or ignores are not the helper's business.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv = {const_cast<char*>(path.c_str()), nullptr};
  Spawned s;
  int rc = ::posix_spawn(&s.pid, path.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return fail_errno("start " + path, rc);
  s.in = std::move(in_ours);
  s.err = std::move(err_ours);
  return s;
}

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Feeds the script and collects standard error until the helper closes it or the deadline;
// false on the deadline.
bool exchange(Spawned& h, const std::string& script, std::string& errors, Clock::time_point deadline) {
  size_t sent = 0;
  for (;;) {
    if (h.in && sent == script.size()) {
      ::shutdown(h.in.get(), SHUT_WR);  // end of the script
      h.in.reset();
    }
    if (!h.err) return true;
    pollfd fds[2] = {{h.err.get(), POLLIN, 0}, {h.in ? h.in.get() : -1, POLLOUT, 0}};
    int left = ms_left(deadline);
    if (left == 0) return false;
    int n = ::poll(fds, 2, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (fds[1].revents != 0) {
      ssize_t w = ::send(h.in.get(), script.data() + sent, script.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0) sent += static_cast<size_t>(w);
      // It stopped reading (it failed): what it says on standard error tells why.
      if (w < 0 && errno != EAGAIN && errno != EINTR) h.in.reset();
    }
    if (fds[0].revents != 0) {
      char buf[4096];
      ssize_t r = ::read(h.err.get(), buf, sizeof buf);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        h.err.reset();
      } else if (errors.size() < kMaxErrorText) {
        errors.append(buf, static_cast<size_t>(r));
      }
    }
  }
}

// The helper's exit status, or nullopt at the deadline.
std::optional<int> wait_until(pid_t pid, Clock::time_point deadline) {
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return -1;
    if (ms_left(deadline) == 0) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
}

std::string first_line(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t\n");
  if (begin == std::string::npos) return {};
  size_t end = text.find('\n', begin);
  return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

}  // namespace

Result<> run(const std::string& script) {
  if (script.empty()) return {};
  if (auto bad = invalid_reason(script)) return fail(*bad);
  std::string path = security::helper_program("nsbox-nft", "NSBOX_NFT_HELPER");
  if (::access(path.c_str(), X_OK) < 0) {
    return fail_errno("nsbox networks need nsbox-nft (installed with nsbox): " + path);
  }
  auto deadline = Clock::now() + std::chrono::milliseconds(kRunTimeoutMs);
  Spawned h = TRY(spawn_helper(path));
  std::string errors;
  bool finished = exchange(h, script, errors, deadline);
  std::optional<int> status = finished ? wait_until(h.pid, deadline) : std::nullopt;
  if (!status) {
    ::kill(h.pid, SIGKILL);
    while (::waitpid(h.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return fail("nsbox-nft did not finish within " + std::to_string(kRunTimeoutMs / 1000) + " s");
  }
  if (*status == -1) return fail_errno("wait for nsbox-nft");
  if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0) return {};
  if (std::string line = first_line(errors); !line.empty()) return fail(line);
  if (WIFSIGNALED(*status)) return fail("nsbox-nft was killed by signal " + std::to_string(WTERMSIG(*status)));
  return fail("nsbox-nft failed with exit status " + std::to_string(WEXITSTATUS(*status)));
}

}  // namespace nsbox::net::nft
