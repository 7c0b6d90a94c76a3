#!/usr/bin/env bash
# integration-timeout: 480
# Examples/web as a booted kernel: Skiff's TCP and HTTP server under QEMU, reached two ways:
#   1. through QEMU's user-mode network (restrict=on) with a host port forwarded on 127.0.0.1,
#      the address leased from QEMU's DHCP server (no ip= given): pages, ETag/If-None-Match, JSON, 404, HEAD, keep-alive and
#      pipelined requests on one connection; the files of Examples/web/assets/ (packed by
#      `skiff build`) byte for byte with their types, ETags and 304s; a Date field (the RTC's
#      time) that is a well-formed IMF-fixdate within two minutes of the host's clock; streamed
#      bodies of unknown length, chunked to HTTP/1.1 and close-delimited to HTTP/1.0, hash-equal;
#   2. on a TAP device in a network namespace made here (198.18.0.0/24), by Linux's own TCP:
#      200 sequential requests and 50 concurrent connections, all answered.
source "$(dirname "$0")/common.bash"
require_root
require_commands ip curl python3 qemu-system-x86_64

source "$(dirname "$0")/kernel.bash"

log "building Examples/web"
build_example web "$WORKDIR/web.elf"

# 1. User-mode network with a forwarded port on a free loopback port.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
: >"$SERIAL"
# No address on the command line: the NIC asks DHCP, and QEMU's own DHCP server (slirp) answers
# with 10.0.2.15, the address hostfwd forwards to.
"$SKIFF" run qemu "$WORKDIR/web.elf" --accel tcg --user-net "hostfwd=tcp:127.0.0.1:$port-:80" \
    --serial "$SERIAL" >"$WORKDIR/skiff.log" 2>&1 &
QEMU_PID=$!
wait_for_console '^http: tcp port 80' "user network"
wait_for_console '^dhcp: eth0 lease 10\.0\.2\.15/24 from 10\.0\.2\.2 ' "user network (DHCP from QEMU's slirp)"
log "user network: $(grep -m1 -a '^dhcp: eth0 lease' "$SERIAL" | tr -d '\r')"
base="http://127.0.0.1:$port"
page=""
for _ in $(seq 20); do
    page=$(curl -sS -m 5 -D "$WORKDIR/headers" "$base/" 2>/dev/null) && break
    sleep 0.5
done
grep -q '<h1>Hello from Skiff</h1>' <<<"$page" || fail "GET / did not return the page: $page"
grep -qi '^content-type: text/html' "$WORKDIR/headers" || fail "GET /: no text/html Content-Type"
etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *\(".*"\).*$/\1/p' "$WORKDIR/headers" | tr -d '\r')
[[ -n "$etag" ]] || fail "GET /: no ETag"
code=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$base/")
[[ $code == 304 ]] || fail "If-None-Match $etag gave $code, not 304"
json=$(curl -sS -m 5 "$base/api/status")
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["service"]=="skiff-web" and d["requests"]>=1' "$json" \
    || fail "/api/status is not the expected JSON: $json"
code=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "$base/no/such/page")
[[ $code == 404 ]] || fail "a missing page gave $code, not 404"
head=$(curl -sS -m 5 -I "$base/style.css" | tr -d '\r')
grep -q '^HTTP/1.1 200' <<<"$head" && grep -qi '^content-length: [1-9]' <<<"$head" || fail "HEAD /style.css: $head"
# Keep-alive: curl reuses one connection for several URLs; pipelining: three requests in one write.
reuse=$(curl -sS -m 10 -v "$base/" "$base/style.css" "$base/api/status" 2>&1 >/dev/null | grep -c 'Re-using existing connection' || true)
((reuse >= 2)) || fail "curl did not reuse the keep-alive connection (re-used $reuse times)"
python3 - "$port" <<'PY' || fail "pipelined requests"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"GET /api/status HTTP/1.1\r\nHost: t\r\n\r\nGET /style.css HTTP/1.1\r\nHost: t\r\n\r\n"
          b"GET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
# Walk the responses by their Content-Length (bodies need not end in CRLF).
statuses = []
while data:
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    statuses.append(lines[0].split(b" ")[1])
    length = int(next(l.split(b":")[1] for l in lines if l.lower().startswith(b"content-length:")))
    data = rest[length:]
if statuses != [b"200", b"200", b"404"]:
    print("pipelined responses:", statuses)
    sys.exit(1)
PY
log "user-mode network: page, 304 via If-None-Match, JSON, 404, HEAD, keep-alive and pipelining work"

# The assets folder, packed by `skiff build`: every file served byte for byte with its type, an
# ETag, and 304 when asked with that ETag.
assets="$KERNEL_ROOT/Examples/web/assets"
files=$(cd "$assets" && find . -type f ! -name '.*' | sed 's|^\./||' | sort)
count=$(wc -l <<<"$files")
console_has "the packed assets" "^assets: $count files, "
for file in $files; do
    curl -sS -m 5 -D "$WORKDIR/asset.headers" -o "$WORKDIR/asset" "$base/$file" || fail "GET /$file"
    tr -d '\r' <"$WORKDIR/asset.headers" >"$WORKDIR/asset.h"
    grep -q '^HTTP/1.1 200' "$WORKDIR/asset.h" || fail "GET /$file: $(head -n 1 "$WORKDIR/asset.h")"
    cmp -s "$WORKDIR/asset" "$assets/$file" || fail "GET /$file: the body differs from $assets/$file"
    case "$file" in
        *.html) type="text/html; charset=utf-8" ;;
        *.css) type="text/css; charset=utf-8" ;;
        *.svg) type="image/svg+xml" ;;
        *) type="" ;;
    esac
    [[ -z "$type" ]] || grep -qi "^content-type: $type\$" "$WORKDIR/asset.h" || fail "GET /$file: Content-Type is not $type"
    etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *\(".*"\)$/\1/p' "$WORKDIR/asset.h")
    [[ -n "$etag" ]] || fail "GET /$file: no ETag"
    curl -sS -m 5 -D "$WORKDIR/asset304.headers" -o "$WORKDIR/asset304" -H "If-None-Match: $etag" "$base/$file"
    head -n 1 "$WORKDIR/asset304.headers" | grep -q '^HTTP/1.1 304' || fail "GET /$file with If-None-Match $etag: not 304"
    [[ ! -s "$WORKDIR/asset304" ]] || fail "GET /$file: a 304 with a body"
    grep -qi "^etag: $etag" <(tr -d '\r' <"$WORKDIR/asset304.headers") || fail "GET /$file: the 304 lacks the ETag"
done
log "assets: $count files from Examples/web/assets served byte for byte, with types, ETags and 304s"

# Date (RFC 9110 §6.6.1): in a 200, a 404 and a 304, an IMF-fixdate whose weekday matches its date,
# within two minutes of the host's clock (QEMU's RTC starts at the host's UTC time).
for what in "/" "/no/such/page" "304"; do
    if [[ $what == 304 ]]; then
        curl -sS -m 5 -D "$WORKDIR/date.headers" -o /dev/null -H "If-None-Match: $etag" "$base/$file"
    else
        curl -sS -m 5 -D "$WORKDIR/date.headers" -o /dev/null "$base$what"
    fi
    python3 - "$WORKDIR/date.headers" "$what" <<'PY' || fail "Date in the response to $what"
import datetime, re, sys, time
head = open(sys.argv[1], "rb").read().decode("latin-1").split("\r\n")
dates = [line.split(":", 1)[1].strip() for line in head if line.lower().startswith("date:")]
if len(dates) != 1:
    sys.exit(f"{sys.argv[2]}: {len(dates)} Date fields: {head}")
value = dates[0]
if not re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT", value):
    sys.exit(f"{sys.argv[2]}: not an IMF-fixdate: {value!r}")
parsed = datetime.datetime.strptime(value, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=datetime.timezone.utc)
if parsed.strftime("%a, %d %b %Y %H:%M:%S GMT") != value:
    sys.exit(f"{sys.argv[2]}: the weekday does not match the date: {value!r}")
skew = parsed.timestamp() - time.time()
if abs(skew) > 120:
    sys.exit(f"{sys.argv[2]}: Date {value} is {skew:.0f} s from the host's clock")
print(f"{sys.argv[2]}: Date: {value} ({skew:+.0f} s from the host)")
PY
done
log "Date: an IMF-fixdate close to the host's clock in 200, 404 and 304 responses"

# Streamed bodies without a length: chunked to HTTP/1.1, close-delimited to HTTP/1.0.
size=3000000
expected=$(python3 "$KERNEL_ROOT/Tests/Integration/tcp-tools.py" stream-sha "$size")
got=$(curl -sS -m 60 -D "$WORKDIR/chunked.headers" "$base/chunked/$size" | sha256sum | cut -d' ' -f1) || true
[[ $got == "$expected" ]] || fail "/chunked/$size over HTTP/1.1: SHA-256 differs from the stream"
tr -d '\r' <"$WORKDIR/chunked.headers" >"$WORKDIR/chunked.h"
grep -qi '^transfer-encoding: chunked$' "$WORKDIR/chunked.h" || fail "/chunked/$size over HTTP/1.1 was not chunked"
! grep -qi '^content-length:' "$WORKDIR/chunked.h" || fail "/chunked/$size over HTTP/1.1 has a Content-Length"
got=$(curl -sS -m 60 --http1.0 -D "$WORKDIR/close.headers" "$base/chunked/$size" | sha256sum | cut -d' ' -f1) || true
[[ $got == "$expected" ]] || fail "/chunked/$size over HTTP/1.0: SHA-256 differs from the stream"
tr -d '\r' <"$WORKDIR/close.headers" >"$WORKDIR/close.h"
grep -qi '^connection: close$' "$WORKDIR/close.h" || fail "/chunked/$size over HTTP/1.0: no Connection: close"
! grep -qiE '^(content-length|transfer-encoding):' "$WORKDIR/close.h" || fail "/chunked/$size over HTTP/1.0: framed, not close-delimited"
log "streamed bodies: /chunked/$size hash-equal, chunked over HTTP/1.1 and close-delimited over HTTP/1.0"
stop_qemu

# 2. A TAP device in a namespace: Linux's TCP against Skiff's.
make_namespace 1
boot_in_ns "$WORKDIR/web.elf" "ip=198.18.0.10::198.18.0.1:255.255.255.0::eth0:off" '^http: tcp port 80' --tap tap0
for _ in $(seq 20); do in_ns curl -sS -m 5 -o /dev/null http://198.18.0.10/ 2>/dev/null && break; sleep 0.5; done
in_ns timeout 120 python3 - <<'PY' || fail "requests over the TAP device"
import socket, threading, sys
address = ("198.18.0.10", 80)
def get(path, sock=None):
    own = sock is None
    if own:
        sock = socket.create_connection(address, timeout=10)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n{'Connection: close' if own else ''}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < length:
        body += sock.recv(65536)
    if own:
        sock.close()
    return head.split(b" ")[1], body
# 200 sequential requests on one keep-alive connection.
s = socket.create_connection(address, timeout=10)
for i in range(200):
    status, body = get("/index.html", s)
    assert status == b"200" and b"Hello from Skiff" in body, (i, status)
s.close()
# 50 concurrent connections, each fetching twice.
errors = []
def worker(n):
    try:
        for _ in range(2):
            status, body = get("/api/status")
            assert status == b"200" and b"skiff-web" in body
    except Exception as e:
        errors.append(f"{n}: {e!r}")
threads = [threading.Thread(target=worker, args=(n,)) for n in range(50)]
for t in threads: t.start()
for t in threads: t.join()
if errors:
    print(len(errors), "failures, first:", errors[:3])
    sys.exit(1)
print("200 keep-alive requests and 100 requests over 50 concurrent connections answered")
PY
pass "Examples/web serves its packed assets with ETags and 304s, Date fields, JSON, 404s and streamed bodies through QEMU's user network (the address leased from its DHCP server), and keep-alive, pipelining and 50 concurrent connections over a TAP device"
