// linux.seccomp compiled with libseccomp. The runtime builds the filter before it creates
// anything, so a bad profile fails cleanly; the container process loads it as late as the
// kernel allows (see become_process), and a SCMP_ACT_NOTIFY listener goes to listenerPath.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "spec/config.h"

namespace nsbox::security {

// The compiled program is kept in CACHE_DIR (the state root's seccomp-cache:v1) under a
// hash of everything it depends on: the profile's JSON, and the versions of nsbox,
// libseccomp and the kernel. A container engine sends the same profile for every container,
// and compiling podman's takes libseccomp about 5 ms; reading it back, a few microseconds. The
// file holds that whole key and is used only if it matches byte for byte (the hash only names
// the file), so a collision or a damaged file is a miss, never another profile's program.
class SeccompFilter {
 public:
  // `json`: the profile as config.json had it (spec::Config::Linux::seccomp_json); an empty
  // cache_dir: no cache.
  static Result<SeccompFilter> build(const spec::Seccomp& s, const std::string& json,
                                     const std::string& cache_dir);

  // Loads the filter into the calling thread. Returns the notify listener, or an empty
  // descriptor when no rule notifies.
  Result<UniqueFd> load();
  bool notifies() const { return notify_; }
  bool loaded() const { return loaded_; }
  bool from_cache() const { return from_cache_; }
  size_t instructions() const { return prog_.size() / 8; }

  // The cache file's name and content for a key and program (for the tests).
  static std::string cache_name(const std::string& key);
  static std::string cache_key(const std::string& json);

 private:
  SeccompFilter() = default;
  std::string prog_;  // struct sock_filter[], 8 bytes each
  unsigned flags_ = 0;  // SECCOMP_FILTER_FLAG_*
  bool notify_ = false;
  bool loaded_ = false;
  bool from_cache_ = false;
};

// The runtime side of SCMP_ACT_NOTIFY: connect to listenerPath and send the container
// process state (runtime-spec "containerProcessState") with the listener descriptor.
Result<> send_to_listener(const spec::Seccomp& s, int listener, pid_t pid,
                          const std::string& state_json);

// The libseccomp version the binary runs with ("2.5.4").
std::string libseccomp_version();
// What this build can do with it (`nsbox features`).
bool seccomp_arch_supported(const std::string& scmp_arch_name);
std::vector<std::string> seccomp_supported_flags();

}  // namespace nsbox::security
