// HOME for a process whose spec gives none, as runc and crun set it: the home directory of
// its uid in the container's /etc/passwd, else "/".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nsbox::process {

// The home directory of `uid` in the text of an /etc/passwd file ("" if not there).
std::string home_from_passwd(const std::string& passwd, uint32_t uid);

// `env` with HOME added when it has none (or an empty one, as runc 1.4 does), read from the
// container's /etc/passwd, resolved in the current root (the container's by now) through
// ns/in_root.h and read only if it is a regular file.
std::vector<std::string> with_home(std::vector<std::string> env, uint32_t uid);

}  // namespace nsbox::process
