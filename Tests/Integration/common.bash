# Sourced by every Tests/Integration/*.sh (this file is not a test itself: it does not end in .sh).
#
# Each test is self-contained: it creates its own network namespace (name with a per-run suffix),
# puts a TAP device in it with the Linux side at 198.18.0.1/24, starts `skiff run hosted` on it at
# 198.18.0.2/24, talks to it with ordinary Linux tools, stops it with SIGTERM and deletes the
# namespace on every exit path. Addresses are only from 198.18.0.0/15 (RFC 2544).
#
# Exit status: 0 passed, 1 failed, 77 could not run (not root, a tool missing). Scripts/integration.sh
# counts 77 as a failure when CI=true. Run one test alone with:
#   sudo SKIFF=.build/debug/skiff bash Tests/Integration/ping-fragmented.sh

set -euo pipefail

TEST_NAME=$(basename "$0" .sh)
LINUX_ADDRESS=198.18.0.1
SKIFF_ADDRESS=198.18.0.2
PREFIX=24
TAP=tap0
NS=""
SKIFF_PID=""
WORKDIR=$(mktemp -d "/tmp/skiff-it-${TEST_NAME}.XXXXXX")
SKIFF_LOG="$WORKDIR/skiff.log"

: "${SKIFF:=}"
if [[ -z "$SKIFF" ]]; then
    root=$(cd "$(dirname "$0")/../.." && pwd)
    SKIFF="$root/.build/debug/skiff"
fi

log() { echo "[$TEST_NAME] $*"; }
skip() { echo "SKIP: $TEST_NAME: $*"; exit 77; }
fail() { echo "FAIL: $TEST_NAME: $*"; exit 1; }
pass() { echo "PASS: $TEST_NAME: $*"; exit 0; }

require_root() {
    [[ $(id -u) -eq 0 ]] || skip "needs root (network namespaces and TAP devices)"
    [[ -c /dev/net/tun ]] || skip "no /dev/net/tun (TUN/TAP missing from this kernel)"
}

# Installs Debian package $2 when command $1 is missing and we are root (a fresh machine running
# one test alone); require_commands still decides whether the test can run.
install_if_missing() {
    command -v "$1" >/dev/null 2>&1 && return 0
    [[ $(id -u) -eq 0 ]] || return 0
    log "installing $2"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "$2" >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null 2>&1 \
             && apt-get install -y -qq --no-install-recommends "$2" >/dev/null 2>&1; } || true
}

require_commands() {
    local missing=()
    for command in "$@"; do
        command -v "$command" >/dev/null 2>&1 || missing+=("$command")
    done
    ((${#missing[@]} == 0)) || skip "missing: ${missing[*]} (Scripts/deps.sh installs them)"
    [[ -x "$SKIFF" ]] || skip "no skiff binary at $SKIFF (run swift build first)"
}

in_ns() { ip netns exec "$NS" "$@"; }

# Whether process $1 still runs (a zombie, exited but not yet waited for, does not count).
running() {
    local state
    state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [[ -n "$state" && "$state" != Z ]]
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [[ -n "$SKIFF_PID" ]] && running "$SKIFF_PID"; then
        kill -TERM "$SKIFF_PID" 2>/dev/null || true
        for _ in $(seq 50); do running "$SKIFF_PID" || break; sleep 0.1; done
        running "$SKIFF_PID" && kill -KILL "$SKIFF_PID" 2>/dev/null
        wait "$SKIFF_PID" 2>/dev/null || true
    fi
    if [[ -n "$NS" ]]; then ip netns del "$NS" 2>/dev/null || true; fi
    if [[ $status -ne 0 && $status -ne 77 && -s "$SKIFF_LOG" ]]; then
        echo "--- skiff output (last 40 lines) ---"
        tail -n 40 "$SKIFF_LOG"
    fi
    rm -rf "$WORKDIR"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Creates the namespace and TAP device, configures the Linux side, starts skiff with the given
# extra flags and waits for its configuration lines.
start_skiff() {
    NS="skf-it-${TEST_NAME}-$$"
    ip netns add "$NS"
    in_ns ip link set lo up
    in_ns ip tuntap add dev "$TAP" mode tap
    in_ns ip addr add "$LINUX_ADDRESS/$PREFIX" dev "$TAP"
    in_ns ip link set "$TAP" up
    # `ip netns exec` execs the command, so $! is skiff itself.
    ip netns exec "$NS" "$SKIFF" run hosted --tap "$TAP" --address "$SKIFF_ADDRESS/$PREFIX" \
        --gateway "$LINUX_ADDRESS" "$@" >"$SKIFF_LOG" 2>&1 &
    SKIFF_PID=$!
    for _ in $(seq 100); do
        grep -q "^net: $TAP " "$SKIFF_LOG" 2>/dev/null && break
        running "$SKIFF_PID" || fail "skiff exited during start-up"
        sleep 0.1
    done
    grep -q "^net: $TAP " "$SKIFF_LOG" || fail "skiff printed no 'net: $TAP' line within 10 s"
    SKIFF_MAC=$(sed -n "s/^net: $TAP .* mac \([0-9a-f:]*\)$/\1/p" "$SKIFF_LOG" | head -n 1)
    log "skiff started (pid $SKIFF_PID, mac $SKIFF_MAC) in namespace $NS"
}

# Stops skiff with SIGTERM; fails unless it exits 0 within 5 s after printing its counters.
stop_skiff() {
    kill -TERM "$SKIFF_PID"
    local status=0
    for _ in $(seq 50); do running "$SKIFF_PID" || break; sleep 0.1; done
    running "$SKIFF_PID" && fail "skiff did not stop within 5 s of SIGTERM"
    wait "$SKIFF_PID" || status=$?
    SKIFF_PID=""
    [[ $status -eq 0 ]] || fail "skiff exited with status $status after SIGTERM"
    grep -q "^counters: $TAP " "$SKIFF_LOG" || fail "skiff printed no counters on SIGTERM"
}
