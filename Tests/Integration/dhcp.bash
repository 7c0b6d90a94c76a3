# Sourced (after common.bash, and kernel.bash when a kernel boots) by the tests that run Skiff's DHCP
# client against a real DHCP server, dnsmasq (dhcp-hosted.sh, kernel-dhcp.sh). Not a test itself.
#
#   Skiff (tap0) ─┐                      R1: 198.18.0.2 ── 192.0.2.1    ── T1: 192.0.2.10
#                 ├─ br0: 198.18.0.1 ──┤
#   dnsmasq on br0┘                      R2: 198.18.0.3 ── 198.51.100.1 ── T2: 198.51.100.10
#
# Everything lives in namespaces made here ($NS holds the bridge, the TAP device and dnsmasq; the
# routers and targets have their own), deleted on every exit path with dnsmasq stopped by its PID.
# dnsmasq hands out 198.18.0.100-150 for 2 minutes (its minimum) with T1 20 s and T2 40 s,
# option 3 = R2, option 121 = default via R1 plus 198.51.100.0/24 via R2, DNS 198.18.0.1, search
# skiff.test and MTU 1400. Neither router has a route to the other's far network, so T1 reaches
# Skiff only if Skiff answers through R1, and T2 only through R2.
#
# Set DHCP_LOG to the file Skiff's console goes to before calling wait_for_line/line_count.

install_if_missing dnsmasq dnsmasq

DHCP_SUFFIX=$$
R1="skf-dhcp-r1-$DHCP_SUFFIX"
R2="skf-dhcp-r2-$DHCP_SUFFIX"
T1="skf-dhcp-t1-$DHCP_SUFFIX"
T2="skf-dhcp-t2-$DHCP_SUFFIX"
DNSMASQ_PID=""
PING_PIDS=()
DNSMASQ_LOG="$WORKDIR/dnsmasq.log"
DHCP_LOG=""
# The EXIT handler that runs after ours (common.bash's cleanup, or kernel.bash's finish_kernel_test).
: "${DHCP_NEXT_CLEANUP:=cleanup}"

dhcp_cleanup() {
    local status=$?
    # Under errexit the `(exit "$status")` below would end the shell before the next handler runs.
    set +e
    for pid in "${PING_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [[ -n "$DNSMASQ_PID" ]]; then kill "$DNSMASQ_PID" 2>/dev/null || true; wait "$DNSMASQ_PID" 2>/dev/null || true; fi
    if [[ $status -ne 0 && $status -ne 77 && -s "$DNSMASQ_LOG" ]]; then
        echo "--- dnsmasq log (last 30 lines) ---"
        tail -n 30 "$DNSMASQ_LOG"
    fi
    for ns in "$R1" "$R2" "$T1" "$T2"; do ip netns del "$ns" 2>/dev/null || true; done
    (exit "$status")
    "$DHCP_NEXT_CLEANUP"
}
trap dhcp_cleanup EXIT

# make_dhcp_network: the namespaces, the bridge with tap0 ($TAP), the routers and the targets.
make_dhcp_network() {
    NS="skf-it-${TEST_NAME}-$DHCP_SUFFIX"
    local ns
    for ns in "$NS" "$R1" "$R2" "$T1" "$T2"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
    done
    ip -n "$NS" link add br0 type bridge forward_delay 0
    ip -n "$NS" addr add 198.18.0.1/24 dev br0
    ip -n "$NS" link set br0 up
    ip -n "$NS" tuntap add dev "$TAP" mode tap
    ip -n "$NS" link set "$TAP" master br0
    ip -n "$NS" link set "$TAP" up
    dhcp_router port1 "$R1" 198.18.0.2 192.0.2.1/24 "$T1" 192.0.2.10
    dhcp_router port2 "$R2" 198.18.0.3 198.51.100.1/24 "$T2" 198.51.100.10
}

# dhcp_router PORT ROUTER LAN-ADDRESS FAR-ADDRESS/PREFIX TARGET TARGET-ADDRESS
dhcp_router() {
    local port=$1 r=$2 lan=$3 far=$4 t=$5 target=$6
    ip -n "$NS" link add "$port" type veth peer name lan netns "$r"
    ip -n "$NS" link set "$port" master br0
    ip -n "$NS" link set "$port" up
    ip -n "$r" addr add "$lan/24" dev lan
    ip -n "$r" link set lan up
    ip -n "$r" link add far type veth peer name wan netns "$t"
    ip -n "$r" addr add "$far" dev far
    ip -n "$r" link set far up
    ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1
    ip -n "$t" addr add "$target/24" dev wan
    ip -n "$t" link set dev wan up
    ip -n "$t" route add default via "${far%/*}"
}

start_dnsmasq() {
    ip netns exec "$NS" dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 --user=root \
        --interface=br0 --bind-interfaces --dhcp-authoritative --no-ping --log-dhcp \
        --log-facility="$DNSMASQ_LOG" --dhcp-leasefile="$WORKDIR/dnsmasq.leases" \
        --pid-file="$WORKDIR/dnsmasq.pid" \
        --dhcp-range=198.18.0.100,198.18.0.150,255.255.255.0,2m \
        --dhcp-option=option:T1,20 --dhcp-option=option:T2,40 \
        --dhcp-option=option:router,198.18.0.3 \
        --dhcp-option=121,0.0.0.0/0,198.18.0.2,198.51.100.0/24,198.18.0.3 \
        --dhcp-option=option:dns-server,198.18.0.1 --dhcp-option=option:domain-search,skiff.test \
        --dhcp-option=option:mtu,1400 &
    DNSMASQ_PID=$!
    sleep 0.5
    running "$DNSMASQ_PID" || fail "dnsmasq did not start: $(tail -n 5 "$DNSMASQ_LOG" 2>/dev/null)"
}

stop_dnsmasq() {
    kill -TERM "$DNSMASQ_PID"
    wait "$DNSMASQ_PID" 2>/dev/null || true
    DNSMASQ_PID=""
}

# line_count REGEX: lines of $DHCP_LOG matching the extended REGEX (CRs of a serial console ignored).
line_count() { tr -d '\r' <"$DHCP_LOG" | grep -Ec -- "$1" || true; }

# has_line REGEX
has_line() { tr -d '\r' <"$DHCP_LOG" | grep -Eq -- "$1"; }

# wait_for_line REGEX SECONDS PID: fails unless a line matches within SECONDS while PID runs.
wait_for_line() {
    local pattern=$1 limit=$2 pid=$3
    for _ in $(seq $((limit * 10))); do
        has_line "$pattern" && return 0
        running "$pid" || fail "Skiff exited while waiting for /$pattern/"
        sleep 0.1
    done
    fail "no line /$pattern/ within $limit s"
}

# wait_for_more REGEX BEFORE SECONDS PID: until more than BEFORE lines match.
wait_for_more() {
    local pattern=$1 before=$2 limit=$3 pid=$4
    for _ in $(seq $((limit * 10))); do
        (( $(line_count "$pattern") > before )) && return 0
        running "$pid" || fail "Skiff exited while waiting for another /$pattern/"
        sleep 0.1
    done
    fail "no further line /$pattern/ within $limit s"
}

# The IPv4 datagrams a namespace has forwarded (ForwDatagrams of /proc/net/snmp, per namespace).
forwarded() { ip netns exec "$1" awk '/^Ip: [0-9]/ { print $7 }' /proc/net/snmp; }

# check_lease IFACE: the lease line and what it configured; sets ADDRESS, LEASE, RENEW, REBIND.
check_lease() {
    local iface=$1 lease_line
    lease_line=$(tr -d '\r' <"$DHCP_LOG" | grep -m1 "^dhcp: $iface lease ")
    log "$lease_line"
    [[ $lease_line =~ ^dhcp:\ $iface\ lease\ (198\.18\.0\.[0-9]+)/24\ from\ 198\.18\.0\.1\ for\ ([0-9]+)\ s\ \(renew\ ([0-9]+)\ s,\ rebind\ ([0-9]+)\ s\)$ ]] \
        || fail "unexpected lease line: $lease_line"
    ADDRESS=${BASH_REMATCH[1]}
    LEASE=${BASH_REMATCH[2]}
    RENEW=${BASH_REMATCH[3]}
    REBIND=${BASH_REMATCH[4]}
    [[ $LEASE -eq 120 ]] || fail "lease of $LEASE s, dnsmasq was asked for 120"
    (( RENEW <= 25 && REBIND <= 45 && RENEW < REBIND )) \
        || fail "renew $RENEW s / rebind $REBIND s: dnsmasq did not pass T1 20 and T2 40 on"
    has_line "^dhcp: $iface option 3 \(198\.18\.0\.3\) ignored: option 121 gives the routes \(RFC 3442 §2\)$" \
        || fail "no line saying option 3 was ignored"
    has_line "^net: $iface $ADDRESS/24 mtu 1400 mac " || fail "no net: line with $ADDRESS/24 and mtu 1400 (option 26)"
    has_line "^route: 198\.18\.0\.0/24 dev $iface$" || fail "no connected route"
    has_line "^route: default via 198\.18\.0\.2 dev $iface$" || fail "no default route via R1 (121's 0.0.0.0/0)"
    has_line "^route: 198\.51\.100\.0/24 via 198\.18\.0\.3 dev $iface$" || fail "no route to 198.51.100.0/24 via R2"
    has_line "^route: default via 198\.18\.0\.3" && fail "option 3's router was installed although 121 is present"
    has_line "^dns: 198\.18\.0\.1$" || fail "no dns: line for option 6"
    has_line "^dns: search skiff\.test$" || fail "no dns: search line for option 119"
}

# check_routers: T1 and T2 ping $ADDRESS; each router forwards its own target's pings only.
check_routers() {
    local r1_before r2_before r1_mid r2_mid r1_after r2_after
    r1_before=$(forwarded "$R1"); r2_before=$(forwarded "$R2")
    ip netns exec "$T1" ping -c 3 -i 0.2 -W 2 "$ADDRESS" >/dev/null || fail "T1 (192.0.2.10, behind R1) cannot ping $ADDRESS"
    r1_mid=$(forwarded "$R1"); r2_mid=$(forwarded "$R2")
    ip netns exec "$T2" ping -c 3 -i 0.2 -W 2 "$ADDRESS" >/dev/null || fail "T2 (198.51.100.10, behind R2) cannot ping $ADDRESS"
    r1_after=$(forwarded "$R1"); r2_after=$(forwarded "$R2")
    (( r1_mid - r1_before >= 6 && r2_mid == r2_before )) \
        || fail "T1's pings: R1 forwarded $((r1_mid - r1_before)), R2 $((r2_mid - r2_before)) (want >= 6 and 0)"
    (( r2_after - r2_mid >= 6 && r1_after == r1_mid )) \
        || fail "T2's pings: R2 forwarded $((r2_after - r2_mid)), R1 $((r1_after - r1_mid)) (want >= 6 and 0)"
    log "T1 reaches $ADDRESS through R1 and T2 through R2"
}

# check_renew_rebind IFACE PID: with pings from T1 and T2 running, waits for the renewal at T1,
# stops dnsmasq, waits for the next (unanswered) renewal, starts dnsmasq again, waits for the
# rebinding at T2 to be answered, and fails if a ping was lost.
check_renew_rebind() {
    local iface=$1 pid=$2 before file summary sent got
    ip netns exec "$T1" ping -i 0.2 -W 1 "$ADDRESS" >"$WORKDIR/ping1.txt" 2>&1 &
    PING_PIDS+=($!)
    ip netns exec "$T2" ping -i 0.2 -W 1 "$ADDRESS" >"$WORKDIR/ping2.txt" 2>&1 &
    PING_PIDS+=($!)

    wait_for_line "^dhcp: $iface renewed $ADDRESS/24 " $((RENEW + 10)) "$pid"
    grep -Eq "DHCPREQUEST\(br0\) $ADDRESS" "$DNSMASQ_LOG" || fail "dnsmasq saw no renewal request"
    log "renewed at T1 (unicast to dnsmasq)"
    stop_dnsmasq
    log "dnsmasq stopped"
    wait_for_more "dhcp: $iface renewing " 1 $((RENEW + 10)) "$pid"
    sleep 2
    before=$(line_count "^dhcp: $iface renewed ")
    start_dnsmasq
    log "dnsmasq started again"
    wait_for_line "dhcp: $iface rebinding $ADDRESS" $((REBIND - RENEW + 10)) "$pid"
    wait_for_more "^dhcp: $iface renewed " "$before" 10 "$pid"
    log "rebound at T2 (broadcast) after the restart"
    sleep 1

    for p in "${PING_PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    PING_PIDS=()
    for file in ping1.txt ping2.txt; do
        summary=$(grep "packets transmitted" "$WORKDIR/$file") || fail "$file: no ping summary"
        sent=$(sed 's/^\([0-9]*\) packets transmitted.*/\1/' <<<"$summary")
        got=$(sed 's/.* \([0-9]*\) received.*/\1/' <<<"$summary")
        log "$file: $summary"
        (( sent >= 100 )) || fail "$file: only $sent pings sent"
        (( got == sent )) || fail "$file: $((sent - got)) of $sent pings lost during renew/rebind"
    done
    has_line "address $ADDRESS/24 removed" && fail "the address was removed during renew/rebind"
    return 0
}
