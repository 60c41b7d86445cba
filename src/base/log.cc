#include "base/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <string>

#include "base/time.h"

namespace nsbox::log {
namespace {

int g_fd = -1;
bool g_json = false;
bool g_debug = false;

const char* level_name(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warning";
    case Level::kError: return "error";
  }
  return "info";
}

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t w = ::write(fd, s.data() + off, s.size() - off);
    if (w <= 0) return;
    off += static_cast<size_t>(w);
  }
}

}  // namespace

namespace {

// `s` with control characters escaped, as JSON (\u001b) or as C (\x1b) writes them; in a JSON
// string the quote and the backslash too.
std::string escaped(std::string_view s, bool json) {
  std::string out;
  out.reserve(s.size() + 2);
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += json ? "\\\"" : "\""; break;
      case '\\': out += json ? "\\\\" : "\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || (!json && c == 0x7f)) {
          char b[8];
          snprintf(b, sizeof b, json ? "\\u%04x" : "\\x%02x", c);
          out += b;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

}  // namespace

std::string json_escape(std::string_view s) { return escaped(s, true); }

std::string one_line(std::string_view s) { return escaped(s, false); }

Result<> configure(const std::string& path, bool json, bool debug) {
  g_json = json;
  g_debug = debug;
  if (!path.empty()) {
    g_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (g_fd < 0) return fail_errno("--log: open " + one_line(path));
  }
  return {};
}


bool debug_enabled() { return g_debug; }

void write(Level level, std::string_view msg) {
  if (g_fd >= 0) {
    std::string line;
    if (g_json) {
      line = "{\"level\":\"" + std::string(level_name(level)) + "\",\"msg\":\"" + json_escape(msg) +
             "\",\"time\":\"" + now_rfc3339() + "\"}\n";
    } else {
      line = now_rfc3339() + " " + level_name(level) + ": " + one_line(msg) + "\n";
    }
    write_all(g_fd, line);
  }
  // Errors and warnings always reach the caller's stderr; debug only when there is no log file.
  if (level >= Level::kWarn || g_fd < 0) {
    std::string line = "nsbox: ";
    if (level == Level::kWarn) line += "warning: ";
    if (level == Level::kDebug) line += "debug: ";
    line += one_line(msg);
    line += "\n";
    write_all(2, line);
  }
}

}  // namespace nsbox::log
