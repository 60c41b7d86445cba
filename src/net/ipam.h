// Address leases of one network, kept as files in a directory so that separate nsbox
// commands (and crashes between them) never hand one address to two containers.
//
// One file per leased address, named by the address ("10.1.0.2") and holding the id of the
// container that has it (its "owner"). Leases are made with O_CREAT|O_EXCL|O_NOFOLLOW, and
// every scan that leases, reclaims or releases runs under an exclusive flock of `.lock` in the
// directory. A lease nsbox did not write (a symlink, a directory, a FIFO...) counts as taken
// and is never followed, written or removed.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "net/ip4.h"

namespace nsbox::net {

class Ipam {
 public:
  // Whether the container `owner` still exists; the leases of one that does not are reclaimed.
  // An empty Alive counts every owner as alive.
  using Alive = std::function<bool(const std::string& owner)>;

  // The leases of network `name` in `dir` (created 0700 if missing; its parents must exist;
  // `dir` itself must not be a symlink).
  static Result<Ipam> open(const std::string& dir, const std::string& name);

  // The lowest free address of `subnet` for `owner`, never the network address, `gateway` or
  // the broadcast. An address of the subnet already leased to `owner` is returned as is (a
  // retried create). When no address is free, the leases of owners that are not alive (and
  // leases torn by a crash) are reclaimed first. Full:
  // `network NAME: no free address in 10.0.0.0/30 (1 leased)`.
  Result<Ip4> lease_free(const Subnet4& subnet, Ip4 gateway, const std::string& owner, const Alive& alive);

  // Exactly `want` for `owner` (returned as is when `owner` already has it). Refused when it
  // is outside the subnet, its network address, `gateway` or broadcast, or leased to a live
  // other owner (`address 10.1.0.5 is taken by container web1`); a dead owner's lease is
  // reclaimed.
  Result<Ip4> lease_exact(const Subnet4& subnet, Ip4 gateway, Ip4 want, const std::string& owner,
                          const Alive& alive);

  // Release every lease of `owner`, in any subnet; how many there were (0 is fine: idempotent).
  Result<int> release(const std::string& owner);

  // Every lease as (address, owner), sorted by address. The owner is empty for a lease torn
  // by a crash or one nsbox did not write.
  Result<std::vector<std::pair<Ip4, std::string>>> leases() const;

  const std::string& dir() const { return dir_; }
  const std::string& name() const { return name_; }

 private:
  struct Lease {
    Ip4 address;
    // False for a file nsbox did not write (not a regular file, or too big to be an id).
    bool readable = true;
    // Empty when the lease was torn by a crash between its creation and its write.
    std::string owner;
  };

  Ipam() = default;
  // The exclusive or shared lock of the directory, held until the returned fd is closed.
  Result<UniqueFd> lock(int op) const;
  // The addresses that have a lease file, sorted; other names are ignored.
  Result<std::vector<Ip4>> scan() const;
  // The lease of `address`; nullopt when there is none.
  Result<std::optional<Lease>> read_lease(Ip4 address) const;
  // Every lease (of `subnet` only, unless null), sorted by address.
  Result<std::vector<Lease>> read_leases(const Subnet4* subnet) const;
  // Lease the lowest address of `subnet` that is not reserved or in `taken` (sorted; it grows
  // by what turns out to be taken meanwhile); nullopt when there is none.
  Result<std::optional<Ip4>> claim_lowest(const Subnet4& subnet, Ip4 gateway, std::vector<Ip4>& taken,
                                          const std::string& owner) const;
  // Create the lease file; false when the address is taken already (EEXIST).
  Result<bool> create(Ip4 address, const std::string& owner) const;
  Result<> remove(Ip4 address) const;
  Result<> check_owner(const std::string& owner) const;
  std::string path(Ip4 address) const;

  std::string dir_;
  std::string name_;
  UniqueFd dirfd_;
};

}  // namespace nsbox::net
