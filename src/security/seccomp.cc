#include "security/seccomp.h"

#include <elf.h>
#include <link.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "base/fs.h"
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

namespace {

constexpr const char* kCacheMagic = "nsbox seccomp cache 1\n";

// The program for `key` from `file`, or nothing (absent, damaged, or another key's).
std::optional<std::string> cache_read(const std::string& file, const std::string& key) {
  auto text = fs::read_file(file);
  if (!text) return std::nullopt;
  std::string_view v = *text;
  std::string_view magic = kCacheMagic;
  if (!v.starts_with(magic)) return std::nullopt;
  v.remove_prefix(magic.size());
  // <key length>\n<key><program length>\n<program>
  auto number = [&](size_t& out) {
    size_t nl = v.find('\n');
    if (nl == std::string_view::npos || nl == 0 || nl > 12) return false;
    out = 0;
    for (char c : v.substr(0, nl)) {
      if (c < '0' || c > '9') return false;
      out = out * 10 + static_cast<size_t>(c - '0');
    }
    v.remove_prefix(nl + 1);
    return true;
  };
  size_t klen = 0, plen = 0;
  if (!number(klen) || klen > v.size() || v.substr(0, klen) != key) return std::nullopt;
  v.remove_prefix(klen);
  if (!number(plen) || plen != v.size() || plen == 0 || plen % sizeof(sock_filter) != 0 ||
      plen / sizeof(sock_filter) > BPF_MAXINSNS) {
    return std::nullopt;
  }
  return std::string(v);
}

void cache_write(const std::string& dir, const std::string& name, const std::string& key,
                 const std::string& prog) {
  std::string text = kCacheMagic + std::to_string(key.size()) + "\n" + key +
                     std::to_string(prog.size()) + "\n" + prog;
  auto r = fs::mkdir_p(dir, 0700);
  if (r) r = fs::write_file_atomic(dir + "/" + name, text, 0600);
  if (!r) log::debug("seccomp cache: " + r.error().what());
}

// The program libseccomp generates for ctx, as seccomp_load would install it.
Result<std::string> export_bpf(scmp_filter_ctx ctx) {
  UniqueFd mem(::memfd_create("nsbox-seccomp", MFD_CLOEXEC));
  if (!mem) return fail_errno("linux.seccomp: memfd for the program");
  int rc = seccomp_export_bpf(ctx, mem.get());
  if (rc < 0) return fail_errno("linux.seccomp: generate the program", -rc);
  auto prog = TRY(fs::read_file("/proc/self/fd/" + std::to_string(mem.get())));
  if (prog.empty() || prog.size() % sizeof(sock_filter) != 0) {
    return fail("linux.seccomp: libseccomp generated a program of " + std::to_string(prog.size()) + " bytes");
  }
  return prog;
}

// The GNU build id of this nsbox (hex), "" without one: it changes with any change to the
// code that turns a profile into libseccomp's rules.
std::string build_id() {
  std::string id;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* out) -> int {
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const auto& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_NOTE) continue;
          const char* p = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
          const char* end = p + ph.p_memsz;
          while (p + sizeof(ElfW(Nhdr)) <= end) {
            const auto* n = reinterpret_cast<const ElfW(Nhdr)*>(p);
            const char* name = p + sizeof(ElfW(Nhdr));
            const char* desc = name + ((n->n_namesz + 3) & ~3u);
            if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0 &&
                desc + n->n_descsz <= end) {
              auto* s = static_cast<std::string*>(out);
              for (unsigned k = 0; k < n->n_descsz; ++k) {
                char hex[3];
                std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned char>(desc[k]));
                *s += hex;
              }
              return 1;
            }
            p = desc + ((n->n_descsz + 3) & ~3u);
          }
        }
        return 1;  // the executable is the first object: stop there
      },
      &id);
  return id;
}

}  // namespace

std::string SeccompFilter::cache_key(const std::string& json) {
  static const std::string id = build_id();
  if (id.empty()) return "";
  utsname u{};
  ::uname(&u);
  return "nsbox " + id + "\nlibseccomp " + libseccomp_version() + "\nkernel " + u.release + " " +
         u.machine + "\n" + json + "\n";
}

std::string SeccompFilter::cache_name(const std::string& key) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016zx", std::hash<std::string>{}(key));
  return std::string(hex) + ".bpf";
}

Result<SeccompFilter> SeccompFilter::build(const spec::Seccomp& s, const std::string& json,
                                           const std::string& cache_dir) {
  SeccompFilter f;
  uint32_t def = to_action(s.default_action, s.default_errno_ret);
  for (const auto& r : s.syscalls) {
    if (r.action == SeccompAction::kNotify && to_action(r.action, r.errno_ret) != def) f.notify_ = true;
  }
  for (const auto& flag : s.flags) {
    if (flag == "SECCOMP_FILTER_FLAG_LOG") f.flags_ |= SECCOMP_FILTER_FLAG_LOG;
    if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") f.flags_ |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  }
  if (f.notify_) f.flags_ |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  std::string key, file;
  if (!cache_dir.empty() && !json.empty()) key = cache_key(json);
  if (!key.empty()) {
    file = cache_name(key);
    if (auto prog = cache_read(cache_dir + "/" + file, key)) {
      f.prog_ = std::move(*prog);
      f.from_cache_ = true;
      log::debug("seccomp: the program (" + std::to_string(f.instructions()) + " instructions) from " +
                 cache_dir + "/" + file);
      return f;
    }
  }
  std::unique_ptr<void, void (*)(void*)> holder(seccomp_init(def), [](void* c) {
    if (c != nullptr) seccomp_release(static_cast<scmp_filter_ctx>(c));
  });
  if (holder == nullptr) return fail("linux.seccomp: libseccomp could not start a filter");
  auto* ctx = static_cast<scmp_filter_ctx>(holder.get());
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
  f.prog_ = TRY(export_bpf(ctx));
  log::debug("seccomp: compiled the profile (" + std::to_string(f.instructions()) + " instructions)" +
             (file.empty() ? std::string() : ", kept in " + cache_dir + "/" + file));
  if (!file.empty()) cache_write(cache_dir, file, key, f.prog_);
  return f;
}

// What seccomp_load does with libseccomp's program, with the flags its attributes set.
Result<UniqueFd> SeccompFilter::load() {
  sock_fprog fprog{};
  fprog.len = static_cast<unsigned short>(prog_.size() / sizeof(sock_filter));
  fprog.filter = reinterpret_cast<sock_filter*>(prog_.data());
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags_, &fprog);
  if (rc < 0) return fail_errno("load the seccomp filter");
  loaded_ = true;
  if (!notify_) return UniqueFd();
  return UniqueFd(static_cast<int>(rc));
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
