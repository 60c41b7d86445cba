# shellcheck shell=bash
# Sourced: the host's configured Debian mirrors, for mmdebstrap builds from the same mirror.
# host_sources: one "URI SUITE" line per deb source in /etc/apt/sources.list and
# sources.list.d (one-line and deb822 files).
host_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -n 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]\+\)[[:space:]]\+\([^[:space:]]\+\).*/\2 \3/p' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'function flush() { if (deb && uris != "" && suites != "") { n = split(uris, u, " "); m = split(suites, s, " ");
           for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j] } deb = 0; uris = ""; suites = "" }
         /^[[:space:]]*$/ { flush(); next }
         /^[[:space:]]*#/ { next }
         tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
         tolower($1) == "uris:" { $1 = ""; uris = $0 }
         tolower($1) == "suites:" { $1 = ""; suites = $0 }
         END { flush() }' "$f"
  done
}

# mirror_lines SUITE: sets MIRROR (the host's mirror for SUITE) and MIRROR_LINES, mmdebstrap's
# source lines for SUITE, its updates and security; fails if the host has no source for SUITE.
mirror_lines() {
  local suite=$1 sources security
  sources=$(host_sources)
  MIRROR=$(awk -v s="$suite" '$2 == s {print $1; exit}' <<<"$sources")
  security=$(awk -v s="$suite-security" '$2 == s {print $1; exit}' <<<"$sources")
  [ -n "$MIRROR" ] || return 1
  MIRROR_LINES=("deb $MIRROR $suite main" "deb $MIRROR $suite-updates main")
  [ -z "$security" ] || MIRROR_LINES+=("deb $security $suite-security main")
}
