#!/usr/bin/env bash
# `make deb`: the Debian packages, built with dpkg-deb from `make install` (no debhelper,
# no debian/ directory in the repository):
#
#   libablkafka<ABI>        the shared library (libablkafka.so.VERSION and its SONAME link),
#                           with shlibs and symbols data and the ldconfig trigger; the
#                           copyright (Apache-2.0, and the Rust crates linked in with their
#                           licenses) and the changelog (CHANGELOG.md)
#   libablkafka-dev         the header, libablkafka.a, the libablkafka.so link, ablkafka.pc
#                           and the CMake files
#   libablkafka<ABI>-dbgsym the debug info, at /usr/lib/debug/.build-id/NN/REST.debug
#
# into build/deb/, for this machine's architecture (multiarch paths). <ABI> is the
# SONAME's number (0.1): a new SONAME is a new package name, so both can be installed.
# The Debian revision is DEB_REVISION (default 1); the maintainer DEB_MAINTAINER (default
# the author of the last commit). scripts/deb-check.sh runs lintian and installs them.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/env.sh
. scripts/env.sh

version="$ABLKAFKA_VERSION"
abi="$ABLKAFKA_ABI"
soname="libablkafka.so.$abi"
debversion="$version-${DEB_REVISION:-1}"
maintainer="${DEB_MAINTAINER:-$(git log -1 --format='%an <%ae>' 2>/dev/null || echo 'ablkafka maintainers <ablkafka@localhost>')}"
arch="$(dpkg --print-architecture)"
multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH)"
libdir="/usr/lib/$multiarch"
# The changelog's date: the last commit's, so the same tree makes the same packages (not
# exported: cargo would rebuild the C in ring and zstd-sys for a new value).
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"

lib_pkg="libablkafka$abi"
dev_pkg="libablkafka-dev"
dbg_pkg="$lib_pkg-dbgsym"
out="$root/build/deb"
stage="$out/stage"
rm -rf "$out"
mkdir -p "$out"

log() { printf 'deb: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- everything, staged
log "make install DESTDIR=$stage (prefix /usr, libdir $libdir)"
make --no-print-directory install DESTDIR="$stage" PREFIX=/usr libdir="$libdir" >"$out/install.log"
real="$stage$libdir/libablkafka.so.$version"
build_id="$(readelf -n "$real" | sed -n 's/.*Build ID: //p')"
[ -n "$build_id" ] || { log "the library has no build id"; exit 1; }

# Moves PATH (absolute, as installed) from the staging tree into package PKG.
take() { # take PKG PATH...
    local pkg="$1" path
    shift
    for path in "$@"; do
        mkdir -p "$out/$pkg$(dirname "$path")"
        mv "$stage$path" "$out/$pkg$path"
    done
}
take "$lib_pkg" "$libdir/libablkafka.so.$version" "$libdir/$soname"
take "$dev_pkg" /usr/include/ablkafka.h "$libdir/libablkafka.a" "$libdir/libablkafka.so" \
    "$libdir/pkgconfig/ablkafka.pc" "$libdir/cmake/ablkafka/ablkafkaConfig.cmake" \
    "$libdir/cmake/ablkafka/ablkafkaConfigVersion.cmake"
debug_path="/usr/lib/debug/.build-id/${build_id:0:2}/${build_id:2}.debug"
mkdir -p "$out/$dbg_pkg$(dirname "$debug_path")"
mv "$stage$libdir/.debug/libablkafka.so.$version.debug" "$out/$dbg_pkg$debug_path"
rmdir "$stage$libdir/.debug"
left="$(find "$stage" -type f -o -type l)"
[ -z "$left" ] || { log "installed but in no package: $left"; exit 1; }

# ---------------------------------------------------------------- documentation
# The linked-in crates and their licenses, from Cargo.lock (what the library contains).
crates="$(cargo tree --offline --quiet -e normal,no-proc-macro --prefix none --format '{p} {l}' \
    --target "$(rustc -vV | sed -n 's/^host: //p')" 2>/dev/null |
    sed -e 's/ (\*)$//' -e 's/ (\/[^)]*)//' | grep -v '^ablkafka ' | LC_ALL=C sort -u)"
[ -n "$crates" ] || { log "cargo tree listed no crates for the copyright file"; exit 1; }
copyright() {
    cat <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ablkafka
Comment: libablkafka is built from ablkafka's Rust sources and links in these Rust
 crates (name, version, license as each declares it in its Cargo.toml); zstd-sys
 compiles Zstandard's C sources (BSD-3-Clause or GPL-2.0), ring its own C and
 assembly (Apache-2.0 and ISC). Their license texts are in their sources.
 .
${crates//$'\n'/$'\n' }

Files: *
Copyright: 2026 The ablkafka authors
License: Apache-2.0

License: Apache-2.0
 Licensed under the Apache License, Version 2.0 (the "License"); you may not use
 this file except in compliance with the License. You may obtain a copy of the
 License at http://www.apache.org/licenses/LICENSE-2.0
 .
 Unless required by applicable law or agreed to in writing, software distributed
 under the License is distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR
 CONDITIONS OF ANY KIND, either express or implied. See the License for the
 specific language governing permissions and limitations under the License.
 .
 On Debian systems, the complete text of the Apache License, Version 2.0 can be
 found in "/usr/share/common-licenses/Apache-2.0".
EOF
}
debian_changelog() {
    cat <<EOF
ablkafka ($debversion) unstable; urgency=medium

  * Built by make deb from ablkafka $version (see changelog.gz for what changed).

 -- $maintainer  $(date -R -u -d "@$epoch")
EOF
}
for pkg in "$lib_pkg" "$dev_pkg"; do
    doc="$out/$pkg/usr/share/doc/$pkg"
    mkdir -p "$doc"
    copyright >"$doc/copyright"
    gzip -9n <CHANGELOG.md >"$doc/changelog.gz"
    debian_changelog | gzip -9n >"$doc/changelog.Debian.gz"
done
mkdir -p "$out/$dbg_pkg/usr/share/doc"
ln -s "$lib_pkg" "$out/$dbg_pkg/usr/share/doc/$dbg_pkg"

# ---------------------------------------------------------------- control data
# The library's own dependencies, as dpkg-shlibdeps finds them (it wants a debian/control).
mkdir -p "$out/src/debian"
printf 'Source: ablkafka\n\nPackage: %s\nArchitecture: any\n' "$lib_pkg" >"$out/src/debian/control"
depends="$(cd "$out/src" && dpkg-shlibdeps -O -e"$out/$lib_pkg$libdir/libablkafka.so.$version" 2>"$out/shlibdeps.log" |
    sed -n 's/^shlibs:Depends=//p')"
[ -n "$depends" ] || { log "dpkg-shlibdeps found no dependencies: $(cat "$out/shlibdeps.log")"; exit 1; }

description() { # description SYNOPSIS LAST-PARAGRAPH
    cat <<EOF
Description: $1
 ablkafka is a Kafka producer written in Rust with a C ABI that mirrors the
 OpenEdge ABL producer API: a producer built from librdkafka-named options,
 sends that never block, and a delivery receipt per record, with
 librdkafka's error codes. It speaks the Kafka protocol itself, with TLS,
 SASL, idempotence and transactions.
 .
 $2
EOF
}
control() { # control PKG SECTION DEPENDS SYNOPSIS LAST-PARAGRAPH [FIELD...]
    local pkg="$1" section="$2" deps="$3" synopsis="$4" last="$5"
    shift 5
    mkdir -p "$out/$pkg/DEBIAN"
    {
        echo "Package: $pkg"
        echo "Source: ablkafka"
        echo "Version: $debversion"
        echo "Architecture: $arch"
        echo "Maintainer: $maintainer"
        echo "Installed-Size: $(du -sk --exclude=DEBIAN "$out/$pkg" | cut -f1)"
        echo "Depends: $deps"
        echo "Section: $section"
        echo "Priority: optional"
        echo "Multi-Arch: same"
        [ $# -eq 0 ] || printf '%s\n' "$@"
        description "$synopsis" "$last"
    } >"$out/$pkg/DEBIAN/control"
}
control "$lib_pkg" libs "$depends" "Kafka producer with a C ABI (shared library)" \
    "This package contains the shared library."
control "$dev_pkg" libdevel "$lib_pkg (= $debversion)" "Kafka producer with a C ABI (development files)" \
    "This package contains the header, the static library, the pkg-config file
 and the CMake package."
control "$dbg_pkg" debug "$lib_pkg (= $debversion)" "debug symbols for $lib_pkg" \
    "This package contains the debug info of the shared library." \
    "Auto-Built-Package: debug-symbols" "Build-Ids: $build_id"

# Programs linked against the library depend on the version that has every symbol they
# use (symbols), or on this version's package at least (shlibs). Every symbol of the node
# ABLKAFKA_<abi> first came with version <abi>.0.
echo "libablkafka $abi $lib_pkg (>= $version)" >"$out/$lib_pkg/DEBIAN/shlibs"
{
    echo "$soname $lib_pkg #MINVER#"
    echo "* Build-Depends-Package: $dev_pkg"
    nm -D --defined-only --with-symbol-versions "$out/$lib_pkg$libdir/libablkafka.so.$version" |
        awk '{ print $3 }' | sed -n 's/^\([^@]*\)@@\(ABLKAFKA_\(.*\)\)$/ \1@\2 \3.0/p' | LC_ALL=C sort
} >"$out/$lib_pkg/DEBIAN/symbols"
echo "activate-noawait ldconfig" >"$out/$lib_pkg/DEBIAN/triggers"

# ---------------------------------------------------------------- the packages
for pkg in "$lib_pkg" "$dev_pkg" "$dbg_pkg"; do
    find "$out/$pkg" -type d -exec chmod 0755 {} +
    find "$out/$pkg" -type f -exec chmod 0644 {} +
    (cd "$out/$pkg" && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum >DEBIAN/md5sums)
    dpkg-deb --root-owner-group -Zxz --build "$out/$pkg" "$out/${pkg}_${debversion}_$arch.deb" >/dev/null
    log "$out/${pkg}_${debversion}_$arch.deb ($(stat -c %s "$out/${pkg}_${debversion}_$arch.deb") bytes)"
done
