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

class SeccompFilter {
 public:
  static Result<SeccompFilter> build(const spec::Seccomp& s);
  SeccompFilter(SeccompFilter&& o) noexcept : ctx_(o.ctx_), notify_(o.notify_), loaded_(o.loaded_) {
    o.ctx_ = nullptr;
  }
  SeccompFilter& operator=(SeccompFilter&&) = delete;
  ~SeccompFilter();

  // Loads the filter into the calling thread. Returns the notify listener, or an empty
  // descriptor when no rule notifies.
  Result<UniqueFd> load();
  bool notifies() const { return notify_; }
  bool loaded() const { return loaded_; }

 private:
  SeccompFilter() = default;
  void* ctx_ = nullptr;
  bool notify_ = false;
  bool loaded_ = false;
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
