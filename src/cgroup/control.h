// Resource control on a container's cgroup directories (its "leaves", one per mounted
// hierarchy): limits, freezing, the pids inside and statistics. Each controller is used
// where it is mounted: a v1 hierarchy that has it, else the v2 tree if it is enabled there,
// so v1, v2 and hybrid hosts share one code path. v1 names convert to v2 files the way runc
// and crun convert them.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "cgroup/cgroup.h"
#include "spec/resources.h"

namespace nsbox::cgroup {

// Write every limit in `r`. On a v2 tree, the controllers the limits need are enabled in
// the parents' cgroup.subtree_control first. Errors name the spec field and the file.
Result<> apply(const std::vector<std::string>& leaves, const spec::Resources& r);

// The spec's device rules followed by those every container gets (runc's allowed devices:
// mknod of any node, and the nodes the runtime itself creates).
std::vector<spec::DeviceRule> with_default_devices(const std::vector<spec::DeviceRule>& rules);

// Device access rules (plus runc's default allowed devices): the v1 devices controller,
// or a BPF_CGROUP_DEVICE program on cgroup v2. Set once, at create.
Result<> apply_device_rules(const std::vector<std::string>& leaves,
                            const std::vector<spec::DeviceRule>& rules);

// The file that says (and sets) whether the container is frozen: freezer.state of the v1
// freezer hierarchy, else cgroup.freeze of the v2 leaf; "" when neither is mounted.
std::string freezer_file(const std::vector<Hierarchy>& hs, const std::vector<std::string>& leaves);

// Freeze or thaw, waiting (bounded) until the kernel reports the state reached.
Result<> set_frozen(const std::vector<std::string>& leaves, bool frozen);
bool is_frozen(const std::vector<std::string>& leaves);

// runc's stats document (the "data" of an events stats record), as JSON text.
std::string stats_json(const std::vector<std::string>& leaves);

// Notice of OOM kills in the container's memory cgroup: v1 through an eventfd registered on
// memory.oom_control, v2 by watching memory.events (inotify) for a rising oom_kill count.
class OomWatch {
 public:
  static std::optional<OomWatch> open(const std::vector<std::string>& leaves);
  // Wait up to `timeout_ms`; true when an OOM kill happened since the last call.
  bool poll(int timeout_ms);

 private:
  UniqueFd event_fd_;     // eventfd (v1) or inotify (v2)
  UniqueFd control_fd_;   // v1 memory.oom_control, kept open while registered
  std::string count_file_;
  uint64_t last_count_ = 0;
  uint64_t read_count() const;
};

bool is_cgroup2(const std::string& dir);

// Pure conversions, exposed for tests.
uint64_t shares_to_weight(uint64_t shares);
uint64_t blkio_weight_to_io_weight(uint64_t weight);
// memory.swap.max from v1's memory+swap total; "max" for unlimited, "" for no change.
Result<std::string> swap_to_v2(int64_t swap, int64_t limit);

}  // namespace nsbox::cgroup
