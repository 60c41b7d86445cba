// OCI hooks: each runs as a child process with the container state on stdin,
// its own args and env, and a timeout after which it is killed.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "spec/config.h"

namespace nsbox::runtime {

// Run one hook to completion. Error if it cannot start, exits non-zero, or times out (the
// timeout covers feeding it the state too). A hook without an env of its own gets
// `default_env`, or the runtime's environment when that is null.
Result<> run_hook(const spec::Hook& hook, const std::string& state_json,
                  const std::vector<std::string>* default_env = nullptr);
// Run a list in order, stopping at the first failure; `stage` names it in the error.
Result<> run_hooks(const std::vector<spec::Hook>& hooks, const std::string& stage,
                   const std::string& state_json, const std::vector<std::string>* default_env = nullptr);

// For poststart and poststop: every hook runs; a failure is logged as a warning only
// (runtime-spec: the remaining hooks and the lifecycle continue).
void run_hooks_warn(const std::vector<spec::Hook>& hooks, const std::string& stage,
                    const std::string& state_json);

}  // namespace nsbox::runtime
