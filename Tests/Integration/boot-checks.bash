# Sourced by the tests that boot kernels or images under QEMU and check the console and the exit
# status, counting failures instead of stopping at the first (kernel-boot.sh, kernel-images.sh).
# Not a test itself (no .sh). The test sets `work` (its scratch folder) and `failures`, and each
# boot leaves QEMU's status in `status` and the console, without CRs, in "$work/$name.txt".

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
