#include "net/ipam.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace nsbox::net {
namespace {

using nsbox::testing::TempDir;

Ip4 ip(const char* text) { return parse_ip4(text).value(); }
Subnet4 net(const char* text) { return parse_subnet4(text).value(); }

const Ipam::Alive kAllAlive = [](const std::string&) { return true; };

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool lexists(const std::string& path) {
  struct stat st{};
  return ::lstat(path.c_str(), &st) == 0;
}

class IpamTest : public ::testing::Test {
 protected:
  Ipam open() {
    auto r = Ipam::open(dir(), "net0");
    EXPECT_TRUE(r) << r.error().what();
    return std::move(r).value();
  }
  std::string dir() const { return tmp_ / "leases"; }
  std::string lease(const char* address) const { return dir() + "/" + address; }

  // The leases as "address=owner" lines, for compact comparisons.
  static std::string listing(const Ipam& ipam) {
    auto all = ipam.leases();
    EXPECT_TRUE(all) << all.error().what();
    std::string out;
    if (!all) return out;
    for (const auto& [address, owner] : *all) out += address.str() + "=" + owner + "\n";
    return out;
  }

  TempDir tmp_;
};

TEST_F(IpamTest, OpenCreatesAPrivateDirectory) {
  Ipam ipam = open();
  struct stat st{};
  ASSERT_EQ(::stat(dir().c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(ipam.name(), "net0");
  EXPECT_EQ(listing(ipam), "");
  // Opening again finds the same leases.
  ASSERT_TRUE(ipam.lease_free(net("10.1.0.0/24"), ip("10.1.0.1"), "a", kAllAlive));
  EXPECT_EQ(listing(open()), "10.1.0.2=a\n");
}

TEST_F(IpamTest, OpenRefusesMissingParentsAndSymlinks) {
  auto r = Ipam::open(tmp_ / "no/such/leases", "net0");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ENOENT);
  EXPECT_NE(r.error().what().find("network net0"), std::string::npos) << r.error().what();

  tmp_.mkdir("elsewhere");
  ASSERT_EQ(::symlink((tmp_ / "elsewhere").c_str(), dir().c_str()), 0);
  r = Ipam::open(dir(), "net0");
  ASSERT_FALSE(r);
  // O_NOFOLLOW|O_DIRECTORY: Linux says ENOTDIR for a symlink to a directory.
  EXPECT_TRUE(r.error().code() == ENOTDIR || r.error().code() == ELOOP) << r.error().what();
  EXPECT_FALSE(lexists(tmp_ / "elsewhere/.lock"));
}

TEST_F(IpamTest, LeasesTheLowestFreeAddressSkippingReservedOnes) {
  Ipam ipam = open();
  Subnet4 s = net("10.1.0.0/24");
  EXPECT_EQ(ipam.lease_free(s, ip("10.1.0.1"), "a", kAllAlive).value(), ip("10.1.0.2"));
  EXPECT_EQ(ipam.lease_free(s, ip("10.1.0.1"), "b", kAllAlive).value(), ip("10.1.0.3"));
  EXPECT_EQ(ipam.lease_free(s, ip("10.1.0.1"), "c", kAllAlive).value(), ip("10.1.0.4"));
  EXPECT_EQ(slurp(lease("10.1.0.3")), "b");
  EXPECT_EQ(ipam.release("b").value(), 1);
  // The hole is filled first.
  EXPECT_EQ(ipam.lease_free(s, ip("10.1.0.1"), "d", kAllAlive).value(), ip("10.1.0.3"));
  EXPECT_EQ(listing(ipam), "10.1.0.2=a\n10.1.0.3=d\n10.1.0.4=c\n");

  // The gateway need not be the first host; the network address is skipped regardless.
  Subnet4 t = net("10.2.0.0/24");
  EXPECT_EQ(ipam.lease_free(t, ip("10.2.0.254"), "e", kAllAlive).value(), ip("10.2.0.1"));
  EXPECT_EQ(ipam.lease_free(t, ip("10.2.0.2"), "f", kAllAlive).value(), ip("10.2.0.3"));
}

TEST_F(IpamTest, SkipsTheBroadcastAndGatewayAtTheTop) {
  Ipam ipam = open();
  Subnet4 s = net("10.0.0.0/29");  // .1-.6 are hosts
  for (const char* owner : {"a", "b", "c", "d"}) ASSERT_TRUE(ipam.lease_free(s, ip("10.0.0.6"), owner, kAllAlive));
  EXPECT_EQ(ipam.lease_free(s, ip("10.0.0.6"), "e", kAllAlive).value(), ip("10.0.0.5"));
  auto r = ipam.lease_free(s, ip("10.0.0.6"), "f", kAllAlive);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "network net0: no free address in 10.0.0.0/29 (5 leased)");
  EXPECT_FALSE(lexists(lease("10.0.0.6")));
  EXPECT_FALSE(lexists(lease("10.0.0.7")));
}

TEST_F(IpamTest, ASlash30HasExactlyOneContainerAddress) {
  Ipam ipam = open();
  Subnet4 s = net("10.0.0.0/30");
  EXPECT_EQ(ipam.lease_free(s, ip("10.0.0.1"), "a", kAllAlive).value(), ip("10.0.0.2"));
  auto r = ipam.lease_free(s, ip("10.0.0.1"), "b", kAllAlive);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "network net0: no free address in 10.0.0.0/30 (1 leased)");
  EXPECT_EQ(listing(ipam), "10.0.0.2=a\n");
}

TEST_F(IpamTest, ARetriedLeaseGetsTheSameAddress) {
  Ipam ipam = open();
  Subnet4 s = net("10.1.0.0/16");
  ASSERT_TRUE(ipam.lease_free(s, ip("10.1.0.1"), "a", kAllAlive));
  EXPECT_EQ(ipam.lease_free(s, ip("10.1.0.1"), "web", kAllAlive).value(), ip("10.1.0.3"));
  EXPECT_EQ(ipam.lease_free(s, ip("10.1.0.1"), "web", kAllAlive).value(), ip("10.1.0.3"));
  EXPECT_EQ(ipam.lease_exact(s, ip("10.1.0.1"), ip("10.1.0.3"), "web", kAllAlive).value(), ip("10.1.0.3"));
  // Even when that owner got an exact address above lower free ones.
  EXPECT_EQ(ipam.lease_exact(s, ip("10.1.0.1"), ip("10.1.7.7"), "db", kAllAlive).value(), ip("10.1.7.7"));
  EXPECT_EQ(ipam.lease_free(s, ip("10.1.0.1"), "db", kAllAlive).value(), ip("10.1.7.7"));
  EXPECT_EQ(listing(ipam), "10.1.0.2=a\n10.1.0.3=web\n10.1.7.7=db\n");
  // A lease in another subnet is not this subnet's answer.
  EXPECT_EQ(ipam.lease_free(net("10.2.0.0/16"), ip("10.2.0.1"), "db", kAllAlive).value(), ip("10.2.0.2"));
}

TEST_F(IpamTest, ExactLeaseRefusesReservedAndForeignAddresses) {
  Ipam ipam = open();
  Subnet4 s = net("10.1.0.0/16");
  Ip4 gw = ip("10.1.0.1");
  auto expect_error = [&](const char* want, const std::string& message) {
    auto r = ipam.lease_exact(s, gw, ip(want), "a", kAllAlive);
    ASSERT_FALSE(r) << want;
    EXPECT_EQ(r.error().what(), message);
    EXPECT_FALSE(lexists(lease(want)));
  };
  expect_error("10.2.0.5", "address 10.2.0.5 is not in network net0 (10.1.0.0/16)");
  expect_error("10.0.255.255", "address 10.0.255.255 is not in network net0 (10.1.0.0/16)");
  expect_error("10.1.0.0", "address 10.1.0.0 is the network address of network net0");
  expect_error("10.1.255.255", "address 10.1.255.255 is the broadcast address of network net0");
  expect_error("10.1.0.1", "address 10.1.0.1 is the gateway of network net0");

  EXPECT_EQ(ipam.lease_exact(s, gw, ip("10.1.0.5"), "web1", kAllAlive).value(), ip("10.1.0.5"));
  EXPECT_EQ(slurp(lease("10.1.0.5")), "web1");
}

TEST_F(IpamTest, ExactLeaseOfATakenAddress) {
  Ipam ipam = open();
  Subnet4 s = net("10.1.0.0/16");
  Ip4 gw = ip("10.1.0.1");
  ASSERT_TRUE(ipam.lease_exact(s, gw, ip("10.1.0.5"), "web1", kAllAlive));
  auto r = ipam.lease_exact(s, gw, ip("10.1.0.5"), "web2", kAllAlive);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "address 10.1.0.5 is taken by container web1");
  EXPECT_EQ(slurp(lease("10.1.0.5")), "web1");

  // The same owner asking again gets it; a dead owner's lease is reclaimed.
  EXPECT_EQ(ipam.lease_exact(s, gw, ip("10.1.0.5"), "web1", kAllAlive).value(), ip("10.1.0.5"));
  std::vector<std::string> asked;
  auto web1_gone = [&](const std::string& owner) {
    asked.push_back(owner);
    return owner != "web1";
  };
  EXPECT_EQ(ipam.lease_exact(s, gw, ip("10.1.0.5"), "web2", web1_gone).value(), ip("10.1.0.5"));
  EXPECT_EQ(asked, std::vector<std::string>{"web1"});
  EXPECT_EQ(slurp(lease("10.1.0.5")), "web2");
  EXPECT_EQ(listing(ipam), "10.1.0.5=web2\n");
}

TEST_F(IpamTest, DeadOwnersAreReclaimedOnlyWhenTheSubnetIsFull) {
  Ipam ipam = open();
  Subnet4 s = net("10.0.0.0/29");  // .2-.6 for containers
  Ip4 gw = ip("10.0.0.1");
  ASSERT_TRUE(ipam.lease_free(s, gw, "gone1", kAllAlive));  // .2
  int calls = 0;
  std::set<std::string> dead = {"gone1", "gone2"};
  auto alive = [&](const std::string& owner) {
    ++calls;
    return !dead.contains(owner);
  };
  EXPECT_EQ(ipam.lease_free(s, gw, "a", alive).value(), ip("10.0.0.3"));
  EXPECT_EQ(ipam.lease_free(s, gw, "gone2", kAllAlive).value(), ip("10.0.0.4"));
  EXPECT_EQ(ipam.lease_free(s, gw, "b", alive).value(), ip("10.0.0.5"));
  EXPECT_EQ(ipam.lease_free(s, gw, "c", alive).value(), ip("10.0.0.6"));
  EXPECT_EQ(calls, 0);
  // Full: both dead leases go, the lowest is taken.
  EXPECT_EQ(ipam.lease_free(s, gw, "d", alive).value(), ip("10.0.0.2"));
  EXPECT_GT(calls, 0);
  EXPECT_EQ(listing(ipam), "10.0.0.2=d\n10.0.0.3=a\n10.0.0.5=b\n10.0.0.6=c\n");
  EXPECT_EQ(ipam.lease_free(s, gw, "e", alive).value(), ip("10.0.0.4"));
  auto r = ipam.lease_free(s, gw, "f", alive);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "network net0: no free address in 10.0.0.0/29 (5 leased)");
  // An empty Alive keeps every lease.
  dead = {"a", "b", "c", "d", "e"};
  EXPECT_FALSE(ipam.lease_free(s, gw, "f", Ipam::Alive{}));
  EXPECT_EQ(ipam.lease_free(s, gw, "f", alive).value(), ip("10.0.0.2"));
}

TEST_F(IpamTest, ALeaseTornByACrashIsReclaimedWhenNeeded) {
  Ipam ipam = open();
  Subnet4 s = net("10.0.0.0/30");
  tmp_.write("leases/10.0.0.2", "");
  std::vector<std::string> asked;
  auto alive = [&](const std::string& owner) {
    asked.push_back(owner);
    return true;
  };
  EXPECT_EQ(listing(ipam), "10.0.0.2=\n");
  EXPECT_EQ(ipam.lease_free(s, ip("10.0.0.1"), "a", alive).value(), ip("10.0.0.2"));
  EXPECT_TRUE(asked.empty());
  EXPECT_EQ(slurp(lease("10.0.0.2")), "a");
}

TEST_F(IpamTest, ReleaseIsIdempotent) {
  Ipam ipam = open();
  Subnet4 s = net("10.1.0.0/24");
  Ip4 gw = ip("10.1.0.1");
  ASSERT_TRUE(ipam.lease_free(s, gw, "a", kAllAlive));
  ASSERT_TRUE(ipam.lease_free(s, gw, "b", kAllAlive));
  ASSERT_TRUE(ipam.lease_exact(s, gw, ip("10.1.0.9"), "a", kAllAlive));
  EXPECT_EQ(ipam.release("a").value(), 2);
  EXPECT_EQ(ipam.release("a").value(), 0);
  EXPECT_EQ(ipam.release("nobody").value(), 0);
  EXPECT_EQ(listing(ipam), "10.1.0.3=b\n");
  // An owner whose id is a prefix of another's is only itself.
  ASSERT_TRUE(ipam.lease_free(s, gw, "bb", kAllAlive));
  EXPECT_EQ(ipam.release("b").value(), 1);
  EXPECT_EQ(listing(ipam), "10.1.0.2=bb\n");
}

TEST_F(IpamTest, RefusesOwnersThatCannotReadBack) {
  Ipam ipam = open();
  Subnet4 s = net("10.1.0.0/24");
  for (const std::string& owner : {std::string(), std::string("a\nb"), std::string("a\0b", 3)}) {
    EXPECT_FALSE(ipam.lease_free(s, ip("10.1.0.1"), owner, kAllAlive));
    EXPECT_FALSE(ipam.lease_exact(s, ip("10.1.0.1"), ip("10.1.0.5"), owner, kAllAlive));
    EXPECT_FALSE(ipam.release(owner));
  }
  auto r = ipam.release("");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "network net0: invalid lease owner \"\"");
  EXPECT_EQ(listing(ipam), "");
}

TEST_F(IpamTest, ListsLeasesByAddressIgnoringOtherFiles) {
  Ipam ipam = open();
  Subnet4 s = net("10.1.0.0/24");
  for (const char* want : {"10.1.0.10", "10.1.0.9", "10.1.0.100", "10.1.0.2"}) {
    ASSERT_TRUE(ipam.lease_exact(s, ip("10.1.0.1"), ip(want), std::string("c") + want, kAllAlive));
  }
  tmp_.write("leases/notes", "x");
  tmp_.write("leases/10.1.0.03", "zombie");
  tmp_.write("leases/.10.1.0.3.tmp", "zombie");
  tmp_.mkdir("leases/sub");
  EXPECT_EQ(listing(ipam),
            "10.1.0.2=c10.1.0.2\n10.1.0.9=c10.1.0.9\n10.1.0.10=c10.1.0.10\n10.1.0.100=c10.1.0.100\n");
  // The junk takes no address either.
  EXPECT_EQ(ipam.lease_free(s, ip("10.1.0.1"), "d", kAllAlive).value(), ip("10.1.0.3"));
  EXPECT_EQ(slurp(tmp_ / "leases/10.1.0.03"), "zombie");
}

TEST_F(IpamTest, PlantedSymlinksAreNeverFollowed) {
  Ipam ipam = open();
  Subnet4 s = net("10.0.0.0/29");
  Ip4 gw = ip("10.0.0.1");
  tmp_.write("victim", "precious");
  ASSERT_EQ(::symlink((tmp_ / "victim").c_str(), lease("10.0.0.2").c_str()), 0);
  ASSERT_EQ(::symlink((tmp_ / "absent").c_str(), lease("10.0.0.3").c_str()), 0);
  // Both count as taken.
  EXPECT_EQ(ipam.lease_free(s, gw, "a", kAllAlive).value(), ip("10.0.0.4"));
  for (const char* want : {"10.0.0.2", "10.0.0.3"}) {
    auto r = ipam.lease_exact(s, gw, ip(want), "b", kAllAlive);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what(),
              std::string("address ") + want + " is taken (" + lease(want) + " is not a lease nsbox wrote)");
  }
  EXPECT_EQ(ipam.release("precious").value(), 0);
  // Full: nothing to reclaim, whatever the callback says, and the links stay links.
  auto none_alive = [](const std::string&) { return false; };
  ASSERT_TRUE(ipam.lease_free(s, gw, "b", kAllAlive));  // .5
  ASSERT_TRUE(ipam.lease_free(s, gw, "c", kAllAlive));  // .6
  ASSERT_EQ(ipam.release("a").value(), 1);
  ASSERT_EQ(ipam.release("b").value(), 1);
  ASSERT_EQ(ipam.release("c").value(), 1);
  ASSERT_TRUE(ipam.lease_free(s, gw, "x", kAllAlive));
  ASSERT_TRUE(ipam.lease_free(s, gw, "y", kAllAlive));
  ASSERT_TRUE(ipam.lease_free(s, gw, "z", kAllAlive));
  auto r = ipam.lease_free(s, gw, "d", [](const std::string& o) { return o == "x" || o == "y" || o == "z"; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "network net0: no free address in 10.0.0.0/29 (5 leased)");
  EXPECT_EQ(listing(ipam), "10.0.0.2=\n10.0.0.3=\n10.0.0.4=x\n10.0.0.5=y\n10.0.0.6=z\n");
  EXPECT_EQ(ipam.lease_free(s, gw, "d", none_alive).value(), ip("10.0.0.4"));

  struct stat st{};
  ASSERT_EQ(::lstat(lease("10.0.0.2").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(::lstat(lease("10.0.0.3").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(slurp(tmp_ / "victim"), "precious");
  EXPECT_FALSE(lexists(tmp_ / "absent"));
}

TEST_F(IpamTest, APlantedLockSymlinkIsRefused) {
  Ipam ipam = open();
  ASSERT_EQ(::symlink((tmp_ / "absent").c_str(), lease(".lock").c_str()), 0);
  auto r = ipam.lease_free(net("10.0.0.0/30"), ip("10.0.0.1"), "a", kAllAlive);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ELOOP);
  EXPECT_FALSE(lexists(tmp_ / "absent"));
  EXPECT_FALSE(lexists(lease("10.0.0.2")));
}

TEST_F(IpamTest, OtherPlantedFilesCountAsTakenWithoutHanging) {
  Ipam ipam = open();
  Subnet4 s = net("10.0.0.0/28");
  Ip4 gw = ip("10.0.0.1");
  ASSERT_EQ(::mkfifo(lease("10.0.0.2").c_str(), 0600), 0);
  tmp_.mkdir("leases/10.0.0.3");
  tmp_.write("leases/10.0.0.4", std::string(8192, 'x'));
  EXPECT_EQ(ipam.lease_free(s, gw, "a", kAllAlive).value(), ip("10.0.0.5"));
  EXPECT_EQ(listing(ipam), "10.0.0.2=\n10.0.0.3=\n10.0.0.4=\n10.0.0.5=a\n");
  EXPECT_EQ(ipam.release("a").value(), 1);
}

// What forked children got: got[child * per_child + k] is the k-th address of that child
// ("c<child>.<k>"), 0 for a refusal (its text in errors), kUnreported when none came.
constexpr uint32_t kUnreported = 0xffffffff;
struct Race {
  std::vector<uint32_t> got;
  std::vector<std::string> errors;
};

// Forks `children` processes that all start leasing from `subnet` (gateway: its first host)
// at the same moment, `per_child` addresses each, through Ipam objects opened before the fork
// (odd children) or after it (even ones).
Race lease_concurrently(const std::string& dir, const Subnet4& subnet, int children, int per_child) {
  Race race;
  race.got.assign(static_cast<size_t>(children * per_child), kUnreported);
  auto shared = Ipam::open(dir, "net0");
  EXPECT_TRUE(shared) << shared.error().what();
  int go[2], results[2];
  if (::pipe2(go, O_CLOEXEC) < 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return race;
  }
  if (::pipe2(results, O_CLOEXEC) < 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    ::close(go[0]);
    ::close(go[1]);
    return race;
  }
  std::vector<pid_t> pids;
  for (int i = 0; i < children; ++i) {
    pid_t pid = ::fork();
    if (pid < 0) {
      ADD_FAILURE() << "fork: " << std::strerror(errno);
      break;
    }
    if (pid == 0) {
      ::close(go[1]);
      ::close(results[0]);
      char c;
      (void)!::read(go[0], &c, 1);  // returns at EOF: everyone starts together
      auto mine = i % 2 == 0 ? Ipam::open(dir, "net0") : std::move(shared);
      for (int k = 0; k < per_child; ++k) {
        std::string owner = "c" + std::to_string(i) + "." + std::to_string(k);
        auto r = mine ? mine->lease_free(subnet, subnet.first_host(), owner, kAllAlive)
                      : Result<Ip4>(std::unexpected(mine.error()));
        std::string line = std::to_string(i * per_child + k) + " " +
                           (r ? std::to_string(r->value) : "0 " + r.error().what()) + "\n";
        (void)!::write(results[1], line.data(), line.size());  // < PIPE_BUF: one atomic write
      }
      ::_exit(0);
    }
    pids.push_back(pid);
  }
  ::close(go[0]);
  ::close(results[1]);
  ::close(go[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(results[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  ::close(results[0]);
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  }
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    size_t slot = race.got.size();
    uint32_t value = 0;
    in >> slot >> value;
    if (slot >= race.got.size()) {
      ADD_FAILURE() << "bad report: " << line;
      continue;
    }
    race.got[slot] = value;
    if (value == 0) {
      std::string rest;
      std::getline(in, rest);
      race.errors.push_back(rest.substr(1));
    }
  }
  return race;
}

// Every lease in `dir` is the one its owner was told, and no address was told twice.
void expect_leases_match(const std::string& dir, const Race& race, int per_child) {
  auto all = Ipam::open(dir, "net0").value().leases().value();
  std::set<uint32_t> told;
  for (uint32_t v : race.got) {
    ASSERT_NE(v, kUnreported) << "a child reported nothing";
    if (v != 0) {
      EXPECT_TRUE(told.insert(v).second) << Ip4{v}.str() << " leased twice";
    }
  }
  EXPECT_EQ(all.size(), told.size());
  for (const auto& [address, owner] : all) {
    size_t dot = owner.find('.');
    ASSERT_NE(dot, std::string::npos) << owner;
    size_t slot = std::stoul(owner.substr(1, dot - 1)) * static_cast<size_t>(per_child) + std::stoul(owner.substr(dot + 1));
    ASSERT_LT(slot, race.got.size()) << owner;
    EXPECT_EQ(race.got[slot], address.value) << owner << " has " << address.str();
  }
}

TEST_F(IpamTest, ConcurrentLeasesGetDistinctAddresses) {
  Race race = lease_concurrently(dir(), net("10.9.0.0/28"), 8, 1);
  EXPECT_TRUE(race.errors.empty()) << race.errors.front();
  expect_leases_match(dir(), race, 1);
  // The lowest eight.
  std::vector<uint32_t> got = race.got;
  std::sort(got.begin(), got.end());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], ip("10.9.0.2").value + i);
}

TEST_F(IpamTest, ConcurrentLeasesBeyondTheSubnetFailCleanly) {
  Race race = lease_concurrently(dir(), net("10.9.0.0/28"), 16, 1);  // 13 container addresses
  expect_leases_match(dir(), race, 1);
  EXPECT_EQ(std::count(race.got.begin(), race.got.end(), 0u), 3);
  ASSERT_EQ(race.errors.size(), 3u);
  for (const std::string& e : race.errors) EXPECT_EQ(e, "network net0: no free address in 10.9.0.0/28 (13 leased)");
  EXPECT_EQ(open().leases().value().size(), 13u);
}

TEST_F(IpamTest, ManyConcurrentLeasesGetDistinctAddresses) {
  Race race = lease_concurrently(dir(), net("10.9.0.0/24"), 16, 15);
  EXPECT_TRUE(race.errors.empty()) << race.errors.front();
  expect_leases_match(dir(), race, 15);
  EXPECT_EQ(open().leases().value().size(), 240u);
}

}  // namespace
}  // namespace nsbox::net
