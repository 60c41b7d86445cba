// The three ways of cgroup/placement.h, made by choose() (one file each).
#pragma once

#include <memory>
#include <vector>

#include "cgroup/placement.h"

namespace nsbox::cgroup {

std::unique_ptr<Placement> make_direct(std::vector<Hierarchy> hs, const Choice& c);
std::unique_ptr<Placement> make_v1_fast(std::vector<Hierarchy> hs, const Choice& c);
Result<std::unique_ptr<Placement>> make_systemd(std::vector<Hierarchy> hs, const Choice& c);

// What plan() of the cgroupfs ways records: the plan's leaves, and the directories that
// do not exist yet; the leaves that do are returned (they must be empty).
std::vector<std::string> footprint_of(const Plan& p, spec::Footprint& fp);

}  // namespace nsbox::cgroup
