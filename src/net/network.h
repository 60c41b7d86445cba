// nsbox's own networks: a bridge with the gateway's address, a subnet whose addresses are
// leased to containers, masquerade out unless --no-nat, isolation from the other networks.
// Each is a file <root>/@networks/NAME.json ('@' is in no container id, so the directory is
// never taken for a container's); its leases are in <root>/@networks/NAME.leases/ and the
// published ports in <root>/@networks/@ports/. Networks are made and removed under the
// directory's lock (.lock); the default network `nsbox` is made on first use.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "net/ip4.h"

namespace nsbox::net {

struct Network {
  std::string name;
  Subnet4 subnet;
  Ip4 gateway;         // the bridge's address, the containers' default route
  std::string bridge;  // interface name
  bool nat = true;        // masquerade what leaves the network
  bool internal = false;  // nothing leaves the network at all
  std::string created;    // RFC 3339
};

// What `network create` is given; what is left empty is chosen.
struct NetworkOptions {
  std::string name;
  std::string subnet;   // default: the first free 10.78.N.0/24
  std::string gateway;  // default: the subnet's first address
  std::string bridge;   // default: "nsb-" + the name (when that fits in 15 bytes)
  bool no_nat = false;
  bool internal = false;
};

inline constexpr const char* kDefaultSubnet = "10.77.0.0/16";
inline constexpr const char* kDefaultBridge = "nsbox0";

std::string networks_dir(const std::string& root);
inline constexpr const char* kNetworksDirName = "@networks";

// Whether a container is still there (its state directory): leases of those that are not are
// reclaimed.
using OwnerAlive = std::function<bool(const std::string& id)>;

// Make a network: checked against the other networks (name, subnet, bridge) and the host's
// routes (a subnet that overlaps one is refused), then its bridge and firewall chains, then its
// file. On error nothing is left.
Result<Network> create_network(const std::string& root, const NetworkOptions& o);
// The network NAME: the default one is made if missing; another missing one is an error
// `unknown network "x" (nsbox network ls lists them)`.
Result<Network> network_for_use(const std::string& root, const std::string& name);
Result<std::optional<Network>> find_network(const std::string& root, const std::string& name);
Result<std::vector<Network>> list_networks(const std::string& root);
// Remove a network: refused while a live container has an address in it (`network "x" is in
// use by container web1`); then its firewall chains, its bridge, its leases and its file.
Result<> remove_network(const std::string& root, const std::string& name, const OwnerAlive& alive);
// Its bridge (with the gateway's address, up) and firewall chains, made where missing: a
// reboot or a flushed ruleset is repaired when the network is next used.
Result<> bring_up(const Network& n);

std::string network_to_json(const Network& n, bool pretty);
Result<Network> network_from_json(const std::string& text, const std::string& file);

}  // namespace nsbox::net
