#include "net/network.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/lock.h"
#include "base/time.h"
#include "base/unique_fd.h"
#include "net/ipam.h"
#include "net/link.h"
#include "net/nft.h"
#include "net/request.h"

namespace nsbox::net {
namespace {

using json = nlohmann::json;

std::string file_of(const std::string& root, const std::string& name) {
  return networks_dir(root) + "/" + name + ".json";
}

// The networks directory, made if missing, locked (exclusive) until the fd is closed.
Result<UniqueFd> lock_networks(const std::string& root) {
  std::string dir = networks_dir(root);
  TRY(fs::mkdir_p(dir, 0700));
  UniqueFd fd(::open((dir + "/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return fail_errno("open " + dir + "/.lock");
  TRY(flock_bounded(fd.get(), LOCK_EX, "the networks of " + root));
  return fd;
}

// The IPv4 routes of the calling process's network namespace (/proc/net/route: destination
// and mask in network byte order, as hex), default routes left out.
std::vector<std::pair<std::string, Subnet4>> host_routes() {
  std::vector<std::pair<std::string, Subnet4>> out;
  std::ifstream in("/proc/net/route");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    char ifname[64];
    unsigned dest = 0, gw = 0, flags = 0, refcnt = 0, use = 0, metric = 0, mask = 0;
    if (std::sscanf(line.c_str(), "%63s %x %x %x %u %u %u %x", ifname, &dest, &gw, &flags, &refcnt, &use, &metric,
                    &mask) != 8) {
      continue;
    }
    if (mask == 0) continue;
    Subnet4 s;
    s.network.value = __builtin_bswap32(dest);
    s.prefix = __builtin_popcount(mask);
    s.network.value &= s.netmask().value;
    out.emplace_back(ifname, s);
  }
  return out;
}

// What makes a network with these values impossible: another network's name, subnet or
// bridge, or a route of the host into the subnet.
Result<> check_free(const std::vector<Network>& others, const Network& n) {
  for (const auto& o : others) {
    if (o.name == n.name) return fail("network \"" + n.name + "\" already exists");
    if (o.subnet.overlaps(n.subnet)) {
      return fail("subnet " + n.subnet.str() + " overlaps network \"" + o.name + "\" (" + o.subnet.str() + ")");
    }
    if (o.bridge == n.bridge) return fail("bridge " + n.bridge + " belongs to network \"" + o.name + "\"");
  }
  for (const auto& [ifname, route] : host_routes()) {
    if (route.overlaps(n.subnet)) {
      return fail("subnet " + n.subnet.str() + " overlaps the host's route to " + route.str() + " on " + ifname);
    }
  }
  return {};
}

Result<std::vector<Network>> read_all(const std::string& root) {
  std::vector<Network> out;
  std::string dir = networks_dir(root);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return fail_errno("open " + dir);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string f = e->d_name;
    if (f.size() > 5 && f.ends_with(".json") && f[0] != '.') names.push_back(f.substr(0, f.size() - 5));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    auto n = find_network(root, name);
    if (!n) return fail(n.error());
    if (*n) out.push_back(**n);
  }
  return out;
}

// The network from the options, its free subnet chosen when none is given.
Result<Network> plan(const std::vector<Network>& others, const NetworkOptions& o) {
  Network n;
  n.name = o.name;
  TRY(validate_network_name(n.name));
  if (!o.subnet.empty()) {
    n.subnet = TRY_CTX(parse_subnet4(o.subnet), "--subnet");
  } else {
    auto routes = host_routes();
    bool found = false;
    for (uint32_t i = 0; i < 256 && !found; ++i) {
      Subnet4 s{Ip4{(10u << 24) | (78u << 16) | (i << 8)}, 24};
      bool taken = std::any_of(others.begin(), others.end(), [&](const Network& x) { return x.subnet.overlaps(s); }) ||
                   std::any_of(routes.begin(), routes.end(), [&](const auto& r) { return r.second.overlaps(s); });
      if (!taken) n.subnet = s, found = true;
    }
    if (!found) return fail("no free subnet left in 10.78.0.0/16: give one with --subnet");
  }
  n.gateway = n.subnet.first_host();
  if (!o.gateway.empty()) {
    n.gateway = TRY_CTX(parse_ip4(o.gateway), "--gateway");
    if (!n.subnet.contains(n.gateway) || n.gateway == n.subnet.network || n.gateway == n.subnet.broadcast()) {
      return fail("--gateway: " + n.gateway.str() + " is not a host address of " + n.subnet.str());
    }
  }
  n.bridge = o.bridge;
  if (n.bridge.empty()) {
    n.bridge = n.name == kDefaultNetwork ? kDefaultBridge : "nsb-" + n.name;
    if (!valid_ifname(n.bridge)) {
      return fail("the bridge name \"" + n.bridge + "\" is longer than 15 bytes: give one with --bridge");
    }
  } else if (!valid_ifname(n.bridge)) {
    return fail("--bridge: \"" + n.bridge + "\" is not an interface name (1 to 15 bytes, no '/', ':' or spaces)");
  }
  n.internal = o.internal;
  n.nat = !o.no_nat && !o.internal;
  n.created = now_rfc3339();
  return n;
}

Result<Network> create_locked(const std::string& root, const NetworkOptions& o) {
  auto others = TRY(read_all(root));
  Network n = TRY(plan(others, o));
  TRY(check_free(others, n));
  auto nl = TRY(Netlink::open());
  bool bridge_existed = TRY(nl.link_exists(n.bridge));
  bool made = false;
  auto undo = [&] {
    if (!made) return;
    (void)nft::run(nft::remove_network(n.name, n.bridge));
    if (!bridge_existed) (void)nl.delete_link(n.bridge);
  };
  made = true;
  if (auto r = bring_up(n); !r) {
    undo();
    return fail(r.error().context("network \"" + n.name + "\""));
  }
  if (auto r = fs::write_file_atomic(file_of(root, n.name), network_to_json(n, true), 0600); !r) {
    undo();
    return fail(r.error());
  }
  return n;
}

}  // namespace

std::string networks_dir(const std::string& root) { return root + "/" + kNetworksDirName; }

Result<Network> create_network(const std::string& root, const NetworkOptions& o) {
  UniqueFd lock = TRY(lock_networks(root));
  return create_locked(root, o);
}

Result<Network> network_for_use(const std::string& root, const std::string& name) {
  if (auto n = TRY(find_network(root, name))) return *n;
  if (name != kDefaultNetwork) return fail("unknown network \"" + name + "\" (nsbox network ls lists them)");
  UniqueFd lock = TRY(lock_networks(root));
  if (auto n = TRY(find_network(root, name))) return *n;  // made meanwhile
  NetworkOptions o;
  o.name = kDefaultNetwork;
  o.subnet = kDefaultSubnet;
  return create_locked(root, o);
}

Result<std::optional<Network>> find_network(const std::string& root, const std::string& name) {
  TRY(validate_network_name(name));
  std::string f = file_of(root, name);
  if (::access(f.c_str(), F_OK) < 0) {
    if (errno == ENOENT) return std::optional<Network>{};
    return fail_errno("access " + f);
  }
  std::string text = TRY(fs::read_document(f));
  return std::optional<Network>{TRY(network_from_json(text, f))};
}

Result<std::vector<Network>> list_networks(const std::string& root) { return read_all(root); }

Result<> remove_network(const std::string& root, const std::string& name, const OwnerAlive& alive) {
  UniqueFd lock = TRY(lock_networks(root));
  auto found = TRY(find_network(root, name));
  if (!found) return fail("unknown network \"" + name + "\" (nsbox network ls lists them)");
  const Network& n = *found;
  std::string leases_dir = networks_dir(root) + "/" + n.name + ".leases";
  if (fs::exists(leases_dir)) {
    auto ipam = TRY(Ipam::open(leases_dir, n.name));
    for (const auto& [addr, owner] : TRY(ipam.leases())) {
      if (!owner.empty() && alive(owner)) {
        return fail("network \"" + n.name + "\" is in use by container " + owner + " (" + addr.str() + ")");
      }
    }
  }
  // Its bridge and chains are in the network namespace it was made in: run elsewhere (its
  // bridge is not here), rm forgets it without making nsbox's table where it never was.
  auto nl = TRY(Netlink::open());
  if (TRY(nl.link_exists(n.bridge))) {
    TRY_CTX(nft::run(nft::remove_network(n.name, n.bridge)), "remove the firewall chains of network \"" + n.name + "\"");
    TRY_CTX(nl.delete_link(n.bridge), "remove the bridge of network \"" + n.name + "\"");
  }
  fs::remove_tree(leases_dir);
  if (::unlink(file_of(root, n.name).c_str()) < 0 && errno != ENOENT) return fail_errno("remove " + file_of(root, n.name));
  return {};
}

Result<> bring_up(const Network& n) {
  auto nl = TRY(Netlink::open());
  TRY(nl.ensure_bridge(n.bridge, n.gateway, n.subnet.prefix));
  if (n.nat) TRY(fs::write_proc_file("/proc/sys/net/ipv4/ip_forward", "1"));
  // Published ports answer on 127.0.0.1 too (net/nft.h): the host's own connections to it are
  // routed to the bridge.
  TRY(fs::write_proc_file("/proc/sys/net/ipv4/conf/" + n.bridge + "/route_localnet", "1"));
  TRY_CTX(nft::run(nft::ensure_table() + nft::add_network(n.name, n.bridge, n.nat, n.internal)), "firewall");
  return {};
}

std::string network_to_json(const Network& n, bool pretty) {
  json j = {{"name", n.name},          {"driver", "bridge"},     {"subnet", n.subnet.str()},
            {"gateway", n.gateway.str()}, {"bridge", n.bridge},   {"nat", n.nat},
            {"internal", n.internal},  {"created", n.created}};
  return j.dump(pretty ? 2 : -1) + "\n";
}

Result<Network> network_from_json(const std::string& text, const std::string& file) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(file + ": not a JSON object");
  auto str = [&](const char* k) -> Result<std::string> {
    if (!j.contains(k) || !j[k].is_string()) return fail(file + ": " + k + ": missing or not a string");
    return j[k].get<std::string>();
  };
  Network n;
  n.name = TRY(str("name"));
  std::string subnet = TRY(str("subnet")), gateway = TRY(str("gateway"));
  n.subnet = TRY_CTX(parse_subnet4(subnet), file + ": subnet");
  n.gateway = TRY_CTX(parse_ip4(gateway), file + ": gateway");
  n.bridge = TRY(str("bridge"));
  if (!valid_ifname(n.bridge)) return fail(file + ": bridge: not an interface name");
  auto flag = [&](const char* k, bool dflt) { return j.contains(k) && j[k].is_boolean() ? j[k].get<bool>() : dflt; };
  n.nat = flag("nat", true);
  n.internal = flag("internal", false);
  if (j.contains("created") && j["created"].is_string()) n.created = j["created"].get<std::string>();
  return n;
}

}  // namespace nsbox::net
