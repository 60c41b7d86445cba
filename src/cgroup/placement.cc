#include "cgroup/placement.h"

#include <unistd.h>

#include <algorithm>

#include "base/log.h"
#include "cgroup/control.h"
#include "cgroup/members.h"
#include "cgroup/placement_ways.h"
#include "systemd/bus.h"
#include "systemd/properties.h"

namespace nsbox::cgroup {

std::string Placement::freezer() const { return freezer_file(hierarchies_, made_.leaves); }

Result<> Placement::refuse_busy(const std::vector<std::string>& existing_leaves) {
  // The container's delete kills whatever is in its cgroup, and its limits would apply to
  // strangers: runc refuses such a cgroup the same way. A container that should share limits
  // with others (a pod) gets a cgroup below the shared one, as Kubernetes does.
  if (existing_leaves.empty() || is_empty(existing_leaves)) return {};
  size_t seen = members(existing_leaves).size();
  return fail("container's cgroup is not empty: " +
              (seen > 0 ? std::to_string(seen) + " process(es) found" : std::string("it holds processes of another pid namespace")) +
              " in " + existing_leaves.front());
}

Result<> Placement::write_limits(bool devices) {
  TRY(cgroup::apply(made_.leaves, resources_));
  // In a user namespace the devices controller refuses every write (it needs CAP_SYS_ADMIN in
  // the initial namespace), and no new node can be made there anyway: runc and crun skip
  // device rules for rootless containers as well.
  if (devices) TRY(apply_device_rules(made_.leaves, resources_.devices));
  return {};
}

Result<> Placement::make_homes(pid_t move) {
  if (!nested_) return {};
  auto homes = TRY(make_nested(made_.leaves));
  // A process already in the leaves (put there by systemd) leaves them first.
  if (move > 0) TRY(enter(homes, move));
  return hand_down_controllers(made_.leaves);
}

Result<std::unique_ptr<Placement>> choose(const Choice& c) {
  auto hs = TRY(discover());
  if (c.systemd) return make_systemd(std::move(hs), c);
  bool any_v1 = std::any_of(hs.begin(), hs.end(), [](const Hierarchy& h) { return h.fstype == "cgroup"; });
  if (any_v1 && !c.rootless) return make_v1_fast(std::move(hs), c);
  return make_direct(std::move(hs), c);
}

Result<spec::Resources> update(const spec::State& st, const spec::Resources& r) {
  // The container's whole resources with the update laid over them: systemd needs them all
  // (a quota with its period), as runc sends them.
  spec::Resources base;
  if (!st.resources_json.empty()) {
    base = TRY(spec::parse_resources(st.resources_json, st.bundle + " (its state)", "linux.resources"));
  }
  spec::Resources all = spec::merged(std::move(base), r);
  if (!st.systemd_unit.empty()) {
    // systemd first (its idea of the limits, which it writes back on a reload), then
    // cgroupfs, as runc does.
    auto bus = TRY(systemd::Bus::open(st.systemd_user));
    int version = TRY(bus.version());
    bool v2 = std::all_of(st.cgroup_leaves.begin(), st.cgroup_leaves.end(), [](const std::string& l) { return is_cgroup2(l); });
    auto props = TRY(systemd::resource_properties(all, v2, version));
    TRY(bus.set(st.systemd_unit, props));
  }
  // Device rules only when the update gives some: rewriting them opens a moment without.
  spec::Resources write = all;
  write.devices.clear();
  TRY(cgroup::apply(st.cgroup_leaves, write));
  if (!r.devices.empty()) TRY(apply_device_rules(st.cgroup_leaves, r.devices));
  return all;
}

Result<> remove(const std::vector<std::string>& leaves, const std::vector<std::string>& created,
                const std::string& systemd_unit, bool systemd_user) {
  if (!systemd_unit.empty()) {
    // Stopped and reset, so that a unit that failed goes too; what systemd leaves of its
    // cgroups goes below.
    auto bus = systemd::Bus::open(systemd_user);
    auto warning = bus ? bus->stop(systemd_unit) : fail(std::move(bus.error()));
    if (!warning) return fail(std::move(warning.error().context("remove unit " + systemd_unit)));
    if (!warning->empty()) log::warn(*warning);
  }
  TRY(destroy(leaves, created));
  if (!systemd_unit.empty()) remove_empty_slices(leaves);
  return {};
}

void remove_empty_slices(const std::vector<std::string>& leaves) {
  // The v1 controllers' copies of a unit's slices are made by whichever container came first
  // (placement_systemd.cc) and shared by the others: the last one out removes them. Only
  // directories named as slices, only where empty; systemd keeps its own (cgroup2 and
  // name=systemd) itself.
  for (const auto& leaf : leaves) {
    std::string dir = leaf.substr(0, leaf.rfind('/'));
    while (dir.ends_with(".slice") && !is_cgroup2(dir) && dir.find("/systemd/") == std::string::npos) {
      if (::rmdir(dir.c_str()) < 0) break;
      dir = dir.substr(0, dir.rfind('/'));
    }
  }
}

}  // namespace nsbox::cgroup
