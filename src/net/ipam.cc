#include "net/ipam.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/fs.h"
#include "base/lock.h"

namespace nsbox::net {

namespace {

// A lease holds a container id (at most 249 bytes); anything much bigger is not ours.
constexpr off_t kMaxLeaseSize = 4096;

// Whether a container may get `ip`: in the subnet and none of its reserved addresses.
bool assignable(const Subnet4& subnet, Ip4 gateway, Ip4 ip) {
  return subnet.contains(ip) && ip != subnet.network && ip != subnet.broadcast() && ip != gateway;
}

}  // namespace

Result<Ipam> Ipam::open(const std::string& dir, const std::string& name) {
  if (::mkdir(dir.c_str(), 0700) < 0 && errno != EEXIST) {
    return fail_errno("create the address lease directory " + dir + " of network " + name);
  }
  Ipam ipam;
  ipam.dir_ = dir;
  ipam.name_ = name;
  ipam.dirfd_.reset(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!ipam.dirfd_) return fail_errno("open the address lease directory " + dir + " of network " + name);
  return ipam;
}

Result<Ip4> Ipam::lease_free(const Subnet4& subnet, Ip4 gateway, const std::string& owner, const Alive& alive) {
  TRY(check_owner(owner));
  UniqueFd held = TRY(lock(LOCK_EX));
  std::vector<Lease> leases = TRY(read_leases(&subnet));
  for (const Lease& l : leases) {
    if (l.readable && l.owner == owner && assignable(subnet, gateway, l.address)) return l.address;
  }
  std::vector<Ip4> taken;
  for (const Lease& l : leases) taken.push_back(l.address);
  if (auto ip = TRY(claim_lowest(subnet, gateway, taken, owner))) return *ip;

  // Full: only now is it worth asking which owners are gone.
  size_t reclaimed = 0;
  for (const Lease& l : leases) {
    if (!l.readable || (!l.owner.empty() && (!alive || alive(l.owner)))) continue;
    TRY(remove(l.address));
    std::erase(taken, l.address);
    ++reclaimed;
  }
  if (reclaimed > 0) {
    if (auto ip = TRY(claim_lowest(subnet, gateway, taken, owner))) return *ip;
  }
  return fail("network " + name_ + ": no free address in " + subnet.str() + " (" +
              std::to_string(leases.size() - reclaimed) + " leased)");
}

Result<Ip4> Ipam::lease_exact(const Subnet4& subnet, Ip4 gateway, Ip4 want, const std::string& owner,
                              const Alive& alive) {
  TRY(check_owner(owner));
  std::string shown = "address " + want.str();
  if (!subnet.contains(want)) return fail(shown + " is not in network " + name_ + " (" + subnet.str() + ")");
  if (want == subnet.network) return fail(shown + " is the network address of network " + name_);
  if (want == subnet.broadcast()) return fail(shown + " is the broadcast address of network " + name_);
  if (want == gateway) return fail(shown + " is the gateway of network " + name_);

  UniqueFd held = TRY(lock(LOCK_EX));
  if (auto lease = TRY(read_lease(want))) {
    if (!lease->readable) return fail(shown + " is taken (" + path(want) + " is not a lease nsbox wrote)");
    if (lease->owner == owner) return want;
    if (!lease->owner.empty() && (!alive || alive(lease->owner))) {
      return fail(shown + " is taken by container " + lease->owner);
    }
    TRY(remove(want));
  }
  if (!TRY(create(want, owner))) return fail(shown + " is taken (" + path(want) + " appeared meanwhile)");
  return want;
}

Result<int> Ipam::release(const std::string& owner) {
  TRY(check_owner(owner));
  UniqueFd held = TRY(lock(LOCK_EX));
  int released = 0;
  for (const Lease& l : TRY(read_leases(nullptr))) {
    if (!l.readable || l.owner != owner) continue;
    TRY(remove(l.address));
    ++released;
  }
  return released;
}

Result<std::vector<std::pair<Ip4, std::string>>> Ipam::leases() const {
  // Shared: a lease being created (still empty) is never seen.
  UniqueFd held = TRY(lock(LOCK_SH));
  std::vector<std::pair<Ip4, std::string>> out;
  for (Lease& l : TRY(read_leases(nullptr))) out.emplace_back(l.address, std::move(l.owner));
  return out;
}

Result<UniqueFd> Ipam::lock(int op) const {
  // A fresh open file description each time: flock belongs to it, so a process that forked
  // after open() does not share the lock with its parent.
  UniqueFd fd(::openat(dirfd_.get(), ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600));
  if (!fd) return fail_errno("open " + dir_ + "/.lock");
  TRY(flock_bounded(fd.get(), op, "the address leases of network " + name_));
  return fd;
}

Result<std::vector<Ip4>> Ipam::scan() const {
  // One read of the directory rather than a probe per candidate address: a /16 may hold
  // tens of thousands of leases.
  int fd = ::openat(dirfd_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail_errno("read the address lease directory " + dir_);
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    int e = errno;
    ::close(fd);
    return fail_errno("read the address lease directory " + dir_, e);
  }
  std::vector<Ip4> out;
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(d);
    if (e == nullptr) break;
    // parse_ip4 is strict, so only canonical names ("10.1.0.2", not "10.1.0.02") are leases.
    if (auto ip = parse_ip4(e->d_name)) out.push_back(*ip);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return fail_errno("read the address lease directory " + dir_, err);
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::optional<Ipam::Lease>> Ipam::read_lease(Ip4 address) const {
  Lease lease;
  lease.address = address;
  // O_NONBLOCK: a FIFO planted under an address's name must not hang us.
  UniqueFd fd(::openat(dirfd_.get(), address.str().c_str(),
                       O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::nullopt;
    // A symlink (ELOOP) or a socket (ENXIO): taken, and never followed.
    if (errno != ELOOP && errno != ENXIO) return fail_errno("read address lease " + path(address));
    lease.readable = false;
    return lease;
  }
  struct stat st{};
  if (::fstat(fd.get(), &st) < 0) return fail_errno("read address lease " + path(address));
  if (!S_ISREG(st.st_mode) || st.st_size > kMaxLeaseSize) {
    lease.readable = false;
    return lease;
  }
  lease.owner = TRY_CTX(fs::read_fd(fd.get()), "read address lease " + path(address));
  if (lease.owner.ends_with('\n')) lease.owner.pop_back();
  return lease;
}

Result<std::vector<Ipam::Lease>> Ipam::read_leases(const Subnet4* subnet) const {
  std::vector<Lease> out;
  for (Ip4 ip : TRY(scan())) {
    if (subnet != nullptr && !subnet->contains(ip)) continue;
    // Gone since the scan: removed by hand, as nsbox removes leases only under the lock.
    if (auto lease = TRY(read_lease(ip))) out.push_back(std::move(*lease));
  }
  return out;
}

Result<std::optional<Ip4>> Ipam::claim_lowest(const Subnet4& subnet, Ip4 gateway, std::vector<Ip4>& taken,
                                               const std::string& owner) const {
  // last_host() < 255.255.255.255, so the loop variable cannot wrap.
  for (uint32_t v = subnet.first_host().value; v <= subnet.last_host().value; ++v) {
    Ip4 ip{v};
    if (ip == gateway) continue;
    auto at = std::lower_bound(taken.begin(), taken.end(), ip);
    if (at != taken.end() && *at == ip) continue;
    if (TRY(create(ip, owner))) return ip;
    taken.insert(at, ip);
  }
  return std::nullopt;
}

Result<bool> Ipam::create(Ip4 address, const std::string& owner) const {
  // O_EXCL is what makes a lease exclusive, even against a command that ignored the lock or
  // a lease left by a crash; O_NOFOLLOW (implied by O_EXCL, spelled out) never writes through
  // a planted symlink.
  std::string name = address.str();
  UniqueFd fd(::openat(dirfd_.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) {
    if (errno == EEXIST) return false;
    return fail_errno("create address lease " + path(address));
  }
  ssize_t n = ::write(fd.get(), owner.data(), owner.size());
  if (n != static_cast<ssize_t>(owner.size())) {
    int e = n < 0 ? errno : EIO;
    ::unlinkat(dirfd_.get(), name.c_str(), 0);
    return fail_errno("write address lease " + path(address), e);
  }
  return true;
}

Result<> Ipam::remove(Ip4 address) const {
  if (::unlinkat(dirfd_.get(), address.str().c_str(), 0) < 0 && errno != ENOENT) {
    return fail_errno("remove address lease " + path(address));
  }
  return {};
}

Result<> Ipam::check_owner(const std::string& owner) const {
  // The owner is a lease file's whole content: it must read back as written.
  if (owner.empty() || owner.find_first_of(std::string("\n\0", 2)) != std::string::npos) {
    return fail("network " + name_ + ": invalid lease owner \"" + owner + "\"");
  }
  return {};
}

std::string Ipam::path(Ip4 address) const { return dir_ + "/" + address.str(); }

}  // namespace nsbox::net
