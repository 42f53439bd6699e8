#!/usr/bin/env bash
# The library compiles for Windows: `cargo check --lib --target x86_64-pc-windows-gnu`,
# warnings denied. The Unix-only parts (pthread_atfork in src/ffi/fork.rs, O_NONBLOCK for
# the PEM files, the SONAME and the version script) are gated, so the rest must compile
# there. Nothing is linked or run: there is no Windows here (README, "Windows").
#
# Needs the target's standard library (rustup target add x86_64-pc-windows-gnu) and
# MinGW's gcc (the C in ring and zstd is compiled even for a check); scripts/deps.sh
# installs both. When the target is not installed (rustup could not fetch it), this says
# so and checks nothing: "0 passed, 0 failed".
set -uo pipefail

# shellcheck source=scripts/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
target=x86_64-pc-windows-gnu

if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    echo "not checked: the Rust standard library for $target is not installed (rustup target add $target failed or rustup is missing)"
    finish
fi
if ! command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then
    bad "x86_64-w64-mingw32-gcc is missing (Debian's gcc-mingw-w64-x86-64-win32; scripts/deps.sh installs it)"
    finish
fi
if RUSTFLAGS="-D warnings" cargo check --release --lib --target "$target"; then
    ok "cargo check --lib --target $target (warnings denied)"
else
    bad "cargo check --lib --target $target"
fi
finish
