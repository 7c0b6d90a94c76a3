#!/usr/bin/env bash
# 1000 UDP datagrams of varied sizes (0 to 1472 bytes, plus some that must be fragmented) to the
# echo service (RFC 862, port 7); each reply must equal what was sent, byte for byte.
source "$(dirname "$0")/common.bash"
require_root
require_commands ip python3

start_skiff --quiet
in_ns timeout 120 python3 "$(dirname "$0")/udp-echo-client.py" "$SKIFF_ADDRESS" 7 || fail "echo client failed"
stop_skiff
echoed=$(sed -n 's/^counters: echo \([0-9]*\) datagrams.*/\1/p' "$SKIFF_LOG")
[[ ${echoed:-0} -ge 1000 ]] || fail "skiff counted ${echoed:-no} echoed datagrams, expected at least 1000"
pass "1000 datagrams echoed byte for byte (skiff counted $echoed)"
