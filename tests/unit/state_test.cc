#include "spec/state.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

namespace nsbox::spec {
namespace {

using json = nlohmann::json;

State sample() {
  State s;
  s.oci_version = "1.3.0";
  s.id = "web-1";
  s.pid = 4242;
  s.start_time = 18446744073709551615ULL;  // the full range survives
  s.bundle = "/srv/bundles/web";
  s.rootfs = "/srv/bundles/web/rootfs";
  s.created = "2024-05-06T07:08:09.123456789Z";
  s.owner = 1000;
  s.annotations = {{"org.example.key", "value"}, {"b", ""}};
  s.cgroup_leaves = {"/sys/fs/cgroup/memory/nsbox/web-1", "/sys/fs/cgroup/unified/nsbox/web-1"};
  s.cgroup_created = {"/sys/fs/cgroup/memory/nsbox", "/sys/fs/cgroup/memory/nsbox/web-1"};
  s.own_pid_ns = true;
  Hook h1;
  h1.path = "/usr/bin/poststart";
  h1.args = {"poststart", "--flag", "with space"};
  h1.env = {"A=1", "B=two=2"};
  h1.timeout = 7;
  Hook h2;
  h2.path = "/bin/true";
  s.poststart = {h1};
  s.poststop = {h2, h1};
  return s;
}

void expect_hooks_eq(const std::vector<Hook>& a, const std::vector<Hook>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].path, b[i].path) << i;
    EXPECT_EQ(a[i].args, b[i].args) << i;
    EXPECT_EQ(a[i].env, b[i].env) << i;
    EXPECT_EQ(a[i].timeout, b[i].timeout) << i;
  }
}

void expect_state_eq(const State& a, const State& b) {
  EXPECT_EQ(a.oci_version, b.oci_version);
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.pid, b.pid);
  EXPECT_EQ(a.start_time, b.start_time);
  EXPECT_EQ(a.bundle, b.bundle);
  EXPECT_EQ(a.rootfs, b.rootfs);
  EXPECT_EQ(a.created, b.created);
  EXPECT_EQ(a.owner, b.owner);
  EXPECT_EQ(a.annotations, b.annotations);
  EXPECT_EQ(a.cgroup_leaves, b.cgroup_leaves);
  EXPECT_EQ(a.cgroup_created, b.cgroup_created);
  EXPECT_EQ(a.own_pid_ns, b.own_pid_ns);
  expect_hooks_eq(a.poststart, b.poststart);
  expect_hooks_eq(a.poststop, b.poststop);
}

TEST(StateJson, RoundTrip) {
  State s = sample();
  auto back = state_from_json(state_to_json(s), "state.json");
  ASSERT_TRUE(back) << back.error().what();
  expect_state_eq(*back, s);
}

TEST(StateJson, RoundTripOfAnEmptyState) {
  State s;
  auto back = state_from_json(state_to_json(s), "state.json");
  ASSERT_TRUE(back) << back.error().what();
  expect_state_eq(*back, s);
  EXPECT_EQ(back->pid, 0);
  EXPECT_FALSE(back->own_pid_ns);
  EXPECT_TRUE(back->poststop.empty());
}

TEST(StateJson, FieldNamesOnDisk) {
  json j = json::parse(state_to_json(sample()));
  EXPECT_EQ(j.at("ociVersion"), "1.3.0");
  EXPECT_EQ(j.at("id"), "web-1");
  EXPECT_EQ(j.at("pid"), 4242);
  EXPECT_EQ(j.at("startTime").get<uint64_t>(), 18446744073709551615ULL);
  EXPECT_EQ(j.at("bundle"), "/srv/bundles/web");
  EXPECT_EQ(j.at("rootfs"), "/srv/bundles/web/rootfs");
  EXPECT_EQ(j.at("created"), "2024-05-06T07:08:09.123456789Z");
  EXPECT_EQ(j.at("owner"), 1000);
  EXPECT_EQ(j.at("annotations").size(), 2u);
  EXPECT_EQ(j.at("cgroupLeaves").size(), 2u);
  EXPECT_EQ(j.at("cgroupCreated").size(), 2u);
  EXPECT_EQ(j.at("ownPidNamespace"), true);
  ASSERT_EQ(j.at("poststart").size(), 1u);
  EXPECT_EQ(j["poststart"][0].at("timeout"), 7);
  ASSERT_EQ(j.at("poststop").size(), 2u);
  EXPECT_FALSE(j["poststop"][0].contains("timeout"));  // no timeout: not written
  EXPECT_EQ(j.at("process"), "");  // config.json's process, for exec
  EXPECT_EQ(j.at("notifySocket"), "");
  EXPECT_EQ(j.at("seccomp"), "");  // config.json's linux.seccomp, for exec
  EXPECT_EQ(j.at("addresses").size(), 0u);  // nsbox's networks: none
  EXPECT_EQ(j.size(), 19u);
}

TEST(StateJson, HookOptionalFieldsDefault) {
  json j = json::parse(state_to_json(State{}));
  j["poststop"] = json::array({{{"path", "/x"}}});
  auto s = state_from_json(j.dump(), "state.json");
  ASSERT_TRUE(s) << s.error().what();
  ASSERT_EQ(s->poststop.size(), 1u);
  EXPECT_EQ(s->poststop[0].path, "/x");
  EXPECT_TRUE(s->poststop[0].args.empty());
  EXPECT_FALSE(s->poststop[0].env.has_value());  // none given: the runtime's environment
  EXPECT_EQ(s->poststop[0].timeout, 0);
}

TEST(StateJson, CorruptInput) {
  auto s = state_from_json("{\"ociVersion\": ", "/run/nsbox/x/state.json");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), 0);
  EXPECT_TRUE(s.error().what().starts_with(
      "/run/nsbox/x/state.json: corrupt state file: [json.exception.parse_error.101] parse error at line 1"))
      << s.error().what();

  s = state_from_json("", "state.json");
  ASSERT_FALSE(s);
  EXPECT_TRUE(s.error().what().starts_with("state.json: corrupt state file: ")) << s.error().what();

  s = state_from_json("{}", "state.json");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().what(),
            "state.json: corrupt state file: [json.exception.out_of_range.403] key 'ociVersion' not found");

  // A field of the wrong type.
  json j = json::parse(state_to_json(sample()));
  j["pid"] = "4242";
  s = state_from_json(j.dump(), "state.json");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().what(), "state.json: corrupt state file: field \"pid\" is not an integer of its range");

  // A missing field further down.
  j = json::parse(state_to_json(sample()));
  j.erase("cgroupCreated");
  s = state_from_json(j.dump(), "state.json");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().what(),
            "state.json: corrupt state file: [json.exception.out_of_range.403] key 'cgroupCreated' not found");

  // A hook without a path.
  j = json::parse(state_to_json(sample()));
  j["poststart"] = json::array({{{"args", json::array()}}});
  s = state_from_json(j.dump(), "state.json");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().what(),
            "state.json: corrupt state file: [json.exception.out_of_range.403] key 'path' not found");
}

TEST(StatusName, All) {
  EXPECT_STREQ(status_name(Status::kCreating), "creating");
  EXPECT_STREQ(status_name(Status::kCreated), "created");
  EXPECT_STREQ(status_name(Status::kRunning), "running");
  EXPECT_STREQ(status_name(Status::kPaused), "paused");
  EXPECT_STREQ(status_name(Status::kStopped), "stopped");
}

TEST(OciStateJson, RunningWithAnnotations) {
  State s = sample();
  json j = json::parse(oci_state_json(s, Status::kRunning, false));
  json want = {{"ociVersion", "1.3.0"},
               {"id", "web-1"},
               {"status", "running"},
               {"pid", 4242},
               {"bundle", "/srv/bundles/web"},
               {"rootfs", "/srv/bundles/web/rootfs"},
               {"created", "2024-05-06T07:08:09.123456789Z"},
               {"owner", "1000"},
               {"annotations", {{"org.example.key", "value"}, {"b", ""}}}};
  EXPECT_EQ(j, want) << j.dump();
}

TEST(OciStateJson, StatusAndPid) {
  State s = sample();
  for (auto [st, name] : {std::pair{Status::kCreating, "creating"}, std::pair{Status::kCreated, "created"},
                          std::pair{Status::kRunning, "running"}, std::pair{Status::kPaused, "paused"}}) {
    json j = json::parse(oci_state_json(s, st, false));
    EXPECT_EQ(j.at("status"), name);
    EXPECT_EQ(j.at("pid"), 4242) << name;
  }
  json j = json::parse(oci_state_json(s, Status::kStopped, false));
  EXPECT_EQ(j.at("status"), "stopped");
  EXPECT_EQ(j.at("pid"), 0);
}

TEST(OciStateJson, NoAnnotationsKeyWhenEmptyAndRootOwner) {
  State s = sample();
  s.annotations.clear();
  s.owner = 0;
  json j = json::parse(oci_state_json(s, Status::kCreated, false));
  EXPECT_FALSE(j.contains("annotations")) << j.dump();
  EXPECT_EQ(j.at("owner"), "root");
  EXPECT_EQ(j.size(), 8u);
  // Internal fields never leak into the spec document.
  EXPECT_FALSE(j.contains("startTime"));
  EXPECT_FALSE(j.contains("cgroupLeaves"));
  EXPECT_FALSE(j.contains("poststop"));
}

TEST(OciStateJson, PrettyAndCompact) {
  State s = sample();
  std::string compact = oci_state_json(s, Status::kRunning, false);
  std::string pretty = oci_state_json(s, Status::kRunning, true);
  EXPECT_EQ(compact.find('\n'), std::string::npos);
  EXPECT_TRUE(compact.starts_with("{\"ociVersion\":\"1.3.0\",")) << compact;
  EXPECT_TRUE(pretty.starts_with("{\n  \"ociVersion\": \"1.3.0\",\n  \"id\": \"web-1\",\n")) << pretty;
  EXPECT_EQ(json::parse(compact), json::parse(pretty));
}

TEST(StateSummary, HasWhatListNeedsAndNotTheRest) {
  State s = sample();
  auto sum = state_summary_from_json(state_to_json(s), "f");
  ASSERT_TRUE(sum) << sum.error().what();
  EXPECT_EQ(sum->oci_version, s.oci_version);
  EXPECT_EQ(sum->id, s.id);
  EXPECT_EQ(sum->pid, s.pid);
  EXPECT_EQ(sum->start_time, s.start_time);
  EXPECT_EQ(sum->bundle, s.bundle);
  EXPECT_EQ(sum->rootfs, s.rootfs);
  EXPECT_EQ(sum->created, s.created);
  EXPECT_EQ(sum->owner, s.owner);
  EXPECT_EQ(sum->annotations, s.annotations);
  EXPECT_EQ(sum->cgroup_leaves, s.cgroup_leaves);
  EXPECT_TRUE(sum->cgroup_created.empty());  // not read
  EXPECT_TRUE(sum->process_json.empty());
  EXPECT_EQ(oci_state_json(*sum, Status::kRunning, false), oci_state_json(s, Status::kRunning, false));
}

TEST(StateSummary, FieldsInAnyOrderAndAtTheEnd) {
  State s = sample();
  json j = json::parse(state_to_json(s));
  json r = json::object();
  for (auto it = j.rbegin(); it != j.rend(); ++it) r[it.key()] = it.value();  // reversed
  auto sum = state_summary_from_json(r.dump(), "f");
  ASSERT_TRUE(sum) << sum.error().what();
  EXPECT_EQ(sum->id, s.id);
  EXPECT_EQ(sum->cgroup_leaves, s.cgroup_leaves);
  EXPECT_EQ(sum->annotations, s.annotations);
}

TEST(StateSummary, CorruptOrIncomplete) {
  auto bad = state_summary_from_json("{\"ociVersion\": \"1\", \"id\": ", "/r/x/state.json");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(std::string(bad.error().what()).starts_with("/r/x/state.json: corrupt state file: ")) << bad.error().what();
  json j = json::parse(state_to_json(sample()));
  j.erase("created");
  auto missing = state_summary_from_json(j.dump(), "/r/x/state.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(std::string(missing.error().what()), "/r/x/state.json: corrupt state file: a field of the summary is missing");
}

}  // namespace
}  // namespace nsbox::spec

namespace nsbox::spec {
namespace {

// Found by tests/fuzz: numbers of the wrong kind or range, and nesting deep enough to
// overflow a recursive parser, are a damaged file, never undefined behaviour or a crash.
TEST(StateJson, NumbersOutOfTheirFieldsRangeAreDamage) {
  json good = json::parse(state_to_json(State{}));
  for (const char* key : {"pid", "owner", "startTime"}) {
    for (json bad : {json(-9223372038577580817.0), json(1e300), json(-1.5), json("12"), json(4294967296ULL * 4294967296.0)}) {
      json j = good;
      j[key] = bad;
      auto s = state_from_json(j.dump(), "state.json");
      EXPECT_FALSE(s) << key << "=" << bad.dump();
    }
  }
  json j = good;
  j["owner"] = 4294967296ULL;  // beyond uint32
  EXPECT_FALSE(state_from_json(j.dump(), "state.json"));
  j = good;
  j["poststop"] = json::array({{{"path", "/x"}, {"timeout", 1e20}}});
  EXPECT_FALSE(state_from_json(j.dump(), "state.json"));
}

TEST(StateJson, DeepNestingIsDamage) {
  std::string deep = "{\"x\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_FALSE(state_from_json(deep, "state.json"));
  EXPECT_FALSE(state_summary_from_json(deep, "state.json"));
  EXPECT_FALSE(footprint_from_json(deep, "footprint.json"));
}

TEST(StateJson, RestatedLeavesWhatIsNotAnObject) {
  EXPECT_EQ(restated("9\n", Status::kCreated, 1), "9\n");
  EXPECT_EQ(json::parse(restated(R"({"status":"creating","pid":77})", Status::kCreated, 1)),
            json::parse(R"({"status":"created","pid":1})"));
}

}  // namespace
}  // namespace nsbox::spec

namespace nsbox::spec {
namespace {

// nsbox's networks: the addresses are in the full state, in list's summary, and in the
// runtime-spec document `state` prints; the record of what was made goes back and forth.
TEST(StateJson, NetworkAddressesAndRecord) {
  State s;
  s.oci_version = "1.3.0";
  s.id = "web";
  s.addresses = {"10.77.0.2", "10.78.1.5"};
  s.network_json = R"({"links":[]})";
  std::string text = state_to_json(s);
  auto full = state_from_json(text, "state.json");
  ASSERT_TRUE(full) << full.error().what();
  EXPECT_EQ(full->addresses, s.addresses);
  EXPECT_EQ(full->network_json, s.network_json);
  auto summary = state_summary_from_json(text, "state.json");
  ASSERT_TRUE(summary) << summary.error().what();
  EXPECT_EQ(summary->addresses, s.addresses);
  auto oci = json::parse(oci_state_json(s, Status::kRunning, false));
  EXPECT_EQ(oci.at("addresses"), json(s.addresses));
  EXPECT_FALSE(json::parse(oci_state_json(State{}, Status::kRunning, false)).contains("addresses"));
}

}  // namespace
}  // namespace nsbox::spec
