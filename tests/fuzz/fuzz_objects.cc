// libFuzzer target: the JSON objects nsbox parses alone, chosen by the input's first byte
// (seeds start with '0', '1' or '2'), the rest being the text:
//   % 3 == 0  parse_resources     `update --resources FILE` (and linux.resources)
//   % 3 == 1  parse_process_json  `exec --process FILE`, and the process saved in the state
//   % 3 == 2  parse_seccomp_json  the seccomp profile saved in the state, applied by exec
// For any bytes each must return a value or an Error: an escaping exception, a crash, an
// abort or undefined behaviour is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "spec/config.h"
#include "spec/resources.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto r = nsbox::spec::parse_resources(text, "resources.json", "");
      if (!r) (void)r.error().what();
      break;
    }
    case 1: {
      auto p = nsbox::spec::parse_process_json(text, "process.json");
      if (!p) (void)p.error().what();
      break;
    }
    default: {
      auto s = nsbox::spec::parse_seccomp_json(text, "state.json");
      if (!s) (void)s.error().what();
      break;
    }
  }
  return 0;
}
