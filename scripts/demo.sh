#!/usr/bin/env bash
# Install what is missing, build nsbox, make a busybox root filesystem and run a container
# that shows its isolation: its own hostname, pid 1, its own mount tree, only `lo`.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "demo: run as root" >&2; exit 1; }
"$top/scripts/deps.sh"
"$top/scripts/build.sh"
nsbox=$top/build/nsbox
bundle=$top/build/demo
mkdir -p "$bundle"
"$top/scripts/mkrootfs.sh" "$bundle/rootfs"
rm -f "$bundle/config.json"
"$nsbox" spec --bundle "$bundle"
cat >"$bundle/rootfs/demo.sh" <<'DEMO'
echo "hostname:  $(hostname)   (the host's is HOSTNAME_OF_HOST)"
echo "my pid:    $$"
echo "processes: $(ls -d /proc/[0-9]* | tr '\n' ' ')"
echo "network:   $(ip -o link show | awk '{print $2, $3}')"
echo "mounts:    $(wc -l </proc/self/mounts) in my own tree (the host has HOST_MOUNTS): $(awk '{print $2}' /proc/self/mounts | head -8 | tr '\n' ' ')..."
DEMO
sed -i "s/HOSTNAME_OF_HOST/$(hostname)/; s/HOST_MOUNTS/$(wc -l </proc/self/mounts)/" "$bundle/rootfs/demo.sh"
jq '.process.terminal = false | .hostname = "demo-box" | .process.args = ["sh", "/demo.sh"]' \
  "$bundle/config.json" >"$bundle/config.json.new"
mv "$bundle/config.json.new" "$bundle/config.json"
echo "+ nsbox run --bundle $bundle demo-$$"
exec "$nsbox" run --bundle "$bundle" "demo-$$"
