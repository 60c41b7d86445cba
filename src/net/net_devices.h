// runtime-spec 1.3 linux.netDevices: host interfaces moved into the container's network
// namespace, renamed when asked, with their permanent global addresses, up. Never moved back:
// when the namespace goes, the kernel returns a physical device and destroys a virtual one.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>

#include "base/error.h"

namespace nsbox::net {

// Moves each device (host name -> name in the container, "" to keep it) into the network
// namespace of process `pid`, in the map's order; the first failure stops (the devices moved
// before it stay: the kernel gives them back with the namespace).
Result<> move_net_devices(const std::map<std::string, std::string>& devices, pid_t pid);

}  // namespace nsbox::net
