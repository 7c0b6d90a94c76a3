#!/usr/bin/env bash
# integration-timeout: 240
# `skiff run hosted --dhcp` against a real DHCP server (dnsmasq) on a bridge with two routers:
#
#   skiff (tap0) ─┐                      R1: 198.18.0.2 ── 192.0.2.1   ── T1: 192.0.2.10
#                 ├─ br0: 198.18.0.1 ──┤
#   dnsmasq on br0┘                      R2: 198.18.0.3 ── 198.51.100.1 ── T2: 198.51.100.10
#
# dnsmasq hands out a 2-minute lease (its minimum) with T1 20 s and T2 40 s, option 3 = R2, and
# option 121 = default via R1 plus 198.51.100.0/24 via R2. Checks: the lease is taken and printed
# (`dhcp:` line, then `net:`/`route:`/`dns:`); option 3 is ignored because 121 is present (RFC 3442
# §2), so the default route is R1's; T1 and T2 ping skiff, which can only answer through the right
# router (neither router has a route to the other's far network), and each router's forwarding
# counter moves for its own target only; the lease renews at T1 (unicast); then dnsmasq is
# stopped, the next renewal goes unanswered, dnsmasq is started again, and the lease is rebound at
# T2 — with both pings running all along and none lost; SIGTERM sends a DHCPRELEASE; started again
# with --dhcp-address, skiff gets the same address back by INIT-REBOOT (no DISCOVER).
source "$(dirname "$0")/common.bash"
require_root
if ! command -v dnsmasq >/dev/null 2>&1; then
    log "installing dnsmasq"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dnsmasq >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive \
             apt-get install -y -qq --no-install-recommends dnsmasq >/dev/null 2>&1; } || true
fi
require_commands ip ping dnsmasq

# The flags, checked before anything is opened.
flag_error() {
    local expected=$1; shift
    local output status=0
    output=$("$SKIFF" run hosted "$@" 2>&1) || status=$?
    [[ $status -ne 0 && "$output" == *"$expected"* ]] || fail "skiff run hosted $*: wanted '$expected', got ($status) '$output'"
}
flag_error "error: --dhcp configures the address and routes; leave out --address and --gateway" \
    --tap tap0 --dhcp --address 198.18.0.2/24
flag_error "error: --hostname and --dhcp-address go with --dhcp" --tap tap0 --address 198.18.0.2/24 --hostname app1
flag_error "error: --hostname app_1: use letters, digits, '-' and '.'" --tap tap0 --dhcp --hostname app_1
flag_error "error: --dhcp-address 198.18.0.300: not an IPv4 address (a.b.c.d)" --tap tap0 --dhcp --dhcp-address 198.18.0.300

SUFFIX=$$
NS="skf-it-dhcp-$SUFFIX"
R1="skf-dhcp-r1-$SUFFIX"
R2="skf-dhcp-r2-$SUFFIX"
T1="skf-dhcp-t1-$SUFFIX"
T2="skf-dhcp-t2-$SUFFIX"
DNSMASQ_PID=""
PING_PIDS=()
DNSMASQ_LOG="$WORKDIR/dnsmasq.log"

dhcp_cleanup() {
    local status=$?
    for pid in "${PING_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [[ -n "$DNSMASQ_PID" ]]; then kill "$DNSMASQ_PID" 2>/dev/null || true; wait "$DNSMASQ_PID" 2>/dev/null || true; fi
    if [[ $status -ne 0 && $status -ne 77 && -s "$DNSMASQ_LOG" ]]; then
        echo "--- dnsmasq log (last 30 lines) ---"
        tail -n 30 "$DNSMASQ_LOG"
    fi
    for ns in "$R1" "$R2" "$T1" "$T2"; do ip netns del "$ns" 2>/dev/null || true; done
    (exit "$status")
    cleanup
}
trap dhcp_cleanup EXIT

# --- the network ---
for ns in "$NS" "$R1" "$R2" "$T1" "$T2"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done
ip -n "$NS" link add br0 type bridge
ip -n "$NS" addr add 198.18.0.1/24 dev br0
ip -n "$NS" link set br0 up
ip -n "$NS" tuntap add dev "$TAP" mode tap
ip -n "$NS" link set "$TAP" master br0
ip -n "$NS" link set "$TAP" up

# router <port name> <namespace> <lan address> <far address/prefix> <target namespace> <target address>
router() {
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
ip -n "$NS" link set br0 type bridge forward_delay 0 2>/dev/null || true
router port1 "$R1" 198.18.0.2 192.0.2.1/24 "$T1" 192.0.2.10
router port2 "$R2" 198.18.0.3 198.51.100.1/24 "$T2" 198.51.100.10

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

# Waits up to $2 seconds for a line matching the extended regex $1 in skiff's output.
wait_for() {
    local pattern=$1 limit=$2
    for _ in $(seq $((limit * 10))); do
        grep -Eq "$pattern" "$SKIFF_LOG" && return 0
        running "$SKIFF_PID" || fail "skiff exited while waiting for /$pattern/"
        sleep 0.1
    done
    fail "no line /$pattern/ from skiff within $limit s"
}

count() { grep -Ec "$1" "$SKIFF_LOG" || true; }

forwarded() { ip netns exec "$1" awk '/^Ip: [0-9]/ { print $7 }' /proc/net/snmp; }

start_dnsmasq
ip netns exec "$NS" "$SKIFF" run hosted --tap "$TAP" --dhcp --hostname app1 --echo-port 0 \
    --tcp-echo-port 0 >"$SKIFF_LOG" 2>&1 &
SKIFF_PID=$!
log "skiff started (pid $SKIFF_PID), dnsmasq (pid $DNSMASQ_PID)"

# --- the lease and what it configured ---
wait_for "^dhcp: $TAP lease " 20
lease_line=$(grep -m1 "^dhcp: $TAP lease " "$SKIFF_LOG")
log "$lease_line"
[[ $lease_line =~ ^dhcp:\ $TAP\ lease\ (198\.18\.0\.[0-9]+)/24\ from\ 198\.18\.0\.1\ for\ ([0-9]+)\ s\ \(renew\ ([0-9]+)\ s,\ rebind\ ([0-9]+)\ s\)$ ]] \
    || fail "unexpected lease line: $lease_line"
ADDRESS=${BASH_REMATCH[1]}
LEASE=${BASH_REMATCH[2]}
RENEW=${BASH_REMATCH[3]}
REBIND=${BASH_REMATCH[4]}
[[ $LEASE -eq 120 ]] || fail "lease of $LEASE s, dnsmasq was asked for 120"
(( RENEW <= 25 && REBIND <= 45 && RENEW < REBIND )) \
    || fail "renew $RENEW s / rebind $REBIND s: dnsmasq did not pass T1 20 and T2 40 on"
grep -q "^dhcp: $TAP option 3 (198.18.0.3) ignored: option 121 gives the routes (RFC 3442 §2)$" "$SKIFF_LOG" \
    || fail "no line saying option 3 was ignored"
grep -q "^net: $TAP $ADDRESS/24 mtu 1400 mac " "$SKIFF_LOG" || fail "no net: line with $ADDRESS/24 and mtu 1400 (option 26)"
grep -q "^route: 198.18.0.0/24 dev $TAP$" "$SKIFF_LOG" || fail "no connected route"
grep -q "^route: default via 198.18.0.2 dev $TAP$" "$SKIFF_LOG" || fail "no default route via R1 (121's 0.0.0.0/0)"
grep -q "^route: 198.51.100.0/24 via 198.18.0.3 dev $TAP$" "$SKIFF_LOG" || fail "no route to 198.51.100.0/24 via R2"
grep -q "^route: default via 198.18.0.3" "$SKIFF_LOG" && fail "option 3's router was installed although 121 is present"
grep -q "^dns: 198.18.0.1$" "$SKIFF_LOG" || fail "no dns: line for option 6"
grep -q "^dns: search skiff.test$" "$SKIFF_LOG" || fail "no dns: search line for option 119"
grep -Eq "DHCPACK\(br0\) $ADDRESS .* app1" "$DNSMASQ_LOG" || fail "dnsmasq did not see host name app1 (option 12)"
grep -Eq "client provides name: app1|client-id.*01:" "$DNSMASQ_LOG" || true

# --- each target reaches skiff through its own router ---
r1_before=$(forwarded "$R1"); r2_before=$(forwarded "$R2")
ip netns exec "$T1" ping -c 3 -i 0.2 -W 2 "$ADDRESS" >/dev/null || fail "T1 (192.0.2.10, behind R1) cannot ping $ADDRESS"
r1_mid=$(forwarded "$R1"); r2_mid=$(forwarded "$R2")
ip netns exec "$T2" ping -c 3 -i 0.2 -W 2 "$ADDRESS" >/dev/null || fail "T2 (198.51.100.10, behind R2) cannot ping $ADDRESS"
r1_after=$(forwarded "$R1"); r2_after=$(forwarded "$R2")
(( r1_mid - r1_before >= 6 && r2_mid == r2_before )) \
    || fail "T1's pings: R1 forwarded $((r1_mid - r1_before)), R2 $((r2_mid - r2_before)) (want >= 6 and 0)"
(( r2_after - r2_mid >= 6 && r1_after == r1_mid )) \
    || fail "T2's pings: R2 forwarded $((r2_after - r2_mid)), R1 $((r1_after - r1_mid)) (want >= 6 and 0)"
log "T1 through R1 and T2 through R2"

# --- renew, then rebind across a dnsmasq restart, pings running ---
ip netns exec "$T1" ping -i 0.2 -W 1 "$ADDRESS" >"$WORKDIR/ping1.txt" 2>&1 &
PING_PIDS+=($!)
ip netns exec "$T2" ping -i 0.2 -W 1 "$ADDRESS" >"$WORKDIR/ping2.txt" 2>&1 &
PING_PIDS+=($!)

wait_for "^dhcp: $TAP renewed $ADDRESS/24 " $((RENEW + 10))
grep -Eq "DHCPREQUEST\(br0\) $ADDRESS" "$DNSMASQ_LOG" || fail "dnsmasq saw no renewal request"
log "renewed at T1 (unicast to dnsmasq)"
stop_dnsmasq
log "dnsmasq stopped"
renewing_before=$(count "dhcp: $TAP renewing ")
for _ in $(seq $(((RENEW + 10) * 10))); do
    (( $(count "dhcp: $TAP renewing ") > renewing_before )) && break
    sleep 0.1
done
(( $(count "dhcp: $TAP renewing ") > renewing_before )) || fail "no renewal attempt after dnsmasq stopped"
sleep 2
renewed_before=$(count "^dhcp: $TAP renewed ")
start_dnsmasq
log "dnsmasq started again"
wait_for "dhcp: $TAP rebinding $ADDRESS" $((REBIND - RENEW + 10))
for _ in $(seq 100); do
    (( $(count "^dhcp: $TAP renewed ") > renewed_before )) && break
    sleep 0.1
done
(( $(count "^dhcp: $TAP renewed ") > renewed_before )) || fail "the lease was not rebound after dnsmasq came back"
log "rebound at T2 (broadcast) after the restart"
sleep 1

for pid in "${PING_PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
PING_PIDS=()
for file in ping1.txt ping2.txt; do
    summary=$(grep "packets transmitted" "$WORKDIR/$file") || fail "$file: no ping summary"
    sent=$(sed 's/^\([0-9]*\) packets transmitted.*/\1/' <<<"$summary")
    got=$(sed 's/.* \([0-9]*\) received.*/\1/' <<<"$summary")
    log "$file: $summary"
    (( sent >= 100 )) || fail "$file: only $sent pings sent"
    (( got == sent )) || fail "$file: $((sent - got)) of $sent pings lost during renew/rebind"
done
grep -q "address $ADDRESS/24 removed" "$SKIFF_LOG" && fail "the address was removed during renew/rebind"

# --- release on SIGTERM ---
stop_skiff
grep -q "^dhcp: $TAP released $ADDRESS/24 to 198.18.0.1$" "$SKIFF_LOG" || fail "no released line"
for _ in $(seq 20); do grep -Eq "DHCPRELEASE\(br0\) $ADDRESS" "$DNSMASQ_LOG" && break; sleep 0.1; done
grep -Eq "DHCPRELEASE\(br0\) $ADDRESS" "$DNSMASQ_LOG" || fail "dnsmasq saw no DHCPRELEASE"
grep -q "^counters: dhcp $TAP " "$SKIFF_LOG" || fail "no dhcp counters"

# --- INIT-REBOOT: started again with the address it had, skiff asks for it without a DISCOVER ---
mv "$SKIFF_LOG" "$WORKDIR/skiff-first.log"
ip netns exec "$NS" "$SKIFF" run hosted --tap "$TAP" --dhcp --dhcp-address "$ADDRESS" --hostname app1 \
    --echo-port 0 --tcp-echo-port 0 >"$SKIFF_LOG" 2>&1 &
SKIFF_PID=$!
wait_for "^dhcp: $TAP lease " 20
grep -q "^dhcp: $TAP lease $ADDRESS/24 from 198.18.0.1 " "$SKIFF_LOG" || fail "INIT-REBOOT got another address: $(grep "^dhcp: $TAP lease" "$SKIFF_LOG")"
grep -q "dhcp: $TAP DHCPREQUEST for $ADDRESS (INIT-REBOOT)" "$SKIFF_LOG" || fail "no INIT-REBOOT request"
grep -q "DHCPDISCOVER" "$SKIFF_LOG" && fail "INIT-REBOOT fell back to DISCOVER"
ip netns exec "$T1" ping -c 2 -i 0.2 -W 2 "$ADDRESS" >/dev/null || fail "T1 cannot ping $ADDRESS after INIT-REBOOT"
stop_skiff
pass "lease $ADDRESS/24 for $LEASE s (renew $RENEW, rebind $REBIND); 121 over option 3; both routers used; renewed, rebound across a dnsmasq restart with no ping lost; released; INIT-REBOOT got it back"
