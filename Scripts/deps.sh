#!/usr/bin/env bash
# Installs the Debian packages a make target needs, quietly, and only those that are missing
# (so a second run makes no network access). Usage: Scripts/deps.sh test|demo
# Without root it installs nothing and lists what is missing; the tiers that need it then say so.
set -euo pipefail

case "${1:-test}" in
    demo) packages=(iproute2 iputils-ping socat qemu-system-x86 curl python3 libssl-dev) ;;
    test) packages=(iproute2 iputils-ping arping socat tcpdump python3 python3-scapy dnsmasq
                    isc-dhcp-client valgrind qemu-system-x86 grub-pc-bin grub-common xorriso mtools
                    binutils curl wrk qemu-utils
                    golang-go golang-github-vmware-govmomi-dev libssl-dev openssl) ;;
    *) echo "usage: $0 test|demo" >&2; exit 64 ;;
esac

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
        || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
    echo "deps: all present (${packages[*]})"
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "deps: NOT ROOT, cannot install: ${missing[*]}"
    echo "deps: the tiers that need them will say so (run as root, or: sudo apt-get install ${missing[*]})"
    exit 0
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${missing[*]}"
