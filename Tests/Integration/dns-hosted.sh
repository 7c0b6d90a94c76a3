#!/usr/bin/env bash
# integration-timeout: 120
# Skiff's DNS stub resolver (`skiff run hosted --resolve`) against a real DNS server, dnsmasq, in a
# namespace: dnsmasq on the Linux side of tap0 (198.18.0.1) answers for skiff.test from its own
# records only (--no-resolv, --local), with a TTL of 600 s. Checks, with static addresses and
# --dns-server: an A record; a CNAME and a chain of two CNAMEs; NXDOMAIN; a name outside skiff.test,
# which dnsmasq (no upstream) refuses; a relative name through --dns-search; a repeated name from the
# cache. With a dead first server (198.18.0.9, no such host): the query is sent
# twice (1 s, 2 s) and the second server answers. With --dhcp: the servers (option 6) and search
# domain (option 119) come from dnsmasq's lease. About 20 s.
source "$(dirname "$0")/common.bash"
require_root

install_if_missing dnsmasq dnsmasq
require_commands ip dnsmasq

DNSMASQ_PID=""
DNSMASQ_LOG="$WORKDIR/dnsmasq.log"

dns_cleanup() {
    local status=$?
    # Under errexit the `(exit "$status")` below would end the shell before cleanup runs.
    set +e
    if [[ -n "$DNSMASQ_PID" ]]; then kill "$DNSMASQ_PID" 2>/dev/null; wait "$DNSMASQ_PID" 2>/dev/null; fi
    if [[ $status -ne 0 && $status -ne 77 && -s "$DNSMASQ_LOG" ]]; then
        echo "--- dnsmasq log (last 30 lines) ---"
        tail -n 30 "$DNSMASQ_LOG"
    fi
    (exit "$status")
    cleanup
}
trap dns_cleanup EXIT

# The flags, checked before anything is opened.
flag_error() {
    local expected=$1; shift
    local output status=0
    output=$("$SKIFF" run hosted "$@" 2>&1) || status=$?
    [[ $status -ne 0 && "$output" == *"$expected"* ]] || fail "skiff run hosted $*: wanted '$expected', got ($status) '$output'"
}
flag_error "error: --resolve needs a DNS server: give --dns-server a.b.c.d, or --dhcp to use the lease's" \
    --tap tap0 --address 198.18.0.2/24 --resolve www.skiff.test
flag_error "error: --dns-server and --dns-search are for --resolve" --tap tap0 --address 198.18.0.2/24 --dns-server 198.18.0.1
flag_error "error: --resolve a..b: not a host name" --tap tap0 --address 198.18.0.2/24 --dns-server 198.18.0.1 --resolve a..b
flag_error "error: --dns-server 198.18.0.256: not an IPv4 address (a.b.c.d)" \
    --tap tap0 --address 198.18.0.2/24 --dns-server 198.18.0.256 --resolve www.skiff.test

# The namespace and tap0 (Linux side 198.18.0.1/24), then dnsmasq on it, then skiff.
NS="skf-it-${TEST_NAME}-$$"
ip netns add "$NS"
in_ns ip link set lo up
in_ns ip tuntap add dev "$TAP" mode tap
in_ns ip addr add "$LINUX_ADDRESS/$PREFIX" dev "$TAP"
in_ns ip link set "$TAP" up

ip netns exec "$NS" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --user=root \
    --interface="$TAP" --bind-interfaces --log-queries --log-dhcp --log-facility="$DNSMASQ_LOG" \
    --pid-file="$WORKDIR/dnsmasq.pid" --dhcp-leasefile="$WORKDIR/dnsmasq.leases" \
    --local=/skiff.test/ --local-ttl=600 \
    --host-record=www.skiff.test,198.18.0.20 --host-record=host.skiff.test,198.18.0.22 \
    --cname=alias.skiff.test,www.skiff.test --cname=alias2.skiff.test,alias.skiff.test \
    --dhcp-range=198.18.0.100,198.18.0.150,255.255.255.0,2m --dhcp-authoritative --no-ping \
    --dhcp-option=option:dns-server,198.18.0.1 --dhcp-option=option:domain-search,skiff.test &
DNSMASQ_PID=$!
for _ in $(seq 50); do grep -q "started, version" "$DNSMASQ_LOG" 2>/dev/null && break; sleep 0.1; done
running "$DNSMASQ_PID" || fail "dnsmasq did not start: $(tail -n 5 "$DNSMASQ_LOG" 2>/dev/null)"

# run_skiff ARGS...: skiff on tap0 with ARGS, output to a fresh $SKIFF_LOG.
run_skiff() {
    [[ -s "$SKIFF_LOG" ]] && mv "$SKIFF_LOG" "$WORKDIR/skiff-$(date +%s%N).log"
    # `ip netns exec` execs the command, so $! is skiff itself.
    ip netns exec "$NS" "$SKIFF" run hosted --tap "$TAP" --echo-port 0 --tcp-echo-port 0 "$@" >"$SKIFF_LOG" 2>&1 &
    SKIFF_PID=$!
}

# wait_for REGEX SECONDS: until skiff prints a line matching the extended REGEX.
wait_for() {
    for _ in $(seq $(($2 * 10))); do
        grep -Eq -- "$1" "$SKIFF_LOG" 2>/dev/null && return 0
        running "$SKIFF_PID" || fail "skiff exited while waiting for /$1/"
        sleep 0.1
    done
    fail "no line /$1/ within $2 s"
}

# expect_line TEXT: skiff printed exactly this line.
expect_line() {
    grep -Fxq -- "$1" "$SKIFF_LOG" || fail "expected '$1'; got: $(grep '^dns: ' "$SKIFF_LOG" | tr '\n' '|')"
}

# 1. Static servers: A, CNAME, CNAME chain, NXDOMAIN, refused, search list, cache.
run_skiff --address "$SKIFF_ADDRESS/$PREFIX" --dns-server "$LINUX_ADDRESS" --dns-search skiff.test \
    --resolve www.skiff.test --resolve alias.skiff.test --resolve alias2.skiff.test --resolve nx.skiff.test \
    --resolve www.elsewhere.example --resolve host --resolve WWW.skiff.test
wait_for "^dns: WWW\.skiff\.test" 15
expect_line "dns: $LINUX_ADDRESS"
expect_line "dns: search skiff.test"
expect_line "dns: www.skiff.test -> 198.18.0.20 (ttl 600, from $LINUX_ADDRESS)"
expect_line "dns: alias.skiff.test -> 198.18.0.20 (cname www.skiff.test, ttl 600, from $LINUX_ADDRESS)"
expect_line "dns: alias2.skiff.test -> 198.18.0.20 (cname www.skiff.test, ttl 600, from $LINUX_ADDRESS)"
expect_line "dns: nx.skiff.test: no such name (NXDOMAIN)"
expect_line "dns: www.elsewhere.example: server failure (REFUSED)"
expect_line "dns: host -> 198.18.0.22 (host.skiff.test, ttl 600, from $LINUX_ADDRESS)"
grep -Eq "^dns: WWW\.skiff\.test -> 198\.18\.0\.20 \(ttl (600|59[0-9]), from cache\)$" "$SKIFF_LOG" \
    || fail "the repeated name did not come from the cache: $(grep '^dns: WWW' "$SKIFF_LOG")"
# dnsmasq saw each query (a loaded machine may make skiff send one again after 1 s, so not counted).
grep -q "query\[A\] www.skiff.test from $SKIFF_ADDRESS" "$DNSMASQ_LOG" || fail "dnsmasq saw no query for www.skiff.test"
grep -q "query\[A\] host.skiff.test from $SKIFF_ADDRESS" "$DNSMASQ_LOG" || fail "dnsmasq saw no query for host.skiff.test"
stop_skiff
grep -Eq "^counters: dns lookups 7, answered 5, failed 2, .*cache hits 1," "$SKIFF_LOG" \
    || fail "unexpected counters: $(grep '^counters: dns' "$SKIFF_LOG")"
log "A, CNAME, CNAME chain, NXDOMAIN, REFUSED, search list and cache checked"

# 2. The first server does not exist: two transmissions (1 s, 2 s), then the second server answers.
started=$SECONDS
run_skiff --address "$SKIFF_ADDRESS/$PREFIX" --dns-server 198.18.0.9 --dns-server "$LINUX_ADDRESS" \
    --resolve www.skiff.test
wait_for "^dns: www\.skiff\.test" 15
expect_line "dns: www.skiff.test -> 198.18.0.20 (ttl 600, from $LINUX_ADDRESS)"
(( SECONDS - started >= 3 )) || fail "the second server was asked before the first one's 1 s + 2 s had passed"
grep -q "dns: 198.18.0.9 did not answer for www.skiff.test; asking $LINUX_ADDRESS" "$SKIFF_LOG" \
    || fail "no log line for the dead server"
stop_skiff
grep -Eq "^counters: dns lookups 1, answered 1, failed 0, queries [3-9], retries [1-9], server switches 1," "$SKIFF_LOG" \
    || fail "unexpected counters: $(grep '^counters: dns' "$SKIFF_LOG")"
log "dead first server: retried once, then the second server answered"

# 3. --dhcp: the servers and the search domain come from the lease (options 6 and 119).
run_skiff --dhcp --resolve www --resolve alias.skiff.test
wait_for "^dns: alias\.skiff\.test" 30
expect_line "dns: www -> 198.18.0.20 (www.skiff.test, ttl 600, from $LINUX_ADDRESS)"
expect_line "dns: alias.skiff.test -> 198.18.0.20 (cname www.skiff.test, ttl 600, from $LINUX_ADDRESS)"
grep -Eq "^dhcp: $TAP lease 198\.18\.0\.1[0-9]{2}/24 from $LINUX_ADDRESS " "$SKIFF_LOG" || fail "no lease line"
stop_skiff
pass "A, CNAME, CNAME chain, NXDOMAIN, REFUSED, search list and cache against dnsmasq; a dead first server skipped after 1 s + 2 s; servers and search domain from a DHCP lease"
