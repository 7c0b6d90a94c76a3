# Skiff: the two commands for a fresh machine are `make demo` and `make test` (see README.md).

FUZZ_SECONDS ?= 15
export FUZZ_SECONDS

.PHONY: all build demo demo-ping demo-hosted test unit embedded fuzz integration bench clean

all: build

build:
	swift build

# Examples/web built into a kernel and booted under QEMU with 127.0.0.1:8080 forwarded to it:
# fetches a page, says how to reach it, then runs until Ctrl-C (DEMO_PORT=NNNN for another port).
demo:
	Scripts/demo-web.sh

# Examples/ping booted under QEMU on a TAP device in a network namespace (root): 3 pings, one UDP
# echo, then it runs until Ctrl-C.
demo-ping:
	Scripts/demo.sh kernel

# The same with the stack as a Linux process (hosted mode).
demo-hosted:
	Scripts/demo.sh hosted

# Every tier the machine can run: build, unit tests, Embedded build, fuzz, hosted integration.
test:
	Scripts/test.sh

unit:
	swift test

embedded:
	Scripts/embedded-check.sh

# make fuzz FUZZ_SECONDS=600 runs every target for that long.
fuzz:
	Scripts/fuzz.sh

integration:
	Scripts/integration.sh

# Instruction counts of the hot paths under callgrind; writes bench/results.md (README, "Benchmarks").
bench:
	Scripts/bench.sh

clean:
	rm -rf .build .build-embedded .build-fuzz .build-integration
