#!/usr/bin/env bash
# The Debian packages, as an administrator and a C developer would use them.
#
#   scripts/deb-check.sh BROKERS TOPIC
#
#   1. `make deb` builds libablkafka<ABI>, libablkafka-dev and libablkafka<ABI>-dbgsym;
#   2. lintian finds no error in them (its warnings and notes are printed; the README
#      says why the remaining ones stay);
#   3. their control data: the library's Depends from dpkg-shlibdeps (libc6), shlibs and
#      symbols (every function at ABLKAFKA_<ABI>), the ldconfig trigger; -dev and -dbgsym
#      depend on exactly this version of the library; -dbgsym's Build-Ids is the
#      library's;
#   4. all three installed with dpkg into a scratch root (--root, their dependencies on
#      the system's libc not being in that root), then: examples-c/basic.c built with
#      pkg-config (PKG_CONFIG_SYSROOT_DIR) and with CMake (CMAKE_PREFIX_PATH) against that
#      root, resolved there by the loader and delivering to the broker; dpkg-shlibdeps
#      gives such a program "libablkafka<ABI> (>= VERSION)" from the symbols file; gdb
#      finds the -dbgsym debug info by build id;
#   5. all three purged: dpkg knows none of them and no file of theirs is left.
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
debversion="$version-${DEB_REVISION:-1}"
arch="$(dpkg --print-architecture)"
multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH)"
lib_pkg="libablkafka$abi"
dev_pkg="libablkafka-dev"
dbg_pkg="$lib_pkg-dbgsym"
deb_of() { echo "build/deb/${1}_${debversion}_$arch.deb"; }

tmp="$(mktemp -d)"
# shellcheck disable=SC2317 # called on exit
remove_tmp() { rm -rf "$tmp"; }
on_exit remove_tmp

# ---------------------------------------------------------------- build, lintian
if make --no-print-directory deb >"$tmp/deb.log" 2>&1; then
    ok "make deb"
else
    bad "make deb:"
    tail -n 30 "$tmp/deb.log" >&2
    finish
fi
for pkg in "$lib_pkg" "$dev_pkg" "$dbg_pkg"; do
    check "$(deb_of "$pkg") built" test -f "$(deb_of "$pkg")"
done

lintian --fail-on error --display-level '>=pedantic' "$(deb_of "$lib_pkg")" "$(deb_of "$dev_pkg")" \
    "$(deb_of "$dbg_pkg")" >"$tmp/lintian.txt" 2>&1
status=$?
grep -v '^N:' "$tmp/lintian.txt" | sed 's/^/    /'
errors="$(grep -c '^E:' "$tmp/lintian.txt")"
check "lintian: no error (status $status, $errors errors)" test "$status" = 0 -a "$errors" = 0

# ---------------------------------------------------------------- control data
field() { dpkg-deb -f "$(deb_of "$1")" "$2"; }
control_file() { dpkg-deb --ctrl-tarfile "$(deb_of "$1")" | tar -xO "./$2" 2>/dev/null; }
depends="$(field "$lib_pkg" Depends)"
check "$lib_pkg depends on libc6 (Depends: $depends)" grep -q 'libc6 (>= ' <<<"$depends"
check "$dev_pkg depends on $lib_pkg (= $debversion)" test "$(field "$dev_pkg" Depends)" = "$lib_pkg (= $debversion)"
check "$dbg_pkg depends on $lib_pkg (= $debversion)" test "$(field "$dbg_pkg" Depends)" = "$lib_pkg (= $debversion)"
check "shlibs: libablkafka $abi $lib_pkg (>= $version)" \
    test "$(control_file "$lib_pkg" shlibs)" = "libablkafka $abi $lib_pkg (>= $version)"
control_file "$lib_pkg" symbols >"$tmp/symbols"
functions="$(grep -cE '^[A-Za-z].*\);$' include/ablkafka.h)"
versioned="$(grep -c "@ABLKAFKA_$abi $abi.0\$" "$tmp/symbols")"
check "symbols: $soname $lib_pkg, every function of the header at ABLKAFKA_$abi ($versioned of $functions)" \
    test "$(head -n 1 "$tmp/symbols")" = "$soname $lib_pkg #MINVER#" -a "$versioned" = "$functions"
check "the ldconfig trigger" test "$(control_file "$lib_pkg" triggers)" = "activate-noawait ldconfig"

# ---------------------------------------------------------------- installed into a scratch root
root_dir="$tmp/root"
mkdir -p "$root_dir/var/lib/dpkg/info" "$root_dir/var/lib/dpkg/updates" "$root_dir/var/lib/dpkg/triggers"
touch "$root_dir/var/lib/dpkg/status" "$root_dir/var/lib/dpkg/available"
dpkg_root() { dpkg --root="$root_dir" "$@"; }
if dpkg_root --force-depends -i "$(deb_of "$lib_pkg")" "$(deb_of "$dev_pkg")" "$(deb_of "$dbg_pkg")" >"$tmp/dpkg-i.log" 2>&1; then
    ok "dpkg --root installs the three packages"
else
    bad "dpkg --root -i:"
    cat "$tmp/dpkg-i.log" >&2
fi
for pkg in "$lib_pkg" "$dev_pkg" "$dbg_pkg"; do
    check "$pkg is installed" test "$(dpkg-query --root="$root_dir" -W -f '${Status}' "$pkg:$arch" 2>/dev/null)" = "install ok installed"
done
libdir="$root_dir/usr/lib/$multiarch"
installed="$libdir/libablkafka.so.$version"

pc() { PKG_CONFIG_SYSROOT_DIR="$root_dir" PKG_CONFIG_LIBDIR="$libdir/pkgconfig" pkg-config "$@"; }
check "pkg-config --modversion ablkafka is $version" test "$(pc --modversion ablkafka 2>/dev/null)" = "$version"
# shellcheck disable=SC2046 # pkg-config output is meant to be split into words
if ${CC:-cc} -std=c11 -Wall -Wextra -Wpedantic -Werror $(pc --cflags ablkafka) -o "$tmp/basic" examples-c/basic.c \
        $(pc --libs ablkafka); then
    ok "basic.c builds against the packages with pkg-config"
    resolved="$(LD_LIBRARY_PATH="$libdir" ldd "$tmp/basic" | awk '/libablkafka/ { print $3 }')"
    check "the loader resolves $soname in the packages' files ($resolved)" test "$resolved" = "$libdir/$soname"
    if LD_LIBRARY_PATH="$libdir" "$tmp/basic" "$brokers" "$topic"; then
        ok "basic, built against the packages, delivers"
    else
        bad "basic against the packages did not deliver"
    fi
    # dpkg-shlibdeps reads the symbols file of a package tree under debian/.
    mkdir -p "$tmp/src/debian"
    printf 'Source: app\n\nPackage: app\nArchitecture: any\n' >"$tmp/src/debian/control"
    dpkg-deb -R "$(deb_of "$lib_pkg")" "$tmp/src/debian/$lib_pkg"
    app_depends="$(cd "$tmp/src" && dpkg-shlibdeps -O -l"$tmp/src/debian/$lib_pkg/usr/lib/$multiarch" -e "$tmp/basic" 2>/dev/null)"
    check "dpkg-shlibdeps gives basic '$lib_pkg (>= $version)' ($app_depends)" grep -qF "$lib_pkg (>= $version)" <<<"$app_depends"
else
    bad "basic.c does not build against the packages"
fi

project="$tmp/cmake"
mkdir -p "$project"
cat >"$project/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.13)
project(basic C)
find_package(ablkafka $abi REQUIRED)
add_executable(basic "$root/examples-c/basic.c")
target_link_libraries(basic PRIVATE ablkafka::ablkafka)
CMAKE
if cmake -S "$project" -B "$project/build" -DCMAKE_PREFIX_PATH="$root_dir/usr" >"$project/build.log" 2>&1 &&
    cmake --build "$project/build" >>"$project/build.log" 2>&1; then
    ok "basic.c builds against the packages with CMake (find_package(ablkafka $abi))"
    if "$project/build/basic" "$brokers" "$topic"; then ok "CMake's basic delivers"; else bad "CMake's basic did not deliver"; fi
else
    bad "CMake could not build basic.c against the packages:"
    cat "$project/build.log" >&2
fi

line="$(gdb -batch -nx -ex "set debug-file-directory $root_dir/usr/lib/debug" -ex "file $installed" \
    -ex 'info line producer_flush' 2>&1 | tail -n 1)"
check "gdb finds $dbg_pkg's debug info by build id: $line" grep -q 'src/ffi/producer.rs' <<<"$line"

# ---------------------------------------------------------------- removed
if dpkg_root --purge "$dev_pkg" "$dbg_pkg" "$lib_pkg" >"$tmp/dpkg-r.log" 2>&1; then
    ok "dpkg --root --purge removes the three packages"
else
    bad "dpkg --root --purge:"
    cat "$tmp/dpkg-r.log" >&2
fi
known="$(dpkg-query --root="$root_dir" -W -f '${Package} ' 2>/dev/null)"
check "dpkg knows none of them any more ('$known')" test -z "$known"
left="$(find "$root_dir" -path "$root_dir/var" -prune -o \( -type f -o -type l \) -print)"
check "no file of theirs is left ('$left')" test -z "$left"
finish
