#!/usr/bin/env bash
# Proves the portable modules build in Embedded Swift for the kernel's target (bare x86_64 ELF):
# SkiffStack (with SkiffWire and SkiffPlatform), SkiffServices and SkiffConfig.
set -euo pipefail
cd "$(dirname "$0")/.."

for target in SkiffStack SkiffServices SkiffConfig; do
    echo "embedded: swift build --triple x86_64-unknown-none-elf --target $target"
    swift build --triple x86_64-unknown-none-elf --toolset Kernel/toolset.json \
        --scratch-path .build-embedded --target "$target"
done
echo "embedded: SkiffWire, SkiffPlatform, SkiffStack, SkiffServices, SkiffConfig build for x86_64-unknown-none-elf"
