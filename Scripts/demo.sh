#!/usr/bin/env bash
# `make demo`: runs the hosted stack on a TAP device inside a fresh network namespace, pings it,
# echoes one UDP datagram through it, shows how to reach it, and keeps running until Ctrl-C.
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

echo "demo: namespace $ns, Linux side 198.18.0.1/24 on tap0, Skiff at 198.18.0.2/24"
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" ip tuntap add dev tap0 mode tap
ip netns exec "$ns" ip addr add 198.18.0.1/24 dev tap0
ip netns exec "$ns" ip link set tap0 up

# `ip netns exec` execs skiff, so $pid is skiff itself; its output goes to this terminal.
ip netns exec "$ns" "$skiff" run hosted --tap tap0 --address 198.18.0.2/24 --gateway 198.18.0.1 &
pid=$!
for _ in $(seq 50); do
    ip netns exec "$ns" ip -o link show tap0 | grep -q 'LOWER_UP' && break
    kill -0 "$pid" 2>/dev/null || { echo "demo: skiff exited"; exit 1; }
    sleep 0.1
done
sleep 0.3

echo
echo "demo: \$ ping -c 3 198.18.0.2"
ip netns exec "$ns" ping -c 3 -i 0.3 198.18.0.2
echo
echo "demo: \$ echo 'hello, skiff' | socat - UDP:198.18.0.2:7"
reply=$(echo "hello, skiff" | ip netns exec "$ns" timeout 5 socat -t 1 - UDP:198.18.0.2:7)
echo "demo: echoed back: $reply"
echo
echo "demo: Skiff is running. From another terminal:"
echo "    sudo ip netns exec $ns ping 198.18.0.2"
echo "    sudo ip netns exec $ns socat - UDP:198.18.0.2:7"
echo "    sudo ip netns exec $ns arping -i tap0 198.18.0.2"
echo "demo: press Ctrl-C to stop (Skiff prints its counters; the namespace is deleted)"
wait "$pid"
