#!/usr/bin/env bash
# Checks what `make install` puts in place and what the shared library exports.
#
#   scripts/install-check.sh BROKERS TOPIC
#
#   1. exports: `nm -D --defined-only` of target/release/libablkafka.so lists exactly the
#      functions the header declares, each with the version abi/ablkafka.map gives it
#      (producer_send@@ABLKAFKA_0.1; scripts/linker.sh links with that version script);
#   2. SONAME: libablkafka.so.<abi> per Cargo's compatibility rule (build.rs);
#   3. `make install PREFIX=<temp>`: the versioned library with its SONAME link and the
#      libablkafka.so link, libablkafka.a, the header, lib/pkgconfig/ablkafka.pc, the
#      CMake files; the library stripped (no .debug_* section), its debug info in
#      lib/.debug/ with the same build id, named by the library's .gnu_debuglink, and gdb
#      finds it there (a function's source line; none once the file is moved away); the
#      archive without debug sections;
#   4. examples-c/basic.c built against the installed copy with
#      `pkg-config --cflags --libs ablkafka` (PKG_CONFIG_PATH into the prefix), run
#      against the broker, resolving the library from the prefix; and statically with
#      `pkg-config --static --libs` and libablkafka.a; basic's references carry the version
#      (producer_send@ABLKAFKA_0.1), so another library's producer_send with a version of
#      its own, preloaded, is not called in ours' place (one without a version still is:
#      what versioning cannot do, as the README says).
#   5. CMake: `make install DESTDIR=<temp>` (PREFIX /usr/local), then a project of
#      find_package(ablkafka 0.1) builds basic.c against ablkafka::ablkafka and
#      ablkafka::ablkafka_static with CMAKE_PREFIX_PATH into the staging tree; both run
#      and deliver; find_package(ablkafka 0.2) is refused (another SONAME).
# Prints one line per check and ends with "N passed, N failed".
set -uo pipefail

# shellcheck source=scripts/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
[ $# -eq 2 ] || { echo "usage: $0 BROKERS TOPIC" >&2; exit 2; }
brokers="$1"
topic="$2"

version="$ABLKAFKA_VERSION"
abi="$ABLKAFKA_ABI"
soname="libablkafka.so.$abi"
so="target/release/libablkafka.so"

make --no-print-directory lib >/dev/null || { bad "make lib"; finish; }

# ---------------------------------------------------------------- exports
tmp="$(mktemp -d)"
# shellcheck disable=SC2317 # called on exit
remove_tmp() { rm -rf "$tmp"; }
on_exit remove_tmp
# The header's functions: the identifier before "(" on each declaration line.
grep -E '^[A-Za-z].*\(' include/ablkafka.h | grep -vE '^(typedef|#)' |
    sed -E 's/^[^(]*[ *]([A-Za-z_][A-Za-z0-9_]*)\(.*/\1/' | sort -u >"$tmp/header.txt"
nm -D --defined-only "$so" | awk '$2 ~ /^[TtWwDdBbRrVvi]$/ { print $3 }' | sed 's/@.*//' | sort -u >"$tmp/exported.txt"
echo "header declares $(wc -l <"$tmp/header.txt") functions; the library exports $(wc -l <"$tmp/exported.txt") symbols"
if diff -u "$tmp/header.txt" "$tmp/exported.txt" >"$tmp/exports.diff"; then
    ok "nm -D --defined-only equals the header's function list"
else
    bad "exports differ from the header's functions (- header only, + exported only):"
    cat "$tmp/exports.diff" >&2
fi
check "the header declares at least the 21 functions of the API" test "$(wc -l <"$tmp/header.txt")" -ge 21

# Their versions: name@@NODE for each name in the node of abi/ablkafka.map that lists it.
awk '/\/\*/, /\*\// { next }
     /^[A-Za-z_][A-Za-z0-9_.]*[ \t]*\{/ { node = $1 }
     /global:/ { global = 1; next }
     /local:/ || /\}/ { global = 0 }
     global && NF { sub(/;.*/, "", $1); print $1 "@@" node }' abi/ablkafka.map | sort -u >"$tmp/map-versions.txt"
nm -D --defined-only --with-symbol-versions "$so" | awk '$2 ~ /^[TtWwDdBbRrVvi]$/ { print $3 }' | sort -u >"$tmp/versioned.txt"
if diff -u "$tmp/map-versions.txt" "$tmp/versioned.txt" >"$tmp/versions.diff"; then
    ok "each exported function has the version abi/ablkafka.map gives it ($(sed -n '1s/.*@@//p' "$tmp/versioned.txt"))"
else
    bad "exported versions differ from abi/ablkafka.map (- map, + exported):"
    cat "$tmp/versions.diff" >&2
fi

got_soname="$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
check "SONAME is $soname (got '$got_soname')" test "$got_soname" = "$soname"

# ---------------------------------------------------------------- install
prefix="$tmp/prefix"
if make --no-print-directory install PREFIX="$prefix" >"$tmp/install.log" 2>&1; then
    ok "make install PREFIX=$prefix"
else
    bad "make install"
    cat "$tmp/install.log" >&2
fi
lib="$prefix/lib"
check "libablkafka.so.$version is a regular file" test -f "$lib/libablkafka.so.$version" -a ! -L "$lib/libablkafka.so.$version"
check "$soname -> libablkafka.so.$version" test "$(readlink "$lib/$soname")" = "libablkafka.so.$version"
check "libablkafka.so -> $soname" test "$(readlink "$lib/libablkafka.so")" = "$soname"
check "libablkafka.a installed" test -f "$lib/libablkafka.a"
check "ablkafka.h installed, equal to include/ablkafka.h" cmp -s include/ablkafka.h "$prefix/include/ablkafka.h"
check "ablkafka.pc installed" test -f "$lib/pkgconfig/ablkafka.pc"
check "ablkafkaConfig.cmake and ablkafkaConfigVersion.cmake installed" \
    test -f "$lib/cmake/ablkafka/ablkafkaConfig.cmake" -a -f "$lib/cmake/ablkafka/ablkafkaConfigVersion.cmake"

# ---------------------------------------------------------------- stripped, debug info apart
installed="$lib/libablkafka.so.$version"
debug_file="$lib/.debug/libablkafka.so.$version.debug"
echo "sizes: built $(stat -c %s "$so") bytes, installed $(stat -c %s "$installed") + debug info" \
    "$(stat -c %s "$debug_file" 2>/dev/null) bytes; archive built $(stat -c %s target/release/libablkafka.a)," \
    "installed $(stat -c %s "$lib/libablkafka.a") bytes"
debug_sections="$(readelf -S -W "$installed" | grep -c ' \.debug_')"
check "the installed library has no debug sections (found $debug_sections)" test "$debug_sections" = 0
link_name="$(objcopy --dump-section .gnu_debuglink=/dev/stdout "$installed" 2>/dev/null | tr '\0' '\n' | head -n 1)"
check ".gnu_debuglink names libablkafka.so.$version.debug (got '$link_name')" test "$link_name" = "libablkafka.so.$version.debug"
build_id() { readelf -n "$1" 2>/dev/null | sed -n 's/.*Build ID: //p'; }
lib_id="$(build_id "$installed")"
check "the debug file has the library's build id ($lib_id)" test -n "$lib_id" -a "$(build_id "$debug_file")" = "$lib_id"
check "the debug file holds DWARF" test "$(readelf -S -W "$debug_file" | grep -c ' \.debug_info')" -ge 1
# No global debug directory: only the file beside the library can answer (not a -dbgsym
# package that may be installed on this machine).
where_is() {
    gdb -batch -nx -ex 'set debug-file-directory /nonexistent' -ex "file $installed" -ex 'info line producer_flush' 2>&1 |
        tail -n 1
}
line="$(where_is)"
check "gdb finds the debug info: $line" grep -q 'src/ffi/producer.rs' <<<"$line"
mv "$lib/.debug" "$lib/.debug-away"
line="$(where_is)"
check "without the debug file gdb has no line: $line" grep -q 'No line number information' <<<"$line"
mv "$lib/.debug-away" "$lib/.debug"
archive_debug="$(objdump -h "$lib/libablkafka.a" | grep -c ' \.debug_')"
check "the installed archive has no debug sections (found $archive_debug)" test "$archive_debug" = 0

export PKG_CONFIG_PATH="$lib/pkgconfig"
check "pkg-config --modversion ablkafka is $version" test "$(pkg-config --modversion ablkafka 2>/dev/null)" = "$version"
cflags="$(pkg-config --cflags ablkafka)"
libs="$(pkg-config --libs ablkafka)"
echo "pkg-config: cflags '$cflags', libs '$libs'"

# ---------------------------------------------------------------- build against it
# shellcheck disable=SC2086 # pkg-config output is meant to be split into words
if ${CC:-cc} -std=c11 -Wall -Wextra -Wpedantic -Werror $cflags -o "$tmp/basic" examples-c/basic.c $libs; then
    ok "examples-c/basic.c builds with pkg-config --cflags --libs ablkafka"
    needed="$(readelf -d "$tmp/basic" | sed -n 's/.*(NEEDED).*\[\(libablkafka[^]]*\)\].*/\1/p')"
    check "basic records NEEDED $soname (got '$needed')" test "$needed" = "$soname"
    resolved="$(LD_LIBRARY_PATH="$lib" ldd "$tmp/basic" | awk '/libablkafka/ { print $3 }')"
    check "the loader resolves it in the prefix ($resolved)" test "$resolved" = "$lib/$soname"
    unversioned="$(objdump -T "$tmp/basic" | awk '/\*UND\*/ && $NF ~ /^(producer|response|record_builder|ablkafka)_/ && !/ABLKAFKA_/ { print $NF }')"
    check "basic asks for each of its ablkafka functions by version (unversioned: '${unversioned//$'\n'/ }')" \
        test -z "$unversioned"
    if LD_LIBRARY_PATH="$lib" "$tmp/basic" "$brokers" "$topic"; then
        ok "basic, linked against the installed library, delivers"
    else
        bad "basic against the installed library did not deliver"
    fi
else
    bad "examples-c/basic.c does not build against the installed copy"
fi

# Another library in the process with a producer_send of its own, preloaded so that the
# loader looks there first; it exits 3 if called.
clash_library() { # clash_library NAME [VERSION-NODE]
    printf '#include <stdio.h>\n#include <stdlib.h>\nvoid *producer_send(void);\n%s\n' \
        'void *producer_send(void) { fputs("the other library'"'"'s producer_send\n", stderr); exit(3); }' >"$tmp/$1.c"
    local script=()
    if [ $# -eq 2 ]; then
        printf '%s { global: producer_send; local: *; };\n' "$2" >"$tmp/$1.map"
        script=("-Wl,--version-script=$tmp/$1.map")
    fi
    ${CC:-cc} -shared -fPIC -o "$tmp/lib$1.so" "$tmp/$1.c" ${script[@]+"${script[@]}"}
}
if [ -x "$tmp/basic" ] && clash_library other_versioned OTHER_1 && clash_library other_plain; then
    if LD_PRELOAD="$tmp/libother_versioned.so" LD_LIBRARY_PATH="$lib" "$tmp/basic" "$brokers" "$topic"; then
        ok "a preloaded producer_send@@OTHER_1 is not called in ours' place: basic delivers"
    else
        bad "basic with a preloaded producer_send@@OTHER_1 did not deliver (status $?)"
    fi
    LD_PRELOAD="$tmp/libother_plain.so" LD_LIBRARY_PATH="$lib" "$tmp/basic" "$brokers" "$topic" 2>"$tmp/clash.err"
    clash=$?
    check "a preloaded producer_send without a version is called instead, as the README says (status $clash: $(cat "$tmp/clash.err"))" \
        test "$clash" = 3
else
    bad "the clash libraries did not build (or basic did not)"
fi

static_libs="$(pkg-config --static --libs ablkafka)"
# Static: name the archive (a linker prefers the .so next to it); the rest from pkg-config.
# shellcheck disable=SC2086
if ${CC:-cc} -std=c11 -Wall -Wextra -Wpedantic -Werror $cflags -o "$tmp/basic-static" examples-c/basic.c \
        "$lib/libablkafka.a" ${static_libs/-lablkafka/}; then
    ok "examples-c/basic.c links statically with libablkafka.a and pkg-config --static --libs"
    if ldd "$tmp/basic-static" | grep -q libablkafka; then
        bad "the static build still needs libablkafka.so"
    else
        ok "the static build needs no libablkafka.so"
    fi
    if "$tmp/basic-static" "$brokers" "$topic"; then ok "the static build delivers"; else bad "the static build did not deliver"; fi
else
    bad "static link against libablkafka.a"
fi

# ---------------------------------------------------------------- CMake, DESTDIR
dest="$tmp/dest"
if make --no-print-directory install DESTDIR="$dest" PREFIX=/usr/local >"$tmp/install-dest.log" 2>&1; then
    ok "make install DESTDIR=$dest PREFIX=/usr/local"
else
    bad "make install DESTDIR=$dest"
    cat "$tmp/install-dest.log" >&2
fi
project="$tmp/cmake"
mkdir -p "$project"
cat >"$project/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.13)
project(basic C)
find_package(ablkafka \${WANT} REQUIRED)
message(STATUS "ablkafka \${ablkafka_VERSION} from \${ablkafka_DIR}")
add_executable(basic "$root/examples-c/basic.c")
target_link_libraries(basic PRIVATE ablkafka::ablkafka)
add_executable(basic_static "$root/examples-c/basic.c")
target_link_libraries(basic_static PRIVATE ablkafka::ablkafka_static)
CMAKE
cmake_configure() { # cmake_configure BUILD-DIR WANT
    cmake -S "$project" -B "$1" -DWANT="$2" -DCMAKE_PREFIX_PATH="$dest/usr/local" >"$1.log" 2>&1
}
if cmake_configure "$project/build" 0.1 && cmake --build "$project/build" >>"$project/build.log" 2>&1; then
    ok "CMake: find_package(ablkafka 0.1), ablkafka::ablkafka and ablkafka::ablkafka_static build basic.c"
    grep 'ablkafka [0-9]' "$project/build.log" || true
    needed="$(readelf -d "$project/build/basic" | sed -n 's/.*(NEEDED).*\[\(libablkafka[^]]*\)\].*/\1/p')"
    check "CMake's basic records NEEDED $soname (got '$needed')" test "$needed" = "$soname"
    resolved="$(ldd "$project/build/basic" | awk '/libablkafka/ { print $3 }')"
    check "CMake's basic finds the library in the staging tree ($resolved)" \
        test "$resolved" = "$dest/usr/local/lib/$soname"
    if "$project/build/basic" "$brokers" "$topic"; then ok "CMake's basic delivers"; else bad "CMake's basic did not deliver"; fi
    if ldd "$project/build/basic_static" | grep -q libablkafka; then
        bad "CMake's static basic needs libablkafka.so"
    else
        ok "CMake's static basic needs no libablkafka.so"
    fi
    if "$project/build/basic_static" "$brokers" "$topic"; then ok "CMake's static basic delivers"; else bad "CMake's static basic did not deliver"; fi
else
    bad "CMake could not build basic.c against the installed package:"
    cat "$project/build.log" >&2
fi
if cmake_configure "$project/build-0.2" 0.2; then
    bad "find_package(ablkafka 0.2) accepted $version"
else
    ok "find_package(ablkafka 0.2) refuses $version (another SONAME)"
fi

finish
