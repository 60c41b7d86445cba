// nsbox's firewall: one nftables table, `inet nsbox`, and nothing outside it is ever touched.
//
// Published ports are one map, (protocol, host port) -> (container address, port), looked up
// by a DNAT rule for packets to any local address: arriving (prerouting) and sent by the host
// itself (output). Each network is two chains, reached through verdict maps keyed by the
// network's bridge: net-NAME-out masquerades what leaves the network for another interface
// (NATed networks only), net-NAME-fwd drops what a container sends to another nsbox network
// (or, for an --internal network, anywhere but its own bridge). The base chains hold only
// fixed rules, so every script flushes and refills them: each script is self-contained, runs
// as one transaction, and repairs the table whatever state it was left in.
//
// The builders are pure (they return script text); run() hands a script to the nsbox-nft
// helper (linked with libnftables). Scripts may be concatenated into one transaction.
//
// The caller, when it makes a bridge, sets net.ipv4.conf.BRIDGE.route_localnet=1: published
// ports then answer on 127.0.0.1 too (the host's DNATed packets leave from 127.0.0.1 and are
// masqueraded to the bridge's address); a guard chain drops what a container sends to
// 127.0.0.0/8 through a bridge, which route_localnet would otherwise let in.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "net/ip4.h"

namespace nsbox::net::nft {

// The table with its sets, maps and base chains, created where missing.
std::string ensure_table();

// Makes (or remakes, with these flags) network NAME on BRIDGE: its chains, the bridge in the
// `bridges` set and in the verdict maps. `nat`: masquerade what leaves it; `internal`: drop
// all it sends beyond its bridge. Fails if BRIDGE belongs to another network in the table.
// NAME matches [a-zA-Z0-9][a-zA-Z0-9_.-]{0,31} and BRIDGE is an interface name (checked by
// the caller; a script built from anything else fails in run() with the reason).
std::string add_network(const std::string& name, const std::string& bridge, bool nat, bool internal);

// Removes all add_network made; removing what is absent is no error.
std::string remove_network(const std::string& name, const std::string& bridge);

struct Port {
  std::string proto;  // "tcp" or "udp"
  uint16_t host_port = 0;
  Ip4 addr;  // the container's
  uint16_t container_port = 0;
};

// Adds the ports to the map; the script fails (and changes nothing) if a (proto, host port)
// is published already. No ports: an empty script.
std::string publish(const std::vector<Port>& ports);

// Removes the ports from the map; those absent are no error. A host port published to
// another address or container port is left alone, and the script fails ("File exists").
std::string unpublish(const std::vector<Port>& ports);

// Runs `script` through nsbox-nft (security::helper_program("nsbox-nft", "NSBOX_NFT_HELPER")),
// waiting at most kRunTimeoutMs (then kills it). The error is the helper's one line
// ("could not process rule: File exists (at \"tcp . 8080\")"); the caller prefixes what it was
// doing. An empty script succeeds without starting the helper.
inline constexpr int kRunTimeoutMs = 10000;
Result<> run(const std::string& script);

}  // namespace nsbox::net::nft
