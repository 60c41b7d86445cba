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
  podman catatonit containernetworking-plugins docker.io containerd umoci nftables mmdebstrap
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
  echo "test: NSBOX_SKIP_VM=1: the cgroup v2 VM and systemd guest stages were skipped"
  exit 0
fi
# The two guests run at the same time: under emulation each keeps about one core busy.
# The cgroup v2 guest (tests/vm/run.sh): the cgroup, lifecycle, namespace, exec, seccomp, idmap,
# security, network, system container and checkpoint tests (real CRIU dumps: Debian's CRIU 3.17
# cannot dump on the host's 6.18) on Debian's 6.1 kernel with cgroup2 alone. Left to the host: the tests
# whose subject is no kernel's (path resolution through links, profile parsing, the program
# cache), and the longest under emulation.
v2_guest() {
  NSBOX=$top/build/nsbox NSBOX_VM_TESTS="cgroups_test.sh lifecycle_test.sh namespaces_test.sh exec_test.sh seccomp_test.sh idmap_test.sh security_test.sh network_test.sh system_test.sh checkpoint_test.sh" \
    NSBOX_VM_MODULES="overlay veth bridge nf_tables nft_chain_nat nft_nat nft_masq nft_fib_inet nft_ct unix_diag inet_diag tcp_diag udp_diag netlink_diag af_packet_diag tun nf_conntrack_netlink" \
    NSBOX_VM_EXTRA_TOOLS="ip nft nsenter unshare criu tar" \
    NSBOX_VM_SKIP=${NSBOX_VM_SKIP-^(test_hostile_links_never_reach_host|test_seccomp_bad_profiles|test_seccomp_program_cache)$} \
    VM_TIMEOUT=${VM_TIMEOUT:-1800} NSBOX_VM_TEST_TIMEOUT=${NSBOX_VM_TEST_TIMEOUT:-150} \
    "$top/tests/vm/run.sh"
}
# Under software emulation the guest kernel has been seen to stall in a soft lockup (both
# vcpus stuck in the kernel, no test failing): that run says nothing about nsbox, so it is
# run once more, and the log says so. Any other failure fails at once.
v2_stage() {
  local console=${NSBOX_VM_WORK:-/var/tmp/nsbox-vm}/out/console.log
  v2_guest && return 0
  grep -q "soft lockup" "$console" 2>/dev/null || return 1
  echo "test: the VM's kernel reported a soft lockup (emulation stall); running the VM stage once more"
  v2_guest
}
# The systemd guest (tests/vm/systemd-guest.sh): Debian 12 with systemd as pid 1 on cgroup v2,
# where the systemd driver's own tests run, and the lifecycle, cgroups, exec and engine tests
# once more with every container under --systemd-cgroup (podman's default systemd cgroup
# manager, containerd's SystemdCgroup). NSBOX_SKIP_SYSTEMD_VM=1 skips it and says so.
systemd_stage() {
  if [ "${NSBOX_SKIP_SYSTEMD_VM:-0}" = 1 ]; then
    echo "test: NSBOX_SKIP_SYSTEMD_VM=1: the systemd guest stage was skipped"
    return 0
  fi
  # The Debian root file system the host's system tests built (scripts/mkdebian.sh), if any:
  # systemd boots in a system container in the guest too (pure v2, the systemd driver).
  local debian extra=$top/build/nsbox-systemd env=NSBOX_TEST_CGROUP_DRIVER=systemd
  debian=$(find "${NSBOX_ROOTFS_CACHE:-/var/tmp/nsbox-rootfs}" -maxdepth 1 -name 'debian-bookworm-systemd-*.tar' 2>/dev/null | head -1)
  if [ -n "$debian" ]; then
    extra="$extra $debian"
    env="$env NSBOX_ROOTFS_CACHE=/usr/local/bin"
  fi
  NSBOX=$top/build/nsbox NSBOX_VM_EXTRA_FILES=$extra \
    NSBOX_VM_TESTS="systemd_test.sh lifecycle_test.sh exec_test.sh cgroups_test.sh system_test.sh engine_podman_test.sh engine_containerd_test.sh" \
    NSBOX_VM_SKIP=${NSBOX_VM_SKIP_SYSTEMD-$SYSTEMD_GUEST_SKIP} \
    NSBOX_VM_ENV=$env \
    VM_TIMEOUT=${VM_TIMEOUT_SYSTEMD:-2100} NSBOX_VM_TEST_TIMEOUT=${NSBOX_VM_TEST_TIMEOUT:-240} \
    "$top/tests/vm/systemd-guest.sh"
}
# Engine tests whose subject is not the cgroup driver (terminals, networks, rootless podman on
# cgroupfs, limits), left to the host.
SYSTEMD_GUEST_SKIP='^(test_podman_exec_tty_under_a_real_terminal|test_podman_default_bridge_network|test_podman_rlimit_beyond_the_hosts_is_a_clear_error|test_podman_rootless_with_no_network|test_podman_stop_with_term|test_default_network_namespace_and_net_host|test_run_with_terminal|test_sigkill_stops_a_paused_task|test_containers_of_one_namespace_are_deleted_independently)$'
# prefixed TAG CMD...: CMD's output, each line tagged; CMD's exit status.
prefixed() {
  local tag=$1
  shift
  "$@" 2>&1 | sed -u "s/^/[$tag] /"
  return "${PIPESTATUS[0]}"
}
prefixed v2 v2_stage &
v2_pid=$!
prefixed systemd systemd_stage &
systemd_pid=$!
rc=0
wait "$v2_pid" || { rc=1; echo "test: the cgroup v2 guest stage failed"; }
wait "$systemd_pid" || { rc=1; echo "test: the systemd guest stage failed"; }
exit "$rc"
