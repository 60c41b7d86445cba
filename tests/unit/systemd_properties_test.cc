// systemd/properties.h: the unit properties nsbox sends, as runc builds them.
#include "systemd/properties.h"

#include <gtest/gtest.h>

namespace nsbox::systemd {
namespace {

const Property* find(const std::vector<Property>& ps, const std::string& name) {
  for (const auto& p : ps) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

TEST(SystemdProperties, TheScopeItself) {
  UnitName u = *unit_name("machine.slice:libpod:abc", "abc", false);
  auto ps = unit_properties(u, 4242, true, {{"TimeoutStopUSec", "t", "5"}});
  std::vector<std::string> names;
  for (const auto& p : ps) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Description", "Slice", "Delegate", "PIDs", "MemoryAccounting",
                                             "CPUAccounting", "IOAccounting", "TasksAccounting",
                                             "DefaultDependencies", "TimeoutStopUSec"}));
  EXPECT_EQ(*find(ps, "Slice"), (Property{"Slice", "s", "\"machine.slice\""}));
  EXPECT_EQ(*find(ps, "PIDs"), (Property{"PIDs", "au", "[4242]"}));
  EXPECT_EQ(find(ps, "Delegate")->value, "true");
  // A slice unit wants its parent instead.
  auto slice = unit_properties(*unit_name("machine.slice::pod-x.slice", "abc", false), 0, false, {});
  EXPECT_EQ(*find(slice, "Wants"), (Property{"Wants", "as", "[\"machine.slice\"]"}));
  EXPECT_EQ(find(slice, "Slice"), nullptr);
  EXPECT_EQ(find(slice, "PIDs"), nullptr);
  EXPECT_NE(find(slice, "BlockIOAccounting"), nullptr);
}

TEST(SystemdProperties, LimitsOnV2) {
  spec::Resources r;
  r.memory = spec::MemoryLimits{};
  r.memory->limit = 256 << 20;
  r.memory->reservation = 128 << 20;
  r.memory->swap = 512 << 20;
  r.cpu = spec::CpuLimits{};
  r.cpu->shares = 1024;
  r.cpu->quota = 4000;
  r.cpu->period = 10000;
  r.cpu->cpus = "0-1";
  r.pids_limit = 100;
  auto ps = resource_properties(r, true, 252);
  ASSERT_TRUE(ps) << ps.error().what();
  EXPECT_EQ(find(*ps, "MemoryMax")->value, std::to_string(256 << 20));
  EXPECT_EQ(find(*ps, "MemoryLow")->value, std::to_string(128 << 20));
  EXPECT_EQ(find(*ps, "MemorySwapMax")->value, std::to_string(256 << 20));  // swap - memory
  EXPECT_EQ(find(*ps, "CPUWeight")->value, "39");
  EXPECT_EQ(find(*ps, "CPUQuotaPeriodUSec")->value, "10000");
  EXPECT_EQ(find(*ps, "CPUQuotaPerSecUSec")->value, "400000");
  EXPECT_EQ(*find(*ps, "AllowedCPUs"), (Property{"AllowedCPUs", "ay", "[3]"}));
  EXPECT_EQ(find(*ps, "TasksMax")->value, "100");
  EXPECT_EQ(find(*ps, "DevicePolicy")->value, "\"strict\"");
  // Unlimited is systemd's infinity.
  r.memory->limit = -1;
  r.memory->swap.reset();
  r.pids_limit = -1;
  ps = resource_properties(r, true, 252);
  EXPECT_EQ(find(*ps, "MemoryMax")->value, "18446744073709551615");
  EXPECT_EQ(find(*ps, "TasksMax")->value, "18446744073709551615");
  // Version-gated properties are left out on an old systemd.
  ps = resource_properties(r, true, 241);
  EXPECT_EQ(find(*ps, "CPUQuotaPeriodUSec"), nullptr);
  EXPECT_EQ(find(*ps, "AllowedCPUs"), nullptr);
}

TEST(SystemdProperties, QuotaRoundedAsSystemdKeepsIt) {
  spec::Resources r;
  r.cpu = spec::CpuLimits{};
  r.cpu->quota = 12345;  // 123.45 ms a second
  r.cpu->period = 100000;
  auto ps = resource_properties(r, true, 252);
  EXPECT_EQ(find(*ps, "CPUQuotaPerSecUSec")->value, "130000");
  EXPECT_EQ(*r.cpu->quota, 13000);  // cgroupfs gets the same
  r.cpu->quota = -1;
  ps = resource_properties(r, true, 252);
  EXPECT_EQ(find(*ps, "CPUQuotaPerSecUSec")->value, "18446744073709551615");
}

TEST(SystemdProperties, Devices) {
  spec::Resources r;
  r.devices = {{false, 'a', std::nullopt, std::nullopt, "rwm"}, {true, 'c', 10, 229, "rw"}};
  auto ps = resource_properties(r, true, 252);
  auto* allow = find(*ps, "DeviceAllow");
  ASSERT_NE(allow, nullptr);
  EXPECT_NE(allow->value.find("[\"/dev/char/10:229\",\"rw\"]"), std::string::npos) << allow->value;
  EXPECT_NE(allow->value.find("[\"char-*\",\"m\"]"), std::string::npos) << allow->value;
  EXPECT_NE(allow->value.find("[\"char-136\",\"rwm\"]"), std::string::npos) << allow->value;
  // An exception within an allowed whole cannot be said to systemd: on v2 nsbox's own
  // program decides (systemd allows all), on v1 systemd denies all.
  r.devices = {{true, 'a', std::nullopt, std::nullopt, "rwm"}, {false, 'c', 1, 3, "rwm"}};
  EXPECT_EQ(find(*resource_properties(r, true, 252), "DevicePolicy")->value, "\"auto\"");
  EXPECT_EQ(find(*resource_properties(r, false, 252), "DevicePolicy")->value, "\"strict\"");
  // Everything allowed: auto, no list.
  r.devices = {{true, 'a', std::nullopt, std::nullopt, "rwm"}};
  ps = resource_properties(r, true, 252);
  EXPECT_EQ(find(*ps, "DevicePolicy")->value, "\"auto\"");
  EXPECT_EQ(find(*ps, "DeviceAllow")->value, "[]");
}

TEST(SystemdProperties, UnifiedAndV1) {
  spec::Resources r;
  r.unified = {{"memory.high", "1000000"}, {"pids.max", "max"}, {"io.bfq.weight", "10"}};
  auto ps = resource_properties(r, true, 252);
  ASSERT_TRUE(ps) << ps.error().what();
  EXPECT_EQ(find(*ps, "MemoryHigh")->value, "1000000");
  EXPECT_EQ(find(*ps, "TasksMax")->value, "18446744073709551615");
  EXPECT_FALSE(resource_properties(r, false, 252));
  EXPECT_EQ(resource_properties(r, false, 252).error().what(), "invalid configuration: cannot use unified on cgroup v1");
  r.unified = {{"memory.high", "lots"}};
  EXPECT_EQ(resource_properties(r, true, 252).error().what(),
            "unified resource \"memory.high\" value conversion error: \"lots\" is not a number");
  r.unified = {{"a/b", "1"}};
  EXPECT_EQ(resource_properties(r, true, 252).error().what(), "unified resource \"a/b\" must be a file name (no slashes)");
}

TEST(SystemdProperties, CpusetBits) {
  EXPECT_EQ(*cpuset_bits("0-3,8"), (std::vector<uint8_t>{0x0f, 0x01}));
  EXPECT_EQ(*cpuset_bits("0"), (std::vector<uint8_t>{0x01}));
  EXPECT_EQ(cpuset_bits("").error().what(), "empty value");
  EXPECT_EQ(cpuset_bits("3-1").error().what(), "invalid range: 3-1");
  EXPECT_FALSE(cpuset_bits("x"));
}

TEST(SystemdProperties, GVariantText) {
  EXPECT_EQ(*parse_gvariant("X", "uint64 123456789"), (Property{"X", "t", "123456789"}));
  EXPECT_EQ(*parse_gvariant("X", "'inactive-or-failed'"), (Property{"X", "s", "\"inactive-or-failed\""}));
  EXPECT_EQ(*parse_gvariant("X", "true"), (Property{"X", "b", "true"}));
  EXPECT_EQ(*parse_gvariant("X", "2"), (Property{"X", "i", "2"}));
  EXPECT_EQ(*parse_gvariant("X", "[ 'a', 'b' ]"), (Property{"X", "as", "[\"a\",\"b\"]"}));
  EXPECT_EQ(*parse_gvariant("X", "@as []"), (Property{"X", "as", "[]"}));
  EXPECT_EQ(*parse_gvariant("X", "1.5"), (Property{"X", "d", "1.5"}));
  // Typed values beyond an int32 (runc's RuntimeMaxUSec="uint64 3600000000").
  EXPECT_EQ(*parse_gvariant("X", "uint64 3600000000"), (Property{"X", "t", "3600000000"}));
  EXPECT_EQ(*parse_gvariant("X", "@t 5000000000"), (Property{"X", "t", "5000000000"}));
  EXPECT_EQ(*parse_gvariant("X", "int64 -5000000000"), (Property{"X", "x", "-5000000000"}));
  EXPECT_FALSE(parse_gvariant("X", "'open"));
  EXPECT_FALSE(parse_gvariant("X", "[1, 'a']"));
  EXPECT_FALSE(parse_gvariant("X", "uint64 -1"));
  EXPECT_FALSE(parse_gvariant("X", "1 2"));
}

TEST(SystemdProperties, Annotations) {
  auto ps = annotation_properties({{"org.systemd.property.TimeoutStopUSec", "uint64 123456789"},
                                   {"org.systemd.property.RuntimeMaxSec", "2"},
                                   {"org.systemd.property.CollectMode", "'inactive-or-failed'"},
                                   {"org.other", "x"}});
  ASSERT_TRUE(ps) << ps.error().what();
  ASSERT_EQ(ps->size(), 3u);
  EXPECT_EQ(*find(*ps, "TimeoutStopUSec"), (Property{"TimeoutStopUSec", "t", "123456789"}));
  EXPECT_EQ(*find(*ps, "RuntimeMaxUSec"), (Property{"RuntimeMaxUSec", "t", "2000000"}));
  EXPECT_EQ(annotation_properties({{"org.systemd.property.Ab", "1"}}).error().what(),
            "annotation org.systemd.property.Ab name incorrect: too short");
  EXPECT_EQ(annotation_properties({{"org.systemd.property.A1b", "1"}}).error().what(),
            "annotation org.systemd.property.A1b name incorrect: contains non-alphabetic character");
  EXPECT_EQ(annotation_properties({{"org.systemd.property.RuntimeMaxSec", "'x'"}}).error().what(),
            "annotation org.systemd.property.RuntimeMaxSec='x' value parse error: not a number");
  EXPECT_TRUE(annotation_properties({{"org.systemd.property.Foo", "'x"}}).error().what().starts_with(
      "annotation org.systemd.property.Foo='x value parse error: "));
}

}  // namespace
}  // namespace nsbox::systemd
