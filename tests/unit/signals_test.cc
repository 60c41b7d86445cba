#include "runtime/signals.h"

#include <signal.h>

#include <gtest/gtest.h>

namespace nsbox::runtime {
namespace {

int parsed(const std::string& s) {
  auto r = parse_signal(s);
  if (!r) {
    ADD_FAILURE() << "parse_signal(\"" << s << "\"): " << r.error().what();
    return -1;
  }
  return *r;
}

TEST(ParseSignal, NamesInEveryForm) {
  EXPECT_EQ(parsed("KILL"), SIGKILL);
  EXPECT_EQ(parsed("SIGKILL"), SIGKILL);
  EXPECT_EQ(parsed("sigkill"), SIGKILL);
  EXPECT_EQ(parsed("kill"), SIGKILL);
  EXPECT_EQ(parsed("SigTerm"), SIGTERM);
  EXPECT_EQ(parsed("TERM"), SIGTERM);
  EXPECT_EQ(parsed("HUP"), SIGHUP);
  EXPECT_EQ(parsed("USR1"), SIGUSR1);
  EXPECT_EQ(parsed("SIGUSR2"), SIGUSR2);
  EXPECT_EQ(parsed("WINCH"), SIGWINCH);
  EXPECT_EQ(parsed("SIGCHLD"), SIGCHLD);
  EXPECT_EQ(parsed("STOP"), SIGSTOP);
  EXPECT_EQ(parsed("CONT"), SIGCONT);
  EXPECT_EQ(parsed("IOT"), SIGABRT);
}

TEST(ParseSignal, Numbers) {
  EXPECT_EQ(parsed("9"), 9);
  EXPECT_EQ(parsed("1"), 1);
  EXPECT_EQ(parsed("15"), 15);
  EXPECT_EQ(parsed("64"), 64);
  EXPECT_EQ(parsed(std::to_string(SIGRTMAX)), SIGRTMAX);
}

TEST(ParseSignal, RealTime) {
  EXPECT_EQ(parsed("SIGRTMIN"), SIGRTMIN);
  EXPECT_EQ(parsed("RTMIN"), SIGRTMIN);
  EXPECT_EQ(parsed("SIGRTMIN+3"), SIGRTMIN + 3);
  EXPECT_EQ(parsed("sigrtmin+3"), SIGRTMIN + 3);
  EXPECT_EQ(parsed("RTMIN+0"), SIGRTMIN);
  EXPECT_EQ(parsed("RTMAX-1"), SIGRTMAX - 1);
  EXPECT_EQ(parsed("SIGRTMAX"), SIGRTMAX);
  EXPECT_EQ(parsed("RTMAX-" + std::to_string(SIGRTMAX - SIGRTMIN)), SIGRTMIN);
  EXPECT_EQ(parsed("RTMIN+" + std::to_string(SIGRTMAX - SIGRTMIN)), SIGRTMAX);
}

TEST(ParseSignal, Invalid) {
  for (const char* s : {"", "0", "65", "SIGFOO", "RTMIN+99", "9x", "-9", "+9", "SIG", "1000", "SIGRTMIN-1",
                        "RTMAX+1", "RTMIN+", "RTMIN+x", "RTMAX-99", "SIG KILL", " KILL", "KILL ", "SIGSIGKILL"}) {
    auto r = parse_signal(s);
    ASSERT_FALSE(r) << "\"" << s << "\" parsed as " << *r;
    EXPECT_EQ(r.error().what(), std::string("invalid signal \"") + s + "\"");
    EXPECT_EQ(r.error().code(), 0);
  }
  // Just past the real-time range.
  auto r = parse_signal("RTMIN+" + std::to_string(SIGRTMAX - SIGRTMIN + 1));
  EXPECT_FALSE(r);
  r = parse_signal("RTMAX-" + std::to_string(SIGRTMAX - SIGRTMIN + 1));
  EXPECT_FALSE(r);
}

}  // namespace
}  // namespace nsbox::runtime
