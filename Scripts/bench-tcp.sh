#!/usr/bin/env bash
# TCP benchmark (needs root, python3, socat, wrk and qemu-system-x86): prints Markdown for
# bench/results.md.
#   1. Bulk throughput, Linux <-> Skiff hosted (`skiff run hosted`, TCP echo) over a TAP device,
#      beside Linux <-> Linux (socat echo) over a veth pair, in the same run: 20 MB each way,
#      sending while receiving (Tests/Integration/tcp-tools.py echo); median of 3; the ratio.
#   2. wrk against Examples/web booted under QEMU (TCG) on a TAP device: requests/s and p99 for
#      GET /index.html, 50 keep-alive connections, 10 s; median of 3.
# Everything runs in namespaces made here (198.18.5.0/24, 198.18.6.0/24). SKIFF picks the skiff
# binary (default: a release build of this checkout, built here). Not a test: numbers only.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) -eq 0 ]] || { echo "bench-tcp: needs root (network namespaces, TAP devices)" >&2; exit 1; }
for command in python3 socat wrk qemu-system-x86_64; do
    command -v "$command" >/dev/null || { echo "bench-tcp: $command missing (Scripts/deps.sh test)" >&2; exit 1; }
done
if [[ -z "${SKIFF:-}" ]]; then
    swift build -c release --product skiff >/dev/null
    SKIFF=$(swift build -c release --show-bin-path)/skiff
fi
tools=Tests/Integration/tcp-tools.py
bytes=20000000
work=$(mktemp -d)
ns_skiff="skf-bt-skiff-$$"
ns_a="skf-bt-a-$$"
ns_b="skf-bt-b-$$"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    for ns in "$ns_skiff" "$ns_a" "$ns_b"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# MB/s each way from tcp-tools.py's line "echo N bytes each way in S s (R MB/s each way), ...".
echo_rate() { sed -n 's/.*(\([0-9.]*\) MB\/s each way).*/\1/p'; }

# --- 1. bulk: Skiff over a TAP device, Linux over a veth pair ---------------------------------
ip netns add "$ns_skiff"
ip -n "$ns_skiff" link set lo up
ip -n "$ns_skiff" tuntap add dev tap0 mode tap
ip -n "$ns_skiff" addr add 198.18.5.1/24 dev tap0
ip -n "$ns_skiff" link set tap0 up
ip netns exec "$ns_skiff" "$SKIFF" run hosted --tap tap0 --address 198.18.5.2/24 --quiet >"$work/skiff.log" 2>&1 &
pids+=($!)
ip netns add "$ns_a"
ip netns add "$ns_b"
ip -n "$ns_a" link add eth0 type veth peer name eth0 netns "$ns_b"
ip -n "$ns_a" addr add 198.18.6.1/24 dev eth0
ip -n "$ns_b" addr add 198.18.6.2/24 dev eth0
for ns in "$ns_a" "$ns_b"; do ip -n "$ns" link set lo up; ip -n "$ns" link set eth0 up; done
ip netns exec "$ns_b" socat TCP-LISTEN:7,reuseaddr,fork PIPE &
pids+=($!)
for _ in $(seq 50); do grep -q '^echo: tcp port 7' "$work/skiff.log" && break; sleep 0.1; done
sleep 0.5
skiff_runs=()
linux_runs=()
for run in 1 2 3; do
    skiff_runs+=("$(ip netns exec "$ns_skiff" python3 "$tools" echo 198.18.5.2 7 "$bytes" "$run" | echo_rate)")
    linux_runs+=("$(ip netns exec "$ns_a" python3 "$tools" echo 198.18.6.2 7 "$bytes" "$run" | echo_rate)")
done
skiff_rate=$(printf '%s\n' "${skiff_runs[@]}" | median)
linux_rate=$(printf '%s\n' "${linux_runs[@]}" | median)
ratio=$(awk -v a="$skiff_rate" -v b="$linux_rate" 'BEGIN { printf "%.2f", a / b }')

# --- 2. wrk against Examples/web under QEMU TCG -----------------------------------------------
"$SKIFF" build Examples/web ${SKIFF_SCRATCH:+--scratch-path "$SKIFF_SCRATCH"} --output "$work/web.elf" >/dev/null
ip netns exec "$ns_skiff" ip tuntap add dev tap1 mode tap
ip netns exec "$ns_skiff" ip addr add 198.18.7.1/24 dev tap1
ip netns exec "$ns_skiff" ip link set tap1 up
ip netns exec "$ns_skiff" "$SKIFF" run qemu "$work/web.elf" --accel tcg --tap tap1 \
    --append "ip=198.18.7.10::198.18.7.1:255.255.255.0::eth0:off" --serial "$work/serial.log" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 300); do grep -q '^http: tcp port 80' "$work/serial.log" 2>/dev/null && break; sleep 0.1; done
for _ in $(seq 20); do ip netns exec "$ns_skiff" curl -s -m 2 -o /dev/null http://198.18.7.10/ && break; sleep 0.5; done
rates=()
p99s=()
for run in 1 2 3; do
    ip netns exec "$ns_skiff" wrk -c 50 -t 2 -d 10s --latency http://198.18.7.10/index.html >"$work/wrk.txt"
    rates+=("$(sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p' "$work/wrk.txt")")
    # p99 in milliseconds (wrk prints us, ms or s).
    p99s+=("$(sed -n 's/^ *99% *\([0-9.]*\)\([a-z]*\).*/\1 \2/p' "$work/wrk.txt" |
        awk '{ f = ($2 == "us") ? 0.001 : ($2 == "s") ? 1000 : 1; printf "%.1f", $1 * f }')")
done
rate=$(printf '%s\n' "${rates[@]}" | median)
p99=$(printf '%s\n' "${p99s[@]}" | median)

echo "## TCP ($(basename "$(dirname "$SKIFF")") skiff; QEMU $(qemu-system-x86_64 --version | head -n 1 | awk '{ print $4 }'), TCG)"
echo
echo "| measure | value |"
echo "|---|---|"
echo "| TCP echo, $bytes bytes each way at once: Skiff hosted on a TAP device, median of 3 | $skiff_rate MB/s each way (runs: ${skiff_runs[*]}) |"
echo "| the same, Linux to Linux (socat) over a veth pair, median of 3 | $linux_rate MB/s each way (runs: ${linux_runs[*]}) |"
echo "| Skiff / Linux | $ratio |"
echo "| wrk -c 50 -t 2 -d 10s GET /index.html, Examples/web under QEMU TCG, median of 3 | $rate requests/s, p99 $p99 ms (runs: ${rates[*]}; p99 ${p99s[*]} ms) |"
