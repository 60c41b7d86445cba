# nsbox's own networks (bridge, leases, NAT, published ports), as a user checks them.
#
# Everything runs inside network namespaces the test makes, never the host's: NET_HOST, the
# "host" that nsbox runs in (its bridges, veths, firewall table and forwarding live there),
# and NET_UP, the outside world, joined to it by a veth (192.0.2.1 there, 192.0.2.2 on the
# host side: TEST-NET-1, the default route of NET_HOST). nsbox, ip and nft run in NET_HOST
# through nsenter; holder processes keep both namespaces, and go with the test.

NET_HOST=
NET_UP=
NET_IP=

# net_setup: the two namespaces, linked; skips where the kernel or tools lack what it needs.
net_setup() {
  command -v nsenter >/dev/null || skip "nsenter is not installed"
  # iproute2's ip (veth peers in another namespace): where busybox's comes first in PATH (the
  # test guests), the other one.
  local c
  NET_IP=
  for c in "$(command -v ip)" /usr/sbin/ip /usr/bin/ip /sbin/ip /bin/ip; do
    if [ -x "$c" ] && "$c" -V 2>/dev/null | grep -q iproute2; then NET_IP=$c && break; fi
  done
  [ -n "$NET_IP" ] || skip "ip of iproute2 is not installed"
  command -v busybox >/dev/null || skip "busybox is not installed (its nc, ping, httpd serve the test's clients and servers)"
  command -v nft >/dev/null || skip "nft is not installed (Debian package nftables)"
  [ -x "$(dirname "$NSBOX")/nsbox-nft" ] || skip "nsbox-nft is not built beside $NSBOX"
  unshare --net -- sleep infinity &
  NET_HOST=$!
  kill_at_exit "$NET_HOST"
  unshare --net -- sleep infinity &
  NET_UP=$!
  kill_at_exit "$NET_UP"
  wait_for "the test's namespaces" sh -c "[ \"\$(readlink /proc/$NET_HOST/ns/net)\" != \"\$(readlink /proc/self/ns/net)\" ] &&
    [ \"\$(readlink /proc/$NET_UP/ns/net)\" != \"\$(readlink /proc/self/ns/net)\" ]"
  # Containers go (inside NET_HOST) before lib.sh's own cleanup, which runs in the host's
  # namespace and must find nothing to do there.
  at_exit net_teardown
  in_host ip link set lo up
  in_up ip link set lo up
  in_host ip link add up0 type veth peer name up1 netns "$NET_UP" || fail "veth between the test's namespaces"
  in_host ip addr add 192.0.2.2/24 dev up0
  in_host ip link set up0 up
  in_host ip route add default via 192.0.2.1
  in_up ip addr add 192.0.2.1/24 dev up1
  in_up ip link set up1 up
}

net_teardown() {
  local id
  for id in $(nsbox_net list -q 2>/dev/null); do nsbox_net delete --force "$id" >/dev/null 2>&1; done
}

# in_host CMD..., in_up CMD...: CMD in the test's host or uplink namespace (`ip`: iproute2's).
in_host() { net_in "$NET_HOST" "$@"; }
in_up() { net_in "$NET_UP" "$@"; }
net_in() {
  local pid=$1
  shift
  if [ "$1" = ip ]; then
    shift
    set -- "$NET_IP" "$@"
  fi
  nsenter -t "$pid" -n -- "$@"
}
# nsbox in the test's host namespace, with its state root.
nsbox_net() { nsenter -t "$NET_HOST" -n -- "$NSBOX" --root "$TEST_ROOT" "$@"; }

# net_bundle NAME NETWORKS [CMD...]: a bundle whose container joins NETWORKS (the
# org.nsbox.network annotation; "" for none) and runs CMD (default: sleep). Prints its dir.
net_bundle() {
  local name=$1 networks=$2 b
  shift 2
  [ $# -gt 0 ] || set -- sleep 1000
  b=$(make_bundle "$name" "$@")
  # busybox ping needs a raw socket, which the default spec's capabilities do not allow.
  edit_config "$b" '.process.capabilities |= with_entries(.value += ["CAP_NET_RAW"])'
  if [ -n "$networks" ]; then
    edit_config "$b" '.annotations["org.nsbox.network"] = $n' --arg n "$networks"
  fi
  echo "$b"
}

# net_run_d NAME BUNDLE [flags]: run -d container $(cid NAME) in NET_HOST.
# (Its output goes to a file: the container keeps nsbox's stdout and stderr.)
net_run_d() {
  local name=$1 b=$2
  shift 2
  nsbox_net run -d "$@" --bundle "$b" "$(cid "$name")" >"$TEST_TMP/$name.run" 2>&1 </dev/null ||
    fail "nsbox run -d $name failed: [$(cat "$TEST_TMP/$name.run")]"
}

# ip_of NAME: the container's address on eth0, as nsbox state reports it.
ip_of() { nsbox_net state "$(cid "$1")" | jq -r '.addresses[0] // empty'; }

# in_ctr NAME CMD...: CMD in container NAME.
in_ctr() {
  local name=$1
  shift
  nsbox_net exec "$(cid "$name")" "$@"
}

# assert_net_clean: nothing of nsbox's is left in NET_HOST but the bridges of the networks
# that still exist: no veth, no lease, no port registration, no published port.
# (A container's veth goes with its network namespace, which the kernel tears down in the
# background once the container's last process has exited: it is waited for.)
net_veths() { in_host ip -br link show type veth | awk '$1 !~ /^(up0|hostdev)/ { print $1 }'; }
no_veths() { [ -z "$(net_veths)" ]; }
assert_net_clean() {
  local leases ports
  wait_for "the containers' veths to go with their namespaces" no_veths
  leases=$(find "$TEST_ROOT/@networks" -path '*.leases/*' -type f ! -name '.*' 2>/dev/null || true)
  [ -z "$leases" ] || fail "leases left: $leases"
  ports=$(find "$TEST_ROOT/@networks/@ports" -type f 2>/dev/null || true)
  [ -z "$ports" ] || fail "port registrations left: $ports"
  if in_host nft list map inet nsbox ports >/dev/null 2>&1; then
    [ -z "$(in_host nft -j list map inet nsbox ports | jq -c '.nftables[] | select(.map) | .map.elem // empty')" ] ||
      fail "published ports left in the firewall: $(in_host nft list map inet nsbox ports)"
  fi
}

test_two_containers_on_one_network_reach_each_other_and_the_host() {
  net_setup
  local b
  b=$(net_bundle a nsbox)
  net_run_d a "$b"
  net_run_d b "$b"
  local ia ib
  ia=$(ip_of a)
  ib=$(ip_of b)
  [[ $ia == 10.77.* ]] || fail "address of a: [$ia] (the default network is 10.77.0.0/16)"
  [[ $ib == 10.77.* ]] || fail "address of b: [$ib]"
  assert_ne "$ia" "$ib" "the two containers' addresses"
  # What the container sees: eth0 with its address, a default route via the gateway.
  assert_contains "$(in_ctr a ip -4 addr show dev eth0)" "inet $ia/16" "eth0 of a"
  assert_contains "$(in_ctr a ip route)" "default via 10.77.0.1 dev eth0" "routes of a"
  in_ctr a ping -c 1 -W 5 "$ib" >/dev/null || fail "a cannot ping b ($ib)"
  in_ctr b ping -c 1 -W 5 "$ia" >/dev/null || fail "b cannot ping a ($ia)"
  in_host busybox ping -c 1 -W 5 "$ia" >/dev/null || fail "the host cannot ping a ($ia)"
  # list shows the addresses, as lxc-ls -f does.
  local list
  list=$(nsbox_net list)
  assert_contains "$(head -1 <<<"$list")" "IPS" "list header"
  assert_contains "$(grep "$(cid a)" <<<"$list")" "$ia" "list row of a"
  assert_eq "$(nsbox_net list --format json | jq -r --arg id "$(cid b)" '.[] | select(.id == $id) | .addresses[0]')" "$ib" "list --format json of b"
  nsbox_net delete --force "$(cid a)"
  nsbox_net delete --force "$(cid b)"
  assert_no_leftovers "$(cid a)"
  assert_no_leftovers "$(cid b)"
  assert_net_clean
}

test_nat_to_the_uplink_shows_the_hosts_address() {
  net_setup
  local b out www=$TEST_TMP/www
  b=$(net_bundle n nsbox)
  net_run_d n "$b"
  out=$(in_ctr n sh -c 'ping -c 1 -W 5 192.0.2.1 >/dev/null && echo reached') || true
  assert_eq "$out" reached "the container reaches the uplink (192.0.2.1)"
  # A web server on the uplink tells each client the address it came from (CGI's
  # REMOTE_ADDR): the container's requests arrive from the host's address (masquerade).
  mkdir -p "$www/cgi-bin"
  printf '#!/bin/sh\necho "Content-Type: text/plain"\necho\necho "peer=$REMOTE_ADDR"\n' >"$www/cgi-bin/peer"
  chmod 755 "$www/cgi-bin/peer"
  # (nsenter execs httpd: $! is the server's pid. Its output goes nowhere: a server holding
  # the test's stdout would keep ctest waiting.)
  nsenter -t "$NET_UP" -n -- busybox httpd -f -p 192.0.2.1:7001 -h "$www" >/dev/null 2>&1 </dev/null &
  kill_at_exit $!
  wait_for "the uplink's web server" sh -c "nsenter -t $NET_UP -n -- busybox netstat -ltn | grep -q '192.0.2.1:7001 '"
  out=$(in_ctr n sh -c 'printf "GET /cgi-bin/peer HTTP/1.0\r\n\r\n" | nc -w 5 192.0.2.1 7001' 2>&1) || true
  assert_eq "$(tr -d '\r' <<<"$out" | grep '^peer=')" "peer=192.0.2.2" "the address the uplink sees (reply [$out])"
  nsbox_net delete --force "$(cid n)"
  assert_no_leftovers "$(cid n)"
  assert_net_clean
}

# served_from PID: a connection from the network namespace of PID to 192.0.2.2:8080 is
# answered by the container's server.
served_from() { [ "$(nsenter -t "$1" -n -- busybox nc -w 3 192.0.2.2 8080 </dev/null 2>/dev/null)" = served-by-container ]; }

test_published_port_answers_from_uplink_and_host_address() {
  net_setup
  local b
  b=$(net_bundle web nsbox sh -c 'while :; do echo served-by-container | nc -l -p 80; done')
  net_run_d web "$b" --publish 8080:80
  assert_eq "$(jq -r '.annotations["org.nsbox.publish"]' "$b/config.json")" null "the bundle is not written"
  local out
  wait_for "the container's server" sh -c "nsenter -t $NET_HOST -n -- '$NSBOX' --root '$TEST_ROOT' exec $(cid web) netstat -ltn | grep -q ':80 '"
  # From the uplink, to the host's uplink address; then from the host itself, on one of its
  # own non-loopback addresses. (The container's server answers one connection at a time and
  # starts again: a client may come between two of them, so each tries until it is served.)
  wait_for "port 8080 from the uplink" served_from "$NET_UP"
  wait_for "port 8080 from the host on 192.0.2.2" served_from "$NET_HOST"
  # A second container cannot publish the same port: one line naming the annotation.
  local b2 err rc=0
  b2=$(net_bundle web2 nsbox)
  edit_config "$b2" '.annotations["org.nsbox.publish"] = "9090:90,8080:80"'
  nsbox_net run -d --bundle "$b2" "$(cid web2)" >"$TEST_TMP/web2.run" 2>&1 </dev/null || rc=$?
  err=$(cat "$TEST_TMP/web2.run")
  [ "$rc" -ne 0 ] || fail "a second publisher of 8080/tcp was accepted"
  assert_eq "$err" "nsbox: $b2/config.json: annotations[\"org.nsbox.publish\"][1]: port 8080/tcp is already published by container $(cid web)" "the error"
  assert_no_leftovers "$(cid web2)"
  [ ! -e "$TEST_ROOT/@networks/@ports/tcp-9090" ] || fail "the refused container left its port 9090 registered"
  nsbox_net delete --force "$(cid web)"
  assert_no_leftovers "$(cid web)"
  assert_net_clean
  out=$(in_up busybox nc -w 2 192.0.2.2 8080 </dev/null 2>&1) || true
  assert_not_contains "$out" served-by-container "port 8080 after delete"
}

test_networks_are_isolated_unless_a_container_joins_both() {
  net_setup
  nsbox_net network create red --subnet 10.31.1.0/24 >/dev/null || fail "network create red"
  nsbox_net network create blue --subnet 10.31.2.0/24 >/dev/null || fail "network create blue"
  net_run_d r "$(net_bundle r red)"
  net_run_d bl "$(net_bundle bl blue)"
  net_run_d both "$(net_bundle both red,blue)"
  local ir ibl
  ir=$(ip_of r)
  ibl=$(ip_of bl)
  [[ $ir == 10.31.1.* ]] || fail "address of r on red: [$ir]"
  [[ $ibl == 10.31.2.* ]] || fail "address of bl on blue: [$ibl]"
  if in_ctr r ping -c 1 -W 2 "$ibl" >/dev/null 2>&1; then fail "red reached blue"; fi
  if in_ctr bl ping -c 1 -W 2 "$ir" >/dev/null 2>&1; then fail "blue reached red"; fi
  assert_contains "$(in_ctr both ip -4 addr show dev eth1)" "inet 10.31.2." "eth1 of the container on both networks"
  in_ctr both ping -c 1 -W 5 "$ir" >/dev/null || fail "the container on both cannot reach red"
  in_ctr both ping -c 1 -W 5 "$ibl" >/dev/null || fail "the container on both cannot reach blue"
  # A network in use is not removed.
  local err rc=0
  err=$(nsbox_net network rm red 2>&1) || rc=$?
  [ "$rc" -ne 0 ] || fail "network rm of a network in use succeeded"
  assert_contains "$err" "network \"red\" is in use by container" "the error"
  for id in r bl both; do nsbox_net delete --force "$(cid $id)"; done
  nsbox_net network rm red blue || fail "network rm red blue"
  assert_eq "$(nsbox_net network ls -q)" "" "networks after rm"
  in_host ip link show nsb-red >/dev/null 2>&1 && fail "the bridge of red is left"
  assert_net_clean
}

test_last_address_of_a_small_network_goes_to_one_of_two_racing_creates() {
  net_setup
  # A /30: the gateway .1 and one container address, .2.
  nsbox_net network create tiny --subnet 10.31.9.0/30 >/dev/null || fail "network create tiny"
  local b1 b2 rc1=0 rc2=0
  b1=$(net_bundle r1 tiny)
  b2=$(net_bundle r2 tiny)
  nsbox_net run -d --bundle "$b1" "$(cid r1)" >"$TEST_TMP/r1.out" 2>&1 </dev/null &
  local p1=$!
  nsbox_net run -d --bundle "$b2" "$(cid r2)" >"$TEST_TMP/r2.out" 2>&1 </dev/null &
  local p2=$!
  wait "$p1" || rc1=$?
  wait "$p2" || rc2=$?
  if [ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ]; then fail "both containers got an address in a /30"; fi
  if [ "$rc1" -ne 0 ] && [ "$rc2" -ne 0 ]; then fail "neither got one: [$(cat "$TEST_TMP/r1.out")] [$(cat "$TEST_TMP/r2.out")]"; fi
  local loser=r1
  [ "$rc1" -eq 0 ] && loser=r2
  assert_contains "$(cat "$TEST_TMP/$loser.out")" "no free address in 10.31.9.0/30" "the loser's error"
  assert_no_leftovers "$(cid $loser)"
  nsbox_net delete --force "$(cid r1)" 2>/dev/null || true
  nsbox_net delete --force "$(cid r2)" 2>/dev/null || true
  assert_net_clean
}

test_bad_network_requests_are_one_line_errors_leaving_nothing() {
  net_setup
  local b err rc
  nsbox_net network create used --subnet 10.31.4.0/24 >/dev/null || fail "network create used"
  # Each case: the annotations, the error.
  check_refused() {
    local name=$1 filter=$2 want=$3 others=${4:-}
    b=$(net_bundle "$name" "")
    edit_config "$b" "$filter"
    rc=0
    nsbox_net run -d --bundle "$b" "$(cid "$name")" >"$TEST_TMP/$name.run" 2>&1 </dev/null || rc=$?
    err=$(cat "$TEST_TMP/$name.run")
    [ "$rc" -ne 0 ] || fail "$name: accepted"
    assert_eq "$err" "nsbox: $b/config.json: $want" "$name: the error"
    assert_no_leftovers "$(cid "$name")"
    [ -n "$others" ] || assert_net_clean
  }
  check_refused unknown '.annotations["org.nsbox.network"] = "nosuch"' \
    'annotations["org.nsbox.network"][0]: unknown network "nosuch" (nsbox network ls lists them)'
  check_refused outside '.annotations["org.nsbox.network"] = "used:ip=10.31.5.9"' \
    'annotations["org.nsbox.network"][0]: address 10.31.5.9 is not in network used (10.31.4.0/24)'
  check_refused badport '.annotations["org.nsbox.network"] = "used" | .annotations["org.nsbox.publish"] = "80:80,99999:1"' \
    'annotations["org.nsbox.publish"][1]: "99999:1" is not HOST:CONTAINER[/tcp|udp] with ports 1 to 65535'
  check_refused hostnet '.annotations["org.nsbox.network"] = "used" | .linux.namespaces |= map(select(.type != "network"))' \
    'annotations["org.nsbox.network"]: nsbox'"'"'s networks need a network namespace of the container'"'"'s own (linux.namespaces: "network" without a path)'
  # An address taken by a live container.
  net_run_d holder "$(net_bundle holder used:ip=10.31.4.7)"
  check_refused taken '.annotations["org.nsbox.network"] = "used:ip=10.31.4.7"' \
    "annotations[\"org.nsbox.network\"][0]: address 10.31.4.7 is taken by container $(cid holder)" holder
  assert_eq "$(find "$TEST_ROOT/@networks/used.leases" -type f ! -name '.*' -printf '%f ')" "10.31.4.7 " "leases while holder runs"
  nsbox_net delete --force "$(cid holder)"
  assert_net_clean
  # network create: overlapping subnets and routes.
  rc=0
  err=$(nsbox_net network create other --subnet 10.31.4.128/25 2>&1) || rc=$?
  [ "$rc" -ne 0 ] || fail "an overlapping subnet was accepted"
  assert_eq "$err" 'nsbox: subnet 10.31.4.128/25 overlaps network "used" (10.31.4.0/24)' "overlap error"
  rc=0
  err=$(nsbox_net network create route --subnet 192.0.2.0/25 2>&1) || rc=$?
  [ "$rc" -ne 0 ] || fail "a subnet over the host's route was accepted"
  assert_eq "$err" "nsbox: subnet 192.0.2.0/25 overlaps the host's route to 192.0.2.0/24 on up0" "route overlap error"
  assert_eq "$(nsbox_net network ls -q)" used "networks after the refused creates"
  nsbox_net network rm used
  assert_net_clean
}

test_delete_force_after_sigkill_at_any_point_of_create_leaves_nothing() {
  net_setup
  local b i id delay
  b=$(net_bundle k nsbox)
  edit_config "$b" '.annotations["org.nsbox.publish"] = "8088:80"'
  # nsbox is killed ever later during create; delete --force then leaves nothing.
  for i in 1 2 3 4 5 6 7 8; do
    id=$(cid "k$i")
    delay=$(awk -v i="$i" 'BEGIN { printf "%.3f", i * 0.004 }')
    nsenter -t "$NET_HOST" -n -- "$NSBOX" --root "$TEST_ROOT" create --bundle "$b" "$id" </dev/null >/dev/null 2>&1 &
    local p=$!
    sleep "$delay"
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    nsbox_net delete --force "$id" >/dev/null 2>&1 || true
    [ ! -e "$TEST_ROOT/$id" ] || fail "state of $id left after delete --force (killed after ${delay}s)"
    assert_no_leftovers "$id"
    assert_net_clean
  done
}

test_resolv_conf_and_hosts_are_bound_not_written() {
  net_setup
  local b out root=$TEST_TMP/etcroot
  # A rootfs with the two files (the shared busybox one has neither), which must not change.
  cp -a "$(shared_rootfs)" "$root"
  printf '127.0.0.1 localhost\n' >"$root/etc/hosts"
  printf 'nameserver 198.51.100.1\n' >"$root/etc/resolv.conf"
  b=$(net_bundle dns nsbox sh -c 'cat /etc/resolv.conf; echo ---; cat /etc/hosts; echo x >>/etc/hosts && echo wrote')
  edit_config "$b" '.root.path = $r | .annotations["org.nsbox.dns"] = "192.0.2.53" | .hostname = "dnsbox"' --arg r "$root"
  out=$(nsbox_net run --bundle "$b" "$(cid dns)" 2>&1 </dev/null) || true
  assert_contains "$out" "nameserver 192.0.2.53" "/etc/resolv.conf in the container"
  assert_not_contains "$out" "198.51.100.1" "/etc/resolv.conf in the container"
  assert_contains "$out" "dnsbox" "/etc/hosts in the container names its host"
  assert_not_contains "$out" "wrote" "a write to the bound /etc/hosts"
  assert_eq "$(cat "$root/etc/hosts")" "127.0.0.1 localhost" "the rootfs's /etc/hosts"
  assert_eq "$(cat "$root/etc/resolv.conf")" "nameserver 198.51.100.1" "the rootfs's /etc/resolv.conf"
  # Without the files in the rootfs, nothing is bound and nothing is made there.
  b=$(net_bundle nofiles nsbox sh -c 'ls /etc/hosts /etc/resolv.conf 2>&1; true')
  edit_config "$b" '.annotations["org.nsbox.dns"] = "192.0.2.53"'
  out=$(nsbox_net run --bundle "$b" "$(cid nofiles)" 2>&1 </dev/null) || fail "run failed: [$out]"
  assert_contains "$out" "No such file or directory" "a rootfs without /etc/hosts"
  assert_no_leftovers "$(cid dns)"
  assert_no_leftovers "$(cid nofiles)"
  assert_net_clean
}

test_no_network_annotation_changes_nothing() {
  net_setup
  local b out
  b=$(net_bundle plain "" sh -c 'ls /sys/class/net | tr "\n" " "')
  out=$(nsbox_net run --bundle "$b" "$(cid plain)" 2>&1 </dev/null) || fail "run failed: [$out]"
  assert_eq "$out" "lo " "interfaces of a container that asked for no network"
  [ ! -e "$TEST_ROOT/@networks" ] || fail "the networks directory was made for a container without networks"
  if in_host nft list table inet nsbox >/dev/null 2>&1; then fail "nsbox's firewall table was made"; fi
  assert_no_leftovers "$(cid plain)"
}

test_cni_network_from_a_conflist() {
  net_setup
  [ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/portmap ] ||
    skip "Debian's CNI plugins are not installed (containernetworking-plugins)"
  local conf=$TEST_TMP/cni b out
  mkdir -p "$conf"
  jq -n --arg data "$TEST_TMP/cni-data" '{cniVersion: "1.0.0", name: "cnitest", plugins: [
      {type: "bridge", bridge: "cnibr0", isGateway: true, ipMasq: false,
       ipam: {type: "host-local", dataDir: $data, ranges: [[{subnet: "10.32.0.0/24"}]],
              routes: [{dst: "0.0.0.0/0"}]}},
      {type: "portmap", capabilities: {portMappings: true}}]}' >"$conf/10-cnitest.conflist"
  b=$(net_bundle c cnitest sh -c 'while :; do echo from-cni | nc -l -p 80; done')
  nsbox_net --cni-config-dir "$conf" run -d --publish 8081:80 --bundle "$b" "$(cid c)" >"$TEST_TMP/c.run" 2>&1 </dev/null ||
    fail "run on a CNI network failed: [$(cat "$TEST_TMP/c.run")]"
  local ip
  ip=$(ip_of c)
  [[ $ip == 10.32.0.* ]] || fail "address from host-local: [$ip]"
  assert_contains "$(in_ctr c ip -4 addr show dev eth0)" "inet $ip/24" "eth0 of the container"
  [ -e "$TEST_TMP/cni-data/cnitest/$ip" ] || fail "host-local's lease of $ip is not in its data directory"
  in_host busybox ping -c 1 -W 5 "$ip" >/dev/null || fail "the host cannot ping the container on the CNI bridge"
  # check and delete find the configuration where create found it, without the flag.
  nsbox_net network check "$(cid c)" 2>"$TEST_TMP/check.err" ||
    echo "network check: $(cat "$TEST_TMP/check.err") (Debian 12's portmap fails CHECK without IPv6: containernetworking/plugins#819)"
  nsbox_net delete --force "$(cid c)"
  [ ! -e "$TEST_TMP/cni-data/cnitest/$ip" ] || fail "host-local's lease of $ip is left after delete"
  assert_no_leftovers "$(cid c)"
  assert_net_clean
  # A plugin that fails: a one-line error naming the network, and nothing left.
  jq '.plugins[0].ipam.ranges = [[{subnet: "10.32.1.0/24", gateway: "10.32.2.1"}]] | .name = "broken"' \
    "$conf/10-cnitest.conflist" >"$conf/20-broken.conflist"
  b=$(net_bundle bad broken)
  local rc=0
  nsbox_net --cni-config-dir "$conf" run -d --bundle "$b" "$(cid bad)" >"$TEST_TMP/bad.run" 2>&1 </dev/null || rc=$?
  [ "$rc" -ne 0 ] || fail "a failing CNI plugin was not an error"
  out=$(cat "$TEST_TMP/bad.run")
  [ "$(wc -l <<<"$out")" -eq 1 ] || fail "not one line: [$out]"
  assert_contains "$out" 'network "broken"' "the error names the network"
  assert_no_leftovers "$(cid bad)"
  assert_net_clean
}

test_net_devices_move_a_host_interface_in() {
  net_setup
  local b out
  # One end of a veth pair the test makes stands for the host's device (no dummy driver here).
  in_host ip link add hostdev0 mtu 1400 type veth peer name hostdev1
  in_host ip addr add 192.0.2.77/32 dev hostdev0
  in_host ip addr add 169.254.7.7/16 scope link dev hostdev0
  in_host ip link set hostdev0 address 02:00:00:00:07:07
  b=$(net_bundle nd "" sh -c 'ip addr show dev ctr0; sleep 1000')
  edit_config "$b" '.linux.netDevices = {"hostdev0": {"name": "ctr0"}}'
  net_run_d nd "$b"
  out=$(in_ctr nd ip addr show dev ctr0) || fail "no ctr0 in the container"
  assert_contains "$out" "inet 192.0.2.77/32" "the device's global address"
  assert_not_contains "$out" "169.254.7.7" "the device's link-scope address"
  assert_contains "$out" "mtu 1400" "the device's mtu"
  assert_contains "$out" "02:00:00:00:07:07" "the device's address"
  assert_contains "$out" ",UP" "the device is up"
  in_host ip link show hostdev0 >/dev/null 2>&1 && fail "hostdev0 is still on the host"
  nsbox_net delete --force "$(cid nd)"
  assert_no_leftovers "$(cid nd)"
  # A device that is not there: runc's error, nothing left.
  b=$(net_bundle nd2 "")
  edit_config "$b" '.linux.netDevices = {"nosuch0": {}}'
  local rc=0
  nsbox_net run -d --bundle "$b" "$(cid nd2)" >"$TEST_TMP/nd2.run" 2>&1 </dev/null || rc=$?
  [ "$rc" -ne 0 ] || fail "a missing device was accepted"
  assert_contains "$(cat "$TEST_TMP/nd2.run")" "link not found for interface nosuch0 on runtime namespace" "the error"
  assert_no_leftovers "$(cid nd2)"
  # Without a network namespace of its own: refused at once.
  # (The pair of hostdev0 went with the container's namespace: a virtual device is destroyed.)
  in_host ip link show hostdev1 >/dev/null 2>&1 && fail "the veth moved in outlived the container's namespace"
  in_host ip link add hostdev2 type veth peer name hostdev3
  b=$(net_bundle nd3 "")
  edit_config "$b" '.linux.netDevices = {"hostdev2": {}} | .linux.namespaces |= map(select(.type != "network"))'
  rc=0
  nsbox_net run -d --bundle "$b" "$(cid nd3)" >"$TEST_TMP/nd3.run" 2>&1 </dev/null || rc=$?
  [ "$rc" -ne 0 ] || fail "netDevices without a network namespace was accepted"
  assert_eq "$(cat "$TEST_TMP/nd3.run")" "nsbox: $b/config.json: linux.netDevices: unable to move network devices without a NET namespace" "the error"
  in_host ip link show hostdev2 >/dev/null || fail "hostdev2 left the host"
}

test_system_container_joins_the_default_network() {
  local b ia
  net_setup
  # spec --system asks for nsbox's default network (unless --network none); run here as a
  # plain process on the busybox rootfs, which has no init to boot.
  b=$TEST_TMP/system
  mkdir -p "$b"
  "$NSBOX" spec --system --bundle "$b" || fail "spec --system"
  assert_eq "$(jq -r '.annotations["org.nsbox.network"]' "$b/config.json")" nsbox "the network annotation of spec --system"
  edit_config "$b" '.root.path = $r | .root.readonly = true | .process.terminal = false | .process.args = ["sleep", "1000"]' --arg r "$(shared_rootfs)"
  net_run_d sys "$b"
  ia=$(ip_of sys)
  [[ $ia == 10.77.* ]] || fail "address of the system container: [$ia]"
  assert_contains "$(in_ctr sys ip -4 addr show dev eth0)" "inet $ia/16" "eth0"
  nsbox_net delete --force "$(cid sys)"
  assert_no_leftovers "$(cid sys)"
  assert_net_clean
  mkdir -p "$TEST_TMP/none"
  "$NSBOX" spec --system --network none --bundle "$TEST_TMP/none" || fail "spec --system --network none"
  assert_eq "$(jq -r '.annotations["org.nsbox.network"] // "absent"' "$TEST_TMP/none/config.json")" absent "the network annotation of spec --system --network none"
}
