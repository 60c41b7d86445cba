#!/usr/bin/env bash
# run_one.sh SCRIPT FUNCTION: run one integration test function in a fresh environment.
# Exit 0 pass, 77 skip (reason printed), anything else fail.
set -euo pipefail
script=$1
fn=$2
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "SKIP: integration tests need root"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }
# shellcheck source=lib.sh
source "$SRC_DIR/tests/integration/lib.sh"
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/nsbox-test.XXXXXX")
TEST_ROOT=$TEST_TMP/state
trap _cleanup EXIT
# shellcheck disable=SC1090
source "$script"
"$fn"
echo "PASS: $fn"
