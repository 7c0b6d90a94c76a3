#!/usr/bin/env bash
# Linux pings the hosted stack with 4000-byte payloads: each request arrives in three IPv4
# fragments (MTU 1500) that the stack must reassemble (RFC 791 §3.2), and each 4008-byte reply
# must be fragmented by the stack and reassembled by Linux. 50 of them, no loss.
source "$(dirname "$0")/common.bash"
require_root
require_commands ip ping

start_skiff --quiet
output=$(in_ns timeout 60 ping -n -c 50 -s 4000 -i 0.05 -W 2 -w 30 "$SKIFF_ADDRESS" 2>&1) || true
summary=$(grep -E 'packets transmitted' <<<"$output" || true)
log "${summary:-no ping summary}"
grep -qE '^50 packets transmitted, 50 received, 0% packet loss' <<<"$output" \
    || { echo "$output" | tail -n 20; fail "expected 50 of 50 replies"; }
replies=$(grep -cE '^4008 bytes from 198\.18\.0\.2: icmp_seq=[0-9]+ ttl=[0-9]+' <<<"$output" || true)
[[ $replies -eq 50 ]] || fail "expected 50 replies of 4008 bytes, saw $replies"
stop_skiff
pass "50/50 fragmented echo requests (4000-byte payload) answered"
