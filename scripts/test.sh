#!/usr/bin/env bash
# Install what is missing, build, and run every test: unit and integration tests on this
# host (as root), then the cgroup, lifecycle and namespace tests again on a pure cgroup v2
# kernel under qemu (tests/vm). NSBOX_SKIP_VM=1 skips the VM stage (it says so).
# Extra arguments go to ctest.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$top/scripts/deps.sh"
"$top/scripts/build.sh"
(cd "$top/build" && ctest --output-on-failure -j2 "$@")
if [ "${NSBOX_SKIP_VM:-0}" = 1 ]; then
  echo "test: NSBOX_SKIP_VM=1: the cgroup v2 VM stage was skipped"
  exit 0
fi
NSBOX=$top/build/nsbox NSBOX_VM_TESTS="cgroups_test.sh lifecycle_test.sh namespaces_test.sh" \
  "$top/tests/vm/run.sh"
