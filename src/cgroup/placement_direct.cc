// The direct way (cgroup/placement.h): cgroup v2 hosts, and rootless containers.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "base/log.h"
#include "base/unique_fd.h"
#include "cgroup/control.h"
#include "cgroup/placement_ways.h"

namespace nsbox::cgroup {

std::vector<std::string> footprint_of(const Plan& p, spec::Footprint& fp) {
  fp.cgroup_leaves = p.leaves;
  std::vector<std::string> existing_leaves;
  for (const auto& d : p.dirs) {
    if (::access(d.path.c_str(), F_OK) < 0) {
      fp.cgroup_new.push_back(d.path);
    } else if (std::find(p.leaves.begin(), p.leaves.end(), d.path) != p.leaves.end()) {
      existing_leaves.push_back(d.path);
    }
  }
  return existing_leaves;
}

namespace {

class Direct : public Placement {
 public:
  Direct(std::vector<Hierarchy> hs, const Choice& c)
      : Placement(std::move(hs), c), choice_(c) {}

  Result<> plan(spec::Footprint& fp) override {
    std::string path = choice_.cgroups_path.empty() ? "nsbox-" + choice_.id : choice_.cgroups_path;
    plan_ = cgroup::plan(hierarchies_, path);
    return refuse_busy(footprint_of(plan_, fp));
  }

  Result<> make() override {
    auto made = cgroup::make(plan_);
    if (!made) {
      int e = made.error().code();
      // Rootless engines on cgroup v1 (no delegation) send no cgroupsPath: run without
      // cgroups, as runc and crun do, rather than fail.
      if (!(choice_.rootless && choice_.cgroups_path.empty() && !choice_.limits_needed &&
            (e == EACCES || e == EPERM || e == EROFS))) {
        return fail(std::move(made.error()));
      }
      log::debug("create " + choice_.id + ": no cgroups (" + made.error().what() + ")");
      return {};
    }
    made_ = std::move(*made);
    // The v1 attach lock's grace period (cgroup.h) runs from here while limits are written
    // and the container is cloned. Not earlier: the waiting writer holds the cgroup mutex,
    // which mkdir needs.
    if (std::any_of(hierarchies_.begin(), hierarchies_.end(), [](const Hierarchy& h) { return h.fstype == "cgroup"; })) {
      warmup_.emplace(hierarchies_);
    }
    // Limits are in place before the container process joins: it never runs unlimited.
    TRY(write_limits(!choice_.rootless));
    TRY(make_homes());
    auto to = homes();
    for (size_t i = 0; i < to.size(); ++i) {
      // CLONE_INTO_CGROUP takes the cgroup mutex, which a warming writer holds: where one
      // runs, the v2 home is joined by a write after the clone like the others.
      if (hierarchies_[i].fstype == "cgroup2" && !(warmup_ && warmup_->active())) {
        into_.reset(::open(to[i].c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        into_leaf_ = to[i];
      }
    }
    return {};
  }

  int clone_into() const override { return into_.get(); }

  Join join_mode() const override {
    auto to = homes();
    bool others = std::any_of(to.begin(), to.end(), [&](const std::string& l) { return l != into_leaf_; });
    return others || (into_ && !cloned_into_) ? Join::kByRuntime : Join::kNone;
  }

  Result<std::vector<std::string>> place(pid_t pid) override {
    std::vector<std::string> to_enter;
    for (const auto& l : homes()) {
      if (l != into_leaf_ || !cloned_into_) to_enter.push_back(l);
    }
    TRY(enter(to_enter, pid));
    return std::vector<std::string>{};
  }

  void cloned(bool into) override { cloned_into_ = into && into_; }

  void undo() override { (void)destroy(made_.leaves, made_.created); }

 private:
  Choice choice_;
  Plan plan_;
  std::optional<AttachWarmup> warmup_;
  UniqueFd into_;
  std::string into_leaf_;
  bool cloned_into_ = false;
};

}  // namespace

std::unique_ptr<Placement> make_direct(std::vector<Hierarchy> hs, const Choice& c) {
  return std::make_unique<Direct>(std::move(hs), c);
}

}  // namespace nsbox::cgroup
