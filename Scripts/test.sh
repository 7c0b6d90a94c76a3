#!/usr/bin/env bash
# `make test`: every tier this machine can run, in order, continuing past failures so one run shows
# everything; exits non-zero if any tier failed. Its last line is the integration summary:
#   integration: 5 passed, 0 failed
#
#   1. dependencies   Scripts/deps.sh (root: apt-get the missing Debian packages)
#   2. build          swift build
#   3. unit tests     swift test (unit tests and whole-stack simulations)
#   4. embedded       Scripts/embedded-check.sh (portable modules in Embedded Swift)
#   5. fuzz           Scripts/fuzz.sh (every Fuzz/*.swift for FUZZ_SECONDS, default 15)
#   6. integration    Scripts/integration.sh (Tests/Integration/*.sh: the hosted stack on TAP
#                     devices in network namespaces, against Linux ping, arping, sockets)
set -uo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
results=()
failures=0

tier() {
    local title=$1; shift
    local began=$SECONDS status=0
    echo
    if [[ $1 == integration ]]; then echo "== $title: Scripts/integration.sh"; else echo "== $title: $*"; fi
    "$@" || status=$?
    local took=$((SECONDS - began))
    if [[ $status -eq 0 ]]; then
        results+=("$title: passed (${took}s)")
    else
        results+=("$title: FAILED (exit $status, ${took}s)")
        failures=$((failures + 1))
    fi
    return $status
}

# Scripts/integration.sh, keeping a copy of its output for the summary line.
integration() {
    Scripts/integration.sh | tee "$1"
    return "${PIPESTATUS[0]}"
}

tier dependencies Scripts/deps.sh test
if tier build swift build; then
    tier "unit tests" swift test
    tier embedded Scripts/embedded-check.sh
    tier fuzz Scripts/fuzz.sh
    integration_log=$(mktemp)
    tier integration integration "$integration_log"
    summary=$(grep '^integration: [0-9]* passed, [0-9]* failed$' "$integration_log" | tail -n 1)
    rm -f "$integration_log"
else
    results+=("unit tests, embedded, fuzz, integration: NOT RUN (the build failed)")
    shopt -s nullglob
    not_run=(Tests/Integration/*.sh)
    summary="integration: 0 passed, ${#not_run[@]} failed"
fi

echo
echo "== summary ($((SECONDS - started))s)"
for line in "${results[@]}"; do echo "$line"; done
if ((failures > 0)); then echo "make test: $failures tier(s) FAILED"; fi
echo "${summary:-integration: 0 passed, 1 failed}"
((failures == 0))
