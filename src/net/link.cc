#include "net/link.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>
#include <sched.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "base/unique_fd.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

namespace nsbox::net {

namespace detail {

// libnl folds the kernel's errno into codes of its own, which lose most of them
// (ENETUNREACH becomes "Unspecific failure"): an error callback keeps the errno, and the
// kernel's own explanation (extended ack) when it gave one.
struct RtnlSocket {
  nl_sock* sk = nullptr;
  int kernel_errno = 0;
  std::string kernel_msg;

  RtnlSocket() = default;
  RtnlSocket(const RtnlSocket&) = delete;
  RtnlSocket& operator=(const RtnlSocket&) = delete;
  ~RtnlSocket() {
    if (sk != nullptr) nl_socket_free(sk);
  }

  // The socket, for one request: the previous request's error forgotten.
  nl_sock* request() {
    kernel_errno = 0;
    kernel_msg.clear();
    return sk;
  }

  // The error of the last request, whose libnl return code was `rc`, doing `what`.
  Error error(int rc, const std::string& what) const {
    if (kernel_errno == 0) return Error(0, what + ": " + nl_geterror(rc));
    return Error(kernel_errno, kernel_msg.empty() ? what : what + ": " + kernel_msg);
  }
};

}  // namespace detail

namespace {

using detail::RtnlSocket;

template <auto Release>
struct Releaser {
  template <typename T>
  void operator()(T* p) const {
    Release(p);
  }
};
using LinkPtr = std::unique_ptr<rtnl_link, Releaser<rtnl_link_put>>;
using AddrPtr = std::unique_ptr<rtnl_addr, Releaser<rtnl_addr_put>>;
using RoutePtr = std::unique_ptr<rtnl_route, Releaser<rtnl_route_put>>;
using NlAddrPtr = std::unique_ptr<nl_addr, Releaser<nl_addr_put>>;
using CachePtr = std::unique_ptr<nl_cache, Releaser<nl_cache_free>>;

constexpr size_t kMaxIfname = 15;  // IFNAMSIZ - 1

// The text the kernel attached to its error reply (NLMSGERR_ATTR_MSG), if any. The reply
// sits whole in libnl's receive buffer, its header just before `e`.
std::string extack_message(const nlmsgerr* e) {
  const auto* h =
      reinterpret_cast<const nlmsghdr*>(reinterpret_cast<const char*>(e) - NLMSG_HDRLEN);
  if ((h->nlmsg_flags & NLM_F_ACK_TLVS) == 0) return {};
  size_t start = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nlmsgerr));
  if ((h->nlmsg_flags & NLM_F_CAPPED) == 0 && e->msg.nlmsg_len >= NLMSG_HDRLEN) {
    start += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
  }
  if (start >= h->nlmsg_len) return {};
  nlattr* tb[NLMSGERR_ATTR_MAX + 1] = {};
  auto* head =
      reinterpret_cast<nlattr*>(const_cast<char*>(reinterpret_cast<const char*>(h)) + start);
  if (nla_parse(tb, NLMSGERR_ATTR_MAX, head, static_cast<int>(h->nlmsg_len - start), nullptr) < 0)
    return {};
  if (tb[NLMSGERR_ATTR_MSG] == nullptr) return {};
  const auto* text = static_cast<const char*>(nla_data(tb[NLMSGERR_ATTR_MSG]));
  return std::string(text, ::strnlen(text, static_cast<size_t>(nla_len(tb[NLMSGERR_ATTR_MSG]))));
}

int on_kernel_error(sockaddr_nl*, nlmsgerr* e, void* arg) {
  auto* s = static_cast<RtnlSocket*>(arg);
  s->kernel_errno = -e->error;
  s->kernel_msg = extack_message(e);
  return NL_STOP;  // libnl then returns its own code for the errno
}

NlAddrPtr ip4_addr(Ip4 ip, int prefix) {
  uint32_t be = htonl(ip.value);
  NlAddrPtr a(nl_addr_build(AF_INET, &be, sizeof be));
  if (a) nl_addr_set_prefixlen(a.get(), prefix);
  return a;
}

Ip4 to_ip4(nl_addr* a) {
  uint32_t be = 0;
  std::memcpy(&be, nl_addr_get_binary_addr(a), sizeof be);
  return Ip4{ntohl(be)};
}

Error no_memory(const std::string& what) {
  return Error(ENOMEM, what);
}

// Interface `name`, or null when there is none.
Result<LinkPtr> find_link(RtnlSocket& s, const std::string& name) {
  rtnl_link* link = nullptr;
  int rc = rtnl_link_get_kernel(s.request(), 0, name.c_str(), &link);
  // libnl answers this one with its own error handler, so only its code tells absence.
  if (rc == -NLE_NODEV || rc == -NLE_OBJ_NOTFOUND) return LinkPtr();
  if (rc < 0) return fail(s.error(rc, "look up interface " + name));
  return LinkPtr(link);
}

// Interface `name`, which must exist, for doing `what`.
Result<LinkPtr> require_link(RtnlSocket& s, const std::string& name, const std::string& what) {
  LinkPtr link = TRY_CTX(find_link(s, name), what);
  if (!link) return fail(Error(ENODEV, what + ": no interface " + name));
  return link;
}

Result<> change_flags(RtnlSocket& s, rtnl_link* link, bool up, const std::string& what) {
  LinkPtr changes(rtnl_link_alloc());
  if (!changes) return fail(no_memory(what));
  if (up) {
    rtnl_link_set_flags(changes.get(), IFF_UP);
  } else {
    rtnl_link_unset_flags(changes.get(), IFF_UP);
  }
  int rc = rtnl_link_change(s.request(), link, changes.get(), 0);
  if (rc < 0) return fail(s.error(rc, what));
  return {};
}

// "10.1.0.2/24", "2001:db8::5/64".
std::string addr_text(nl_addr* a, int prefix) {
  char buf[INET6_ADDRSTRLEN] = "?";
  ::inet_ntop(nl_addr_get_family(a), nl_addr_get_binary_addr(a), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(prefix);
}

// Adds local/prefix (and `broadcast`, when not null) to interface `ifindex` (`ifname` in
// errors); `local` gives the family.
Result<> add_addr(RtnlSocket& s, int ifindex, const std::string& ifname, nl_addr* local, int prefix,
                  nl_addr* broadcast) {
  std::string what = "add address " + addr_text(local, prefix) + " to " + ifname;
  AddrPtr a(rtnl_addr_alloc());
  if (!a) return fail(no_memory(what));
  rtnl_addr_set_ifindex(a.get(), ifindex);
  int rc = rtnl_addr_set_local(a.get(), local);
  if (rc == 0 && broadcast != nullptr) rc = rtnl_addr_set_broadcast(a.get(), broadcast);
  if (rc < 0) return fail(what + ": " + nl_geterror(rc));
  rtnl_addr_set_prefixlen(a.get(), prefix);
  rc = rtnl_addr_add(s.request(), a.get(), NLM_F_EXCL);
  if (rc < 0) return fail(s.error(rc, what));
  return {};
}

// Adds IPv4 addr/prefix to `ifname` with the subnet's broadcast address, as `ip addr add ...
// brd +` does (none for /31 and /32, which have none).
Result<> add_ip4(RtnlSocket& s, const std::string& ifname, Ip4 addr, int prefix) {
  std::string what = "add address " + addr.str() + "/" + std::to_string(prefix) + " to " + ifname;
  if (prefix < 0 || prefix > 32) return fail(what + ": prefix length out of range");
  LinkPtr link = TRY(require_link(s, ifname, what));
  NlAddrPtr local = ip4_addr(addr, prefix);
  uint32_t host_bits = prefix == 0 ? ~uint32_t{0} : ~(~uint32_t{0} << (32 - prefix));
  NlAddrPtr brd = ip4_addr(Ip4{addr.value | host_bits}, prefix);
  if (!local || !brd) return fail(no_memory(what));
  return add_addr(s, rtnl_link_get_ifindex(link.get()), ifname, local.get(), prefix,
                  prefix >= 31 ? nullptr : brd.get());
}

using Addresses = std::vector<AddrPtr>;

// The addresses of interface `ifindex` that `keep` accepts.
template <typename Keep>
Result<Addresses> addresses_of(RtnlSocket& s, int ifindex, const std::string& ifname, Keep keep) {
  nl_cache* raw = nullptr;
  int rc = rtnl_addr_alloc_cache(s.request(), &raw);
  if (rc < 0) return fail(s.error(rc, "list the addresses of " + ifname));
  CachePtr cache(raw);
  Addresses out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o != nullptr; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    if (rtnl_addr_get_ifindex(a) != ifindex || rtnl_addr_get_local(a) == nullptr || !keep(a))
      continue;
    nl_object_get(o);
    out.emplace_back(a);
  }
  return out;
}

bool is_template(const std::string& name) {
  return name.find('%') != std::string::npos;
}

// Whether `name` is one the kernel can make of template `tmpl` ("eth%d" → "eth0", "eth12").
bool expands(const std::string& tmpl, const std::string& name) {
  size_t p = tmpl.find("%d");
  if (p == std::string::npos) return tmpl == name;
  std::string_view head(tmpl.data(), p), tail(tmpl.data() + p + 2, tmpl.size() - p - 2);
  if (name.size() <= head.size() + tail.size()) return false;
  if (!name.starts_with(head) || !name.ends_with(tail)) return false;
  std::string_view digits(name.data() + head.size(), name.size() - head.size() - tail.size());
  return std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool same_hwaddr(nl_addr* a, nl_addr* b) {
  if (a == nullptr || b == nullptr) return a == b;
  return nl_addr_cmp(a, b) == 0;
}

// The interfaces of the namespace, in a cache.
Result<CachePtr> all_links(RtnlSocket& s) {
  nl_cache* raw = nullptr;
  int rc = rtnl_link_alloc_cache(s.request(), AF_UNSPEC, &raw);
  if (rc < 0) return fail(s.error(rc, "list interfaces"));
  return CachePtr(raw);
}

Result<std::vector<int>> link_indexes(RtnlSocket& s) {
  CachePtr cache = TRY(all_links(s));
  std::vector<int> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o != nullptr; o = nl_cache_get_next(o)) {
    out.push_back(rtnl_link_get_ifindex(reinterpret_cast<rtnl_link*>(o)));
  }
  return out;
}

// The device just moved in as `name`, with hardware address `hwaddr`; `before` are the
// indexes the namespace had before. A name given outright is the kernel's guarantee. A
// template's expansion is found among the devices that are new here (its index is not
// one to look for: the kernel gives it another when its old one is taken here); the
// hardware address would tell apart two that arrived meanwhile.
Result<LinkPtr> find_moved(RtnlSocket& s, const std::string& name, nl_addr* hwaddr,
                           const std::vector<int>& before) {
  if (!is_template(name)) {
    LinkPtr link = TRY(find_link(s, name));
    if (!link) return fail("interface " + name + " not found after the move");
    return link;
  }
  CachePtr cache = TRY(all_links(s));
  std::vector<rtnl_link*> arrived, same_hw;
  for (nl_object* o = nl_cache_get_first(cache.get()); o != nullptr; o = nl_cache_get_next(o)) {
    auto* l = reinterpret_cast<rtnl_link*>(o);
    const char* n = rtnl_link_get_name(l);
    if (n == nullptr || !expands(name, n)) continue;
    if (std::find(before.begin(), before.end(), rtnl_link_get_ifindex(l)) != before.end()) continue;
    arrived.push_back(l);
    if (same_hwaddr(rtnl_link_get_addr(l), hwaddr)) same_hw.push_back(l);
  }
  rtnl_link* found = arrived.size() == 1   ? arrived.front()
                     : same_hw.size() == 1 ? same_hw.front()
                                           : nullptr;
  if (found == nullptr) {
    return fail("cannot tell which interface named after " + name + " it became");
  }
  nl_object_get(reinterpret_cast<nl_object*>(found));
  return LinkPtr(found);
}

}  // namespace

Netlink::Netlink(std::unique_ptr<detail::RtnlSocket> s) : s_(std::move(s)) {}
Netlink::Netlink(Netlink&&) noexcept = default;
Netlink& Netlink::operator=(Netlink&&) noexcept = default;
Netlink::~Netlink() = default;

Result<Netlink> Netlink::open() {
  auto s = std::make_unique<detail::RtnlSocket>();
  s->sk = nl_socket_alloc();
  if (s->sk == nullptr) return fail(no_memory("allocate a netlink socket"));
  nl_socket_modify_err_cb(s->sk, NL_CB_CUSTOM, on_kernel_error, s.get());
  int rc = nl_connect(s->sk, NETLINK_ROUTE);
  if (rc < 0) return fail(std::string("open a netlink socket: ") + nl_geterror(rc));
  // The kernel's reasons in error replies (the errno alone often says little); a kernel
  // without them just gives none.
  int one = 1;
  ::setsockopt(nl_socket_get_fd(s->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  return Netlink(std::move(s));
}

Result<Netlink> Netlink::open_in(int netns_fd) {
  // A netlink socket belongs for good to the namespace it was made in.
  UniqueFd here(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!here) return fail_errno("open /proc/thread-self/ns/net");
  if (::setns(netns_fd, CLONE_NEWNET) < 0)
    return fail_errno("enter network namespace (fd " + std::to_string(netns_fd) + ")");
  auto nl = open();
  if (::setns(here.get(), CLONE_NEWNET) < 0)
    return fail_errno("return to the runtime's network namespace");
  return nl;
}

Result<> Netlink::ensure_bridge(const std::string& name, Ip4 gateway, int prefix) {
  LinkPtr link = TRY(find_link(*s_, name));
  if (!link) {
    std::string what = "create bridge " + name;
    LinkPtr br(rtnl_link_alloc());
    if (!br) return fail(no_memory(what));
    int rc = rtnl_link_set_type(br.get(), "bridge");
    if (rc < 0) return fail(what + ": " + nl_geterror(rc));
    rtnl_link_set_name(br.get(), name.c_str());
    rtnl_link_set_flags(br.get(), IFF_UP);
    rc = rtnl_link_add(s_->request(), br.get(), NLM_F_CREATE | NLM_F_EXCL);
    // Another nsbox may have made it meanwhile: then it is checked as any existing one.
    if (rc < 0 && s_->kernel_errno != EEXIST) return fail(s_->error(rc, what));
    link = TRY(require_link(*s_, name, what));
  }
  const char* kind = rtnl_link_get_type(link.get());
  if (kind == nullptr || std::strcmp(kind, "bridge") != 0) {
    return fail("interface " + name + " exists and is not a bridge");
  }
  auto added = add_ip4(*s_, name, gateway, prefix);
  if (!added && added.error().code() != EEXIST) return fail(added.error());
  if ((rtnl_link_get_flags(link.get()) & IFF_UP) != 0) return {};
  return change_flags(*s_, link.get(), true, "bring " + name + " up");
}

Result<> Netlink::add_veth(const std::string& host_name, const std::string& peer_name,
                           int peer_netns_fd, const std::string& master) {
  std::string what = "create veth pair " + host_name + "/" + peer_name;
  int master_index = 0;
  if (!master.empty()) {
    LinkPtr m = TRY(require_link(*s_, master, what));
    master_index = rtnl_link_get_ifindex(m.get());
  }
  LinkPtr link(rtnl_link_veth_alloc());
  if (!link) return fail(no_memory(what));
  rtnl_link_set_name(link.get(), host_name.c_str());
  rtnl_link_set_flags(link.get(), IFF_UP);
  if (master_index != 0) rtnl_link_set_master(link.get(), master_index);
  LinkPtr peer(rtnl_link_veth_get_peer(link.get()));
  rtnl_link_set_name(peer.get(), peer_name.c_str());
  // The peer is born in the container's namespace (IFLA_NET_NS_FD inside the peer's info).
  rtnl_link_set_ns_fd(peer.get(), peer_netns_fd);
  int rc = rtnl_link_add(s_->request(), link.get(), NLM_F_CREATE | NLM_F_EXCL);
  if (rc >= 0) return {};
  Error err = s_->error(rc, what);
  if (err.code() != EEXIST) return fail(err);
  // The kernel does not say which of the two names was taken.
  if (TRY(link_exists(host_name))) return fail("interface " + host_name + " already exists");
  return fail("interface " + peer_name + " already exists in the container's network namespace");
}

Result<> Netlink::delete_link(const std::string& name) {
  LinkPtr link(rtnl_link_alloc());
  if (!link) return fail(no_memory("delete interface " + name));
  rtnl_link_set_name(link.get(), name.c_str());
  int rc = rtnl_link_delete(s_->request(), link.get());
  if (rc < 0 && s_->kernel_errno != ENODEV) return fail(s_->error(rc, "delete interface " + name));
  return {};
}

Result<bool> Netlink::link_exists(const std::string& name) {
  LinkPtr link = TRY(find_link(*s_, name));
  return link != nullptr;
}

Result<> Netlink::set_up(const std::string& name) {
  std::string what = "bring " + name + " up";
  LinkPtr link = TRY(require_link(*s_, name, what));
  if ((rtnl_link_get_flags(link.get()) & IFF_UP) != 0) return {};
  return change_flags(*s_, link.get(), true, what);
}

Result<> Netlink::add_address(const std::string& ifname, Ip4 addr, int prefix) {
  return add_ip4(*s_, ifname, addr, prefix);
}

Result<> Netlink::add_default_route(Ip4 gateway) {
  std::string what = "add default route via " + gateway.str();
  RoutePtr route(rtnl_route_alloc());
  NlAddrPtr dst = ip4_addr(Ip4{0}, 0);
  NlAddrPtr gw = ip4_addr(gateway, 32);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  if (!route || !dst || !gw || nh == nullptr) {
    if (nh != nullptr) rtnl_route_nh_free(nh);
    return fail(no_memory(what));
  }
  rtnl_route_set_family(route.get(), AF_INET);
  rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
  rtnl_route_set_protocol(route.get(), RTPROT_BOOT);
  rtnl_route_set_scope(route.get(), RT_SCOPE_UNIVERSE);
  rtnl_route_set_type(route.get(), RTN_UNICAST);
  int rc = rtnl_route_set_dst(route.get(), dst.get());
  if (rc < 0) {
    rtnl_route_nh_free(nh);
    return fail(what + ": " + nl_geterror(rc));
  }
  rtnl_route_nh_set_gateway(nh, gw.get());
  rtnl_route_add_nexthop(route.get(), nh);  // the route owns it now
  rc = rtnl_route_add(s_->request(), route.get(), NLM_F_EXCL);
  if (rc < 0) return fail(s_->error(rc, what));
  return {};
}

Result<std::vector<std::pair<Ip4, int>>> Netlink::ipv4_addresses(const std::string& ifname) {
  LinkPtr link = TRY(require_link(*s_, ifname, "list the addresses of " + ifname));
  Addresses addrs =
      TRY(addresses_of(*s_, rtnl_link_get_ifindex(link.get()), ifname,
                       [](rtnl_addr* a) { return rtnl_addr_get_family(a) == AF_INET; }));
  std::vector<std::pair<Ip4, int>> out;
  for (const AddrPtr& a : addrs)
    out.emplace_back(to_ip4(rtnl_addr_get_local(a.get())), rtnl_addr_get_prefixlen(a.get()));
  return out;
}

Result<std::string> Netlink::move_to_netns(const std::string& name, const std::string& new_name,
                                           int netns_fd) {
  const std::string what = "move network device " + name;
  const std::string target_name = new_name.empty() ? name : new_name;
  const std::string clash =
      what + ": interface " + target_name + " already exists in the container's network namespace";
  LinkPtr link = TRY_CTX(find_link(*s_, name), what);
  if (!link) return fail("link not found for interface " + name + " on runtime namespace");
  Netlink target = TRY_CTX(open_in(netns_fd), what);
  // The kernel moves the device, then renames it: a rename refused there would leave it in
  // the container under its old name. So a taken name is refused before anything changes.
  std::vector<int> before;
  if (!is_template(target_name)) {
    if (TRY_CTX(target.link_exists(target_name), what)) return fail(clash);
  } else {
    before = TRY_CTX(link_indexes(*target.s_), what);
  }

  const int ifindex = rtnl_link_get_ifindex(link.get());
  NlAddrPtr hwaddr;
  if (nl_addr* a = rtnl_link_get_addr(link.get())) {
    hwaddr.reset(nl_addr_clone(a));
    if (!hwaddr) return fail(no_memory(what));
  }
  // Read before the device goes down: down flushes its IPv6 addresses, and the move all.
  Addresses kept = TRY_CTX(addresses_of(*s_, ifindex, name,
                                        [](rtnl_addr* a) {
                                          return (rtnl_addr_get_flags(a) & IFA_F_PERMANENT) != 0 &&
                                                 rtnl_addr_get_scope(a) == RT_SCOPE_UNIVERSE;
                                        }),
                           what);
  const bool was_up = (rtnl_link_get_flags(link.get()) & IFF_UP) != 0;
  if (was_up) TRY(change_flags(*s_, link.get(), false, what + ": bring it down"));

  // One RTM_NEWLINK: IFLA_NET_NS_FD and IFLA_IFNAME.
  LinkPtr changes(rtnl_link_alloc());
  if (!changes) return fail(no_memory(what));
  if (target_name != name) rtnl_link_set_name(changes.get(), target_name.c_str());
  rtnl_link_set_ns_fd(changes.get(), netns_fd);
  int rc = rtnl_link_change(s_->request(), link.get(), changes.get(), 0);
  if (rc < 0) {
    Error err = s_->error(rc, what);
    // Left as it was found, as far as it still is here.
    if (was_up) {
      for (const AddrPtr& a : kept) {
        (void)add_addr(*s_, ifindex, name, rtnl_addr_get_local(a.get()),
                       rtnl_addr_get_prefixlen(a.get()), nullptr);
      }
      (void)change_flags(*s_, link.get(), true, what);
    }
    if (err.code() == EEXIST) return fail(clash);
    return fail(err);
  }

  LinkPtr moved = TRY_CTX(find_moved(*target.s_, target_name, hwaddr.get(), before), what);
  const std::string final_name = rtnl_link_get_name(moved.get());
  const int new_index = rtnl_link_get_ifindex(moved.get());
  for (const AddrPtr& a : kept) {
    auto added = add_addr(*target.s_, new_index, final_name, rtnl_addr_get_local(a.get()),
                          rtnl_addr_get_prefixlen(a.get()), nullptr);
    if (!added && added.error().code() != EEXIST) return fail(added.error().context(what));
  }
  TRY_CTX(change_flags(*target.s_, moved.get(), true, "bring " + final_name + " up"), what);
  return final_name;
}

bool valid_ifname(std::string_view ifname) {
  if (ifname.empty() || ifname.size() > kMaxIfname || ifname == "." || ifname == "..") return false;
  for (unsigned char c : ifname) {
    if (c == '\0' || c == '/' || c == ':' || std::isspace(c)) return false;
  }
  size_t pct = ifname.find('%');
  if (pct == std::string_view::npos) return true;
  // The kernel expands one "%d" and refuses any other '%'.
  return ifname.substr(pct, 2) == "%d" && ifname.find('%', pct + 1) == std::string_view::npos;
}

}  // namespace nsbox::net
