#!/usr/bin/env bash
# integration-timeout: 420
# `skiff push|run|stop|rm vcenter` against govmomi's vSphere simulator (vcsim/main.go, over HTTPS in
# a namespace made here, 198.18.7.1), first as a vCenter (vpx), then as a standalone ESXi (esx).
# Examples/hello is built once as an ISO, a VMDK and an OVA. What skiff did is read back
# independently: the datastore's files on the local disk (cmp, qemu-img), the VMs through govmomi's
# own client (vcsim/vminfo/main.go). In each model:
#   - push: the ISO (--ca-file) and the VMDK (--thumbprint) land byte for byte in [LocalDS_0]
#     skiff/, with progress up to 100%; a second push of the same name needs --force;
#   - run the ISO --detach with --name, --memory, --cpus, --disk 1G and the networks (vpx: "VM
#     Network" and the DV port group DC0_DVPG0; esx: "VM Network"): the VM is poweredOn with
#     those CPUs and memory, one vmxnet3 NIC per network in order (the DV port on switch DVS0), the
#     ISO on a CD-ROM, a serial port backed by a file in the VM's folder, a 1048576 KB data disk;
#     a second run with the same --name is refused and creates nothing;
#   - run the VMDK as the boot disk (with --disk 64M) and --wait-ip: the boot disk is unit 0, a vmfs
#     VMDK in the VM's folder that qemu-img compare finds identical to the built image, the data
#     disk behind it; the simulator runs no guest, so the test plays the console: it writes a boot
#     line and then the kernel's `net: eth0 ADDRESS/24 ...` line into the serial port's file, and
#     skiff must print `ip: ADDRESS`; the same from guestinfo.ip (what Skiff's kernel publishes)
#     and from guest.ipAddress (what VMware Tools reports), each set by the checker through the
#     API with nothing on the console; with none of them, --wait-ip 3 gives up with one error;
#   - run the OVA (--format ova) with --cpus, --memory, --disk: imported (the simulator logs the NFC
#     upload: the OVA's disk member, whole), then reconfigured: the OVF's NIC as vmxnet3 on "VM
#     Network", the serial port's file, the CPUs, memory and data disk read back; an OVA onto a
#     missing network is refused before anything is imported;
#   - run --no-start without --name: a VM named after the image, poweredOff, its ISO uploaded by
#     run itself (cmp), on "VM Network" by default; and with LinuxKit's VCURL, VCDATACENTER,
#     VCDATASTORE, VCHOST (a standalone host: the VM lands on it, in its root pool) and VCNETWORK
#     in place of flags (VCDATASTORE=NoSuchDS is refused, so the variable is read);
#   - run without --detach follows the console file (the test appends lines; each shown once) and
#     ends with status 0 when the VM powers off (skiff stop from outside); on SIGTERM it ends with
#     143 and the VM keeps running;
#   - a VM named `skiff & <odd> "name"` is found by that exact name, in the pool --pool names;
#   - stop (poweredOff afterwards; again: status 0), rm (no VM afterwards), rm of a running VM needs --force, rm and
#     stop of a missing name are one clear error;
#   - errors, each one `error:` line, a non-zero status, and nothing created (the VM list and the
#     datastore's files unchanged): a wrong password (the fault's name, InvalidLogin, shown),
#     --datacenter NoSuchDC, --datastore NoSuchDS, --host NoSuchHost, --network NoSuchNet, a
#     wrong --thumbprint, and default verification (the simulator's self-signed certificate), which
#     must name --thumbprint as the fix; the password read from VCPASSWORD, --password-file and the
#     URL's user info also logs in;
#   - the password (with `&`, `<` and a quote in it, so it must be XML-escaped) never appears in
#     skiff's output, in the arguments of skiff's processes, or in any file skiff wrote (its HOME,
#     the image folder, the datastore);
#   - every command logs out: no session is left on the server at the end (the control: vminfo
#     sees skiff's session while run --wait-ip waits);
#   - rollbacks, with faults injected by the simulator (main.go -fail) for names starting fail-:
#     a push whose PUT fails half-way, a VMDK run whose boot-disk upload fails, a CreateVM_Task
#     that fails after the server made the VM's files (once into a new folder, once into a
#     --ds-folder of the same name that holds the pushed ISO, which must stay), a failing
#     PowerOnVM_Task, an OVA whose NFC upload fails (the HttpNfcLeaseAbort's fault read), and
#     SIGTERM during a (slowed) upload: each one `error:` line, nothing left behind, and for the
#     signal exit status 143.
# Every check runs; the summary lists the failed ones.
#
# Usage: sudo SKIFF=path/to/skiff Tests/Integration/vcenter.sh   (Scripts/integration.sh sets SKIFF)
#   SKIFF_SCRATCH=dir passes --scratch-path dir to `skiff build`.
source "$(dirname "$0")/common.bash"
source "$(dirname "$0")/vcsim.bash"
require_root
require_commands ip cmp timeout qemu-img pgrep

root=$(cd "$(dirname "$0")/../.." && pwd)
OUT=""                      # skiff's stdout/stderr, one set of files per call: $WORKDIR/out-MODE
IMAGES="$WORKDIR/images"    # the images skiff pushes (skiff may write next to them)
SKIFF_HOME="$WORKDIR/home"  # skiff's HOME and XDG folders
SECRET="$WORKDIR/secret"    # the password file: the only place the test itself writes the password
mkdir -p "$IMAGES" "$SKIFF_HOME" "$SECRET"
GUEST_ADDRESS=198.18.7.50   # what the simulated console reports; nothing is ever sent to it

vcsim_build
vcsim_build_vminfo

started=$SECONDS
for format in iso vmdk ova; do
    "$SKIFF" build "$root/Examples/hello" ${SKIFF_SCRATCH:+--scratch-path "$SKIFF_SCRATCH"} --format "$format" \
        --output "$IMAGES/hello.$format" >"$WORKDIR/build-$format.log" 2>&1 \
        || { tail -n 30 "$WORKDIR/build-$format.log"; fail "skiff build Examples/hello --format $format"; }
done
cp "$IMAGES/hello.iso" "$IMAGES/probe.iso" # for the error cases: never pushed, so any upload shows
cp "$IMAGES/hello.ova" "$IMAGES/probe.ova"
# for the injected faults (vcsim -fail): names that start with fail- or slow-
cp "$IMAGES/hello.iso" "$IMAGES/fail-put.iso"
cp "$IMAGES/hello.vmdk" "$IMAGES/fail-put.vmdk"
cp "$IMAGES/hello.iso" "$IMAGES/slow-put.iso"
truncate -s 32M "$IMAGES/slow-put.iso" # zeros behind the ISO: more than the sockets buffer, at 1 MiB/s
log "images built in $((SECONDS - started))s: hello.iso $(stat -c %s "$IMAGES/hello.iso") bytes, hello.vmdk $(stat -c %s "$IMAGES/hello.vmdk") bytes, hello.ova $(stat -c %s "$IMAGES/hello.ova") bytes"
# The OVA's disk member and its size: what the NFC upload must carry.
ova_disk=$(tar tf "$IMAGES/hello.ova" | grep -m1 '\.vmdk$') || fail "no .vmdk member in hello.ova"
ova_disk_size=$(tar xOf "$IMAGES/hello.ova" "$ova_disk" | wc -c)

NS="skf-it-vcenter-$$"
ip netns add "$NS"
in_ns ip link set lo up
in_ns ip addr add 198.18.7.1/32 dev lo

# A password that must be escaped in XML and percent-encoded in a URL; random, so a grep for it
# cannot match anything the test did not get from skiff.
VCSIM_PASSWORD="pw&<\"x$(head -c 9 /dev/urandom | base64 | tr '+/' 'xy')"
printf '%s\n' "$VCSIM_PASSWORD" >"$SECRET/password"
chmod 600 "$SECRET/password"
# percent_encode TEXT: every byte but [A-Za-z0-9._~-] as %XX (RFC 3986 §2.1), for URL user info.
percent_encode() {
    local text=$1 i c out=""
    for ((i = 0; i < ${#text}; i++)); do
        c=${text:i:1}
        case $c in
            [A-Za-z0-9._~-]) out+=$c ;;
            *) out+=$(printf '%%%02X' "'$c") ;;
        esac
    done
    printf '%s' "$out"
}
password_in_url=$(percent_encode "$VCSIM_PASSWORD")

checks=0
failed=()
ok() { checks=$((checks + 1)); log "ok: $1"; }
bad() {
    checks=$((checks + 1))
    failed+=("$MODE: $1")
    echo "CHECK FAILED: $MODE: $1"
    [[ -n "${2:-}" && -s "$2" ]] && sed 's/^/    | /' "$2" | head -n 30
    return 0
}

# sk LABEL SKIFF-ARGUMENTS...: runs skiff in the namespace, bounded to 90 s, with only the
# connection in the environment: GOVC_URL=$SK_URL and GOVC_PASSWORD=$SK_PASSWORD unless empty,
# GOVC_USERNAME (set SK_URL/SK_PASSWORD/SK_ENV for one call: `SK_PASSWORD=x sk ...`;
# SK_ENV holds extra NAME=VALUE lines to export). Output in $OUT/LABEL.out and .err, both in
# $OUT/LABEL.all; the status in SK_STATUS.
SK_URL=""
SK_PASSWORD=""
SK_ENV=""
sk() {
    local label=$1
    shift
    SK_STATUS=0
    (
        for name in $(compgen -e); do
            [[ $name == GOVC_* || $name == VC* || $name == SSL_CERT_* ]] && unset "$name"
        done
        export HOME="$SKIFF_HOME" XDG_CONFIG_HOME="$SKIFF_HOME/.config" XDG_CACHE_HOME="$SKIFF_HOME/.cache"
        [[ -n "$SK_URL" ]] && export GOVC_URL="$SK_URL"
        export GOVC_USERNAME="$VCSIM_USERNAME"
        [[ -n "$SK_PASSWORD" ]] && export GOVC_PASSWORD="$SK_PASSWORD"
        while IFS= read -r word; do [[ -z "$word" ]] || export "${word?}"; done <<<"$SK_ENV"
        exec ip netns exec "$NS" timeout 90 "$SKIFF" "$@"
    ) >"$OUT/$label.out" 2>"$OUT/$label.err" || SK_STATUS=$?
    cat "$OUT/$label.out" "$OUT/$label.err" >"$OUT/$label.all"
}

# succeeded LABEL WHAT: the last sk call exited 0 and printed no error line.
succeeded() {
    if [[ $SK_STATUS -eq 0 ]] && ! grep -q '^error:' "$OUT/$1.all"; then
        ok "$2"
        return 0
    fi
    bad "$2 (status $SK_STATUS)" "$OUT/$1.all"
    return 1
}

# has LABEL WHAT PATTERN: the call's output has a line matching the extended regex PATTERN.
has() {
    if grep -qE -- "$3" "$OUT/$1.all"; then ok "$2"; else bad "$2: no line matching /$3/" "$OUT/$1.all"; fi
}

# The VM names and the datastore's files (path, size), to show that a failed command left nothing.
snapshot() {
    vminfo "$NS" vms || echo "vminfo vms failed"
    echo "--- $DS_DIR"
    (cd "$DS_DIR" && find . -mindepth 1 -printf '%p %s\n' | LC_ALL=C sort) || echo "cannot list $DS_DIR"
}

# refused LABEL WHAT TEXT...: the last sk call failed with exactly one `error:` line containing each
# TEXT (case-insensitive), no crash, and the snapshot in $WORKDIR/before is unchanged (which then
# becomes the new one, so a leftover is reported once).
refused() {
    local label=$1 what=$2 text problem=""
    shift 2
    [[ $SK_STATUS -ne 0 ]] || problem="status 0"
    [[ $SK_STATUS -ne 124 ]] || problem="timed out after 90 s"
    local errors
    errors=$(grep -c '^error: ' "$OUT/$label.all" || true)
    [[ $errors -eq 1 ]] || problem+="${problem:+; }$errors error lines"
    for text in "$@"; do
        grep -qiF -- "$text" <<<"$(grep '^error: ' "$OUT/$label.all")" || problem+="${problem:+; }the error does not say '$text'"
    done
    if grep -qE 'Fatal error|Stack dump|Segmentation fault|Illegal instruction' "$OUT/$label.all"; then
        problem+="${problem:+; }crashed"
    fi
    snapshot >"$WORKDIR/after"
    if ! diff -u "$WORKDIR/before" "$WORKDIR/after" >"$WORKDIR/created.diff"; then
        problem+="${problem:+; }it left something behind: $(grep '^[-+][^-+]' "$WORKDIR/created.diff" | tr '\n' ' ')"
        cp "$WORKDIR/after" "$WORKDIR/before"
    fi
    if [[ -z "$problem" ]]; then
        ok "$what: $(grep -m1 '^error: ' "$OUT/$label.all")"
    else
        bad "$what: $problem" "$OUT/$label.all"
    fi
}

# vm_facts NAME: vminfo's lines for the VM in $WORKDIR/NAME.vm; returns vminfo's status.
vm_facts() {
    local status=0
    vminfo "$NS" vm "$1" >"$WORKDIR/$1.vm" 2>&1 || status=$?
    return "$status"
}

# vm_has NAME WHAT PATTERN: the VM's facts have a line matching the extended regex PATTERN.
vm_has() {
    if grep -qE -- "$3" "$WORKDIR/$1.vm"; then ok "$1: $2"; else bad "$1: $2: no line matching /$3/" "$WORKDIR/$1.vm"; fi
}

# datastore_file "[LocalDS_0] path": the file's path on the local disk.
datastore_file() {
    local path=${1#\[LocalDS_0\] }
    echo "$DS_DIR/$path"
}

regex_quote() { sed 's/[][\.*^$(){}+?|/]/\\&/g' <<<"$1"; }

# check_push LABEL IMAGE FLAGS...: pushes IMAGE; the datastore file has its bytes.
check_push() {
    local label=$1 image=$2 name
    shift 2
    name=$(basename "$image")
    sk "$label" push vcenter "$image" "$@"
    succeeded "$label" "push $name $*" || return 0
    has "$label" "push $name: connected line" "^vcenter: connected to "
    has "$label" "push $name: pushed line" "^pushed: \[LocalDS_0\] skiff/$(regex_quote "$name") \($(stat -c %s "$image") bytes\)$"
    has "$label" "push $name: progress up to 100%" "^push: .*$(regex_quote "$name").* 100%"
    if cmp "$image" "$DS_DIR/skiff/$name" >"$WORKDIR/cmp.out" 2>&1; then
        ok "push $name: [LocalDS_0] skiff/$name has the image's bytes"
    else
        bad "push $name: the datastore's file differs" "$WORKDIR/cmp.out"
    fi
}

# Checks the VM that run created from the ISO.
check_iso_vm() {
    local name=$1
    shift
    local networks=("$@")
    if ! vm_facts "$name"; then bad "$name: vminfo cannot read it" "$WORKDIR/$name.vm"; return 0; fi
    sed 's/^/    | /' "$WORKDIR/$name.vm" | grep -v '| device ' || true
    vm_has "$name" "poweredOn" "^power poweredOn$"
    vm_has "$name" "2 CPUs" "^numCPU 2$"
    vm_has "$name" "256 MB" "^memoryMB 256$"
    vm_has "$name" "files in its own folder" "^vmPathName \[LocalDS_0\] $name/"
    local nics expected="" network
    nics=$(grep '^nic ' "$WORKDIR/$name.vm" | sed 's/ mac=.*//' | tr '\n' '|' || true)
    for network in "${networks[@]}"; do expected+="nic vmxnet3 network=$network|"; done
    if [[ "$nics" == "$expected" ]]; then ok "$name: vmxnet3 NICs on ${networks[*]}"; else bad "$name: NICs are '$nics', expected '$expected'" "$WORKDIR/$name.vm"; fi
    if [[ $MODE == vpx ]]; then
        vm_has "$name" "the DV port is on switch DVS0" "^nic vmxnet3 network=DC0_DVPG0 mac=[0-9a-f:]{17} switch=DVS0$"
    fi
    vm_has "$name" "generated MACs" "^nic vmxnet3 network=[^=]* mac=[0-9a-f]{2}(:[0-9a-f]{2}){5}( |$)"
    vm_has "$name" "the ISO on a connected CD-ROM" "^cdrom iso=\[LocalDS_0\] skiff/hello\.iso connected=true startConnected=true "
    vm_has "$name" "a 1 GiB data disk" "^disk capacityKB=1048576 file=\[LocalDS_0\] $name/[^ ]+\.vmdk "
    vm_has "$name" "a serial port backed by a file in its folder" "^serial file=\[LocalDS_0\] $name/[^/]+$"
    [[ $(grep -c '^cdrom ' "$WORKDIR/$name.vm") -eq 1 ]] && ok "$name: one CD-ROM" || bad "$name: not one CD-ROM" "$WORKDIR/$name.vm"
}

# sk_background LABEL SKIFF-ARGUMENTS...: sk in the background; BG_PID is the subshell, whose child
# is timeout, whose child is skiff; the status lands in $OUT/LABEL.status.
sk_background() {
    local label=$1
    rm -f "$OUT/$label.status"
    ( sk "$@"; echo "$SK_STATUS" >"$OUT/$label.status" ) &
    BG_PID=$!
}

# wait_for FILE PATTERN SECONDS: until FILE has a line matching the extended regex PATTERN.
wait_for() {
    local _
    for _ in $(seq $(($3 * 10))); do
        grep -qE -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# console_file NAME: the local path of the VM's serial port file (from vminfo), or nothing.
console_file() {
    vm_facts "$1" || return 0
    local console
    console=$(sed -n 's/^serial file=//p' "$WORKDIR/$1.vm")
    [[ -z "$console" ]] || datastore_file "$console"
}

# check_guest_address NAME KEY ADDRESS SOURCE: run --detach --wait-ip; once powered on, the checker
# sets extraConfig KEY=ADDRESS; skiff must print `ip: ADDRESS` and name SOURCE; then the VM goes.
check_guest_address() {
    local name=$1 key=$2 address=$3 source=$4
    sk_background "run-$name" run vcenter "$IMAGES/hello.iso" --ca-file "$VCSIM_CERT" --name "$name" --detach --wait-ip 30
    local runner=$BG_PID
    if wait_for "$OUT/run-$name.out" "^powered on: $name$" 30; then
        sleep 1.2 # skiff polls; let it look once before the address appears
        vminfo "$NS" set "$name" "$key" "$address" >"$WORKDIR/set.out" 2>&1 || bad "vminfo set $name $key failed" "$WORKDIR/set.out"
    fi
    wait_for "$OUT/run-$name.status" '^[0-9]+$' 40 || true
    wait "$runner" 2>/dev/null || true
    cat "$OUT/run-$name.out" "$OUT/run-$name.err" >"$OUT/run-$name.all"
    if [[ $(cat "$OUT/run-$name.status" 2>/dev/null) == 0 ]] && grep -qx "ip: $address" "$OUT/run-$name.out" \
        && grep -qF "$source" "$OUT/run-$name.err"; then
        ok "--wait-ip from $source: ip: $address ($(grep -m1 -F "$source" "$OUT/run-$name.err"))"
    else
        bad "--wait-ip with $key=$address set by the guest: no 'ip: $address' from $source (status $(cat "$OUT/run-$name.status" 2>/dev/null))" "$OUT/run-$name.all"
    fi
    sk "rm-$name" rm vcenter "$name" --ca-file "$VCSIM_CERT" --force
}

# check_boot_disk NAME: the VM's first disk is unit 0, holds the image's virtual size, and has the
# same content as the VMDK that was built (qemu-img reads the descriptor on the datastore and the
# extent it names, whatever format skiff converted the image into).
check_boot_disk() {
    local name=$1 line file size
    line=$(grep -m1 '^disk ' "$WORKDIR/$name.vm" || true)
    size=$(qemu-img info --output=json "$IMAGES/hello.vmdk" | sed -n 's/^ *"virtual-size": *\([0-9]*\),*$/\1/p' | head -n 1 || true)
    local pattern="^disk capacityKB=([0-9]+) file=(\[LocalDS_0\] $name/[^ ]+\.vmdk) controller=[^ ]+ unit=0 "
    if [[ "$line" =~ $pattern ]]; then
        ok "$name: the boot disk is unit 0 in its folder: ${BASH_REMATCH[2]}"
        [[ "${BASH_REMATCH[1]}" == "$((size / 1024))" ]] && ok "$name: the boot disk's capacity is the image's ($size bytes)" \
            || bad "$name: the boot disk's capacity is ${BASH_REMATCH[1]} KB, the image's $((size / 1024)) KB"
        file=$(datastore_file "${BASH_REMATCH[2]}")
        # ESXi runs only its own formats: a text descriptor of createType vmfs (a flat extent).
        grep -aqx 'createType="vmfs"' "$file" 2>/dev/null && ok "$name: the boot disk is an ESXi (vmfs) VMDK" \
            || bad "$name: the boot disk's descriptor is not createType=\"vmfs\": $(head -c 512 "$file" | strings | grep -m1 createType)"
        if qemu-img compare "$IMAGES/hello.vmdk" "$file" >"$WORKDIR/compare.out" 2>&1; then
            ok "$name: qemu-img finds the boot disk on the datastore identical to the image ($(tr '\n' ' ' <"$WORKDIR/compare.out"))"
        else
            { echo "descriptor $file:"; head -c 2000 "$file" | strings | head -n 20; } >>"$WORKDIR/compare.out"
            bad "$name: the boot disk on the datastore differs from the image" "$WORKDIR/compare.out"
        fi
    else
        bad "$name: the first disk is not unit 0 of a VMDK in its folder: $line" "$WORKDIR/$name.vm"
    fi
}

# The password in anything skiff showed or wrote (reads the files, so call it at the end of a model).
check_password_hidden() {
    local hits
    hits=$(grep -rlF -e "$VCSIM_PASSWORD" -e "$password_in_url" "$OUT" "$SKIFF_HOME" "$IMAGES" "$DS_DIR" 2>/dev/null \
        | sed "s|^$WORKDIR/||" | tr '\n' ' ' || true)
    if [[ -z "$hits" ]]; then
        ok "the password (also percent-encoded) is in none of skiff's $(find "$OUT" -type f | wc -l) output files, its HOME, the image folder or the datastore"
    else
        bad "the password appears in: $hits"
    fi
}

# process_arguments PID...: the arguments of these processes and all their descendants, a line each.
process_arguments() {
    local pid child
    for pid in "$@"; do
        tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" && echo
        for child in $(pgrep -P "$pid" 2>/dev/null); do process_arguments "$child"; done
    done
    return 0 # a process may end while it is read
}

# check_rollbacks: failures injected by the simulator after skiff made something; each must be
# one error line and leave nothing behind.
check_rollbacks() {
    local rollbacks_started=$SECONDS
    snapshot >"$WORKDIR/before"
    sk fail-push push vcenter "$IMAGES/fail-put.iso" --ca-file "$VCSIM_CERT"
    refused fail-push "a push whose PUT fails half-way" "HTTP 500" "partial upload was deleted"

    sk fail-vmdk run vcenter "$IMAGES/fail-put.vmdk" --ca-file "$VCSIM_CERT" --name fail-put-vmdk --detach
    refused fail-vmdk "a VMDK run whose boot-disk upload fails" "HTTP 500" "fail-put-vmdk, which this run made, was deleted again"

    sk fail-create-new run vcenter "$IMAGES/hello.iso" --ca-file "$VCSIM_CERT" --name fail-create-new --disk 64M --detach
    refused fail-create-new "a CreateVM_Task that fails after making files" "InvalidDeviceSpec" "fail-create-new, which this run made, was deleted again"

    # the VM's folder is there before, holding the ISO: only what the failed create added goes
    sk fail-create-push push vcenter "$IMAGES/hello.iso" --ca-file "$VCSIM_CERT" --ds-folder fail-create
    succeeded fail-create-push "push hello.iso --ds-folder fail-create" || true
    snapshot >"$WORKDIR/before"
    sk fail-create run vcenter "$IMAGES/hello.iso" --ca-file "$VCSIM_CERT" --name fail-create --ds-folder fail-create --disk 64M --detach
    refused fail-create "a failed CreateVM_Task into a folder that holds the ISO" "InvalidDeviceSpec" "the image stays at [LocalDS_0] fail-create/hello.iso" "was deleted again"
    rm -rf "$DS_DIR/fail-create"
    snapshot >"$WORKDIR/before"

    sk fail-poweron run vcenter "$IMAGES/hello.iso" --ca-file "$VCSIM_CERT" --name fail-poweron --detach
    refused fail-poweron "a failing PowerOnVM_Task" "SystemError" "destroyed again"

    sk fail-nfc run vcenter "$IMAGES/probe.ova" --ca-file "$VCSIM_CERT" --name fail-nfc --detach
    refused fail-nfc "an OVA whose NFC upload fails" "HTTP 500" "the import was aborted" "destroyed again"
    # the abort's fault is a LocalizedMethodFault the simulator can read (it ignores one it cannot)
    if grep -qE 'fault: HttpNfcLeaseAbort [^ ]+: HTTP 200, fault SystemError: skiff: ' "$VCSIM_LOG"; then
        ok "HttpNfcLeaseAbort accepted with its SystemError: $(grep -m1 -o 'HttpNfcLeaseAbort .*' "$VCSIM_LOG" | cut -c1-120)"
    else
        grep 'fault: ' "$VCSIM_LOG" >"$WORKDIR/faults.log" || true
        bad "no HttpNfcLeaseAbort with a SystemError answered 200 in the simulator's log" "$WORKDIR/faults.log"
    fi

    # SIGTERM while the image uploads (the simulator reads it at 1 MiB/s): stop, delete, 143
    sk_background slow run vcenter "$IMAGES/slow-put.iso" --ca-file "$VCSIM_CERT" --name slow-put --detach
    local runner=$BG_PID sent=""
    if wait_for "$OUT/slow.err" '^push: slow-put\.iso' 30; then
        kill -TERM "$(pgrep -P "$runner" | head -n 1)" 2>/dev/null && sent=$SECONDS # timeout passes it on to skiff
    fi
    wait_for "$OUT/slow.status" '^[0-9]+$' 30 || true
    wait "$runner" 2>/dev/null || true
    SK_STATUS=$(cat "$OUT/slow.status" 2>/dev/null || echo 255)
    cat "$OUT/slow.out" "$OUT/slow.err" >"$OUT/slow.all"
    if [[ -z "$sent" ]]; then
        bad "run slow-put.iso: no upload progress line to send SIGTERM after" "$OUT/slow.all"
    elif [[ $SK_STATUS -eq 143 ]]; then
        ok "SIGTERM during the upload: status 143 after $((SECONDS - sent))s"
    else
        bad "SIGTERM during the upload: status $SK_STATUS, not 143" "$OUT/slow.all"
    fi
    refused slow "SIGTERM during an upload" "SIGTERM" "partial upload was deleted"
    log "$MODE: rollbacks checked in $((SECONDS - rollbacks_started))s"
}

# run_model MODE DATACENTER HOST POOL-OWNER NETWORK...: HOST is a standalone host for the VC*
# variables' run, POOL-OWNER the compute resource whose root pool --pool names.
run_model() {
    MODE=$1
    local datacenter=$2 host=$3 pool_owner=$4
    shift 4
    local networks=("$@") network_flags=() network
    for network in "${networks[@]}"; do network_flags+=(--network "$network"); done
    local model_started=$SECONDS

    vcsim_start "$MODE" "$NS" 198.18.7.1 -fail
    DS_DIR=$(vcsim_datastore_dir LocalDS_0) || fail "no local folder for LocalDS_0 ($DS_DIR)"
    SK_URL=$VCSIM_URL
    SK_PASSWORD=$VCSIM_PASSWORD
    OUT="$WORKDIR/out-$MODE"
    mkdir -p "$OUT"

    # push
    check_push push-iso "$IMAGES/hello.iso" --ca-file "$VCSIM_CERT"
    check_push push-vmdk "$IMAGES/hello.vmdk" --thumbprint "$VCSIM_SHA1"
    snapshot >"$WORKDIR/before"
    sk push-again push vcenter "$IMAGES/hello.iso" --ca-file "$VCSIM_CERT"
    refused push-again "push of an existing file without --force" "--force"
    sk push-force push vcenter "$IMAGES/hello.iso" --ca-file "$VCSIM_CERT" --force
    succeeded push-force "push --force replaces the file" \
        && { cmp -s "$IMAGES/hello.iso" "$DS_DIR/skiff/hello.iso" && ok "push --force: same bytes" || bad "push --force: the bytes differ"; }

    # run the ISO
    sk run-iso run vcenter "$IMAGES/hello.iso" --thumbprint "$VCSIM_SHA1" --name hello-iso \
        --memory 256 --cpus 2 --disk 1G "${network_flags[@]}" --detach
    if succeeded run-iso "run the ISO --detach"; then
        has run-iso "created line" "^created: VM hello-iso \([^)]+\) in $datacenter/vm$"
        has run-iso "powered-on line" "^powered on: hello-iso$"
    fi
    check_iso_vm hello-iso "${networks[@]}"

    snapshot >"$WORKDIR/before"
    sk run-dup run vcenter "$IMAGES/hello.iso" --thumbprint "$VCSIM_SHA1" --name hello-iso --detach
    refused run-dup "a second VM named hello-iso" "hello-iso"

    # run the VMDK as the boot disk, waiting for the address from the (simulated) console
    (
        sk run-vmdk run vcenter "$IMAGES/hello.vmdk" --thumbprint "$VCSIM_SHA1" --name hello-vmdk \
            --memory 128 --network "VM Network" --disk 64M --detach --wait-ip 60
        echo "$SK_STATUS" >"$WORKDIR/run-vmdk.status"
    ) &
    local runner=$! console=""
    : >"$WORKDIR/arguments"
    for _ in $(seq 300); do
        if [[ -z "$console" ]] && grep -q '^powered on: hello-vmdk' "$OUT/run-vmdk.out" 2>/dev/null; then
            if vm_facts hello-vmdk; then
                console=$(sed -n 's/^serial file=//p' "$WORKDIR/hello-vmdk.vm")
                local mac
                mac=$(sed -n 's/^nic vmxnet3 .* mac=\([0-9a-f:]*\).*/\1/p' "$WORKDIR/hello-vmdk.vm" | head -n 1)
                if [[ -n "$console" ]]; then
                    local file
                    file=$(datastore_file "$console")
                    mkdir -p "$(dirname "$file")"
                    printf 'skiff: booted via multiboot\r\n' >>"$file"
                    sleep 1.5 # a console that grows in steps, as a real one does
                    printf 'net: eth0 %s/24 mtu 1500 mac %s\r\nroute: default via 198.18.7.1 dev eth0\r\n' \
                        "$GUEST_ADDRESS" "${mac:-00:0c:29:00:00:01}" >>"$file"
                    log "wrote the guest's net: line to $console"
                    # the control for the logout check at the end: skiff's session is visible now
                    vminfo "$NS" sessions >"$WORKDIR/sessions-during" 2>&1 || true
                fi
            fi
        fi
        # skiff's processes (below timeout) and their arguments, sampled every round while it runs
        local skiff_pids
        skiff_pids=$(pgrep -P "$runner" 2>/dev/null | tr '\n' ' ' || true)
        # shellcheck disable=SC2086
        [[ -z "$skiff_pids" ]] || process_arguments $skiff_pids >>"$WORKDIR/arguments"
        running "$runner" || break
        sleep 0.2
    done
    wait "$runner" || true
    SK_STATUS=$(cat "$WORKDIR/run-vmdk.status" 2>/dev/null || echo 255)
    sort -u "$WORKDIR/arguments" >"$WORKDIR/arguments.seen" 2>/dev/null || true
    if ! grep -qv '^timeout ' "$WORKDIR/arguments.seen"; then
        bad "could not read skiff's process arguments while it ran" "$WORKDIR/arguments.seen"
    elif grep -qF -e "$VCSIM_PASSWORD" -e "$password_in_url" "$WORKDIR/arguments.seen"; then
        bad "the password is in the arguments of skiff's processes" "$WORKDIR/arguments.seen"
    else
        ok "the password is not in the arguments of skiff's processes ($(wc -l <"$WORKDIR/arguments.seen") seen)"
    fi
    [[ -n "$console" ]] || bad "hello-vmdk: no console file to write to (no powered-on line, or no serial port)" "$OUT/run-vmdk.all"
    if succeeded run-vmdk "run the VMDK --detach --wait-ip"; then
        has run-vmdk "ip line from the console's net: line" "^ip: $(regex_quote "$GUEST_ADDRESS")$"
        has run-vmdk "the address said to come from the console" "the address is from (the )?console"
    fi
    if vm_facts hello-vmdk; then
        vm_has hello-vmdk "poweredOn" "^power poweredOn$"
        vm_has hello-vmdk "a vmxnet3 NIC on VM Network" "^nic vmxnet3 network=VM Network mac="
        check_boot_disk hello-vmdk
        vm_has hello-vmdk "a 64 MiB data disk behind the boot disk" "^disk capacityKB=65536 file=\[LocalDS_0\] hello-vmdk/[^ ]+\.vmdk controller=[^ ]+ unit=[1-9]"
        if grep -q '^cdrom iso=' "$WORKDIR/hello-vmdk.vm"; then bad "hello-vmdk: has an ISO CD-ROM" "$WORKDIR/hello-vmdk.vm"; else ok "hello-vmdk: no ISO CD-ROM"; fi
        [[ $(grep -c '^nic ' "$WORKDIR/hello-vmdk.vm") -eq 1 ]] && ok "hello-vmdk: one NIC" || bad "hello-vmdk: not one NIC" "$WORKDIR/hello-vmdk.vm"
    else
        bad "hello-vmdk: vminfo cannot read it" "$WORKDIR/hello-vmdk.vm"
    fi

    # an OVA: imported through the OVF manager and an NFC lease, then reconfigured
    sk run-ova run vcenter "$IMAGES/hello.ova" --ca-file "$VCSIM_CERT" --name hello-ova --cpus 2 --memory 128 \
        --disk 256M --network "VM Network" --detach
    if succeeded run-ova "run the OVA --detach"; then
        has run-ova "imported line" "^imported: hello\.ova as hello-ova$"
        has run-ova "powered-on line" "^powered on: hello-ova$"
    fi
    # The simulator discards NFC uploads but logs each: the disk member must have gone whole.
    if grep -qE "nfc (PUT|POST) .*: transferred $ova_disk_size bytes" "$VCSIM_LOG"; then
        ok "hello-ova: the NFC lease got the OVA's $ova_disk ($ova_disk_size bytes)"
    else
        grep 'nfc ' "$VCSIM_LOG" >"$WORKDIR/nfc.log" || true
        bad "hello-ova: no NFC upload of $ova_disk_size bytes in the simulator's log" "$WORKDIR/nfc.log"
    fi
    if vm_facts hello-ova; then
        vm_has hello-ova "poweredOn" "^power poweredOn$"
        vm_has hello-ova "2 CPUs" "^numCPU 2$"
        vm_has hello-ova "128 MB" "^memoryMB 128$"
        vm_has hello-ova "the OVF's NIC, vmxnet3, on VM Network" "^nic vmxnet3 network=VM Network mac="
        [[ $(grep -c '^nic ' "$WORKDIR/hello-ova.vm") -eq 1 ]] && ok "hello-ova: one NIC" || bad "hello-ova: not one NIC" "$WORKDIR/hello-ova.vm"
        vm_has hello-ova "a serial port backed by a file in its folder" "^serial file=\[LocalDS_0\] hello-ova/[^/]+$"
        vm_has hello-ova "the OVF's disk" "^disk capacityKB=[1-9][0-9]* file=\[LocalDS_0\] hello-ova/"
        vm_has hello-ova "a 256 MiB data disk" "^disk capacityKB=262144 file=\[LocalDS_0\] hello-ova/"
    else
        bad "hello-ova: vminfo cannot read it" "$WORKDIR/hello-ova.vm"
    fi
    sk rm-ova rm vcenter hello-ova --ca-file "$VCSIM_CERT" --force
    succeeded rm-ova "rm hello-ova" || true
    snapshot >"$WORKDIR/before"
    sk ova-no-network run vcenter "$IMAGES/probe.ova" --ca-file "$VCSIM_CERT" --name probe --network NoSuchNet --detach
    refused ova-no-network "an OVA onto --network NoSuchNet" "NoSuchNet"

    # --no-start, the default name (the image's file name), and run's own upload of an image not
    # pushed before
    cp "$IMAGES/hello.iso" "$IMAGES/fresh.iso"
    sk run-fresh run vcenter "$IMAGES/fresh.iso" --ca-file "$VCSIM_CERT" --no-start
    if succeeded run-fresh "run --no-start without --name"; then
        has run-fresh "created line with the image's name" "^created: VM fresh \([^)]+\) in $datacenter/vm$"
        grep -q '^powered on:' "$OUT/run-fresh.all" && bad "run --no-start says it powered on" "$OUT/run-fresh.all" \
            || ok "run --no-start prints no powered-on line"
    fi
    cmp -s "$IMAGES/fresh.iso" "$DS_DIR/skiff/fresh.iso" && ok "run uploaded fresh.iso byte for byte" \
        || bad "run did not upload [LocalDS_0] skiff/fresh.iso byte for byte"
    if vm_facts fresh; then
        vm_has fresh "poweredOff with --no-start" "^power poweredOff$"
        vm_has fresh "the uploaded ISO on its CD-ROM" "^cdrom iso=\[LocalDS_0\] skiff/fresh\.iso "
        vm_has fresh "one NIC on VM Network by default" "^nic vmxnet3 network=VM Network mac="
    else
        bad "fresh: vminfo cannot read it" "$WORKDIR/fresh.vm"
    fi
    sk rm-fresh rm vcenter fresh --ca-file "$VCSIM_CERT"
    succeeded rm-fresh "rm of a powered-off VM without --force" || true

    # a name that XML and paths must escape, read back exactly; and --pool by path
    local odd='skiff & <odd> "name"'
    sk run-odd run vcenter "$IMAGES/hello.iso" --ca-file "$VCSIM_CERT" --name "$odd" --no-start --pool "$pool_owner/Resources"
    succeeded run-odd "run --name '$odd' --pool $pool_owner/Resources" || true
    if vm_facts "$odd"; then
        vm_has "$odd" "the name read back exactly" "^name $(regex_quote "$odd")$"
        vm_has "$odd" "in the pool --pool names" "^pool Resources owner=$pool_owner$"
    else
        bad "no VM named '$odd' after run" "$WORKDIR/$odd.vm"
    fi
    sk rm-odd rm vcenter "$odd" --ca-file "$VCSIM_CERT"
    succeeded rm-odd "rm '$odd'" || true

    # LinuxKit's variables instead of flags and GOVC_URL: the URL, datacenter, datastore, the last
    # network and a host
    local last_network=${networks[${#networks[@]} - 1]}
    SK_URL="" SK_ENV=$'VCURL='"$VCSIM_URL"$'\nVCDATACENTER='"$datacenter"$'\nVCDATASTORE=LocalDS_0\nVCHOST='"$host"$'\nVCNETWORK='"$last_network" \
        sk run-env run vcenter "$IMAGES/hello.iso" --ca-file "$VCSIM_CERT" --name hello-env --no-start
    succeeded run-env "run with VCURL, VCDATACENTER=$datacenter, VCDATASTORE, VCHOST=$host, VCNETWORK=$last_network" || true
    if vm_facts hello-env; then
        vm_has hello-env "on the host VCHOST names" "^host $host$"
        vm_has hello-env "in that host's root pool" "^pool Resources owner=$host$"
        vm_has hello-env "one NIC on $last_network" "^nic vmxnet3 network=$last_network mac="
    else
        bad "hello-env: vminfo cannot read it" "$WORKDIR/hello-env.vm"
    fi
    sk rm-env rm vcenter hello-env --ca-file "$VCSIM_CERT"
    succeeded rm-env "rm hello-env" || true
    snapshot >"$WORKDIR/before"
    SK_ENV="VCDATASTORE=NoSuchDS" sk env-no-datastore run vcenter "$IMAGES/probe.iso" --ca-file "$VCSIM_CERT" --name probe --detach
    refused env-no-datastore "VCDATASTORE=NoSuchDS" "NoSuchDS"

    # --wait-ip from the guest info, with nothing on the console: guestinfo.ip (what Skiff's kernel
    # publishes over VMware's backdoor) and guest.ipAddress (what VMware Tools reports), each set
    # through the API by the checker, playing the guest
    check_guest_address hello-gi guestinfo.ip 198.18.7.60 guestinfo.ip
    check_guest_address hello-tools SET.guest.ipAddress 198.18.7.61 guest.ipAddress

    # --wait-ip when the console never says: a bounded wait and one error, no address made up
    local wait_started=$SECONDS
    sk run-noip run vcenter "$IMAGES/hello.iso" --ca-file "$VCSIM_CERT" --name hello-noip --detach --wait-ip 3
    if [[ $SK_STATUS -ne 0 && $(grep -c '^error: ' "$OUT/run-noip.all") -eq 1 ]] && ! grep -q '^ip:' "$OUT/run-noip.all" \
        && ((SECONDS - wait_started < 30)); then
        ok "--wait-ip 3 without a net: line: $(grep '^error: ' "$OUT/run-noip.all") (after $((SECONDS - wait_started))s)"
    else
        bad "--wait-ip 3 without a net: line: status $SK_STATUS after $((SECONDS - wait_started))s" "$OUT/run-noip.all"
    fi
    sk rm-noip rm vcenter hello-noip --ca-file "$VCSIM_CERT" --force
    vm_facts hello-noip || true

    # run without --detach follows the console (each line once) until the VM powers off ...
    sk_background run-follow run vcenter "$IMAGES/hello.iso" --ca-file "$VCSIM_CERT" --name hello-follow
    local follower=$BG_PID file=""
    if wait_for "$OUT/run-follow.out" '^powered on: hello-follow$' 30; then
        file=$(console_file hello-follow)
    fi
    if [[ -n "$file" ]]; then
        mkdir -p "$(dirname "$file")"
        printf 'skiff: booted via multiboot\r\nHello from Skiff!\r\n' >>"$file"
        wait_for "$OUT/run-follow.out" 'Hello from Skiff!' 15 && ok "run follows the console: the first lines" \
            || bad "run without --detach did not show the console's first lines" "$OUT/run-follow.all"
        printf 'a line written later\r\n' >>"$file"
        wait_for "$OUT/run-follow.out" 'a line written later' 15 && ok "run follows the console: a later line" \
            || bad "run without --detach did not show a line written later" "$OUT/run-follow.out"
        [[ $(grep -c 'Hello from Skiff!' "$OUT/run-follow.out") -eq 1 ]] && ok "each console line shown once" \
            || bad "'Hello from Skiff!' shown $(grep -c 'Hello from Skiff!' "$OUT/run-follow.out") times, not once" "$OUT/run-follow.out"
    else
        bad "run without --detach: no powered-on line or no console file" "$OUT/run-follow.out"
    fi
    sk stop-follow stop vcenter hello-follow --ca-file "$VCSIM_CERT"
    succeeded stop-follow "stop hello-follow while run follows it" || true
    if wait_for "$OUT/run-follow.status" '^[0-9]+$' 20; then
        cat "$OUT/run-follow.out" "$OUT/run-follow.err" >"$OUT/run-follow.all"
        [[ $(cat "$OUT/run-follow.status") -eq 0 ]] && ! grep -q '^error:' "$OUT/run-follow.all" \
            && ok "run ends by itself, status 0, when the VM powers off: $(grep -m1 'powered off' "$OUT/run-follow.err")" \
            || bad "run ended with status $(cat "$OUT/run-follow.status") when the VM powered off" "$OUT/run-follow.all"
    else
        bad "run still follows 20 s after the VM powered off"
    fi
    wait "$follower" 2>/dev/null || true
    sk rm-follow rm vcenter hello-follow --ca-file "$VCSIM_CERT"

    # ... or until SIGTERM, which leaves the VM running
    sk_background run-term run vcenter "$IMAGES/hello.iso" --ca-file "$VCSIM_CERT" --name hello-term
    local terminated=$BG_PID
    if wait_for "$OUT/run-term.out" '^powered on: hello-term$' 30; then
        sleep 0.5
        kill -TERM "$(pgrep -P "$terminated" | head -n 1)" 2>/dev/null || true # timeout passes it on to skiff
        if wait_for "$OUT/run-term.status" '^[0-9]+$' 10; then
            cat "$OUT/run-term.out" "$OUT/run-term.err" >"$OUT/run-term.all"
            [[ $(cat "$OUT/run-term.status") -eq 143 ]] && ok "SIGTERM stops following, status 143: $(grep -m1 -i 'sigterm' "$OUT/run-term.err")" \
                || bad "SIGTERM while following: status $(cat "$OUT/run-term.status")" "$OUT/run-term.all"
            vm_facts hello-term && vm_has hello-term "still runs after skiff's SIGTERM" "^power poweredOn$"
        else
            bad "run did not end within 10 s of SIGTERM" "$OUT/run-term.err"
        fi
    else
        bad "run hello-term: no powered-on line" "$OUT/run-term.err"
    fi
    wait "$terminated" 2>/dev/null || true
    sk rm-term rm vcenter hello-term --ca-file "$VCSIM_CERT" --force

    # stop, rm
    sk stop stop vcenter hello-iso --ca-file "$VCSIM_CERT"
    succeeded stop "stop hello-iso" && has stop "stopped line" "^stopped: hello-iso$"
    vm_facts hello-iso && vm_has hello-iso "poweredOff after stop" "^power poweredOff$"
    sk stop-again stop vcenter hello-iso --ca-file "$VCSIM_CERT"
    succeeded stop-again "stop of a VM that is already off (status 0)" || true
    sk rm rm vcenter hello-iso --ca-file "$VCSIM_CERT"
    succeeded rm "rm hello-iso" && has rm "removed line" "^removed: hello-iso$"
    local status=0
    vm_facts hello-iso || status=$?
    [[ $status -eq 3 ]] && ok "hello-iso: no VM after rm" || bad "hello-iso: vminfo status $status after rm" "$WORKDIR/hello-iso.vm"
    [[ -e "$DS_DIR/hello-iso" ]] && bad "rm left the folder [LocalDS_0] hello-iso" || ok "rm deleted the VM's folder"
    [[ -f "$DS_DIR/skiff/hello.iso" ]] && ok "rm kept the pushed image" || bad "rm deleted the pushed [LocalDS_0] skiff/hello.iso"

    snapshot >"$WORKDIR/before"
    sk rm-running rm vcenter hello-vmdk --ca-file "$VCSIM_CERT"
    refused rm-running "rm of a powered-on VM without --force" "--force"
    sk rm-force rm vcenter hello-vmdk --ca-file "$VCSIM_CERT" --force
    succeeded rm-force "rm --force of a powered-on VM" && has rm-force "removed line" "^removed: hello-vmdk$"
    status=0
    vm_facts hello-vmdk || status=$?
    [[ $status -eq 3 ]] && ok "hello-vmdk: no VM after rm --force" || bad "hello-vmdk: vminfo status $status after rm --force" "$WORKDIR/hello-vmdk.vm"

    snapshot >"$WORKDIR/before"
    sk rm-missing rm vcenter no-such-vm --ca-file "$VCSIM_CERT"
    refused rm-missing "rm of a missing VM" "no-such-vm"
    sk stop-missing stop vcenter no-such-vm --ca-file "$VCSIM_CERT"
    refused stop-missing "stop of a missing VM" "no-such-vm"

    # errors that must leave nothing behind (probe.iso was never pushed: an upload would show)
    local probe=("$IMAGES/probe.iso" --name probe --disk 1G --detach)
    SK_PASSWORD="wrong-$VCSIM_PASSWORD" sk bad-password run vcenter "${probe[@]}" --ca-file "$VCSIM_CERT"
    refused bad-password "a wrong password" "InvalidLogin"
    sk no-datastore run vcenter "${probe[@]}" --ca-file "$VCSIM_CERT" --datastore NoSuchDS
    refused no-datastore "--datastore NoSuchDS" "NoSuchDS"
    sk no-datacenter run vcenter "${probe[@]}" --ca-file "$VCSIM_CERT" --datacenter NoSuchDC
    refused no-datacenter "--datacenter NoSuchDC" "NoSuchDC"
    sk no-host run vcenter "${probe[@]}" --ca-file "$VCSIM_CERT" --host NoSuchHost
    refused no-host "--host NoSuchHost" "NoSuchHost"
    sk no-network run vcenter "${probe[@]}" --ca-file "$VCSIM_CERT" --network "VM Network" --network NoSuchNet
    refused no-network "--network NoSuchNet" "NoSuchNet"
    sk bad-thumbprint run vcenter "${probe[@]}" --thumbprint "$(printf 'AB:%.0s' {1..19})AB"
    refused bad-thumbprint "a wrong --thumbprint" "thumbprint"
    sk unverified run vcenter "${probe[@]}"
    refused unverified "an unverifiable certificate without --ca-file/--thumbprint" "--thumbprint"
    sk push-unverified push vcenter "$IMAGES/probe.iso"
    refused push-unverified "push with an unverifiable certificate" "--thumbprint"
    SK_PASSWORD="wrong-$VCSIM_PASSWORD" sk push-bad-password push vcenter "$IMAGES/probe.iso" --ca-file "$VCSIM_CERT"
    refused push-bad-password "push with a wrong password" "InvalidLogin"
    sk push-bad-thumbprint push vcenter "$IMAGES/probe.iso" --thumbprint "$(printf 'AB:%.0s' {1..19})AB"
    refused push-bad-thumbprint "push with a wrong --thumbprint" "thumbprint"
    sk push-no-datastore push vcenter "$IMAGES/probe.iso" --ca-file "$VCSIM_CERT" --datastore NoSuchDS
    refused push-no-datastore "push to --datastore NoSuchDS" "NoSuchDS"
    sk push-missing push vcenter "$IMAGES/no-such.iso" --ca-file "$VCSIM_CERT"
    refused push-missing "push of a missing image file" "no-such.iso"

    # the other ways to give the password: each logs in (a missing VM's rm: connect, then one error)
    SK_PASSWORD="" SK_ENV="VCPASSWORD=$VCSIM_PASSWORD" sk pw-env rm vcenter no-such-vm --ca-file "$VCSIM_CERT"
    has pw-env "VCPASSWORD logs in" "^vcenter: connected to "
    SK_PASSWORD="" sk pw-file rm vcenter no-such-vm --ca-file "$VCSIM_CERT" --password-file "$SECRET/password"
    has pw-file "--password-file logs in" "^vcenter: connected to "
    SK_PASSWORD="" SK_URL="https://$(percent_encode "$VCSIM_USERNAME"):$password_in_url@${VCSIM_URL#https://}" \
        sk pw-url rm vcenter no-such-vm --ca-file "$VCSIM_CERT"
    has pw-url "the URL's user info logs in" "^vcenter: connected to "
    SK_PASSWORD="" sk pw-none rm vcenter no-such-vm --ca-file "$VCSIM_CERT"
    refused pw-none "no password anywhere" "password"
    sk insecure rm vcenter no-such-vm --insecure
    has insecure "--insecure connects" "^vcenter: connected to "
    sk sha256 rm vcenter no-such-vm --thumbprint "$VCSIM_SHA256"
    has sha256 "a SHA-256 --thumbprint connects" "^vcenter: connected to "
    SK_ENV="GOVC_TLS_CA_CERTS=$VCSIM_CERT" sk ca-env rm vcenter no-such-vm
    has ca-env "GOVC_TLS_CA_CERTS connects" "^vcenter: connected to "

    check_rollbacks

    check_password_hidden
    grep -q '^session ' "$WORKDIR/sessions-during" 2>/dev/null \
        && ok "vminfo saw skiff's session while run --wait-ip waited: $(head -n 1 "$WORKDIR/sessions-during")" \
        || bad "vminfo saw no session of skiff's while run --wait-ip waited" "$WORKDIR/sessions-during"
    if vminfo "$NS" sessions >"$WORKDIR/sessions" 2>&1; then
        [[ -s "$WORKDIR/sessions" ]] && bad "skiff left sessions logged in" "$WORKDIR/sessions" \
            || ok "every skiff command logged out (no session left on the server)"
    else
        bad "vminfo sessions failed" "$WORKDIR/sessions"
    fi
    vcsim_stop
    log "$MODE: done in $((SECONDS - model_started))s"
}

run_model vpx DC0 DC0_H0 DC0_H0 "VM Network" DC0_DVPG0
run_model esx ha-datacenter localhost.localdomain localhost.localdomain "VM Network"

if ((${#failed[@]} > 0)); then
    echo "${#failed[@]} of $checks checks failed:"
    printf '  %s\n' "${failed[@]}"
    fail "${#failed[@]} of $checks checks failed (first: ${failed[0]})"
fi
pass "$checks checks in vpx and esx: push (cmp), run ISO, VMDK and OVA (devices read back with govmomi, the boot disk by qemu-img), --wait-ip from the console, guestinfo.ip and guest.ipAddress, following the console, --no-start, VC* variables, stop, rm, refused cases leave nothing, rollbacks after injected faults leave nothing, password hidden, sessions logged out"
