#!/usr/bin/env bash
# integration-timeout: 480
# Where a booted kernel's network configuration comes from, and which source wins: Examples/ping
# built once with `skiff build --interfaces FILE` (a default interfaces file in the image), booted
# under QEMU against Linux in a network namespace (198.18.0.0/24 on tap0, 198.18.1.0/24 on tap1):
#   (a) nothing else given: the image's file configures eth0 (`config: interfaces from the image`);
#   (b) a module (--initrd) replaces the image's file: eth0 answers on the module's address only;
#   (c) skiff.net= on the command line wins over the module and over an ip= for the same device;
#   (d) selection by MAC with NICs whose MACs run against PCI order (--mac): skiff.net=mac=… for
#       eth0 and ip=…:<MAC with dashes> for eth1; a skiff.net= whose MAC no NIC has is reported and
#       both NICs still answer;
#   (e) a broken skiff.net= stops the kernel with the column (status 2), and a broken --interfaces
#       file stops `skiff build` with FILE:LINE:COLUMN before anything is built.
source "$(dirname "$0")/common.bash"
require_root
require_commands ip ping qemu-system-x86_64

source "$(dirname "$0")/kernel.bash"

# The image's default: eth0 at 198.18.0.20, and an eth1 stanza the tests override.
cat >"$WORKDIR/default-interfaces" <<'EOT'
# built into the image by kernel-config.sh
auto eth0
iface eth0 inet static
    address 198.18.0.20/24
    gateway 198.18.0.1
    dns-nameservers 198.18.0.1
EOT
log "building Examples/ping with --interfaces"
build_example ping "$WORKDIR/ping.elf" --interfaces "$WORKDIR/default-interfaces"
grep -q "^ping: interfaces 1 iface stanzas, .* bytes from $WORKDIR/default-interfaces" "$WORKDIR/build.log" \
    || { cat "$WORKDIR/build.log"; fail "skiff build did not report the interfaces file"; }
make_namespace 2

# answers WHAT ADDRESS: warm up, then 10 pings all answered.
answers() {
    warm_up "$1" "$2"
    ping_ok "$1" "$2" 10 56
}
silent() {  # silent WHAT ADDRESS: no answer from ADDRESS.
    in_ns ping -c 2 -W 1 -q "$2" >/dev/null 2>&1 && fail "$1: $2 answered, but nothing configures it"
    return 0
}

# (a) The image's file.
boot_in_ns "$WORKDIR/ping.elf" "skiff.verbose" '^echo: udp port 7' --tap tap0
console_has "image" "^interfaces: image: 1 iface stanzas"
console_has "image" "^config: interfaces from the image (skiff build --interfaces)$"
console_has "image" "^config: eth0 from interfaces (image, line 3)$"
console_has "image" "^net: eth0 198.18.0.20/24 mtu 1500"
console_has "image" "^dns: 198.18.0.1$"
answers "image" 198.18.0.20
stop_qemu

# (b) A module replaces the image's file.
cat >"$WORKDIR/module-interfaces" <<'EOT'
iface eth0 inet static
    address 198.18.0.21/24
EOT
boot_in_ns "$WORKDIR/ping.elf" "skiff.verbose" '^echo: udp port 7' --tap tap0 --initrd "$WORKDIR/module-interfaces"
console_has "module" "^interfaces: module 1 (plain): 1 iface stanzas"
console_has "module" "^config: interfaces from module 1; the image's file is not used$"
console_has "module" "^config: eth0 from interfaces (module 1, line 1)$"
answers "module" 198.18.0.21
silent "module" 198.18.0.20
stop_qemu

# (c) The command line over the module, and skiff.net= over ip= for the same device.
CMDLINE="ip=198.18.0.23/24:::::eth0 skiff.net=eth0:addr=198.18.0.22/24,gw=198.18.0.1,mtu=1400,dns=198.18.0.53"
boot_in_ns "$WORKDIR/ping.elf" "$CMDLINE" '^echo: udp port 7' --tap tap0 --initrd "$WORKDIR/module-interfaces"
console_has "skiff.net=" "^config: eth0 from command line (skiff.net= at column 28)$"
console_has "skiff.net=" "^config: eth0: ip= at column 1 overridden by skiff.net= at column 28$"
console_has "skiff.net=" "^config: eth0: interfaces (module 1, line 1) iface eth0 overridden by the command line$"
console_has "skiff.net=" "^net: eth0 198.18.0.22/24 mtu 1400"
console_has "skiff.net=" "^route: default via 198.18.0.1 dev eth0$"
console_has "skiff.net=" "^dns: 198.18.0.53$"
answers "skiff.net=" 198.18.0.22
silent "skiff.net=" 198.18.0.21
silent "skiff.net=" 198.18.0.23
stop_qemu

# (d) By MAC: tap0 is eth0 (PCI order) with MAC …:0b, tap1 is eth1 with MAC …:0a.
CMDLINE="skiff.net=mac=02:00:00:00:00:99:dhcp ip=198.18.1.10/24:::::02-00-00-00-00-0a"
CMDLINE+=" skiff.net=mac=02:00:00:00:00:0b:addr=198.18.0.24/24"
boot_in_ns "$WORKDIR/ping.elf" "$CMDLINE" '^echo: udp port 7' --tap tap0 --tap tap1 \
    --mac 02:00:00:00:00:0b --mac 02:00:00:00:00:0a
console_has "mac" "^config: eth0 from command line (skiff.net= at column 78) by mac 02:00:00:00:00:0b$"
console_has "mac" "^config: eth1 from command line (ip= at column 38) by mac 02:00:00:00:00:0a$"
console_has "mac" "^config: skiff.net= at column 1 matches no device by mac 02:00:00:00:00:99 (devices: eth0 02:00:00:00:00:0b, eth1 02:00:00:00:00:0a); ignored$"
console_has "mac" "^net: eth0 198.18.0.24/24 mtu 1500 mac 02:00:00:00:00:0b$"
console_has "mac" "^net: eth1 198.18.1.10/24 mtu 1500 mac 02:00:00:00:00:0a$"
answers "mac eth0" 198.18.0.24
answers "mac eth1" 198.18.1.10
stop_qemu

# (e) A broken skiff.net=: the guest says where and exits with status 2.
: >"$SERIAL"
status=0
ip netns exec "$NS" timeout 60 "$SKIFF" run qemu "$WORKDIR/ping.elf" --accel tcg --serial "$SERIAL" --tap tap0 \
    --append "skiff.verbose skiff.net=eth0:dhcp,mtu=9x" >"$WORKDIR/skiff.log" 2>&1 || status=$?
[[ $status -eq 2 ]] || { cat "$WORKDIR/skiff.log"; fail "broken skiff.net=: skiff run qemu exited $status, not 2"; }
console_has "broken skiff.net=" '^ping: command line column 39: skiff.net= mtu "9x" is not a number from 68 to 65535$'

# ... and a broken --interfaces file stops the build before it starts.
cat >"$WORKDIR/broken-interfaces" <<'EOT'
iface eth0 inet static
    address 198.18.0.300/24
EOT
status=0
"$SKIFF" build "$KERNEL_ROOT/Examples/ping" --interfaces "$WORKDIR/broken-interfaces" --output "$WORKDIR/never.elf" \
    >"$WORKDIR/broken.log" 2>&1 || status=$?
[[ $status -eq 64 ]] || { cat "$WORKDIR/broken.log"; fail "broken --interfaces: skiff build exited $status, not 64"; }
grep -q "^$WORKDIR/broken-interfaces:2:13: address \"198.18.0.300/24\" is not an IPv4 address" "$WORKDIR/broken.log" \
    || { cat "$WORKDIR/broken.log"; fail "broken --interfaces: no FILE:LINE:COLUMN message"; }
grep -q "^error: --interfaces $WORKDIR/broken-interfaces: 1 error; nothing was built$" "$WORKDIR/broken.log" \
    || { cat "$WORKDIR/broken.log"; fail "broken --interfaces: no error line"; }
[[ ! -e "$WORKDIR/never.elf" ]] || fail "broken --interfaces: a kernel was written anyway"

pass "the image's interfaces file, a module over it, skiff.net= over ip= and the module, selection by MAC (an unknown MAC reported), and the errors of a broken skiff.net= and --interfaces"
