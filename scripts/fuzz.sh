#!/usr/bin/env bash
# `make fuzz`: libFuzzer on the broker-response decoders (fuzz/), on stable Rust.
# Optional and not part of `make test` or CI (tests/decoder_fuzz.rs is the CI check).
#
# cargo-fuzz needs nightly only for -Zsanitizer; libFuzzer itself needs just the
# SanitizerCoverage instrumentation, which stable rustc gives through -Cpasses and
# -Cllvm-args. The target triple is named so that RUSTFLAGS skip the build scripts.
#
#   FUZZ_SECONDS   how long to run (default 60)
#   FUZZ_ARGS      more libFuzzer options
# The corpus grows in fuzz/corpus/decoders; crashes land in fuzz/artifacts/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/on-error.sh
. "$root/scripts/on-error.sh"
cd "$root/fuzz"
host="$(rustc -vV | sed -n 's/^host: //p')"
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
cargo build --release --target "$host" --bin decoders
mkdir -p corpus/decoders artifacts
# shellcheck disable=SC2086
"target/$host/release/decoders" corpus/decoders -artifact_prefix=artifacts/ \
    -max_total_time="${FUZZ_SECONDS:-60}" -malloc_limit_mb=64 -rss_limit_mb=2048 ${FUZZ_ARGS:-}
