#!/usr/bin/env bash
# integration-timeout: 480
# `skiff run vmware` against a fake vmrun (no VMware here): Examples/hello built as a VMDK and as an
# ISO, then:
#   - the VMDK with --disk 64M, two NICs (nat with a static MAC, custom:vmnet3) and hardware
#     version 17: the .vmx is checked key by key; the fake vmrun, first on PATH, records its
#     arguments (-T ws start <vmx> nogui, then list until the VM is gone) and writes console lines
#     to the serial0.fileName the .vmx names, one at start and one later: skiff prints both; the
#     data disk is a monolithicSparse VMDK that qemu-img reads with a 64 MiB virtual size and no
#     errors, and that the .vmx attaches as scsi0:1;
#   - the ISO with --no-start --product fusion: ide1:0 is a cdrom-image, bios.bootOrder cdrom,
#     vmrun is not run;
#   - errors, one `error:` line each and nothing written: vmrun missing from PATH, the kernel ELF
#     and a raw disk given as the image (naming --format vmdk/iso), an existing .vmx without
#     --force (and with --force it is replaced), a name with `"` and `|` written escaped.
#
# Usage: Tests/Integration/vmware-vmx.sh   (needs qemu-img from qemu-utils)
#   SKIFF=path/to/skiff uses that CLI instead of building one; SKIFF_SCRATCH=dir passes
#   --scratch-path dir to `skiff build`; SKIFF_ROOT=dir passes --skiff-root dir.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
work=$(mktemp -d /tmp/skiff-vmware-vmx.XXXXXX)
trap 'rm -rf "$work"' EXIT

failures=0
checks=0
pass() { echo "PASS: $1"; checks=$((checks + 1)); }
fail() { echo "FAIL: $1"; failures=$((failures + 1)); }

if ! command -v qemu-img >/dev/null; then
    echo "SKIP: vmware-vmx: qemu-img is not installed (Scripts/deps.sh test: qemu-utils)"
    exit 77
fi
if [ -n "${SKIFF:-}" ]; then
    skiff=$SKIFF
else
    swift build --product skiff >"$work/skiff-build.log" 2>&1 || { cat "$work/skiff-build.log"; echo "FAIL: building skiff"; exit 1; }
    skiff="$(swift build --show-bin-path)/skiff"
fi
flags=()
[ -n "${SKIFF_SCRATCH:-}" ] && flags+=(--scratch-path "$SKIFF_SCRATCH")
[ -n "${SKIFF_ROOT:-}" ] && flags+=(--skiff-root "$SKIFF_ROOT")

echo "== building Examples/hello as elf, vmdk, iso and raw"
mkdir -p "$work/vms"
for format in vmdk iso raw; do
    extension=$format
    [ "$format" = raw ] && extension=img
    if ! "$skiff" build Examples/hello "${flags[@]}" --format "$format" --output "$work/vms/hello.$extension" >"$work/build-$format.log" 2>&1; then
        tail -30 "$work/build-$format.log"
        echo "FAIL: skiff build Examples/hello --format $format"
        exit 1
    fi
done
elf=$(sed -n 's/^hello: [0-9]* bytes, \(.*\.elf\) .*/\1/p' "$work/build-vmdk.log" | head -1)
[ -f "$elf" ] || { cat "$work/build-vmdk.log"; echo "FAIL: no ELF path in skiff build's output"; exit 1; }

# The fake vmrun: records each call's arguments (one line, tab-separated) in $work/vmrun.calls.
# `start VMX nogui` writes a console line into the file the .vmx's serial0.fileName names
# (relative to the .vmx's folder) and marks the VM running; the first `list` shows it running
# and appends a second console line; the next shows it stopped.
mkdir -p "$work/bin"
cat >"$work/bin/vmrun" <<'FAKE'
#!/usr/bin/env bash
state=${FAKE_VMRUN_STATE:?}
printf '%s\t' "$@" >>"$state/vmrun.calls"
echo >>"$state/vmrun.calls"
[ "$1" = "-T" ] || { echo "Error: expected -T first"; exit 1; }
case "$3" in
start)
    vmx=$4
    [ "$5" = nogui ] || { echo "Error: expected nogui"; exit 1; }
    [ -f "$vmx" ] || { echo "Error: Cannot open VM: $vmx, The virtual machine cannot be found"; exit 255; }
    serial=$(sed -n 's/^serial0\.fileName = "\(.*\)"$/\1/p' "$vmx")
    [ -n "$serial" ] || { echo "Error: no serial0.fileName"; exit 1; }
    printf 'skiff: booted via multiboot (fake vmrun)\r\nHello from the fake VMware guest\r\n' >"$(dirname "$vmx")/$serial"
    echo "$vmx" >"$state/running"
    echo "$(dirname "$vmx")/$serial" >"$state/serial"
    ;;
list)
    if [ -s "$state/running" ] && [ ! -e "$state/listed" ]; then
        touch "$state/listed"
        printf 'second line after start\n' >>"$(cat "$state/serial")"
        echo "Total running VMs: 1"
        cat "$state/running"
    else
        : >"$state/running"
        echo "Total running VMs: 0"
    fi
    ;;
*)
    echo "Error: unexpected command $3"; exit 1 ;;
esac
FAKE
chmod +x "$work/bin/vmrun"
export FAKE_VMRUN_STATE="$work"

# expect_error NAME TEXT [run vmware arguments...]: status 64 or 1, one `error:` line with TEXT.
expect_error() {
    local name=$1 text=$2
    shift 2
    "$skiff" run vmware "$@" >"$work/err.out" 2>"$work/err.err"
    local code=$?
    if [ "$code" -ne 0 ] && [ "$(grep -c '^error: ' "$work/err.err")" = 1 ] && grep -qF -- "$text" "$work/err.err"; then
        pass "$name"
    else
        echo "    status $code: $(cat "$work/err.err")"
        fail "$name"
    fi
}

# vmx_has FILE KEY VALUE...: the .vmx has each `KEY = "VALUE"` line.
vmx_has() {
    local file=$1 ok=1
    shift
    while [ $# -ge 2 ]; do
        grep -qxF -- "$1 = \"$2\"" "$file" || { echo "    $file lacks: $1 = \"$2\""; ok=0; }
        shift 2
    done
    [ $ok = 1 ]
}

echo "== the VMDK, started by the fake vmrun"
PATH="$work/bin:$PATH" timeout 60 "$skiff" run vmware "$work/vms/hello.vmdk" --disk 64M --hardware-version 17 \
    --net nat --mac 00:50:56:00:00:2a --net custom:vmnet3 --memory 128 >"$work/run.out" 2>"$work/run.err"
status=$?
sed 's/^/    | /' "$work/run.err"
[ $status = 0 ] && pass "skiff run vmware exits 0 when the VM stops" || fail "skiff run vmware: status $status"
vmx="$work/vms/hello.vmx"
if vmx_has "$vmx" .encoding UTF-8 config.version 8 virtualHW.version 17 displayName hello guestOS other-64 \
    firmware bios memsize 128 numvcpus 1 \
    scsi0.present TRUE scsi0.virtualDev lsilogic scsi0:0.present TRUE scsi0:0.fileName hello.vmdk \
    scsi0:1.present TRUE scsi0:1.fileName hello-data.vmdk \
    ethernet0.present TRUE ethernet0.virtualDev vmxnet3 ethernet0.connectionType nat \
    ethernet0.addressType static ethernet0.address 00:50:56:00:00:2a \
    ethernet1.present TRUE ethernet1.virtualDev vmxnet3 ethernet1.connectionType custom ethernet1.vnet vmnet3 \
    ethernet1.addressType generated \
    serial0.present TRUE serial0.fileType file serial0.fileName hello.serial.log \
    bios.bootOrder hdd bios.hddOrder scsi0:0; then
    pass "the .vmx, key by key"
else
    fail "the .vmx, key by key"
fi
[ "$(head -1 "$vmx")" = '.encoding = "UTF-8"' ] && pass ".encoding is the first line" || fail ".encoding is not the first line"
grep -q '^ide1:0' "$vmx" && fail "a VMDK boot has no CD-ROM" || pass "a VMDK boot has no CD-ROM"
printf -- '-T\tws\tstart\t%s\tnogui\t\n-T\tws\tlist\t\n-T\tws\tlist\t\n' "$vmx" >"$work/expected.calls"
if diff "$work/expected.calls" "$work/vmrun.calls" >/dev/null; then
    pass "vmrun -T ws start <vmx> nogui, then list until the VM is gone"
else
    diff "$work/expected.calls" "$work/vmrun.calls" | sed 's/^/    /'
    fail "vmrun's arguments"
fi
if grep -qF "Hello from the fake VMware guest" "$work/run.out" && grep -qF "second line after start" "$work/run.out"; then
    pass "the console file is followed (the line written at start and the one appended later)"
else
    sed 's/^/    out| /' "$work/run.out"
    fail "the console was not followed"
fi
disk="$work/vms/hello-data.vmdk"
qemu-img info "$disk" >"$work/disk.info" 2>&1
if grep -qF "file format: vmdk" "$work/disk.info" && grep -qF "virtual size: 64 MiB (67108864 bytes)" "$work/disk.info" \
    && grep -qF "create type: monolithicSparse" "$work/disk.info"; then
    pass "the data disk: vmdk, monolithicSparse, 64 MiB"
else
    sed 's/^/    | /' "$work/disk.info"
    fail "the data disk's qemu-img info"
fi
qemu-img check "$disk" >"$work/disk.check" 2>&1 && pass "qemu-img check the data disk" \
    || { sed 's/^/    | /' "$work/disk.check"; fail "qemu-img check the data disk"; }
[ "$(stat -c %s "$disk")" -lt 200000 ] && pass "the data disk is sparse ($(stat -c %s "$disk") bytes)" || fail "the data disk is $(stat -c %s "$disk") bytes"

echo "== the ISO, --no-start"
: >"$work/vmrun.calls"
PATH="$work/bin:$PATH" "$skiff" run vmware "$work/vms/hello.iso" --no-start --product fusion --name hello-cd \
    --net bridged --net hostonly >"$work/iso.out" 2>"$work/iso.err"
status=$?
[ $status = 0 ] && pass "--no-start exits 0" || { cat "$work/iso.err"; fail "--no-start: status $status"; }
[ -s "$work/vmrun.calls" ] && fail "--no-start ran vmrun" || pass "--no-start does not run vmrun"
if vmx_has "$work/vms/hello-cd.vmx" virtualHW.version 14 displayName hello-cd ide1:0.present TRUE \
    ide1:0.deviceType cdrom-image ide1:0.fileName hello.iso bios.bootOrder cdrom ethernet0.connectionType bridged \
    ethernet1.connectionType hostonly ethernet0.addressType generated serial0.fileName hello-cd.serial.log; then
    pass "the ISO's .vmx: CD-ROM, boot order, networks"
else
    fail "the ISO's .vmx"
fi
grep -q '^scsi0' "$work/vms/hello-cd.vmx" && fail "an ISO without --disk has no disk controller" \
    || pass "an ISO without --disk has no disk controller"

echo "== errors"
expect_error "an existing .vmx needs --force" "$work/vms/hello.vmx exists; use --force to replace it" \
    "$work/vms/hello.iso" --no-start
grep -qxF 'scsi0:0.fileName = "hello.vmdk"' "$work/vms/hello.vmx" && pass "the refused .vmx is unchanged" \
    || fail "the refused .vmx changed"
"$skiff" run vmware "$work/vms/hello.iso" --no-start --force --memory 64 >/dev/null 2>"$work/force.err" \
    && grep -qxF 'memsize = "64"' "$work/vms/hello.vmx" && grep -qxF 'ide1:0.fileName = "hello.iso"' "$work/vms/hello.vmx" \
    && pass "--force replaces the .vmx" || { cat "$work/force.err"; fail "--force"; }
PATH="/usr/bin:/bin" expect_error "vmrun missing" "vmrun not found on PATH; install VMware Workstation or Fusion" \
    "$work/vms/hello.iso" --name other
[ -e "$work/vms/other.vmx" ] && fail "nothing is written when vmrun is missing" || pass "nothing is written when vmrun is missing"
expect_error "the kernel ELF" "a kernel ELF; VMware boots a disk or CD image: build it with 'skiff build <app> --format vmdk'" \
    "$elf" --no-start
expect_error "a raw disk" "a raw disk image; VMware needs a VMDK: build it with 'skiff build <app> --format vmdk'" \
    "$work/vms/hello.img" --no-start
expect_error "a MAC outside VMware's static range" "--mac 52:54:00:12:34:56: VMware accepts static MAC addresses only from" \
    "$work/vms/hello.iso" --no-start --name x --mac 52:54:00:12:34:56
expect_error "a bad --disk" "--disk 12X: not a disk size" "$work/vms/hello.iso" --no-start --name x --disk 12X
[ -e "$work/vms/x.vmx" ] && fail "a flag error writes nothing" || pass "a flag error writes nothing"
"$skiff" run vmware "$work/vms/hello.iso" --no-start --name 'fw "edge"|1' >/dev/null 2>"$work/name.err" \
    && vmx_has "$work/vms/fw \"edge\"|1.vmx" displayName 'fw |22edge|22|7C1' serial0.fileName 'fw |22edge|22|7C1.serial.log' \
    && pass "a name with \" and | is escaped (|22, |7C)" || { cat "$work/name.err"; fail "a name with \" and |"; }

echo
if [ $failures -ne 0 ]; then
    echo "FAIL: vmware-vmx: $failures check(s) failed"
    exit 1
fi
echo "PASS: vmware-vmx: $checks checks: .vmx key by key, fake vmrun's arguments, console followed, data disk, errors"
