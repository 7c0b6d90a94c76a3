# Sourced (after common.bash) by the tests that boot kernels under QEMU with `skiff run qemu` and
# talk to them: building an example, booting it in the test's namespace, waiting for its console,
# pinging it, and stopping QEMU by its PID on every exit path. Not a test itself (no .sh).
#
# Variables: SKIFF (the skiff binary), SKIFF_SCRATCH (passed as `skiff build --scratch-path`;
# default: none, i.e. <root>/.build-kernel), SKIFF_ROOT (passed as `--skiff-root`; default: the
# checkout the test is in).

KERNEL_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
: "${SKIFF_SCRATCH:=}"
: "${SKIFF_ROOT:=}"
QEMU_PID=""
SERIAL="$WORKDIR/serial.log"

stop_qemu() {
    if [[ -n "$QEMU_PID" ]] && running "$QEMU_PID"; then
        kill -TERM "$QEMU_PID" 2>/dev/null || true
        for _ in $(seq 50); do running "$QEMU_PID" || break; sleep 0.1; done
        running "$QEMU_PID" && kill -KILL "$QEMU_PID" 2>/dev/null
    fi
    [[ -n "$QEMU_PID" ]] && wait "$QEMU_PID" 2>/dev/null || true
    QEMU_PID=""
}

# The EXIT trap: QEMU first, the guest's console on failure, then common.bash's cleanup.
finish_kernel_test() {
    local status=$?
    # Under errexit `(exit "$status")` below would end the shell before cleanup deletes the namespace.
    set +e
    stop_qemu
    if [[ $status -ne 0 && $status -ne 77 && -s "$SERIAL" ]]; then
        echo "--- guest console (last 30 lines) ---"
        tail -n 30 "$SERIAL"
    fi
    (exit "$status")
    cleanup
}
trap finish_kernel_test EXIT

# build_example NAME OUTPUT [SKIFF-BUILD-FLAGS...]
build_example() {
    local name=$1 output=$2
    shift 2
    local flags=()
    [[ -n "$SKIFF_SCRATCH" ]] && flags+=(--scratch-path "$SKIFF_SCRATCH")
    [[ -n "$SKIFF_ROOT" ]] && flags+=(--skiff-root "$SKIFF_ROOT")
    "$SKIFF" build "$KERNEL_ROOT/Examples/$name" --output "$output" "${flags[@]}" "$@" >>"$WORKDIR/build.log" 2>&1 \
        || { cat "$WORKDIR/build.log"; fail "skiff build Examples/$name $*"; }
}

# make_namespace COUNT: the test's namespace with tap0…tap<COUNT-1>, Linux at 198.18.<i>.1/24.
make_namespace() {
    NS="skf-it-${TEST_NAME}-$$"
    ip netns add "$NS"
    in_ns ip link set lo up
    local index
    for ((index = 0; index < $1; index++)); do
        in_ns ip tuntap add dev "tap$index" mode tap
        in_ns ip addr add "198.18.$index.1/24" dev "tap$index"
        in_ns ip link set "tap$index" up
    done
}

# wait_for_console PATTERN [WHAT]: up to 30 s for a console line matching PATTERN.
wait_for_console() {
    for _ in $(seq 300); do
        grep -q -- "$1" "$SERIAL" 2>/dev/null && return 0
        running "$QEMU_PID" || { cat "$WORKDIR/skiff.log" 2>/dev/null; fail "${2:-boot}: QEMU exited during boot"; }
        sleep 0.1
    done
    fail "${2:-boot}: no /$1/ on the console within 30 s"
}

# boot_in_ns KERNEL CMDLINE READY-PATTERN SKIFF-RUN-FLAGS...: `skiff run qemu` inside the
# namespace, console to $SERIAL, then waits for READY-PATTERN.
boot_in_ns() {
    local kernel=$1 cmdline=$2 ready=$3
    shift 3
    : >"$SERIAL"
    ip netns exec "$NS" "$SKIFF" run qemu "$kernel" --accel tcg --append "$cmdline" --serial "$SERIAL" "$@" \
        >"$WORKDIR/skiff.log" 2>&1 &
    QEMU_PID=$!
    wait_for_console "$ready" "$*"
}

console_has() {  # console_has WHAT PATTERN
    grep -q -- "$2" <(tr -d '\r' <"$SERIAL") || fail "$1: the console lacks /$2/"
}

# warm_up WHAT ADDRESS: one answered ping (the first frames through a fresh TCG guest wait for
# code translation, up to ~250 ms).
warm_up() {
    for _ in $(seq 20); do
        in_ns ping -c 1 -W 1 -q "$2" >/dev/null 2>&1 && return 0
    done
    fail "$1: $2 never answered a ping"
}

# ping_ok WHAT ADDRESS COUNT SIZE: COUNT pings of SIZE bytes, 20 ms apart, all answered; sets RTT
# to the average round trip in ms.
ping_ok() {
    local what=$1 address=$2 count=$3 size=$4 output
    output=$(in_ns ping -c "$count" -s "$size" -i 0.02 -W 2 -q "$address" 2>&1) || true
    grep -q " $count received, 0% packet loss" <<<"$output" \
        || fail "$what: $count pings of $size bytes to $address: $(grep loss <<<"$output")"
    RTT=$(sed -n 's|^rtt min/avg/max/mdev = [0-9.]*/\([0-9.]*\)/.*|\1|p' <<<"$output")
    log "$what: $count/$count pings of $size bytes to $address answered (average $RTT ms)"
}
