// A bound on how deeply a JSON document the runtime is given may nest. nlohmann parses and
// serializes recursively: 80,000 nested arrays in config.json overflow the stack. Checked
// on the text before it is parsed; no real config comes near the bound.
#pragma once

#include <string_view>

namespace nsbox::spec {

inline constexpr int kMaxJsonDepth = 256;

// The text nests objects and arrays deeper than `max` (brackets inside strings don't count).
inline bool nested_deeper_than(std::string_view text, int max = kMaxJsonDepth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

}  // namespace nsbox::spec
