#include "net/nft.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "base/unique_fd.h"

namespace nsbox::net::nft {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

Ip4 ip(const char* text) { return parse_ip4(text).value(); }

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---------------------------------------------------------------------------------------
// The script text.

TEST(NftScript, EnsureTableDeclaresEverythingAndRefillsTheBaseChains) {
  std::string s = ensure_table();
  EXPECT_TRUE(s.starts_with("add table inet nsbox\n"));
  for (const char* line : {
           "add map inet nsbox ports { type inet_proto . inet_service : ipv4_addr . inet_service; }\n",
           "add set inet nsbox bridges { type ifname; }\n",
           "add map inet nsbox nat_out { type ifname : verdict; }\n",
           "add map inet nsbox net_forward { type ifname : verdict; }\n",
           "add chain inet nsbox prerouting { type nat hook prerouting priority dstnat; policy accept; }\n",
           "add chain inet nsbox output { type nat hook output priority -100; policy accept; }\n",
           "add chain inet nsbox postrouting { type nat hook postrouting priority srcnat; policy accept; }\n",
           "add chain inet nsbox forward { type filter hook forward priority filter; policy accept; }\n",
           "flush chain inet nsbox prerouting\n",
           "add rule inet nsbox prerouting fib daddr type local dnat ip to meta l4proto . th dport map @ports\n",
           "add rule inet nsbox output fib daddr type local dnat ip to meta l4proto . th dport map @ports\n",
           "add rule inet nsbox postrouting iifname vmap @nat_out\n",
           "add rule inet nsbox forward iifname vmap @net_forward\n",
       }) {
    EXPECT_TRUE(contains(s, line)) << line;
  }
  // Every base chain is flushed before its rules are added again: rules are not idempotent.
  for (const char* chain : {"guard", "prerouting", "output", "postrouting", "forward"}) {
    std::string flush = std::string("flush chain inet nsbox ") + chain + "\n";
    std::string rule = std::string("add rule inet nsbox ") + chain + " ";
    ASSERT_TRUE(contains(s, flush)) << chain;
    EXPECT_LT(s.find(flush), s.find(rule)) << chain;
  }
  // Nothing outside the table.
  for (size_t at = 0; at < s.size();) {
    size_t nl = s.find('\n', at);
    ASSERT_NE(nl, std::string::npos) << "the script ends with a newline";
    EXPECT_TRUE(contains(s.substr(at, nl - at), " inet nsbox")) << s.substr(at, nl - at);
    at = nl + 1;
  }
}

TEST(NftScript, AddNetworkNat) {
  std::string s = add_network("web", "nsbox0", true, false);
  EXPECT_TRUE(s.starts_with(ensure_table()));
  std::string rest = s.substr(ensure_table().size());
  EXPECT_EQ(rest,
            "add chain inet nsbox net-web-out\n"
            "flush chain inet nsbox net-web-out\n"
            "add rule inet nsbox net-web-out oifname != \"nsbox0\" masquerade\n"
            "add chain inet nsbox net-web-fwd\n"
            "flush chain inet nsbox net-web-fwd\n"
            "add rule inet nsbox net-web-fwd oifname != \"nsbox0\" oifname @bridges drop\n"
            "add element inet nsbox bridges { \"nsbox0\" }\n"
            "add element inet nsbox nat_out { \"nsbox0\" : jump net-web-out }\n"
            "add element inet nsbox net_forward { \"nsbox0\" : jump net-web-fwd }\n");
}

TEST(NftScript, AddNetworkWithoutNatTakesTheBridgeOutOfNatOut) {
  std::string s = add_network("a.b_c-1", "br-x", false, false);
  EXPECT_TRUE(contains(s, "add element inet nsbox nat_out { \"br-x\" : jump net-a.b_c-1-out }\n"
                          "delete element inet nsbox nat_out { \"br-x\" }\n"));
  EXPECT_TRUE(contains(s, "add element inet nsbox net_forward { \"br-x\" : jump net-a.b_c-1-fwd }\n"));
}

TEST(NftScript, AddNetworkInternalDropsAllThatLeavesTheBridge) {
  std::string s = add_network("priv", "br1", false, true);
  EXPECT_TRUE(contains(s, "add rule inet nsbox net-priv-fwd oifname != \"br1\" drop\n"));
  EXPECT_FALSE(contains(s, "net-priv-fwd oifname != \"br1\" oifname @bridges"));
}

TEST(NftScript, RemoveNetworkAddsThenDeletes) {
  std::string s = remove_network("web", "nsbox0");
  EXPECT_TRUE(s.starts_with(ensure_table()));
  EXPECT_EQ(s.substr(ensure_table().size()),
            "add chain inet nsbox net-web-out\n"
            "add chain inet nsbox net-web-fwd\n"
            "add element inet nsbox bridges { \"nsbox0\" }\n"
            "delete element inet nsbox bridges { \"nsbox0\" }\n"
            "add element inet nsbox nat_out { \"nsbox0\" : jump net-web-out }\n"
            "delete element inet nsbox nat_out { \"nsbox0\" }\n"
            "add element inet nsbox net_forward { \"nsbox0\" : jump net-web-fwd }\n"
            "delete element inet nsbox net_forward { \"nsbox0\" }\n"
            "flush chain inet nsbox net-web-out\n"
            "delete chain inet nsbox net-web-out\n"
            "flush chain inet nsbox net-web-fwd\n"
            "delete chain inet nsbox net-web-fwd\n");
}

TEST(NftScript, PublishCreatesElements) {
  std::string s = publish({{"tcp", 8080, ip("10.50.0.2"), 80}, {"udp", 53, ip("10.50.0.3"), 5353}});
  EXPECT_EQ(s.substr(ensure_table().size()),
            "create element inet nsbox ports { tcp . 8080 : 10.50.0.2 . 80 }\n"
            "create element inet nsbox ports { udp . 53 : 10.50.0.3 . 5353 }\n");
  EXPECT_EQ(publish({}), "");
}

TEST(NftScript, UnpublishAddsThenDeletes) {
  std::string s = unpublish({{"tcp", 8080, ip("10.50.0.2"), 80}});
  EXPECT_EQ(s.substr(ensure_table().size()),
            "add element inet nsbox ports { tcp . 8080 : 10.50.0.2 . 80 }\n"
            "delete element inet nsbox ports { tcp . 8080 }\n");
  EXPECT_EQ(unpublish({}), "");
}

TEST(NftScript, EmptyScriptRunsWithoutTheHelper) {
  ::setenv("NSBOX_NFT_HELPER", "/nonexistent/nsbox-nft", 1);
  auto r = run("");
  ::unsetenv("NSBOX_NFT_HELPER");
  EXPECT_TRUE(r) << r.error().what();
}

TEST(NftScript, InvalidInputIsRefusedWithTheReason) {
  ::setenv("NSBOX_NFT_HELPER", "/nonexistent/nsbox-nft", 1);
  struct Case {
    std::string script;
    std::string error;
  };
  std::vector<Case> cases = {
      {add_network("a\"b", "br0", true, false), "network name \"a\"b\" is not valid"},
      {add_network("", "br0", true, false), "network name \"\" is not valid"},
      {add_network(std::string(33, 'a'), "br0", true, false),
       "network name \"" + std::string(33, 'a') + "\" is not valid"},
      {add_network("-a", "br0", true, false), "network name \"-a\" is not valid"},
      {add_network("a b", "br0", true, false), "network name \"a b\" is not valid"},
      {remove_network("ok", "br0\nflush ruleset"), "bridge name \"br0\\nflush ruleset\" is not valid"},
      {add_network("ok\t", "br0", true, false), "network name \"ok\\x09\" is not valid"},
      {add_network("ok", "a-very-long-bridge", true, false), "bridge name \"a-very-long-bridge\" is not valid"},
      {publish({{"icmp", 1, ip("10.0.0.2"), 1}}), "port protocol \"icmp\" is not tcp or udp"},
      {unpublish({{"tcp", 0, ip("10.0.0.2"), 1}}), "port 0 cannot be published"},
      {ensure_table() + publish({{"udp", 1, ip("10.0.0.2"), 0}}), "port 0 cannot be published"},
  };
  for (const auto& c : cases) {
    auto r = run(c.script);
    ASSERT_FALSE(r) << c.script;
    EXPECT_EQ(r.error().what(), c.error);
  }
  // Names at the limits are fine.
  EXPECT_FALSE(contains(add_network(std::string(32, 'z'), std::string(15, 'b'), true, false), "invalid"));
  EXPECT_FALSE(contains(add_network("0", "b", true, false), "invalid"));
  ::unsetenv("NSBOX_NFT_HELPER");
}

TEST(NftScript, MissingHelperIsAnError) {
  ::setenv("NSBOX_NFT_HELPER", "/nonexistent/nsbox-nft", 1);
  auto r = run(ensure_table());
  ::unsetenv("NSBOX_NFT_HELPER");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(),
            "nsbox networks need nsbox-nft (installed with nsbox): /nonexistent/nsbox-nft: No such file or directory");
}

// ---------------------------------------------------------------------------------------
// The rules at work, in network namespaces of the test's own:
//
//   container ns: eth0 10.50.0.2/24 ─ vc0 ─ br0 10.50.0.1/24 ┐
//   container2 ns: eth0 10.51.0.2/24 ─ vc1 ─ br1 10.51.0.1/24 ├ test ns (nsbox's table)
//   uplink ns: eth0 192.0.2.1/24 ─────────── up0 192.0.2.2/24 ┘ default via 192.0.2.1
//
// The uplink has no route to the containers' subnets: only masqueraded traffic gets answers.

std::string helper_path() {
  if (const char* e = std::getenv("NSBOX_NFT_HELPER"); e != nullptr && *e != '\0') return e;
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  std::string exe(buf, static_cast<size_t>(n));
  return exe.substr(0, exe.rfind('/')) + "/../nsbox-nft";  // build/tests/unit_tests -> build/nsbox-nft
}

struct Output {
  int status = -1;  // exit status; -1 when it had to be killed
  std::string text;
};

// A shell command in its own process group, in network namespace `netns` (-1: the calling
// thread's), its stdout and stderr captured.
class Command {
 public:
  Command(const std::string& cmd, int netns) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return;
    UniqueFd r(p[0]), w(p[1]);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (netns >= 0 && ::setns(netns, CLONE_NEWNET) < 0) ::_exit(126);
      int null = ::open("/dev/null", O_RDONLY);
      ::dup2(null, 0);
      ::dup2(w.get(), 1);
      ::dup2(w.get(), 2);
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    out_ = std::move(r);
  }
  Command(const Command&) = delete;
  Command& operator=(const Command&) = delete;
  ~Command() { finish(0); }

  // Waits at most timeout_ms for its end (then kills the group).
  Output finish(int timeout_ms) {
    if (pid_ <= 0) return result_;
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    auto left = [&] {
      return static_cast<int>(std::max<int64_t>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count()));
    };
    while (out_ && left() > 0) {
      pollfd pfd{out_.get(), POLLIN, 0};
      if (::poll(&pfd, 1, left()) <= 0) continue;
      char buf[4096];
      ssize_t n = ::read(out_.get(), buf, sizeof buf);
      if (n <= 0) out_.reset();
      if (n > 0) result_.text.append(buf, static_cast<size_t>(n));
    }
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (left() == 0) {
        ::kill(-pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        status = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ::kill(-pid_, SIGKILL);  // what it left running in the background
    result_.status = status == -1 ? -1 : (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    pid_ = -1;
    out_.reset();
    return result_;
  }

 private:
  pid_t pid_ = -1;
  UniqueFd out_;
  Output result_;
};

Output sh(const std::string& cmd, int netns = -1, int timeout_ms = 5000) {
  return Command(cmd, netns).finish(timeout_ms);
}

// A network namespace held by a process that lives as long as this object.
class Netns {
 public:
  Netns() {
    int ready[2], hold[2];
    if (::pipe2(ready, O_CLOEXEC) < 0) return;
    if (::pipe(hold) < 0) return;
    UniqueFd ready_r(ready[0]), ready_w(ready[1]), hold_r(hold[0]);
    hold_.reset(hold[1]);
    ::fcntl(hold_.get(), F_SETFD, FD_CLOEXEC);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      hold_.reset();
      char c = ::unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
      (void)!::write(ready_w.get(), &c, 1);
      (void)!::read(hold_r.get(), &c, 1);  // until the owner closes its end
      ::_exit(0);
    }
    ready_w.reset();
    char c = 'n';
    if (pid_ > 0 && ::read(ready_r.get(), &c, 1) == 1 && c == 'y') {
      fd_.reset(::open(("/proc/" + std::to_string(pid_) + "/ns/net").c_str(), O_RDONLY | O_CLOEXEC));
    }
  }
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;
  ~Netns() {
    hold_.reset();
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool ok() const { return static_cast<bool>(fd_); }
  int fd() const { return fd_.get(); }
  std::string path() const { return "/proc/" + std::to_string(pid_) + "/ns/net"; }

 private:
  pid_t pid_ = -1;
  UniqueFd hold_, fd_;
};

// Runs `body` on a thread of its own that has unshared a new network namespace: the
// namespace, with all made in it, ends with the thread. gtest's failures count from there too.
void on_thread_in_new_netns(const std::function<void()>& body) {
  std::thread t([&] {
    if (::unshare(CLONE_NEWNET) < 0) {
      ADD_FAILURE() << "unshare(CLONE_NEWNET): " << std::strerror(errno);
      return;
    }
    body();
  });
  t.join();
}

// Why these tests cannot run here, or "".
std::string missing_prerequisite() {
  if (::geteuid() != 0) return "needs root (network namespaces, bridges, nftables)";
  if (::access("/bin/busybox", X_OK) != 0) return "needs /bin/busybox (nc, ping, netstat)";
  std::string helper = helper_path();
  if (helper.empty() || ::access(helper.c_str(), X_OK) != 0) return "nsbox-nft is not built: " + helper;
  Output v = sh("ip -V");
  if (v.status != 0 || !contains(v.text, "iproute2")) return "needs iproute2's ip";
  return {};
}

class Lab {
 public:
  Netns container, container2, uplink;

  // Builds the topology in the calling thread's namespace: "" or why it cannot.
  std::string build() {
    if (!container.ok() || !container2.ok() || !uplink.ok()) return "cannot make network namespaces";
    if (sh("ip link add br0 type bridge").status != 0) return "cannot make a bridge (kernel without bridging?)";
    if (sh("ip link add vt0 type veth peer name vt1 && ip link del vt0").status != 0) {
      return "cannot make a veth pair (kernel without veth?)";
    }
    std::string setup =
        "set -e; ip link set lo up; echo 1 > /proc/sys/net/ipv4/ip_forward\n"
        // Routed hairpin, as on a host that has not loaded br_netfilter.
        "if [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then "
        "echo 0 > /proc/sys/net/bridge/bridge-nf-call-iptables; fi\n"
        "ip addr add 10.50.0.1/24 dev br0; ip link set br0 up\n"
        "ip link add br1 type bridge; ip addr add 10.51.0.1/24 dev br1; ip link set br1 up\n"
        "ip link add vc0 type veth peer name eth0 netns " + container.path() + "\n"
        "ip link set vc0 master br0 up\n"
        "ip link add vc1 type veth peer name eth0 netns " + container2.path() + "\n"
        "ip link set vc1 master br1 up\n"
        "ip link add up0 type veth peer name eth0 netns " + uplink.path() + "\n"
        "ip addr add 192.0.2.2/24 dev up0; ip link set up0 up; ip route add default via 192.0.2.1\n";
    if (Output o = sh(setup); o.status != 0) return fail("set up the test namespace", o);
    if (Output o = sh(end("10.50.0.2/24") + "; ip route add default via 10.50.0.1", container.fd()); o.status != 0) {
      return fail("set up the container", o);
    }
    if (Output o = sh(end("10.51.0.2/24") + "; ip route add default via 10.51.0.1", container2.fd()); o.status != 0) {
      return fail("set up the second container", o);
    }
    if (Output o = sh(end("192.0.2.1/24"), uplink.fd()); o.status != 0) return fail("set up the uplink", o);
    return {};
  }

 private:
  static std::string end(const std::string& cidr) {
    return "set -e; ip link set lo up; ip addr add " + cidr + " dev eth0; ip link set eth0 up";
  }
  static std::string fail(const std::string& what, const Output& o) {
    ADD_FAILURE() << what << ": " << o.text;
    return what + " failed";
  }
};

// Runs `body` with the lab built in a new namespace; "" or why it could not (then skip).
std::string with_lab(const std::function<void(Lab&)>& body) {
  if (std::string why = missing_prerequisite(); !why.empty()) return why;
  ::setenv("NSBOX_NFT_HELPER", helper_path().c_str(), 1);
  std::string skip;
  on_thread_in_new_netns([&] {
    Lab lab;
    skip = lab.build();
    if (!skip.empty()) return;
    if (auto r = run(ensure_table()); !r) {
      if (contains(r.error().what(), "not supported")) {
        skip = "the kernel lacks nftables support: " + r.error().what();
      } else {
        ADD_FAILURE() << "ensure_table: " << r.error().what();
      }
      return;
    }
    body(lab);
  });
  return skip;
}

#define RUN_OK(script)                                          \
  do {                                                          \
    auto _r = run(script);                                      \
    ASSERT_TRUE(_r) << #script << ": " << _r.error().what();    \
  } while (0)

// The table as nsbox-nft --list shows it, handles left out (they change when rules are
// made again).
json listed() {
  Output o = sh(helper_path() + " --list");
  if (o.status != 0) {
    ADD_FAILURE() << "nsbox-nft --list: " << o.text;
    return json::object();
  }
  json j = json::parse(o.text, nullptr, false);
  if (j.is_discarded()) ADD_FAILURE() << "nsbox-nft --list is no JSON: " << o.text;
  std::function<void(json&)> strip = [&](json& v) {
    if (v.is_object()) {
      v.erase("handle");
      for (auto& [k, x] : v.items()) strip(x);
    } else if (v.is_array()) {
      for (auto& x : v) strip(x);
    }
  };
  strip(j);
  return j;
}

// The objects of `kind` ("rule", "chain", "set", "map") in the listing.
std::vector<json> objects(const json& list, const std::string& kind) {
  std::vector<json> v;
  if (!list.contains("nftables")) return v;
  for (const auto& o : list["nftables"]) {
    if (o.contains(kind)) v.push_back(o[kind]);
  }
  return v;
}

size_t rules_in(const json& list, const std::string& chain) {
  size_t n = 0;
  for (const auto& r : objects(list, "rule")) n += r.value("chain", "") == chain;
  return n;
}

bool has_chain(const json& list, const std::string& chain) {
  for (const auto& c : objects(list, "chain")) {
    if (c.value("name", "") == chain) return true;
  }
  return false;
}

// The elements of set or map NAME, as JSON text ("" when empty).
std::string elements(const json& list, const std::string& name) {
  for (const char* kind : {"set", "map"}) {
    for (const auto& s : objects(list, kind)) {
      if (s.value("name", "") == name) return s.contains("elem") ? s["elem"].dump() : "";
    }
  }
  ADD_FAILURE() << "no set or map " << name;
  return "";
}

// A busybox nc listener on PORT in `netns` that answers each connection with the namespace's
// connection table (netstat -tn): the peer's address as the server sees it.
class Listener {
 public:
  Listener(int netns, int port)
      : netns_(netns), port_(port),
        cmd_("exec busybox nc -l -p " + std::to_string(port) + " -e busybox netstat -tn", netns) {}
  // Whether it listens, waiting at most 3 s.
  bool ready() {
    auto deadline = Clock::now() + std::chrono::seconds(3);
    while (Clock::now() < deadline) {
      if (contains(sh("busybox netstat -ltn", netns_).text, ":" + std::to_string(port_) + " ")) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

 private:
  int netns_, port_;
  Command cmd_;
};

// Connects to ADDR PORT from `netns`: the listener's netstat output, or "" if no connection.
std::string connect_from(int netns, const std::string& addr, int port) {
  Output o = sh("timeout 2 busybox nc " + addr + " " + std::to_string(port), netns, 4000);
  return contains(o.text, "Foreign Address") ? o.text : "";
}

bool ping_from(int netns, const std::string& addr) {
  return sh("busybox ping -c1 -W1 " + addr, netns, 4000).status == 0;
}

TEST(NftNetns, EnsureTableTwiceIsIdempotent) {
  std::string skip = with_lab([](Lab&) {
    json first = listed();  // with_lab ran ensure_table once
    RUN_OK(ensure_table());
    json second = listed();
    EXPECT_EQ(first, second);
    EXPECT_EQ(rules_in(second, "prerouting"), 1u);
    EXPECT_EQ(rules_in(second, "output"), 1u);
    EXPECT_EQ(rules_in(second, "postrouting"), 3u);
    EXPECT_EQ(rules_in(second, "forward"), 2u);
    EXPECT_EQ(rules_in(second, "guard"), 1u);
    // Also after a network and a port, which it leaves alone.
    RUN_OK(add_network("n1", "br0", true, false));
    RUN_OK(publish({{"tcp", 8080, ip("10.50.0.2"), 80}}));
    json before = listed();
    RUN_OK(ensure_table());
    EXPECT_EQ(before, listed());
  });
  if (!skip.empty()) GTEST_SKIP() << skip;
}

TEST(NftNetns, NatNetworkIsMasqueraded) {
  std::string skip = with_lab([](Lab& lab) {
    // Without nsbox's rules the uplink cannot answer: it has no route to 10.50.0.0/24.
    EXPECT_FALSE(ping_from(lab.container.fd(), "192.0.2.1"));
    RUN_OK(add_network("n1", "br0", true, false));
    EXPECT_TRUE(ping_from(lab.container.fd(), "192.0.2.1"));
    Listener server(lab.uplink.fd(), 9000);
    ASSERT_TRUE(server.ready());
    std::string seen = connect_from(lab.container.fd(), "192.0.2.1", 9000);
    EXPECT_TRUE(contains(seen, "192.0.2.1:9000") && contains(seen, "192.0.2.2:")) << seen;
    EXPECT_FALSE(contains(seen, "10.50.0.2")) << seen;
    // The same again is no error and changes nothing.
    json before = listed();
    RUN_OK(add_network("n1", "br0", true, false));
    EXPECT_EQ(before, listed());
    // Made again without NAT, it is routed only: no answer again.
    RUN_OK(add_network("n1", "br0", false, false));
    EXPECT_EQ(elements(listed(), "nat_out"), "");
    EXPECT_FALSE(ping_from(lab.container.fd(), "192.0.2.1"));
  });
  if (!skip.empty()) GTEST_SKIP() << skip;
}

TEST(NftNetns, PublishedPortIsReachable) {
  std::string skip = with_lab([](Lab& lab) {
    RUN_OK(add_network("n1", "br0", true, false));
    RUN_OK(publish({{"tcp", 8080, ip("10.50.0.2"), 80}}));
    {
      // From outside: the container sees the client's own address.
      Listener server(lab.container.fd(), 80);
      ASSERT_TRUE(server.ready());
      std::string seen = connect_from(lab.uplink.fd(), "192.0.2.2", 8080);
      EXPECT_TRUE(contains(seen, "10.50.0.2:80") && contains(seen, "192.0.2.1:")) << seen;
    }
    {
      // From the host itself, to its own address: the output hook's DNAT.
      Listener server(lab.container.fd(), 80);
      ASSERT_TRUE(server.ready());
      std::string seen = connect_from(-1, "192.0.2.2", 8080);
      EXPECT_TRUE(contains(seen, "10.50.0.2:80") && contains(seen, "192.0.2.2:")) << seen;
    }
    {
      // From the host to 127.0.0.1 (with route_localnet on the bridge, the caller's part):
      // masqueraded to the bridge's address, which the container can answer.
      ASSERT_EQ(sh("echo 1 > /proc/sys/net/ipv4/conf/br0/route_localnet").status, 0);
      Listener server(lab.container.fd(), 80);
      ASSERT_TRUE(server.ready());
      std::string seen = connect_from(-1, "127.0.0.1", 8080);
      EXPECT_TRUE(contains(seen, "10.50.0.2:80") && contains(seen, "10.50.0.1:")) << seen;
    }
    {
      // From the container itself through the host's address (hairpin).
      Listener server(lab.container.fd(), 80);
      ASSERT_TRUE(server.ready());
      std::string seen = connect_from(lab.container.fd(), "192.0.2.2", 8080);
      EXPECT_TRUE(contains(seen, "10.50.0.2:80") && contains(seen, "10.50.0.1:")) << seen;
    }
    // UDP too, published in the same map.
    RUN_OK(publish({{"udp", 5353, ip("10.50.0.2"), 53}}));
    EXPECT_TRUE(contains(elements(listed(), "ports"), "\"udp\",5353")) << elements(listed(), "ports");
  });
  if (!skip.empty()) GTEST_SKIP() << skip;
}

TEST(NftNetns, PublishingATakenPortFailsWithOneLine) {
  std::string skip = with_lab([](Lab& lab) {
    RUN_OK(add_network("n1", "br0", true, false));
    RUN_OK(publish({{"tcp", 8080, ip("10.50.0.2"), 80}}));
    std::string before = elements(listed(), "ports");
    for (const auto& again : {Port{"tcp", 8080, ip("10.50.0.2"), 80}, Port{"tcp", 8080, ip("10.50.0.3"), 81}}) {
      // With another, free port in the same call: all or nothing.
      auto r = run(publish({{"tcp", 9090, ip("10.50.0.2"), 90}, again}));
      ASSERT_FALSE(r);
      EXPECT_EQ(r.error().what(), "could not process rule: File exists (at \"tcp . 8080\")");
    }
    EXPECT_EQ(elements(listed(), "ports"), before);
    // Another protocol is another port.
    RUN_OK(publish({{"udp", 8080, ip("10.50.0.2"), 80}}));
    // The first still works.
    Listener server(lab.container.fd(), 80);
    ASSERT_TRUE(server.ready());
    EXPECT_NE(connect_from(lab.uplink.fd(), "192.0.2.2", 8080), "");
  });
  if (!skip.empty()) GTEST_SKIP() << skip;
}

TEST(NftNetns, UnpublishTwiceIsFine) {
  std::string skip = with_lab([](Lab& lab) {
    RUN_OK(add_network("n1", "br0", true, false));
    std::vector<Port> ports = {{"tcp", 8080, ip("10.50.0.2"), 80}, {"tcp", 8443, ip("10.50.0.2"), 443}};
    RUN_OK(publish(ports));
    RUN_OK(unpublish(ports));
    RUN_OK(unpublish(ports));
    EXPECT_EQ(elements(listed(), "ports"), "");
    Listener server(lab.container.fd(), 80);
    ASSERT_TRUE(server.ready());
    EXPECT_EQ(connect_from(lab.uplink.fd(), "192.0.2.2", 8080), "");
    // The port is free again.
    RUN_OK(publish({ports[0]}));
    // Someone else's mapping of a host port is left alone.
    auto r = run(unpublish({{"tcp", 8080, ip("10.50.0.9"), 80}}));
    ASSERT_FALSE(r);
    EXPECT_TRUE(contains(elements(listed(), "ports"), "8080"));
  });
  if (!skip.empty()) GTEST_SKIP() << skip;
}

TEST(NftNetns, RemoveNetworkTwiceIsFine) {
  std::string skip = with_lab([](Lab& lab) {
    RUN_OK(add_network("n1", "br0", true, false));
    RUN_OK(add_network("n2", "br1", true, false));
    RUN_OK(remove_network("n1", "br0"));
    RUN_OK(remove_network("n1", "br0"));
    json l = listed();
    EXPECT_FALSE(has_chain(l, "net-n1-out"));
    EXPECT_FALSE(has_chain(l, "net-n1-fwd"));
    EXPECT_TRUE(has_chain(l, "net-n2-out"));
    EXPECT_EQ(elements(l, "bridges"), "[\"br1\"]");
    EXPECT_FALSE(contains(elements(l, "nat_out"), "br0"));
    EXPECT_FALSE(contains(elements(l, "net_forward"), "br0"));
    EXPECT_FALSE(ping_from(lab.container.fd(), "192.0.2.1"));  // no NAT any more
    // A network never made.
    RUN_OK(remove_network("never", "br9"));
    // The bridge of another network is not removed under a wrong name.
    EXPECT_FALSE(run(remove_network("other", "br1")));
    EXPECT_TRUE(has_chain(listed(), "net-n2-out"));
  });
  if (!skip.empty()) GTEST_SKIP() << skip;
}

TEST(NftNetns, NetworksAreIsolated) {
  std::string skip = with_lab([](Lab& lab) {
    // The host routes between its bridges; nsbox's rules forbid it.
    ASSERT_TRUE(ping_from(lab.container.fd(), "10.51.0.2"));
    RUN_OK(add_network("n1", "br0", true, false));
    RUN_OK(add_network("n2", "br1", true, false));
    EXPECT_FALSE(ping_from(lab.container.fd(), "10.51.0.2"));
    EXPECT_FALSE(ping_from(lab.container2.fd(), "10.50.0.2"));
    EXPECT_TRUE(ping_from(lab.container.fd(), "192.0.2.1"));
    EXPECT_TRUE(ping_from(lab.container2.fd(), "192.0.2.1"));
    // An internal network reaches its gateway only.
    RUN_OK(add_network("n2", "br1", false, true));
    EXPECT_FALSE(ping_from(lab.container2.fd(), "192.0.2.1"));
    EXPECT_TRUE(ping_from(lab.container2.fd(), "10.51.0.1"));
    // But a published port of it answers.
    RUN_OK(publish({{"tcp", 8080, ip("10.51.0.2"), 80}}));
    Listener server(lab.container2.fd(), 80);
    ASSERT_TRUE(server.ready());
    std::string seen = connect_from(lab.uplink.fd(), "192.0.2.2", 8080);
    EXPECT_TRUE(contains(seen, "10.51.0.2:80")) << seen;
  });
  if (!skip.empty()) GTEST_SKIP() << skip;
}

TEST(NftNetns, ContainersCannotReachTheHostLoopback) {
  std::string skip = with_lab([](Lab& lab) {
    RUN_OK(add_network("n1", "br0", true, false));
    // route_localnet on the bridge (for published ports on 127.0.0.1) would let in packets
    // to 127.0.0.0/8 that a container routes to its gateway.
    ASSERT_EQ(sh("echo 1 > /proc/sys/net/ipv4/conf/br0/route_localnet").status, 0);
    Output o = sh("set -e; echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet; "
                  "echo 1 > /proc/sys/net/ipv4/conf/eth0/route_localnet; "
                  "ip route del local 127.0.0.0/8 dev lo table local; ip route add 127.0.0.0/8 via 10.50.0.1",
                  lab.container.fd());
    ASSERT_EQ(o.status, 0) << o.text;
    {
      Listener host_service(-1, 7000);
      ASSERT_TRUE(host_service.ready());
      EXPECT_EQ(connect_from(lab.container.fd(), "127.0.0.2", 7000), "");
    }
    // The guard is what stops it.
    RUN_OK("flush chain inet nsbox guard\n");
    Listener host_service(-1, 7000);
    ASSERT_TRUE(host_service.ready());
    EXPECT_NE(connect_from(lab.container.fd(), "127.0.0.2", 7000), "");
  });
  if (!skip.empty()) GTEST_SKIP() << skip;
}

TEST(NftNetns, HelperErrorsAreOneLine) {
  std::string skip = with_lab([](Lab&) {
    auto r = run("add rule inet nsbox nosuchchain drop\n");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(), "could not process rule: No such file or directory (at \"nosuchchain\")");
    r = run("add rule inet nsbox forward bogus\n");
    ASSERT_FALSE(r);
    EXPECT_FALSE(contains(r.error().what(), "\n")) << r.error().what();
    EXPECT_TRUE(r.error().what().starts_with("syntax error")) << r.error().what();
    // A script that fails changes nothing: one transaction.
    json before = listed();
    EXPECT_FALSE(run(ensure_table() + "flush chain inet nsbox forward\nadd rule inet nsbox forward bogus\n"));
    EXPECT_EQ(before, listed());
  });
  if (!skip.empty()) GTEST_SKIP() << skip;
}

}  // namespace
}  // namespace nsbox::net::nft
