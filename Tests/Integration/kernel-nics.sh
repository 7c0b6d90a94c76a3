#!/usr/bin/env bash
# integration-timeout: 480
# Examples/ping as a booted kernel on the vmxnet3 and e1000 drivers, against Linux in a network
# namespace:
#   - `skiff run qemu --nic vmxnet3` and `--nic e1000`, one TAP NIC each: a warm-up ping, then 100
#     pings and 20 fragmented 4000-byte pings with 0% loss and 1000 UDP datagrams echoed byte for
#     byte (the RTT and the echo rate are logged per model);
#   - one kernel with three NICs of mixed models (virtio, vmxnet3, e1000 on three TAPs and
#     subnets), named eth0–eth2 in PCI order, answering on all three;
#   - a `skiff build --drivers virtio` kernel on a virtio and an e1000 NIC: only the virtio NIC
#     is started (no eth1 on the console), and it answers.
# Every network lives in a namespace made here (198.18.0.0/24, 198.18.1.0/24, 198.18.2.0/24); QEMU
# runs inside it through `skiff run qemu`, is stopped by its PID, and the namespace is deleted on
# every exit path.
# Variables: see kernel.bash.
source "$(dirname "$0")/common.bash"
require_root
require_commands ip ping python3 qemu-system-x86_64

source "$(dirname "$0")/kernel.bash"
NET0=198.18.0 NET1=198.18.1 NET2=198.18.2

log "building Examples/ping with every driver and with --drivers virtio"
build_example ping "$WORKDIR/ping.elf"
build_example ping "$WORKDIR/ping-virtio.elf" --drivers virtio
make_namespace 3

# 1. One NIC of each model, through `skiff run qemu --nic`.
summary=()
for model in vmxnet3 e1000; do
    boot_in_ns "$WORKDIR/ping.elf" "skiff.verbose ip=$NET0.10::$NET0.1:255.255.255.0::eth0:off" '^echo: udp port 7' --tap tap0 --nic "$model"
    console_has "$model" "^skiff: eth0 $model 00:0[0-9a-f].0 mac 52:54:00:12:34:50 "
    console_has "$model" "^net: eth0 $NET0.10/24 mtu 1500 mac 52:54:00:12:34:50$"
    warm_up "$model" "$NET0.10"
    ping_ok "$model" "$NET0.10" 100 56
    rtt=$RTT
    ping_ok "$model fragmented" "$NET0.10" 20 4000
    start=$(date +%s%N)
    in_ns timeout 180 python3 "$(dirname "$0")/udp-echo-client.py" "$NET0.10" 7 >"$WORKDIR/udp.log" 2>&1 \
        || { cat "$WORKDIR/udp.log"; fail "$model: UDP echo through the kernel"; }
    elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
    rate=$(( 1000 * 1000 / (elapsed_ms > 0 ? elapsed_ms : 1) ))
    log "$model: $(cat "$WORKDIR/udp.log") in $elapsed_ms ms ($rate datagrams/s, each waiting for its echo)"
    summary+=("$model ping $rtt ms, UDP echo $rate/s")
    stop_qemu
done

# 2. Three NICs of three models on three subnets, one kernel.
boot_in_ns "$WORKDIR/ping.elf" \
    "skiff.verbose ip=$NET0.10::$NET0.1:255.255.255.0::eth0:off ip=$NET1.10:::255.255.255.0::eth1:off ip=$NET2.10:::255.255.255.0::eth2:off" \
    '^echo: udp port 7' --tap tap0 --tap tap1 --tap tap2 --nic virtio --nic vmxnet3 --nic e1000
console_has "mixed" "^skiff: eth0 virtio-net .* mac 52:54:00:12:34:50 MSI-X"
console_has "mixed" "^skiff: eth1 vmxnet3 .* mac 52:54:00:12:34:51 MSI-X"
console_has "mixed" "^skiff: eth2 e1000 .* mac 52:54:00:12:34:52 INTx line"
for index in 0 1 2; do
    warm_up "mixed eth$index" "198.18.$index.10"
    ping_ok "mixed eth$index" "198.18.$index.10" 20 56
    ping_ok "mixed eth$index fragmented" "198.18.$index.10" 5 4000
done
stop_qemu

# 3. A virtio-only build does not start the e1000 next to its virtio NIC.
boot_in_ns "$WORKDIR/ping-virtio.elf" "skiff.verbose ip=$NET0.10::$NET0.1:255.255.255.0::eth0:off" \
    '^echo: udp port 7' --tap tap0 --tap tap1 --nic virtio --nic e1000
console_has "--drivers virtio" "^skiff: drivers virtio-net$"
console_has "--drivers virtio" "^skiff: eth0 virtio-net "
grep -q '^skiff: eth1 ' <(tr -d '\r' <"$SERIAL") && fail "--drivers virtio: the e1000 was started as eth1"
warm_up "--drivers virtio" "$NET0.10"
ping_ok "--drivers virtio" "$NET0.10" 20 56
stop_qemu

joined=$(printf '%s; ' "${summary[@]}")
pass "ping kernel on vmxnet3 and e1000 (${joined%; }), three mixed NICs, and a virtio-only build"
