#!/usr/bin/env bash
# integration-timeout: 240
# `skiff run hosted --dhcp` against a real DHCP server, dnsmasq, on a bridge with two routers
# (the network of dhcp.bash). Checks: the flags; the lease is taken and printed (`dhcp:` line, then
# `net:`/`route:`/`dns:`) with option 26's MTU; option 3 is ignored because 121 is present
# (RFC 3442 §2), so the default route is R1's; T1 and T2 ping skiff, which can only answer through
# the right router, and each router's forwarding counter moves for its own target only; the lease
# renews at T1 (unicast); dnsmasq is stopped, the next renewal goes unanswered, dnsmasq is started
# again and the lease is rebound at T2 — both pings running all along and none lost; SIGTERM sends
# a DHCPRELEASE; started again with --dhcp-address, skiff gets the same address back by INIT-REBOOT
# (no DISCOVER). About 70 s.
source "$(dirname "$0")/common.bash"
require_root
source "$(dirname "$0")/dhcp.bash"
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

make_dhcp_network
start_dnsmasq
DHCP_LOG=$SKIFF_LOG
ip netns exec "$NS" "$SKIFF" run hosted --tap "$TAP" --dhcp --hostname app1 --echo-port 0 \
    --tcp-echo-port 0 >"$SKIFF_LOG" 2>&1 &
SKIFF_PID=$!
log "skiff started (pid $SKIFF_PID), dnsmasq (pid $DNSMASQ_PID)"

wait_for_line "^dhcp: $TAP lease " 20 "$SKIFF_PID"
check_lease "$TAP"
grep -Eq "DHCPACK\(br0\) $ADDRESS .* app1" "$DNSMASQ_LOG" || fail "dnsmasq did not see host name app1 (option 12)"
check_routers
check_renew_rebind "$TAP" "$SKIFF_PID"

# Release on SIGTERM.
stop_skiff
has_line "^dhcp: $TAP released $ADDRESS/24 to 198\.18\.0\.1$" || fail "no released line"
for _ in $(seq 20); do grep -Eq "DHCPRELEASE\(br0\) $ADDRESS" "$DNSMASQ_LOG" && break; sleep 0.1; done
grep -Eq "DHCPRELEASE\(br0\) $ADDRESS" "$DNSMASQ_LOG" || fail "dnsmasq saw no DHCPRELEASE"
has_line "^counters: dhcp $TAP " || fail "no dhcp counters"

# INIT-REBOOT: started again with the address it had, skiff asks for it without a DISCOVER.
mv "$SKIFF_LOG" "$WORKDIR/skiff-first.log"
ip netns exec "$NS" "$SKIFF" run hosted --tap "$TAP" --dhcp --dhcp-address "$ADDRESS" --hostname app1 \
    --echo-port 0 --tcp-echo-port 0 >"$SKIFF_LOG" 2>&1 &
SKIFF_PID=$!
wait_for_line "^dhcp: $TAP lease " 20 "$SKIFF_PID"
has_line "^dhcp: $TAP lease $ADDRESS/24 from 198\.18\.0\.1 " \
    || fail "INIT-REBOOT got another address: $(grep "^dhcp: $TAP lease" "$SKIFF_LOG")"
has_line "dhcp: $TAP DHCPREQUEST for $ADDRESS \(INIT-REBOOT\)" || fail "no INIT-REBOOT request"
has_line "DHCPDISCOVER" && fail "INIT-REBOOT fell back to DISCOVER"
ip netns exec "$T1" ping -c 2 -i 0.2 -W 2 "$ADDRESS" >/dev/null || fail "T1 cannot ping $ADDRESS after INIT-REBOOT"
stop_skiff
pass "lease $ADDRESS/24 for $LEASE s (renew $RENEW, rebind $REBIND); 121 over option 3; both routers used; renewed, rebound across a dnsmasq restart with no ping lost; released; INIT-REBOOT got it back"
