// IPv4 addresses and subnets: parsing, printing and arithmetic, nothing else (no syscalls).
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace nsbox::net {

struct Ip4 {
  uint32_t value = 0;  // host byte order: 10.1.2.3 is 0x0a010203

  // Dotted quad: "10.1.2.3".
  std::string str() const;
  auto operator<=>(const Ip4&) const = default;
};

// A strict dotted quad ("10.1.2.3"): four decimal parts 0..255, no leading zeros, signs or
// spaces. Error: `not an IPv4 address: "x"`.
Result<Ip4> parse_ip4(std::string_view text);

struct Subnet4 {
  Ip4 network;
  int prefix = 0;  // 0..32; parse_subnet4 gives 1..30

  // "10.1.0.0/16".
  std::string str() const;
  // Whether `ip` is in the subnet (its network and broadcast addresses included).
  bool contains(Ip4 ip) const;
  // Whether the two subnets share at least one address.
  bool overlaps(const Subnet4& other) const;
  // 255.255.0.0 for a /16.
  Ip4 netmask() const;
  // The last address: 10.1.255.255 for 10.1.0.0/16.
  Ip4 broadcast() const;
  // network + 1 and broadcast - 1.
  Ip4 first_host() const;
  Ip4 last_host() const;
  bool operator==(const Subnet4&) const = default;
};

// "a.b.c.d/N" with N 1..30 (a network needs a gateway and at least one container address)
// and no host bits set (`subnet 10.1.0.1/16 has host bits set (did you mean 10.1.0.0/16?)`).
Result<Subnet4> parse_subnet4(std::string_view text);

}  // namespace nsbox::net
