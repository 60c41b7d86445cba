#include "runtime/signals.h"

#include <signal.h>

#include <algorithm>
#include <cctype>
#include <map>

namespace nsbox::runtime {

Result<int> parse_signal(const std::string& in) {
  static const std::map<std::string, int> kNames = {
      {"ABRT", SIGABRT}, {"ALRM", SIGALRM},     {"BUS", SIGBUS},   {"CHLD", SIGCHLD},
      {"CONT", SIGCONT}, {"FPE", SIGFPE},       {"HUP", SIGHUP},   {"ILL", SIGILL},
      {"INT", SIGINT},   {"IO", SIGIO},         {"IOT", SIGIOT},   {"KILL", SIGKILL},
      {"PIPE", SIGPIPE}, {"POLL", SIGPOLL},     {"PROF", SIGPROF}, {"PWR", SIGPWR},
      {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV},     {"STKFLT", SIGSTKFLT},
      {"STOP", SIGSTOP}, {"SYS", SIGSYS},       {"TERM", SIGTERM}, {"TRAP", SIGTRAP},
      {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU}, {"URG", SIGURG},
      {"USR1", SIGUSR1}, {"USR2", SIGUSR2},     {"VTALRM", SIGVTALRM},
      {"WINCH", SIGWINCH}, {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ}};
  if (in.empty()) return fail("invalid signal \"\"");
  if (std::all_of(in.begin(), in.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (in.size() > 3) return fail("invalid signal \"" + in + "\"");
    int n = std::stoi(in);
    if (n <= 0 || n > SIGRTMAX) return fail("invalid signal \"" + in + "\"");
    return n;
  }
  std::string s = in;
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (s.starts_with("SIG")) s = s.substr(3);
  if (auto it = kNames.find(s); it != kNames.end()) return it->second;
  // Real-time signals: RTMIN, RTMIN+N, RTMAX-N.
  auto rt = [&](const std::string& base, int origin, int sign) -> Result<int> {
    if (s == base) return origin;
    if (s.size() > base.size() + 1 && s.starts_with(base) && s[base.size()] == (sign > 0 ? '+' : '-')) {
      std::string num = s.substr(base.size() + 1);
      if (num.size() <= 2 &&
          std::all_of(num.begin(), num.end(), [](unsigned char c) { return std::isdigit(c); })) {
        int v = origin + sign * std::stoi(num);
        if (v >= SIGRTMIN && v <= SIGRTMAX) return v;
      }
    }
    return fail("invalid signal \"" + in + "\"");
  };
  if (s.starts_with("RTMIN")) return rt("RTMIN", SIGRTMIN, 1);
  if (s.starts_with("RTMAX")) return rt("RTMAX", SIGRTMAX, -1);
  return fail("invalid signal \"" + in + "\"");
}

}  // namespace nsbox::runtime
