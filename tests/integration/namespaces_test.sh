# Namespace isolation, checked the way a user would: from inside the container with the
# tools of the busybox rootfs, and from the host through /proc. Each test compares what the
# container sees with what the host sees, so that it fails if the namespace were shared.
# Container scripts and jq filters are single-quoted on purpose (expanded inside / by jq).
# Note: make_bundle splits its arguments on newlines, so every container script is one line.
# shellcheck disable=SC2016,SC2015

# ---------------------------------------------------------------------------------------
# Helpers (prefixed ns_ so as not to collide with lib.sh).

# ns_at_exit CMD: run the shell text CMD when the test ends, pass or fail, before the
# harness's own cleanup (which keeps the test's exit status).
_NS_AT_EXIT=""
ns_at_exit() {
  _NS_AT_EXIT+="$1"$'\n'
  # shellcheck disable=SC2154
  trap '_ns_rc=$?; set +e; eval "$_NS_AT_EXIT"; (exit $_ns_rc); _cleanup' EXIT
}

# ns_tool: a static helper binary for what busybox lacks (System V shm, clock_gettime).
# Built once per test into $TEST_TMP/tools/nstool; prints the tools directory.
#   nstool shm KEY      create a 4 KiB shm segment with KEY, print its id
#   nstool clocks       print CLOCK_MONOTONIC and CLOCK_BOOTTIME seconds
ns_tool() {
  local dir=$TEST_TMP/tools
  if [ ! -x "$dir/nstool" ]; then
    mkdir -p "$dir"
    cat >"$dir/nstool.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <time.h>
int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "shm") == 0) {
    int id = shmget((key_t)strtol(argv[2], NULL, 0), 4096, IPC_CREAT | IPC_EXCL | 0666);
    if (id < 0) { perror("shmget"); return 1; }
    printf("%d\n", id);
    return 0;
  }
  if (argc == 2 && strcmp(argv[1], "clocks") == 0) {
    struct timespec m, b;
    clock_gettime(CLOCK_MONOTONIC, &m);
    clock_gettime(CLOCK_BOOTTIME, &b);
    printf("%lld %lld\n", (long long)m.tv_sec, (long long)b.tv_sec);
    return 0;
  }
  fprintf(stderr, "usage: nstool shm KEY | nstool clocks\n");
  return 2;
}
EOF
    if ! "${CC:-cc}" -static -O2 -o "$dir/nstool" "$dir/nstool.c" >&2; then
      # Called in $(...): say why on stderr, and let the caller's set -e pass on the 77.
      echo "SKIP: cannot build a static helper with ${CC:-cc} (needs a C compiler and libc.a)" >&2
      exit 77
    fi
  fi
  echo "$dir"
}

# ns_mount_tools BUNDLE: bind the helper directory read-only on /run in the container.
ns_mount_tools() {
  local tools
  tools=$(ns_tool)
  edit_config "$1" '.mounts += [{"destination": "/run", "type": "bind", "source": $src,
                                 "options": ["rbind", "ro"]}]' --arg src "$tools"
}

# ns_add_caps BUNDLE CAP...: add capabilities to every set of the process.
ns_add_caps() {
  local b=$1
  shift
  local caps
  caps=$(printf '%s\n' "$@" | jq -R . | jq -s -c .)
  edit_config "$b" '.process.capabilities |= with_entries(.value += $caps | .value |= unique)' \
    --argjson caps "$caps"
}

# ns_pid ID: the host pid of a container.
ns_pid() { nsbox state "$1" | jq -r .pid; }

# ns_wait_file ID PATH: wait until PATH exists in the container's root (seen from the host).
ns_wait_file() {
  local pid
  pid=$(ns_pid "$1")
  wait_for "$2 in container $1" test -e "/proc/$pid/root$2"
}

# ns_stop ID: kill a running container, delete it, and check nothing is left of it.
ns_stop() {
  local id=$1
  nsbox kill "$id" KILL
  wait_for "container $id to stop" sh -c "[ \"\$(\"$NSBOX\" --root \"$TEST_ROOT\" state $id | jq -r .status)\" = stopped ]"
  nsbox delete "$id"
  assert_no_leftovers "$id"
}

# ns_assert_other_ns LINK TYPE DESC: LINK (a readlink of a namespace file, as "net:[4026...]")
# names a TYPE namespace other than the host's (this shell's).
ns_assert_other_ns() {
  case "$1" in
    "$2:["[0-9]*"]") ;;
    *) fail "${3}: [$1] is not a $2 namespace link" ;;
  esac
  assert_ne "$1" "$(readlink "/proc/self/ns/$2")" "$3"
}

# ns_line PREFIX TEXT: the rest of the line of TEXT that starts with "PREFIX ".
ns_line() { printf '%s\n' "$2" | sed -n "s/^$1 //p" | head -1; }

# ---------------------------------------------------------------------------------------
# UTS

test_uts_hostname_and_domainname_are_private() {
  local b id out host_h host_d
  host_h=$(hostname)
  host_d=$(cat /proc/sys/kernel/domainname)
  # Should isolation break, the container would rename the host: put it back.
  ns_at_exit "[ \"\$(hostname)\" = '$host_h' ] || hostname '$host_h'"
  ns_at_exit "[ \"\$(cat /proc/sys/kernel/domainname)\" = '$host_d' ] || echo '$host_d' >/proc/sys/kernel/domainname"
  b=$(make_bundle b sh -c 'echo "host $(hostname)"; echo "dom $(cat /proc/sys/kernel/domainname)"; hostname renamed-inside; echo "after $(hostname)"; echo "ns $(readlink /proc/self/ns/uts)"')
  edit_config "$b" '.hostname = $h | .domainname = $d' --arg h "uts-test-$$" --arg d "dom-$$.example"
  # CAP_SYS_ADMIN lets the container rename itself: that must not reach the host either.
  ns_add_caps "$b" CAP_SYS_ADMIN
  id=$(cid uts)
  out=$(nsbox run --bundle "$b" "$id")
  assert_eq "$(ns_line host "$out")" "uts-test-$$" "hostname inside"
  assert_eq "$(ns_line dom "$out")" "dom-$$.example" "domainname inside"
  assert_eq "$(ns_line after "$out")" "renamed-inside" "hostname inside after renaming"
  ns_assert_other_ns "$(ns_line ns "$out")" uts "uts namespace inside vs host"
  assert_eq "$(hostname)" "$host_h" "host hostname after the run"
  assert_eq "$(cat /proc/sys/kernel/domainname)" "$host_d" "host domainname after the run"
  assert_no_leftovers "$id"
}

# ---------------------------------------------------------------------------------------
# IPC

test_ipc_shm_segments_are_private() {
  local tools b id pid host_key ctr_key host_shmid ctr_shmid inside
  tools=$(ns_tool)
  # Keys unique to this test process (the host may hold other segments).
  host_key=$((0x6e730000 + ($$ & 0xffff)))
  ctr_key=$((0x6e740000 + ($$ & 0xffff)))
  host_shmid=$("$tools/nstool" shm "$host_key")
  ns_at_exit "ipcrm -m $host_shmid 2>/dev/null"
  # Only reached if the container's segment leaked into the host.
  ns_at_exit "ipcrm -M $ctr_key 2>/dev/null"
  assert_contains "$(ipcs -m)" "$(printf '0x%08x' "$host_key")" "host segment seen by ipcs on the host"

  b=$(make_bundle b sh -c "/run/nstool shm $ctr_key >/dev/shm/id && cat /proc/sysvipc/shm >/dev/shm/list && touch /dev/shm/ready && exec sleep 100")
  ns_mount_tools "$b"
  id=$(cid ipc)
  nsbox create --bundle "$b" "$id"
  nsbox start "$id"
  ns_wait_file "$id" /dev/shm/ready
  pid=$(ns_pid "$id")
  ctr_shmid=$(cat "/proc/$pid/root/dev/shm/id")
  inside=$(cat "/proc/$pid/root/dev/shm/list")

  # Inside: its own segment (by key and id), not the host's.
  printf '%s\n' "$inside" | awk -v k="$ctr_key" -v i="$ctr_shmid" '$1 == k && $2 == i {f=1} END {exit !f}' ||
    fail "container's segment (key $ctr_key id $ctr_shmid) not listed inside: $inside"
  printf '%s\n' "$inside" | awk -v k="$host_key" '$1 == k {f=1} END {exit f}' ||
    fail "host segment (key $host_key) visible inside: $inside"
  # Host: its own segment, not the container's (by key: ids of two namespaces may coincide).
  awk -v k="$host_key" '$1 == k {f=1} END {exit !f}' /proc/sysvipc/shm || fail "host segment gone"
  awk -v k="$ctr_key" '$1 == k {f=1} END {exit f}' /proc/sysvipc/shm ||
    fail "container's segment (key $ctr_key) visible on the host"
  assert_not_contains "$(ipcs -m)" "$(printf '0x%08x' "$ctr_key")" "ipcs -m on the host"
  ns_assert_other_ns "$(readlink "/proc/$pid/ns/ipc")" ipc "ipc namespace of the container vs host"

  ns_stop "$id"
  awk -v k="$ctr_key" '$1 == k {f=1} END {exit f}' /proc/sysvipc/shm ||
    fail "container's segment (key $ctr_key) on the host after delete"
}

# ---------------------------------------------------------------------------------------
# Mount

test_mount_inside_is_invisible_on_host() {
  local b id pid src rootfs
  src=nsboxmnt$$
  rootfs=$(shared_rootfs)
  b=$(make_bundle b sh -c "mount -t tmpfs -o size=1m $src /tmp && echo inside >/tmp/marker-$$ && touch /dev/shm/ready && exec sleep 100")
  ns_add_caps "$b" CAP_SYS_ADMIN
  id=$(cid mnt)
  nsbox create --bundle "$b" "$id"
  nsbox start "$id"
  ns_wait_file "$id" /dev/shm/ready
  pid=$(ns_pid "$id")

  # The container has the tmpfs on /tmp with the marker in it...
  awk -v s="$src" '$5 == "/tmp" && $0 ~ (" - tmpfs " s " ") {f=1} END {exit !f}' "/proc/$pid/mountinfo" ||
    fail "no tmpfs $src on /tmp in the container: $(cat "/proc/$pid/mountinfo")"
  assert_eq "$(cat "/proc/$pid/root/tmp/marker-$$")" inside "marker seen through the container's root"
  # ...the host has neither the mount nor the file (under the shared rootfs or anywhere).
  if grep -q " $src " /proc/self/mountinfo; then
    fail "container's tmpfs visible on the host: $(grep " $src " /proc/self/mountinfo)"
  fi
  if grep -q " $src " /proc/1/mountinfo; then fail "container's tmpfs visible in pid 1's mounts"; fi
  [ ! -e "$rootfs/tmp/marker-$$" ] || fail "marker file visible on the host in $rootfs/tmp"
  ns_assert_other_ns "$(readlink "/proc/$pid/ns/mnt")" mnt "mount namespace of the container vs host"
  # The container's mount table is not the host's: its / is the rootfs, the host's is not.
  assert_ne "$(awk '$5 == "/" {print $4}' "/proc/$pid/mountinfo" | tail -1)" \
    "$(awk '$5 == "/" {print $4}' /proc/self/mountinfo | tail -1)" "root mount of the container vs host"

  ns_stop "$id"
  assert_no_host_mounts
  if grep -q " $src " /proc/self/mountinfo; then fail "container's tmpfs on the host after delete"; fi
}

# ---------------------------------------------------------------------------------------
# PID

test_pid_namespace_shows_only_own_processes() {
  local b id out
  # The globs are expanded by the shell itself: no other process exists while they run.
  b=$(make_bundle b sh -c 'echo "self $$"; echo "procs" /proc/[0-9]*; ls /proc >/dev/shm/ls; echo "ls" $(grep "^[0-9]" /dev/shm/ls)')
  id=$(cid pidrun)
  out=$(nsbox run --bundle "$b" "$id")
  assert_eq "$(ns_line self "$out")" 1 "pid of the container process"
  assert_eq "$(ns_line procs "$out")" /proc/1 "processes in the container's /proc"
  # `ls /proc` itself is the only other process it can see.
  local ls_pids
  ls_pids=$(ns_line ls "$out")
  case "$ls_pids" in
    "1 "[0-9] | "1 "[0-9][0-9]) ;;
    *) fail "ls /proc inside listed pids [$ls_pids], expected 1 and its own small pid" ;;
  esac
  assert_no_leftovers "$id"
}

test_pid_namespace_host_pid_differs() {
  local b id pid
  b=$(make_bundle b sleep 100)
  id=$(cid pidstate)
  nsbox create --bundle "$b" "$id"
  nsbox start "$id"
  pid=$(ns_pid "$id")
  [ "$pid" -gt 1 ] || fail "host pid in nsbox state is [$pid]"
  # The kernel's own account: host pid first, then 1 in the container's namespace.
  assert_eq "$(awk '/^NSpid:/ {print $2, $3}' "/proc/$pid/status")" "$pid 1" "NSpid of the container process"
  assert_eq "$(tr '\0' ' ' <"/proc/$pid/cmdline")" "sleep 100 " "command of the state's pid"
  ns_assert_other_ns "$(readlink "/proc/$pid/ns/pid")" pid "pid namespace of the container vs host"
  ns_stop "$id"
}

# ---------------------------------------------------------------------------------------
# Network

test_network_only_loopback_and_up() {
  local b id out
  b=$(make_bundle b sh -c 'echo "sys" $(ls /sys/class/net); echo "dev" $(tail -n +3 /proc/net/dev | cut -d: -f1); echo "ns $(readlink /proc/self/ns/net)"; ip -o link; ping -c 1 -W 2 127.0.0.1')
  # ping needs a raw socket (the host's ping_group_range may forbid ICMP sockets).
  ns_add_caps "$b" CAP_NET_RAW
  id=$(cid net)
  out=$(nsbox run --bundle "$b" "$id")
  assert_eq "$(ns_line sys "$out")" lo "/sys/class/net inside"
  assert_eq "$(ns_line dev "$out")" lo "/proc/net/dev inside"
  local links
  links=$(printf '%s\n' "$out" | awk -F': ' '/^[0-9]+: / {print $2}')
  assert_eq "$links" lo "interfaces of ip link inside"
  assert_contains "$(printf '%s\n' "$out" | grep '^[0-9]*: lo:')" ",UP" "flags of lo inside"
  assert_contains "$out" "1 packets received" "ping 127.0.0.1 inside"
  ns_assert_other_ns "$(ns_line ns "$out")" net "network namespace inside vs host"
  # A host with only lo would prove nothing about the lists above.
  [ "$(find /sys/class/net -mindepth 1 -maxdepth 1 | wc -l)" -gt 1 ] || echo "note: the host has only lo" >&2
  assert_no_leftovers "$id"
}

# ---------------------------------------------------------------------------------------
# Cgroup

test_cgroup_namespace_root_is_containers_cgroup() {
  local b id pid inside host_view
  b=$(make_bundle b sh -c 'cat /proc/self/cgroup >/dev/shm/cg && touch /dev/shm/ready && exec sleep 100')
  id=$(cid cgns)
  nsbox create --bundle "$b" "$id"
  nsbox start "$id"
  ns_wait_file "$id" /dev/shm/ready
  pid=$(ns_pid "$id")
  inside=$(cat "/proc/$pid/root/dev/shm/cg")
  host_view=$(cat "/proc/$pid/cgroup")
  [ -n "$inside" ] || fail "empty /proc/self/cgroup inside"
  # Inside, every hierarchy's path is the namespace root...
  printf '%s\n' "$inside" | awk -F: '$3 != "/" {bad=1} END {exit bad}' ||
    fail "cgroup paths inside are not /: $inside"
  # ...and that root is the container's own cgroup, as the host sees it.
  printf '%s\n' "$host_view" | awk -F: -v leaf="/nsbox-$id" \
    'substr($3, length($3) - length(leaf) + 1) != leaf {bad=1} END {exit bad}' ||
    fail "host view of the container's cgroups does not end in nsbox-$id: $host_view"
  assert_eq "$(printf '%s\n' "$inside" | wc -l)" "$(printf '%s\n' "$host_view" | wc -l)" "hierarchies inside vs host view"
  ns_assert_other_ns "$(readlink "/proc/$pid/ns/cgroup")" cgroup "cgroup namespace of the container vs host"
  ns_stop "$id"
}

# ---------------------------------------------------------------------------------------
# Joining another container's namespaces by path

test_join_network_ipc_uts_by_path() {
  local tools ba bb ida idb pida a_ns out key a_shmid
  tools=$(ns_tool)
  key=$((0x6e750000 + ($$ & 0xffff)))
  ns_at_exit "ipcrm -M $key 2>/dev/null"
  ba=$(make_bundle a sh -c "/run/nstool shm $key >/dev/shm/id && for n in net ipc uts; do readlink /proc/self/ns/\$n; done >/dev/shm/ns && touch /dev/shm/ready && exec sleep 100")
  ns_mount_tools "$ba"
  edit_config "$ba" '.hostname = $h' --arg h "shared-$$"
  ida=$(cid a)
  nsbox create --bundle "$ba" "$ida"
  nsbox start "$ida"
  ns_wait_file "$ida" /dev/shm/ready
  pida=$(ns_pid "$ida")
  a_ns=$(cat "/proc/$pida/root/dev/shm/ns")
  a_shmid=$(cat "/proc/$pida/root/dev/shm/id")

  bb=$(make_bundle b sh -c 'for n in net ipc uts; do readlink /proc/self/ns/$n; done; echo "host $(hostname)"; cat /proc/sysvipc/shm; echo "links" $(ls /sys/class/net)')
  # B sets no hostname of its own: it must see A's.
  edit_config "$bb" 'del(.hostname) | .linux.namespaces |= map(
      if .type == "network" or .type == "ipc" or .type == "uts"
      then .path = "/proc/\($pid)/ns/" + (if .type == "network" then "net" else .type end)
      else . end)' --arg pid "$pida"
  idb=$(cid b)
  out=$(nsbox run --bundle "$bb" "$idb")
  assert_no_leftovers "$idb"

  assert_eq "$(printf '%s\n' "$out" | head -3)" "$a_ns" "namespaces of B vs A (net, ipc, uts)"
  ns_assert_other_ns "$(printf '%s\n' "$a_ns" | head -1)" net "A's net namespace vs host"
  assert_eq "$(ns_line host "$out")" "shared-$$" "hostname of B"
  printf '%s\n' "$out" | awk -v k="$key" -v i="$a_shmid" '$1 == k && $2 == i {f=1} END {exit !f}' ||
    fail "A's segment (key $key id $a_shmid) not visible in B: $out"
  assert_eq "$(ns_line links "$out")" lo "interfaces in B"
  # B ending must not disturb A.
  assert_eq "$(status_of "$ida")" running "A after B exited"
  assert_eq "$(cat "/proc/$pida/root/dev/shm/id")" "$a_shmid" "A still alive"
  ns_stop "$ida"
}

test_join_pid_namespace_by_path() {
  local ba bb ida idb pida out
  ba=$(make_bundle a sleep 100)
  ida=$(cid a)
  nsbox create --bundle "$ba" "$ida"
  nsbox start "$ida"
  pida=$(ns_pid "$ida")

  bb=$(make_bundle b sh -c 'echo "ns $(readlink /proc/self/ns/pid)"; echo "self $$"; echo "init $(cat /proc/1/cmdline | tr "\0" " ")"; echo "procs" /proc/[0-9]*')
  edit_config "$bb" '.linux.namespaces |= map(if .type == "pid" then .path = "/proc/\($pid)/ns/pid" else . end)' \
    --arg pid "$pida"
  idb=$(cid b)
  out=$(nsbox run --bundle "$bb" "$idb")
  assert_no_leftovers "$idb"

  assert_eq "$(ns_line ns "$out")" "$(readlink "/proc/$pida/ns/pid")" "pid namespace of B vs A"
  ns_assert_other_ns "$(ns_line ns "$out")" pid "pid namespace of B vs host"
  # B is not the namespace's init; A's sleep is, and B sees it.
  local self
  self=$(ns_line self "$out")
  [ -n "$self" ] && [ "$self" -gt 1 ] || fail "pid of B in A's namespace: [$self], expected > 1"
  assert_eq "$(ns_line init "$out")" "sleep 100 " "pid 1 seen by B"
  assert_eq "$(ns_line procs "$out")" "/proc/1 /proc/$self" "processes B sees"
  assert_eq "$(status_of "$ida")" running "A after B exited"
  ns_stop "$ida"
}

# ---------------------------------------------------------------------------------------
# User

test_user_namespace_maps_root_to_100000() {
  local b id out shared
  shared=$TEST_TMP/shared
  mkdir -p "$shared"
  chmod 0777 "$shared"
  # The container's root is host uid 100000: it must be able to reach the bind source
  # through the (0700) test directory. The default spec's mounts (proc, sysfs, cgroup v1
  # hierarchies) work unchanged in a user namespace, so none is removed here.
  chmod 0711 "$TEST_TMP"
  b=$(make_bundle b sh -c 'echo "uid_map" $(cat /proc/self/uid_map); echo "gid_map" $(cat /proc/self/gid_map); echo "id $(id -u) $(id -g)"; echo "ns $(readlink /proc/self/ns/user)"; echo "lo $(ip link set lo down 2>&1 && echo down)"; echo made >/run/created')
  # Its network namespace belongs to its user namespace: its root may configure it.
  ns_add_caps "$b" CAP_NET_ADMIN
  edit_config "$b" '.linux.namespaces += [{"type": "user"}]
    | .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    | .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    | .mounts += [{"destination": "/run", "type": "bind", "source": $src, "options": ["rbind", "rw"]}]' \
    --arg src "$shared"
  # Like runc and crun, nsbox sets up the rootfs as the container's root (host uid 100000):
  # the rootfs path must be traversable by it. The shared one may sit below a 0700 checkout
  # (CI clones into a mktemp directory), so use a copy in the test directory.
  cp -a "$(shared_rootfs)" "$TEST_TMP/rootfs"
  edit_config "$b" '.root.path = $r' --arg r "$TEST_TMP/rootfs"
  id=$(cid user)
  out=$(nsbox run --bundle "$b" "$id")
  assert_eq "$(ns_line uid_map "$out")" "0 100000 65536" "uid_map inside"
  assert_eq "$(ns_line gid_map "$out")" "0 100000 65536" "gid_map inside"
  assert_eq "$(ns_line id "$out")" "0 0" "id -u / id -g inside"
  ns_assert_other_ns "$(ns_line ns "$out")" user "user namespace inside vs host"
  assert_eq "$(ns_line lo "$out")" down "ip link set lo down by the container's root"
  [ -f "$shared/created" ] || fail "the container did not create $shared/created"
  assert_eq "$(stat -c '%u:%g' "$shared/created")" "100000:100000" "host owner of the container's file"
  assert_eq "$(cat "$shared/created")" made "content of the container's file"
  assert_no_leftovers "$id"
  assert_no_host_mounts
}

# ---------------------------------------------------------------------------------------
# Time

test_time_namespace_offsets() {
  [ -e /proc/self/ns/time ] || skip "the kernel has no time namespaces (/proc/self/ns/time missing)"
  local tools b id out before after up mono boot host_mono host_boot
  tools=$(ns_tool)
  b=$(make_bundle b sh -c 'echo "uptime $(cut -d" " -f1 /proc/uptime)"; echo "clocks $(/run/nstool clocks)"; echo "ns $(readlink /proc/self/ns/time)"')
  ns_mount_tools "$b"
  edit_config "$b" '.linux.namespaces += [{"type": "time"}]
    | .linux.timeOffsets = {"monotonic": {"secs": 432000, "nanosecs": 0}, "boottime": {"secs": 864000, "nanosecs": 0}}'
  id=$(cid time)
  before=$(cut -d' ' -f1 /proc/uptime)
  read -r host_mono host_boot < <("$tools/nstool" clocks)
  out=$(nsbox run --bundle "$b" "$id")
  after=$(cut -d' ' -f1 /proc/uptime)
  assert_no_leftovers "$id"

  up=$(ns_line uptime "$out")
  read -r mono boot <<<"$(ns_line clocks "$out")"
  [ -n "$up" ] && [ -n "$mono" ] && [ -n "$boot" ] || fail "no clock readings inside: $out"
  # /proc/uptime (boottime) is 10 days ahead of the host's, within the run's duration.
  awk -v u="$up" -v a="$before" -v z="$after" 'BEGIN {exit !(u >= a + 864000 && u <= z + 864000 + 1)}' ||
    fail "uptime inside $up, host $before..$after: expected host + 864000"
  awk -v u="$up" 'BEGIN {exit !(u >= 864000)}' || fail "uptime inside $up < 10 days"
  # The host itself is unaffected (and, on a test machine, up for less than 10 days).
  awk -v a="$after" 'BEGIN {exit !(a < 864000)}' || echo "note: the host has been up 10 days or more" >&2
  # The clocks themselves: monotonic +5 days, boottime +10 days.
  [ $((mono - host_mono)) -ge 432000 ] && [ $((mono - host_mono)) -le 432010 ] ||
    fail "CLOCK_MONOTONIC inside $mono vs host $host_mono: expected +432000"
  [ $((boot - host_boot)) -ge 864000 ] && [ $((boot - host_boot)) -le 864010 ] ||
    fail "CLOCK_BOOTTIME inside $boot vs host $host_boot: expected +864000"
  ns_assert_other_ns "$(ns_line ns "$out")" time "time namespace inside vs host"
}

# ---------------------------------------------------------------------------------------
# Mount and UTS namespaces joined by path, and namespaces left out of the config

# ns_rootfs_copy: a writable copy of the busybox rootfs in the test directory, holding
# /nsbox-marker ("rootfs-PID"), so that mounts a container leaves on the host show under
# $TEST_TMP and what it sees as / can be told from the shared rootfs. Prints its path.
ns_rootfs_copy() {
  local r=$TEST_TMP/rootfs
  if [ ! -d "$r" ]; then
    cp -a "$(shared_rootfs)" "$r"
    echo "rootfs-$$" >"$r/nsbox-marker"
  fi
  echo "$r"
}

# ns_private_dir DIR: DIR as a private mount of its own, where a mount namespace file may
# be bound (the kernel refuses it on a shared mount). Unmounted when the test ends.
ns_private_dir() {
  mkdir -p "$1"
  mount --bind "$1" "$1" || fail "mount --bind $1"
  at_exit "umount '$1'"
  mount --make-private "$1" || fail "mount --make-private $1"
}

# ns_keep NSTYPE FILE [CMD...]: a new NSTYPE namespace (unshare's option name: mount, uts)
# kept in FILE, made by unshare running CMD (default true) in it; unmounted at the end.
ns_keep() {
  local type=$1 file=$2
  shift 2
  touch "$file"
  [ $# -gt 0 ] || set -- true
  unshare --"$type"="$file" "$@" || skip "unshare cannot keep a $type namespace in $file"
  at_exit "umount '$file'"
}

# ns_mounts_below PATH: the host's mount points at or below PATH (empty if none).
ns_mounts_below() {
  awk -v p="$1" '$5 == p || index($5, p "/") == 1 {print $5}' /proc/self/mountinfo
}

# ns_assert_no_mounts_below PATH DESC
ns_assert_no_mounts_below() {
  local m
  m=$(ns_mounts_below "$1")
  [ -z "$m" ] || fail "$2: mounts left on the host below $1: $m"
}

test_join_mount_namespace_by_path() {
  local rootfs dir b id out ino
  rootfs=$(ns_rootfs_copy)
  dir=$TEST_TMP/nsfiles
  ns_private_dir "$dir"
  ns_keep mount "$dir/mnt" --propagation private true
  ino=$(stat -L -c %i "$dir/mnt")
  b=$(make_bundle b /bin/sh -c 'echo "marker $(cat /nsbox-marker)"; echo "ns $(readlink /proc/self/ns/mnt)"; echo "self $$"; echo "procs" /proc/[0-9]*')
  edit_config "$b" '.root.path = $r | .linux.namespaces |= map(if .type == "mount" then .path = $p else . end)' \
    --arg r "$rootfs" --arg p "$dir/mnt"
  id=$(cid mntjoin)
  run_ok mntjoin "$b"
  out=$OUT
  assert_no_leftovers "$id"
  # Its program came from its rootfs, with its /proc mounted (its own pid namespace).
  assert_eq "$(ns_line marker "$out")" "rootfs-$$" "/nsbox-marker inside"
  assert_eq "$(ns_line ns "$out")" "mnt:[$ino]" "mount namespace inside vs the joined one"
  ns_assert_other_ns "$(ns_line ns "$out")" mnt "joined mount namespace vs host"
  assert_eq "$(ns_line self "$out")" 1 "pid of the container process"
  assert_eq "$(ns_line procs "$out")" /proc/1 "processes in the container's /proc"
  # Its mounts went into the joined namespace, none to the host's.
  ns_assert_no_mounts_below "$rootfs" "after a run in a joined mount namespace"
  ns_assert_no_mounts_below "$b" "after a run in a joined mount namespace"
}

test_no_mount_namespace_uses_the_hosts_with_chroot() {
  local rootfs b id out host_mnt pid
  rootfs=$(ns_rootfs_copy)
  host_mnt=$(readlink /proc/self/ns/mnt)
  b=$(make_bundle b /bin/sh -c 'echo "marker $(cat /nsbox-marker)"; echo "ns $(readlink /proc/self/ns/mnt)"; echo "root" $(ls /); echo "procs" /proc/[0-9]*')
  # Every other namespace and the default mounts stay.
  edit_config "$b" '.root.path = $r | .linux.namespaces |= map(select(.type != "mount"))' --arg r "$rootfs"
  id=$(cid nomnt)
  run_ok nomnt "$b"
  out=$OUT
  assert_no_leftovers "$id"
  assert_eq "$(ns_line marker "$out")" "rootfs-$$" "/nsbox-marker inside"
  assert_eq "$(ns_line ns "$out")" "$host_mnt" "mount namespace inside vs host"
  assert_eq "$(ns_line root "$out")" "$(cd "$rootfs" && echo *)" "ls / inside vs the rootfs"
  assert_eq "$(ns_line procs "$out")" /proc/1 "processes in the container's /proc"
  assert_no_host_mounts

  # Running: its mounts are the host's until delete --force; exec sees its rootfs too.
  edit_config "$b" '.process.args = ["sleep", "1000"]'
  id=$(cid nomnt-d)
  nsbox run -d --bundle "$b" "$id" </dev/null >/dev/null 2>"$TEST_TMP/start.err" || fail "run -d without a mount namespace: $(cat "$TEST_TMP/start.err")"
  pid=$(ns_pid "$id")
  assert_eq "$(readlink "/proc/$pid/ns/mnt")" "$host_mnt" "mount namespace of the running container"
  [ -n "$(ns_mounts_below "$rootfs/proc")" ] || fail "no /proc mounted on the host below $rootfs"
  assert_eq "$(nsbox exec "$id" cat /nsbox-marker)" "rootfs-$$" "/nsbox-marker seen by exec"
  assert_eq "$(nsbox exec "$id" readlink /proc/self/ns/mnt)" "$host_mnt" "mount namespace of exec"
  nsbox delete --force "$id" || fail "delete --force without a mount namespace"
  assert_no_leftovers "$id"
  assert_no_host_mounts

  # Stopped on its own, then deleted.
  id=$(cid nomnt-s)
  nsbox run -d --bundle "$b" "$id" </dev/null >/dev/null 2>"$TEST_TMP/start.err" || fail "run -d without a mount namespace: $(cat "$TEST_TMP/start.err")"
  ns_stop "$id"
  assert_no_host_mounts
}

test_join_uts_namespace_by_path_sets_its_hostname() {
  local host_h f ino b id out
  host_h=$(hostname)
  ns_at_exit "[ \"\$(hostname)\" = '$host_h' ] || hostname '$host_h'"
  f=$TEST_TMP/uts
  ns_keep uts "$f" hostname "before-$$"
  ino=$(stat -L -c %i "$f")
  assert_eq "$(nsenter --uts="$f" hostname)" "before-$$" "hostname of the new UTS namespace"
  b=$(make_bundle b sh -c 'echo "host $(hostname)"; echo "ns $(readlink /proc/self/ns/uts)"')
  edit_config "$b" '.hostname = "joined-name" | .linux.namespaces |= map(if .type == "uts" then .path = $p else . end)' \
    --arg p "$f"
  id=$(cid utsjoin)
  run_ok utsjoin "$b"
  out=$OUT
  assert_no_leftovers "$id"
  assert_eq "$(ns_line host "$out")" joined-name "hostname inside"
  assert_eq "$(ns_line ns "$out")" "uts:[$ino]" "UTS namespace inside vs the joined one"
  assert_eq "$(nsenter --uts="$f" hostname)" joined-name "hostname of the joined namespace afterwards"
  assert_eq "$(hostname)" "$host_h" "host hostname"
  ns_assert_no_mounts_below "$b" "after a run in a joined UTS namespace"
}

# Like runtime-tools' linux_ns_itype: with no namespace in the config the container shares
# every namespace of the runtime, and nothing of it is left on the host.
test_no_namespaces_at_all() {
  local rootfs b id pid out host_h n f
  host_h=$(hostname)
  ns_at_exit "[ \"\$(hostname)\" = '$host_h' ] || hostname '$host_h'"
  rootfs=$(ns_rootfs_copy)
  b=$(make_bundle b sh -c 'cat /nsbox-marker; for n in cgroup ipc mnt net pid time user uts; do readlink /proc/self/ns/$n; done')
  edit_config "$b" '.root.path = $r | .linux.namespaces = [] | del(.hostname)' --arg r "$rootfs"
  id=$(cid nons)
  run_ok nons "$b"
  out=$OUT
  assert_no_leftovers "$id"
  assert_no_host_mounts
  [ -e /proc/self/ns/time ] || out=$(printf '%s\n' "$out" | grep -v '^time:')
  assert_eq "$out" "$(echo "rootfs-$$"; for n in cgroup ipc mnt net pid time user uts; do
    [ -e "/proc/self/ns/$n" ] && readlink "/proc/self/ns/$n"; done)" "namespaces seen inside vs the runtime's"

  edit_config "$b" '.process.args = ["sleep", "1000"]'
  id=$(cid nons-d)
  nsbox run -d --bundle "$b" "$id" </dev/null >/dev/null 2>"$TEST_TMP/start.err" || fail "run -d without namespaces: $(cat "$TEST_TMP/start.err")"
  pid=$(ns_pid "$id")
  assert_eq "$(cat "/proc/$pid/root/nsbox-marker")" "rootfs-$$" "root of the container"
  n=0
  for f in /proc/self/ns/*; do
    assert_eq "$(readlink "/proc/$pid/ns/${f##*/}")" "$(readlink "$f")" "${f##*/} namespace of the container vs the runtime's"
    n=$((n + 1))
  done
  [ "$n" -ge 8 ] || fail "only $n namespace files in /proc/self/ns"
  nsbox delete --force "$id" || fail "delete --force without namespaces"
  assert_no_leftovers "$id"
  assert_no_host_mounts
  [ ! -e "/proc/$pid" ] || grep -q '^State:[[:space:]]*[ZX]' "/proc/$pid/status" || fail "the container's process $pid is still alive"
  assert_eq "$(hostname)" "$host_h" "host hostname"
}
