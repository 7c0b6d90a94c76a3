#!/usr/bin/env bash
# Instruction counts for the hot paths, measured with valgrind's callgrind (deterministic: the same
# binary and input give the same count whatever else the machine is doing). Each workload runs at
# two repetition counts; (instructions(N2) - instructions(N1)) / (N2 - N1) is the cost of one
# operation with start-up cancelled out. As root it adds Scripts/bench-boot.sh's kernel sizes and
# boot-to-first-ping times. Writes bench/results.md, which the README cites.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || { echo "bench: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
swift build -c release --product skiff-bench >/dev/null
bin=.build/release/skiff-bench
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

instructions() { # mode count -> total instructions (Ir)
    valgrind --tool=callgrind --callgrind-out-file="$out/cg.$1.$2" "$bin" "$1" "$2" >/dev/null 2>"$out/log.$1.$2"
    sed -n 's/^summary: *//p' "$out/cg.$1.$2"
}

per_op() { # mode n1 n2
    local a b
    a=$(instructions "$1" "$2")
    b=$(instructions "$1" "$3")
    echo $(( (b - a) / ($3 - $2) ))
}

parse=$(per_op parse 1000 11000)
view=$(per_op parse-view 1000 11000)
echo=$(per_op echo 1000 11000)
mkdir -p bench
{
    echo "# Benchmark results"
    echo
    echo "Produced by \`make bench\` (Scripts/bench.sh) on $(date -u +%Y-%m-%d), $(uname -m), $(swift --version 2>&1 | head -n 1)."
    echo "Instruction counts from \`valgrind --tool=callgrind\`, release build, per operation:"
    echo "(instructions at 11,000 repetitions - instructions at 1,000) / 10,000."
    echo
    echo "| workload | instructions per operation |"
    echo "|---|---|"
    echo "| parse and validate one Ethernet + IPv4 + TCP frame into value types (64-byte payload, timestamps option, both checksums verified) | $parse |"
    echo "| the same frame through the zero-copy views only (EthernetView, IPv4View, TCPView, TCPOptionReader; both checksums verified) | $view |"
    echo "| one ICMP echo request in, reply out, through NetworkStack (56-byte payload, device to device) | $echo |"
    echo
    if [[ $(id -u) -eq 0 ]]; then
        Scripts/bench-boot.sh
        echo
        Scripts/bench-tcp.sh
        echo
        Scripts/bench-images.sh
    else
        echo "(The boot benchmark, Scripts/bench-boot.sh, needs root: run make bench as root.)"
    fi
} > bench/results.md
cat bench/results.md
