// linux.resources of config.json (and of `update --resources`): the cgroup limits, kept as
// given (v1 names); cgroup/ converts them for cgroup v2 the way runc and crun do.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace nsbox::spec {

struct MemoryLimits {
  std::optional<int64_t> limit, reservation, swap, kernel, kernel_tcp;
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer;
  std::optional<bool> use_hierarchy;
};

struct CpuLimits {
  std::optional<uint64_t> shares, period, burst, realtime_period;
  std::optional<int64_t> quota, realtime_runtime, idle;
  std::string cpus, mems;
};

struct WeightDevice {
  int64_t major = 0, minor = 0;
  std::optional<uint16_t> weight, leaf_weight;
};

struct ThrottleDevice {
  int64_t major = 0, minor = 0;
  uint64_t rate = 0;
};

struct BlockIoLimits {
  std::optional<uint16_t> weight, leaf_weight;
  std::vector<WeightDevice> weight_devices;
  std::vector<ThrottleDevice> read_bps, write_bps, read_iops, write_iops;
};

struct HugepageLimit {
  std::string page_size;  // "2MB", "1GB"
  uint64_t limit = 0;
};

struct DeviceRule {
  bool allow = false;
  char type = 'a';  // a, c, b
  std::optional<int64_t> major, minor;  // none: any ('*')
  std::string access = "rwm";
};

struct NetworkLimits {
  std::optional<uint32_t> class_id;
  std::vector<std::pair<std::string, uint32_t>> priorities;
};

struct Resources {
  std::optional<MemoryLimits> memory;
  std::optional<CpuLimits> cpu;
  std::optional<int64_t> pids_limit;
  std::optional<BlockIoLimits> block_io;
  std::vector<HugepageLimit> hugepages;
  std::optional<NetworkLimits> network;
  std::vector<DeviceRule> devices;
  std::map<std::string, std::string> unified;

  // Anything beyond the device rules every default spec carries.
  bool has_limits() const {
    return memory || cpu || pids_limit || block_io || !hugepages.empty() || network ||
           !unified.empty();
  }
};

// The resources as linux.resources JSON (what parse_resources reads back).
std::string resources_to_json(const Resources& r);
// `base` with what `update` gives laid over it, field by field (runc keeps a container's
// whole resources and sends them all: systemd needs the quota with its period, say). Lists
// (devices, throttles, hugepages) are replaced when given.
Resources merged(Resources base, const Resources& update);

// Range checks shared by config.json and `update` flags; errors read "<base>.<field>: reason".
Result<> validate_resources(const Resources& r, const std::string& base);

// Parse a linux.resources object given as JSON text. `base` prefixes field paths in errors
// ("linux.resources" for config.json, "" for an `update --resources` file).
Result<Resources> parse_resources(const std::string& json_text, const std::string& file,
                                  const std::string& base);

}  // namespace nsbox::spec
