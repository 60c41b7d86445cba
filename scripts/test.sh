#!/usr/bin/env bash
# Install what is missing, build, and run every test: unit and integration tests on this
# host (as root), the parser fuzzers for a bounded time (scripts/fuzz.sh), the cgroup,
# lifecycle, namespace, exec, seccomp, idmap and security tests again on a pure cgroup v2
# kernel under qemu (tests/vm/run.sh), and the systemd driver's tests in a guest that boots
# systemd (tests/vm/systemd-guest.sh). NSBOX_SKIP_VM=1 skips both guests, NSBOX_SKIP_FUZZ=1
# the fuzzers, NSBOX_SKIP_SYSTEMD_VM=1 the systemd guest (each says so).
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
# The systemd guest: Debian 12 with systemd as pid 1 on cgroup v2 (tests/vm/systemd), where the
# systemd driver's own tests run, and the lifecycle, cgroups and exec tests once more with every
# container under --systemd-cgroup (NSBOX_SKIP_SYSTEMD_VM=1 skips it and says so).
if [ "${NSBOX_SKIP_SYSTEMD_VM:-0}" = 1 ]; then
  echo "test: NSBOX_SKIP_SYSTEMD_VM=1: the systemd guest stage was skipped"
  exit 0
fi
NSBOX=$top/build/nsbox NSBOX_VM_EXTRA_FILES=$top/build/nsbox-systemd \
  NSBOX_VM_TESTS="systemd_test.sh lifecycle_test.sh exec_test.sh cgroups_test.sh" \
  NSBOX_VM_ENV=NSBOX_TEST_CGROUP_DRIVER=systemd \
  VM_TIMEOUT=${VM_TIMEOUT_SYSTEMD:-1800} NSBOX_VM_TEST_TIMEOUT=${NSBOX_VM_TEST_TIMEOUT:-150} \
  "$top/tests/vm/systemd-guest.sh"
