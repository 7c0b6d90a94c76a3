#!/usr/bin/env bash
# integration-timeout: 480
# `skiff run qemu` boots kernels under QEMU and exits with the guest's status:
#   - Examples/hello under --accel tcg: its console on stdout, status 0; with --serial FILE the
#     console is in FILE and not on stdout; under --accel auto (KVM if a probe guest works under it,
#     else TCG with a one-line reason) it still boots;
#   - Examples/fault: status 70 (QEMU's 141 shifted back);
#   - tiny hand-made kernels: one that triple-faults (QEMU exits 0 under -no-reboot: an error, status
#     1), one that halts forever (SIGTERM and SIGINT reach QEMU; skiff exits 143 and 130);
#   - QEMU's own failure (a TAP NIC on `lo`, which is not a TAP device: nothing is created) is
#     told apart from a guest's status 0 (both make QEMU exit 1);
#   - --dry-run prints the exact command line; bad flags give one `error:` line and status 64.
# Exit status 77 when qemu-system-x86_64 is missing. KERNEL_SCRATCH, if set, is passed to
# `skiff build --scratch-path` (default: the checkout's .build-kernel).
#   SKIFF=.build/debug/skiff bash Tests/Integration/run-qemu.sh
source "$(dirname "$0")/common.bash"
require_commands qemu-system-x86_64 timeout
cd "$(dirname "$0")/../.."

checked=0
status=0

# run NAME [arguments of `skiff run qemu`...]: stdout in NAME.out (NAME.txt without CRs),
# stderr in NAME.err, exit status in $status.
run() {
    local name=$1
    shift
    status=0
    SKIFF_LOG="$WORKDIR/$name.err"
    timeout --kill-after=10 120 "$SKIFF" run qemu "$@" </dev/null >"$WORKDIR/$name.out" 2>"$WORKDIR/$name.err" || status=$?
    tr -d '\r' <"$WORKDIR/$name.out" >"$WORKDIR/$name.txt"
}

expect_status() {
    [[ $status -eq $2 ]] || fail "$1: skiff exited with status $status, expected $2 (stderr: $(head -c 2000 "$WORKDIR/$1.err"))"
    checked=$((checked + 1))
}

# expect_text NAME FILE-SUFFIX TEXT: NAME.FILE-SUFFIX contains TEXT.
expect_text() {
    grep -qF -- "$3" "$WORKDIR/$1.$2" || { sed 's/^/    | /' "$WORKDIR/$1.$2" | tail -20; fail "$1: $2 lacks: $3"; }
    checked=$((checked + 1))
}

# expect_usage_error EXPECTED-LINE [arguments...]: exactly that line on stderr, status 64.
expect_usage_error() {
    local expected=$1
    shift
    run usage "$@"
    [[ $status -eq 64 ]] || fail "skiff run qemu $*: exit status $status, expected 64 ($(cat "$WORKDIR/usage.err"))"
    [[ "$(cat "$WORKDIR/usage.err")" == "$expected" ]] \
        || fail "skiff run qemu $*: printed '$(cat "$WORKDIR/usage.err")', expected '$expected'"
    [[ ! -s "$WORKDIR/usage.out" ]] || fail "skiff run qemu $*: printed on stdout"
    checked=$((checked + 1))
}

le32() {
    printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255))
}

# tiny_kernel FILE CODE: a 512-byte x86-64 ELF file whose multiboot header (right after the 64-byte
# ELF header; flags bit 16, the a.out kludge) makes QEMU load it flat at 1 MiB and enter CODE (printf
# escapes) in 32-bit protected mode. Only the ELF header fields skiff checks are filled in.
tiny_kernel() {
    local file=$1 code=$2 load=$((0x100000)) magic=$((0x1BADB002)) flags=$((0x10000))
    {
        printf '\x7fELF\x02\x01\x01'; head -c 9 /dev/zero   # e_ident: ELFCLASS64, little-endian
        printf '\x02\x00\x3e\x00'                           # e_type EXEC, e_machine x86-64 (0x3e)
        head -c 44 /dev/zero
        printf "$(le32 $magic)$(le32 $flags)$(le32 $(((-(magic + flags)) & 0xFFFFFFFF)))"
        # header_addr (offset 64), load_addr, load_end_addr, bss_end_addr, entry_addr (offset 96)
        printf "$(le32 $((load + 64)))$(le32 $load)$(le32 $((load + 512)))$(le32 0)$(le32 $((load + 96)))"
        printf "$code"
    } >"$file"
    truncate -s 512 "$file"
}

log "building Examples/hello and Examples/fault"
scratch=()
[[ -n "${KERNEL_SCRATCH:-}" ]] && scratch=(--scratch-path "$KERNEL_SCRATCH")
for app in hello fault; do
    "$SKIFF" build "Examples/$app" --output "$WORKDIR/$app.elf" "${scratch[@]}" >"$WORKDIR/build-$app.log" 2>&1 \
        || { tail -30 "$WORKDIR/build-$app.log"; fail "skiff build Examples/$app"; }
done
HELLO="$WORKDIR/hello.elf"
FAULT="$WORKDIR/fault.elf"

log "hello and fault under TCG"
run hello "$HELLO" --accel tcg
expect_status hello 0
expect_text hello txt "Hello from Skiff!"

run fault "$FAULT" --accel tcg
expect_status fault 70
expect_text fault txt "CPU exception 14: page fault"
expect_text fault err "skiff: the guest exited with status 70"

log "--serial FILE"
run serial "$HELLO" --accel tcg --serial "$WORKDIR/console.log" --append "skiff.verbose" --memory 64
expect_status serial 0
tr -d '\r' <"$WORKDIR/console.log" >"$WORKDIR/console.txt"
expect_text console txt "Hello from Skiff!"
if grep -qF "Hello from Skiff!" "$WORKDIR/serial.txt"; then fail "serial: the console also reached stdout"; fi

log "--accel auto"
run auto "$HELLO"
expect_status auto 0
expect_text auto txt "Hello from Skiff!"
if [[ -s "$WORKDIR/auto.err" ]]; then
    grep -qE "^skiff: KVM unusable here \(.+\); using TCG$" "$WORKDIR/auto.err" \
        || fail "auto: unexpected stderr: $(cat "$WORKDIR/auto.err")"
    log "auto: $(cat "$WORKDIR/auto.err")"
else
    log "auto: KVM works here"
fi
checked=$((checked + 1))

log "a guest that triple-faults, and one that never exits"
# lidt with limit 0, then ud2: #UD, #GP and #DF all miss the IDT: a triple fault, i.e. a reset.
tiny_kernel "$WORKDIR/triple.elf" "\xfa\x0f\x01\x1d$(le32 $((0x100000 + 0x100)))\x0f\x0b"
run triple "$WORKDIR/triple.elf" --accel tcg
expect_status triple 1
expect_text triple err "error: the guest stopped without an exit status (QEMU exited 0): it reset, e.g. on a triple fault"

tiny_kernel "$WORKDIR/halt.elf" '\xfa\xf4\xeb\xfd'   # cli; hlt; jmp back to hlt
for signal in TERM INT; do
    SKIFF_LOG="$WORKDIR/halt-$signal.err"
    "$SKIFF" run qemu "$WORKDIR/halt.elf" --accel tcg </dev/null >"$WORKDIR/halt-$signal.out" 2>"$SKIFF_LOG" &
    SKIFF_PID=$!
    qemu_pid=""
    for _ in $(seq 100); do
        qemu_pid=$(pgrep -P "$SKIFF_PID" qemu-system || true)
        [[ -n "$qemu_pid" ]] && break
        sleep 0.1
    done
    [[ -n "$qemu_pid" ]] || fail "halt: QEMU did not start"
    sleep 0.5
    kill -"$signal" "$SKIFF_PID"
    status=0
    wait "$SKIFF_PID" || status=$?
    SKIFF_PID=""
    [[ $signal == TERM ]] && want=143 || want=130
    [[ $status -eq $want ]] || fail "halt: SIG$signal: skiff exited with status $status, expected $want"
    grep -qF "skiff: SIG$signal: stopped QEMU (pid $qemu_pid)" "$SKIFF_LOG" || fail "halt: SIG$signal: no 'stopped QEMU' line"
    ! running "$qemu_pid" || fail "halt: SIG$signal: QEMU $qemu_pid still runs"
    checked=$((checked + 1))
done

log "QEMU's own failure"
run qemu-fails "$HELLO" --accel tcg --tap lo
expect_status qemu-fails 1
expect_text qemu-fails err "could not configure /dev/net/tun (lo)"
expect_text qemu-fails err "error: qemu-system-x86_64 failed with status 1 (its message is above)"

log "--dry-run"
qemu=$(command -v qemu-system-x86_64)
run dry "$HELLO" --accel tcg --dry-run --tap tap0 --nic e1000 --user-net hostfwd=tcp:127.0.0.1:8080-:80 --append "ip=dhcp verbose"
expect_status dry 0
expected="$qemu -accel tcg -m 128 -no-reboot -nographic -display none -monitor none -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel $HELLO -append 'ip=dhcp verbose' -netdev tap,id=net0,ifname=tap0,script=no,downscript=no -device e1000,netdev=net0,mac=52:54:00:12:34:50 -netdev user,id=net1,restrict=on,hostfwd=tcp:127.0.0.1:8080-:80 -device e1000,netdev=net1,mac=52:54:00:12:34:51"
[[ "$(cat "$WORKDIR/dry.out")" == "$expected" ]] || fail "dry-run printed '$(cat "$WORKDIR/dry.out")', expected '$expected'"

log "bad flags"
expect_usage_error "error: $WORKDIR/missing.elf: no such file (build a kernel with 'skiff build <app folder>')" \
    "$WORKDIR/missing.elf"
echo "not a kernel" >"$WORKDIR/text.elf"
expect_usage_error "error: $WORKDIR/text.elf: not an ELF file (a Skiff kernel is the ELF that 'skiff build' writes)" \
    "$WORKDIR/text.elf"
expect_usage_error "error: --nic rtl8139: not a NIC model (virtio, vmxnet3 or e1000)" \
    "$HELLO" --tap tap0 --nic rtl8139
expect_usage_error "error: --nic: given 2 times for 1 NIC; give one --nic for all NICs, or one per NIC (TAP NICs first, then user-mode NICs)" \
    "$HELLO" --tap tap0 --nic e1000 --nic virtio
expect_usage_error "error: --memory 8: not a memory size in MiB (16 to 65536)" "$HELLO" --memory 8
expect_usage_error "error: --user-net hostfwd=tcp:0.0.0.0:8080-:80: host address 0.0.0.0 is not a loopback address; forwards listen on 127.0.0.0/8 only, e.g. hostfwd=tcp:127.0.0.1:8080-:80" \
    "$HELLO" --user-net hostfwd=tcp:0.0.0.0:8080-:80
expect_usage_error "error: --user-net hostfwd=tcp::8080-:80: no host address, which QEMU reads as every address of this host; give a loopback address (127.0.0.0/8), e.g. hostfwd=tcp:127.0.0.1:8080-:80" \
    "$HELLO" --user-net hostfwd=tcp::8080-:80
expect_usage_error "error: --accel hvf: not an accelerator (auto, kvm or tcg)" "$HELLO" --accel hvf
expect_usage_error "error: --initrd $WORKDIR/nothing: no such file" "$HELLO" --initrd "$WORKDIR/nothing"

pass "$checked checks: hello, fault, --serial, --accel auto, reset, signals, QEMU failure, --dry-run, bad flags"
