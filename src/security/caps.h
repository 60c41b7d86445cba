// Switching to the container user with exactly the capabilities the spec gives.
#pragma once

#include "base/error.h"
#include "spec/config.h"

namespace nsbox::security {

// Drop the bounding set, set groups, gid and uid, then set the effective, permitted,
// inheritable and ambient sets. Capabilities the running kernel does not know are skipped.
// `set_groups`: false where setgroups(2) is denied (a user namespace with setgroups=deny).
// `keep_admin`: CAP_SYS_ADMIN stays effective and permitted even where the spec's sets lack
// it, so that a seccomp filter can still be loaded without no_new_privs right before execve;
// drop_kept_admin() then sets the spec's sets exactly.
Result<> switch_user(const spec::Process& p, bool set_groups, bool keep_admin);
Result<> drop_kept_admin(const spec::Process& p);
// The process keeps CAP_SYS_ADMIN in its effective set after switch_user anyway.
bool ends_with_admin(const spec::Process& p);

// The sets as they can be granted: names this build does not know (caps.unknown),
// capabilities this kernel lacks (above cap_last_cap) and those the runtime's own bounding
// set lacks (no CAP_SYS_RESOURCE in some sandboxes) are left out, and one warning names
// them all, in runc's words: runtime-spec 1.1 asks runtimes to warn, not to fail.
void drop_unavailable(spec::Capabilities& caps);

// The capabilities of a system container, as LXC gives them: every capability this kernel
// knows and the runtime's bounding set holds, but CAP_SYS_MODULE, CAP_SYS_RAWIO,
// CAP_SYS_TIME, CAP_MAC_ADMIN and CAP_MAC_OVERRIDE; by name (CAP_CHOWN...), in number order.
std::vector<std::string> system_capabilities();

// The calling process lives in a user namespace other than the initial one (its uid_map
// is not the identity map of all ids).
bool in_user_namespace();

}  // namespace nsbox::security
