#!/usr/bin/env bash
# A datagram to a closed UDP port draws an ICMP destination unreachable, code 3 (port
# unreachable) from the stack (RFC 1122 §4.1.3.1); Linux reports it on the sending socket's error
# queue (IP_RECVERR) with the stack's address as the offender.
source "$(dirname "$0")/common.bash"
require_root
require_commands ip python3

start_skiff --quiet
in_ns timeout 30 python3 - "$SKIFF_ADDRESS" 9 <<'PY' || fail "no ICMP port unreachable seen"
import select, socket, struct, sys

address, port = sys.argv[1], int(sys.argv[2])
IP_RECVERR = 11
SO_EE_ORIGIN_ICMP = 2
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_IP, IP_RECVERR, 1)
sock.connect((address, port))
poller = select.poll()
poller.register(sock, select.POLLERR)
for attempt in range(3):
    sock.send(b"is anyone listening on the discard port?")
    if not poller.poll(2000):
        continue
    data, ancillary, flags, _ = sock.recvmsg(512, 512, socket.MSG_ERRQUEUE)
    for level, kind, blob in ancillary:
        if level != socket.SOL_IP or kind != IP_RECVERR:
            continue
        # struct sock_extended_err: u32 errno, u8 origin, type, code, pad, u32 info, u32 data;
        # then the offender's struct sockaddr_in.
        err, origin, icmp_type, icmp_code, _, _, _ = struct.unpack("=IBBBBII", blob[:16])
        offender = socket.inet_ntoa(blob[20:24])
        print(f"error queue: errno {err}, origin {origin}, icmp type {icmp_type} code {icmp_code}, from {offender}")
        ok = (origin == SO_EE_ORIGIN_ICMP and icmp_type == 3 and icmp_code == 3
              and offender == address and err == 111)
        sys.exit(0 if ok else 1)
print("no error arrived after 3 datagrams")
sys.exit(1)
PY
stop_skiff
pass "closed port answered with ICMP type 3 code 3 from $SKIFF_ADDRESS"
