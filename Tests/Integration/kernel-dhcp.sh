#!/usr/bin/env bash
# integration-timeout: 480
# Examples/ping as a booted kernel under QEMU with `ip=dhcp`, against dnsmasq on a bridge with two
# routers (the network of dhcp.bash): the kernel takes the lease and prints it (`dhcp:`, `net:`,
# `route:`, `dns:`), sends its default host name (skiff- and the MAC's last three octets), installs
# option 121's routes and ignores option 3 (RFC 3442 §2); T1 and T2 reach it through their own
# routers only; the lease renews at T1, and after dnsmasq is stopped and started again it is rebound
# at T2, with pings from both targets running all along and none lost.
source "$(dirname "$0")/common.bash"
require_root
require_commands ip ping qemu-system-x86_64
source "$(dirname "$0")/kernel.bash"
DHCP_NEXT_CLEANUP=finish_kernel_test
source "$(dirname "$0")/dhcp.bash"
require_commands dnsmasq

log "building Examples/ping"
build_example ping "$WORKDIR/ping.elf"
make_dhcp_network
start_dnsmasq
DHCP_LOG=$SERIAL
boot_in_ns "$WORKDIR/ping.elf" "ip=dhcp" '^echo: udp port 7' --tap "$TAP"
wait_for_line "^dhcp: eth0 lease " 30 "$QEMU_PID"
check_lease eth0
has_line "^config: eth0 from command line \(ip= at column 1\), dhcp pending$" || fail "no config: line for ip=dhcp"
grep -Eq "DHCPACK\(br0\) $ADDRESS 52:54:00:12:34:50 skiff-123450" "$DNSMASQ_LOG" \
    || fail "dnsmasq did not see the default host name skiff-123450 (option 12)"
check_routers
check_renew_rebind eth0 "$QEMU_PID"
pass "the ping kernel leased $ADDRESS/24 for $LEASE s (renew $RENEW, rebind $REBIND); 121 over option 3; both routers used; renewed and rebound across a dnsmasq restart with no ping lost"
