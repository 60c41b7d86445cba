#include "runtime/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>


#include "base/log.h"
#include "base/unique_fd.h"

namespace nsbox::runtime {

Result<> run_hook(const spec::Hook& hook, const std::string& state_json) {
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
  std::vector<std::string> env = hook.env;
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
  size_t off = 0;
  while (off < state_json.size()) {
    ssize_t n = ::send(wr.get(), state_json.data() + off, state_json.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  wr.reset();

  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  int status = 0;
  if (hook.timeout > 0 && pidfd) {
    pollfd p{pidfd.get(), POLLIN, 0};
    int r;
    do {
      r = ::poll(&p, 1, hook.timeout * 1000);
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return fail(hook.path + " timed out after " + std::to_string(hook.timeout) + "s");
    }
  }
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return fail_errno("wait for " + hook.path);
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
                   const std::string& state_json) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    if (auto r = run_hook(hooks[i], state_json); !r) {
      return fail(std::move(r.error().context(stage + " hook #" + std::to_string(i))));
    }
  }
  return {};
}

void run_hooks_warn(const std::vector<spec::Hook>& hooks, const std::string& stage,
                    const std::string& state_json) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    if (auto r = run_hook(hooks[i], state_json); !r) {
      log::warn(r.error().context(stage + " hook #" + std::to_string(i)).what());
    }
  }
}

}  // namespace nsbox::runtime
