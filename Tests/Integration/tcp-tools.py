"""Clients for the TCP integration tests (not a test itself: it does not end in .sh).

  tcp-tools.py stream-sha N                 SHA-256 of the demo site's /bytes/N (DemoSite.swift)
  tcp-tools.py echo HOST PORT BYTES [SEED]  sends BYTES to a TCP echo service while receiving
                                            the echo; checks count and SHA-256; prints MB/s
  tcp-tools.py echo-server HOST PORT        a Linux TCP echo service for one connection (the
                                            baseline the echo client measures Skiff against)
  tcp-tools.py malformed HOST PORT          oversized header -> 431, bad chunking -> 400
  tcp-tools.py slow HOST PORT SECONDS       half a request, then silence: expects 408 within
                                            SECONDS while other connections are answered at once
  tcp-tools.py syn-flood IFACE MAC DST PORT SRC COUNT
                                            COUNT SYNs from SRC (random ports) to DST:PORT,
                                            sent as frames on IFACE to MAC (needs scapy)

TCP_CONGESTION=NAME in the environment makes the echo client and server use that congestion
control (TCP_CONGESTION socket option), e.g. cubic where the machine's default is bbr.

Exit status 0 when the check holds, 1 with a one-line reason when it does not.
"""
import hashlib
import os
import random
import socket
import sys
import threading
import time

PERIOD = 65521


def stream_period():
    # DemoSite.StreamGenerator: xorshift32 (13, 17, 5) from 0x9E3779B9, top byte of each state.
    x = 0x9E3779B9
    out = bytearray(PERIOD)
    for i in range(PERIOD):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = x >> 24
    return bytes(out)


def stream_sha(count):
    block = stream_period()
    digest = hashlib.sha256()
    big = block * 64  # about 4 MB per update
    left = count
    while left > 0:
        piece = big if left >= len(big) else big[:left]
        digest.update(piece)
        left -= len(piece)
    return digest.hexdigest()


def congestion_control(sock):
    name = os.environ.get("TCP_CONGESTION")
    if name:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, name.encode())


def fail(message):
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def echo(host, port, total, seed=1, timeout=120):
    data = random.Random(seed).randbytes(total)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    congestion_control(sock)
    sock.connect((host, port))
    received = hashlib.sha256()
    count = [0]
    errors = []

    def receive():
        try:
            while True:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    return
                received.update(chunk)
                count[0] += len(chunk)
        except Exception as error:  # noqa: BLE001
            errors.append(f"receive: {error!r}")

    reader = threading.Thread(target=receive)
    started = time.monotonic()
    reader.start()
    try:
        view = memoryview(data)
        for offset in range(0, total, 1 << 16):
            sock.sendall(view[offset:offset + (1 << 16)])
        sock.shutdown(socket.SHUT_WR)
    except Exception as error:  # noqa: BLE001
        errors.append(f"send: {error!r}")
    reader.join(timeout)
    elapsed = time.monotonic() - started
    sock.close()
    if reader.is_alive():
        fail(f"echo: no end of stream within {timeout} s ({count[0]} of {total} bytes back)")
    if errors:
        fail("echo: " + "; ".join(errors))
    if count[0] != total:
        fail(f"echo: {count[0]} bytes back, sent {total}")
    if received.hexdigest() != hashlib.sha256(data).hexdigest():
        fail("echo: the bytes back differ from the bytes sent (SHA-256)")
    rate = total / elapsed / 1e6
    print(f"echo {total} bytes each way in {elapsed:.1f} s ({rate:.{1 if rate >= 1 else 3}f} MB/s each way), "
          "SHA-256 equal", flush=True)


def echo_server(host, port, timeout=300):
    server = socket.create_server((host, port))
    congestion_control(server)
    server.settimeout(timeout)
    connection, _ = server.accept()
    connection.settimeout(timeout)
    with connection:
        while True:
            chunk = connection.recv(1 << 16)
            if not chunk:
                break
            connection.sendall(chunk)
        connection.shutdown(socket.SHUT_WR)
    server.close()


def exchange(host, port, request, timeout=10):
    """Sends `request`, returns everything until the server closes."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.sendall(request)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    sock.close()
    return data


def status_of(response):
    line = response.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    return parts[1].decode() if len(parts) > 1 else f"<no status line: {response[:60]!r}>"


def malformed(host, port):
    big = b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
    status = status_of(exchange(host, port, big))
    if status != "431":
        fail(f"oversized header: status {status}, expected 431")
    bad_chunk = (b"POST /api/status HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"zz\r\nhello\r\n0\r\n\r\n")
    status = status_of(exchange(host, port, bad_chunk))
    if status != "400":
        fail(f"bad chunk size: status {status}, expected 400")
    # A chunk longer than its size line says.
    bad_chunk = (b"POST /api/status HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"3\r\nhello\r\n0\r\n\r\n")
    status = status_of(exchange(host, port, bad_chunk))
    if status != "400":
        fail(f"chunk longer than its size: status {status}, expected 400")
    print("oversized header 431, bad chunk size 400, overlong chunk 400", flush=True)


def slow(host, port, seconds):
    sock = socket.create_connection((host, port), timeout=seconds + 10)
    sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: t\r\n")  # no blank line: half a request
    started = time.monotonic()
    # Meanwhile other connections are answered at once.
    worst = 0.0
    for _ in range(20):
        t = time.monotonic()
        status = status_of(exchange(host, port, b"GET /api/status HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"))
        worst = max(worst, time.monotonic() - t)
        if status != "200":
            fail(f"slow client: another connection got {status}")
    if worst > 2.0:
        fail(f"slow client: other requests took up to {worst:.2f} s")
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    waited = time.monotonic() - started
    status = status_of(data)
    if status != "408":
        fail(f"slow client: status {status} after {waited:.1f} s, expected 408")
    if waited > seconds:
        fail(f"slow client: 408 only after {waited:.1f} s")
    print(f"slow client: 408 after {waited:.1f} s; 20 other requests meanwhile, slowest {worst * 1000:.0f} ms",
          flush=True)


def syn_flood(iface, mac, dst, port, src, count):
    from scapy.all import Ether, IP, TCP, sendp  # noqa: PLC0415
    rng = random.Random(862)
    frames = [Ether(dst=mac, src="02:00:00:00:00:99") /
              IP(src=src, dst=dst) /
              TCP(sport=rng.randrange(1024, 65536), dport=port, flags="S", seq=rng.randrange(1 << 32),
                  options=[("MSS", 1460)])
              for _ in range(count)]
    started = time.monotonic()
    sendp(frames, iface=iface, verbose=False, inter=0.001)
    print(f"syn flood: {count} SYNs from {src} in {time.monotonic() - started:.1f} s", flush=True)


def main():
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    args = sys.argv[2:]
    if command == "stream-sha":
        print(stream_sha(int(args[0])))
    elif command == "echo":
        echo(args[0], int(args[1]), int(args[2]), int(args[3]) if len(args) > 3 else 1)
    elif command == "echo-server":
        echo_server(args[0], int(args[1]))
    elif command == "malformed":
        malformed(args[0], int(args[1]))
    elif command == "slow":
        slow(args[0], int(args[1]), float(args[2]))
    elif command == "syn-flood":
        syn_flood(args[0], args[1], args[2], int(args[3]), args[4], int(args[5]))
    else:
        print(__doc__)
        sys.exit(64)


if __name__ == "__main__":
    main()
