#include "runtime/store.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace nsbox::runtime {
namespace {

using nsbox::testing::TempDir;

bool exists(const std::string& p) {
  struct stat st{};
  return ::lstat(p.c_str(), &st) == 0;
}
mode_t perm(const std::string& p) {
  struct stat st{};
  if (::stat(p.c_str(), &st) < 0) return 07777;
  return st.st_mode & 07777;
}

TEST(ValidateId, Valid) {
  for (const std::string& id : std::vector<std::string>{"a", "Z", "0", "abc123", "A_b+c-d.e", "my.container", "...", "a..b", "-x", "+",
                               std::string(249, 'a')}) {
    auto r = validate_id(id);
    EXPECT_TRUE(r) << "\"" << id << "\": " << r.error().what();
  }
}

TEST(ValidateId, Invalid) {
  auto r = validate_id("");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "container id must not be empty");
  for (const char* id : {".", ".."}) {
    r = validate_id(id);
    ASSERT_FALSE(r) << id;
    EXPECT_EQ(r.error().what(), std::string("invalid container id \"") + id + "\"");
  }
  for (const char* id : {"a/b", "a b", "\xc3\xa9", "caf\xc3\xa9", "/", "a\nb", "a:b", "a*", "a\\b", "\t"}) {
    r = validate_id(id);
    ASSERT_FALSE(r) << id;
    EXPECT_EQ(r.error().what(), std::string("invalid container id \"") + id +
                                    "\": only letters, digits, '_', '+', '-' and '.' are allowed");
  }
  r = validate_id(std::string(250, 'a'));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "container id is too long (250 characters; at most 249)");
  r = validate_id(std::string("a\0b", 3));
  EXPECT_FALSE(r);
}

spec::State sample_state() {
  spec::State s;
  s.oci_version = "1.3.0";
  s.id = "x";
  s.pid = 1234;
  s.start_time = 98765;
  s.bundle = "/b";
  s.rootfs = "/b/rootfs";
  s.created = "2024-01-01T00:00:00Z";
  s.owner = 0;
  s.annotations = {{"k", "v"}};
  s.cgroup_leaves = {"/sys/fs/cgroup/x"};
  s.cgroup_created = {"/sys/fs/cgroup/x"};
  s.own_pid_ns = true;
  spec::Hook h;
  h.path = "/bin/true";
  h.args = {"true"};
  h.timeout = 3;
  s.poststop = {h};
  return s;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }
  std::string root() const { return dir_ / "state"; }
  TempDir dir_;
};

TEST_F(StoreTest, CreateMakesTheRootAndTheDirectory) {
  auto d = ContainerDir::create(root(), "x");
  ASSERT_TRUE(d) << d.error().what();
  EXPECT_EQ(d->path(), root() + "/x");
  EXPECT_GE(d->fd(), 0);
  EXPECT_EQ(perm(root()), 0700u);
  EXPECT_EQ(perm(root() + "/x"), 0700u);
  EXPECT_EQ(d->fd_relative("state.json"), "/proc/self/fd/" + std::to_string(d->fd()) + "/state.json");
}

TEST_F(StoreTest, CreateTwiceIsAnError) {
  auto d = ContainerDir::create(root(), "x");
  ASSERT_TRUE(d) << d.error().what();
  auto again = ContainerDir::create(root(), "x");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().what(), "container with id \"x\" already exists");
  EXPECT_EQ(again.error().code(), 0);
  // The first one is untouched.
  EXPECT_TRUE(exists(root() + "/x"));
}

TEST_F(StoreTest, OpenMissing) {
  auto d = ContainerDir::open(root(), "x", Lock::kNone);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().what(), "container \"x\" does not exist");
  EXPECT_EQ(d.error().code(), 0);

  // A directory without state.json (creation in progress, or a delete raced us) does not count.
  ASSERT_TRUE(ContainerDir::create(root(), "y"));
  d = ContainerDir::open(root(), "y", Lock::kNone);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().what(), "container \"y\" does not exist");
}

TEST_F(StoreTest, OpenValidatesTheId) {
  auto d = ContainerDir::open(root(), "../etc", Lock::kNone);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().what(),
            "invalid container id \"../etc\": only letters, digits, '_', '+', '-' and '.' are allowed");
  d = ContainerDir::open(root(), "..", Lock::kNone);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().what(), "invalid container id \"..\"");
}

TEST_F(StoreTest, SaveLoadRoundTrip) {
  spec::State s = sample_state();
  {
    auto d = ContainerDir::create(root(), "x");
    ASSERT_TRUE(d) << d.error().what();
    auto saved = d->save(s);
    ASSERT_TRUE(saved) << saved.error().what();
    EXPECT_EQ(perm(root() + "/x/state.json"), 0600u);
    // Nothing but the state file: no temporary left beside it.
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(root() + "/x")) names.push_back(e.path().filename());
    EXPECT_EQ(names, std::vector<std::string>{"state.json"});
    auto back = d->load();
    ASSERT_TRUE(back) << back.error().what();
    EXPECT_EQ(back->id, "x");
  }  // the lock is released here
  auto d = ContainerDir::open(root(), "x", Lock::kExclusive);
  ASSERT_TRUE(d) << d.error().what();
  EXPECT_EQ(d->path(), root() + "/x");
  auto back = d->load();
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(back->oci_version, s.oci_version);
  EXPECT_EQ(back->id, s.id);
  EXPECT_EQ(back->pid, s.pid);
  EXPECT_EQ(back->start_time, s.start_time);
  EXPECT_EQ(back->bundle, s.bundle);
  EXPECT_EQ(back->rootfs, s.rootfs);
  EXPECT_EQ(back->created, s.created);
  EXPECT_EQ(back->owner, s.owner);
  EXPECT_EQ(back->annotations, s.annotations);
  EXPECT_EQ(back->cgroup_leaves, s.cgroup_leaves);
  EXPECT_EQ(back->cgroup_created, s.cgroup_created);
  EXPECT_EQ(back->own_pid_ns, s.own_pid_ns);
  ASSERT_EQ(back->poststop.size(), 1u);
  EXPECT_EQ(back->poststop[0].path, "/bin/true");
  EXPECT_EQ(back->poststop[0].args, std::vector<std::string>{"true"});
  EXPECT_EQ(back->poststop[0].timeout, 3);

  // Saving again replaces the file.
  s.pid = 99;
  ASSERT_TRUE(d->save(s));
  back = d->load();
  ASSERT_TRUE(back);
  EXPECT_EQ(back->pid, 99);
}

TEST_F(StoreTest, LoadOfACorruptFile) {
  auto d = ContainerDir::create(root(), "x");
  ASSERT_TRUE(d);
  std::ofstream(root() + "/x/state.json") << "{not json";
  auto s = d->load();
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().what().starts_with(root() + "/x/state.json: corrupt state file: ")) << s.error().what();
}

TEST_F(StoreTest, StatusFromProcessAndExecSocket) {
  auto d = ContainerDir::create(root(), "x");
  ASSERT_TRUE(d);
  spec::State st;
  st.pid = ::getpid();  // this process stands in for the container's
  st.start_time = proc_info(st.pid).start_time;
  EXPECT_EQ(current_status(st, *d), spec::Status::kRunning);
  std::ofstream(root() + "/x/" + kExecSocket) << "";  // waiting for start
  EXPECT_EQ(current_status(st, *d), spec::Status::kCreated);
  UniqueFd rootfd(::open(root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  EXPECT_EQ(current_status_at(st, rootfd.get(), "x"), spec::Status::kCreated);
  EXPECT_EQ(current_status_at(st, rootfd.get(), "y"), spec::Status::kRunning);
  st.start_time += 1;  // the pid is another process's now
  EXPECT_EQ(current_status(st, *d), spec::Status::kStopped);
  d->remove();
  EXPECT_FALSE(exists(root() + "/x"));
  EXPECT_TRUE(exists(root()));
}

TEST_F(StoreTest, ListIds) {
  EXPECT_TRUE(list_ids(root()).empty());  // no root yet
  for (const char* id : {"zeta", "alpha", "mid", "nostate"}) {
    auto d = ContainerDir::create(root(), id);
    ASSERT_TRUE(d);
    if (std::string(id) != "nostate") {
      ASSERT_TRUE(d->save(sample_state()));
    }
  }
  std::ofstream(root() + "/stray-file") << "";
  // Directories only; one without state.json (a create still at work) is for the caller to skip.
  EXPECT_EQ(list_ids(root()), (std::vector<std::string>{"alpha", "mid", "nostate", "zeta"}));
}

TEST(ProcInfo, Self) {
  ProcInfo p = proc_info(::getpid());
  EXPECT_TRUE(p.alive);
  EXPECT_NE(p.start_time, 0u);
  EXPECT_EQ(proc_info(::getpid()).start_time, p.start_time);  // stable
}

TEST(ProcInfo, InvalidPids) {
  EXPECT_FALSE(proc_info(0).alive);
  EXPECT_FALSE(proc_info(-1).alive);
  EXPECT_EQ(proc_info(0).start_time, 0u);
}

TEST(ProcInfo, ReapedChildIsNotAlive) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) ::_exit(0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ProcInfo p = proc_info(pid);
  EXPECT_FALSE(p.alive);
}

std::string proc_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  auto close = s.rfind(')');
  return close == std::string::npos || close + 2 >= s.size() ? "" : s.substr(close + 2, 1);
}

TEST(ProcInfo, ZombieIsNotAlive) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) ::_exit(0);
  for (int i = 0; i < 500 && proc_state(pid) != "Z"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(proc_state(pid), "Z");
  ProcInfo p = proc_info(pid);
  EXPECT_FALSE(p.alive);
  ::waitpid(pid, nullptr, 0);
}

TEST(ProcInfo, CommandNameWithParenthesisAndSpaces) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::prctl(PR_SET_NAME, "a) b ) c", 0, 0, 0);
    char c = 1;
    (void)!::write(fds[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  ::close(fds[1]);
  char c = 0;
  ASSERT_EQ(::read(fds[0], &c, 1), 1);
  ::close(fds[0]);
  ProcInfo p = proc_info(pid);
  ProcInfo self = proc_info(::getpid());
  EXPECT_TRUE(p.alive);
  EXPECT_GE(p.start_time, self.start_time);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

class StatusTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    auto d = ContainerDir::create(root(), "x");
    ASSERT_TRUE(d);
    dir = std::make_unique<ContainerDir>(std::move(*d));
    st = sample_state();
    st.pid = ::getpid();
    st.start_time = proc_info(::getpid()).start_time;
    st.cgroup_leaves.clear();
  }
  std::unique_ptr<ContainerDir> dir;
  spec::State st;
};

TEST_F(StatusTest, RunningCreatedStopped) {
  EXPECT_EQ(current_status(st, *dir), spec::Status::kRunning);
  std::ofstream(root() + "/x/" + kExecSocket) << "";
  EXPECT_EQ(current_status(st, *dir), spec::Status::kCreated);
  // Same pid, other start time: the pid was reused by another process.
  spec::State reused = st;
  reused.start_time += 1;
  EXPECT_EQ(current_status(reused, *dir), spec::Status::kStopped);
  spec::State gone = st;
  gone.pid = 0;
  EXPECT_EQ(current_status(gone, *dir), spec::Status::kStopped);
}

TEST_F(StatusTest, CreatingUntilTheSocketIsRenamed) {
  std::ofstream(root() + "/x/" + kExecSocketCreating) << "";
  EXPECT_EQ(current_status(st, *dir), spec::Status::kCreating);
  ASSERT_EQ(::rename((root() + "/x/" + kExecSocketCreating).c_str(), (root() + "/x/" + kExecSocket).c_str()), 0);
  EXPECT_EQ(current_status(st, *dir), spec::Status::kCreated);
}

TEST_F(StatusTest, PausedFromTheFreezer) {
  for (const char* file : {"v1/freezer.state", "v2/cgroup.freeze"}) {
    dir_.mkdir("v1");
    dir_.mkdir("v2");
    st.freezer = dir_ / file;
    EXPECT_EQ(current_status(st, *dir), spec::Status::kRunning) << file;  // no such file
    dir_.write(file, std::string(file).ends_with("freeze") ? "0\n" : "THAWED\n");
    EXPECT_EQ(current_status(st, *dir), spec::Status::kRunning) << file;
    dir_.write(file, std::string(file).ends_with("freeze") ? "1\n" : "FROZEN\n");
    EXPECT_EQ(current_status(st, *dir), spec::Status::kPaused) << file;
    // A created container can be paused too (as runc): paused it is.
    std::ofstream(root() + "/x/" + kExecSocket) << "";
    EXPECT_EQ(current_status(st, *dir), spec::Status::kPaused) << file;
    ::unlink((root() + "/x/" + kExecSocket).c_str());
  }
}

}  // namespace
}  // namespace nsbox::runtime
