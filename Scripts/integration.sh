#!/usr/bin/env bash
# Runs the hosted integration tests, Tests/Integration/*.sh, one after another, each bounded by
# INTEGRATION_TIMEOUT seconds (default 180; a test that builds kernels may ask for more with a line
# `# integration-timeout: SECONDS` near its top), and ends with the line
#   integration: N passed, M failed
# A test that cannot run here (exit 77: not root, a tool missing) is reported loudly; with CI=true
# it counts as failed, so CI never passes without having run every test.
#   Scripts/integration.sh                 # all
#   Scripts/integration.sh udp-echo arping # some
set -uo pipefail
cd "$(dirname "$0")/.."

limit=${INTEGRATION_TIMEOUT:-180}
if [[ -z "${SKIFF:-}" ]]; then
    swift build --product skiff >/dev/null 2>&1 || swift build --product skiff || {
        echo "integration: cannot build skiff"
        echo "integration: 0 passed, 1 failed"
        exit 1
    }
    SKIFF="$(swift build --show-bin-path)/skiff"
fi
export SKIFF

shopt -s nullglob
if (($# > 0)); then
    tests=()
    for name in "$@"; do tests+=("Tests/Integration/$name.sh"); done
else
    tests=(Tests/Integration/*.sh)
fi

logs=.build-integration
mkdir -p "$logs"
passed=0
failed=0
skipped=()
for test in "${tests[@]}"; do
    name=$(basename "$test" .sh)
    started=$SECONDS
    status=0
    own=$(sed -n '1,30s/^# integration-timeout: *\([0-9][0-9]*\)$/\1/p' "$test" | head -n 1)
    this_limit=${own:-$limit}
    timeout --kill-after=10 "$this_limit" bash "$test" >"$logs/$name.log" 2>&1 || status=$?
    elapsed=$((SECONDS - started))
    case $status in
        0)
            passed=$((passed + 1))
            echo "integration: $name: passed in ${elapsed}s: $(grep -m1 '^PASS:' "$logs/$name.log" | sed 's/^PASS: [^:]*: //')"
            ;;
        77)
            reason=$(grep -m1 '^SKIP:' "$logs/$name.log" | sed 's/^SKIP: [^:]*: //')
            if [[ "${CI:-}" == "true" ]]; then
                failed=$((failed + 1))
                echo "integration: $name: FAILED: COULD NOT RUN IN CI: $reason"
            else
                skipped+=("$name")
                echo "integration: $name: NOT RUN: $reason"
            fi
            ;;
        *)
            failed=$((failed + 1))
            [[ $status -eq 124 || $status -eq 137 ]] && echo "integration: $name: TIMED OUT after ${this_limit}s"
            echo "integration: $name: FAILED (exit $status) in ${elapsed}s; its output:"
            sed 's/^/    /' "$logs/$name.log" | tail -n 60
            ;;
    esac
done

if ((${#skipped[@]} > 0)); then
    echo "integration: WARNING: ${#skipped[@]} test(s) NOT RUN (${skipped[*]}); they need root and the tools in Scripts/deps.sh"
fi
echo "integration: $passed passed, $failed failed"
((failed == 0))
