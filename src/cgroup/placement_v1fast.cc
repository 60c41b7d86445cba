// The v1 fast way (cgroup/placement.h): as root on a v1 or hybrid host. The container's v1
// cgroups are made by a helper while the runtime clones the container (0.4 ms for ten
// hierarchies), and their limits are written while it sets itself up. Where it can (root of
// the host's user namespace, the fast path of process/spawn.h) the process joins its v1
// cgroups itself, which takes no global lock (cgroup::join_self), and the cgroup2 directory
// is made first and cloned into; otherwise the runtime moves it, and the helper pays the
// attach lock's grace period ahead (cgroup::AttachWarmup).
#include <fcntl.h>

#include <optional>

#include "base/unique_fd.h"
#include "cgroup/placement_ways.h"

namespace nsbox::cgroup {
namespace {

class V1Fast : public Placement {
 public:
  V1Fast(std::vector<Hierarchy> hs, const Choice& c) : Placement(std::move(hs), c), choice_(c) {}

  Result<> plan(spec::Footprint& fp) override {
    std::string path = choice_.cgroups_path.empty() ? "nsbox-" + choice_.id : choice_.cgroups_path;
    plan_ = cgroup::plan(hierarchies_, path);
    made_.leaves = plan_.leaves;
    return refuse_busy(footprint_of(plan_, fp));
  }

  Result<> make() override {
    warmup_.emplace(hierarchies_, &plan_, !choice_.self_join);
    // The cgroup2 directory was made by the warm-up's constructor, to be cloned into; not for
    // a nested container, whose home there is made later, below it (and v2 allows no
    // process in a cgroup that hands controllers down).
    if (choice_.self_join && !nested()) {
      for (size_t i = 0; i < plan_.leaves.size(); ++i) {
        if (hierarchies_[i].fstype != "cgroup2") continue;
        into_.reset(::open(plan_.leaves[i].c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        into_leaf_ = plan_.leaves[i];
      }
    }
    return {};
  }

  int clone_into() const override { return into_.get(); }
  void cloned(bool into) override { cloned_into_ = into && into_; }
  Join join_mode() const override { return choice_.self_join ? Join::kBySelf : Join::kByRuntime; }

  Result<std::vector<std::string>> place(pid_t pid) override {
    made_ = TRY(warmup_->made());
    TRY(write_limits(true));
    TRY(make_homes());
    std::vector<std::string> to_enter;
    for (const auto& l : homes()) {
      if (l != into_leaf_ || !cloned_into_) to_enter.push_back(l);
    }
    if (choice_.self_join) return join_files(to_enter);
    TRY(enter(to_enter, pid));
    return std::vector<std::string>{};
  }

  void undo() override {
    if (warmup_) {
      if (auto m = warmup_->made()) made_.created = m->created;
    }
    (void)destroy(made_.leaves, made_.created);
  }

 private:
  Choice choice_;
  Plan plan_;
  std::optional<AttachWarmup> warmup_;
  UniqueFd into_;
  std::string into_leaf_;
  bool cloned_into_ = false;
};

}  // namespace

std::unique_ptr<Placement> make_v1_fast(std::vector<Hierarchy> hs, const Choice& c) {
  return std::make_unique<V1Fast>(std::move(hs), c);
}

}  // namespace nsbox::cgroup
