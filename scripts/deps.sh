#!/usr/bin/env bash
# Install the Debian 12 packages nsbox needs to build and test, only those missing.
# usage: scripts/deps.sh [extra packages...]   (scripts/test.sh adds what the tests use)
set -euo pipefail
pkgs=(g++ cmake ninja-build pkg-config libcap-dev libseccomp-dev libsystemd-dev libnl-route-3-dev libnftables-dev nlohmann-json3-dev libgtest-dev protobuf-c-compiler libprotobuf-c-dev criu
      busybox-static jq iproute2 util-linux procps "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
