#include "security/caps.h"

#include <grp.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "base/fs.h"
#include "base/log.h"

namespace nsbox::security {
namespace {

int last_cap() {
  static int last = [] {
    auto s = fs::read_file("/proc/sys/kernel/cap_last_cap");
    return s ? std::stoi(*s) : CAP_LAST_CAP;
  }();
  return last;
}

bool contains(const std::vector<int>& v, int c) {
  for (int x : v) {
    if (x == c) return true;
  }
  return false;
}

// The effective, permitted and inheritable sets, with one capset(2).
Result<> capset(const spec::Capabilities& caps, const char* what) {
  cap_t c = cap_init();
  if (c == nullptr) return fail_errno("cap_init");
  auto add = [&](const std::vector<int>& set, cap_flag_t flag) {
    for (int v : set) {
      if (v > last_cap()) continue;
      cap_value_t cv = v;
      cap_set_flag(c, flag, 1, &cv, CAP_SET);
    }
  };
  add(caps.effective, CAP_EFFECTIVE);
  add(caps.permitted, CAP_PERMITTED);
  add(caps.inheritable, CAP_INHERITABLE);
  int r = cap_set_proc(c);
  int e = errno;
  cap_free(c);
  if (r < 0) return fail_errno(what, e);
  return {};
}

Result<> set_sets(const spec::Capabilities& caps) {
  TRY(capset(caps, "set capabilities"));
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
    return fail_errno("clear ambient capabilities");
  }
  for (int v : caps.ambient) {
    if (v > last_cap()) continue;
    // The kernel refuses an ambient capability that is not both permitted and inheritable;
    // runc skips those the same way rather than failing the container.
    if (!contains(caps.permitted, v) || !contains(caps.inheritable, v)) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, v, 0, 0) < 0) {
      return fail_errno("raise ambient capability " + std::to_string(v));
    }
  }
  return {};
}

}  // namespace

namespace {

// The sets the process ends with: the spec's, or without a capabilities object what the
// kernel leaves after the uid change (all of them for uid 0, none otherwise); nullopt when
// they stay as they are (uid 0 without a capabilities object).
std::optional<spec::Capabilities> final_sets(const spec::Process& p) {
  if (p.capabilities) return p.capabilities;
  if (p.user.uid != 0) return spec::Capabilities{};
  return std::nullopt;
}

}  // namespace

bool ends_with_admin(const spec::Process& p) {
  auto f = final_sets(p);
  return !f || contains(f->effective, CAP_SYS_ADMIN);
}

Result<> switch_user(const spec::Process& p, bool set_groups, bool keep_admin) {
  auto target = final_sets(p);
  if (target && keep_admin && !contains(target->effective, CAP_SYS_ADMIN)) {
    target->effective.push_back(CAP_SYS_ADMIN);
    target->permitted.push_back(CAP_SYS_ADMIN);
  }
  if (const auto& caps = p.capabilities) {
    for (int c = 0; c <= last_cap(); ++c) {
      if (contains(caps->bounding, c)) continue;
      if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) {
        return fail_errno("drop capability " + std::to_string(c) + " from the bounding set");
      }
    }
  }
  // Keep the permitted set across the uid change; the sets are set explicitly after it.
  if (target && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return fail_errno("PR_SET_KEEPCAPS");
  if (set_groups) {
    std::vector<gid_t> groups(p.user.additional_gids.begin(), p.user.additional_gids.end());
    if (::setgroups(groups.size(), groups.data()) < 0) return fail_errno("setgroups");
  }
  if (::setresgid(p.user.gid, p.user.gid, p.user.gid) < 0) {
    return fail_errno("setresgid " + std::to_string(p.user.gid));
  }
  if (::setresuid(p.user.uid, p.user.uid, p.user.uid) < 0) {
    return fail_errno("setresuid " + std::to_string(p.user.uid));
  }
  if (target) {
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) return fail_errno("PR_SET_KEEPCAPS");
    TRY(set_sets(*target));
  }
  return {};
}

Result<> drop_kept_admin(const spec::Process& p) {
  auto target = final_sets(p);
  if (!target) return {};
  // One capset(2): the only call besides execve that a seccomp profile must allow here.
  return capset(*target, "set capabilities (after the seccomp filter: the profile must allow capset)");
}

// CAP_CHOWN for 0.
std::string cap_upper_name(int c) {
  char* name = cap_to_name(static_cast<cap_value_t>(c));
  std::string upper = name != nullptr ? name : std::to_string(c);
  cap_free(name);
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return upper;
}

std::vector<std::string> system_capabilities() {
  static constexpr int kWithheld[] = {CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_SYS_TIME, CAP_MAC_ADMIN, CAP_MAC_OVERRIDE};
  std::vector<std::string> out;
  for (int c = 0; c <= last_cap(); ++c) {
    if (std::find(std::begin(kWithheld), std::end(kWithheld), c) != std::end(kWithheld)) continue;
    if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) != 1) continue;
    out.push_back(cap_upper_name(c));
  }
  return out;
}

void drop_unavailable(spec::Capabilities& caps) {
  std::vector<std::string> left_out = caps.unknown;
  std::vector<int> gone;
  for (int c = 0; c < 64; ++c) {
    bool available = c <= last_cap() && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1;
    if (available) continue;
    bool asked = false;
    for (auto* set : {&caps.bounding, &caps.effective, &caps.inheritable, &caps.permitted, &caps.ambient}) {
      asked = std::erase(*set, c) > 0 || asked;
    }
    if (asked) gone.push_back(c);
  }
  for (int c : gone) left_out.push_back(cap_upper_name(c));
  caps.unknown.clear();
  if (left_out.empty()) return;
  std::string list;
  for (const auto& n : left_out) list += (list.empty() ? "" : " ") + n;
  log::warn("ignoring unknown or unavailable capabilities: [" + list + "]");
}

bool in_user_namespace() {
  auto m = fs::read_file("/proc/self/uid_map");
  return m && m->find("4294967295") == std::string::npos;
}

}  // namespace nsbox::security
