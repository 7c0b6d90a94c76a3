#!/usr/bin/env bash
# `make demo`: builds Examples/web (a static site and a JSON endpoint on Skiff's TCP and HTTP
# server) into a kernel, boots it under QEMU with `skiff run qemu` on QEMU's user-mode network
# (restrict=on) with 127.0.0.1:PORT forwarded to the guest's port 80, fetches a page to prove it
# works, says how to reach it, and keeps running until Ctrl-C. PORT is $DEMO_PORT or 8080.
# No root needed: nothing leaves the QEMU process but the loopback forward.
set -euo pipefail
cd "$(dirname "$0")/.."

Scripts/deps.sh demo
command -v curl >/dev/null || { echo "demo: curl is missing (apt-get install curl)" >&2; exit 1; }

skiff="${SKIFF:-}"
if [[ -z "$skiff" ]]; then
    echo "demo: building skiff"
    swift build --product skiff 2>&1 | tail -n 1
    skiff="$(swift build --show-bin-path)/skiff"
fi
port="${DEMO_PORT:-8080}"
if python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1])))" "$port" 2>/dev/null; then :; else
    echo "demo: 127.0.0.1:$port is in use; pick another with DEMO_PORT=NNNN make demo" >&2
    exit 1
fi

echo "demo: building Examples/web into a kernel"
"$skiff" build Examples/web --output .build-kernel/web.elf

pid=""
cleanup() {
    trap - EXIT INT TERM
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "demo: booting it: skiff run qemu .build-kernel/web.elf --user-net hostfwd=tcp:127.0.0.1:$port-:80 --append \"ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off\""
"$skiff" run qemu .build-kernel/web.elf --user-net "hostfwd=tcp:127.0.0.1:$port-:80" \
    --append "ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off" &
pid=$!
page=""
for _ in $(seq 120); do
    kill -0 "$pid" 2>/dev/null || { echo "demo: skiff exited"; exit 1; }
    page=$(curl -sS -m 2 "http://127.0.0.1:$port/" 2>/dev/null) && break
    sleep 0.5
done
[[ -n "$page" ]] || { echo "demo: no answer from http://127.0.0.1:$port/ within 60 s"; exit 1; }
echo
echo "demo: \$ curl http://127.0.0.1:$port/"
echo "$page"
echo "demo: \$ curl http://127.0.0.1:$port/api/status"
curl -sS -m 5 "http://127.0.0.1:$port/api/status"
echo
echo "demo: Skiff is serving http://127.0.0.1:$port/ (open it in a browser, or curl it)."
echo "demo: press Ctrl-C to stop (QEMU stops)"
wait "$pid"
