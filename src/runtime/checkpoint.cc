#include "runtime/checkpoint.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <deque>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/log.h"
#include "base/unique_fd.h"
#include "criu/swrk.h"
#include "ns/rootfs.h"
#include "runtime/store.h"
#include "security/caps.h"
#include "spec/config.h"
#include "spec/state.h"

namespace nsbox::runtime {
namespace {

// The version CRIU must have: runc checks external namespace support for net (3.11) and pid
// (3.15) on every checkpoint, which makes 3.15 the effective minimum.
constexpr int kCriuMin = 30000;
constexpr int kCriuExtNet = 31100;
constexpr int kCriuExtPid = 31500;
constexpr int kCriuV2Freezer = 31400;

Result<CriuCgMode> cgroups_mode(const std::string& m) {
  if (m.empty()) return CRIU_CG_MODE__DEFAULT;
  if (m == "soft") return CRIU_CG_MODE__SOFT;
  if (m == "full") return CRIU_CG_MODE__FULL;
  if (m == "strict") return CRIU_CG_MODE__STRICT;
  if (m == "ignore") return CRIU_CG_MODE__IGNORE;
  return fail("invalid manage-cgroups-mode value");
}

Result<CriuNetworkLockMethod> network_lock(const std::string& m) {
  if (m == "iptables") return CRIU_NETWORK_LOCK_METHOD__IPTABLES;
  if (m == "nftables") return CRIU_NETWORK_LOCK_METHOD__NFTABLES;
  if (m.empty()) return !criu::find_program("iptables-restore").empty() ? CRIU_NETWORK_LOCK_METHOD__IPTABLES : CRIU_NETWORK_LOCK_METHOD__NFTABLES;
  return fail("unknown network lock method specified: \"" + m + "\" (iptables or nftables)");
}

// "ADDRESS:PORT" as Go's net.SplitHostPort takes it ([v6]:port too).
Result<std::pair<std::string, int>> page_server(const std::string& s) {
  const std::string use = "Use --page-server ADDRESS:PORT to specify page server";
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return fail(use);
  std::string host = s.substr(0, colon), port = s.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || port.empty()) return fail(use);
  int p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p < 0 || p > 65535) return fail("Invalid port number");
  return std::pair{host, p};
}

// The lines of CRIU's log around each error, as runc quotes them after a failure.
void quote_log(const std::string& file) {
  std::ifstream in(file);
  if (!in) return;
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::string out;
  size_t shown_to = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find("Error") == std::string::npos) continue;
    size_t from = i >= 5 ? i - 5 : 0;
    if (from < shown_to) from = shown_to;
    if (from > shown_to && !out.empty()) out += "...\n";
    for (size_t j = from; j <= i; ++j) out += std::to_string(j + 1) + ":" + lines[j] + "\n";
    shown_to = i + 1;
  }
  if (out.empty()) return;
  log::warn("--- Quoting \"" + file + "\"");
  size_t at = 0;
  for (size_t nl; (nl = out.find('\n', at)) != std::string::npos; at = nl + 1) log::warn(out.substr(at, nl - at));
  log::warn("---");
}

// Storage for the repeated messages of one request (protobuf-c points into it).
struct OptsStore {
  std::deque<ExtMountMap> mounts;
  std::vector<ExtMountMap*> mount_ptrs;
  std::deque<std::string> strings;
  std::vector<char*> externals;
  CriuPageServerInfo ps = CRIU_PAGE_SERVER_INFO__INIT;
  char* keep(std::string s) { return strings.emplace_back(std::move(s)).data(); }
  void ext_mount(const std::string& key, const std::string& val) {
    ExtMountMap m = EXT_MOUNT_MAP__INIT;
    m.key = keep(key);
    m.val = keep(val);
    mounts.push_back(m);
    mount_ptrs.push_back(&mounts.back());
  }
};

Result<UniqueFd> make_dir_fd(const std::string& path, const char* what) {
  if (::mkdir(path.c_str(), 0700) < 0 && errno != EEXIST) {
    TRY_CTX(fs::mkdir_p(path, 0700), what);
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fail_errno(std::string(what) + ": open " + path);
  return fd;
}

// What CRIU must leave to the restore: the mounts whose sources are outside the container,
// masked files (bound from /dev/null) and device nodes (bound or made by the runtime).
void add_external_mounts(OptsStore& s, const spec::Config& cfg, pid_t pid) {
  for (const auto& m : cfg.mounts) {
    if (m.bind || m.type == "bind") s.ext_mount(m.destination, m.destination);
  }
  for (const auto& p : cfg.linux.masked_paths) {
    struct stat sb{};
    std::string at = "/proc/" + std::to_string(pid) + "/root" + p;
    if (::stat(at.c_str(), &sb) == 0 && !S_ISDIR(sb.st_mode)) s.ext_mount(p, "/dev/null");
  }
  for (const auto& d : cfg.linux.devices) s.ext_mount(d.path, d.path);
  for (const auto& d : ns::default_device_paths()) s.ext_mount(d, d);
}

}  // namespace

Result<> checkpoint(const Globals& g, const std::string& id, const CheckpointOptions& o) {
  if (::geteuid() != 0 || security::in_user_namespace()) log::warn("nsbox checkpoint is untested with rootless containers");
  auto dir = TRY(ContainerDir::open(g.root, id, Lock::kExclusive));
  auto st = TRY(dir.load());
  spec::Status status = current_status(st, dir);
  if (status != spec::Status::kRunning && status != spec::Status::kPaused) {
    return fail(std::string("Container cannot be checkpointed in ") + spec::status_name(status) + " state");
  }
  // The checks of the options, before CRIU is asked anything.
  std::string image = o.image_path;
  if (image.empty()) {
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd) == nullptr) return fail_errno("invalid directory to save checkpoint");
    image = std::string(cwd) + "/checkpoint";
  }
  UniqueFd image_fd = TRY(make_dir_fd(image, "invalid directory to save checkpoint"));
  UniqueFd work_fd;
  if (!o.work_path.empty()) work_fd = TRY(make_dir_fd(o.work_path, "--work-path"));
  if (!o.parent_path.empty()) {
    if (o.parent_path[0] == '/') return fail("--parent-path must be relative");
    struct stat sb{};
    std::string p = image + "/" + o.parent_path;
    if (::stat(p.c_str(), &sb) < 0) return fail_errno("invalid --parent-path: stat " + p);
    if (!S_ISDIR(sb.st_mode)) return fail("invalid --parent-path: stat " + p + ": not a directory");
  }
  std::pair<std::string, int> ps{"", 0};
  if (!o.page_server.empty()) ps = TRY(page_server(o.page_server));
  uint32_t empty_ns = CLONE_NEWNET;  // nsbox's networks are set up again by restore, as runc's
  for (const auto& n : o.empty_ns) {
    if (n != "network") return fail("namespace \"" + n + "\" is not supported");
  }
  CriuCgMode cg_mode = TRY(cgroups_mode(o.manage_cgroups_mode));
  CriuNetworkLockMethod lock = TRY(network_lock(o.network_lock));
  if (o.lazy_pages && o.status_fd >= 0) {
    int fl = ::fcntl(o.status_fd, F_GETFL);
    if (fl < 0) return fail_errno("invalid --status-fd argument " + std::to_string(o.status_fd));
    if ((fl & O_ACCMODE) != O_WRONLY) return fail("invalid --status-fd argument " + std::to_string(o.status_fd) + ": not writable");
  }
  int have = TRY(criu::version());
  if (have < kCriuMin) return fail("CRIU version " + std::to_string(have) + " must be " + std::to_string(kCriuMin) + " or higher");
  if (have < kCriuExtNet) return fail("criu lacks support for external net namespace during checkpointing process (old criu version?)");
  if (have < kCriuExtPid) return fail("criu lacks support for external pid namespace during checkpointing process (old criu version?)");
  if (o.pre_dump || o.lazy_pages) {
    auto s = TRY(criu::Swrk::start());
    CriuReq req = CRIU_REQ__INIT;
    CriuFeatures want = CRIU_FEATURES__INIT;
    req.type = CRIU_REQ_TYPE__FEATURE_CHECK;
    want.has_mem_track = o.pre_dump;
    want.mem_track = o.pre_dump;
    want.has_lazy_pages = o.lazy_pages;
    want.lazy_pages = o.lazy_pages;
    req.features = &want;
    auto r = s.call(req);
    if (!r) return fail(std::move(r.error().context("CRIU feature check failed")));
    std::unique_ptr<CriuResp, criu::RespDeleter> resp(*r);
    (void)s.finish(true);
    const CriuFeatures* f = resp->features;
    if (o.pre_dump && (f == nullptr || !f->mem_track)) return fail("criu is missing features: [MemTrack]");
    if (o.lazy_pages && (f == nullptr || !f->lazy_pages)) return fail("criu is missing features: [LazyPages]");
  }
  auto cfg = TRY_CTX(spec::load_config(st.bundle), "checkpoint " + id);

  OptsStore store;
  CriuOpts opts = CRIU_OPTS__INIT;
  opts.images_dir_fd = image_fd.get();
  opts.has_log_level = true;
  opts.log_level = 4;
  opts.log_file = store.keep(o.pre_dump ? "pre-dump.log" : "dump.log");
  opts.root = store.keep(st.rootfs);
  opts.has_manage_cgroups = true;
  opts.manage_cgroups = true;
  opts.has_manage_cgroups_mode = true;
  opts.manage_cgroups_mode = cg_mode;
  opts.has_notify_scripts = true;
  opts.notify_scripts = true;
  opts.has_pid = true;
  opts.pid = st.pid;
  auto set = [](protobuf_c_boolean& has, protobuf_c_boolean& field, bool v) {
    has = true;
    field = v;
  };
  set(opts.has_shell_job, opts.shell_job, o.shell_job);
  set(opts.has_leave_running, opts.leave_running, o.leave_running);
  set(opts.has_tcp_established, opts.tcp_established, o.tcp_established);
  set(opts.has_tcp_skip_in_flight, opts.tcp_skip_in_flight, o.tcp_skip_in_flight);
  set(opts.has_link_remap, opts.link_remap, o.link_remap);
  set(opts.has_ext_unix_sk, opts.ext_unix_sk, o.ext_unix_sk);
  set(opts.has_file_locks, opts.file_locks, o.file_locks);
  set(opts.has_orphan_pts_master, opts.orphan_pts_master, true);
  set(opts.has_auto_dedup, opts.auto_dedup, o.auto_dedup);
  set(opts.has_lazy_pages, opts.lazy_pages, o.lazy_pages);
  opts.has_network_lock = true;
  opts.network_lock = lock;
  opts.has_empty_ns = true;
  opts.empty_ns = empty_ns;
  if (work_fd) {
    opts.has_work_dir_fd = true;
    opts.work_dir_fd = work_fd.get();
  }
  // CRIU's configuration file: the annotation's, none if it is empty, else runc's default.
  auto conf = cfg.annotations.find("org.criu.config");
  if (conf == cfg.annotations.end()) {
    opts.config_file = store.keep("/etc/criu/runc.conf");
  } else if (!conf->second.empty()) {
    opts.config_file = store.keep(conf->second);
  }
  // Namespaces joined by path are the host's (or a pod's): CRIU leaves them as they are.
  for (const auto& n : cfg.linux.namespaces) {
    if (n.path.empty() || (n.kind != spec::NsKind::kNetwork && n.kind != spec::NsKind::kPid)) continue;
    struct stat sb{};
    if (::stat(n.path.c_str(), &sb) < 0) return fail_errno("checkpoint: " + n.path);
    bool net = n.kind == spec::NsKind::kNetwork;
    store.externals.push_back(store.keep(std::string(net ? "net[" : "pid[") + std::to_string(sb.st_ino) + "]:" +
                                         (net ? "extRootNetNS" : "extRootPidNS")));
  }
  opts.n_external = store.externals.size();
  opts.external = store.externals.data();
  if (!st.freezer.empty()) {
    std::string cg = st.freezer.substr(0, st.freezer.rfind('/'));
    bool v2 = st.freezer.ends_with("/cgroup.freeze");
    if (!v2 || have >= kCriuV2Freezer) opts.freeze_cgroup = store.keep(cg);
  }
  if (!o.page_server.empty()) {
    store.ps.address = store.keep(ps.first);
    store.ps.has_port = true;
    store.ps.port = ps.second;
    opts.ps = &store.ps;
  }
  if (!o.parent_path.empty()) {
    opts.parent_img = store.keep(o.parent_path);
    set(opts.has_track_mem, opts.track_mem, true);
  }
  if (o.pre_dump) set(opts.has_track_mem, opts.track_mem, true);
  if (!o.pre_dump) {
    add_external_mounts(store, cfg, st.pid);
    opts.n_ext_mnt = store.mount_ptrs.size();
    opts.ext_mnt = store.mount_ptrs.data();
    // The init's stdio as it was at create: restore hands pipes back by these names.
    auto desc = nlohmann::json::array();
    for (size_t i = 0; i < 3; ++i) desc.push_back(i < st.external_descriptors.size() ? st.external_descriptors[i] : "");
    TRY_CTX(fs::write_file_atomic(image_fd.get(), "descriptors.json", desc.dump(), 0600), "write " + image + "/descriptors.json");
  }

  CriuReq req = CRIU_REQ__INIT;
  req.type = o.pre_dump ? CRIU_REQ_TYPE__PRE_DUMP : CRIU_REQ_TYPE__DUMP;
  req.opts = &opts;
  auto on_notify = [&](const std::string& script, pid_t, int) -> Result<> {
    // Between the dump and a restore the state directory says so, as runc's does.
    if (script == "post-dump") TRY_CTX(fs::write_file_atomic(dir.fd(), "checkpoint", "", 0600), "mark " + id + " checkpointed");
    return {};
  };
  auto swrk = TRY(criu::Swrk::start());
  auto r = swrk.call(req, on_notify);
  std::string log_dir = o.work_path.empty() ? image : o.work_path;
  if (!r) {
    (void)swrk.finish(true);
    quote_log(log_dir + "/" + opts.log_file);
    return fail(std::move(r.error()));
  }
  std::unique_ptr<CriuResp, criu::RespDeleter> resp(*r);
  if (auto f = swrk.finish(o.pre_dump); !f) {
    quote_log(log_dir + "/" + opts.log_file);
    return f;
  }
  if (o.leave_running || o.pre_dump) return {};
  // CRIU has ended the container's processes: the container goes, as runc's does.
  dir.unlock();
  if (auto d = remove(g, id, true); !d) log::warn("checkpoint " + id + ": " + d.error().what());
  return {};
}

}  // namespace nsbox::runtime
