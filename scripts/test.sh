#!/usr/bin/env bash
# Install what is missing, build, and run every test (unit and integration, as root).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$top/scripts/deps.sh"
"$top/scripts/build.sh"
cd "$top/build"
ctest --output-on-failure -j2 "$@"
