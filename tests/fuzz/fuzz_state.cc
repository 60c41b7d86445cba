// libFuzzer target: <root>/<id>/state.json and footprint.json text through the state parsers
// (state_from_json: every command on a container; state_summary_from_json: `list`;
// footprint_from_json: `delete --force`). A damaged or hostile file must give an Error, never
// an escaping exception, a crash or undefined behaviour. A state the full parser accepts must
// also round-trip: what state_to_json writes from it parses again, and `list`'s summary of that
// file agrees with the full parse. restated() only ever gets a document nsbox made itself
// (oci_state_json), so it is fed that, not the raw input.
#include <stdio.h>
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "spec/state.h"

namespace {

using nsbox::spec::State;

[[noreturn]] void broken(const char* what, const std::string& detail) {
  fprintf(stderr, "fuzz_state: %s: %s\n", what, detail.c_str());
  abort();
}

bool same_summary(const State& a, const State& b) {
  return a.oci_version == b.oci_version && a.id == b.id && a.pid == b.pid &&
         a.start_time == b.start_time && a.bundle == b.bundle && a.rootfs == b.rootfs &&
         a.created == b.created && a.owner == b.owner && a.annotations == b.annotations &&
         a.cgroup_leaves == b.cgroup_leaves && a.freezer == b.freezer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto summary = nsbox::spec::state_summary_from_json(text, "state.json");
  if (!summary) (void)summary.error().what();
  auto footprint = nsbox::spec::footprint_from_json(text, "footprint.json");
  if (!footprint) (void)footprint.error().what();

  auto state = nsbox::spec::state_from_json(text, "state.json");
  if (!state) {
    (void)state.error().what();
    return 0;
  }
  const std::string written = nsbox::spec::state_to_json(*state);
  auto again = nsbox::spec::state_from_json(written, "state.json");
  if (!again) broken("a state written by state_to_json does not parse again", again.error().what());
  auto again_summary = nsbox::spec::state_summary_from_json(written, "state.json");
  if (!again_summary) {
    broken("list cannot read a state written by state_to_json", again_summary.error().what());
  }
  if (!same_summary(*again, *again_summary)) {
    broken("list's summary and the full parse disagree on a written state", written);
  }
  (void)nsbox::spec::restated(nsbox::spec::oci_state_json(*state, nsbox::spec::Status::kRunning, false),
                              nsbox::spec::Status::kCreated, 1);
  return 0;
}
