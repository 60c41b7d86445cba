// A container's place in networks: from what it asked (net/request.h) to what was made for it
// (an Attached record kept in its state), and back.
//
// create: prepare() before the container exists (addresses leased, ports registered, the
// resolv.conf and hosts files written in its state directory; nothing in the kernel yet), then
// connect() once its network namespace exists and before the createRuntime hooks (veth pairs
// with the container's end made directly in its namespace, addresses, routes, published ports;
// or the CNI plugins' ADD). delete: disconnect(). A create killed at any point: everything
// made is named after the container id (leases and port registrations hold it, host veth names
// derive from it), so disconnect_owner() finds it all from the network names alone.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "net/ip4.h"
#include "net/network.h"
#include "net/request.h"

namespace nsbox::net {

struct Link {
  std::string network;
  std::string driver;       // "bridge" (nsbox's own) or "cni"
  std::string ifname;       // in the container: eth0, eth1, ...
  std::string host_ifname;  // bridge driver: the veth's host end
  std::string bridge;
  Ip4 address;  // bridge driver; CNI's are in `addresses`
  int prefix = 0;
  Ip4 gateway;
  bool default_route = false;
  std::vector<std::string> addresses;  // "10.77.0.2/16", for list and state
  std::string cni_file;                // CNI: the configuration list it was made from
  std::string cni_result;              // CNI: the ADD result, prevResult of DEL
};

struct PublishedPort {
  Publish port;
  Ip4 address;  // the container's, on the network that carries it
};

struct Attached {
  std::vector<Link> links;
  std::vector<PublishedPort> ports;
  std::vector<std::string> mounts;  // files bound over the rootfs's /etc: "hosts", "resolv.conf"
  bool empty() const { return links.empty(); }
  std::vector<std::string> addresses() const;
};

struct Context {
  std::string root;       // the state root: networks and leases live under it
  std::string id;         // the container's
  std::string state_dir;  // the container's directory, for the generated files
  std::string rootfs;     // which /etc files it has decides which are bound
  std::string hostname;
  std::string cni_config_dir;  // where CNI configuration lists are looked for
  OwnerAlive alive;
};

// Everything that needs no network namespace: networks found (the default one made), addresses
// leased, ports registered, the generated files written. On error what it did is undone.
Result<Attached> prepare(const Context& ctx, const Request& req, const std::string& file);
// In the network namespace of process `pid`: links, addresses, routes, published ports.
Result<> connect(const Context& ctx, Attached& a, pid_t pid);
// Undo all of it once the container's processes are gone; idempotent, best effort (each step
// runs whatever failed before). The veths are not deleted: they go with the container's network
// namespace, which the kernel destroys once its last process has exited. Deleting one while the
// kernel tears that namespace down waits for its lock, 15 to 40 ms here, which is most of what a
// network would cost a container.
void disconnect(const Context& ctx, const Attached& a);
// The same from the network names alone (a create killed before its state was saved), the
// veths named after the id deleted too (`delete_veths`): nothing says there whose they are.
void disconnect_owner(const Context& ctx, const std::vector<std::string>& networks, bool delete_veths);

// The host end of the veth of the container's link number `index`: "nsb" + 10 hex digits of a
// hash of the id + the index (15 bytes at most, as interface names must be).
std::string host_ifname(const std::string& id, size_t index);

std::string attached_to_json(const Attached& a);
Result<Attached> attached_from_json(const std::string& text, const std::string& file);

}  // namespace nsbox::net
