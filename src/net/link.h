// The netlink operations network setup needs (bridges, veth pairs, addresses, routes, moving
// a device into a container), through libnl-route. A Netlink object is one rtnetlink socket
// and acts in the network namespace it was opened in, whatever the calling thread's is later.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "net/ip4.h"

namespace nsbox::net {

namespace detail {
struct RtnlSocket;  // libnl's socket and the kernel's last error reply (link.cc)
}

class Netlink {
 public:
  // A socket in the calling thread's network namespace.
  static Result<Netlink> open();
  // A socket in the network namespace `netns_fd` (an fd of /proc/PID/ns/net); the calling
  // thread enters it only while the socket is made.
  static Result<Netlink> open_in(int netns_fd);

  Netlink(Netlink&&) noexcept;
  Netlink& operator=(Netlink&&) noexcept;
  ~Netlink();

  // Bridge `name` exists, has gateway/prefix and is up; an existing bridge is kept (its
  // address added if missing). Error when `name` exists and is not a bridge.
  Result<> ensure_bridge(const std::string& name, Ip4 gateway, int prefix);
  // A veth pair: `host_name` here, up, a port of bridge `master` (none when empty); its peer
  // `peer_name` made directly in namespace `peer_netns_fd` (never in this one, so its name
  // cannot clash here), down. Error `interface NAME already exists` on either name taken.
  Result<> add_veth(const std::string& host_name, const std::string& peer_name, int peer_netns_fd,
                    const std::string& master);
  // Deletes interface `name`; one already absent is success.
  Result<> delete_link(const std::string& name);
  Result<bool> link_exists(const std::string& name);
  // Brings interface `name` up (nothing when it is).
  Result<> set_up(const std::string& name);
  // Adds addr/prefix (with its broadcast address) to `ifname`; EEXIST when it has it.
  Result<> add_address(const std::string& ifname, Ip4 addr, int prefix);
  // A default route via `gateway`, whose interface the kernel finds (a subnet on a link).
  Result<> add_default_route(Ip4 gateway);
  // The IPv4 addresses of `ifname`, with their prefix lengths.
  Result<std::vector<std::pair<Ip4, int>>> ipv4_addresses(const std::string& ifname);
  // linux.netDevices: moves interface `name` of this namespace into namespace `netns_fd`,
  // renamed `new_name` (a "%d" template is expanded by the kernel; empty keeps the name),
  // with its permanent global addresses of every family, up. Returns its final name. Errors:
  // `link not found for interface NAME on runtime namespace`; `move network device NAME:
  // interface NEW already exists in the container's network namespace`.
  Result<std::string> move_to_netns(const std::string& name, const std::string& new_name,
                                    int netns_fd);

 private:
  explicit Netlink(std::unique_ptr<detail::RtnlSocket> s);
  std::unique_ptr<detail::RtnlSocket> s_;
};

// Whether `ifname` can name an interface: 1..15 bytes, not "." or "..", no '/', ':' or
// whitespace, and at most one '%', which must start the template "%d".
bool valid_ifname(std::string_view ifname);

}  // namespace nsbox::net
