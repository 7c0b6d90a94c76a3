#!/usr/bin/env bash
# Image and NIC benchmark (part of `make bench`): for Examples/web, the size of each image format;
# the time Skiff takes to write each format for Examples/web carrying a 32 MiB module of random
# bytes (so the writing, not `skiff build`'s fixed cost, dominates), beside `qemu-img convert`
# from the same raw image in the same run (median of 3, ratio); then, as root, ping round trip and UDP echo rate of Examples/ping
# under QEMU TCG on virtio-net, vmxnet3 and e1000 (a namespace made here, 198.18.0.0/24).
# Prints Markdown for bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v qemu-img >/dev/null || { echo "bench-images: qemu-img missing (apt-get install qemu-utils)" >&2; exit 1; }
swift build --product skiff >/dev/null
skiff=$(swift build --show-bin-path)/skiff
work=$(mktemp -d)
ns=""
qemu_pid=""
cleanup() {
    [[ -n "$qemu_pid" ]] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null
    [[ -n "$ns" ]] && ip netns del "$ns" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

"$skiff" build Examples/web --format raw --output "$work/web.img" >/dev/null
head -c $((32 << 20)) /dev/urandom >"$work/payload.bin"
"$skiff" build Examples/web --format raw --module "$work/payload.bin" --output "$work/big.img" >/dev/null
declare -A qemu_name=([vmdk]=vmdk [vmdk-stream]=vmdk [qcow2]=qcow2 [vhd]=vpc)
declare -A qemu_opts=([vmdk]="-o subformat=monolithicSparse" [vmdk-stream]="-o subformat=streamOptimized" [qcow2]="" [vhd]="-o subformat=fixed")
echo "## Images (Examples/web: size; write time with a 32 MiB random module, Skiff vs. qemu-img convert from the same raw image, median of 3)"
echo
echo "| format | size | Skiff writes it (+32 MiB) | qemu-img convert (+32 MiB) | Skiff / qemu-img |"
echo "|---|---|---|---|---|"
echo "| raw | $(stat -c %s "$work/web.img") bytes | — | — | — |"
for format in iso vmdk vmdk-stream qcow2 vhd ova gce; do
    times=() qtimes=()
    for run in 1 2 3; do
        # skiff build times the image writing itself: "…, written in N ms".
        times+=($("$skiff" build Examples/web --format "$format" --module "$work/payload.bin" \
            --output "$work/big.$format" 2>/dev/null | sed -n 's/.*, written in \([0-9]*\) ms$/\1/p'))
        if [[ -n "${qemu_name[$format]:-}" ]]; then
            start=$(now)
            # shellcheck disable=SC2086
            qemu-img convert -f raw -O "${qemu_name[$format]}" ${qemu_opts[$format]} "$work/big.img" "$work/q.$format"
            qtimes+=($(( ($(now) - start) / 1000000 )))
        fi
    done
    "$skiff" build Examples/web --format "$format" --output "$work/web.$format" >/dev/null 2>&1
    t=$(printf '%s\n' "${times[@]}" | median)
    if ((${#qtimes[@]} > 0)); then
        q=$(printf '%s\n' "${qtimes[@]}" | median)
        echo "| $format | $(stat -c %s "$work/web.$format") bytes | $t ms | $q ms | $(awk -v a="$t" -v b="$q" 'BEGIN { printf "%.2f", a / (b > 0 ? b : 1) }') |"
    else
        echo "| $format | $(stat -c %s "$work/web.$format") bytes | $t ms | (no qemu-img equivalent) | — |"
    fi
done
echo
echo "(Skiff's times are the image writing as \`skiff build\` reports it (\"written in N ms\"): the raw layout, then the conversion; qemu-img's start from the finished raw image.)"

[[ $(id -u) -eq 0 ]] || { echo; echo "(The NIC comparison needs root: run make bench as root.)"; exit 0; }
"$skiff" build Examples/ping --output "$work/ping.elf" >/dev/null
ns="skf-bench-nic-$$"
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" ip tuntap add dev tap0 mode tap
ip netns exec "$ns" ip addr add 198.18.0.1/24 dev tap0
ip netns exec "$ns" ip link set tap0 up
echo
echo "## NICs under QEMU TCG (Examples/ping; 200 pings 10 ms apart; 1000 UDP echoes, one at a time)"
echo
echo "| NIC | ping RTT avg | UDP echoes/s |"
echo "|---|---|---|"
for model in virtio vmxnet3 e1000; do
    ip netns exec "$ns" "$skiff" run qemu "$work/ping.elf" --accel tcg --tap tap0 --nic "$model" \
        --append "ip=198.18.0.10::198.18.0.1:255.255.255.0::eth0:off" --serial /dev/null >/dev/null 2>&1 &
    qemu_pid=$!
    for _ in $(seq 60); do ip netns exec "$ns" ping -c 1 -W 1 -q 198.18.0.10 >/dev/null 2>&1 && break; done
    rtt=$(ip netns exec "$ns" ping -c 200 -i 0.01 -q 198.18.0.10 | sed -n 's|^rtt min/avg/max/mdev = [0-9.]*/\([0-9.]*\)/.*|\1|p')
    start=$(now)
    ip netns exec "$ns" python3 Tests/Integration/udp-echo-client.py 198.18.0.10 7 >/dev/null
    ms=$(( ($(now) - start) / 1000000 ))
    echo "| $model | $rtt ms | $(( 1000 * 1000 / (ms > 0 ? ms : 1) )) |"
    kill "$qemu_pid"; wait "$qemu_pid" 2>/dev/null || true
    qemu_pid=""
done
