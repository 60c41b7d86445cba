# cmake --install: the binary and the bash completion in a prefix; the completion itself.

COMPLETION=$SRC_DIR/contrib/completion/nsbox.bash

# completions FILE WORD...: what the completion in FILE offers for the last WORD of the line
# WORD..., one per line (in a bash of its own, as an interactive shell would source it).
completions() {
  local file=$1
  shift
  bash --norc --noprofile -c 'source "$1" && shift && COMP_WORDS=("$@") && COMP_CWORD=$(($# - 1)) &&
    _nsbox && printf "%s\n" "${COMPREPLY[@]}"' completions "$file" "$@"
}

test_install_to_prefix() {
  local build prefix=$TEST_TMP/prefix out
  build=$(dirname "$NSBOX")
  [ -f "$build/cmake_install.cmake" ] || skip "$build is not a CMake build directory"
  command -v cmake >/dev/null || skip "cmake is not installed"
  cmake --install "$build" --prefix "$prefix" >"$TEST_TMP/install.log" 2>&1 ||
    fail "cmake --install failed: $(cat "$TEST_TMP/install.log")"
  [ -x "$prefix/bin/nsbox" ] || fail "no $prefix/bin/nsbox"
  out=$("$prefix/bin/nsbox" --version) || fail "installed nsbox --version failed"
  assert_contains "$out" "nsbox version"
  local comp=$prefix/share/bash-completion/completions/nsbox
  [ -f "$comp" ] || fail "no completion file at $comp"
  cmp -s "$comp" "$COMPLETION" || fail "$comp is not $COMPLETION"
  out=$(PATH=$prefix/bin:$PATH completions "$comp" nsbox cre) || fail "completion failed"
  assert_eq "$out" "create" "completion of 'nsbox cre'"
  out=$(PATH=$prefix/bin:$PATH completions "$comp" nsbox create --bun)
  assert_eq "$out" "--bundle" "completion of 'nsbox create --bun'"
}

# Every command and global option of `nsbox --help` is in the completion file (the unit test
# Completion.KnowsEveryCommandAndFlag checks each command's flags).
test_completion_knows_help() {
  local help out word
  help=$("$NSBOX" --help)
  out=$(completions "$COMPLETION" nsbox -)
  for word in $(printf '%s\n' "$help" | grep -o -- '--[a-z][a-z-]*' | sort -u); do
    printf '%s\n' "$out" | grep -qxF -- "$word" || fail "global option $word is not completed"
  done
  out=$(completions "$COMPLETION" nsbox "")
  for word in $(printf '%s\n' "$help" | sed -n '/^commands:/,/^$/p' | awk 'NF > 1 { print $1 }'); do
    printf '%s\n' "$out" | grep -qxF -- "$word" || fail "command $word is not completed"
  done
  # And each command's help starts as it always has.
  for word in $(printf '%s\n' "$help" | sed -n '/^commands:/,/^$/p' | awk 'NF > 1 { print $1 }'); do
    assert_eq "$("$NSBOX" "$word" --help | head -1 | cut -d' ' -f1-3)" "usage: nsbox $word" "$word --help"
    assert_eq "$("$NSBOX" help "$word")" "$("$NSBOX" "$word" --help)" "nsbox help $word"
  done
}

# Container ids come from `nsbox list -q`, in the state directory of --root when the line has one.
test_completion_container_ids() {
  local b id out
  b=$(make_bundle ids sleep 30)
  id=$(cid ids)
  nsbox create --bundle "$b" "$id" || fail "nsbox create failed"
  out=$(completions "$COMPLETION" "$NSBOX" --root "$TEST_ROOT" start "${id:0:3}")
  assert_eq "$out" "$id" "ids for start with --root DIR"
  out=$(completions "$COMPLETION" "$NSBOX" --root="$TEST_ROOT" kill "")
  assert_eq "$out" "$id" "ids for kill with --root=DIR"
  out=$(completions "$COMPLETION" "$NSBOX" --root "$TEST_ROOT" kill "$id" SIGKI)
  assert_eq "$out" "SIGKILL" "signals for kill"
  out=$(completions "$COMPLETION" "$NSBOX" --root "$TEST_TMP/none" delete "")
  assert_eq "$out" "" "ids of another state directory"
}
