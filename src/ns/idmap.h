// Idmapped bind mounts (mounts[].uidMappings/gidMappings, options idmap/ridmap). The
// runtime makes them: it holds CAP_SYS_ADMIN over the source's file system, the container
// does not. A detached clone of the source (open_tree) gets the mapping (mount_setattr
// MOUNT_ATTR_IDMAP with a user namespace that carries it) and goes to the container
// process, which moves it into place (ns::mount_all).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "spec/config.h"

namespace nsbox::ns {

struct IdmappedMount {
  size_t index = 0;  // into config.mounts
  UniqueFd tree;     // the detached, idmapped mount
};

// `container`: the container process, whose user namespace serves mounts without mappings
// of their own. `file` names config.json in errors.
Result<std::vector<IdmappedMount>> make_idmapped_mounts(const spec::Config& cfg, pid_t container,
                                                        const std::string& file);

}  // namespace nsbox::ns
