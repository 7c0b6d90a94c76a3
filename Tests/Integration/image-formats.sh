#!/usr/bin/env bash
# integration-timeout: 480
# The disk formats SkiffImage converts the raw disk into (skiff build --format vmdk | vmdk-stream |
# qcow2 | vhd | gce | ova), each built from Examples/hello and checked by independent readers:
#   - qemu-img check finds no errors in the qcow2 and both VMDKs;
#   - qemu-img info names the format (vmdk monolithicSparse / streamOptimized, qcow2 compat 1.1,
#     vpc), and qemu-img compare finds each image's content identical to the raw disk's
#     (the VHD as -f vpc; the GCE tarball's disk.raw, extracted with tar, as raw);
#   - the GCE disk.raw is a multiple of 1 GiB and the tarball stays small;
#   - the OVA: tar members .ovf, .mf, .vmdk in that order; the manifest's SHA256 lines match
#     (sha256sum); the .ovf is well-formed XML whose disk capacity and file size match;
#   - the qcow2 and both VMDKs boot under QEMU as IDE disks to "Hello from Skiff!" with hello's
#     isa-debug-exit status (0 → 1).
#
# Usage: Tests/Integration/image-formats.sh   (needs qemu-img from qemu-utils, qemu-system-x86_64)
#   SKIFF=path/to/skiff uses that CLI instead of building one; SKIFF_SCRATCH=dir passes
#   --scratch-path dir to `skiff build`; SKIFF_ROOT=dir passes --skiff-root dir.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
work=$(mktemp -d /tmp/skiff-image-formats.XXXXXX)
trap 'rm -rf "$work"' EXIT

failures=0
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1"; failures=$((failures + 1)); }

for tool in qemu-img qemu-system-x86_64 python3 sha256sum; do
    if ! command -v $tool >/dev/null; then
        echo "FAIL: $tool is not installed (Scripts/deps.sh test: qemu-utils, qemu-system-x86, python3)"
        exit 1
    fi
done

if [ -n "${SKIFF:-}" ]; then
    skiff=$SKIFF
else
    swift build --product skiff >"$work/skiff-build.log" 2>&1 || { cat "$work/skiff-build.log"; echo "FAIL: building skiff"; exit 1; }
    skiff="$(swift build --show-bin-path)/skiff"
fi
flags=()
[ -n "${SKIFF_SCRATCH:-}" ] && flags+=(--scratch-path "$SKIFF_SCRATCH")
[ -n "${SKIFF_ROOT:-}" ] && flags+=(--skiff-root "$SKIFF_ROOT")

# build FORMAT OUTPUT [options...]
build() {
    local format=$1 output=$2
    shift 2
    if "$skiff" build Examples/hello "${flags[@]}" --format "$format" --output "$output" "$@" >"$work/$format.build.log" 2>&1; then
        tail -1 "$work/$format.build.log"
    else
        tail -30 "$work/$format.build.log"
        fail "skiff build Examples/hello --format $format"
        return 1
    fi
}

# check NAME COMMAND...: passes when COMMAND succeeds; shows its output either way.
check() {
    local name=$1
    shift
    if "$@" >"$work/check.out" 2>&1; then
        sed 's/^/    | /' "$work/check.out" | head -12
        pass "$name"
    else
        sed 's/^/    | /' "$work/check.out" | head -30
        fail "$name"
    fi
}

# info_has FILE TEXT...: qemu-img info FILE shows every TEXT.
info_has() {
    local file=$1
    shift
    qemu-img info "$file" >"$work/info.txt" 2>&1 || { cat "$work/info.txt"; return 1; }
    cat "$work/info.txt"
    for text in "$@"; do grep -qF -- "$text" "$work/info.txt" || { echo "lacks: $text"; return 1; }; done
}

# boot NAME FILE FORMAT: hello boots from FILE as an IDE disk and exits with status 1.
boot() {
    local name=$1 file=$2 format=$3
    timeout 60 qemu-system-x86_64 -accel tcg -nographic -no-reboot \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 -m 256 -serial stdio -display none -monitor none \
        -drive "file=$file,format=$format,if=ide" </dev/null >"$work/$name.log" 2>&1
    local status=$?
    tr -d '\r' <"$work/$name.log" >"$work/$name.txt"
    if [ $status = 1 ] && grep -qF "Hello from Skiff!" "$work/$name.txt" && grep -qF "Skiff boot loader" "$work/$name.txt"; then
        pass "$name boots to \"Hello from Skiff!\" (status $status)"
    else
        echo "    QEMU status $status"
        sed 's/^/    | /' "$work/$name.txt" | tail -30
        fail "$name boots"
    fi
}

echo "== building (one kernel, seven images)"
build raw "$work/hello.img" || exit 1
build vmdk "$work/hello.vmdk" || exit 1
build vmdk-stream "$work/hello-stream.vmdk" || exit 1
build qcow2 "$work/hello.qcow2" || exit 1
build vhd "$work/hello.vhd" || exit 1
build gce "$work/hello.tar.gz" || exit 1
build ova "$work/hello.ova" --memory 512 --nics 2 --hardware-version 14 || exit 1
ls -l "$work" | grep -v build.log | sed 's/^/    /'

echo "== qemu-img check"
check "qemu-img check qcow2" qemu-img check "$work/hello.qcow2"
check "qemu-img check vmdk (monolithicSparse)" qemu-img check "$work/hello.vmdk"
check "qemu-img check vmdk (streamOptimized)" qemu-img check "$work/hello-stream.vmdk"

echo "== qemu-img info"
check "qcow2 is qcow2 compat 1.1" info_has "$work/hello.qcow2" "file format: qcow2" "compat: 1.1" "refcount bits: 16" "cluster_size: 65536"
check "vmdk is monolithicSparse" info_has "$work/hello.vmdk" "file format: vmdk" "create type: monolithicSparse"
check "vmdk-stream is streamOptimized" info_has "$work/hello-stream.vmdk" "file format: vmdk" "create type: streamOptimized" "compressed: true"
# A fixed VHD has no header (only the footer), so QEMU's probe sees raw: name the format.
check "vhd reads as vpc" sh -c "qemu-img info -f vpc '$work/hello.vhd' && qemu-img info -f vpc '$work/hello.vhd' | grep -q 'file format: vpc'"
# A fixed VHD has no header, only the footer: check the disk type (offset 60 from the end + 512: 2).
vhd_type=$(tail -c 512 "$work/hello.vhd" | od -An -tx1 -j 60 -N 4 | tr -d ' \n')
vhd_cookie=$(tail -c 512 "$work/hello.vhd" | head -c 8)
if [ "$vhd_type" = 00000002 ] && [ "$vhd_cookie" = conectix ] && [ $(( $(stat -c %s "$work/hello.vhd") % 1048576 )) = 512 ]; then
    pass "vhd footer: conectix, fixed (type 2), data a multiple of 1 MiB"
else
    fail "vhd footer: cookie '$vhd_cookie', type $vhd_type, size $(stat -c %s "$work/hello.vhd")"
fi

echo "== qemu-img compare with the raw disk"
check "qcow2 content = raw" qemu-img compare -f raw -F qcow2 "$work/hello.img" "$work/hello.qcow2"
check "vmdk content = raw" qemu-img compare -f raw -F vmdk "$work/hello.img" "$work/hello.vmdk"
check "vmdk-stream content = raw" qemu-img compare -f raw -F vmdk "$work/hello.img" "$work/hello-stream.vmdk"
check "vhd content = raw" qemu-img compare -f raw -F vpc "$work/hello.img" "$work/hello.vhd"

echo "== GCE tarball"
mkdir "$work/gce"
if tar -xzf "$work/hello.tar.gz" -C "$work/gce" && [ "$(tar -tzf "$work/hello.tar.gz")" = disk.raw ]; then
    size=$(stat -c %s "$work/gce/disk.raw")
    tarball=$(stat -c %s "$work/hello.tar.gz")
    echo "    disk.raw: $size bytes; tarball: $tarball bytes"
    [ $((size % 1073741824)) = 0 ] && pass "disk.raw is a multiple of 1 GiB" || fail "disk.raw is $size bytes"
    [ "$tarball" -lt $((16 << 20)) ] && pass "the tarball is under 16 MiB" || fail "the tarball is $tarball bytes"
    check "gce disk.raw content = raw" qemu-img compare -f raw -F raw "$work/hello.img" "$work/gce/disk.raw"
    rm -f "$work/gce/disk.raw"
else
    fail "tar extracts exactly disk.raw from the GCE tarball"
fi

echo "== OVA"
members=$(tar -tf "$work/hello.ova" | tr '\n' ' ')
echo "    members: $members"
[ "$members" = "hello.ovf hello.mf hello-disk1.vmdk " ] && pass "OVA members: .ovf, .mf, .vmdk in order" || fail "OVA member order"
mkdir "$work/ova"
tar -xf "$work/hello.ova" -C "$work/ova"
# SHA256(name)= hex  →  hex  name, for sha256sum -c.
sed -E 's/^SHA256\((.*)\)= ([0-9a-f]{64})$/\2  \1/' "$work/ova/hello.mf" >"$work/ova/sums"
check "the manifest's SHA-256 lines match (sha256sum -c)" sh -c "cd '$work/ova' && [ \$(wc -l <sums) = 2 ] && sha256sum -c sums"
check "the .ovf is OVF 1.0 XML whose disk matches" python3 - "$work/ova" <<'PY'
import os, sys, xml.etree.ElementTree as ET
d = sys.argv[1]
ns = {"ovf": "http://schemas.dmtf.org/ovf/envelope/1",
      "rasd": "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData",
      "vssd": "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"}
O = "{%s}" % ns["ovf"]
env = ET.parse(os.path.join(d, "hello.ovf")).getroot()
f = env.find("ovf:References/ovf:File", ns)
disk = env.find("ovf:DiskSection/ovf:Disk", ns)
href, size = f.get(O + "href"), int(f.get(O + "size"))
actual = os.path.getsize(os.path.join(d, href))
capacity = int(disk.get(O + "capacity"))
print("file", href, size, "actual", actual, "capacity", capacity, "format", disk.get(O + "format"))
assert size == actual, "ovf:size differs from the member's size"
assert disk.get(O + "format").endswith("#streamOptimized")
items = env.findall(".//ovf:VirtualHardwareSection/ovf:Item", ns)
types = [i.find("rasd:ResourceType", ns).text for i in items]
print("resource types", types)
assert types.count("10") == 2 and "21" in types and "17" in types and "6" in types
mem = [i for i in items if i.find("rasd:ResourceType", ns).text == "4"][0]
assert mem.find("rasd:VirtualQuantity", ns).text == "512"
assert env.find(".//vssd:VirtualSystemType", ns).text == "vmx-14"
open(os.path.join(d, "capacity"), "w").write(str(capacity))
PY
raw_size=$(stat -c %s "$work/hello.img")
[ "$(cat "$work/ova/capacity" 2>/dev/null)" = "$raw_size" ] && pass "OVF disk capacity = the raw disk's $raw_size bytes" \
    || fail "OVF disk capacity $(cat "$work/ova/capacity" 2>/dev/null) != $raw_size"
check "qemu-img check the OVA's vmdk" qemu-img check "$work/ova/hello-disk1.vmdk"
check "the OVA's vmdk content = raw" qemu-img compare -f raw -F vmdk "$work/hello.img" "$work/ova/hello-disk1.vmdk"

echo "== booting under QEMU (IDE)"
boot qcow2 "$work/hello.qcow2" qcow2
boot vmdk "$work/hello.vmdk" vmdk
boot vmdk-stream "$work/hello-stream.vmdk" vmdk

echo
if [ $failures -ne 0 ]; then
    echo "image-formats: $failures check(s) FAILED"
    exit 1
fi
echo "image-formats: all checks passed"
