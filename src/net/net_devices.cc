#include "net/net_devices.h"

#include <fcntl.h>

#include "base/unique_fd.h"
#include "net/link.h"

namespace nsbox::net {

Result<> move_net_devices(const std::map<std::string, std::string>& devices, pid_t pid) {
  if (devices.empty()) return {};
  std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
  UniqueFd netns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!netns) return fail_errno("error creating network interfaces: open " + path);
  auto host = TRY_CTX(Netlink::open(), "error creating network interfaces");
  for (const auto& [name, new_name] : devices) {
    TRY_CTX(host.move_to_netns(name, new_name, netns.get()),
            "error creating network interfaces: move netDevice " + name + " to namespace " + path);
  }
  return {};
}

}  // namespace nsbox::net
