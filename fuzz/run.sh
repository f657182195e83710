#!/usr/bin/env bash
# Fuzzes laketap-wire's guard against pgwire's decoder.
#
#   bash fuzz/run.sh [SECONDS]      # each target for SECONDS (default 60)
#
# Installs cargo-fuzz into ${LAKETAP_TOOLS:-/var/tmp/laketap-tools} if it is
# missing, builds every target with nightly (release, debug assertions,
# AddressSanitizer), runs each for SECONDS from the committed seeds in
# fuzz/corpus/<target>/ (new inputs go to a scratch directory, so the seeds
# stay as committed) and exits non-zero if any target crashed. A crashing
# input is saved under fuzz/artifacts/<target>/; replay it with
#   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/crash-...
# Set CARGO_TARGET_DIR to keep fuzz builds apart from the main ones.
set -euo pipefail

seconds=${1:-60}
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds == 0)); then
    echo "usage: bash fuzz/run.sh [SECONDS]   (a whole number of seconds per target)" >&2
    exit 2
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools=${LAKETAP_TOOLS:-/var/tmp/laketap-tools}
export PATH="$tools/bin:$PATH"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz/run.sh: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz/run.sh: installing cargo-fuzz into $tools" >&2
    cargo install cargo-fuzz --locked --root "$tools"
fi

cd "$root"
cargo +nightly fuzz build

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

failed=()
for target in $(cargo +nightly fuzz list); do
    echo "=== fuzz target $target: ${seconds}s"
    mkdir -p "$scratch/$target"
    if ! cargo +nightly fuzz run "$target" "$scratch/$target" "fuzz/corpus/$target" \
        -- -max_total_time="$seconds"; then
        failed+=("$target")
    fi
done

if ((${#failed[@]} > 0)); then
    echo "fuzz/run.sh: crash in: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz/run.sh: no crash in ${seconds}s per target"
