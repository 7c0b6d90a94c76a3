# Sourced by the tests that boot kernels or images under QEMU and check the console and the exit
# status, counting failures instead of stopping at the first (kernel-boot.sh, kernel-images.sh).
# Not a test itself (no .sh). The test sets `work` (its scratch folder) and `failures`, and each
# boot leaves QEMU's status in `status` and the console, without CRs, in "$work/$name.txt".
# Sourcing also checks that QEMU is installed, finds the skiff binary ($SKIFF, else built here)
# and honours SKIFF_SCRATCH in `build_app`.

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1"; failures=$((failures + 1)); }

# expect NAME STATUS TEXT...: QEMU exited with STATUS and the console shows every TEXT.
expect() {
    local name=$1 expected=$2
    shift 2
    local ok=1
    if [ "$status" != "$expected" ]; then
        echo "    $name: QEMU status $status, expected $expected"
        ok=0
    fi
    for text in "$@"; do
        if ! grep -qF -- "$text" "$work/$name.txt"; then
            echo "    $name: console lacks: $text"
            ok=0
        fi
    done
    if [ $ok = 1 ]; then
        pass "$name"
    else
        sed 's/^/    | /' "$work/$name.txt" | tail -40
        fail "$name"
    fi
}

if ! command -v qemu-system-x86_64 >/dev/null; then
    echo "FAIL: qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"
    exit 1
fi

# The skiff binary: $SKIFF, else built here.
if [ -n "${SKIFF:-}" ]; then
    skiff=$SKIFF
else
    swift build --product skiff >"$work/skiff-build.log" 2>&1 || { cat "$work/skiff-build.log"; echo "FAIL: building skiff"; exit 1; }
    skiff="$(swift build --show-bin-path)/skiff"
fi
scratch=()
[ -n "${SKIFF_SCRATCH:-}" ] && scratch=(--scratch-path "$SKIFF_SCRATCH")

# build_app NAME APP [skiff build options...]: runs `skiff build APP` with the options and prints
# its last line; on failure its log's tail and a FAIL.
build_app() {
    local name=$1 app=$2
    shift 2
    if "$skiff" build "$app" "${scratch[@]}" "$@" >"$work/$name.build.log" 2>&1; then
        tail -1 "$work/$name.build.log"
    else
        tail -30 "$work/$name.build.log"
        fail "skiff build $app $*"
        return 1
    fi
}
