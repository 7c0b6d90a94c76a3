#!/usr/bin/env bash
# ARP requests from Linux for the stack's address get replies carrying the stack's MAC address
# (RFC 826), the one `skiff run hosted` printed.
source "$(dirname "$0")/common.bash"
require_root
require_commands ip arping

start_skiff --quiet
output=$(in_ns timeout 30 arping -c 3 -w 10 -i "$TAP" "$SKIFF_ADDRESS" 2>&1) || true
log "$(grep -E 'packets transmitted' <<<"$output" || echo "no arping summary")"
replies=$(grep -ciE "bytes from $SKIFF_MAC \(198\.18\.0\.2\)" <<<"$output" || true)
[[ $replies -eq 3 ]] || { echo "$output"; fail "expected 3 ARP replies from $SKIFF_MAC, saw $replies"; }
stop_skiff
pass "3/3 ARP requests answered by $SKIFF_MAC"
