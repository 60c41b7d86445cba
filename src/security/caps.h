// Switching to the container user with exactly the capabilities the spec gives.
#pragma once

#include "base/error.h"
#include "spec/config.h"

namespace nsbox::security {

// Drop the bounding set, set groups, gid and uid, then set the effective, permitted,
// inheritable and ambient sets. Capabilities the running kernel does not know are skipped.
// `set_groups`: false where setgroups(2) is denied (a user namespace with setgroups=deny).
Result<> switch_user(const spec::Process& p, bool set_groups);

// The calling process lives in a user namespace other than the initial one (its uid_map
// is not the identity map of all ids).
bool in_user_namespace();

}  // namespace nsbox::security
