// Runtime logging. Engines pass --log FILE --log-format json and read errors from that file
// (one JSON object a line: level, msg, time), so errors go there as well as to stderr.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace nsbox::log {

enum class Level { kDebug, kInfo, kWarn, kError };

// Configure once from the global flags; an empty path means stderr only. A log file that
// cannot be opened (its directory missing, say) is an error, as runc's.
Result<> configure(const std::string& path, bool json, bool debug);
bool debug_enabled();

void write(Level level, std::string_view msg);
inline void debug(std::string_view m) {
  if (debug_enabled()) write(Level::kDebug, m);
}
inline void warn(std::string_view m) { write(Level::kWarn, m); }
inline void error(std::string_view m) { write(Level::kError, m); }

// JSON string escaping, shared with the hand-written JSON emitters.
std::string json_escape(std::string_view s);
// The text with control characters escaped (\n, \t, \x1b...): every message is one line,
// whatever a user put in an id or a path.
std::string one_line(std::string_view s);

}  // namespace nsbox::log
