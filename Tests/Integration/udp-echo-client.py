#!/usr/bin/env python3
"""Sends 1000 UDP datagrams of seeded random sizes and bytes (some needing IPv4 fragmentation) to
an RFC 862 echo service and checks each reply byte for byte. Usage: udp-echo-client.py ADDRESS PORT.
Exit 0 when all were echoed with at most 5 retries in all; used by udp-echo.sh and kernel-net.sh."""
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
