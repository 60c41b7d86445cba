#include "runtime/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "base/log.h"
#include "base/unique_fd.h"

extern char** environ;

namespace nsbox::runtime {
namespace {

int64_t now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Feed `state_json` to the hook's stdin while waiting for it to exit, until `deadline_ms`
// (monotonic; -1 none). True once the hook exited (reaped into `status`), false on timeout.
bool feed_and_wait(pid_t pid, int pidfd, int wr, const std::string& state_json, int64_t deadline_ms,
                   int& status) {
  size_t off = 0;
  bool writing = wr >= 0 && !state_json.empty();
  for (;;) {
    pollfd p[2] = {{pidfd, POLLIN, 0}, {wr, static_cast<short>(writing ? POLLOUT : 0), 0}};
    int wait = -1;
    if (deadline_ms >= 0) wait = static_cast<int>(std::clamp<int64_t>(deadline_ms - now_ms(), 0, INT32_MAX));
    int r = ::poll(p, writing ? 2 : 1, wait);
    if (r < 0 && errno != EINTR) break;  // cannot happen with valid fds; fall back to waitpid
    if (r == 0) return false;
    if (r > 0 && writing && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = ::send(wr, state_json.data() + off, state_json.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) off += static_cast<size_t>(n);
      // Written, or the hook closed its stdin without reading it all: either way, done.
      if (off == state_json.size() || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        writing = false;
        ::shutdown(wr, SHUT_WR);
      }
    }
    if (r > 0 && (p[0].revents & POLLIN)) break;
  }
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return true;
}

}  // namespace

Result<> run_hook(const spec::Hook& hook, const std::string& state_json,
                  const std::vector<std::string>* default_env) {
  // A socket rather than a pipe: MSG_NOSIGNAL keeps a hook that ignores its stdin from
  // raising SIGPIPE, without touching signal dispositions a container process would inherit.
  int in[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0) return fail_errno("socketpair");
  UniqueFd rd(in[0]), wr(in[1]);
  std::vector<std::string> args = hook.args;
  if (args.empty()) args.push_back(hook.path);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Without an env of its own a hook gets the runtime's environment, as runc's do (or the
  // one the caller names: the container's, for startContainer).
  std::vector<std::string> env;
  if (hook.env) {
    env = *hook.env;
  } else if (default_env != nullptr) {
    env = *default_env;
  } else {
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
  }
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork");
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(rd.get(), 0);
    ::execve(hook.path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  rd.reset();
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) {
    int e = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return fail_errno("pidfd_open of " + hook.path, e);
  }
  // The timeout covers the whole hook, the writing of its stdin included: a hook that never
  // reads a state larger than the socket buffer must not hang the runtime. (In milliseconds
  // from a 64-bit count: no overflow for any timeout the config may give.)
  int64_t deadline = hook.timeout > 0 ? now_ms() + static_cast<int64_t>(hook.timeout) * 1000 : -1;
  int status = 0;
  if (!feed_and_wait(pid, pidfd.get(), wr.get(), state_json, deadline, status)) {
    ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return fail(hook.path + " timed out after " + std::to_string(hook.timeout) + "s");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    // execve failed in the child or the hook itself said 127: name the likely cause.
    if (::access(hook.path.c_str(), X_OK) < 0) return fail_errno(hook.path);
  }
  if (WIFSIGNALED(status)) {
    return fail(hook.path + " was killed by signal " + std::to_string(WTERMSIG(status)));
  }
  return fail(hook.path + " exited with status " + std::to_string(WEXITSTATUS(status)));
}

Result<> run_hooks(const std::vector<spec::Hook>& hooks, const std::string& stage,
                   const std::string& state_json, const std::vector<std::string>* default_env) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    if (auto r = run_hook(hooks[i], state_json, default_env); !r) {
      return fail(std::move(r.error().context(stage + " hook #" + std::to_string(i))));
    }
  }
  return {};
}

void run_hooks_warn(const std::vector<spec::Hook>& hooks, const std::string& stage,
                    const std::string& state_json) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    if (auto r = run_hook(hooks[i], state_json, nullptr); !r) {
      log::warn(r.error().context(stage + " hook #" + std::to_string(i)).what());
    }
  }
}

}  // namespace nsbox::runtime
