#include "security/seccomp.h"

#include <seccomp.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "base/log.h"
#include "process/sync.h"

namespace nsbox::security {
namespace {

using spec::SeccompAction;
using spec::SeccompOp;

uint32_t to_action(SeccompAction a, std::optional<uint32_t> errno_ret) {
  switch (a) {
    case SeccompAction::kKill: return SCMP_ACT_KILL;
    case SeccompAction::kKillProcess: return SCMP_ACT_KILL_PROCESS;
    case SeccompAction::kKillThread: return SCMP_ACT_KILL_THREAD;
    case SeccompAction::kTrap: return SCMP_ACT_TRAP;
    case SeccompAction::kErrno: return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
    case SeccompAction::kTrace: return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
    case SeccompAction::kAllow: return SCMP_ACT_ALLOW;
    case SeccompAction::kLog: return SCMP_ACT_LOG;
    case SeccompAction::kNotify: return SCMP_ACT_NOTIFY;
  }
  return SCMP_ACT_KILL;
}

scmp_compare to_op(SeccompOp op) {
  switch (op) {
    case SeccompOp::kNe: return SCMP_CMP_NE;
    case SeccompOp::kLt: return SCMP_CMP_LT;
    case SeccompOp::kLe: return SCMP_CMP_LE;
    case SeccompOp::kEq: return SCMP_CMP_EQ;
    case SeccompOp::kGe: return SCMP_CMP_GE;
    case SeccompOp::kGt: return SCMP_CMP_GT;
    case SeccompOp::kMaskedEq: return SCMP_CMP_MASKED_EQ;
  }
  return SCMP_CMP_EQ;
}

// "SCMP_ARCH_X86_64" -> libseccomp's token; 0 when this libseccomp does not know it.
uint32_t to_arch(const std::string& name) {
  std::string s = name.substr(std::strlen("SCMP_ARCH_"));
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return seccomp_arch_resolve_name(s.c_str());
}

Result<> set_attr(scmp_filter_ctx ctx, scmp_filter_attr attr, uint32_t v, const std::string& what) {
  int rc = seccomp_attr_set(ctx, attr, v);
  if (rc < 0) return fail("linux.seccomp.flags: " + what + ": " + std::strerror(-rc));
  return {};
}

}  // namespace

std::string libseccomp_version() {
  const scmp_version* v = seccomp_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro);
}

// Known to libseccomp and combinable with this machine's own architecture in one filter
// (libseccomp refuses to mix byte orders, for one).
bool seccomp_arch_supported(const std::string& scmp_arch_name) {
  uint32_t arch = to_arch(scmp_arch_name);
  if (arch == 0) return false;
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) return false;
  int rc = seccomp_arch_add(ctx, arch);
  seccomp_release(ctx);
  return rc == 0 || rc == -EEXIST;
}

std::vector<std::string> seccomp_supported_flags() {
  std::vector<std::string> out = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                  "SECCOMP_FILTER_FLAG_TSYNC"};
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)
  out.push_back("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV");
#endif
  return out;
}

SeccompFilter::~SeccompFilter() {
  if (ctx_ != nullptr) seccomp_release(ctx_);
}

Result<SeccompFilter> SeccompFilter::build(const spec::Seccomp& s) {
  SeccompFilter f;
  uint32_t def = to_action(s.default_action, s.default_errno_ret);
  f.ctx_ = seccomp_init(def);
  if (f.ctx_ == nullptr) return fail("linux.seccomp: libseccomp could not start a filter");
  auto* ctx = static_cast<scmp_filter_ctx>(f.ctx_);
  // nsbox sets no_new_privs itself, only when process.noNewPrivileges asks for it.
  TRY(set_attr(ctx, SCMP_FLTATR_CTL_NNP, 0, "no_new_privs"));
  for (size_t i = 0; i < s.architectures.size(); ++i) {
    const std::string& a = s.architectures[i];
    uint32_t arch = to_arch(a);
    if (arch == 0) {
      return fail("linux.seccomp.architectures[" + std::to_string(i) + "]: " + a +
                  " is not supported by libseccomp " + libseccomp_version());
    }
    int rc = seccomp_arch_add(ctx, arch);
    if (rc < 0 && rc != -EEXIST) {
      return fail("linux.seccomp.architectures[" + std::to_string(i) + "]: add " + a + ": " +
                  std::strerror(-rc));
    }
  }
  for (const auto& flag : s.flags) {
    if (flag == "SECCOMP_FILTER_FLAG_LOG") {
      TRY(set_attr(ctx, SCMP_FLTATR_CTL_LOG, 1, flag));
    } else if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
      TRY(set_attr(ctx, SCMP_FLTATR_CTL_SSB, 1, flag));
    } else if (flag == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") {
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)
      TRY(set_attr(ctx, SCMP_FLTATR_CTL_WAITKILL, 1, flag));
#else
      return fail("linux.seccomp.flags: " + flag + " needs libseccomp 2.6 or later; this nsbox has " +
                  libseccomp_version());
#endif
    }
    // SECCOMP_FILTER_FLAG_TSYNC: the container process has one thread; nothing to do.
  }
  for (size_t i = 0; i < s.syscalls.size(); ++i) {
    const spec::SeccompRule& r = s.syscalls[i];
    uint32_t action = to_action(r.action, r.errno_ret);
    if (action == def) continue;  // libseccomp refuses rules that repeat the default
    if (r.action == SeccompAction::kNotify) f.notify_ = true;
    std::vector<scmp_arg_cmp> conds;
    std::set<unsigned> indexes;
    for (const auto& a : r.args) {
      conds.push_back({a.index, to_op(a.op), a.value, a.value_two});
      indexes.insert(a.index);
    }
    // libseccomp ANDs the conditions of one rule but allows one per argument; several
    // conditions on the same argument become one rule each (OR), as runc does.
    bool split = indexes.size() < conds.size();
    for (const auto& name : r.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        log::debug("seccomp: skipping \"" + name + "\", unknown to libseccomp " + libseccomp_version());
        continue;
      }
      auto add = [&](unsigned n, const scmp_arg_cmp* c) -> Result<> {
        int rc = seccomp_rule_add_array(ctx, action, nr, n, c);
        if (rc < 0) {
          return fail("linux.seccomp.syscalls[" + std::to_string(i) + "]: rule for \"" + name +
                      "\": " + std::strerror(-rc));
        }
        return {};
      };
      if (split) {
        for (const auto& c : conds) TRY(add(1, &c));
      } else {
        TRY(add(static_cast<unsigned>(conds.size()), conds.data()));
      }
    }
  }
  return f;
}

Result<UniqueFd> SeccompFilter::load() {
  auto* ctx = static_cast<scmp_filter_ctx>(ctx_);
  int rc = seccomp_load(ctx);
  if (rc < 0) return fail_errno("load the seccomp filter", -rc);
  loaded_ = true;
  if (!notify_) return UniqueFd();
  int fd = seccomp_notify_fd(ctx);
  if (fd < 0) return fail_errno("get the seccomp notify descriptor", -fd);
  return UniqueFd(fd);
}

Result<> send_to_listener(const spec::Seccomp& s, int listener, pid_t pid,
                          const std::string& state_json) {
  std::string where = "linux.seccomp.listenerPath " + s.listener_path;
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return fail_errno("socket for " + where);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (s.listener_path.size() >= sizeof addr.sun_path) return fail(where + ": path too long");
  std::memcpy(addr.sun_path, s.listener_path.data(), s.listener_path.size());
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    return fail_errno("connect to " + where);
  }
  nlohmann::json msg = {{"ociVersion", "1.2.0"},
                        {"fds", {"seccompFd"}},
                        {"pid", pid},
                        {"metadata", s.listener_metadata},
                        {"state", nlohmann::json::parse(state_json)}};
  TRY_CTX(process::send_raw_fd(sock.get(), msg.dump(), listener), "send to " + where);
  return {};
}

}  // namespace nsbox::security
