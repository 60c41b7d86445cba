#!/usr/bin/env bash
# Install what is missing, build, and run every test: unit and integration tests on this
# host (as root), the parser fuzzers for a bounded time (scripts/fuzz.sh), then the cgroup,
# lifecycle, namespace, exec, seccomp and idmap tests again
# on a pure cgroup v2 kernel under qemu (tests/vm). NSBOX_SKIP_VM=1 skips the VM stage (it
# says so).
# Extra arguments go to ctest.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The tests' own needs: C helpers, terminals, rootless ids, podman's seccomp profile, and
# the engines they drive (podman, docker, containerd) with what those need.
"$top/scripts/deps.sh" tmux gcc libc6-dev uidmap golang-github-containers-common \
  podman catatonit containernetworking-plugins docker.io containerd umoci
"$top/scripts/build.sh"
(cd "$top/build" && ctest --output-on-failure -j2 "$@")
# The coverage-guided fuzzers over the config and state parsers, bounded (NSBOX_SKIP_FUZZ=1
# skips them and says so).
if [ "${NSBOX_SKIP_FUZZ:-0}" = 1 ]; then
  echo "test: NSBOX_SKIP_FUZZ=1: the fuzz stage was skipped"
else
  FUZZ_SECONDS=${FUZZ_SECONDS:-45} "$top/scripts/fuzz.sh"
fi
if [ "${NSBOX_SKIP_VM:-0}" = 1 ]; then
  echo "test: NSBOX_SKIP_VM=1: the cgroup v2 VM stage was skipped"
  exit 0
fi
vm_stage() {
  NSBOX=$top/build/nsbox NSBOX_VM_TESTS="cgroups_test.sh lifecycle_test.sh namespaces_test.sh exec_test.sh seccomp_test.sh idmap_test.sh security_test.sh" \
    VM_TIMEOUT=${VM_TIMEOUT:-900} NSBOX_VM_TEST_TIMEOUT=${NSBOX_VM_TEST_TIMEOUT:-120} \
    "$top/tests/vm/run.sh"
}
# Under software emulation the guest kernel has been seen to stall in a soft lockup (both
# vcpus stuck in the kernel, no test failing): that run says nothing about nsbox, so it is
# run once more, and the log says so. Any other failure fails at once.
console=${NSBOX_VM_WORK:-/var/tmp/nsbox-vm}/out/console.log
if ! vm_stage; then
  grep -q "soft lockup" "$console" 2>/dev/null || exit 1
  echo "test: the VM's kernel reported a soft lockup (emulation stall); running the VM stage once more"
  vm_stage
fi
