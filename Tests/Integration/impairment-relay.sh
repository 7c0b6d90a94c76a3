#!/usr/bin/env bash
# `skiff relay` between two Linux hosts: loss, delay, duplication, reordering, corruption and rate
# as ping, UDP and TCP see them, checked against the relay's own counters.
#
# Three namespaces made here: left (198.18.2.1/24) and right (198.18.2.2/24), one cable each to
# the relay namespace, where bridge brL joins left's cable to tapL, bridge brR joins right's cable
# to tapR, and `skiff relay --tap tapL --tap tapR` forwards frames between the two TAP devices:
#
#   left eth0 ── vethL ─ brL ─ tapL ⇄ skiff relay ⇄ tapR ─ brR ─ vethR ── eth0 right
#
# IPv6 and IGMP reports are off and both hosts have static ARP entries, so the only frames
# crossing the relay are the test's own: the relay's counters can then be compared exactly with what ping and the UDP
# receiver saw. Each scenario starts a fresh relay. Takes about 25 s.
source "$(dirname "$0")/common.bash"

LEFT_ADDRESS=198.18.2.1
RIGHT_ADDRESS=198.18.2.2
NS_LEFT="skf-rl-left-$$"
NS_RIGHT="skf-rl-right-$$"
NS_RELAY="skf-rl-relay-$$"
NAMESPACES=()
RELAY_PID=""
RELAY_LOG="$WORKDIR/relay.log"
HELPER_PID=""

# Replaces common.bash's cleanup (the EXIT trap calls it by name): three namespaces, the relay and
# a background helper, on every exit path.
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    for pid in "$RELAY_PID" "$HELPER_PID"; do
        if [[ -n "$pid" ]] && running "$pid"; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 30); do running "$pid" || break; sleep 0.1; done
            running "$pid" && kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null || true
        fi
    done
    for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    if [[ $status -ne 0 && $status -ne 77 && -s "$RELAY_LOG" ]]; then
        echo "--- relay output ---"
        tail -n 20 "$RELAY_LOG"
    fi
    rm -rf "$WORKDIR"
    exit "$status"
}

# Flag errors: one line, status 64, before any device is touched (no root needed for these).
expect_usage_error() {
    local expected=$1; shift
    local output status=0
    output=$("$SKIFF" relay "$@" 2>&1 >/dev/null) || status=$?
    [[ $status -eq 64 ]] || fail "skiff relay $*: exit status $status, expected 64"
    [[ "$output" == "$expected" ]] || fail "skiff relay $*: printed '$output', expected '$expected'"
}

require_root
require_commands ip ping python3

expect_usage_error "error: --tap is needed twice, once per side, e.g. --tap tapL --tap tapR"
expect_usage_error "error: --tap is needed twice, once per side, e.g. --tap tapL --tap tapR" --tap tapL
expect_usage_error "error: --tap tapL: given twice; the relay needs two different TAP devices" --tap tapL --tap tapL
expect_usage_error "error: --loss 101: not a percentage (0 to 100, at most 4 decimals, e.g. 20 or 0.5)" \
    --tap tapL --tap tapR --loss 101
expect_usage_error "error: --reorder -1: not a percentage (0 to 100, at most 4 decimals, e.g. 20 or 0.5)" \
    --tap tapL --tap tapR --reorder -1
expect_usage_error "error: --delay -5: not a delay in milliseconds (0 to 60000)" --tap tapL --tap tapR --delay -5
expect_usage_error "error: --seed x: not a seed (a whole number, 0 to 18446744073709551615)" --tap tapL --tap tapR --seed x
log "flag errors: one line each, status 64"

# --- topology ---------------------------------------------------------------------------------
for ns in "$NS_LEFT" "$NS_RIGHT" "$NS_RELAY"; do
    ip netns add "$ns"
    NAMESPACES+=("$ns")
    # No IPv6 and no IGMP reports (the bridges' own would cross the relay and spoil exact counts).
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
        net.ipv4.igmp_link_local_mcast_reports=0
    ip -n "$ns" link set lo up
done
for side in L R; do
    if [[ $side == L ]]; then host=$NS_LEFT; address=$LEFT_ADDRESS; else host=$NS_RIGHT; address=$RIGHT_ADDRESS; fi
    ip -n "$NS_RELAY" link add "veth$side" type veth peer name eth0 netns "$host"
    ip -n "$NS_RELAY" link add "br$side" type bridge
    ip -n "$NS_RELAY" tuntap add dev "tap$side" mode tap
    ip -n "$NS_RELAY" link set "veth$side" master "br$side" up
    ip -n "$NS_RELAY" link set "tap$side" master "br$side" up
    ip -n "$NS_RELAY" link set "br$side" up
    ip -n "$host" addr add "$address/24" dev eth0
    ip -n "$host" link set eth0 up
done
mac_left=$(ip netns exec "$NS_LEFT" cat /sys/class/net/eth0/address)
mac_right=$(ip netns exec "$NS_RIGHT" cat /sys/class/net/eth0/address)
ip -n "$NS_LEFT" neigh replace "$RIGHT_ADDRESS" lladdr "$mac_right" dev eth0 nud permanent
ip -n "$NS_RIGHT" neigh replace "$LEFT_ADDRESS" lladdr "$mac_left" dev eth0 nud permanent

left() { ip netns exec "$NS_LEFT" "$@"; }
right() { ip netns exec "$NS_RIGHT" "$@"; }

# Starts the relay with the given flags; waits for its first line and for both bridge ports to
# forward (a TAP port has no carrier until the relay attaches).
start_relay() {
    ip netns exec "$NS_RELAY" "$SKIFF" relay --tap tapL --tap tapR "$@" >"$RELAY_LOG" 2>&1 &
    RELAY_PID=$!
    for _ in $(seq 200); do
        grep -q "^relay: tapL <-> tapR " "$RELAY_LOG" 2>/dev/null && break
        running "$RELAY_PID" || fail "the relay exited during start-up"
        sleep 0.05
    done
    grep -q "^relay: tapL <-> tapR " "$RELAY_LOG" ||
        fail "the relay printed no 'relay:' line within 10 s (state: $(cut -d' ' -f3 "/proc/$RELAY_PID/stat" 2>/dev/null), wchan: $(cat "/proc/$RELAY_PID/wchan" 2>/dev/null))"
    for _ in $(seq 100); do
        [[ $(ip netns exec "$NS_RELAY" cat /sys/class/net/tapL/brport/state) == 3 &&
           $(ip netns exec "$NS_RELAY" cat /sys/class/net/tapR/brport/state) == 3 ]] && return 0
        sleep 0.05
    done
    fail "the bridge ports of tapL and tapR did not start forwarding"
}

# Stops the relay with SIGTERM (or waits for it when it ends by itself, with --duration); fails
# unless it exits 0 after printing both counter lines.
stop_relay() {
    [[ ${1:-} == --wait ]] || kill -TERM "$RELAY_PID"
    for _ in $(seq 50); do running "$RELAY_PID" || break; sleep 0.1; done
    running "$RELAY_PID" && fail "the relay did not stop within 5 s"
    local status=0
    wait "$RELAY_PID" || status=$?
    RELAY_PID=""
    [[ $status -eq 0 ]] || fail "the relay exited with status $status"
    grep -q "^counters: tapL->tapR " "$RELAY_LOG" && grep -q "^counters: tapR->tapL " "$RELAY_LOG" ||
        fail "the relay printed no counters"
}

# counter DIRECTION NAME: the number before (received, forwarded) or after (the others) NAME.
counter() {
    local line
    line=$(grep "^counters: $1 " "$RELAY_LOG")
    case $2 in
        received|forwarded) sed -n "s/.* $2 \([0-9]*\) frames.*/\1/p" <<<"$line" ;;
        *) sed -n "s/.*, $2 \([0-9]*\).*/\1/p" <<<"$line" ;;
    esac
}
transmitted() { sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$1"; }
received() { sed -n 's/.* transmitted, \([0-9]*\) received.*/\1/p' "$1"; }
duplicates() { sed -n 's/.* received, +\([0-9]*\) duplicates.*/\1/p' "$1"; }
rtt() { sed -n "s|^rtt min/avg/max/mdev = \([0-9.]*\)/\([0-9.]*\)/\([0-9.]*\)/.*|\\$1|p" "$2"; }
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

PING="$WORKDIR/ping.txt"

# --- no impairment: everything arrives, in both directions -----------------------------------
start_relay
left ping -q -c 100 -i 0.01 -W 1 "$RIGHT_ADDRESS" >"$PING" || true
stop_relay
[[ $(received "$PING") == 100 ]] || fail "no impairment: $(received "$PING") of 100 replies"
for direction in tapL-\>tapR tapR-\>tapL; do
    [[ $(counter "$direction" received) == 100 && $(counter "$direction" forwarded) == 100 ]] ||
        fail "no impairment: $direction counters: $(grep "^counters: $direction " "$RELAY_LOG")"
done
log "no impairment: 100/100 replies, 100 frames forwarded each way"

# --- loss 20% each way: a round trip survives with 0.8 * 0.8, so ping loses about 36% ---------
loss_run() {
    start_relay --loss 20 --seed 1
    left ping -q -c 500 -i 0.005 -W 1 "$RIGHT_ADDRESS" >"$PING" || true
    stop_relay
    local sent got requests_lost replies_lost
    sent=$(transmitted "$PING"); got=$(received "$PING")
    [[ $sent == 500 ]] || fail "loss: ping sent $sent requests"
    # Exact agreement: every request ping sent reached the relay; every reply ping got is one the
    # relay forwarded; every request the relay forwarded was answered.
    [[ $(counter tapL-\>tapR received) == 500 ]] || fail "loss: relay received $(counter tapL-\>tapR received) requests, ping sent 500"
    [[ $(counter tapR-\>tapL forwarded) == "$got" ]] || fail "loss: relay forwarded $(counter tapR-\>tapL forwarded) replies, ping got $got"
    [[ $(counter tapR-\>tapL received) == $(counter tapL-\>tapR forwarded) ]] || fail "loss: replies != forwarded requests"
    requests_lost=$(counter tapL-\>tapR lost); replies_lost=$(counter tapR-\>tapL lost)
    # 20% of 500 is 100 (standard deviation 9): 60..140 is over 4 deviations either side.
    ((requests_lost >= 60 && requests_lost <= 140)) || fail "loss: $requests_lost of 500 requests lost, expected about 100"
    # 36% of 500 is 180 (deviation 11): 120..240.
    ((sent - got >= 120 && sent - got <= 240)) || fail "loss: ping lost $((sent - got)) of 500, expected about 180"
    LOSS_RESULT="$requests_lost/$replies_lost/$got"
}
loss_run
first=$LOSS_RESULT
log "loss 20%: ping got ${first##*/}/500 (expected ~320), relay lost ${first%%/*} requests and $(cut -d/ -f2 <<<"$first") replies"
loss_run
[[ $LOSS_RESULT == "$first" ]] || fail "loss: same seed, same frames, different result: $first then $LOSS_RESULT"
log "loss 20%, seed 1 again: the same frames lost ($LOSS_RESULT)"

# --- delay 50 ms each way: round trips of at least 100 ms ------------------------------------
start_relay --delay 50 --jitter 0
left ping -q -c 10 -i 0.05 -W 2 "$RIGHT_ADDRESS" >"$PING" || true
stop_relay
[[ $(received "$PING") == 10 ]] || fail "delay: $(received "$PING") of 10 replies"
at_least "$(rtt 1 "$PING")" 100 || fail "delay: rtt min $(rtt 1 "$PING") ms, expected at least 100"
at_least 150 "$(rtt 2 "$PING")" || fail "delay: rtt avg $(rtt 2 "$PING") ms, expected about 100"
log "delay 50 ms: rtt min/avg $(rtt 1 "$PING")/$(rtt 2 "$PING") ms"

# --- duplicate 50%: ping sees DUP!s, exactly as many as the relay made ------------------------
start_relay --duplicate 50 --seed 2
left ping -c 50 -i 0.01 -W 1 "$RIGHT_ADDRESS" >"$PING" || true
stop_relay
dups=$(duplicates "$PING")
grep -q "DUP!" "$PING" && [[ -n "$dups" ]] || fail "duplicate: ping reported no DUP!"
got=$(received "$PING")
[[ $got == 50 ]] || fail "duplicate: $got of 50 replies"
# A duplicated request is answered twice; every reply beyond the 50 that count is a duplicate.
# Ping exits at its 50th reply, so copies of the last replies may come after it has gone.
extra=$(($(counter tapR-\>tapL forwarded) - got))
((dups <= extra && extra - dups <= 4)) ||
    fail "duplicate: relay forwarded $(counter tapR-\>tapL forwarded) replies, ping saw $got + $dups duplicates"
log "duplicate 50%: ping saw $dups duplicates; relay duplicated $(counter tapL-\>tapR duplicated) requests and $(counter tapR-\>tapL duplicated) replies"

# --- reorder 25%: numbered UDP datagrams all arrive, some out of order -------------------------
cat >"$WORKDIR/udp-receive.py" <<'EOF'
import socket, sys
count = int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind((sys.argv[1], 9000))
s.settimeout(5)
seen, highest, late = set(), -1, 0
print("ready", flush=True)
try:
    while len(seen) < count:
        n = int(s.recv(64))
        late += n < highest
        highest = max(highest, n)
        seen.add(n)
except socket.timeout:
    pass
print(f"received {len(seen)} late {late}", flush=True)
EOF
cat >"$WORKDIR/udp-send.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in range(int(sys.argv[2])):
    s.sendto(str(n).encode(), (sys.argv[1], 9000))
    if n % 20 == 19:
        time.sleep(0.002)
EOF
start_relay --reorder 25 --seed 3
UDP_OUT="$WORKDIR/udp.txt"
right python3 "$WORKDIR/udp-receive.py" "$RIGHT_ADDRESS" 2000 >"$UDP_OUT" &
HELPER_PID=$!
for _ in $(seq 50); do grep -q ready "$UDP_OUT" && break; sleep 0.1; done
left python3 "$WORKDIR/udp-send.py" "$RIGHT_ADDRESS" 2000
wait "$HELPER_PID" || fail "reorder: the UDP receiver failed"
HELPER_PID=""
stop_relay
read -r udp_received udp_late < <(sed -n 's/^received \([0-9]*\) late \([0-9]*\)$/\1 \2/p' "$UDP_OUT")
[[ $udp_received == 2000 ]] || fail "reorder: $udp_received of 2000 datagrams arrived"
((udp_late > 0)) || fail "reorder: every datagram arrived in order"
# Each reordered frame arrives right after the one that overtook it: exactly one late datagram.
[[ $(counter tapL-\>tapR reordered) == "$udp_late" ]] ||
    fail "reorder: relay reordered $(counter tapL-\>tapR reordered) frames, receiver saw $udp_late late"
log "reorder 25%: 2000/2000 datagrams, $udp_late arrived late (relay: $(counter tapL-\>tapR reordered) reordered)"

# --- reorder 25% and 5 ms delay: a TCP transfer still completes intact -------------------------
cat >"$WORKDIR/tcp.py" <<'EOF'
import hashlib, os, socket, sys
if sys.argv[1] == "server":
    server = socket.create_server((sys.argv[2], 9001))
    print("ready", flush=True)
    connection, _ = server.accept()
    digest = hashlib.sha256()
    while chunk := connection.recv(65536):
        digest.update(chunk)
    print(digest.hexdigest(), flush=True)
else:
    data = os.urandom(int(sys.argv[3]))
    with socket.create_connection((sys.argv[2], 9001), timeout=20) as connection:
        connection.sendall(data)
    print(hashlib.sha256(data).hexdigest(), flush=True)
EOF
start_relay --reorder 25 --delay 5 --seed 4
TCP_OUT="$WORKDIR/tcp.txt"
right timeout 30 python3 "$WORKDIR/tcp.py" server "$RIGHT_ADDRESS" >"$TCP_OUT" &
HELPER_PID=$!
for _ in $(seq 50); do grep -q ready "$TCP_OUT" && break; sleep 0.1; done
sent_digest=$(left timeout 30 python3 "$WORKDIR/tcp.py" client "$RIGHT_ADDRESS" 2000000) || fail "reorder: the TCP client failed"
wait "$HELPER_PID" || fail "reorder: the TCP server failed"
HELPER_PID=""
stop_relay
[[ $(tail -n 1 "$TCP_OUT") == "$sent_digest" ]] || fail "reorder: the 2 MB arrived different or incomplete"
((  $(counter tapL-\>tapR reordered) > 0 )) || fail "reorder: the relay reordered no TCP segment"
log "reorder 25% + 5 ms: 2 MB over TCP intact; relay reordered $(counter tapL-\>tapR reordered) + $(counter tapR-\>tapL reordered) frames"

# --- corrupt 100%: every frame has a bad checksum, nothing is answered; --duration ends the relay
start_relay --corrupt 100 --duration 2
left ping -q -c 5 -i 0.05 -W 1 "$RIGHT_ADDRESS" >"$PING" || true
stop_relay --wait
grep -q "^relay: stopping (duration 2 s)" "$RELAY_LOG" || fail "corrupt: the relay did not stop at the end of --duration"
[[ $(received "$PING") == 0 ]] || fail "corrupt: $(received "$PING") replies to corrupted requests"
# Every frame the relay got was corrupted: the 5 requests, and any retransmission the previous
# phase's TCP connection still sends (its last ACKs can be in flight when that relay stops).
corrupted=$(counter tapL-\>tapR corrupted) got=$(counter tapL-\>tapR received)
((corrupted >= 5)) || fail "corrupt: relay corrupted $corrupted frames, fewer than the 5 requests"
[[ $corrupted == "$got" ]] || fail "corrupt: relay corrupted $corrupted of $got frames"
[[ $(counter tapR-\>tapL corrupted) == $(counter tapR-\>tapL received) ]] \
    || fail "corrupt: relay corrupted $(counter tapR-\>tapL corrupted) of $(counter tapR-\>tapL received) frames the other way"
log "corrupt 100%: all $got frames corrupted (5 requests), none answered; --duration 2 stopped the relay"

# --- rate 1000 kbit/s: a 1442-byte frame takes 11.5 ms each way --------------------------------
start_relay --rate 1000
left ping -q -c 5 -i 0.1 -s 1400 -W 1 "$RIGHT_ADDRESS" >"$PING" || true
stop_relay
[[ $(received "$PING") == 5 ]] || fail "rate: $(received "$PING") of 5 replies"
at_least "$(rtt 1 "$PING")" 23 || fail "rate: rtt min $(rtt 1 "$PING") ms, expected at least 2 x 11.5"
log "rate 1000 kbit/s: 1400-byte ping rtt min $(rtt 1 "$PING") ms"

pass "loss, delay, duplication, reordering, corruption and rate as configured, counters exact"
