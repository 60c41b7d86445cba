#include <gtest/gtest.h>

#include "cgroup/control.h"
#include "spec/resources.h"

namespace nsbox {
namespace {

TEST(CgroupConversion, SharesToWeightAsRuncConvertsThem) {
  EXPECT_EQ(cgroup::shares_to_weight(0), 0u);
  EXPECT_EQ(cgroup::shares_to_weight(2), 1u);
  EXPECT_EQ(cgroup::shares_to_weight(1024), 39u);
  EXPECT_EQ(cgroup::shares_to_weight(262144), 10000u);
}

TEST(CgroupConversion, BlkioWeightToIoWeight) {
  EXPECT_EQ(cgroup::blkio_weight_to_io_weight(10), 1u);
  EXPECT_EQ(cgroup::blkio_weight_to_io_weight(500), 4950u);
  EXPECT_EQ(cgroup::blkio_weight_to_io_weight(1000), 10000u);
}

TEST(CgroupConversion, SwapIsTotalOnV1AndExtraOnV2) {
  EXPECT_EQ(*cgroup::swap_to_v2(-1, 100), "max");
  EXPECT_EQ(*cgroup::swap_to_v2(0, 100), "");
  EXPECT_EQ(*cgroup::swap_to_v2(300, 100), "200");
  auto below = cgroup::swap_to_v2(50, 100);
  ASSERT_FALSE(below);
  EXPECT_EQ(below.error().what(),
            "linux.resources.memory.swap: memory+swap limit must not be below the memory limit");
  EXPECT_FALSE(cgroup::swap_to_v2(300, -1));
}

TEST(ParseResources, AllSections) {
  auto r = spec::parse_resources(R"({
    "memory": {"limit": 1048576, "reservation": 1024, "swap": 2097152, "disableOOMKiller": false},
    "cpu": {"shares": 512, "quota": 20000, "period": 100000, "cpus": "0", "mems": "0"},
    "pids": {"limit": 10},
    "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}]},
    "hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
    "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3}],
    "unified": {"memory.high": "1000000"}
  })", "r.json", "");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(*r->memory->limit, 1048576);
  EXPECT_EQ(*r->memory->swap, 2097152);
  EXPECT_FALSE(*r->memory->disable_oom_killer);
  EXPECT_EQ(*r->cpu->shares, 512u);
  EXPECT_EQ(*r->cpu->quota, 20000);
  EXPECT_EQ(r->cpu->cpus, "0");
  EXPECT_EQ(*r->pids_limit, 10);
  EXPECT_EQ(*r->block_io->weight, 500);
  ASSERT_EQ(r->block_io->read_bps.size(), 1u);
  EXPECT_EQ(r->block_io->read_bps[0].rate, 1000u);
  ASSERT_EQ(r->hugepages.size(), 1u);
  EXPECT_EQ(r->hugepages[0].page_size, "2MB");
  ASSERT_EQ(r->devices.size(), 2u);
  EXPECT_EQ(r->devices[0].type, 'a');
  EXPECT_FALSE(r->devices[0].major);
  EXPECT_EQ(*r->devices[1].minor, 3);
  EXPECT_EQ(r->devices[1].access, "rwm");
  EXPECT_EQ(r->unified.at("memory.high"), "1000000");
  EXPECT_TRUE(r->has_limits());
}

TEST(ParseResources, DeviceRulesAloneAreNotLimits) {
  auto r = spec::parse_resources(R"({"devices": [{"allow": false, "access": "rwm"}]})", "r.json", "");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_limits());
}

TEST(ParseResources, DockersZerosMeanUnset) {
  // What docker sends for a container without limits, and with `docker update --memory`.
  auto r = spec::parse_resources(
      R"({"memory": {"limit": 67108864, "reservation": 0, "swap": 0, "kernel": 0, "kernelTCP": 0},
          "cpu": {"shares": 0, "quota": 0, "period": 0, "realtimeRuntime": 0, "realtimePeriod": 0},
          "blockIO": {"weight": 0, "leafWeight": 0}})",
      "c.json", "linux.resources");
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_TRUE(r->memory);
  EXPECT_EQ(r->memory->limit, std::optional<int64_t>(67108864));
  EXPECT_FALSE(r->memory->reservation || r->memory->swap || r->memory->kernel || r->memory->kernel_tcp);
  ASSERT_TRUE(r->cpu);
  EXPECT_FALSE(r->cpu->shares || r->cpu->quota || r->cpu->period || r->cpu->realtime_runtime ||
               r->cpu->realtime_period);
  ASSERT_TRUE(r->block_io);
  EXPECT_FALSE(r->block_io->weight || r->block_io->leaf_weight);
}

TEST(ParseResources, BadValuesNameTheField) {
  struct Case {
    const char* json;
    const char* error;
  } cases[] = {
      {R"({"memory": {"limit": -5}})", "c.json: linux.resources.memory.limit: must be -1 (unlimited) or a number of bytes"},
      {R"({"pids": {"limit": -7}})", "c.json: linux.resources.pids.limit: must be -1 (unlimited) or positive"},
      {R"({"cpu": {"quota": -2}})", "c.json: linux.resources.cpu.quota: must be -1 (unlimited) or positive"},
      {R"({"blockIO": {"weight": 5}})", "c.json: linux.resources.blockIO.weight: must be between 10 and 1000"},
      {R"({"devices": [{"type": "x"}]})", "c.json: linux.resources.devices[0].type: unknown device type \"x\" (a, c or b)"},
      {R"({"devices": [{"access": "rwx"}]})", "c.json: linux.resources.devices[0].access: unknown access \"rwx\" (r, w, m)"},
      {R"({"memory": {"limit": 100, "swap": 50}})", "c.json: linux.resources.memory.swap: memory+swap limit must not be below the memory limit"},
      {R"({"cpuacct": {}})", "c.json: linux.resources.cpuacct: unknown resource"},
      {R"({"memory": {"limit": "1G"}})", "c.json: linux.resources.memory.limit: expected integer, got string"},
  };
  for (const auto& c : cases) {
    auto r = spec::parse_resources(c.json, "c.json", "linux.resources");
    ASSERT_FALSE(r) << c.json;
    EXPECT_EQ(r.error().what(), c.error) << c.json;
  }
}

}  // namespace
}  // namespace nsbox

namespace nsbox::spec {
namespace {

TEST(ResourcesJson, RoundTripAndMerge) {
  std::string text = R"({"memory":{"limit":67108864,"swap":134217728},"cpu":{"quota":50000,"period":50000,"cpus":"0-1"},
    "pids":{"limit":50},"blockIO":{"weight":500,"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1000}]},
    "devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":10,"minor":229,"access":"rw"}],
    "unified":{"memory.high":"1000000"}})";
  auto r = parse_resources(text, "r.json", "");
  ASSERT_TRUE(r) << r.error().what();
  auto back = parse_resources(resources_to_json(*r), "back.json", "");
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(resources_to_json(*back), resources_to_json(*r));

  // update --cpu-quota 25000: the period stays, the rest stays.
  Resources u;
  u.cpu = CpuLimits{};
  u.cpu->quota = 25000;
  auto all = merged(*r, u);
  EXPECT_EQ(*all.cpu->quota, 25000);
  EXPECT_EQ(*all.cpu->period, 50000u);
  EXPECT_EQ(all.cpu->cpus, "0-1");
  EXPECT_EQ(*all.memory->limit, 67108864);
  EXPECT_EQ(all.devices.size(), 2u);  // not given: kept
  EXPECT_EQ(all.unified.at("memory.high"), "1000000");
  // Given lists replace.
  u.devices = {{true, 'a', std::nullopt, std::nullopt, "rwm"}};
  EXPECT_EQ(merged(*r, u).devices.size(), 1u);
  // Nothing to start from.
  EXPECT_EQ(*merged(Resources{}, u).cpu->quota, 25000);
}

}  // namespace
}  // namespace nsbox::spec
