# shellcheck shell=bash
# shellcheck disable=SC2015  # "A && B || fail": fail exits
# Sourced by tests that look at cgroups: where a controller of a process is, on any layout
# (a v1 hierarchy that has it, else the v2 tree), exactly as /proc/<pid>/cgroup places it.

# cg_v1_mount CONTROLLER: mount point of the v1 hierarchy with CONTROLLER (a mount of its
# root), empty when there is none. CONTROLLER may be name=systemd.
cg_v1_mount() {
  awk -v c="$1" '{
    i = index($0, " - "); split(substr($0, 1, i - 1), pre, " "); split(substr($0, i + 3), post, " ")
    if (post[1] != "cgroup" || pre[4] != "/") next
    n = split(post[3], o, ","); for (k = 1; k <= n; k++) if (o[k] == c) { print pre[5]; exit }
  }' /proc/self/mountinfo
}

# cg_v2_mount: mount point of the cgroup2 tree (a mount of its root), empty when none.
cg_v2_mount() {
  awk '{
    i = index($0, " - "); split(substr($0, 1, i - 1), pre, " "); split(substr($0, i + 3), post, " ")
    if (post[1] == "cgroup2" && pre[4] == "/") { print pre[5]; exit }
  }' /proc/self/mountinfo
}

# cg_is_v1 CONTROLLER: the controller is on a mounted v1 hierarchy.
cg_is_v1() { [ -n "$(cg_v1_mount "$1")" ]; }

# cg_path_of PID CONTROLLER: the cgroup path (from the hierarchy root) of PID for CONTROLLER:
# its v1 line when CONTROLLER is on v1, else the v2 line.
cg_path_of() {
  local pid=$1 ctrl=$2
  if cg_is_v1 "$ctrl"; then
    awk -v c="$ctrl" -F: '$1 != "0" { n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) {
      sub(/^[^:]*:[^:]*:/, ""); print; exit } }' "/proc/$pid/cgroup"
  else
    awk '/^0::/ { sub(/^0::/, ""); print; exit }' "/proc/$pid/cgroup"
  fi
}

# cg_dir PID CONTROLLER: the directory of PID's cgroup for CONTROLLER (v1 or v2).
cg_dir() {
  local pid=$1 ctrl=$2 mp path
  if cg_is_v1 "$ctrl"; then mp=$(cg_v1_mount "$ctrl"); else mp=$(cg_v2_mount); fi
  path=$(cg_path_of "$pid" "$ctrl")
  [ -n "$mp" ] && [ -n "$path" ] || fail "no cgroup of pid $pid for $ctrl: $(cat "/proc/$pid/cgroup")"
  echo "$mp${path%/}"
}

# cg_file PID CONTROLLER V1FILE V2FILE: the path of the container's file for CONTROLLER on
# whichever layout has the controller.
cg_file() {
  local d
  d=$(cg_dir "$1" "$2")
  if cg_is_v1 "$2"; then echo "$d/$3"; else echo "$d/$4"; fi
}

# cg_read PID CONTROLLER V1FILE V2FILE: the contents of that file (fails when missing).
cg_read() {
  local f
  f=$(cg_file "$@")
  [ -e "$f" ] || fail "cgroup file $f does not exist (container cgroup: $(tr '\n' ' ' <"/proc/$1/cgroup"))"
  cat "$f"
}

# cg_own_dir CONTROLLER: the directory of this shell's cgroup for CONTROLLER (nsbox's own
# cgroup: nsbox runs as our child).
cg_own_dir() { cg_dir $$ "$1"; }
