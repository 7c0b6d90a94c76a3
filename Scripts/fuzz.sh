#!/usr/bin/env bash
# Builds and runs every libFuzzer target in Fuzz/ for FUZZ_SECONDS each (default 15); fails on any
# crash, trap or sanitizer report, and leaves the reproducer in .build-fuzz/<name>-crash-*.
#
# A target Fuzz/<Name>.swift is compiled as ONE module together with the sources of the modules it
# uses (so it does not `import` them; their `import Skiff…` lines are removed from copies):
#   swiftc -sanitize=fuzzer,address -parse-as-library -O <sources> Fuzz/<Name>.swift -o .build-fuzz/<Name>
# The modules are SkiffWire, plus SkiffPlatform / SkiffStack / SkiffServices / SkiffConfig (with
# what they depend on) when the target names them in a line such as
#   // fuzz-modules: SkiffWire SkiffPlatform SkiffStack
# or, lacking that line, anywhere in its text.
#
# The corpus grows in .build-fuzz/corpus-<Name>; Fuzz/Seeds/<Name>/ and Fuzz/corpus-<Name>/ are
# read as seeds when present. FUZZ_PARALLEL targets run at once (default: the number of cores).
#   Scripts/fuzz.sh                    # every target, 15 s each
#   FUZZ_SECONDS=600 Scripts/fuzz.sh   # as long as asked (make fuzz FUZZ_SECONDS=600)
#   Scripts/fuzz.sh DHCP DNS           # only these targets
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-15}
parallel=${FUZZ_PARALLEL:-$(nproc 2>/dev/null || echo 2)}
out=.build-fuzz
mkdir -p "$out"

shopt -s nullglob
if (($# > 0)); then
    targets=()
    for name in "$@"; do targets+=("Fuzz/$name.swift"); done
else
    targets=(Fuzz/*.swift)
fi
if ((${#targets[@]} == 0)); then
    echo "fuzz: NO TARGETS in Fuzz/ (nothing was fuzzed)"
    exit 0
fi

modules_for() {
    local file=$1 wanted
    wanted=$(sed -n 's|^// fuzz-modules:||p' "$file" | head -n 1)
    if [[ -z "$wanted" ]]; then
        wanted="SkiffWire"
        for module in SkiffPlatform SkiffStack SkiffServices SkiffConfig; do
            grep -q "$module" "$file" && wanted+=" $module"
        done
    fi
    # Each module brings the ones below it (SkiffWire <- SkiffPlatform <- SkiffStack <- SkiffServices;
    # SkiffConfig sits on SkiffStack, beside SkiffServices).
    local level=0
    [[ " $wanted " == *" SkiffPlatform "* ]] && level=1
    [[ " $wanted " == *" SkiffStack "* ]] && level=2
    [[ " $wanted " == *" SkiffConfig "* ]] && ((level < 2)) && level=2
    [[ " $wanted " == *" SkiffServices "* ]] && level=3
    local all=(SkiffWire SkiffPlatform SkiffStack SkiffServices)
    local chosen="${all[*]:0:$((level + 1))}"
    [[ " $wanted " == *" SkiffConfig "* ]] && chosen+=" SkiffConfig"
    echo "$chosen"
}

build() {
    local file=$1 name binary sources module
    name=$(basename "$file" .swift)
    binary="$out/$name"
    local modules
    modules=$(modules_for "$file")
    local src="$out/src-$name"
    rm -rf "$src"
    mkdir -p "$src"
    # Copies without the `import Skiff…` lines, prefixed with the module name so that files of the
    # same name in two modules do not collide.
    for module in $modules; do
        # Sources in subfolders too (Sources/SkiffStack/TCP/…); file names are unique per module.
        while IFS= read -r source; do
            sed -E '/^[[:space:]]*(@[A-Za-z_]+[[:space:]]+)*((public|internal|package)[[:space:]]+)?import[[:space:]]+Skiff/d' \
                "$source" >"$src/${module}_$(basename "$source")"
        done < <(find Sources/"$module" -name '*.swift' | sort)
    done
    sed -E '/^[[:space:]]*(@[A-Za-z_]+[[:space:]]+)*((public|internal|package)[[:space:]]+)?import[[:space:]]+Skiff/d' \
        "$file" >"$src/Fuzz_$name.swift"
    local digest
    digest=$( (echo "$modules"; cat "$src"/*.swift) | sha256sum | cut -d' ' -f1)
    if [[ -x "$binary" && "$(cat "$binary.inputs" 2>/dev/null)" == "$digest" ]]; then
        echo "fuzz: $name: up to date ($modules)"
        return 0
    fi
    echo "fuzz: $name: compiling with $modules"
    rm -f "$binary.inputs"
    swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name "Fuzz$name" \
        "$src"/*.swift -o "$binary" >"$out/$name.build.log" 2>&1 || {
        echo "fuzz: $name: COMPILE FAILED"
        tail -n 30 "$out/$name.build.log"
        return 1
    }
    echo "$digest" >"$binary.inputs"
}

run() {
    # The Swift runtime's own backtracer trips over ASan; libFuzzer reports the crash itself.
    export SWIFT_BACKTRACE=enable=no
    local name=$1
    local corpus="$out/corpus-$name"
    mkdir -p "$corpus"
    local seeds=()
    for dir in "Fuzz/Seeds/$name" "Fuzz/corpus-$name"; do [[ -d "$dir" ]] && seeds+=("$dir"); done
    rm -f "$out/$name"-crash-* "$out/$name"-leak-* "$out/$name"-timeout-* "$out/$name"-oom-*
    "$out/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/$name-" "$corpus" "${seeds[@]}" >"$out/$name.log" 2>&1
}

failed=0
built=()
for file in "${targets[@]}"; do
    [[ -f "$file" ]] || { echo "fuzz: no such target: $file"; failed=$((failed + 1)); continue; }
    if build "$file"; then built+=("$(basename "$file" .swift)"); else failed=$((failed + 1)); fi
done

echo "fuzz: running ${#built[@]} target(s) for $seconds s each, $parallel at a time"
declare -A pids=()
for name in "${built[@]}"; do
    while (($(jobs -rp | wc -l) >= parallel)); do wait -n || true; done
    run "$name" &
    pids[$name]=$!
done

for name in "${built[@]}"; do
    status=0
    wait "${pids[$name]}" || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$name.log" | tail -n 1)
    corpus=$(find "$out/corpus-$name" -type f | wc -l)
    if [[ $status -eq 0 ]]; then
        echo "fuzz: $name: ${execs:-?} executions in $seconds s, corpus $corpus, no findings"
    else
        failed=$((failed + 1))
        echo "fuzz: $name: FINDING (exit $status); reproducer: $(ls "$out/$name"-* 2>/dev/null | grep -E 'crash|leak|timeout|oom' | head -n 1)"
        grep -E 'ERROR|Fatal error|SUMMARY|==[0-9]+==' "$out/$name.log" | head -n 20
        echo "  replay: $out/$name <reproducer>   (full log: $out/$name.log)"
    fi
done

if ((failed > 0)); then
    echo "fuzz: $failed target(s) failed"
    exit 1
fi
echo "fuzz: ${#built[@]} target(s), no findings"
