#!/usr/bin/env bash
# integration-timeout: 480
# Disk and ISO images with Skiff's own BIOS boot loader (Sources/SkiffBootLoader, SkiffImage),
# booted by SeaBIOS under QEMU TCG:
#   - Examples/hello as a raw disk (IDE) and as an El Torito CD (-cdrom), each with --cmdline and
#     two --module files: the console shows the kernel booted via multiboot from boot loader
#     "Skiff", the command line, each module's string and first bytes, and QEMU's exit status
#     comes from isa-debug-exit (hello's 0 → 1);
#   - the loader's own error path: an image whose header is damaged prints the loader's message;
#   - the CLI's checks: a missing module, an over-long command line, --cmdline on an ELF;
#   - an independent reader (xorriso -report_el_torito, or isoinfo -d) agrees with the El Torito
#     catalog and the root directory;
#   - Examples/ping as a raw disk with a virtio-net NIC in a network namespace answers a ping
#     (root only; namespace conventions of kernel-net.sh).
#
# Usage: Tests/Integration/kernel-images.sh   (from anywhere; needs qemu-system-x86_64)
#   SKIFF=path/to/skiff uses that CLI instead of building one; SKIFF_SCRATCH=dir passes
#   --scratch-path dir to `skiff build`.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
work=$(mktemp -d /tmp/skiff-kernel-images.XXXXXX)
NS=""
QEMU_PID=""
cleanup() {
    if [ -n "$QEMU_PID" ]; then
        kill -TERM "$QEMU_PID" 2>/dev/null
        wait "$QEMU_PID" 2>/dev/null
    fi
    [ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

failures=0
source "$root/Tests/Integration/boot-checks.bash"

# boot NAME SECONDS QEMU-OPTIONS...: console in $work/NAME.txt, QEMU's status in $status.
status=0
boot() {
    local name=$1 seconds=$2
    shift 2
    timeout "$seconds" qemu-system-x86_64 -accel tcg -nographic -no-reboot \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 -m 256 \
        -serial stdio -display none -monitor none "$@" </dev/null >"$work/$name.log" 2>&1
    status=$?
    tr -d '\r' <"$work/$name.log" >"$work/$name.txt"
}


# expect_cli_error NAME TEXT SKIFF-BUILD-ARGS...: skiff build fails with status 64 and says TEXT.
expect_cli_error() {
    local name=$1 text=$2
    shift 2
    "$skiff" build "$@" >"$work/$name.out" 2>&1
    local code=$?
    if [ "$code" = 64 ] && grep -qF -- "$text" "$work/$name.out"; then
        pass "$name"
    else
        echo "    status $code: $(cat "$work/$name.out")"
        fail "$name"
    fi
}

echo "first module" >"$work/module1"
printf 'second' >"$work/module2"

echo "== CLI checks"
expect_cli_error "missing module" "error: module $work/absent does not exist" \
    Examples/hello --format raw --module "$work/absent role=x"
expect_cli_error "command line too long" "error: --cmdline is 1100 bytes; the boot loader passes at most 1023" \
    Examples/hello --format iso --cmdline "$(printf 'x%.0s' $(seq 1100))"
expect_cli_error "cmdline on an ELF" "error: --cmdline and --module need --format raw or iso" \
    Examples/hello --cmdline "skiff.verbose"

echo "== building"
build_app hello-raw Examples/hello --format raw --output "$work/hello.img" \
    --cmdline "skiff.verbose from=skiff-raw" --module "$work/module1 role=config" --module "$work/module2" || exit 1
build_app hello-iso Examples/hello --format iso --output "$work/hello.iso" \
    --cmdline "skiff.verbose from=skiff-iso" --module "$work/module1 role=config" --module "$work/module2" || exit 1
build_app hello-elf Examples/hello --output "$work/hello.elf" || exit 1

echo "== raw disk"
boot raw 60 -drive "file=$work/hello.img,format=raw,if=ide"
expect raw 1 "Skiff boot loader" "skiff: booted via multiboot" 'skiff: command line "skiff.verbose from=skiff-raw"' \
    'skiff: boot loader "Skiff"' "skiff: memory 0x00100000-0x0ffe0000 usable" \
    '13 bytes "role=config" [first module.]' '6 bytes "" [second]' "Hello from Skiff!"

echo "== ISO (El Torito, no emulation)"
boot iso 60 -cdrom "$work/hello.iso"
expect iso 1 "Booting from DVD/CD" "Skiff boot loader" "skiff: booted via multiboot" 'skiff: command line "skiff.verbose from=skiff-iso"' \
    'skiff: boot loader "Skiff"' "skiff: memory 0x00100000-0x0ffe0000 usable" \
    '13 bytes "role=config" [first module.]' '6 bytes "" [second]' "Hello from Skiff!"

echo "== the loader's error path"
cp "$work/hello.img" "$work/damaged.img"
printf 'XXXXXXXX' | dd of="$work/damaged.img" bs=1 seek=$((2048 * 512)) conv=notrunc status=none
boot damaged 15 -drive "file=$work/damaged.img,format=raw,if=ide"
expect damaged 124 "Skiff boot loader: no Skiff image header"

echo "== an independent reader of the ISO"
# What the image says: the boot record's catalog pointer (ECMA-119 sector 17, offset 0x47) and the
# initial entry's sector count (+6) and load RBA (+8) (El Torito 1.0 §2.0, §2.2).
u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
u16() { od -An -tu2 -j "$2" -N2 "$1" | tr -d ' '; }
catalog=$(u32 "$work/hello.iso" $((17 * 2048 + 0x47)))
count=$(u16 "$work/hello.iso" $((catalog * 2048 + 32 + 6)))
rba=$(u32 "$work/hello.iso" $((catalog * 2048 + 32 + 8)))
elf_size=$(stat -c %s "$work/hello.elf")
echo "    image: catalog at $catalog, boot image at $rba, $count × 512 bytes; KERNEL.ELF should be $elf_size bytes"
if command -v xorriso >/dev/null; then
    xorriso -indev "$work/hello.iso" -report_el_torito plain -find / -exec lsdl -- >"$work/xorriso.txt" 2>&1
    sed 's/^/    | /' "$work/xorriso.txt" | grep -E "El Torito|BOOT|KERNEL|MODULE|SKIFF|Volume id"
    if grep -qE "^El Torito catalog *: *$catalog " "$work/xorriso.txt" \
        && grep -qE "^El Torito boot img *: *1 +BIOS +y +none +0x0000 +0x00 +$count +$rba$" "$work/xorriso.txt" \
        && grep -qE "^El Torito img path *: *1 +/BOOT.IMG$" "$work/xorriso.txt" \
        && grep -qE " $elf_size .*'/KERNEL.ELF'$" "$work/xorriso.txt" \
        && grep -qE " 13 .*'/MODULE1.BIN'$" "$work/xorriso.txt"; then
        pass "xorriso agrees on the El Torito catalog and the root directory"
    else
        fail "xorriso agrees on the El Torito catalog and the root directory"
    fi
elif command -v isoinfo >/dev/null; then
    isoinfo -d -i "$work/hello.iso" >"$work/isoinfo.txt" 2>&1
    if grep -q "Eltorito validation header:" "$work/isoinfo.txt" \
        && grep -q "Bootoff $(printf '%x' "$rba") $rba" "$work/isoinfo.txt"; then
        pass "isoinfo agrees on the El Torito catalog"
    else
        cat "$work/isoinfo.txt"
        fail "isoinfo agrees on the El Torito catalog"
    fi
else
    fail "no independent ISO reader: install xorriso (Scripts/deps.sh test) or genisoimage (isoinfo)"
fi

echo "== Examples/ping as a raw disk, with a NIC"
if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ] || ! command -v ip >/dev/null; then
    if [ "${CI:-}" = true ]; then fail "ping raw disk: needs root, /dev/net/tun and ip"; else echo "SKIP: ping raw disk (needs root)"; fi
else
    guest=198.18.0.10
    build_app ping-raw Examples/ping --format raw --output "$work/ping.img" \
        --cmdline "skiff.verbose ip=$guest::198.18.0.1:255.255.255.0::eth0:off" || exit 1
    NS="skf-it-kernel-images-$$"
    ip netns add "$NS"
    ip netns exec "$NS" ip link set lo up
    ip netns exec "$NS" ip tuntap add dev tap0 mode tap
    ip netns exec "$NS" ip addr add 198.18.0.1/24 dev tap0
    ip netns exec "$NS" ip link set tap0 up
    ip netns exec "$NS" qemu-system-x86_64 -accel tcg -m 128 -no-reboot -nographic -display none \
        -monitor none -serial "file:$work/ping.txt" -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -drive "file=$work/ping.img,format=raw,if=ide" \
        -netdev tap,id=n0,ifname=tap0,script=no,downscript=no -device virtio-net-pci,netdev=n0 \
        >"$work/ping-qemu.log" 2>&1 &
    QEMU_PID=$!
    for _ in $(seq 300); do
        grep -q '^echo: udp port 7' "$work/ping.txt" 2>/dev/null && break
        sleep 0.1
    done
    answered=0
    for _ in $(seq 20); do
        if ip netns exec "$NS" ping -c 1 -W 1 -q "$guest" >/dev/null 2>&1; then answered=1; break; fi
    done
    if [ $answered = 1 ] && grep -q 'skiff: boot loader "Skiff"' "$work/ping.txt"; then
        pass "ping raw disk: $guest answers, booted by the Skiff loader"
    else
        sed 's/^/    | /' "$work/ping.txt" | tr -d '\r' | tail -30
        fail "ping raw disk: $guest answers, booted by the Skiff loader"
    fi
fi

echo
if [ $failures -ne 0 ]; then
    echo "kernel-images: $failures check(s) FAILED"
    exit 1
fi
echo "kernel-images: all checks passed"
