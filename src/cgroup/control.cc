#include "cgroup/control.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/fs.h"
#include "base/log.h"
#include "base/unique_fd.h"

namespace nsbox::cgroup {
namespace {

const std::string kBase = "linux.resources.";

bool is_v2(const std::string& dir) {
  struct statfs sf{};
  return ::statfs(dir.c_str(), &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

bool has_file(const std::string& dir, const std::string& f) { return fs::exists(dir + "/" + f); }

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool contains_word(const std::string& text, const std::string& w) {
  std::istringstream in(text);
  std::string t;
  while (in >> t) {
    if (t == w) return true;
  }
  return false;
}

// Enable `ctrl` in cgroup.subtree_control from the top of the v2 mount down to the
// leaf's parent, so that the leaf gets the controller's files.
void enable_v2(const std::string& leaf, const std::string& ctrl) {
  std::vector<std::string> parents;
  std::string d = leaf;
  for (;;) {
    auto slash = d.rfind('/');
    if (slash == std::string::npos || slash == 0) break;
    d = d.substr(0, slash);
    if (!is_v2(d)) break;
    parents.push_back(d);
  }
  for (auto it = parents.rbegin(); it != parents.rend(); ++it) {
    auto sc = fs::read_file(*it + "/cgroup.subtree_control");
    if (sc && contains_word(*sc, ctrl)) continue;
    (void)fs::write_file(*it + "/cgroup.subtree_control", "+" + ctrl);
  }
}

struct Target {
  std::string dir;
  bool v2 = false;
};

// Where a controller lives: the v1 hierarchy that has `v1_probe`, else the v2 leaf with
// `v2_ctrl` available (enabled on demand).
Result<Target> target(const std::vector<std::string>& leaves, const std::string& v1_probe,
                      const std::string& v2_ctrl, const std::string& field) {
  for (const auto& l : leaves) {
    if (!is_v2(l) && has_file(l, v1_probe)) return Target{l, false};
  }
  for (const auto& l : leaves) {
    if (!is_v2(l)) continue;
    auto have = fs::read_file(l + "/cgroup.controllers");
    if (have && contains_word(*have, v2_ctrl)) return Target{l, true};
    enable_v2(l, v2_ctrl);
    have = fs::read_file(l + "/cgroup.controllers");
    if (have && contains_word(*have, v2_ctrl)) return Target{l, true};
  }
  return fail(kBase + field + ": the " + v2_ctrl + " cgroup controller is not available on this host");
}

Result<> put(const Target& t, const std::string& file, const std::string& value,
             const std::string& field) {
  if (auto r = fs::write_file(t.dir + "/" + file, value); !r) {
    Error e = r.error();
    return fail(Error(e.code(), kBase + field + ": write \"" + value + "\" to " + file));
  }
  return {};
}

Result<> unsupported(const std::string& field, bool v2) {
  return fail(kBase + field + ": not supported on cgroup " + (v2 ? "v2" : "v1"));
}

std::string v1_num(int64_t v) { return std::to_string(v); }
std::string v2_num(int64_t v) { return v == -1 ? "max" : std::to_string(v); }

Result<> apply_memory(const std::vector<std::string>& leaves, const spec::MemoryLimits& m) {
  auto t = TRY(target(leaves, "memory.limit_in_bytes", "memory", "memory"));
  if (t.v2) {
    if (m.limit) TRY(put(t, "memory.max", v2_num(*m.limit), "memory.limit"));
    if (m.swap) {
      int64_t limit = m.limit.value_or(0);
      if (limit == 0) {
        auto cur = fs::read_file(t.dir + "/memory.max");
        if (cur && trim(*cur) != "max") limit = std::stoll(*cur);
        if (cur && trim(*cur) == "max") limit = -1;
      }
      std::string v = TRY(swap_to_v2(*m.swap, limit));
      if (!v.empty()) {
        if (!has_file(t.dir, "memory.swap.max")) return fail(kBase + "memory.swap: swap accounting is not enabled on this host");
        TRY(put(t, "memory.swap.max", v, "memory.swap"));
      }
    }
    if (m.reservation) TRY(put(t, "memory.low", v2_num(*m.reservation), "memory.reservation"));
    // Kernel memory limits do not exist on v2 (and are deprecated on v1): runc ignores them
    // there, and engines still send them.
    if (m.kernel || m.kernel_tcp) log::warn(kBase + "memory.kernel: ignored on cgroup v2");
    if (m.swappiness) return unsupported("memory.swappiness", true);
    if (m.disable_oom_killer.value_or(false)) return unsupported("memory.disableOOMKiller", true);
    return {};
  }
  // v1: memory.memsw.limit_in_bytes must never be below memory.limit_in_bytes, so the order
  // of the two writes depends on whether the limit grows or shrinks.
  bool swap_first = false;
  if (m.swap) {
    if (!has_file(t.dir, "memory.memsw.limit_in_bytes")) {
      return fail(kBase + "memory.swap: swap accounting is not enabled on this host");
    }
    auto cur = fs::read_file(t.dir + "/memory.limit_in_bytes");
    int64_t cur_limit = cur ? std::stoll(*cur) : 0;
    swap_first = *m.swap == -1 || cur_limit < *m.swap;
  }
  if (swap_first) TRY(put(t, "memory.memsw.limit_in_bytes", v1_num(*m.swap), "memory.swap"));
  if (m.limit) TRY(put(t, "memory.limit_in_bytes", v1_num(*m.limit), "memory.limit"));
  if (m.swap && !swap_first) TRY(put(t, "memory.memsw.limit_in_bytes", v1_num(*m.swap), "memory.swap"));
  if (m.reservation) TRY(put(t, "memory.soft_limit_in_bytes", v1_num(*m.reservation), "memory.reservation"));
  if (m.kernel) {
    if (!has_file(t.dir, "memory.kmem.limit_in_bytes")) return unsupported("memory.kernel", false);
    TRY(put(t, "memory.kmem.limit_in_bytes", v1_num(*m.kernel), "memory.kernel"));
  }
  if (m.kernel_tcp) TRY(put(t, "memory.kmem.tcp.limit_in_bytes", v1_num(*m.kernel_tcp), "memory.kernelTCP"));
  if (m.swappiness) TRY(put(t, "memory.swappiness", std::to_string(*m.swappiness), "memory.swappiness"));
  if (m.disable_oom_killer) {
    TRY(put(t, "memory.oom_control", *m.disable_oom_killer ? "1" : "0", "memory.disableOOMKiller"));
  }
  return {};
}

Result<> apply_cpu(const std::vector<std::string>& leaves, const spec::CpuLimits& c) {
  bool any_cpu = c.shares || c.quota || c.period || c.burst || c.realtime_runtime ||
                 c.realtime_period || c.idle;
  if (any_cpu) {
    auto t = TRY(target(leaves, "cpu.shares", "cpu", "cpu"));
    if (t.v2) {
      if (c.shares && *c.shares != 0) TRY(put(t, "cpu.weight", std::to_string(shares_to_weight(*c.shares)), "cpu.shares"));
      if (c.quota || c.period) {
        std::string quota = "max";
        std::string period = "100000";
        auto cur = fs::read_file(t.dir + "/cpu.max");
        if (cur) {
          std::istringstream in(*cur);
          in >> quota >> period;
        }
        if (c.quota) quota = *c.quota == -1 ? "max" : std::to_string(*c.quota);
        if (c.period) period = std::to_string(*c.period);
        TRY(put(t, "cpu.max", quota + " " + period, c.quota ? "cpu.quota" : "cpu.period"));
      }
      if (c.burst) TRY(put(t, "cpu.max.burst", std::to_string(*c.burst), "cpu.burst"));
      if (c.realtime_runtime) return unsupported("cpu.realtimeRuntime", true);
      if (c.realtime_period) return unsupported("cpu.realtimePeriod", true);
      if (c.idle) TRY(put(t, "cpu.idle", std::to_string(*c.idle), "cpu.idle"));
    } else {
      if (c.shares) TRY(put(t, "cpu.shares", std::to_string(*c.shares), "cpu.shares"));
      // A new period first: the quota is checked against it.
      if (c.period) TRY(put(t, "cpu.cfs_period_us", std::to_string(*c.period), "cpu.period"));
      if (c.quota) TRY(put(t, "cpu.cfs_quota_us", std::to_string(*c.quota), "cpu.quota"));
      if (c.burst) TRY(put(t, "cpu.cfs_burst_us", std::to_string(*c.burst), "cpu.burst"));
      if (c.realtime_period) TRY(put(t, "cpu.rt_period_us", std::to_string(*c.realtime_period), "cpu.realtimePeriod"));
      if (c.realtime_runtime) TRY(put(t, "cpu.rt_runtime_us", std::to_string(*c.realtime_runtime), "cpu.realtimeRuntime"));
      if (c.idle) TRY(put(t, "cpu.idle", std::to_string(*c.idle), "cpu.idle"));
    }
  }
  if (!c.cpus.empty() || !c.mems.empty()) {
    auto t = TRY(target(leaves, "cpuset.cpus", "cpuset", "cpu"));
    if (!c.cpus.empty()) TRY(put(t, "cpuset.cpus", c.cpus, "cpu.cpus"));
    if (!c.mems.empty()) TRY(put(t, "cpuset.mems", c.mems, "cpu.mems"));
  }
  return {};
}

std::string devnum(int64_t major, int64_t minor) {
  return std::to_string(major) + ":" + std::to_string(minor);
}

Result<> apply_blkio(const std::vector<std::string>& leaves, const spec::BlockIoLimits& b) {
  auto t = TRY(target(leaves, "blkio.throttle.read_bps_device", "io", "blockIO"));
  if (t.v2) {
    bool bfq = has_file(t.dir, "io.bfq.weight");
    if (b.weight) {
      if (bfq) {
        TRY(put(t, "io.bfq.weight", std::to_string(*b.weight), "blockIO.weight"));
      } else if (has_file(t.dir, "io.weight")) {
        TRY(put(t, "io.weight", "default " + std::to_string(blkio_weight_to_io_weight(*b.weight)), "blockIO.weight"));
      } else {
        return fail(kBase + "blockIO.weight: no io.weight or io.bfq.weight on this host (no weight-based I/O scheduler)");
      }
    }
    if (b.leaf_weight) return unsupported("blockIO.leafWeight", true);
    for (size_t i = 0; i < b.weight_devices.size(); ++i) {
      const auto& d = b.weight_devices[i];
      std::string field = "blockIO.weightDevice[" + std::to_string(i) + "]";
      if (d.leaf_weight) return unsupported(field + ".leafWeight", true);
      if (!d.weight) continue;
      if (bfq) {
        TRY(put(t, "io.bfq.weight", devnum(d.major, d.minor) + " " + std::to_string(*d.weight), field));
      } else {
        TRY(put(t, "io.weight", devnum(d.major, d.minor) + " " + std::to_string(blkio_weight_to_io_weight(*d.weight)), field));
      }
    }
    auto throttle = [&](const std::vector<spec::ThrottleDevice>& v, const char* key, const char* name) -> Result<> {
      for (size_t i = 0; i < v.size(); ++i) {
        std::string rate = v[i].rate == 0 ? "max" : std::to_string(v[i].rate);
        TRY(put(t, "io.max", devnum(v[i].major, v[i].minor) + " " + key + "=" + rate,
                std::string("blockIO.") + name + "[" + std::to_string(i) + "]"));
      }
      return {};
    };
    TRY(throttle(b.read_bps, "rbps", "throttleReadBpsDevice"));
    TRY(throttle(b.write_bps, "wbps", "throttleWriteBpsDevice"));
    TRY(throttle(b.read_iops, "riops", "throttleReadIOPSDevice"));
    TRY(throttle(b.write_iops, "wiops", "throttleWriteIOPSDevice"));
    return {};
  }
  std::string wfile = has_file(t.dir, "blkio.weight") ? "blkio.weight"
                      : has_file(t.dir, "blkio.bfq.weight") ? "blkio.bfq.weight" : "";
  if (b.weight) {
    if (wfile.empty()) return fail(kBase + "blockIO.weight: no blkio.weight or blkio.bfq.weight on this host (no weight-based I/O scheduler)");
    TRY(put(t, wfile, std::to_string(*b.weight), "blockIO.weight"));
  }
  if (b.leaf_weight) {
    if (!has_file(t.dir, "blkio.leaf_weight")) return fail(kBase + "blockIO.leafWeight: no blkio.leaf_weight on this host");
    TRY(put(t, "blkio.leaf_weight", std::to_string(*b.leaf_weight), "blockIO.leafWeight"));
  }
  for (size_t i = 0; i < b.weight_devices.size(); ++i) {
    const auto& d = b.weight_devices[i];
    std::string field = "blockIO.weightDevice[" + std::to_string(i) + "]";
    if (wfile.empty()) return fail(kBase + field + ": no per-device weight file on this host");
    if (d.weight) TRY(put(t, wfile + "_device", devnum(d.major, d.minor) + " " + std::to_string(*d.weight), field));
    if (d.leaf_weight) TRY(put(t, "blkio.leaf_weight_device", devnum(d.major, d.minor) + " " + std::to_string(*d.leaf_weight), field));
  }
  auto throttle = [&](const std::vector<spec::ThrottleDevice>& v, const char* file, const char* name) -> Result<> {
    for (size_t i = 0; i < v.size(); ++i) {
      TRY(put(t, file, devnum(v[i].major, v[i].minor) + " " + std::to_string(v[i].rate),
              std::string("blockIO.") + name + "[" + std::to_string(i) + "]"));
    }
    return {};
  };
  TRY(throttle(b.read_bps, "blkio.throttle.read_bps_device", "throttleReadBpsDevice"));
  TRY(throttle(b.write_bps, "blkio.throttle.write_bps_device", "throttleWriteBpsDevice"));
  TRY(throttle(b.read_iops, "blkio.throttle.read_iops_device", "throttleReadIOPSDevice"));
  TRY(throttle(b.write_iops, "blkio.throttle.write_iops_device", "throttleWriteIOPSDevice"));
  return {};
}

Result<> apply_hugepages(const std::vector<std::string>& leaves, const std::vector<spec::HugepageLimit>& hs) {
  for (size_t i = 0; i < hs.size(); ++i) {
    std::string field = "hugepageLimits[" + std::to_string(i) + "]";
    const auto& h = hs[i];
    std::string v1 = "hugetlb." + h.page_size + ".limit_in_bytes";
    auto t = TRY(target(leaves, v1, "hugetlb", field));
    std::string file = t.v2 ? "hugetlb." + h.page_size + ".max" : v1;
    if (!has_file(t.dir, file)) return fail(kBase + field + ".pageSize: unsupported page size \"" + h.page_size + "\"");
    TRY(put(t, file, std::to_string(h.limit), field + ".limit"));
  }
  return {};
}

Result<> apply_network(const std::vector<std::string>& leaves, const spec::NetworkLimits& n) {
  if (n.class_id) {
    auto t = TRY(target(leaves, "net_cls.classid", "net_cls", "network.classID"));
    if (t.v2) return unsupported("network.classID", true);
    TRY(put(t, "net_cls.classid", std::to_string(*n.class_id), "network.classID"));
  }
  for (size_t i = 0; i < n.priorities.size(); ++i) {
    std::string field = "network.priorities[" + std::to_string(i) + "]";
    auto t = TRY(target(leaves, "net_prio.ifpriomap", "net_prio", field));
    if (t.v2) return unsupported(field, true);
    TRY(put(t, "net_prio.ifpriomap", n.priorities[i].first + " " + std::to_string(n.priorities[i].second), field));
  }
  return {};
}

}  // namespace

std::vector<spec::DeviceRule> with_default_devices(const std::vector<spec::DeviceRule>& rules) {
  std::vector<spec::DeviceRule> out = rules;
  auto add = [&](char type, std::optional<int64_t> major, std::optional<int64_t> minor, const char* access) {
    out.push_back({true, type, major, minor, access});
  };
  add('c', std::nullopt, std::nullopt, "m");
  add('b', std::nullopt, std::nullopt, "m");
  add('c', 1, 3, "rwm");    // null
  add('c', 1, 5, "rwm");    // zero
  add('c', 1, 7, "rwm");    // full
  add('c', 1, 8, "rwm");    // random
  add('c', 1, 9, "rwm");    // urandom
  add('c', 5, 0, "rwm");    // tty
  add('c', 5, 1, "rwm");    // console
  add('c', 5, 2, "rwm");    // ptmx
  add('c', 136, std::nullopt, "rwm");  // pts
  add('c', 10, 200, "rwm");  // tun
  return out;
}

namespace {

std::string v1_rule(const spec::DeviceRule& r) {
  auto num = [](const std::optional<int64_t>& v) { return v ? std::to_string(*v) : std::string("*"); };
  return std::string(1, r.type) + " " + num(r.major) + ":" + num(r.minor) + " " + r.access;
}

// The cgroup v2 device controller is a BPF program. Rules are checked from the last to the
// first and the first match decides, which gives v1's "later rules win"; nothing matching
// means deny.
std::vector<bpf_insn> device_program(const std::vector<spec::DeviceRule>& rules) {
  auto insn = [](uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
  };
  std::vector<bpf_insn> p;
  // r2 = type, r3 = access, r4 = major, r5 = minor (struct bpf_cgroup_dev_ctx).
  p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0));
  p.push_back(insn(BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, 0xffff));
  p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, 3, 1, 0, 0));
  p.push_back(insn(BPF_ALU | BPF_RSH | BPF_K, 3, 0, 0, 16));
  p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0));
  p.push_back(insn(BPF_LDX | BPF_MEM | BPF_W, 5, 1, 8, 0));
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    const auto& r = *it;
    std::vector<bpf_insn> block;
    std::vector<size_t> jumps;  // indexes of jumps to the end of the block
    if (r.type != 'a') {
      jumps.push_back(block.size());
      block.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, 2, 0, 0,
                           r.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
    }
    int32_t mask = 0;
    for (char c : r.access) {
      mask |= c == 'r' ? BPF_DEVCG_ACC_READ : c == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
    }
    if (mask != (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)) {
      // The request matches only when it asks for nothing outside the rule's access.
      block.push_back(insn(BPF_ALU | BPF_MOV | BPF_X, 1, 3, 0, 0));
      block.push_back(insn(BPF_ALU | BPF_AND | BPF_K, 1, 0, 0, ~mask & 7));
      jumps.push_back(block.size());
      block.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, 1, 0, 0, 0));
    }
    if (r.major) {
      jumps.push_back(block.size());
      block.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, 4, 0, 0, static_cast<int32_t>(*r.major)));
    }
    if (r.minor) {
      jumps.push_back(block.size());
      block.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, 5, 0, 0, static_cast<int32_t>(*r.minor)));
    }
    block.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, r.allow ? 1 : 0));
    block.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    for (size_t j : jumps) block[j].off = static_cast<int16_t>(block.size() - j - 1);
    p.insert(p.end(), block.begin(), block.end());
    // A rule that matches every request decides all that reaches it: anything after it
    // would be unreachable, which the verifier refuses.
    if (jumps.empty()) return p;
  }
  p.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0));
  p.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  return p;
}

Result<> attach_device_program(const std::string& dir, const std::vector<spec::DeviceRule>& rules) {
  auto prog = device_program(rules);
  char license[] = "Apache";
  std::vector<char> log(8192);
  bpf_attr load{};
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = reinterpret_cast<uint64_t>(prog.data());
  load.insn_cnt = static_cast<uint32_t>(prog.size());
  load.license = reinterpret_cast<uint64_t>(license);
  load.log_buf = reinterpret_cast<uint64_t>(log.data());
  load.log_size = static_cast<uint32_t>(log.size());
  load.log_level = 1;
  UniqueFd pfd(static_cast<int>(::syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load)));
  if (!pfd) return fail_errno(kBase + "devices: load the device filter (BPF) program: " + std::string(log.data()));
  UniqueFd cfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cfd) return fail_errno("open " + dir);
  bpf_attr att{};
  att.target_fd = static_cast<uint32_t>(cfd.get());
  att.attach_bpf_fd = static_cast<uint32_t>(pfd.get());
  att.attach_type = BPF_CGROUP_DEVICE;
  att.attach_flags = BPF_F_ALLOW_MULTI;
  if (::syscall(SYS_bpf, BPF_PROG_ATTACH, &att, sizeof att) < 0) {
    return fail_errno(kBase + "devices: attach the device filter to " + dir);
  }
  return {};
}

Result<> apply_devices(const std::vector<std::string>& leaves, const std::vector<spec::DeviceRule>& rules) {
  auto all = with_default_devices(rules);
  for (const auto& l : leaves) {
    if (!is_v2(l) && has_file(l, "devices.allow")) {
      // One rule a write, on two files opened once.
      UniqueFd files[2];
      const char* names[2] = {"devices.deny", "devices.allow"};
      for (size_t i = 0; i < all.size(); ++i) {
        std::string field = i < rules.size() ? "devices[" + std::to_string(i) + "]" : "devices (default rules)";
        std::string rule = v1_rule(all[i]);
        UniqueFd& f = files[all[i].allow ? 1 : 0];
        const char* name = names[all[i].allow ? 1 : 0];
        if (!f) f.reset(::open((l + "/" + name).c_str(), O_WRONLY | O_CLOEXEC));
        if (!f || ::write(f.get(), rule.data(), rule.size()) != static_cast<ssize_t>(rule.size())) {
          int e = errno;
          return fail(Error(e, kBase + field + ": write \"" + rule + "\" to " + name));
        }
      }
      return {};
    }
  }
  // No v1 devices hierarchy: on cgroup2 the device controller is always there, as BPF.
  for (const auto& l : leaves) {
    if (is_v2(l)) return attach_device_program(l, all);
  }
  return {};  // no device controller at all (a hybrid host without v1 devices): nothing to apply
}

}  // namespace

std::optional<OomWatch> OomWatch::open(const std::vector<std::string>& leaves) {
  for (const auto& l : leaves) {
    OomWatch w;
    if (!is_v2(l) && has_file(l, "memory.oom_control")) {
      w.count_file_ = l + "/memory.oom_control";
      w.event_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
      w.control_fd_.reset(::open(w.count_file_.c_str(), O_RDONLY | O_CLOEXEC));
      if (!w.event_fd_ || !w.control_fd_) return std::nullopt;
      std::string reg = std::to_string(w.event_fd_.get()) + " " + std::to_string(w.control_fd_.get());
      if (!fs::write_file(l + "/cgroup.event_control", reg)) return std::nullopt;
    } else if (is_v2(l) && has_file(l, "memory.events")) {
      w.count_file_ = l + "/memory.events";
      w.event_fd_.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
      if (!w.event_fd_ || ::inotify_add_watch(w.event_fd_.get(), w.count_file_.c_str(), IN_MODIFY) < 0) {
        return std::nullopt;
      }
    } else {
      continue;
    }
    w.last_count_ = w.read_count();
    return w;
  }
  return std::nullopt;
}

uint64_t OomWatch::read_count() const {
  auto s = fs::read_file(count_file_);
  if (!s) return last_count_;
  auto pos = s->find("oom_kill ");
  if (pos == std::string::npos) return last_count_;
  return std::stoull(s->substr(pos + 9));
}

bool OomWatch::poll(int timeout_ms) {
  pollfd p{event_fd_.get(), POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) > 0) {
    char buf[4096];
    while (::read(event_fd_.get(), buf, sizeof buf) > 0) {
    }
  }
  // The counter decides: a v1 eventfd also fires when the cgroup goes away.
  uint64_t now = read_count();
  bool oom = now > last_count_;
  last_count_ = now;
  return oom;
}

bool is_cgroup2(const std::string& dir) { return is_v2(dir); }

uint64_t shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
  if (weight == 0) return 0;
  return 1 + (weight - 10) * 9999 / 990;
}

Result<std::string> swap_to_v2(int64_t swap, int64_t limit) {
  if (swap == -1) return std::string("max");
  if (swap == 0) return std::string();
  if (limit == 0 || limit == -1) {
    return fail(kBase + "memory.swap: a swap limit needs a memory limit");
  }
  if (swap < limit) return fail(kBase + "memory.swap: memory+swap limit must not be below the memory limit");
  return std::to_string(swap - limit);
}

Result<> apply(const std::vector<std::string>& leaves, const spec::Resources& r) {
  if (r.memory) TRY(apply_memory(leaves, *r.memory));
  if (r.cpu) TRY(apply_cpu(leaves, *r.cpu));
  if (r.pids_limit) {
    auto t = TRY(target(leaves, "pids.max", "pids", "pids"));
    TRY(put(t, "pids.max", *r.pids_limit <= 0 ? "max" : std::to_string(*r.pids_limit), "pids.limit"));
  }
  if (r.block_io) TRY(apply_blkio(leaves, *r.block_io));
  if (!r.hugepages.empty()) TRY(apply_hugepages(leaves, r.hugepages));
  if (r.network) TRY(apply_network(leaves, *r.network));
  if (!r.unified.empty()) {
    const std::string* v2 = nullptr;
    for (const auto& l : leaves) {
      if (is_v2(l)) v2 = &l;
    }
    bool pure_v2 = v2 != nullptr && leaves.size() == 1;
    if (!pure_v2) return fail(kBase + "unified: needs a cgroup v2 host (this one has cgroup v1 controllers)");
    for (const auto& [k, v] : r.unified) {
      auto dot = k.find('.');
      if (dot != std::string::npos && k.substr(0, dot) != "cgroup") enable_v2(*v2, k.substr(0, dot));
      TRY(put(Target{*v2, true}, k, v, "unified." + k));
    }
  }
  return {};
}

Result<> apply_device_rules(const std::vector<std::string>& leaves, const std::vector<spec::DeviceRule>& rules) {
  return apply_devices(leaves, rules);
}

std::string freezer_file(const std::vector<Hierarchy>& hs, const std::vector<std::string>& leaves) {
  for (size_t i = 0; i < hs.size() && i < leaves.size(); ++i) {
    std::string c = "," + hs[i].controllers + ",";
    if (hs[i].fstype == "cgroup" && c.find(",freezer,") != std::string::npos) return leaves[i] + "/freezer.state";
  }
  for (size_t i = 0; i < hs.size() && i < leaves.size(); ++i) {
    if (hs[i].fstype == "cgroup2") return leaves[i] + "/cgroup.freeze";
  }
  return "";
}

Result<> set_frozen(const std::vector<std::string>& leaves, bool frozen) {
  for (const auto& l : leaves) {
    if (!is_v2(l) && has_file(l, "freezer.state")) {
      TRY_CTX(fs::write_file(l + "/freezer.state", frozen ? "FROZEN" : "THAWED"), "freezer");
      for (int i = 0; i < 2000; ++i) {
        auto s = fs::read_file(l + "/freezer.state");
        if (s && trim(*s) == (frozen ? "FROZEN" : "THAWED")) return {};
        if (frozen && i % 100 == 99) (void)fs::write_file(l + "/freezer.state", "FROZEN");
        ::usleep(1000);
      }
      return fail(std::string("the cgroup did not reach ") + (frozen ? "FROZEN" : "THAWED") + " within 2s");
    }
  }
  for (const auto& l : leaves) {
    if (is_v2(l) && has_file(l, "cgroup.freeze")) {
      TRY_CTX(fs::write_file(l + "/cgroup.freeze", frozen ? "1" : "0"), "freeze");
      for (int i = 0; i < 2000; ++i) {
        auto ev = fs::read_file(l + "/cgroup.events");
        if (ev && ev->find(frozen ? "frozen 1" : "frozen 0") != std::string::npos) return {};
        ::usleep(1000);
      }
      return fail(std::string("the cgroup did not become ") + (frozen ? "frozen" : "thawed") + " within 2s");
    }
  }
  return fail("no freezer: neither a v1 freezer hierarchy nor cgroup.freeze is available");
}

bool is_frozen(const std::vector<std::string>& leaves) {
  for (const auto& l : leaves) {
    auto s = fs::read_file(l + "/freezer.state");
    if (s) return s->starts_with("FROZEN") || s->starts_with("FREEZING");
    auto f = fs::read_file(l + "/cgroup.freeze");
    if (f) return f->starts_with("1");
  }
  return false;
}

std::string stats_json(const std::vector<std::string>& leaves) {
  using json = nlohmann::ordered_json;
  auto num = [](const std::string& path) -> uint64_t {
    auto s = fs::read_file(path);
    if (!s) return 0;
    std::string t = trim(*s);
    if (t.empty() || t == "max") return 0;
    try {
      return std::stoull(t);
    } catch (...) {
      return 0;
    }
  };
  auto kv = [](const std::string& path) {
    std::map<std::string, uint64_t> m;
    auto s = fs::read_file(path);
    if (!s) return m;
    std::istringstream in(*s);
    std::string k;
    uint64_t v;
    while (in >> k >> v) m[k] = v;
    return m;
  };
  json data = json::object();
  json cpu = {{"usage", {{"total", 0}, {"kernel", 0}, {"user", 0}}}, {"throttling", json::object()}};
  json memory = json::object();
  json pidsj = json::object();
  for (const auto& l : leaves) {
    bool v2 = is_v2(l);
    if (v2 && has_file(l, "cpu.stat")) {
      auto st = kv(l + "/cpu.stat");
      if (st.contains("usage_usec") && cpu["usage"]["total"] == 0) {
        cpu["usage"]["total"] = st["usage_usec"] * 1000;
        cpu["usage"]["user"] = st["user_usec"] * 1000;
        cpu["usage"]["kernel"] = st["system_usec"] * 1000;
        cpu["throttling"] = {{"periods", st["nr_periods"]},
                             {"throttled_periods", st["nr_throttled"]},
                             {"throttled_time", st["throttled_usec"] * 1000}};
      }
    }
    if (!v2 && has_file(l, "cpuacct.usage")) {
      cpu["usage"]["total"] = num(l + "/cpuacct.usage");
      auto st = kv(l + "/cpuacct.stat");
      long hz = ::sysconf(_SC_CLK_TCK);
      cpu["usage"]["user"] = st["user"] * (1000000000ULL / static_cast<uint64_t>(hz));
      cpu["usage"]["kernel"] = st["system"] * (1000000000ULL / static_cast<uint64_t>(hz));
    }
    if (!v2 && has_file(l, "cpu.stat") && has_file(l, "cpu.shares")) {
      auto st = kv(l + "/cpu.stat");
      cpu["throttling"] = {{"periods", st["nr_periods"]},
                           {"throttled_periods", st["nr_throttled"]},
                           {"throttled_time", st["throttled_time"]}};
    }
    if (!v2 && has_file(l, "memory.usage_in_bytes")) {
      memory["usage"] = {{"limit", num(l + "/memory.limit_in_bytes")},
                         {"usage", num(l + "/memory.usage_in_bytes")},
                         {"max", num(l + "/memory.max_usage_in_bytes")},
                         {"failcnt", num(l + "/memory.failcnt")}};
      memory["swap"] = {{"limit", num(l + "/memory.memsw.limit_in_bytes")},
                        {"usage", num(l + "/memory.memsw.usage_in_bytes")},
                        {"max", num(l + "/memory.memsw.max_usage_in_bytes")},
                        {"failcnt", num(l + "/memory.memsw.failcnt")}};
      memory["raw"] = kv(l + "/memory.stat");
    }
    if (v2 && has_file(l, "memory.current")) {
      memory["usage"] = {{"limit", num(l + "/memory.max")},
                         {"usage", num(l + "/memory.current")},
                         {"max", num(l + "/memory.peak")},
                         {"failcnt", kv(l + "/memory.events")["max"]}};
      memory["swap"] = {{"limit", num(l + "/memory.swap.max")}, {"usage", num(l + "/memory.swap.current")}};
      memory["raw"] = kv(l + "/memory.stat");
    }
    if (has_file(l, "pids.current") && pidsj.empty()) {
      pidsj = {{"current", num(l + "/pids.current")}, {"limit", num(l + "/pids.max")}};
    }
  }
  data["cpu"] = cpu;
  data["memory"] = memory;
  data["pids"] = pidsj;
  json blkio = json::object();
  json hugetlb = json::object();
  for (const auto& l : leaves) {
    bool v2 = is_v2(l);
    auto entry = [](const std::string& dev, const char* op, uint64_t v) {
      auto c = dev.find(':');
      return json{{"major", std::stoull(dev.substr(0, c))}, {"minor", std::stoull(dev.substr(c + 1))},
                  {"op", op}, {"value", v}};
    };
    if (!v2 && has_file(l, "blkio.throttle.io_service_bytes_recursive") && blkio.empty()) {
      for (auto [file, key] : {std::pair{"blkio.throttle.io_service_bytes_recursive", "ioServiceBytesRecursive"},
                               {"blkio.throttle.io_serviced_recursive", "ioServicedRecursive"}}) {
        json a = json::array();
        auto text = fs::read_file(l + "/" + file);
        std::istringstream in(text ? *text : "");
        std::string dev, op;
        uint64_t v;
        while (in >> dev) {
          if (dev == "Total") {
            in >> v;
            continue;
          }
          if (!(in >> op >> v)) break;
          if (dev.find(':') != std::string::npos) a.push_back(entry(dev, op.c_str(), v));
        }
        blkio[key] = a;
      }
    }
    if (v2 && has_file(l, "io.stat") && blkio.empty()) {
      json bytes = json::array(), ios = json::array();
      auto text = fs::read_file(l + "/io.stat");
      std::istringstream lines(text ? *text : "");
      std::string line;
      while (std::getline(lines, line)) {
        std::istringstream in(line);
        std::string dev, kvp;
        in >> dev;
        if (dev.find(':') == std::string::npos) continue;
        while (in >> kvp) {
          auto eq = kvp.find('=');
          if (eq == std::string::npos) continue;
          std::string k = kvp.substr(0, eq);
          uint64_t v = std::stoull(kvp.substr(eq + 1));
          if (k == "rbytes") bytes.push_back(entry(dev, "Read", v));
          if (k == "wbytes") bytes.push_back(entry(dev, "Write", v));
          if (k == "rios") ios.push_back(entry(dev, "Read", v));
          if (k == "wios") ios.push_back(entry(dev, "Write", v));
        }
      }
      blkio = {{"ioServiceBytesRecursive", bytes}, {"ioServicedRecursive", ios}};
    }
    // hugetlb.<size>.{usage_in_bytes,max_usage_in_bytes,failcnt} (v1) / {current,events} (v2).
    DIR* d = ::opendir(l.c_str());
    if (d == nullptr) continue;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (!n.starts_with("hugetlb.")) continue;
      std::string rest = n.substr(8);
      auto dot = rest.find('.');
      if (dot == std::string::npos) continue;
      std::string size = rest.substr(0, dot), what = rest.substr(dot + 1);
      if (!v2 && what == "usage_in_bytes") {
        std::string base = l + "/hugetlb." + size;
        hugetlb[size] = {{"usage", num(base + ".usage_in_bytes")},
                         {"max", num(base + ".max_usage_in_bytes")},
                         {"failcnt", num(base + ".failcnt")}};
      } else if (v2 && what == "current") {
        std::string base = l + "/hugetlb." + size;
        hugetlb[size] = {{"usage", num(base + ".current")}, {"failcnt", kv(base + ".events")["max"]}};
      }
    }
    ::closedir(d);
  }
  data["blkio"] = blkio;
  data["hugetlb"] = hugetlb;
  return data.dump();
}

}  // namespace nsbox::cgroup
