#!/usr/bin/env bash
# 1000 UDP datagrams of varied sizes (0 to 1472 bytes, plus some that must be fragmented) to the
# echo service (RFC 862, port 7); each reply must equal what was sent, byte for byte.
source "$(dirname "$0")/common.bash"
require_root
require_commands ip python3

start_skiff --quiet
in_ns timeout 120 python3 - "$SKIFF_ADDRESS" 7 <<'PY' || fail "echo client failed"
import random, socket, sys

address, port = sys.argv[1], int(sys.argv[2])
rng = random.Random(862)  # seeded: the same sizes and bytes every run
sizes = [0, 1, 2, 1471, 1472, 1473, 2000, 4000, 8000]
while len(sizes) < 1000:
    # Mostly single-frame datagrams; one in 50 needs IPv4 fragmentation both ways.
    sizes.append(rng.randint(1473, 8000) if rng.random() < 0.02 else rng.randint(0, 1472))

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.connect((address, port))
sent = set()
retries = 0
total = 0
for index, size in enumerate(sizes):
    payload = rng.randbytes(size)
    attempts = 0
    while True:
        sock.send(payload)
        attempts += 1
        sock.settimeout(2.0)
        try:
            while True:
                reply = sock.recv(65535)
                if reply == payload:
                    break
                if reply in sent:
                    continue  # a late duplicate of an earlier retry
                print(f"datagram {index}: sent {size} bytes, got {len(reply)} different bytes")
                sys.exit(1)
            break
        except socket.timeout:
            if attempts >= 3:
                print(f"datagram {index} ({size} bytes): no reply after {attempts} tries")
                sys.exit(1)
            retries += 1
    sent.add(payload)
    total += size
print(f"udp echo: {len(sizes)} datagrams, {total} bytes echoed byte for byte, {retries} retries")
sys.exit(0 if retries <= 5 else 1)
PY
stop_skiff
echoed=$(sed -n 's/^counters: echo \([0-9]*\) datagrams.*/\1/p' "$SKIFF_LOG")
[[ ${echoed:-0} -ge 1000 ]] || fail "skiff counted ${echoed:-no} echoed datagrams, expected at least 1000"
pass "1000 datagrams echoed byte for byte (skiff counted $echoed)"
