#include "net/ip4.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace nsbox::net {
namespace {

Ip4 ip(const char* text) {
  auto r = parse_ip4(text);
  EXPECT_TRUE(r) << text << ": " << r.error().what();
  return r.value_or(Ip4{});
}

Subnet4 net(const char* text) {
  auto r = parse_subnet4(text);
  EXPECT_TRUE(r) << text << ": " << r.error().what();
  return r.value_or(Subnet4{});
}

TEST(Ip4, ParsesDottedQuads) {
  EXPECT_EQ(ip("10.1.2.3").value, 0x0a010203u);
  EXPECT_EQ(ip("0.0.0.0").value, 0u);
  EXPECT_EQ(ip("255.255.255.255").value, 0xffffffffu);
  EXPECT_EQ(ip("192.168.100.200").value, 0xc0a864c8u);
  EXPECT_EQ(ip("1.0.10.100").value, 0x01000a64u);
}

TEST(Ip4, RefusesAnythingElse) {
  for (const char* text : {"", "1", "1.2", "1.2.3", "1.2.3.4.5", "1.2.3.", ".1.2.3", "1..2.3", "256.1.1.1",
                           "1.1.1.256", "1.1.1.999", "1.1.1.1000", "010.1.1.1", "10.01.1.1", "10.1.1.00",
                           " 10.1.1.1", "10.1.1.1 ", "10. 1.1.1", "+1.1.1.1", "-1.1.1.1", "0x0a.1.1.1", "a.b.c.d",
                           "10.1.1.1/24", "::1", "10.1.1.1\n"}) {
    auto r = parse_ip4(text);
    ASSERT_FALSE(r) << "\"" << text << "\" parsed as " << r->str();
    EXPECT_EQ(r.error().what(), std::string("not an IPv4 address: \"") + text + "\"");
  }
  EXPECT_FALSE(parse_ip4(std::string("1.2.3.4\0", 8)));
}

TEST(Ip4, StrRoundTrips) {
  for (const char* text : {"0.0.0.0", "10.1.2.3", "255.255.255.255", "172.16.0.1", "1.0.0.0", "100.64.10.200"}) {
    EXPECT_EQ(ip(text).str(), text);
  }
  EXPECT_EQ(Ip4{0x7f000001}.str(), "127.0.0.1");
}

TEST(Ip4, OrdersNumerically) {
  EXPECT_LT(ip("10.1.0.9"), ip("10.1.0.10"));
  EXPECT_LT(ip("9.255.255.255"), ip("10.0.0.0"));
  EXPECT_EQ(ip("10.1.0.2"), Ip4{0x0a010002});
}

TEST(Subnet4, Parses) {
  Subnet4 s = net("10.1.0.0/16");
  EXPECT_EQ(s.network, ip("10.1.0.0"));
  EXPECT_EQ(s.prefix, 16);
  EXPECT_EQ(s.str(), "10.1.0.0/16");
  EXPECT_EQ(net("0.0.0.0/1").str(), "0.0.0.0/1");
  EXPECT_EQ(net("128.0.0.0/1").str(), "128.0.0.0/1");
  EXPECT_EQ(net("192.168.1.252/30").str(), "192.168.1.252/30");
  EXPECT_EQ(net("10.0.0.0/8").str(), "10.0.0.0/8");
}

TEST(Subnet4, Arithmetic) {
  Subnet4 s = net("10.1.0.0/16");
  EXPECT_EQ(s.netmask().str(), "255.255.0.0");
  EXPECT_EQ(s.broadcast().str(), "10.1.255.255");
  EXPECT_EQ(s.first_host().str(), "10.1.0.1");
  EXPECT_EQ(s.last_host().str(), "10.1.255.254");

  Subnet4 t = net("10.0.0.0/30");
  EXPECT_EQ(t.netmask().str(), "255.255.255.252");
  EXPECT_EQ(t.broadcast().str(), "10.0.0.3");
  EXPECT_EQ(t.first_host().str(), "10.0.0.1");
  EXPECT_EQ(t.last_host().str(), "10.0.0.2");

  Subnet4 top = net("255.255.255.252/30");
  EXPECT_EQ(top.broadcast().str(), "255.255.255.255");
  EXPECT_EQ(top.last_host().str(), "255.255.255.254");

  Subnet4 half = net("128.0.0.0/1");
  EXPECT_EQ(half.netmask().str(), "128.0.0.0");
  EXPECT_EQ(half.broadcast().str(), "255.255.255.255");

  // Prefixes parse_subnet4 refuses still compute (the struct may be built by hand).
  EXPECT_EQ((Subnet4{Ip4{0}, 0}).netmask().str(), "0.0.0.0");
  EXPECT_EQ((Subnet4{Ip4{0}, 0}).broadcast().str(), "255.255.255.255");
  EXPECT_EQ((Subnet4{ip("10.0.0.7"), 32}).netmask().str(), "255.255.255.255");
  EXPECT_EQ((Subnet4{ip("10.0.0.7"), 32}).broadcast().str(), "10.0.0.7");
}

TEST(Subnet4, RefusesHostBits) {
  auto r = parse_subnet4("10.1.0.1/16");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "subnet 10.1.0.1/16 has host bits set (did you mean 10.1.0.0/16?)");
  r = parse_subnet4("10.0.0.2/30");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "subnet 10.0.0.2/30 has host bits set (did you mean 10.0.0.0/30?)");
  r = parse_subnet4("192.168.1.255/24");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "subnet 192.168.1.255/24 has host bits set (did you mean 192.168.1.0/24?)");
}

TEST(Subnet4, RefusesPrefixOutOfRange) {
  for (const char* text : {"10.0.0.0/31", "10.0.0.0/32", "0.0.0.0/0", "10.0.0.0/33", "10.0.0.0/99", "10.0.0.0/100"}) {
    auto r = parse_subnet4(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().what(),
              std::string("subnet \"") + text +
                  "\": prefix length must be 1 to 30 (a network needs a gateway and at least one container address)");
  }
}

TEST(Subnet4, RefusesMalformed) {
  auto r = parse_subnet4("10.1.0.0");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "not an IPv4 subnet: \"10.1.0.0\" (expected ADDRESS/PREFIX, such as 10.1.0.0/16)");
  r = parse_subnet4("10.1.0/16");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "subnet \"10.1.0/16\": not an IPv4 address: \"10.1.0\"");
  r = parse_subnet4("010.1.0.0/16");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "subnet \"010.1.0.0/16\": not an IPv4 address: \"010.1.0.0\"");
  for (const char* text : {"10.1.0.0/", "10.1.0.0/016", "10.1.0.0/x", "10.1.0.0/ 16", "10.1.0.0/16 ",
                           "10.1.0.0/+16", "10.1.0.0/16/16", "10.1.0.0/1000"}) {
    r = parse_subnet4(text);
    ASSERT_FALSE(r) << text;
    std::string t = text;
    EXPECT_EQ(r.error().what(),
              "subnet \"" + t + "\": prefix length \"" + t.substr(t.find('/') + 1) + "\" is not a number");
  }
  r = parse_subnet4("/16");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "subnet \"/16\": not an IPv4 address: \"\"");
}

TEST(Subnet4, Contains) {
  Subnet4 s = net("10.1.0.0/16");
  EXPECT_TRUE(s.contains(ip("10.1.0.0")));
  EXPECT_TRUE(s.contains(ip("10.1.0.1")));
  EXPECT_TRUE(s.contains(ip("10.1.255.255")));
  EXPECT_FALSE(s.contains(ip("10.0.255.255")));
  EXPECT_FALSE(s.contains(ip("10.2.0.0")));
  EXPECT_FALSE(s.contains(ip("11.1.0.1")));

  Subnet4 t = net("10.0.0.4/30");
  EXPECT_FALSE(t.contains(ip("10.0.0.3")));
  EXPECT_TRUE(t.contains(ip("10.0.0.4")));
  EXPECT_TRUE(t.contains(ip("10.0.0.7")));
  EXPECT_FALSE(t.contains(ip("10.0.0.8")));

  Subnet4 half = net("128.0.0.0/1");
  EXPECT_TRUE(half.contains(ip("255.255.255.255")));
  EXPECT_TRUE(half.contains(ip("128.0.0.0")));
  EXPECT_FALSE(half.contains(ip("127.255.255.255")));
}

TEST(Subnet4, Overlaps) {
  auto overlaps = [](const char* a, const char* b) {
    bool ab = net(a).overlaps(net(b)), ba = net(b).overlaps(net(a));
    EXPECT_EQ(ab, ba) << a << " " << b;
    return ab;
  };
  EXPECT_TRUE(overlaps("10.1.0.0/16", "10.1.0.0/16"));
  EXPECT_TRUE(overlaps("10.0.0.0/8", "10.1.0.0/16"));
  EXPECT_TRUE(overlaps("10.1.0.0/16", "10.1.255.252/30"));
  EXPECT_TRUE(overlaps("0.0.0.0/1", "127.255.255.252/30"));
  EXPECT_FALSE(overlaps("10.1.0.0/16", "10.2.0.0/16"));
  EXPECT_FALSE(overlaps("10.0.0.0/30", "10.0.0.4/30"));
  EXPECT_FALSE(overlaps("10.1.0.0/16", "10.0.255.252/30"));
  EXPECT_FALSE(overlaps("10.1.0.0/16", "10.2.0.0/30"));
  EXPECT_FALSE(overlaps("0.0.0.0/1", "128.0.0.0/1"));
  EXPECT_TRUE(overlaps("172.16.0.0/12", "172.31.255.0/24"));
  EXPECT_FALSE(overlaps("172.16.0.0/12", "172.32.0.0/24"));
}

TEST(Subnet4, StrRoundTrips) {
  for (const char* text : {"10.1.0.0/16", "0.0.0.0/1", "192.168.0.0/24", "10.0.0.4/30", "172.16.0.0/12"}) {
    EXPECT_EQ(net(text).str(), text);
    EXPECT_EQ(net(net(text).str().c_str()), net(text));
  }
}

}  // namespace
}  // namespace nsbox::net
