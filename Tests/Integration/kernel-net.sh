#!/usr/bin/env bash
# integration-timeout: 480
# Examples/ping as a booted kernel on virtio-net NICs, against Linux in a network namespace:
#   - `skiff run qemu` with two TAP NICs on two subnets (transitional virtio-net, driven through
#     its modern interface with MSI-X): 100 pings and 50 fragmented 4000-byte pings with 0% loss,
#     1000 UDP datagrams echoed byte for byte, the second NIC answering too, an idle guest
#     using under 5% of a host core over 10 s, and the `vmware:` line saying that guest info
#     (VMware's guest RPC) is off, QEMU not being VMware;
#   - the same kernel on a legacy-only device, on INTx instead of MSI-X (modern and legacy), and
#     through its PVH entry (a PVH-only build) and GRUB's multiboot (an ISO from grub-mkrescue).
# Every network lives in a namespace made here (198.18.0.0/24 and 198.18.1.0/24); QEMU runs inside
# it, is stopped by its PID, and the namespace is deleted on every exit path.
source "$(dirname "$0")/common.bash"
require_root
require_commands ip ping python3 qemu-system-x86_64

source "$(dirname "$0")/kernel.bash"
GUEST0=198.18.0.10
GUEST1=198.18.1.10
CMDLINE="ip=$GUEST0::198.18.0.1:255.255.255.0::eth0:off ip=$GUEST1:::255.255.255.0::eth1:off"

log "building Examples/ping (both entries) and a PVH-only build"
build_example ping "$WORKDIR/ping.elf"
build_example ping "$WORKDIR/ping-pvh.elf" --boot pvh
make_namespace 2

# boot_with_qemu WHAT DEVICE-OPTIONS QEMU-ARGS...: QEMU itself (not `skiff run qemu`), for device
# variants the CLI does not offer, with one virtio-net NIC on tap0.
boot_with_qemu() {
    local what=$1 options=$2
    shift 2
    : >"$SERIAL"
    ip netns exec "$NS" qemu-system-x86_64 -accel tcg -m 128 -no-reboot -nographic -display none \
        -monitor none -serial "file:$SERIAL" -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
        -device "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:50$options" "$@" \
        >"$WORKDIR/qemu.log" 2>&1 &
    QEMU_PID=$!
    wait_for_console '^echo: udp port 7' "$what"
    warm_up "$what" "$GUEST0"
}

# 1. Through `skiff run qemu`, two NICs.
boot_in_ns "$WORKDIR/ping.elf" "skiff.verbose $CMDLINE" '^echo: udp port 7' --tap tap0 --tap tap1
warm_up "two NICs" "$GUEST0"
for line in "net: eth0 $GUEST0/24 mtu 1500 mac 52:54:00:12:34:50" "net: eth1 $GUEST1/24 mtu 1500 mac 52:54:00:12:34:51" \
            "route: default via 198.18.0.1 dev eth0" "route: 198.18.1.0/24 dev eth1"; do
    grep -qxF "$line" <(tr -d '\r' <"$SERIAL") || fail "two NICs: the console lacks '$line'"
done
grep -q 'eth0 virtio-net modern .* MSI-X' "$SERIAL" || fail "two NICs: eth0 is not modern virtio-net on MSI-X"
# QEMU is not VMware (its vmport device answers part of VMware's backdoor, so the kernel asks
# CPUID first): guest info stays off and the backdoor is never used (SkiffKernel/VMware).
console_has "two NICs" '^vmware: not VMware (hypervisor "[^"]*"), guest info off$'
ping_ok "eth0" "$GUEST0" 100 56
ping_ok "eth0 fragmented" "$GUEST0" 50 4000
in_ns timeout 180 python3 "$(dirname "$0")/udp-echo-client.py" "$GUEST0" 7 >"$WORKDIR/udp.log" 2>&1 \
    || { cat "$WORKDIR/udp.log"; fail "UDP echo through the kernel"; }
log "$(cat "$WORKDIR/udp.log")"
ping_ok "eth1" "$GUEST1" 20 56
ping_ok "eth1 fragmented" "$GUEST1" 10 4000

# Idle: CPU time QEMU (all its threads) uses over 10 s with no traffic, from /proc.
qemu_pid=$(pgrep -P "$QEMU_PID" -x qemu-system-x86 || pgrep -P "$QEMU_PID" | head -n 1)
[[ -n "$qemu_pid" ]] || fail "idle: cannot find QEMU under skiff (pid $QEMU_PID)"
ticks() { awk '{ print $14 + $15 }' "/proc/$qemu_pid/stat"; }
sleep 1
before=$(ticks)
sleep 10
after=$(ticks)
hz=$(getconf CLK_TCK)
hundredths=$(( (after - before) * 100 * 100 / (hz * 10) ))   # of a percent of one core
idle=$(printf '%d.%02d%%' $((hundredths / 100)) $((hundredths % 100)))
log "idle: QEMU used $((after - before)) CPU ticks ($hz/s) over 10 s: $idle of a core"
(( hundredths < 500 )) || fail "the idle guest used $idle of a core (limit 5%)"
stop_qemu

# 2. Other ways in: each boots the same kernel (or its PVH-only build) on one NIC.
CMDLINE="ip=$GUEST0::198.18.0.1:255.255.255.0::eth0:off"
check_variant() {  # check_variant WHAT EXPECTED-CONSOLE-PATTERN
    console_has "$1" "$2"
    ping_ok "$1" "$GUEST0" 30 56
    ping_ok "$1 fragmented" "$GUEST0" 10 4000
    stop_qemu
}
boot_with_qemu "legacy virtio" ",disable-modern=on" -kernel "$WORKDIR/ping.elf" \
    -append "skiff.verbose $CMDLINE"
check_variant "legacy virtio" "eth0 virtio-net legacy .* MSI-X"
boot_with_qemu "modern INTx" ",disable-legacy=on,vectors=0" -kernel "$WORKDIR/ping.elf" \
    -append "skiff.verbose $CMDLINE"
check_variant "modern INTx" "eth0 virtio-net modern .* INTx line"
boot_with_qemu "legacy INTx" ",disable-modern=on,vectors=0" -kernel "$WORKDIR/ping.elf" \
    -append "skiff.verbose $CMDLINE"
check_variant "legacy INTx" "eth0 virtio-net legacy .* INTx line"
boot_with_qemu "PVH" "" -kernel "$WORKDIR/ping-pvh.elf" -append "skiff.verbose $CMDLINE"
check_variant "PVH" "skiff: booted via pvh"

command -v grub-mkrescue >/dev/null && [ -d /usr/lib/grub/i386-pc ] \
    || fail "GRUB: grub-mkrescue or grub-pc-bin missing (apt-get install grub-pc-bin xorriso mtools)"
mkdir -p "$WORKDIR/iso/boot/grub"
cp "$WORKDIR/ping.elf" "$WORKDIR/iso/boot/ping.elf"
cat >"$WORKDIR/iso/boot/grub/grub.cfg" <<EOF
set timeout=0
set default=0
menuentry "skiff ping" {
    multiboot /boot/ping.elf skiff.verbose $CMDLINE
    boot
}
EOF
grub-mkrescue -o "$WORKDIR/ping.iso" "$WORKDIR/iso" >"$WORKDIR/grub.log" 2>&1 \
    || { cat "$WORKDIR/grub.log"; fail "grub-mkrescue"; }
boot_with_qemu "GRUB" "" -cdrom "$WORKDIR/ping.iso"
check_variant "GRUB" 'skiff: boot loader "GRUB'

pass "ping kernel: 2 NICs (MSI-X), legacy, INTx (modern and legacy), PVH and GRUB all answer ping and UDP echo; idle $idle of a core"
