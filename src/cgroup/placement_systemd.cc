// The systemd way (cgroup/placement.h, --systemd-cgroup): the container's init is put in a
// transient scope unit by systemd (StartTransientUnit with its pid, Delegate=yes, no default
// dependencies, accounting on), the limits systemd knows are set as unit properties, and all
// of them are written to cgroupfs too, as runc does. The unit and the bus (the system's, or
// the user's own for a rootless container) are remembered in the state.
#include <unistd.h>

#include <algorithm>

#include "cgroup/control.h"
#include "cgroup/placement_ways.h"
#include "systemd/bus.h"
#include "systemd/names.h"
#include "systemd/properties.h"

namespace nsbox::cgroup {
namespace {

class Systemd : public Placement {
 public:
  Systemd(std::vector<Hierarchy> hs, const Choice& c, systemd::Bus bus, systemd::UnitName unit,
          std::vector<systemd::Property> from_annotations)
      : Placement(std::move(hs), c), choice_(c), bus_(std::move(bus)), unit_(std::move(unit)),
        from_annotations_(std::move(from_annotations)) {}

  Result<> plan(spec::Footprint& fp) override {
    auto unit_cgroup = systemd::unit_cgroup(unit_);
    if (!unit_cgroup) return fail(std::move(unit_cgroup.error()));
    std::string cgroup = *unit_cgroup;
    if (choice_.rootless) {
      // The user's manager runs in a cgroup of its own (user@UID.service), which is where
      // its slices are.
      auto base = bus_.control_group();
      if (!base) return fail(std::move(base.error()));
      if (*base != "/") cgroup = *base + cgroup;
    }
    // Every hierarchy has the unit's cgroup at that path: systemd makes the cgroup2 one (and,
    // on v1, its own name=systemd one); the other v1 controllers' are made here, as runc does.
    std::vector<Hierarchy> others;
    for (const auto& h : hierarchies_) {
      made_.leaves.push_back(h.mountpoint + cgroup);
      if (h.fstype == "cgroup" && h.controllers != "name=systemd") others.push_back(h);
    }
    // The v2 properties only where cgroup v2 is all there is (runc's unified manager): on a
    // hybrid host systemd applies its v1 names to the v1 controllers, and a v2 name would come
    // back converted (CPUWeight into other shares).
    v2_ = hierarchies_.size() == 1 && hierarchies_[0].fstype == "cgroup2";
    others_ = cgroup::plan(others, cgroup);
    std::vector<std::string> will_make;
    for (const auto& d : others_.dirs) {
      if (::access(d.path.c_str(), F_OK) < 0) will_make.push_back(d.path);
    }
    std::vector<std::string> existing;
    for (const auto& l : made_.leaves) {
      if (::access(l.c_str(), F_OK) == 0) existing.push_back(l);
    }
    TRY(refuse_busy(existing));
    fp.cgroup_leaves = made_.leaves;
    fp.cgroup_new = will_make;
    fp.systemd_unit = unit_.unit;
    fp.systemd_user = choice_.rootless;
    return {};
  }

  Join join_mode() const override { return Join::kByRuntime; }

  Result<std::vector<std::string>> place(pid_t pid) override {
    int version = TRY(bus_.version());
    // From here on the unit may exist, even when its job fails or times out: undo() stops it.
    started_ = true;
    TRY(bus_.start(unit_.unit, systemd::unit_properties(unit_, pid, v2_, from_annotations_)));
    // The v1 controllers systemd does not manage: made, and the process moved there.
    if (!others_.leaves.empty()) {
      auto m = TRY(cgroup::make(others_));
      made_.created = m.created;
      TRY(enter(m.leaves, pid));
    }
    auto props = TRY(systemd::resource_properties(resources_, v2_, version));
    TRY(bus_.set(unit_.unit, props));
    TRY(write_limits(!choice_.rootless));
    // A nested container leaves the unit's cgroup for its home below it (Delegate=yes).
    TRY(make_homes(pid));
    return std::vector<std::string>{};
  }

  void undo() override {
    if (started_) (void)bus_.stop(unit_.unit);
    (void)destroy(made_.leaves, made_.created);
    remove_empty_slices(made_.leaves);
  }

  std::string systemd_unit() const override { return unit_.unit; }

 private:
  Choice choice_;
  systemd::Bus bus_;
  systemd::UnitName unit_;
  std::vector<systemd::Property> from_annotations_;
  Plan others_;  // the v1 controllers' cgroups, made here
  bool v2_ = false;
  bool started_ = false;
};

}  // namespace

Result<std::unique_ptr<Placement>> make_systemd(std::vector<Hierarchy> hs, const Choice& c) {
  if (!systemd::booted()) return fail("systemd not running on this host, cannot use systemd cgroups manager");
  bool v1 = std::any_of(hs.begin(), hs.end(), [](const Hierarchy& h) { return h.fstype == "cgroup"; });
  if (c.rootless && v1) return fail("cannot use rootless systemd cgroups manager on cgroup v1");
  if (v1 && !c.resources.unified.empty()) return fail("invalid configuration: cannot use unified on cgroup v1");
  auto unit = TRY(systemd::unit_name(c.cgroups_path, c.id, c.rootless));
  if (unit.is_slice()) {
    // A slice holds units, not processes: systemd refuses PIDs for it.
    return fail("linux.cgroupsPath: \"" + c.cgroups_path + "\": a slice (" + unit.unit +
                ") cannot hold the container's processes; give a scope's prefix and name (slice:prefix:name)");
  }
  auto from_annotations = TRY(systemd::annotation_properties(c.annotations));
  // Started now: its exec and its bus connection overlap the rest of create.
  auto bus = TRY(systemd::Bus::open(c.rootless));
  return std::unique_ptr<Placement>(
      std::make_unique<Systemd>(std::move(hs), c, std::move(bus), std::move(unit), std::move(from_annotations)));
}

}  // namespace nsbox::cgroup
