#!/usr/bin/env bash
# integration-timeout: 480
# Boots Skiff kernels under QEMU TCG and checks their console text and exit status:
#   - Examples/hello through both boot paths: the default ELF (QEMU 7.2 prefers its multiboot
#     header), a PVH-only build and a multiboot-only build, and from a GRUB ISO when grub-mkrescue
#     is installed; boot information (command line, modules) under multiboot and PVH;
#   - Examples/fault for each kind of fault: the exception report, the backtrace (symbolized
#     with addr2line), and exit status 70;
#   - without QEMU's isa-debug-exit device: ACPI S5 power-off (QEMU exits 0, the status is lost),
#     and the halt path when QEMU also has no ACPI (-machine acpi=off).
# With isa-debug-exit, kernel status N makes QEMU exit with (N << 1) | 1: hello's 0 → 1, a
# fault's 70 → 141.
#
# Usage: Tests/Integration/kernel-boot.sh   (from anywhere; needs qemu-system-x86_64)
#   SKIFF=path/to/skiff uses that CLI instead of building one; SKIFF_SCRATCH=dir passes
#   --scratch-path dir to `skiff build`.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
work=$(mktemp -d /tmp/skiff-kernel-boot.XXXXXX)
trap 'rm -rf "$work"' EXIT

failures=0
source "$root/Tests/Integration/boot-checks.bash"

# build NAME APP [skiff build options...]: builds APP into $work/NAME.elf and prints the size line.
build() {
    local name=$1 app=$2
    shift 2
    build_app "$name" "$app" --output "$work/$name.elf" "$@"
}

# boot NAME ELF SECONDS [qemu options...]: boots ELF (unless options give -cdrom) and leaves
# the console in $work/NAME.log and QEMU's status in $status.
status=0
boot() {
    local name=$1 elf=$2 seconds=$3
    shift 3
    local kernel=(-kernel "$elf")
    [ -z "$elf" ] && kernel=()
    timeout "$seconds" qemu-system-x86_64 -accel tcg -nographic -no-reboot \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 "${kernel[@]}" \
        -serial stdio -display none -monitor none "$@" </dev/null >"$work/$name.log" 2>&1
    status=$?
    tr -d '\r' <"$work/$name.log" >"$work/$name.txt"
}


echo "== building"
build hello Examples/hello || exit 1
build hello-pvh Examples/hello --boot pvh || exit 1
build hello-multiboot Examples/hello --boot multiboot || exit 1
build fault Examples/fault || exit 1

echo "== hello"
boot hello "$work/hello.elf" 60
expect hello 1 "skiff: booted via multiboot" "Hello from Skiff!"

boot hello-pvh "$work/hello-pvh.elf" 60
expect hello-pvh 1 "skiff: booted via pvh" "Hello from Skiff!"

boot hello-multiboot "$work/hello-multiboot.elf" 60
expect hello-multiboot 1 "skiff: booted via multiboot" "Hello from Skiff!"

echo "first module" >"$work/module1"
printf 'second' >"$work/module2"
boot bootinfo-multiboot "$work/hello.elf" 60 -m 256 -append "skiff.verbose ip=198.18.0.10" \
    -initrd "$work/module1 role=config,$work/module2"
expect bootinfo-multiboot 1 'skiff: command line "skiff.verbose ip=198.18.0.10"' \
    "skiff: boot loader \"qemu\"" "skiff: memory 0x00100000-0x0ffe0000 usable" \
    "13 bytes \"$work/module1 role=config\" [first module.]" "6 bytes \"$work/module2\" [second]" \
    "skiff: heap" "Hello from Skiff!"

boot bootinfo-pvh "$work/hello-pvh.elf" 60 -m 256 -append "skiff.verbose ip=198.18.0.10" -initrd "$work/module1"
expect bootinfo-pvh 1 "skiff: booted via pvh" 'skiff: command line "skiff.verbose ip=198.18.0.10"' \
    "skiff: memory 0x00100000-0x0ffe0000 usable" "13 bytes \"\" [first module.]" "Hello from Skiff!"

boot entropy "$work/hello.elf" 60 -cpu max
expect entropy 1 "entropy rdrand" "Hello from Skiff!"   # TCG's max CPU: RDRAND, no RDSEED

# boot_without_debug_exit NAME ELF SECONDS [qemu options...]: like `boot`, without isa-debug-exit.
boot_without_debug_exit() {
    local name=$1 elf=$2 seconds=$3
    shift 3
    timeout "$seconds" qemu-system-x86_64 -accel tcg -nographic -no-reboot -kernel "$elf" \
        -serial stdio -display none -monitor none "$@" </dev/null >"$work/$name.log" 2>&1
    status=$?
    tr -d '\r' <"$work/$name.log" >"$work/$name.txt"
}

# Without isa-debug-exit the kernel powers off through ACPI S5 (\_S5_ from QEMU's DSDT); QEMU
# exits 0 on power-off, so the kernel's status is lost.
boot_without_debug_exit acpi-poweroff "$work/hello.elf" 30
expect acpi-poweroff 0 "Hello from Skiff!" \
    "skiff: no isa-debug-exit device; powering off through ACPI (status 0 is lost)"

boot_without_debug_exit acpi-poweroff-pvh "$work/hello-pvh.elf" 30
expect acpi-poweroff-pvh 0 "skiff: booted via pvh" "Hello from Skiff!" \
    "skiff: no isa-debug-exit device; powering off through ACPI (status 0 is lost)"

# Without ACPI tables either the kernel halts with interrupts off; QEMU runs on until the timeout.
boot_without_debug_exit halt "$work/hello.elf" 8 -machine acpi=off
expect halt 124 "Hello from Skiff!" "no ACPI power-off (no RSDP); halting"

echo "== fault"
boot fault "$work/fault.elf" 60
expect fault 141 "*** CPU exception 14: page fault (#PF), error code 0x0000000000000002" \
    "page fault at 0x00007f0000000000: page not present, write" "CR2=0x00007f0000000000" "RIP=" "RBP=" \
    "backtrace (frame pointers"
# The backtrace is real: frame 0 is the faulting function, and main's frame is in the chain
# (`fault` itself is not: its call to writeUnmapped is a tail call).
frames=$(sed -n 's/^  #[0-9]* \(0x[0-9a-f]*\)$/\1/p' "$work/fault.txt")
symbols=$(addr2line -f -e "$work/fault.elf" $frames 2>/dev/null | sed -n '1~2p' | tr '\n' ' ')
echo "    backtrace symbols: $symbols"
case "$symbols" in
    *writeUnmapped*fault_main*long_mode_entry*) pass "fault backtrace symbolizes to writeUnmapped ← main ← boot" ;;
    *) fail "fault backtrace symbolizes to writeUnmapped ← main ← boot" ;;
esac

boot fault-null "$work/fault.elf" 60 -append "fault=null"
expect fault-null 141 "page fault at 0x0000000000000008: page not present, read" "(a null pointer dereference)"

boot fault-stack "$work/fault.elf" 60 -append "fault=stack"
expect fault-stack 141 "(stack overflow: the boot stack's guard page)" "more times"

boot fault-text "$work/fault.elf" 60 -append "fault=text"
expect fault-text 141 "protection violation, write"

boot fault-exec "$work/fault.elf" 60 -append "fault=exec"
expect fault-exec 141 "protection violation, instruction fetch"

boot fault-trap "$work/fault.elf" 60 -append "fault=trap"
expect fault-trap 141 "CPU exception 6: invalid opcode (#UD)" "a Swift runtime trap"

echo "== GRUB"
if command -v grub-mkrescue >/dev/null && [ -d /usr/lib/grub/i386-pc ]; then
    mkdir -p "$work/iso/boot/grub"
    cp "$work/hello.elf" "$work/iso/boot/hello.elf"
    cp "$work/module1" "$work/iso/boot/module1"
    cat >"$work/iso/boot/grub/grub.cfg" <<'EOF'
set timeout=0
set default=0
menuentry "skiff hello" {
    multiboot /boot/hello.elf skiff.verbose from=grub
    module /boot/module1 role=config
    boot
}
EOF
    if grub-mkrescue -o "$work/hello.iso" "$work/iso" >"$work/grub.log" 2>&1; then
        boot grub "" 120 -cdrom "$work/hello.iso"
        expect grub 1 "skiff: booted via multiboot" 'skiff: command line "skiff.verbose from=grub"' \
            "skiff: boot loader \"GRUB" "13 bytes \"role=config\" [first module.]" "Hello from Skiff!"
    else
        cat "$work/grub.log"
        fail "grub-mkrescue"
    fi
else
    fail "GRUB: grub-mkrescue or grub-pc-bin missing (apt-get install grub-pc-bin xorriso mtools)"
fi

echo
if [ $failures -ne 0 ]; then
    echo "kernel-boot: $failures check(s) FAILED"
    exit 1
fi
echo "kernel-boot: all checks passed"
