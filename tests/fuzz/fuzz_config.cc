// libFuzzer target: config.json text through nsbox::spec::parse_config, as `create` and `run`
// read it. For any bytes the parser must return a Config or an Error: an escaping exception
// (std::terminate), a crash, an abort or undefined behaviour (UBSan aborts) is a finding.
// A config it accepts must also be usable later: exec re-parses the process object and the
// seccomp profile that create saved from it, so those must parse again.
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "spec/config.h"

namespace {

// A bundle directory with an empty rootfs/, made once: root.path "rootfs" then resolves.
std::string g_bundle;

void remove_bundle() {
  ::rmdir((g_bundle + "/rootfs").c_str());
  ::rmdir(g_bundle.c_str());
}

[[noreturn]] void broken(const char* what, const nsbox::Error& e) {
  fprintf(stderr, "fuzz_config: %s: %s\n", what, e.what().c_str());
  abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* tmp = getenv("TMPDIR");
  std::string tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/nsbox-fuzz-bundle-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr || ::mkdir((tmpl + "/rootfs").c_str(), 0755) != 0) {
    perror("fuzz_config: make the bundle directory");
    abort();
  }
  g_bundle = tmpl;
  atexit(remove_bundle);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto config = nsbox::spec::parse_config(text, g_bundle, "config.json");
  if (!config) {
    (void)config.error().what();
    return 0;
  }
  if (config->process) {
    auto p = nsbox::spec::parse_process_json(config->process_json, "state.json");
    if (!p) broken("the process object of an accepted config.json does not parse again", p.error());
  }
  if (config->linux.seccomp) {
    auto s = nsbox::spec::parse_seccomp_json(config->linux.seccomp_json, "state.json");
    if (!s) broken("the seccomp profile of an accepted config.json does not parse again", s.error());
  }
  return 0;
}
