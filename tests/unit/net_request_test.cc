#include "net/request.h"

#include <gtest/gtest.h>

namespace nsbox::net {
namespace {

using Annotations = std::map<std::string, std::string>;

TEST(NetRequest, NoAnnotationsAsksForNothing) {
  auto r = parse_request({{"other", "x"}}, "config.json");
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_TRUE(r->empty());
}

TEST(NetRequest, NetworksPortsAndDns) {
  auto r = parse_request({{kNetworkAnnotation, "front, back:ip=10.2.0.9"},
                          {kPublishAnnotation, "8080:80/tcp,5353:53/udp,2222:22"},
                          {kDnsAnnotation, "10.2.0.1"}},
                         "config.json");
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_EQ(r->networks.size(), 2u);
  EXPECT_EQ(r->networks[0].network, "front");
  EXPECT_FALSE(r->networks[0].ip);
  EXPECT_EQ(r->networks[1].network, "back");
  ASSERT_TRUE(r->networks[1].ip);
  EXPECT_EQ(r->networks[1].ip->str(), "10.2.0.9");
  ASSERT_EQ(r->publish.size(), 3u);
  EXPECT_EQ(r->publish[0].str(), "8080:80/tcp");
  EXPECT_EQ(r->publish[1].str(), "5353:53/udp");
  EXPECT_EQ(r->publish[2].str(), "2222:22/tcp");
  ASSERT_EQ(r->dns.size(), 1u);
}

TEST(NetRequest, PortsAloneJoinTheDefaultNetwork) {
  auto r = parse_request({{kPublishAnnotation, "8080:80"}}, "config.json");
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_EQ(r->networks.size(), 1u);
  EXPECT_EQ(r->networks[0].network, kDefaultNetwork);
}

void expect_error(const Annotations& a, const std::string& text) {
  auto r = parse_request(a, "/b/config.json");
  ASSERT_FALSE(r) << "accepted";
  EXPECT_EQ(r.error().what(), text);
}

TEST(NetRequest, ErrorsNameTheFileTheAnnotationAndTheEntry) {
  expect_error({{kPublishAnnotation, "8080:80,80"}},
               "/b/config.json: annotations[\"org.nsbox.publish\"][1]: \"80\" is not HOST:CONTAINER[/tcp|udp] with ports 1 to 65535");
  expect_error({{kPublishAnnotation, "0:80"}},
               "/b/config.json: annotations[\"org.nsbox.publish\"][0]: \"0:80\" is not HOST:CONTAINER[/tcp|udp] with ports 1 to 65535");
  expect_error({{kPublishAnnotation, "65536:80"}},
               "/b/config.json: annotations[\"org.nsbox.publish\"][0]: \"65536:80\" is not HOST:CONTAINER[/tcp|udp] with ports 1 to 65535");
  expect_error({{kPublishAnnotation, "80:80/sctp"}},
               "/b/config.json: annotations[\"org.nsbox.publish\"][0]: protocol \"sctp\" is neither tcp nor udp");
  expect_error({{kPublishAnnotation, "80:80,80:81/tcp"}},
               "/b/config.json: annotations[\"org.nsbox.publish\"][1]: port 80/tcp is published twice");
  expect_error({{kNetworkAnnotation, "a,,b"}}, "/b/config.json: annotations[\"org.nsbox.network\"][1]: empty entry");
  expect_error({{kNetworkAnnotation, "a:mac=1"}},
               "/b/config.json: annotations[\"org.nsbox.network\"][0]: unknown option \"mac=1\" (NAME or NAME:ip=A.B.C.D)");
  expect_error({{kNetworkAnnotation, "a:ip=10.0.0.300"}},
               "/b/config.json: annotations[\"org.nsbox.network\"][0]: not an IPv4 address: \"10.0.0.300\"");
  expect_error({{kNetworkAnnotation, "a,a"}},
               "/b/config.json: annotations[\"org.nsbox.network\"][1]: network \"a\" is joined twice");
  expect_error({{kNetworkAnnotation, "-x"}},
               "/b/config.json: annotations[\"org.nsbox.network\"][0]: invalid network name \"-x\": 1 to 32 letters, digits, '_', '.' or '-', starting with a letter or digit");
  expect_error({{kDnsAnnotation, "1.1.1.1"}},
               "/b/config.json: annotations[\"org.nsbox.dns\"]: DNS servers need a network (org.nsbox.network)");
}

TEST(NetRequest, FlagsAddToTheAnnotations) {
  Annotations a{{kNetworkAnnotation, "front"}};
  add_to_annotation(a, kNetworkAnnotation, {"back:ip=10.0.0.5", "third"});
  add_to_annotation(a, kPublishAnnotation, {"80:80"});
  add_to_annotation(a, kDnsAnnotation, {});
  EXPECT_EQ(a[kNetworkAnnotation], "front,back:ip=10.0.0.5,third");
  EXPECT_EQ(a[kPublishAnnotation], "80:80");
  EXPECT_EQ(a.count(kDnsAnnotation), 0u);
}

}  // namespace
}  // namespace nsbox::net
