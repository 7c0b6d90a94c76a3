# govmomi's vSphere simulator for the deploy tests (this file is not a test: it does not end in .sh).
# Source it after common.bash; it uses common.bash's log, skip and fail, and runs vcsim_stop before
# common.bash's cleanup on every exit path. See Tests/Integration/vcsim/README.md.
#
#   source "$(dirname "$0")/common.bash"
#   source "$(dirname "$0")/vcsim.bash"
#   require_root
#   vcsim_build                                  # once per checkout: ~1 min cold, seconds cached
#   NS="skf-it-${TEST_NAME}-$$"; ip netns add "$NS"; in_ns ip link set lo up
#   in_ns ip addr add 198.18.7.1/32 dev lo
#   vcsim_start vpx "$NS" 198.18.7.1             # or esx; ADDRESS or ADDRESS:PORT (default 443)
#   ... ip netns exec "$NS" curl --cacert "$VCSIM_CERT" "$VCSIM_URL" ...
#   vcsim_stop                                   # optional: the exit trap does it too
#
# The checker vcsim/vminfo reads VMs back with govmomi's client: vcsim_build_vminfo once, then
# `vminfo "$NS" vm NAME` (facts one per line, exit 3 if absent) or `vminfo "$NS" vms`; and
# `vcsim_datastore_dir LocalDS_0` prints the datastore's folder on the local disk.
#
# After vcsim_start: VCSIM_URL (https://ADDRESS:PORT/sdk), VCSIM_SHA1 and VCSIM_SHA256 (the
# certificate's thumbprints, AA:BB:... upper case), VCSIM_CERT (its PEM file), VCSIM_USERNAME and
# VCSIM_PASSWORD (the only pair Login accepts; the password is random unless set beforehand, and is
# passed in the environment, never on a command line), VCSIM_PID, VCSIM_LOG.
# A test that uses the simulator should ask for time for the first build:
#   # integration-timeout: 420

VCSIM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VCSIM_SOURCE="$VCSIM_ROOT/Tests/Integration/vcsim"
VCSIM_CACHE="$VCSIM_ROOT/.build-vcsim"
VCSIM_PACKAGES=(golang-go golang-github-vmware-govmomi-dev)
VCSIM_BIN=""
VMINFO_BIN=""
VCSIM_PID=""
VCSIM_DIR=""
: "${VCSIM_USERNAME:=administrator@vsphere.local}"
: "${VCSIM_PASSWORD:=}"

# Installs the Debian packages if missing (as Scripts/deps.sh does), then builds the simulator into
# .build-vcsim/vcsim-HASH, HASH covering main.go and the Go and govmomi package versions, offline
# (GOPATH mode over /usr/share/gocode, GOPROXY=off). Sets VCSIM_BIN.
vcsim_build() {
    vcsim_packages
    vcsim_go_build vcsim "$VCSIM_SOURCE/main.go"
    VCSIM_BIN=$VCSIM_GO_BIN
}

# Builds the checker vcsim/vminfo/main.go (govmomi's client reading a VM back; see its header) the
# same way into .build-vcsim/vminfo-HASH. Sets VMINFO_BIN; run it with vminfo (below).
vcsim_build_vminfo() {
    vcsim_packages
    vcsim_go_build vminfo "$VCSIM_SOURCE/vminfo/main.go"
    VMINFO_BIN=$VCSIM_GO_BIN
}

# vminfo NAMESPACE ARGUMENTS...: runs the checker in NAMESPACE against the running simulator,
# trusting its certificate; the password goes in the environment, never on the command line.
vminfo() {
    local namespace=$1
    shift
    [[ -n "$VMINFO_BIN" ]] || vcsim_build_vminfo
    VCSIM_URL="$VCSIM_URL" VCSIM_USERNAME="$VCSIM_USERNAME" VCSIM_PASSWORD="$VCSIM_PASSWORD" \
        VCSIM_CERT="$VCSIM_CERT" ip netns exec "$namespace" "$VMINFO_BIN" "$@"
}

vcsim_packages() {
    local missing=() package
    for package in "${VCSIM_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$package")
    done
    if ((${#missing[@]} > 0)); then
        [[ $(id -u) -eq 0 ]] || skip "missing: ${missing[*]} (Scripts/deps.sh installs them as root)"
        log "installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null || skip "could not install ${missing[*]}"
    fi
    [[ -d /usr/share/gocode/src/github.com/vmware/govmomi/simulator ]] \
        || skip "no govmomi simulator sources in /usr/share/gocode"
}

# vcsim_go_build NAME SOURCE.go: builds SOURCE into .build-vcsim/NAME-HASH (HASH: the source, the
# package versions and `go version`) unless it is there; sets VCSIM_GO_BIN.
vcsim_go_build() {
    local name=$1 source=$2 key
    key=$( {
        cat "$source"
        dpkg-query -W "${VCSIM_PACKAGES[@]}" golang-github-google-uuid-dev 2>/dev/null
        go version
    } | sha256sum | cut -c1-16)
    VCSIM_GO_BIN="$VCSIM_CACHE/$name-$key"
    mkdir -p "$VCSIM_CACHE"
    (
        # One build at a time per checkout; a second caller waits and then finds the binary.
        flock 9
        [[ -x "$VCSIM_GO_BIN" ]] && exit 0
        started=$SECONDS
        GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off GOFLAGS= \
            GOCACHE="$VCSIM_CACHE/go-cache" \
            nice -n 19 go build -o "$VCSIM_GO_BIN.tmp" "$source" || exit 1
        mv "$VCSIM_GO_BIN.tmp" "$VCSIM_GO_BIN"
        echo "[vcsim] built $VCSIM_GO_BIN in $((SECONDS - started))s"
    ) 9>"$VCSIM_CACHE/lock" || fail "could not build $source"
    [[ -x "$VCSIM_GO_BIN" ]] || fail "no binary at $VCSIM_GO_BIN after the build"
}

# vcsim_start MODE NAMESPACE ADDRESS[:PORT] [extra main.go flags...]
# MODE is vpx (vCenter) or esx (standalone ESXi). ADDRESS must already be on an interface in
# NAMESPACE (which the test created). Waits for the simulator's ready line (at most 30 s).
vcsim_start() {
    local mode=$1 namespace=$2 address=$3
    shift 3
    [[ -n "$VCSIM_BIN" ]] || vcsim_build
    [[ -z "$VCSIM_PID" ]] || fail "vcsim_start: a simulator already runs (pid $VCSIM_PID)"
    [[ "$address" == *:* ]] || address="$address:443"
    local host=${address%:*}
    # Not `ip ... | grep -q`: grep exits at the first match, and under pipefail ip's SIGPIPE fails it.
    grep -q " inet $host/" <<<"$(ip -n "$namespace" -o addr show)" \
        || fail "vcsim_start: $host is not on an interface in namespace $namespace"
    [[ -n "$VCSIM_PASSWORD" ]] || VCSIM_PASSWORD="vcsim-$(head -c 9 /dev/urandom | base64 | tr '+/' 'xy')"
    VCSIM_DIR=$(mktemp -d "/tmp/skiff-vcsim-${TEST_NAME:-vcsim}.XXXXXX")
    VCSIM_LOG="$VCSIM_DIR/vcsim.log"
    VCSIM_CERT="$VCSIM_DIR/cert.pem"
    # `ip netns exec` execs the command, so $! is the simulator itself. TMPDIR holds the
    # simulated datastores' folders, which it deletes on SIGTERM (and we delete VCSIM_DIR too).
    TMPDIR="$VCSIM_DIR" VCSIM_PASSWORD="$VCSIM_PASSWORD" ip netns exec "$namespace" "$VCSIM_BIN" \
        -mode "$mode" -listen "$address" -username "$VCSIM_USERNAME" -cert-out "$VCSIM_CERT" \
        "$@" >"$VCSIM_LOG" 2>&1 &
    VCSIM_PID=$!
    for _ in $(seq 300); do
        grep -qx ready "$VCSIM_LOG" 2>/dev/null && break
        running "$VCSIM_PID" || { sed 's/^/    /' "$VCSIM_LOG"; VCSIM_PID=""; fail "vcsim exited during start-up"; }
        sleep 0.1
    done
    grep -qx ready "$VCSIM_LOG" || fail "vcsim printed no 'ready' line within 30 s"
    VCSIM_URL=$(sed -n 's/^url: //p' "$VCSIM_LOG")
    VCSIM_SHA1=$(sed -n 's/^sha1: //p' "$VCSIM_LOG")
    VCSIM_SHA256=$(sed -n 's/^sha256: //p' "$VCSIM_LOG")
    log "vcsim $mode at $VCSIM_URL (pid $VCSIM_PID, sha1 $VCSIM_SHA1) in namespace $namespace"
}

# vcsim_datastore_dir NAME: the local folder that holds the running simulator's datastore NAME
# (govcsim-DATACENTER-NAME-NNN under its TMPDIR); fails unless there is exactly one.
vcsim_datastore_dir() {
    local folders=()
    shopt -s nullglob
    folders=("$VCSIM_DIR"/govcsim-*-"$1"-*/)
    shopt -u nullglob
    ((${#folders[@]} == 1)) || fail "vcsim_datastore_dir: ${#folders[@]} folders for datastore $1 in $VCSIM_DIR"
    echo "${folders[0]%/}"
}

# Stops the simulator with SIGTERM (SIGKILL after 5 s) and deletes its folder; safe to call twice.
vcsim_stop() {
    if [[ -n "$VCSIM_PID" ]]; then
        if running "$VCSIM_PID"; then
            kill -TERM "$VCSIM_PID" 2>/dev/null || true
            for _ in $(seq 50); do running "$VCSIM_PID" || break; sleep 0.1; done
            running "$VCSIM_PID" && kill -KILL "$VCSIM_PID" 2>/dev/null
        fi
        wait "$VCSIM_PID" 2>/dev/null || true
        VCSIM_PID=""
    fi
    if [[ -n "$VCSIM_DIR" ]]; then rm -rf "$VCSIM_DIR"; VCSIM_DIR=""; fi
}

# Runs vcsim_stop before common.bash's cleanup (which deletes NS), keeping the exit status.
vcsim_exit() {
    local status=$?
    set +e # with errexit on, the `(exit "$status")` below would end the shell before cleanup
    if [[ $status -ne 0 && $status -ne 77 && -n "$VCSIM_DIR" && -s "$VCSIM_DIR/vcsim.log" ]]; then
        echo "--- vcsim output (last 20 lines) ---"
        tail -n 20 "$VCSIM_DIR/vcsim.log"
    fi
    vcsim_stop || true
    (exit "$status")
    cleanup
}
trap vcsim_exit EXIT
