#!/usr/bin/env bash
# integration-timeout: 600
# Examples/ping written in every bootable image format and booted by SeaBIOS through Skiff's own
# boot loader — raw, qcow2, VMDK (monolithicSparse and streamOptimized) and fixed VHD as IDE
# disks, the ISO as a CD-ROM — with its address on the image's stored command line (`--cmdline`),
# each answering pings from Linux on a TAP device in a namespace made here (198.18.0.0/24).
source "$(dirname "$0")/common.bash"
require_root
require_commands ip ping qemu-system-x86_64
source "$(dirname "$0")/kernel.bash"

GUEST=198.18.0.10
CMDLINE="ip=$GUEST::198.18.0.1:255.255.255.0::eth0:off"
log "writing Examples/ping as raw, iso, qcow2, vmdk, vmdk-stream and vhd"
build_example ping "$WORKDIR/ping.img" --format raw --cmdline "$CMDLINE"
build_example ping "$WORKDIR/ping.iso" --format iso --cmdline "$CMDLINE"
build_example ping "$WORKDIR/ping.qcow2" --format qcow2 --cmdline "$CMDLINE"
build_example ping "$WORKDIR/ping.vmdk" --format vmdk --cmdline "$CMDLINE"
build_example ping "$WORKDIR/ping-stream.vmdk" --format vmdk-stream --cmdline "$CMDLINE"
build_example ping "$WORKDIR/ping.vhd" --format vhd --cmdline "$CMDLINE"
make_namespace 1

# boot_image WHAT QEMU-MEDIUM-ARGS...: SeaBIOS boots the medium; one virtio-net NIC on tap0.
boot_image() {
    local what=$1
    shift
    : >"$SERIAL"
    ip netns exec "$NS" qemu-system-x86_64 -accel tcg -m 128 -no-reboot -nographic -display none \
        -monitor none -serial "file:$SERIAL" -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
        -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:50 "$@" >"$WORKDIR/qemu.log" 2>&1 &
    QEMU_PID=$!
    wait_for_console '^echo: udp port 7' "$what"
    console_has "$what" '^Skiff boot loader'
    console_has "$what" "^net: eth0 $GUEST/24 mtu 1500 mac 52:54:00:12:34:50$"
    warm_up "$what" "$GUEST"
    ping_ok "$what" "$GUEST" 20 56
    ping_ok "$what fragmented" "$GUEST" 5 4000
    stop_qemu
}

boot_image "raw disk" -drive "file=$WORKDIR/ping.img,format=raw,if=ide,snapshot=on"
boot_image "ISO CD-ROM" -cdrom "$WORKDIR/ping.iso"
boot_image "qcow2 disk" -drive "file=$WORKDIR/ping.qcow2,format=qcow2,if=ide,snapshot=on"
boot_image "VMDK monolithicSparse disk" -drive "file=$WORKDIR/ping.vmdk,format=vmdk,if=ide,snapshot=on"
boot_image "VMDK streamOptimized disk" -drive "file=$WORKDIR/ping-stream.vmdk,format=vmdk,if=ide,snapshot=on"
boot_image "fixed VHD disk" -drive "file=$WORKDIR/ping.vhd,format=vpc,if=ide,snapshot=on"

pass "Examples/ping boots through Skiff's loader from raw, ISO, qcow2, both VMDKs and VHD and answers ping in each"
