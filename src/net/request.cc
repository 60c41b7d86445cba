#include "net/request.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>

namespace nsbox::net {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

std::optional<uint16_t> port_number(const std::string& s) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || s[0] == '0' || v < 1 || v > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(v);
}

Result<Join> parse_join(const std::string& entry) {
  Join j;
  auto colon = entry.find(':');
  j.network = entry.substr(0, colon);
  TRY(validate_network_name(j.network));
  if (colon == std::string::npos) return j;
  std::string opt = entry.substr(colon + 1);
  if (opt.rfind("ip=", 0) != 0) return fail("unknown option \"" + opt + "\" (NAME or NAME:ip=A.B.C.D)");
  j.ip = TRY(parse_ip4(opt.substr(3)));
  return j;
}

Result<Publish> parse_publish(const std::string& entry) {
  Publish p;
  std::string ports = entry;
  p.proto = "tcp";
  if (auto slash = entry.find('/'); slash != std::string::npos) {
    p.proto = entry.substr(slash + 1);
    ports = entry.substr(0, slash);
    if (p.proto != "tcp" && p.proto != "udp") return fail("protocol \"" + p.proto + "\" is neither tcp nor udp");
  }
  auto colon = ports.find(':');
  std::optional<uint16_t> host, container;
  if (colon != std::string::npos) {
    host = port_number(ports.substr(0, colon));
    container = port_number(ports.substr(colon + 1));
  }
  if (!host || !container) return fail("\"" + entry + "\" is not HOST:CONTAINER[/tcp|udp] with ports 1 to 65535");
  p.host_port = *host;
  p.container_port = *container;
  return p;
}

// Each comma-separated entry of annotation KEY, parsed by PARSE; errors name the entry.
template <typename T, typename Parse>
Result<std::vector<T>> entries(const std::map<std::string, std::string>& a, const char* key,
                               const std::string& file, Parse parse) {
  std::vector<T> out;
  auto it = a.find(key);
  if (it == a.end()) return out;
  auto parts = split(it->second, ',');
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string where = file + ": annotations[\"" + key + "\"][" + std::to_string(i) + "]";
    std::string e = trim(parts[i]);
    if (e.empty()) return fail(where + ": empty entry");
    auto v = parse(e);
    if (!v) return fail(where + ": " + v.error().what());
    out.push_back(std::move(*v));
  }
  return out;
}

}  // namespace

std::string Publish::str() const {
  return std::to_string(host_port) + ":" + std::to_string(container_port) + "/" + proto;
}

Result<> validate_network_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 32 && std::isalnum(static_cast<unsigned char>(name[0]));
  for (unsigned char c : name) ok = ok && (std::isalnum(c) || c == '_' || c == '.' || c == '-');
  if (!ok) {
    return fail("invalid network name \"" + name + "\": 1 to 32 letters, digits, '_', '.' or '-', " +
                "starting with a letter or digit");
  }
  return {};
}

Result<Request> parse_request(const std::map<std::string, std::string>& a, const std::string& file) {
  Request r;
  r.networks = TRY(entries<Join>(a, kNetworkAnnotation, file, parse_join));
  r.publish = TRY(entries<Publish>(a, kPublishAnnotation, file, parse_publish));
  r.dns = TRY(entries<Ip4>(a, kDnsAnnotation, file, [](const std::string& e) { return parse_ip4(e); }));
  std::set<std::string> seen;
  for (size_t i = 0; i < r.networks.size(); ++i) {
    if (!seen.insert(r.networks[i].network).second) {
      return fail(file + ": annotations[\"" + kNetworkAnnotation + "\"][" + std::to_string(i) + "]: network \"" +
                  r.networks[i].network + "\" is joined twice");
    }
  }
  std::set<std::pair<std::string, uint16_t>> ports;
  for (size_t i = 0; i < r.publish.size(); ++i) {
    if (!ports.insert({r.publish[i].proto, r.publish[i].host_port}).second) {
      return fail(file + ": annotations[\"" + kPublishAnnotation + "\"][" + std::to_string(i) + "]: port " +
                  std::to_string(r.publish[i].host_port) + "/" + r.publish[i].proto + " is published twice");
    }
  }
  if (r.networks.empty() && !r.publish.empty()) r.networks.push_back(Join{kDefaultNetwork, std::nullopt});
  if (r.networks.empty() && !r.dns.empty()) {
    return fail(file + ": annotations[\"" + kDnsAnnotation + "\"]: DNS servers need a network (" +
                kNetworkAnnotation + ")");
  }
  return r;
}

void add_to_annotation(std::map<std::string, std::string>& annotations, const char* key,
                       const std::vector<std::string>& values) {
  for (const auto& v : values) {
    std::string& a = annotations[key];
    a += a.empty() ? v : "," + v;
  }
}

}  // namespace nsbox::net
