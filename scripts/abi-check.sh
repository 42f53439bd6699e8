#!/usr/bin/env bash
# The C ABI of libablkafka.so against the committed baseline, with libabigail's abidiff.
#
#   scripts/abi-check.sh              compare; prints one line per check and ends with
#                                     "N passed, N failed"
#   scripts/abi-check.sh --baseline   write abi/<SONAME>.abi anew (make abi-baseline)
#
# What is compared is the interface as C sees it: a stand-in library made from the
# header, each function of include/ablkafka.h defined with its own prototype, compiled
# with -g and linked with abi/ablkafka.map and the library's SONAME, so its DWARF holds
# the C types of every parameter and return value (int32_t, size_t, const char *, the
# opaque structs). The library's own DWARF is Rust's: the release build keeps line tables
# only (no parameter types), and full Rust DWARF would show the opaque types' private
# fields, which C never sees, as changes. The header is what cbindgen makes of the Rust
# signatures (make header-check), so a changed Rust parameter type changes the stand-in.
#
#   1. the stand-in exports exactly what target/release/libablkafka.so exports, each
#      name with its version (so it stands for that library);
#   2. abidiff of abi/<SONAME>.abi against the stand-in finds no change. An incompatible
#      change (a function removed, a parameter or return type changed, a version moved)
#      fails, unless the SONAME moved with it: then there is no baseline for the new
#      SONAME yet, the comparison with the previous one is shown, and the check asks for
#      the new baseline. A compatible change (a function added) fails too, until the
#      baseline records it.
set -uo pipefail

# shellcheck source=scripts/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
write_baseline=0
case "${1:-}" in
    "") ;;
    --baseline) write_baseline=1 ;;
    *) echo "usage: $0 [--baseline]" >&2; exit 2 ;;
esac

so="target/release/libablkafka.so"
make --no-print-directory lib >/dev/null || { bad "make lib"; finish; }
soname="$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
baseline="abi/$soname.abi"

tmp="$(mktemp -d)"
# shellcheck disable=SC2317 # called on exit
remove_tmp() { rm -rf "$tmp"; }
on_exit remove_tmp

# ---------------------------------------------------------------- the stand-in
# Every declaration line of the header (cbindgen writes one a line) gets a body.
{
    echo '#include "ablkafka.h"'
    grep -E '^[A-Za-z].*\);$' include/ablkafka.h | grep -v '^typedef' |
        sed -E -e '/^void [a-z]/ s/;$/ { }/' -e '/\{ \}$/! s/;$/ { return 0; }/'
} >"$tmp/stand_in.c"
if ! ${CC:-cc} -g -O0 -fPIC -shared -Iinclude -o "$tmp/$soname" "$tmp/stand_in.c" \
        -Wl,-soname,"$soname" -Wl,--version-script=abi/ablkafka.map 2>"$tmp/cc.log"; then
    bad "the stand-in library does not build from the header:"
    cat "$tmp/cc.log" >&2
    finish
fi
exports() { nm -D --defined-only --with-symbol-versions "$1" | awk '$2 ~ /^[TtWwDdBbRrVvi]$/ { print $3 }' | sort; }
exports "$so" >"$tmp/library.txt"
exports "$tmp/$soname" >"$tmp/stand-in.txt"
if diff -u "$tmp/library.txt" "$tmp/stand-in.txt" >"$tmp/exports.diff"; then
    ok "the stand-in exports what $so exports ($(wc -l <"$tmp/library.txt") functions, with their versions)"
else
    bad "the stand-in's exports differ from the library's (- library, + stand-in):"
    cat "$tmp/exports.diff" >&2
fi

abi_of() { # abi_of LIBRARY OUT
    abidw --no-corpus-path --no-comp-dir-path --no-show-locs --type-id-style hash --out-file "$2" "$1"
}
if ! abi_of "$tmp/$soname" "$tmp/current.abi"; then
    bad "abidw could not read the stand-in"
    finish
fi

if ((write_baseline)); then
    cp "$tmp/current.abi" "$baseline"
    ok "wrote $baseline: commit it"
    finish
fi

# ---------------------------------------------------------------- the comparison
# abidiff's status is a bit set: 4 an ABI change, 8 an incompatible one (a symbol gone).
# Its summary lines count the rest: a function "Changed" has a parameter, return or
# version that differs, which a caller built against the baseline would get wrong.
compare() { # compare BASELINE: sets verdict to same, added or incompatible
    abidiff --no-unreferenced-symbols "$1" "$tmp/current.abi" >"$tmp/abidiff.txt" 2>&1
    local status=$? removed changed added
    sed 's/^/    /' "$tmp/abidiff.txt"
    read -r removed changed added < <(sed -nE \
        's/.*Functions changes summary: ([0-9]+) Removed, ([0-9]+) Changed.*, ([0-9]+) Added.*/\1 \2 \3/p' \
        "$tmp/abidiff.txt")
    if ((status & 3)); then
        verdict=error
    elif ((status & 8 || ${removed:-0} > 0 || ${changed:-0} > 0)); then
        verdict=incompatible
    elif ((status & 4 || ${added:-0} > 0)); then
        verdict=added
    else
        verdict=same
    fi
}

if [ -f "$baseline" ]; then
    echo "abidiff $baseline (the committed baseline) against the library built now:"
    compare "$baseline"
    case "$verdict" in
        same) ok "the ABI is $baseline's" ;;
        added) bad "the ABI grew compatibly (functions added): record it with make abi-baseline and commit $baseline" ;;
        incompatible) bad "an incompatible ABI change without a new SONAME ($soname): undo it, or move the SONAME (a new minor version while the major is 0, else a new major) and record its baseline" ;;
        *) bad "abidiff failed" ;;
    esac
else
    previous="$(find abi -name 'libablkafka.so.*.abi' | sort -V | tail -n 1)"
    if [ -n "$previous" ]; then
        echo "no baseline for $soname: the SONAME moved, so changes against $previous are allowed:"
        compare "$previous"
        echo "(against $previous: $verdict)"
    fi
    bad "no ABI baseline for $soname: make abi-baseline, and commit $baseline"
fi
finish
