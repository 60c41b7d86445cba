#include "net/ip4.h"

#include <algorithm>

namespace nsbox::net {

namespace {

// A decimal number of at most `max_digits` digits, without sign or leading zeros ("0" itself
// is fine); -1 when `text` is not one.
int parse_decimal(std::string_view text, size_t max_digits) {
  if (text.empty() || text.size() > max_digits) return -1;
  if (text.size() > 1 && text[0] == '0') return -1;
  int n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  return n;
}

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

uint32_t mask_of(int prefix) {
  if (prefix <= 0) return 0;
  if (prefix >= 32) return ~uint32_t{0};
  return ~uint32_t{0} << (32 - prefix);
}

}  // namespace

std::string Ip4::str() const {
  return std::to_string(value >> 24) + "." + std::to_string((value >> 16) & 0xff) + "." +
         std::to_string((value >> 8) & 0xff) + "." + std::to_string(value & 0xff);
}

Result<Ip4> parse_ip4(std::string_view text) {
  uint32_t value = 0;
  std::string_view rest = text;
  for (int part = 0; part < 4; ++part) {
    size_t dot = rest.find('.');
    bool last = part == 3;
    // Exactly three dots: the last part runs to the end, the others stop at a dot.
    if (last != (dot == std::string_view::npos)) return fail("not an IPv4 address: " + quoted(text));
    int octet = parse_decimal(rest.substr(0, dot), 3);
    if (octet < 0 || octet > 255) return fail("not an IPv4 address: " + quoted(text));
    value = value << 8 | static_cast<uint32_t>(octet);
    if (!last) rest.remove_prefix(dot + 1);
  }
  return Ip4{value};
}

std::string Subnet4::str() const { return network.str() + "/" + std::to_string(prefix); }

bool Subnet4::contains(Ip4 ip) const {
  uint32_t m = mask_of(prefix);
  return (ip.value & m) == (network.value & m);
}

bool Subnet4::overlaps(const Subnet4& other) const {
  // Two prefixes either nest or are disjoint: compare under the shorter one.
  uint32_t m = mask_of(std::min(prefix, other.prefix));
  return (network.value & m) == (other.network.value & m);
}

Ip4 Subnet4::netmask() const { return Ip4{mask_of(prefix)}; }

Ip4 Subnet4::broadcast() const { return Ip4{(network.value & mask_of(prefix)) | ~mask_of(prefix)}; }

Ip4 Subnet4::first_host() const { return Ip4{(network.value & mask_of(prefix)) + 1}; }

Ip4 Subnet4::last_host() const { return Ip4{broadcast().value - 1}; }

Result<Subnet4> parse_subnet4(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return fail("not an IPv4 subnet: " + quoted(text) + " (expected ADDRESS/PREFIX, such as 10.1.0.0/16)");
  }
  Subnet4 s;
  s.network = TRY_CTX(parse_ip4(text.substr(0, slash)), "subnet " + quoted(text));
  std::string_view prefix = text.substr(slash + 1);
  s.prefix = parse_decimal(prefix, 3);
  if (s.prefix < 0) return fail("subnet " + quoted(text) + ": prefix length " + quoted(prefix) + " is not a number");
  if (s.prefix < 1 || s.prefix > 30) {
    return fail("subnet " + quoted(text) +
                ": prefix length must be 1 to 30 (a network needs a gateway and at least one container address)");
  }
  Ip4 base{s.network.value & mask_of(s.prefix)};
  if (base != s.network) {
    return fail("subnet " + std::string(text) + " has host bits set (did you mean " + base.str() + "/" +
                std::to_string(s.prefix) + "?)");
  }
  return s;
}

}  // namespace nsbox::net
