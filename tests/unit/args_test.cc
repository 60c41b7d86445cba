#include "cli/args.h"

#include <gtest/gtest.h>

namespace nsbox::cli {
namespace {

const std::vector<FlagSpec> kSpecs = {{{"bundle", "b"}, true}, {{"detach", "d"}}, {{"root"}, true}};

TEST(Args, AcceptsEveryRuncFlagForm) {
  for (auto form : std::vector<std::vector<std::string>>{{"--bundle", "/x", "id"},
                                                         {"--bundle=/x", "id"},
                                                         {"-b", "/x", "id"},
                                                         {"-bundle", "/x", "id"},
                                                         {"id", "-b=/x"}}) {
    auto p = parse(form, kSpecs, true);
    ASSERT_TRUE(p) << p.error().what();
    EXPECT_EQ(p->get("bundle"), "/x");
    ASSERT_EQ(p->args.size(), 1u);
    EXPECT_EQ(p->args[0], "id");
  }
}

TEST(Args, BooleanValues) {
  auto p = parse({"-d", "id"}, kSpecs, true);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->flag("detach"));
  p = parse({"--detach=false", "id"}, kSpecs, true);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->flag("detach"));
  EXPECT_FALSE(parse({"--detach=maybe"}, kSpecs, true));
}

TEST(Args, UnknownFlagAndMissingValueAreErrors) {
  auto p = parse({"--nope"}, kSpecs, true);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().what(), "flag provided but not defined: -nope");
  p = parse({"--bundle"}, kSpecs, true);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().what(), "flag needs an argument: -bundle");
}

TEST(Args, StopsAtFirstPositionalWhenNotInterspersed) {
  auto p = parse({"--root", "/r", "create", "--bundle", "b", "id"}, kSpecs, false);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->get("root"), "/r");
  EXPECT_EQ(p->args, (std::vector<std::string>{"create", "--bundle", "b", "id"}));
}

TEST(Args, DoubleDashEndsFlags) {
  auto p = parse({"id", "--", "-d"}, kSpecs, true);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->has("detach"));
  EXPECT_EQ(p->args, (std::vector<std::string>{"id", "-d"}));
}

}  // namespace
}  // namespace nsbox::cli
