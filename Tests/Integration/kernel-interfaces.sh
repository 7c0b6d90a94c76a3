#!/usr/bin/env bash
# integration-timeout: 480
# Examples/ping configured by a Debian interfaces file handed over as a multiboot module, against
# Linux in a network namespace (198.18.0.0/24 on tap0, 198.18.1.0/24 on tap1):
#   (a) `skiff run qemu --initrd` with the plain file, (b) a cpio "newc" archive holding
#       etc/network/interfaces, (c) that archive gzip'd: each answers ping on its static address;
#   (d) two stanzas, eth0's address bad: the console shows `interfaces:LINE:COLUMN:` and eth1 still
#       answers;
#   (e) the same kernel from a GRUB ISO (grub-mkrescue) whose `module` line carries the file.
source "$(dirname "$0")/common.bash"
require_root
require_commands ip ping qemu-system-x86_64 cpio gzip

source "$(dirname "$0")/kernel.bash"

log "building Examples/ping"
build_example ping "$WORKDIR/ping.elf"
make_namespace 2

# interfaces_file PATH ADDRESS: a file that configures eth0 statically at ADDRESS/24.
interfaces_file() {
    cat >"$1" <<EOT
# written by $TEST_NAME
auto eth0
iface eth0 inet static
    address $2
    netmask 255.255.255.0
    gateway 198.18.0.1
    dns-nameservers 198.18.0.1
EOT
}

# check_answers WHAT ADDRESS: the console says where eth0's configuration came from; pings answer.
check_answers() {
    console_has "$1" "^config: eth0 from interfaces (module 1, line 3)"
    console_has "$1" "^net: eth0 $2/24 mtu 1500"
    console_has "$1" "^dns: 198.18.0.1"
    warm_up "$1" "$2"
    ping_ok "$1" "$2" 20 56
    stop_qemu
}

# (a) The plain file.
interfaces_file "$WORKDIR/interfaces" 198.18.0.10
boot_in_ns "$WORKDIR/ping.elf" "skiff.verbose" '^echo: udp port 7' --tap tap0 --initrd "$WORKDIR/interfaces"
console_has "plain" "^interfaces: module 1 (plain)"
check_answers "plain" 198.18.0.10

# (b) A cpio archive, as `cpio -o -H newc` writes it.
mkdir -p "$WORKDIR/root/etc/network"
interfaces_file "$WORKDIR/root/etc/network/interfaces" 198.18.0.11
(cd "$WORKDIR/root" && find . | cpio -o -H newc --quiet) >"$WORKDIR/interfaces.cpio"
boot_in_ns "$WORKDIR/ping.elf" "skiff.verbose" '^echo: udp port 7' --tap tap0 --initrd "$WORKDIR/interfaces.cpio"
console_has "cpio" "^interfaces: module 1 (cpio)"
check_answers "cpio" 198.18.0.11

# (c) The archive gzip'd.
interfaces_file "$WORKDIR/root/etc/network/interfaces" 198.18.0.12
(cd "$WORKDIR/root" && find . | cpio -o -H newc --quiet) | gzip -9 >"$WORKDIR/interfaces.cpio.gz"
boot_in_ns "$WORKDIR/ping.elf" "skiff.verbose" '^echo: udp port 7' --tap tap0 --initrd "$WORKDIR/interfaces.cpio.gz"
console_has "gzip'd cpio" "^interfaces: module 1 (gzip'd cpio)"
check_answers "gzip'd cpio" 198.18.0.12

# (d) Two interfaces, the first with a bad address: an error with line and column, eth0 left
#     unconfigured, eth1 up.
cat >"$WORKDIR/two" <<'EOT'
auto eth0 eth1
iface eth0 inet static
    address 198.18.0.300/24
iface eth1 inet static
    address 198.18.1.10/24
EOT
boot_in_ns "$WORKDIR/ping.elf" "skiff.verbose" '^echo: udp port 7' --tap tap0 --tap tap1 --initrd "$WORKDIR/two"
console_has "bad address" '^interfaces:3:13: address "198.18.0.300/24" is not an IPv4 address'
console_has "bad address" "^config: eth0 unconfigured"
console_has "bad address" "^config: eth1 from interfaces (module 1, line 4)"
console_has "bad address" "^net: eth1 198.18.1.10/24"
warm_up "bad address: eth1" 198.18.1.10
ping_ok "bad address: eth1" 198.18.1.10 20 56
in_ns ping -c 2 -W 1 -q 198.18.0.10 >/dev/null 2>&1 && fail "bad address: eth0 answered although unconfigured"
stop_qemu

# (e) GRUB: `multiboot` plus a `module` line with the file.
command -v grub-mkrescue >/dev/null && [ -d /usr/lib/grub/i386-pc ] \
    || fail "GRUB: grub-mkrescue or grub-pc-bin missing (apt-get install grub-pc-bin xorriso mtools)"
mkdir -p "$WORKDIR/iso/boot/grub"
cp "$WORKDIR/ping.elf" "$WORKDIR/iso/boot/ping.elf"
interfaces_file "$WORKDIR/iso/boot/interfaces" 198.18.0.13
cat >"$WORKDIR/iso/boot/grub/grub.cfg" <<EOT
set timeout=0
set default=0
menuentry "skiff ping" {
    multiboot /boot/ping.elf skiff.verbose
    module /boot/interfaces interfaces
    boot
}
EOT
grub-mkrescue -o "$WORKDIR/ping.iso" "$WORKDIR/iso" >"$WORKDIR/grub.log" 2>&1 \
    || { cat "$WORKDIR/grub.log"; fail "grub-mkrescue"; }
: >"$SERIAL"
ip netns exec "$NS" qemu-system-x86_64 -accel tcg -m 128 -no-reboot -nographic -display none \
    -monitor none -serial "file:$SERIAL" -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
    -device "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:50" -cdrom "$WORKDIR/ping.iso" \
    >"$WORKDIR/qemu.log" 2>&1 &
QEMU_PID=$!
wait_for_console '^echo: udp port 7' "GRUB"
console_has "GRUB" 'skiff: boot loader "GRUB'
console_has "GRUB" "^interfaces: module 1 (plain)"
check_answers "GRUB" 198.18.0.13

pass "an interfaces file as a plain module, cpio, gzip'd cpio and from GRUB configures the ping kernel; a bad address leaves only its interface down"
