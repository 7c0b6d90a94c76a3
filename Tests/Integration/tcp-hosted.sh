#!/usr/bin/env bash
# integration-timeout: 300
# Skiff's TCP as a Linux process (`skiff run hosted --http-port 80`, TCP echo on port 7) against
# Linux's TCP on a TAP device in a namespace made here (198.18.0.0/24):
#   1. a bounded SYN flood (scapy: 2000 SYNs from random ports of a spoofed 198.18.0.77, whose
#      ARP nobody answers) while curl keeps getting answers (SYN cookies once the queue is full);
#   2. malformed HTTP: an oversized header gets 431, bad chunking 400, and a client that sends
#      half a request and stalls gets 408 while other connections are answered at once;
#   3. a 50 MB download of /bytes/52428800 whose SHA-256 equals the stream computed in Python;
#   4. 20 MB each way through TCP echo (sending while receiving), compared by SHA-256;
#   5. afterwards /api/status shows the stack holding no connection but the one asking, once
#      TIME-WAIT (60 s) and the flood's SYN-RECEIVED blocks (63 s of SYN-ACK retries) are over —
#      nothing stuck in CLOSE-WAIT, LAST-ACK or FIN-WAIT.
source "$(dirname "$0")/common.bash"
require_root
require_commands ip curl python3 sha256sum

TOOLS="$(cd "$(dirname "$0")" && pwd)/tcp-tools.py"
BASE="http://$SKIFF_ADDRESS"
# scapy comes from Debian's python3-scapy: use the interpreter that has it.
SCAPY_PYTHON=""
for candidate in python3 /usr/bin/python3; do
    if "$candidate" -c 'import scapy.all' 2>/dev/null; then SCAPY_PYTHON=$candidate; break; fi
done
[[ -n "$SCAPY_PYTHON" ]] || skip "no python3 with scapy (Scripts/deps.sh installs python3-scapy)"

start_skiff --quiet --http-port 80
grep -q '^http: tcp port 80$' "$SKIFF_LOG" || fail "no 'http: tcp port 80' line"
grep -q '^echo: tcp port 7$' "$SKIFF_LOG" || fail "no 'echo: tcp port 7' line"
status_json() { in_ns curl -sS -m 5 "$BASE/api/status"; }
json_field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
started=$SECONDS

# 1. SYN flood while curl keeps working.
flood_log="$WORKDIR/flood.txt"
in_ns "$SCAPY_PYTHON" "$TOOLS" syn-flood "$TAP" "$SKIFF_MAC" "$SKIFF_ADDRESS" 80 198.18.0.77 2000 >"$flood_log" 2>&1 &
flood_pid=$!
answered=0
failed=0
while running "$flood_pid"; do
    if in_ns curl -sS -m 5 -o /dev/null "$BASE/index.html"; then answered=$((answered + 1)); else failed=$((failed + 1)); fi
done
wait "$flood_pid" || { cat "$flood_log"; fail "the SYN flood did not run"; }
for _ in $(seq 10); do
    if in_ns curl -sS -m 5 -o /dev/null "$BASE/index.html"; then answered=$((answered + 1)); else failed=$((failed + 1)); fi
done
((failed == 0)) || fail "SYN flood: $failed of $((answered + failed)) requests failed"
flood_status=$(status_json)
log "$(cat "$flood_log"); $answered requests answered meanwhile, none failed; stack holds $(json_field "$flood_status" tcp_connections) connections"

# 2. Malformed requests, and a slow client in the background (408 after the 15 s request timeout)
#    while the downloads below run.
in_ns timeout 60 python3 "$TOOLS" malformed "$SKIFF_ADDRESS" 80 || fail "malformed requests"
slow_log="$WORKDIR/slow.txt"
in_ns timeout 60 python3 "$TOOLS" slow "$SKIFF_ADDRESS" 80 25 >"$slow_log" 2>&1 &
slow_pid=$!

# 3. 50 MB download, hash-checked.
size=52428800
expected=$(python3 "$TOOLS" stream-sha $size)
t0=$(date +%s.%N)
in_ns curl -sS -m 120 -o "$WORKDIR/bytes" -w '%{http_code} %{size_download}\n' "$BASE/bytes/$size" >"$WORKDIR/curl.txt" \
    || fail "curl /bytes/$size failed: $(cat "$WORKDIR/curl.txt")"
t1=$(date +%s.%N)
read -r code got <"$WORKDIR/curl.txt"
[[ $code == 200 && $got == "$size" ]] || fail "/bytes/$size: status $code, $got bytes"
actual=$(sha256sum "$WORKDIR/bytes" | cut -d' ' -f1)
rm -f "$WORKDIR/bytes"
[[ $actual == "$expected" ]] || fail "/bytes/$size: SHA-256 $actual, expected $expected"
log "download: $size bytes in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f s (%.1f MB/s)", b - a, 52.4288 / (b - a) }'), SHA-256 equal"

# 4. TCP echo, 20 MB each way.
in_ns timeout 150 python3 "$TOOLS" echo "$SKIFF_ADDRESS" 7 20000000 >"$WORKDIR/echo.txt" || { cat "$WORKDIR/echo.txt"; fail "TCP echo"; }
log "$(cat "$WORKDIR/echo.txt")"

wait "$slow_pid" || { cat "$slow_log"; fail "slow client"; }
log "$(cat "$slow_log")"

# 5. Nothing left but the connection asking, once TIME-WAIT and the flood's SYN-RECEIVED are over.
left=""
for _ in $(seq 120); do
    status=$(status_json) || fail "/api/status failed"
    left=$(json_field "$status" tcp_connections)
    [[ $left == 1 ]] && break
    sleep 1
done
[[ $left == 1 ]] || fail "the stack still holds $left connections after the load: $status"
[[ $(json_field "$status" echo_connections) == 0 ]] || fail "the echo service still has open connections: $status"
log "after the load: the stack holds only the status request's connection ($((SECONDS - started)) s into the test)"

stop_skiff
grep -q '^counters: tcp-echo 1 connections 20000000 bytes, 1 closed, 0 reset' "$SKIFF_LOG" \
    || fail "tcp-echo counters: $(grep '^counters: tcp-echo' "$SKIFF_LOG")"
grep -q '^counters: http .* 5xx 0,' "$SKIFF_LOG" || fail "http counters: $(grep '^counters: http' "$SKIFF_LOG")"
pass "SYN flood survived, 431/400/408 as due, 50 MB download and 20 MB echo each way hash-equal, no connection left behind"
