#!/usr/bin/env bash
# Boot benchmark (part of `make bench`; needs root and qemu-system-x86): the size of the hello
# and ping kernels, and the time from starting QEMU to the first ping reply from Examples/ping,
# next to the time QEMU takes to start and run hello, which exits at once (the floor set by QEMU
# and SeaBIOS). Runs each 5 times, alternating, under TCG; prints medians and their ratio as
# Markdown for bench/results.md. The ping runs in a namespace made here (198.18.0.0/24); Linux
# knows the guest's MAC in advance (a permanent neighbour entry), so ARP retries do not count.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) -eq 0 ]] || { echo "bench-boot: needs root (network namespace, TAP device)" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "bench-boot: qemu-system-x86_64 missing" >&2; exit 1; }

skiff=$(swift build --show-bin-path)/skiff
swift build --product skiff >/dev/null
work=$(mktemp -d)
ns="skf-bench-$$"
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
"$skiff" build Examples/hello --output "$work/hello.elf" >/dev/null
"$skiff" build Examples/ping --output "$work/ping.elf" >/dev/null

ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" ip tuntap add dev tap0 mode tap
ip netns exec "$ns" ip addr add 198.18.0.1/24 dev tap0
ip netns exec "$ns" ip link set tap0 up
ip netns exec "$ns" ip neigh replace 198.18.0.10 lladdr 52:54:00:12:34:50 dev tap0 nud permanent

qemu=(qemu-system-x86_64 -accel tcg -m 128 -no-reboot -nographic -display none -monitor none
      -device isa-debug-exit,iobase=0xf4,iosize=0x04)
now() { date +%s%N; }

floor_ms() {
    local start end
    start=$(now)
    "${qemu[@]}" -serial null -kernel "$work/hello.elf" >/dev/null 2>&1 || true
    end=$(now)
    echo $(( (end - start) / 1000000 ))
}

first_reply_ms() {
    local start end pid
    start=$(now)
    ip netns exec "$ns" "${qemu[@]}" -serial null -kernel "$work/ping.elf" \
        -append "ip=198.18.0.10::198.18.0.1:255.255.255.0::eth0:off" \
        -netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
        -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:50 >/dev/null 2>&1 &
    pid=$!
    # One echo request every 5 ms until the first reply (or 30 s).
    ip netns exec "$ns" ping -q -c 1 -i 0.005 -w 30 198.18.0.10 >/dev/null
    end=$(now)
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    echo $(( (end - start) / 1000000 ))
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

floors=() replies=()
for _ in 1 2 3 4 5; do
    floors+=("$(floor_ms)")
    replies+=("$(first_reply_ms)")
done
floor=$(printf '%s\n' "${floors[@]}" | median)
reply=$(printf '%s\n' "${replies[@]}" | median)
ratio=$(awk -v a="$reply" -v b="$floor" 'BEGIN { printf "%.2f", a / b }')

echo "## Boot (QEMU $(qemu-system-x86_64 --version | head -n 1 | awk '{ print $4 }'), TCG, 128 MiB, virtio-net on a TAP device)"
echo
echo "| measure | value |"
echo "|---|---|"
echo "| hello kernel size (release, DWARF stripped) | $(stat -c %s "$work/hello.elf") bytes |"
echo "| ping kernel size | $(stat -c %s "$work/ping.elf") bytes |"
echo "| QEMU start to hello's exit (floor: QEMU + SeaBIOS + a kernel that exits at once), median of 5 | $floor ms (runs: ${floors[*]}) |"
echo "| QEMU start to the first ping reply from Examples/ping, median of 5 | $reply ms (runs: ${replies[*]}) |"
echo "| first reply / floor | $ratio |"
