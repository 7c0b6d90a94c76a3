#!/usr/bin/env bash
# integration-timeout: 480
# Skiff's DNS stub resolver in a booted kernel: Examples/ping under QEMU with `skiff.resolve=NAME`
# on its command line, against dnsmasq on the Linux side of tap0 (198.18.0.1), which answers for
# skiff.test from its own records (--no-resolv, --local, TTL 600). (a) A static `ip=` whose dns0
# field names dnsmasq: an A record, a CNAME, NXDOMAIN, and a repeated name from the cache. (b)
# `ip=dhcp`: the server (option 6) and search domain (option 119) of dnsmasq's lease resolve a
# relative name.
source "$(dirname "$0")/common.bash"
require_root

install_if_missing dnsmasq dnsmasq
require_commands ip qemu-system-x86_64 dnsmasq
source "$(dirname "$0")/kernel.bash"

DNSMASQ_PID=""
DNSMASQ_LOG="$WORKDIR/dnsmasq.log"
dns_cleanup() {
    local status=$?
    set +e
    if [[ -n "$DNSMASQ_PID" ]]; then kill "$DNSMASQ_PID" 2>/dev/null; wait "$DNSMASQ_PID" 2>/dev/null; fi
    if [[ $status -ne 0 && $status -ne 77 && -s "$DNSMASQ_LOG" ]]; then
        echo "--- dnsmasq log (last 20 lines) ---"
        tail -n 20 "$DNSMASQ_LOG"
    fi
    (exit "$status")
    finish_kernel_test
}
trap dns_cleanup EXIT

log "building Examples/ping"
build_example ping "$WORKDIR/ping.elf"
make_namespace 1

ip netns exec "$NS" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --user=root \
    --interface=tap0 --bind-interfaces --log-queries --log-dhcp --log-facility="$DNSMASQ_LOG" \
    --pid-file="$WORKDIR/dnsmasq.pid" --dhcp-leasefile="$WORKDIR/dnsmasq.leases" \
    --local=/skiff.test/ --local-ttl=600 \
    --host-record=www.skiff.test,198.18.0.20 --cname=alias.skiff.test,www.skiff.test \
    --dhcp-range=198.18.0.100,198.18.0.150,255.255.255.0,2m --dhcp-authoritative --no-ping \
    --dhcp-option=option:dns-server,198.18.0.1 --dhcp-option=option:domain-search,skiff.test &
DNSMASQ_PID=$!
for _ in $(seq 50); do grep -q "started, version" "$DNSMASQ_LOG" 2>/dev/null && break; sleep 0.1; done
running "$DNSMASQ_PID" || fail "dnsmasq did not start: $(tail -n 5 "$DNSMASQ_LOG" 2>/dev/null)"

# console_line TEXT: the console has exactly this line.
console_line() {
    tr -d '\r' <"$SERIAL" | grep -Fxq -- "$1" || fail "expected '$1' on the console; got: $(tr -d '\r' <"$SERIAL" | grep '^dns: ' | tr '\n' '|')"
}

# (a) Static ip= with dns0.
boot_in_ns "$WORKDIR/ping.elf" \
    "ip=198.18.0.10::198.18.0.1:255.255.255.0::eth0:off:198.18.0.1 skiff.resolve=www.skiff.test skiff.resolve=alias.skiff.test skiff.resolve=nx.skiff.test skiff.resolve=WWW.skiff.test" \
    '^echo: udp port 7' --tap tap0
wait_for_console '^dns: WWW.skiff.test' "static ip="
console_line "dns: 198.18.0.1"
console_line "dns: www.skiff.test -> 198.18.0.20 (ttl 600, from 198.18.0.1)"
console_line "dns: alias.skiff.test -> 198.18.0.20 (cname www.skiff.test, ttl 600, from 198.18.0.1)"
console_line "dns: nx.skiff.test: no such name (NXDOMAIN)"
tr -d '\r' <"$SERIAL" | grep -Eq '^dns: WWW\.skiff\.test -> 198\.18\.0\.20 \(ttl (600|59[0-9]), from cache\)$' \
    || fail "the repeated name did not come from the cache"
grep -q "query\[A\] www.skiff.test from 198.18.0.10" "$DNSMASQ_LOG" || fail "dnsmasq saw no query from the kernel"
stop_qemu
log "static ip=: A, CNAME, NXDOMAIN and cache checked"

# (b) ip=dhcp: servers and search domain from the lease.
boot_in_ns "$WORKDIR/ping.elf" "ip=dhcp skiff.resolve=www" '^echo: udp port 7' --tap tap0
wait_for_console '^dns: www ' "ip=dhcp"
console_line "dns: www -> 198.18.0.20 (www.skiff.test, ttl 600, from 198.18.0.1)"
console_has "ip=dhcp" "^dhcp: eth0 lease 198\.18\.0\.1[0-9][0-9]/24 from 198\.18\.0\.1 "
stop_qemu
pass "the ping kernel resolved an A record, a CNAME, NXDOMAIN and a cached name through ip='s dns0, and a relative name through the servers and search domain of a DHCP lease"
