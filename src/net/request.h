// What a container asks of nsbox's networking, read from its config.json's annotations (the
// bundle alone says how it is run): the networks it joins, the ports it publishes, its DNS
// servers. `run`/`create --network/--publish/--dns` add to the same annotations.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "net/ip4.h"

namespace nsbox::net {

inline constexpr const char* kNetworkAnnotation = "org.nsbox.network";
inline constexpr const char* kPublishAnnotation = "org.nsbox.publish";
inline constexpr const char* kDnsAnnotation = "org.nsbox.dns";
// The network a container joins when it publishes ports without naming one, made on first use.
inline constexpr const char* kDefaultNetwork = "nsbox";

struct Join {
  std::string network;
  std::optional<Ip4> ip;  // NAME:ip=A.B.C.D
};

struct Publish {
  std::string proto;  // "tcp" or "udp"
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  std::string str() const;  // "8080:80/tcp"
};

struct Request {
  std::vector<Join> networks;  // in order: the first is eth0
  std::vector<Publish> publish;
  std::vector<Ip4> dns;
  bool empty() const { return networks.empty() && publish.empty() && dns.empty(); }
};

// Whether NAME may name a network: 1 to 32 of [A-Za-z0-9_.-], starting with a letter or digit.
Result<> validate_network_name(const std::string& name);

// The request in annotations; errors name the file and the entry:
// `FILE: annotations["org.nsbox.publish"][1]: "80" is not HOST:CONTAINER[/tcp|udp]`.
// Ports published without a network join the default one.
Result<Request> parse_request(const std::map<std::string, std::string>& annotations, const std::string& file);

// Add command-line values to the annotations (comma-joined after what the bundle has), so that
// flags and annotations are one thing.
void add_to_annotation(std::map<std::string, std::string>& annotations, const char* key,
                       const std::vector<std::string>& values);

}  // namespace nsbox::net
