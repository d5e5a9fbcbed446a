#!/usr/bin/env bash
# Bounded fuzzing (part of `make test`): builds the cargo-fuzz targets of tests/fuzz and runs each
# for FUZZ_SECONDS (default 30) from its checked-in seeds and past crashes
# (tests/fuzz/regressions), in a scratch corpus. Any crash, out-of-memory or timeout fails the
# run; libFuzzer leaves the input in tests/fuzz/artifacts/<target>/.
# Without a sanitizer cargo-fuzz passes only stable flags (sancov instrumentation, debug
# assertions), so the machine's one toolchain builds it; no nightly is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-30}
targets=(onnx_compile input_json artifacts calldata)

export PATH="$PWD/.tools/cargo/bin:$PATH"
if ! command -v cargo-fuzz >/dev/null; then
    cargo install cargo-fuzz --locked --version 0.13.2 --root .tools/cargo --quiet
fi
fuzz=(cargo fuzz)
flags=(--fuzz-dir tests/fuzz --sanitizer none --debug-assertions)
"${fuzz[@]}" build "${flags[@]}"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
report="| target | seconds | executions | corpus after | result |\n|---|---|---|---|---|"
for t in "${targets[@]}"; do
    dirs=("$scratch/$t" "tests/fuzz/seeds/$t")
    [ -d "tests/fuzz/regressions/$t" ] && dirs+=("tests/fuzz/regressions/$t")
    mkdir -p "$scratch/$t"
    echo "fuzz: $t for ${seconds}s" >&2
    result=ok
    "${fuzz[@]}" run "${flags[@]}" "$t" "${dirs[@]}" -- \
        -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=30 -print_final_stats=1 \
        >"$scratch/$t.log" 2>&1 || result=FAILED
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$t.log")
    corpus=$(find "$scratch/$t" -type f | wc -l)
    report+="\n| $t | $seconds | ${execs:-?} | $corpus | $result |"
    if [ "$result" != ok ]; then
        grep -v '^ *at \|^ *[0-9]*: ' "$scratch/$t.log" | tail -40 >&2
        echo -e "$report" >&2
        exit 1
    fi
done
echo -e "$report"
