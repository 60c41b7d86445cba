// The runtime side of CNI (the Container Network Interface, spec 1.0): a network whose name
// matches a CNI configuration (a .conflist, or a lone plugin's .conf/.json) is set up by
// running that configuration's plugins, as CNI prescribes: ADD in list order when the
// container is created, DEL in reverse order when it is deleted, CHECK on demand. nsbox
// speaks CNI 0.3.0, 0.3.1, 0.4.0 and 1.0.0 (Debian 12's plugins speak them all).
//
// The caller keeps the final ADD result (AddResult::json) with the container: DEL and CHECK
// hand it back to the plugins as their prevResult. The caller also serializes operations on
// one container (CNI forbids concurrent ones) and makes and removes the network namespace.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"

namespace nsbox::net::cni {

inline constexpr const char* kDefaultConfDir = "/etc/cni/net.d";

// One network configuration, normalised to a list whatever file form it came in.
struct Network {
  std::string name;
  std::string cni_version;  // the version selected for the plugins (see find)
  std::string file;         // where it was found
  bool disable_check = false;
  nlohmann::json plugins;  // array of plugin configuration objects, each with a "type"
};

// The configuration named `name` in `dir`: the first file in lexical order among *.conflist
// (a list), *.conf and *.json (one plugin's configuration, taken as a list of one) whose
// "name" is `name`; std::nullopt when there is none (or no `dir`). A file that cannot be
// read or parsed is skipped while looking, since it may be another network's; but when no
// file matches and one was broken, that is the error, naming the file
// ("/etc/cni/net.d/10-x.conflist: invalid JSON: ..."), as it may have been the one meant.
// A matching file that is not a valid configuration is an error naming the file. The
// version used is the highest nsbox speaks among "cniVersion" and "cniVersions".
Result<std::optional<Network>> find(const std::string& dir, const std::string& name);

struct PortMapping {
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  std::string protocol = "tcp";
  std::string host_ip;  // empty: every address
};

// What is attached to the network: (container_id, ifname) identifies it for CNI.
struct Attachment {
  std::string container_id;  // CNI's rule: [A-Za-z0-9][A-Za-z0-9_.-]*
  std::string netns_path;    // the container's network namespace (may be gone for DEL)
  std::string ifname = "eth0";
  std::vector<PortMapping> ports;  // the "portMappings" capability
  // Further capability arguments by convention ("dns", "mac", "ips", "bandwidth"...): an
  // object; each plugin gets those it declares in "capabilities".
  nlohmann::json capability_args = nlohmann::json::object();
  std::vector<std::pair<std::string, std::string>> cni_args;  // CNI_ARGS, "K=V;K2=V2"
  std::vector<std::string> plugin_dirs = {"/usr/lib/cni", "/opt/cni/bin"};
  int timeout_ms = 30000;  // for each plugin run; then the plugin's process group is killed
};

struct AddResult {
  std::string json;                    // the final result, kept by the caller for DEL and CHECK
  std::vector<std::string> addresses;  // in the container, "10.1.0.5/24"
  std::vector<std::string> gateways;
  std::vector<std::string> dns_servers, dns_search, dns_options;
};

// Runs ADD for every plugin in order, each given the previous one's result. When plugin k
// fails, DEL runs for plugins k..0 (best effort) so that nothing is left, then the error:
// "network NAME: plugin bridge (ADD): <msg>: <details>". Every plugin is looked up first.
Result<AddResult> add(const Network& net, const Attachment& att);

// Runs DEL for every plugin in reverse order with the ADD result as prevResult (none when
// `prev_result_json` is empty); all are attempted, the first error is returned. DEL of
// what is not there succeeds, so a second del() does too.
Result<> del(const Network& net, const Attachment& att, const std::string& prev_result_json);

// Runs CHECK for every plugin in order, stopping at the first error; succeeds without
// running anything when the configuration sets disableCheck. Needs CNI 0.4.0 or later.
Result<> check(const Network& net, const Attachment& att, const std::string& prev_result_json);

// ---- Building blocks, public for the tests ----

enum class Command { kAdd, kDel, kCheck };
const char* command_name(Command c);

// The configuration plugin `index` of `net` gets on standard input: its own object with the
// list's "name" and "cniVersion" set, "capabilities" removed, "runtimeConfig" holding the
// capability arguments it declares, and "prevResult" when `prev_result` is given.
nlohmann::json request_config(const Network& net, size_t index, const Attachment& att,
                              const nlohmann::json* prev_result);

// A plugin's error object ({"cniVersion","code","msg","details"}) when `text` is one.
struct PluginError {
  int code = 0;
  std::string msg, details;
  std::string text() const;  // "msg: details", or what of it there is
};
std::optional<PluginError> parse_plugin_error(std::string_view text);

// A result converted to CNI version `to`: between the 0.3.x/0.4.0 form (ips carry "version")
// and the 1.x form (they do not).
Result<nlohmann::json> convert_result(const nlohmann::json& result, const std::string& to);

// The addresses, gateways and DNS of a result, for the container.
AddResult summarize(const nlohmann::json& result);

}  // namespace nsbox::net::cni
