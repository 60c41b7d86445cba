// `nsbox network create|ls|inspect|rm|check`: nsbox's own networks (net/network.h).
#include "cli/network_command.h"

#include <cstdio>

#include "base/fs.h"
#include "base/log.h"
#include "net/attach.h"
#include "net/cni.h"
#include "net/network.h"
#include "runtime/store.h"
#include "spec/state.h"

namespace nsbox::cli {

const std::vector<FlagSpec> kNetworkFlags = {
    {{"subnet"}, true, "CIDR", "create: the network's IPv4 subnet (default: a free 10.78.N.0/24)"},
    {{"gateway"}, true, "ADDR", "create: the bridge's address (default: the subnet's first)"},
    {{"bridge"}, true, "IFNAME", "create: the bridge's name (default: nsb-NAME)"},
    {{"no-nat"}, false, "", "create: no masquerade of what leaves the network"},
    {{"internal"}, false, "", "create: nothing leaves the network (no NAT, no route out)"},
    {{"format", "f"}, true, "table|json", "ls: output format (default table)"},
    {{"quiet", "q"}, false, "", "ls: print the names only"},
    {{"help", "h"}, false, "", "print this help"}};

namespace {

int usage(const std::string& why) {
  log::error("network: " + why + " (see nsbox network --help)");
  return 1;
}

int create(const runtime::Globals& g, const Parsed& p) {
  if (p.args.size() != 2) return usage("create takes one NAME");
  net::NetworkOptions o;
  o.name = p.args[1];
  o.subnet = p.get("subnet");
  o.gateway = p.get("gateway");
  o.bridge = p.get("bridge");
  o.no_nat = p.flag("no-nat");
  o.internal = p.flag("internal");
  auto n = net::create_network(g.root, o);
  if (!n) return report(n.error());
  std::printf("%s\n", n->name.c_str());
  return 0;
}

int ls(const runtime::Globals& g, const Parsed& p) {
  if (p.args.size() != 1) return usage("ls takes no argument");
  auto all = net::list_networks(g.root);
  if (!all) return report(all.error());
  std::string format = p.get("format", "table");
  if (p.flag("quiet")) {
    for (const auto& n : *all) std::printf("%s\n", n.name.c_str());
    return 0;
  }
  if (format == "json") {
    std::string out = "[";
    for (size_t i = 0; i < all->size(); ++i) {
      std::string j = net::network_to_json((*all)[i], false);
      out += (i ? "," : "") + j.substr(0, j.size() - 1);
    }
    std::printf("%s]\n", out.c_str());
    return 0;
  }
  if (format != "table") return usage("invalid format \"" + format + "\" (table or json)");
  std::printf("%-20s %-18s %-16s %-16s %s\n", "NAME", "SUBNET", "GATEWAY", "BRIDGE", "NAT");
  for (const auto& n : *all) {
    std::printf("%-20s %-18s %-16s %-16s %s\n", n.name.c_str(), n.subnet.str().c_str(), n.gateway.str().c_str(),
                n.bridge.c_str(), n.internal ? "internal" : n.nat ? "yes" : "no");
  }
  return 0;
}

int inspect(const runtime::Globals& g, const Parsed& p) {
  if (p.args.size() < 2) return usage("inspect takes one NAME or more");
  std::string out = "[";
  for (size_t i = 1; i < p.args.size(); ++i) {
    auto n = net::find_network(g.root, p.args[i]);
    if (!n) return report(n.error());
    if (!*n) return report(Error(0, "unknown network \"" + p.args[i] + "\" (nsbox network ls lists them)"));
    std::string j = net::network_to_json(**n, true);
    out += (i > 1 ? "," : "") + j.substr(0, j.size() - 1);
  }
  std::printf("%s]\n", out.c_str());
  return 0;
}

int rm(const runtime::Globals& g, const Parsed& p) {
  if (p.args.size() < 2) return usage("rm takes one NAME or more");
  for (size_t i = 1; i < p.args.size(); ++i) {
    auto r = net::remove_network(g.root, p.args[i], [&](const std::string& id) { return runtime::container_exists(g.root, id); });
    if (!r) return report(r.error());
  }
  return 0;
}

// CNI's CHECK for each CNI network of container ID.
int check(const runtime::Globals& g, const Parsed& p) {
  if (p.args.size() != 2) return usage("check takes one container ID");
  auto dir = runtime::ContainerDir::open(g.root, p.args[1], runtime::Lock::kShared);
  if (!dir) return report(dir.error());
  auto st = dir->load();
  if (!st) return report(st.error());
  if (st->network_json.empty()) return report(Error(0, "container \"" + st->id + "\" is in no network of nsbox's"));
  auto a = net::attached_from_json(st->network_json, dir->path() + "/state.json");
  if (!a) return report(a.error());
  for (const auto& l : a->links) {
    if (l.driver != "cni") continue;
    std::string conf_dir = l.cni_file.substr(0, l.cni_file.rfind('/'));  // where it was made from
    auto cfg = net::cni::find(conf_dir, l.network);
    if (!cfg) return report(cfg.error());
    if (!*cfg) return report(Error(0, "network \"" + l.network + "\": no CNI configuration in " + conf_dir));
    net::cni::Attachment att;
    att.container_id = st->id;
    att.netns_path = "/proc/" + std::to_string(st->pid) + "/ns/net";
    att.ifname = l.ifname;
    if (auto r = net::cni::check(**cfg, att, l.cni_result); !r) return report(r.error());
  }
  return 0;
}

}  // namespace

int cmd_network(const runtime::Globals& g, const std::vector<std::string>& args, const Command& self) {
  auto p = parse(args, kNetworkFlags, true);
  if (!p) return report(p.error());
  if (p->flag("help")) {
    std::fputs(help_text(self).c_str(), stdout);
    return 0;
  }
  if (p->args.empty()) return usage("a subcommand is required: create, ls, inspect, rm or check");
  const std::string& sub = p->args[0];
  if (sub == "create") return create(g, *p);
  if (sub == "ls" || sub == "list") return ls(g, *p);
  if (sub == "inspect") return inspect(g, *p);
  if (sub == "rm" || sub == "remove") return rm(g, *p);
  if (sub == "check") return check(g, *p);
  return usage("unknown subcommand \"" + sub + "\"");
}

}  // namespace nsbox::cli
