// Netlink operations, each test in network namespaces of its own (a forked child's): the
// host's interfaces are never touched, and the namespaces go with the child.
#include "net/link.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "base/unique_fd.h"

namespace nsbox::net {
namespace {

// Failure text of a check in the child ("" while all pass).
#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) return "line " + std::to_string(__LINE__) + ": failed: " #cond; \
  } while (0)

#define CHECK_EQ(a, b)                                                                             \
  do {                                                                                             \
    auto _a = (a);                                                                                 \
    auto _b = (b);                                                                                 \
    if (!(_a == _b)) {                                                                             \
      std::ostringstream _o;                                                                       \
      _o << "line " << __LINE__ << ": " #a " is " << ::testing::PrintToString(_a) << ", expected " \
         << ::testing::PrintToString(_b);                                                          \
      return _o.str();                                                                             \
    }                                                                                              \
  } while (0)

// The value of a Result that must succeed.
#define OK(expr)                                                                              \
  ({                                                                                          \
    auto _r = (expr);                                                                         \
    if (!_r) return "line " + std::to_string(__LINE__) + ": " #expr ": " + _r.error().what(); \
    std::move(_r).value();                                                                    \
  })

// The error text of a Result that must fail.
#define FAILS(expr)                                                              \
  ({                                                                             \
    auto _r = (expr);                                                            \
    if (_r) return "line " + std::to_string(__LINE__) + ": " #expr " succeeded"; \
    _r.error();                                                                  \
  })

// Runs `body` in a forked child that has unshared a new network namespace; the failure
// text it returns (or of its death), "" when all its checks passed.
std::string run_in_new_netns(const std::function<std::string()>& body) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return std::string("pipe: ") + std::strerror(errno);
  pid_t pid = ::fork();
  if (pid < 0) return std::string("fork: ") + std::strerror(errno);
  if (pid == 0) {
    ::close(p[0]);
    std::string out;
    if (::unshare(CLONE_NEWNET) < 0) {
      out = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
    } else {
      try {
        out = body();
      } catch (const std::exception& e) {
        out = std::string("exception: ") + e.what();
      }
    }
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::write(p[1], out.data() + done, out.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::_exit(0);
  }
  ::close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(p[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    out += " (child ended with status " + std::to_string(status) + ")";
  }
  return out;
}

UniqueFd current_netns() {
  return UniqueFd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
}

// A further network namespace (the "container's"), alive while its fd is; the calling
// thread stays where it was.
UniqueFd another_netns() {
  UniqueFd here = current_netns();
  if (!here || ::unshare(CLONE_NEWNET) < 0) return UniqueFd();
  UniqueFd there = current_netns();
  if (::setns(here.get(), CLONE_NEWNET) < 0) ::_exit(3);  // the checks would run in the wrong place
  return there;
}

// The calling thread in namespace `fd` for a scope, for looking with plain libnl.
class InNetns {
 public:
  explicit InNetns(int fd) : back_(current_netns()) {
    if (::setns(fd, CLONE_NEWNET) < 0) ::_exit(4);
  }
  ~InNetns() {
    if (::setns(back_.get(), CLONE_NEWNET) < 0) ::_exit(5);
  }

 private:
  UniqueFd back_;
};

// An independent view of the current namespace, through libnl directly.
class Look {
 public:
  Look() : sk_(nl_socket_alloc()) {
    if (sk_ == nullptr || nl_connect(sk_, NETLINK_ROUTE) < 0) ::_exit(6);
  }
  ~Look() { nl_socket_free(sk_); }

  struct LinkInfo {
    bool exists = false;
    int index = 0;
    unsigned flags = 0;
    int master = 0;
    std::string kind;
  };
  LinkInfo link(const std::string& name) {
    LinkInfo info;
    rtnl_link* l = nullptr;
    if (rtnl_link_get_kernel(sk_, 0, name.c_str(), &l) < 0) return info;
    info.exists = true;
    info.index = rtnl_link_get_ifindex(l);
    info.flags = rtnl_link_get_flags(l);
    info.master = rtnl_link_get_master(l);
    if (const char* k = rtnl_link_get_type(l)) info.kind = k;
    rtnl_link_put(l);
    return info;
  }

  // "addr/prefix" of every address of `ifindex`, any family.
  std::vector<std::string> addresses(int ifindex) {
    std::vector<std::string> out;
    nl_cache* cache = nullptr;
    if (rtnl_addr_alloc_cache(sk_, &cache) < 0) return out;
    for (nl_object* o = nl_cache_get_first(cache); o != nullptr; o = nl_cache_get_next(o)) {
      auto* a = reinterpret_cast<rtnl_addr*>(o);
      if (rtnl_addr_get_ifindex(a) != ifindex) continue;
      nl_addr* local = rtnl_addr_get_local(a);
      char buf[INET6_ADDRSTRLEN] = "";
      ::inet_ntop(nl_addr_get_family(local), nl_addr_get_binary_addr(local), buf, sizeof buf);
      out.push_back(std::string(buf) + "/" + std::to_string(rtnl_addr_get_prefixlen(a)));
    }
    nl_cache_free(cache);
    return out;
  }

  // Adds `text` ("2001:db8::5/64") to `ifindex` with `scope`; libnl's return code.
  int add_address(int ifindex, const std::string& text, int scope) {
    nl_addr* local = nullptr;
    int family = text.find(':') != std::string::npos ? AF_INET6 : AF_INET;
    int rc = nl_addr_parse(text.c_str(), family, &local);
    if (rc < 0) return rc;
    rtnl_addr* a = rtnl_addr_alloc();
    rtnl_addr_set_ifindex(a, ifindex);
    rtnl_addr_set_local(a, local);
    rtnl_addr_set_scope(a, scope);
    rc = rtnl_addr_add(sk_, a, NLM_F_EXCL);
    rtnl_addr_put(a);
    nl_addr_put(local);
    return rc;
  }

  // Whether the main table has 0.0.0.0/0 via `gateway` out of `oif`.
  bool has_default_route(const std::string& gateway, int oif) {
    nl_cache* cache = nullptr;
    if (rtnl_route_alloc_cache(sk_, AF_INET, 0, &cache) < 0) return false;
    bool found = false;
    for (nl_object* o = nl_cache_get_first(cache); o != nullptr; o = nl_cache_get_next(o)) {
      auto* r = reinterpret_cast<rtnl_route*>(o);
      if (rtnl_route_get_table(r) != RT_TABLE_MAIN ||
          nl_addr_get_prefixlen(rtnl_route_get_dst(r)) != 0 || rtnl_route_get_nnexthops(r) != 1) {
        continue;
      }
      rtnl_nexthop* nh = rtnl_route_nexthop_n(r, 0);
      nl_addr* gw = rtnl_route_nh_get_gateway(nh);
      char buf[INET6_ADDRSTRLEN] = "";
      if (gw != nullptr) ::inet_ntop(AF_INET, nl_addr_get_binary_addr(gw), buf, sizeof buf);
      if (buf == gateway && rtnl_route_nh_get_ifindex(nh) == oif) found = true;
    }
    nl_cache_free(cache);
    return found;
  }

 private:
  nl_sock* sk_;
};

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool has_ipv6() {
  return ::access("/proc/sys/net/ipv6", F_OK) == 0;
}

class LinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, netlink changes)";
  }
};

TEST(LinkNames, ValidIfname) {
  EXPECT_TRUE(valid_ifname("eth0"));
  EXPECT_TRUE(valid_ifname("e"));
  EXPECT_TRUE(valid_ifname("eth%d"));
  EXPECT_TRUE(valid_ifname("%d"));
  EXPECT_TRUE(valid_ifname("veth-1.2_x@y"));
  EXPECT_TRUE(valid_ifname("abcdefghijklmno"));    // 15 bytes
  EXPECT_FALSE(valid_ifname("abcdefghijklmnop"));  // 16
  EXPECT_FALSE(valid_ifname(""));
  EXPECT_FALSE(valid_ifname("."));
  EXPECT_FALSE(valid_ifname(".."));
  EXPECT_TRUE(valid_ifname("..."));
  EXPECT_FALSE(valid_ifname("a/b"));
  EXPECT_FALSE(valid_ifname("eth0:1"));
  EXPECT_FALSE(valid_ifname("eth 0"));
  EXPECT_FALSE(valid_ifname("eth\t0"));
  EXPECT_FALSE(valid_ifname("eth0\n"));
  EXPECT_FALSE(valid_ifname(std::string_view("a\0b", 3)));
  EXPECT_FALSE(valid_ifname("eth%s"));
  EXPECT_FALSE(valid_ifname("eth%"));
  EXPECT_FALSE(valid_ifname("e%d%d"));
}

TEST_F(LinkTest, EnsureBridgeIsIdempotent) {
  std::string failure = run_in_new_netns([]() -> std::string {
    Netlink nl = OK(Netlink::open());
    OK(nl.ensure_bridge("nsbr0", Ip4{0x0a4d0001}, 24));
    OK(nl.ensure_bridge("nsbr0", Ip4{0x0a4d0001}, 24));
    Look look;
    auto br = look.link("nsbr0");
    CHECK(br.exists);
    CHECK_EQ(br.kind, std::string("bridge"));
    CHECK((br.flags & IFF_UP) != 0);
    auto addrs = OK(nl.ipv4_addresses("nsbr0"));
    CHECK_EQ(addrs.size(), size_t{1});
    CHECK_EQ(addrs[0].first.str(), std::string("10.77.0.1"));
    CHECK_EQ(addrs[0].second, 24);
    // An existing bridge gets a missing address.
    OK(nl.ensure_bridge("nsbr0", Ip4{0x0a4e0001}, 16));
    CHECK(contains(look.addresses(br.index), "10.78.0.1/16"));
    CHECK(contains(look.addresses(br.index), "10.77.0.1/24"));
    // A name taken by something else.
    UniqueFd self = current_netns();
    OK(nl.add_veth("notbr0", "notbr1", self.get(), ""));
    Error e = FAILS(nl.ensure_bridge("notbr0", Ip4{0x0a4f0001}, 24));
    CHECK_EQ(e.what(), std::string("interface notbr0 exists and is not a bridge"));
    return "";
  });
  EXPECT_EQ(failure, "");
}

TEST_F(LinkTest, AddVethCreatesThePeerInTheOtherNamespace) {
  std::string failure = run_in_new_netns([]() -> std::string {
    UniqueFd container = another_netns();
    CHECK(container);
    Netlink nl = OK(Netlink::open());
    OK(nl.ensure_bridge("nsbr0", Ip4{0x0a4d0001}, 24));
    OK(nl.add_veth("vh0", "eth0", container.get(), "nsbr0"));
    Look here;
    auto vh = here.link("vh0");
    CHECK(vh.exists);
    CHECK((vh.flags & IFF_UP) != 0);
    CHECK_EQ(vh.master, here.link("nsbr0").index);
    CHECK(!here.link("eth0").exists);
    CHECK(!OK(nl.link_exists("eth0")));
    Netlink in_container = OK(Netlink::open_in(container.get()));
    CHECK(OK(in_container.link_exists("eth0")));
    CHECK(!OK(in_container.link_exists("vh0")));
    {
      InNetns in(container.get());
      Look there;
      CHECK_EQ(there.link("eth0").kind, std::string("veth"));
    }
    // Either name taken.
    Error e = FAILS(nl.add_veth("vh0", "eth9", container.get(), "nsbr0"));
    CHECK_EQ(e.what(), std::string("interface vh0 already exists"));
    e = FAILS(nl.add_veth("vh1", "eth0", container.get(), "nsbr0"));
    CHECK_EQ(e.what(),
             std::string("interface eth0 already exists in the container's network namespace"));
    CHECK(!here.link("vh1").exists);
    e = FAILS(nl.add_veth("vh2", "eth2", container.get(), "nosuchbr"));
    CHECK_EQ(e.what(),
             std::string("create veth pair vh2/eth2: no interface nosuchbr: No such device"));
    return "";
  });
  EXPECT_EQ(failure, "");
}

TEST_F(LinkTest, AddressAndDefaultRouteInTheContainer) {
  std::string failure = run_in_new_netns([]() -> std::string {
    UniqueFd container = another_netns();
    CHECK(container);
    Netlink nl = OK(Netlink::open());
    OK(nl.ensure_bridge("nsbr0", Ip4{0x0a4d0001}, 24));
    OK(nl.add_veth("vh0", "eth0", container.get(), "nsbr0"));
    Netlink c = OK(Netlink::open_in(container.get()));
    OK(c.set_up("eth0"));
    OK(c.set_up("eth0"));
    OK(c.add_address("eth0", Ip4{0x0a4d0002}, 24));
    OK(c.add_default_route(Ip4{0x0a4d0001}));
    auto addrs = OK(c.ipv4_addresses("eth0"));
    CHECK_EQ(addrs.size(), size_t{1});
    CHECK_EQ(addrs[0].first.str() + "/" + std::to_string(addrs[0].second),
             std::string("10.77.0.2/24"));
    {
      InNetns in(container.get());
      Look there;
      auto eth0 = there.link("eth0");
      CHECK((eth0.flags & IFF_UP) != 0);
      CHECK(there.has_default_route("10.77.0.1", eth0.index));
      CHECK(contains(there.addresses(eth0.index), "10.77.0.2/24"));
    }
    Look here;
    CHECK(!here.has_default_route("10.77.0.1", here.link("nsbr0").index));
    // The kernel's errno comes through, not libnl's folding of it.
    Error e = FAILS(c.add_address("eth0", Ip4{0x0a4d0002}, 24));
    CHECK_EQ(e.code(), EEXIST);
    // The kernel's reason, when it gives one, comes before the errno's text.
    CHECK(e.what().starts_with("add address 10.77.0.2/24 to eth0: "));
    CHECK(e.what().ends_with(": File exists"));
    e = FAILS(c.add_default_route(Ip4{0x0a4d0001}));
    CHECK_EQ(e.code(), EEXIST);
    e = FAILS(c.add_default_route(Ip4{0xc0000201}));  // 192.0.2.1, on no link
    CHECK_EQ(e.code(), ENETUNREACH);
    CHECK(e.what().starts_with("add default route via 192.0.2.1: "));
    std::fprintf(stderr, "(an error as shown: %s)\n", e.what().c_str());
    e = FAILS(c.add_address("nosuch0", Ip4{0x0a4d0003}, 24));
    CHECK_EQ(
        e.what(),
        std::string("add address 10.77.0.3/24 to nosuch0: no interface nosuch0: No such device"));
    e = FAILS(c.set_up("nosuch0"));
    CHECK_EQ(e.code(), ENODEV);
    return "";
  });
  EXPECT_EQ(failure, "");
}

TEST_F(LinkTest, DeleteLinkIsIdempotent) {
  std::string failure = run_in_new_netns([]() -> std::string {
    UniqueFd self = current_netns();
    Netlink nl = OK(Netlink::open());
    OK(nl.add_veth("vd0", "vd1", self.get(), ""));
    CHECK(OK(nl.link_exists("vd0")));
    CHECK(OK(nl.link_exists("vd1")));
    OK(nl.delete_link("vd0"));
    CHECK(!OK(nl.link_exists("vd0")));
    CHECK(!OK(nl.link_exists("vd1")));  // a veth goes with its peer
    OK(nl.delete_link("vd0"));
    OK(nl.delete_link("never0"));
    return "";
  });
  EXPECT_EQ(failure, "");
}

TEST_F(LinkTest, MoveToNetnsKeepsPermanentGlobalAddresses) {
  const bool v6 = has_ipv6();
  std::string failure = run_in_new_netns([v6]() -> std::string {
    UniqueFd self = current_netns();
    UniqueFd container = another_netns();
    CHECK(container);
    Netlink nl = OK(Netlink::open());
    OK(nl.add_veth("mv0", "mvp0", self.get(), ""));
    OK(nl.add_address("mv0", Ip4{0x0a580005}, 24));  // 10.88.0.5/24
    Look here;
    int index = here.link("mv0").index;
    CHECK_EQ(here.add_address(index, "169.254.8.8/16", RT_SCOPE_LINK), 0);
    if (v6) CHECK_EQ(here.add_address(index, "2001:db8:88::5/64", RT_SCOPE_UNIVERSE), 0);
    auto before = here.addresses(index);
    CHECK(contains(before, "10.88.0.5/24"));
    CHECK(contains(before, "169.254.8.8/16"));
    if (v6) CHECK(contains(before, "2001:db8:88::5/64"));

    CHECK_EQ(OK(nl.move_to_netns("mv0", "eth1", container.get())), std::string("eth1"));
    CHECK(!here.link("mv0").exists);
    CHECK(here.link("mvp0").exists);
    InNetns in(container.get());
    Look there;
    auto eth1 = there.link("eth1");
    CHECK(eth1.exists);
    CHECK((eth1.flags & IFF_UP) != 0);
    auto after = there.addresses(eth1.index);
    CHECK(contains(after, "10.88.0.5/24"));
    CHECK(!contains(after, "169.254.8.8/16"));
    if (v6) CHECK(contains(after, "2001:db8:88::5/64"));
    return "";
  });
  EXPECT_EQ(failure, "");
}

TEST_F(LinkTest, MoveToNetnsRefusesATakenName) {
  std::string failure = run_in_new_netns([]() -> std::string {
    UniqueFd self = current_netns();
    UniqueFd container = another_netns();
    CHECK(container);
    Netlink nl = OK(Netlink::open());
    Netlink c = OK(Netlink::open_in(container.get()));
    OK(c.add_veth("eth0", "peer0", container.get(), ""));
    OK(c.add_veth("mv2", "peer2", container.get(), ""));
    OK(nl.add_veth("mv1", "mvp1", self.get(), ""));
    OK(nl.add_veth("mv2", "mvp2", self.get(), ""));
    OK(nl.add_address("mv1", Ip4{0x0a580006}, 24));

    Error e = FAILS(nl.move_to_netns("mv1", "eth0", container.get()));
    CHECK_EQ(e.what(), std::string("move network device mv1: interface eth0 already exists in the "
                                   "container's network namespace"));
    e = FAILS(nl.move_to_netns("mv2", "", container.get()));
    CHECK_EQ(e.what(), std::string("move network device mv2: interface mv2 already exists in the "
                                   "container's network namespace"));
    // Left as it was.
    Look here;
    auto mv1 = here.link("mv1");
    CHECK(mv1.exists);
    CHECK((mv1.flags & IFF_UP) != 0);
    CHECK(contains(here.addresses(mv1.index), "10.88.0.6/24"));
    CHECK(here.link("mv2").exists);

    e = FAILS(nl.move_to_netns("nosuch0", "eth5", container.get()));
    CHECK_EQ(e.what(), std::string("link not found for interface nosuch0 on runtime namespace"));
    return "";
  });
  EXPECT_EQ(failure, "");
}

TEST_F(LinkTest, MoveToNetnsExpandsATemplate) {
  std::string failure = run_in_new_netns([]() -> std::string {
    UniqueFd self = current_netns();
    UniqueFd container = another_netns();
    CHECK(container);
    Netlink nl = OK(Netlink::open());
    Netlink c = OK(Netlink::open_in(container.get()));
    // Made first in each namespace: mv3 here and eth0 there share an index (each namespace
    // numbers its own), so the kernel gives mv3 another on the move.
    OK(nl.add_veth("mv3", "mvp3", self.get(), ""));
    OK(c.add_veth("eth0", "peer0", container.get(), ""));
    OK(nl.add_veth("mv4", "mvp4", self.get(), ""));
    OK(nl.add_address("mv3", Ip4{0x0a580007}, 24));
    Look here;
    int mv3_index = here.link("mv3").index;

    CHECK_EQ(OK(nl.move_to_netns("mv3", "eth%d", container.get())), std::string("eth1"));
    CHECK_EQ(OK(nl.move_to_netns("mv4", "eth%d", container.get())), std::string("eth2"));
    CHECK(OK(c.link_exists("eth1")));
    CHECK(OK(c.link_exists("eth2")));
    CHECK(!OK(c.link_exists("eth%d")));
    InNetns in(container.get());
    Look there;
    auto eth1 = there.link("eth1");
    CHECK((eth1.flags & IFF_UP) != 0);
    CHECK(contains(there.addresses(eth1.index), "10.88.0.7/24"));
    CHECK((there.link("eth2").flags & IFF_UP) != 0);
    // So the device was not found by its old index.
    CHECK(eth1.index != mv3_index);
    return "";
  });
  EXPECT_EQ(failure, "");
}

}  // namespace
}  // namespace nsbox::net
