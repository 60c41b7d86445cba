// checkpoint (and, later, restore): a running container's processes saved by CRIU, as runc
// does it (the flags, their checks and error texts, the files beside CRIU's images).
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "runtime/container.h"

namespace nsbox::runtime {

struct CheckpointOptions {
  std::string image_path;   // default: ./checkpoint
  std::string work_path;    // default: the image directory
  std::string parent_path;  // relative to image_path: the pre-dump it follows
  std::string page_server;  // ADDRESS:PORT
  std::string manage_cgroups_mode;  // "", soft, full, strict, ignore
  std::vector<std::string> empty_ns;  // only "network"
  // How CRIU keeps the network quiet while it dumps: iptables or nftables (crun's flag);
  // "" is iptables where iptables-restore is on the PATH (runc's way), else nftables.
  std::string network_lock;
  bool leave_running = false, tcp_established = false, tcp_skip_in_flight = false, link_remap = false,
       ext_unix_sk = false, shell_job = false, file_locks = false, pre_dump = false, lazy_pages = false,
       auto_dedup = false;
  int status_fd = -1;
};

// Checkpoint container `id` into o.image_path. Without leave_running or pre_dump the
// container is gone afterwards (CRIU ends its processes; nsbox deletes it as runc does).
Result<> checkpoint(const Globals& g, const std::string& id, const CheckpointOptions& o);

}  // namespace nsbox::runtime
