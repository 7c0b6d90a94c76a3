#!/usr/bin/env bash
# `make demo-ping`: builds Examples/ping into a kernel and boots it under QEMU (`skiff run qemu`) with a
# virtio-net NIC on a TAP device inside a fresh network namespace, pings it, echoes one UDP
# datagram through it, shows how to reach it, and keeps running until Ctrl-C.
# `make demo-hosted` (Scripts/demo.sh hosted) does the same with the stack as a Linux process.
# The namespace is deleted on every exit path.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
    echo "make demo needs root (it creates a network namespace and a TAP device): sudo make demo" >&2
    exit 1
fi
Scripts/deps.sh demo

skiff="${SKIFF:-}"
if [[ -z "$skiff" ]]; then
    echo "demo: building skiff"
    swift build --product skiff 2>&1 | tail -n 1
    skiff="$(swift build --show-bin-path)/skiff"
fi

mode="${1:-kernel}"
case "$mode" in
    kernel) address=198.18.0.10 ;;
    hosted) address=198.18.0.2 ;;
    *) echo "usage: $0 [kernel|hosted]" >&2; exit 64 ;;
esac
if [[ $mode == kernel ]]; then
    echo "demo: building Examples/ping into a kernel"
    "$skiff" build Examples/ping --output .build-kernel/ping.elf
fi

ns="skiff-demo-$$"
pid=""
cleanup() {
    trap - EXIT INT TERM
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    ip netns del "$ns" 2>/dev/null || true
    echo "demo: namespace $ns deleted"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "demo: namespace $ns, Linux side 198.18.0.1/24 on tap0, Skiff at $address/24"
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" ip tuntap add dev tap0 mode tap
ip netns exec "$ns" ip addr add 198.18.0.1/24 dev tap0
ip netns exec "$ns" ip link set tap0 up

# `ip netns exec` execs skiff, so $pid is skiff itself; its output (and the guest's console) goes
# to this terminal.
if [[ $mode == kernel ]]; then
    ip netns exec "$ns" "$skiff" run qemu .build-kernel/ping.elf --tap tap0 \
        --append "ip=$address::198.18.0.1:255.255.255.0::eth0:off" &
    pid=$!
    for _ in $(seq 300); do
        ip netns exec "$ns" ping -c 1 -W 1 -q "$address" >/dev/null 2>&1 && break
        kill -0 "$pid" 2>/dev/null || { echo "demo: skiff exited"; exit 1; }
    done
else
    ip netns exec "$ns" "$skiff" run hosted --tap tap0 --address "$address/24" --gateway 198.18.0.1 &
    pid=$!
    for _ in $(seq 50); do
        ip netns exec "$ns" ip -o link show tap0 | grep -q 'LOWER_UP' && break
        kill -0 "$pid" 2>/dev/null || { echo "demo: skiff exited"; exit 1; }
        sleep 0.1
    done
    sleep 0.3
fi

echo
echo "demo: \$ ping -c 3 $address"
ip netns exec "$ns" ping -c 3 -i 0.3 $address
echo
echo "demo: \$ echo 'hello, skiff' | socat - UDP:$address:7"
reply=$(echo "hello, skiff" | ip netns exec "$ns" timeout 5 socat -t 1 - UDP:$address:7)
echo "demo: echoed back: $reply"
echo
echo "demo: Skiff is running. From another terminal:"
echo "    sudo ip netns exec $ns ping $address"
echo "    sudo ip netns exec $ns socat - UDP:$address:7"
echo "    sudo ip netns exec $ns arping -i tap0 $address"
if [[ $mode == kernel ]]; then
    echo "demo: press Ctrl-C to stop (QEMU stops; the namespace is deleted)"
else
    echo "demo: press Ctrl-C to stop (Skiff prints its counters; the namespace is deleted)"
fi
wait "$pid"
