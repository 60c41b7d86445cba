#include "net/attach.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/fs.h"
#include "base/log.h"
#include "base/unique_fd.h"
#include "net/cni.h"
#include "net/ipam.h"
#include "net/link.h"
#include "net/nft.h"
#include "ns/in_root.h"

namespace nsbox::net {
namespace {

using json = nlohmann::json;

std::string leases_dir(const Context& ctx, const std::string& network) {
  return networks_dir(ctx.root) + "/" + network + ".leases";
}
std::string ports_dir(const Context& ctx) { return networks_dir(ctx.root) + "/@ports"; }
std::string port_file(const Publish& p) { return p.proto + "-" + std::to_string(p.host_port); }

// ---------------------------------------------------------------- published ports
// One file per published host port, <root>/@networks/@ports/tcp-8080, made O_EXCL and holding
// "OWNER ADDRESS PORT" (the container, and where the port leads; 0.0.0.0 when a CNI plugin
// publishes it): two containers never publish one port, a dead owner's is reclaimed, and a
// killed create's entries are found again.

// The owner of a registration, "" when unreadable.
std::string port_owner(const std::string& path) {
  auto text = fs::read_file(path);
  if (!text) return "";
  return text->substr(0, text->find(' '));
}

// A registration's record: its owner, and the port it stands for.
struct Registered {
  std::string owner;
  std::string file;
  PublishedPort port;
};

std::optional<Registered> read_registration(int dirfd, const std::string& name) {
  auto dash = name.find('-');
  if (dash == std::string::npos) return std::nullopt;
  auto text = fs::read_file_at(dirfd, name);
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  Registered r;
  std::string addr;
  unsigned cport = 0;
  if (!(in >> r.owner >> addr >> cport)) return std::nullopt;
  r.file = name;
  r.port.port.proto = name.substr(0, dash);
  r.port.port.host_port = static_cast<uint16_t>(std::strtoul(name.c_str() + dash + 1, nullptr, 10));
  r.port.port.container_port = static_cast<uint16_t>(cport);
  if (auto ip = parse_ip4(addr)) r.port.address = *ip;
  return r;
}

// The ports registered to `owner`.
std::vector<Registered> registered_ports(const Context& ctx, const std::string& owner) {
  std::vector<Registered> out;
  DIR* d = ::opendir(ports_dir(ctx).c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    auto r = read_registration(::dirfd(d), e->d_name);
    if (r && r->owner == owner) out.push_back(std::move(*r));
  }
  ::closedir(d);
  return out;
}

std::vector<nft::Port> nft_ports(const std::vector<PublishedPort>& ports) {
  std::vector<nft::Port> out;
  for (const auto& p : ports) {
    // A port that leads to no address was published by a CNI plugin, whose DEL unpublishes it.
    if (p.address.value != 0) out.push_back(nft::Port{p.port.proto, p.port.host_port, p.address, p.port.container_port});
  }
  return out;
}

// Unpublish the registrations (nft first, then the files: a kill between leaves the files,
// which the next delete --force or registration finds again).
Result<> unpublish(const Context& ctx, const std::vector<Registered>& regs) {
  std::vector<PublishedPort> ports;
  for (const auto& r : regs) ports.push_back(r.port);
  TRY_CTX(nft::run(nft::unpublish(nft_ports(ports))), "unpublish ports");
  for (const auto& r : regs) ::unlink((ports_dir(ctx) + "/" + r.file).c_str());
  return {};
}

Result<> register_port(const Context& ctx, const PublishedPort& p, const std::string& where) {
  std::string dir = ports_dir(ctx);
  TRY(fs::mkdir_p(dir, 0700));
  std::string path = dir + "/" + port_file(p.port);
  std::string record = ctx.id + " " + p.address.str() + " " + std::to_string(p.port.container_port) + "\n";
  for (int attempt = 0; attempt < 3; ++attempt) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd) {
      if (::write(fd.get(), record.data(), record.size()) != static_cast<ssize_t>(record.size())) {
        ::unlink(path.c_str());
        return fail_errno("write " + path);
      }
      return {};
    }
    if (errno != EEXIST) return fail_errno("register port " + p.port.str() + " in " + path);
    std::string who = port_owner(path);
    if (who == ctx.id) return {};
    if (!who.empty() && ctx.alive(who)) {
      return fail(where + ": port " + std::to_string(p.port.host_port) + "/" + p.port.proto +
                  " is already published by container " + who);
    }
    // Its owner is gone: reclaimed, with what it left in the firewall.
    UniqueFd dfd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    auto stale = dfd ? read_registration(dfd.get(), port_file(p.port)) : std::nullopt;
    if (stale) {
      TRY(unpublish(ctx, {*stale}));
    } else {
      ::unlink(path.c_str());
    }
  }
  return fail(where + ": port " + p.port.str() + ": its registration keeps changing");
}

// ---------------------------------------------------------------- generated /etc files

// Whether the rootfs has a regular file at `path` (resolved inside it: a link cannot point
// out of it).
bool rootfs_has_file(const std::string& rootfs, const std::string& path) {
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return false;
  auto f = ns::resolve(root.get(), path);
  struct stat st{};
  return f && ::fstat(f->get(), &st) == 0 && S_ISREG(st.st_mode);
}

// The host's name servers that a container can reach (not the host's loopback ones).
std::vector<std::string> host_name_servers() {
  std::vector<std::string> out;
  std::ifstream in("/etc/resolv.conf");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string key, value;
    if (ls >> key >> value && key == "nameserver" && value.rfind("127.", 0) != 0 && value != "::1") {
      out.push_back(value);
    }
  }
  return out;
}

Result<> write_etc_files(const Context& ctx, const Request& req, Attached& a) {
  if (rootfs_has_file(ctx.rootfs, "/etc/hosts")) {
    std::string hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
    for (const auto& l : a.links) {
      if (l.driver == "bridge" && !ctx.hostname.empty()) hosts += l.address.str() + "\t" + ctx.hostname + "\n";
    }
    TRY(fs::write_file_atomic(ctx.state_dir + "/hosts", hosts, 0644));
    a.mounts.push_back("hosts");
  }
  std::vector<std::string> servers;
  for (const auto& ip : req.dns) servers.push_back(ip.str());
  if (servers.empty()) servers = host_name_servers();
  if (!servers.empty() && rootfs_has_file(ctx.rootfs, "/etc/resolv.conf")) {
    std::string text;
    for (const auto& s : servers) text += "nameserver " + s + "\n";
    TRY(fs::write_file_atomic(ctx.state_dir + "/resolv.conf", text, 0644));
    a.mounts.push_back("resolv.conf");
  }
  return {};
}

// ---------------------------------------------------------------- links

std::string hex(uint64_t v, int digits) {
  static const char* kDigits = "0123456789abcdef";
  std::string s(static_cast<size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, v >>= 4) s[static_cast<size_t>(i)] = kDigits[v & 15];
  return s;
}

Result<> release_leases(const Context& ctx, const std::string& network) {
  std::string dir = leases_dir(ctx, network);
  if (!fs::exists(dir)) return {};
  auto ipam = TRY(Ipam::open(dir, network));
  TRY(ipam.release(ctx.id));
  return {};
}

Result<std::optional<cni::Network>> cni_network(const Context& ctx, const std::string& name) {
  if (ctx.cni_config_dir.empty()) return std::optional<cni::Network>{};
  return cni::find(ctx.cni_config_dir, name);
}

// The configuration a link was made from, found again in its directory (engines and users need
// not give --cni-config-dir to delete too).
Result<std::optional<cni::Network>> cni_network_of(const Link& l) {
  auto slash = l.cni_file.rfind('/');
  if (slash == std::string::npos) return std::optional<cni::Network>{};
  return cni::find(l.cni_file.substr(0, slash), l.network);
}

cni::Attachment cni_attachment(const Context& ctx, const Link& l, const std::string& netns_path,
                               const std::vector<PublishedPort>& ports) {
  cni::Attachment att;
  att.container_id = ctx.id;
  att.netns_path = netns_path;
  att.ifname = l.ifname;
  for (const auto& p : ports) {
    cni::PortMapping m;
    m.host_port = p.port.host_port;
    m.container_port = p.port.container_port;
    m.protocol = p.port.proto;
    att.ports.push_back(m);
  }
  return att;
}

Result<> prepare_links(const Context& ctx, const Request& req, const std::string& file, Attached& a) {
  bool have_route = false;
  for (size_t i = 0; i < req.networks.size(); ++i) {
    const Join& j = req.networks[i];
    std::string where = file + ": annotations[\"" + kNetworkAnnotation + "\"][" + std::to_string(i) + "]";
    Link l;
    l.network = j.network;
    l.ifname = "eth" + std::to_string(i);
    auto own = TRY_CTX(find_network(ctx.root, j.network), where);
    std::optional<cni::Network> cni;
    if (!own) cni = TRY_CTX(cni_network(ctx, j.network), where);
    if (cni) {
      if (j.ip) return fail(where + ": network \"" + j.network + "\" is a CNI one: its plugins choose the address");
      l.driver = "cni";
      l.cni_file = cni->file;
      a.links.push_back(std::move(l));
      continue;
    }
    Network n = TRY_CTX(network_for_use(ctx.root, j.network), where);
    l.driver = "bridge";
    l.host_ifname = host_ifname(ctx.id, i);
    l.bridge = n.bridge;
    l.prefix = n.subnet.prefix;
    l.gateway = n.gateway;
    l.default_route = !have_route && !n.internal;
    have_route = have_route || l.default_route;
    auto ipam = TRY_CTX(Ipam::open(leases_dir(ctx, n.name), n.name), where);
    a.links.push_back(l);  // recorded before the lease: an error below releases it
    Link& made = a.links.back();
    made.address = j.ip ? TRY_CTX(ipam.lease_exact(n.subnet, n.gateway, *j.ip, ctx.id, ctx.alive), where)
                        : TRY_CTX(ipam.lease_free(n.subnet, n.gateway, ctx.id, ctx.alive), where);
    made.addresses = {made.address.str() + "/" + std::to_string(n.subnet.prefix)};
  }
  return {};
}

Result<> prepare_ports(const Context& ctx, const Request& req, const std::string& file, Attached& a) {
  if (req.publish.empty()) return {};
  const Link& carrier = a.links.front();
  for (size_t i = 0; i < req.publish.size(); ++i) {
    std::string where = file + ": annotations[\"" + kPublishAnnotation + "\"][" + std::to_string(i) + "]";
    PublishedPort p{req.publish[i], carrier.address};
    TRY(register_port(ctx, p, where));
    a.ports.push_back(p);
  }
  return {};
}

Result<> connect_bridge(const Context& ctx, const Link& l, Netlink& host, Netlink& inside, int netns_fd) {
  if (!TRY(host.link_exists(l.bridge))) {
    // Gone since the network was made (a reboot, another network namespace): made again.
    auto n = TRY(network_for_use(ctx.root, l.network));
    TRY(bring_up(n));
  }
  TRY(host.add_veth(l.host_ifname, l.ifname, netns_fd, l.bridge));
  TRY(inside.add_address(l.ifname, l.address, l.prefix));
  TRY(inside.set_up(l.ifname));
  if (l.default_route) TRY(inside.add_default_route(l.gateway));
  return {};
}

}  // namespace

std::string host_ifname(const std::string& id, size_t index) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : id) h = (h ^ c) * 1099511628211ull;
  return "nsb" + hex(h, 10) + std::to_string(index % 10);
}

std::vector<std::string> Attached::addresses() const {
  std::vector<std::string> out;
  for (const auto& l : links) {
    for (const auto& addr : l.addresses) out.push_back(addr.substr(0, addr.find('/')));
  }
  return out;
}

Result<Attached> prepare(const Context& ctx, const Request& req, const std::string& file) {
  Attached a;
  if (req.networks.size() > 10) {
    return fail(file + ": annotations[\"" + kNetworkAnnotation + "\"]: at most 10 networks per container");
  }
  std::vector<std::string> names;
  for (const auto& j : req.networks) names.push_back(j.network);
  auto undo = [&] { disconnect_owner(ctx, names, false); };  // no veth made yet
  if (auto r = prepare_links(ctx, req, file, a); !r) {
    undo();
    return fail(r.error());
  }
  if (auto r = prepare_ports(ctx, req, file, a); !r) {
    undo();
    return fail(r.error());
  }
  if (auto r = write_etc_files(ctx, req, a); !r) {
    undo();
    return fail(r.error());
  }
  return a;
}

Result<> connect(const Context& ctx, Attached& a, pid_t pid) {
  std::string netns_path = "/proc/" + std::to_string(pid) + "/ns/net";
  UniqueFd netns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!netns) return fail_errno("open " + netns_path);
  auto host = TRY(Netlink::open());
  auto inside = TRY(Netlink::open_in(netns.get()));
  for (size_t i = 0; i < a.links.size(); ++i) {
    Link& l = a.links[i];
    std::string what = "network \"" + l.network + "\" (" + l.ifname + ")";
    if (l.driver == "bridge") {
      TRY_CTX(connect_bridge(ctx, l, host, inside, netns.get()), what);
      continue;
    }
    auto net = TRY_CTX(cni_network_of(l), what);
    if (!net) return fail(what + ": its CNI configuration is gone from " + l.cni_file);
    auto ports = i == 0 ? a.ports : std::vector<PublishedPort>{};
    auto added = TRY_CTX(cni::add(*net, cni_attachment(ctx, l, netns_path, ports)), what);
    l.cni_result = added.json;
    l.addresses = added.addresses;
  }
  if (!a.ports.empty() && a.links.front().driver == "bridge") {
    TRY_CTX(nft::run(nft::publish(nft_ports(a.ports))), "publish ports");
  }
  return {};
}

void disconnect(const Context& ctx, const Attached& a) {
  auto warn = [](const Result<>& r, const std::string& what) {
    if (!r) log::warn(what + ": " + r.error().what());
  };
  std::vector<std::string> names;
  for (size_t i = a.links.size(); i-- > 0;) {
    const Link& l = a.links[i];
    names.push_back(l.network);
    if (l.driver != "cni") continue;
    auto net = cni_network_of(l);
    if (!net || !*net) {
      log::warn("network \"" + l.network + "\": its CNI configuration is gone: its plugins' DEL cannot run");
      continue;
    }
    // The namespace may be gone with the container: the plugins are told so (CNI 1.0).
    std::string netns_path;
    auto ports = i == 0 ? a.ports : std::vector<PublishedPort>{};
    warn(cni::del(**net, cni_attachment(ctx, l, netns_path, ports), l.cni_result), "network \"" + l.network + "\"");
  }
  disconnect_owner(ctx, names, false);
}

void disconnect_owner(const Context& ctx, const std::vector<std::string>& networks, bool delete_veths) {
  auto host = Netlink::open();
  for (size_t i = 0; i < networks.size(); ++i) {
    if (host && delete_veths) {
      if (auto r = host->delete_link(host_ifname(ctx.id, i)); !r) log::warn(r.error().what());
    }
    if (auto r = release_leases(ctx, networks[i]); !r) log::warn(r.error().what());
  }
  // The firewall entries are in the network namespace of the networks' bridges: where none of
  // them is (a delete run in another namespace), there is nothing of the container's to remove,
  // and nsbox's table is not to be made there.
  bool here = false;
  for (const auto& name : networks) {
    auto n = find_network(ctx.root, name);
    if (host && n && *n) here = here || host->link_exists((*n)->bridge).value_or(false);
  }
  std::vector<Registered> ours, cni;
  for (auto& r : registered_ports(ctx, ctx.id)) (r.port.address.value != 0 ? ours : cni).push_back(std::move(r));
  // A CNI plugin published those that lead to no address, and its DEL unpublished them.
  for (const auto& r : cni) ::unlink((ports_dir(ctx) + "/" + r.file).c_str());
  if (ours.empty()) return;
  if (!here) {
    log::warn("the published ports of " + ctx.id + " were not unpublished: their networks' bridges are not in this network namespace");
    return;
  }
  if (auto r = unpublish(ctx, ours); !r) log::warn(r.error().what());
}

std::string attached_to_json(const Attached& a) {
  json links = json::array();
  for (const auto& l : a.links) {
    json j = {{"network", l.network}, {"driver", l.driver}, {"ifname", l.ifname}, {"addresses", l.addresses}};
    if (l.driver == "bridge") {
      j["hostIfname"] = l.host_ifname;
      j["bridge"] = l.bridge;
      j["address"] = l.address.str();
      j["prefix"] = l.prefix;
      j["gateway"] = l.gateway.str();
      j["defaultRoute"] = l.default_route;
    } else {
      j["cniFile"] = l.cni_file;
      j["cniResult"] = l.cni_result;
    }
    links.push_back(std::move(j));
  }
  json ports = json::array();
  for (const auto& p : a.ports) {
    ports.push_back({{"proto", p.port.proto}, {"hostPort", p.port.host_port}, {"containerPort", p.port.container_port},
                     {"address", p.address.str()}});
  }
  return json{{"links", links}, {"ports", ports}, {"mounts", a.mounts}}.dump();
}

Result<Attached> attached_from_json(const std::string& text, const std::string& file) {
  Attached a;
  try {
    json j = json::parse(text);
    for (const auto& l : j.at("links")) {
      Link k;
      k.network = l.at("network").get<std::string>();
      k.driver = l.at("driver").get<std::string>();
      k.ifname = l.at("ifname").get<std::string>();
      k.addresses = l.at("addresses").get<std::vector<std::string>>();
      if (k.driver == "bridge") {
        k.host_ifname = l.at("hostIfname").get<std::string>();
        k.bridge = l.at("bridge").get<std::string>();
        k.address = TRY(parse_ip4(l.at("address").get<std::string>()));
        k.prefix = l.at("prefix").get<int>();
        k.gateway = TRY(parse_ip4(l.at("gateway").get<std::string>()));
        k.default_route = l.at("defaultRoute").get<bool>();
      } else {
        k.cni_file = l.at("cniFile").get<std::string>();
        k.cni_result = l.at("cniResult").get<std::string>();
      }
      a.links.push_back(std::move(k));
    }
    for (const auto& p : j.at("ports")) {
      PublishedPort pp;
      pp.port.proto = p.at("proto").get<std::string>();
      pp.port.host_port = p.at("hostPort").get<uint16_t>();
      pp.port.container_port = p.at("containerPort").get<uint16_t>();
      pp.address = TRY(parse_ip4(p.at("address").get<std::string>()));
      a.ports.push_back(pp);
    }
    a.mounts = j.at("mounts").get<std::vector<std::string>>();
  } catch (const json::exception& e) {
    return fail(file + ": network: " + e.what());
  }
  return a;
}

}  // namespace nsbox::net
