#!/usr/bin/env bash
# Bad flags to `skiff run hosted` give one line, `error: <flag> <value>: <what is expected>`, and
# exit status 64 (EX_USAGE), before any device is touched; a TAP device that cannot be opened
# gives one line naming the device and the system's reason.
source "$(dirname "$0")/common.bash"
require_commands ip

checked=0
expect_error() {
    local expected=$1; shift
    local output status=0
    output=$("$SKIFF" run hosted "$@" 2>&1 >/dev/null) || status=$?
    [[ $status -eq 64 ]] || fail "skiff run hosted $*: exit status $status, expected 64"
    [[ "$output" == "$expected" ]] || fail "skiff run hosted $*: printed '$output', expected '$expected'"
    checked=$((checked + 1))
}

expect_error "error: --address 198.18.0.300/24: not an IPv4 address with prefix length (a.b.c.d/n)" \
    --tap tap0 --address 198.18.0.300/24
expect_error "error: --address 198.18.0.2: not an IPv4 address with prefix length (a.b.c.d/n)" \
    --tap tap0 --address 198.18.0.2
expect_error "error: --address is required, e.g. --address 198.18.0.2/24" --tap tap0
expect_error "error: --address 198.18.0.0/24: 198.18.0.0 is the network address of 198.18.0.0/24; pick a host address" \
    --tap tap0 --address 198.18.0.0/24
expect_error "error: --gateway 198.19.0.1: not inside any --address network (198.18.0.0/24)" \
    --tap tap0 --address 198.18.0.2/24 --gateway 198.19.0.1
expect_error "error: --gateway 198.18.0.1.5: not an IPv4 address (a.b.c.d)" \
    --tap tap0 --address 198.18.0.2/24 --gateway 198.18.0.1.5
expect_error "error: --mtu 40: not an MTU in bytes (68 to 65521)" --tap tap0 --address 198.18.0.2/24 --mtu 40
expect_error "error: --mac 01:00:5e:00:00:01: a multicast address; an interface needs a unicast one (first byte even, e.g. 02:...)" \
    --tap tap0 --address 198.18.0.2/24 --mac 01:00:5e:00:00:01
expect_error "error: --mac 02:00:00:00:01: not a MAC address (aa:bb:cc:dd:ee:ff)" \
    --tap tap0 --address 198.18.0.2/24 --mac 02:00:00:00:01
expect_error "error: --echo-port 70000: not a UDP port (0 to 65535; 0 turns the echo service off)" \
    --tap tap0 --address 198.18.0.2/24 --echo-port 70000
expect_error "error: --tap averyveryverylongname: longer than 15 bytes (the Linux limit for interface names)" \
    --tap averyveryverylongname --address 198.18.0.2/24
expect_error "error: Unknown option '--bogus'" --tap tap0 --address 198.18.0.2/24 --bogus
expect_error "error: --assets serves files over HTTP: give --http-port too" \
    --tap tap0 --address 198.18.0.2/24 --assets Examples/web/assets

# Without privilege, TUNSETIFF fails with EPERM: one line saying so and what to do.
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
if [[ $(id -u) -ne 0 ]] || ! command -v setpriv >/dev/null; then
    log "not root or no setpriv: the EPERM message is not checked"
elif ! "${nobody[@]}" test -x "$SKIFF"; then
    log "user nobody cannot execute $SKIFF (directory permissions): the EPERM message is not checked"
else
    status=0
    output=$("${nobody[@]}" "$SKIFF" run hosted --tap skfnoperm0 --address 198.18.0.2/24 2>&1 >/dev/null) || status=$?
    [[ $status -eq 1 ]] || fail "unprivileged run: exit status $status, expected 1 ($output)"
    # EACCES where /dev/net/tun is mode 0600, EPERM from TUNSETIFF where it is 0666.
    [[ "$output" =~ ^"error: skfnoperm0: cannot create or attach the TAP device: "("Permission denied"|"Operation not permitted")" (needs root or CAP_NET_ADMIN; try sudo)"$ ]] \
        || fail "unprivileged run printed '$output'"
    checked=$((checked + 1))
fi
pass "$checked flag and permission errors give the expected one-line message"
