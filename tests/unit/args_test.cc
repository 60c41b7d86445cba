#include "cli/args.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "cli/commands.h"

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

// The ways a flag can be written on the command line: "-b", "--bundle".
std::set<std::string> spellings(const std::vector<FlagSpec>& flags, bool values_only) {
  std::set<std::string> out;
  for (const auto& f : flags) {
    if (values_only && !f.takes_value) continue;
    for (const auto& n : f.names) out.insert((n.size() == 1 ? "-" : "--") + n);
  }
  return out;
}

std::set<std::string> words(const std::string& s) {
  std::istringstream in(s);
  return {std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
}

TEST(Help, EveryCommandDocumentsEveryFlagItTakes) {
  for (const auto& c : commands()) {
    SCOPED_TRACE(c.name);
    ASSERT_NE(c.flags, nullptr);
    EXPECT_EQ(find_command(c.name), &c);
    std::string help = help_text(c);
    EXPECT_EQ(help.rfind(std::string("usage: nsbox ") + c.name, 0), 0u) << help;
    for (const char* section : {"\nNAME\n", "\nDESCRIPTION\n", "\nOPTIONS\n"}) {
      EXPECT_NE(help.find(section), std::string::npos) << section;
    }
    EXPECT_TRUE(spellings(*c.flags, false).contains("--help"));
    std::string options = help.substr(help.find("\nOPTIONS\n"));
    for (const auto& f : *c.flags) {
      EXPECT_FALSE(f.help.empty()) << f.names[0];
      EXPECT_EQ(f.takes_value, !f.value_name.empty()) << f.names[0];
      EXPECT_NE(options.find("\n    " + flag_synopsis(f) + " "), std::string::npos) << f.names[0];
    }
    for (const auto& flag : spellings(*c.flags, false)) {
      EXPECT_TRUE(std::regex_search(options, std::regex("\n    (.*, )?" + flag + "[ ,]"))) << flag;
    }
  }
}

TEST(Help, FlagSynopsis) {
  EXPECT_EQ(flag_synopsis({{"bundle", "b"}, true, "DIR", "x"}), "-b, --bundle DIR");
  EXPECT_EQ(flag_synopsis({{"debug"}}), "--debug");
}

// contrib/completion/nsbox.bash has a line `CMD) opts='...' vals='...' ;;` per command: the
// same flags as the command's table, and those that take a value.
TEST(Completion, KnowsEveryCommandAndFlag) {
  auto path = std::filesystem::path(__FILE__).parent_path() / "../../contrib/completion/nsbox.bash";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, std::regex("_nsbox_commands='([^']*)'")));
  std::set<std::string> names;
  for (const auto& c : commands()) names.insert(c.name);
  EXPECT_EQ(words(m[1]), names);
  for (const auto& c : commands()) {
    SCOPED_TRACE(c.name);
    std::regex line(std::string("\n +") + c.name + "\\) opts='([^']*)' vals='([^']*)' ;;\n");
    ASSERT_TRUE(std::regex_search(text, m, line));
    EXPECT_EQ(words(m[1]), spellings(*c.flags, false));
    EXPECT_EQ(words(m[2]), spellings(*c.flags, true));
  }
}

}  // namespace
}  // namespace nsbox::cli
