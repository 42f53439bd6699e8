#!/usr/bin/env bash
# The linker cargo runs in this repository (.cargo/config.toml): `cc` with rustc's
# arguments, unchanged, for every link but one.
#
# When the output is libablkafka.so, rustc's own version script (an anonymous node
# listing every exported function, which would leave them unversioned) is replaced by
# abi/ablkafka.map: the same functions, each bound to its version node (ABLKAFKA_0.1),
# and everything else local. Two version scripts cannot be combined: GNU ld refuses an
# anonymous node beside named ones, and lld gives the anonymous node's exact names
# precedence, so the names would stay unversioned. rustc's other arguments stay,
# --no-undefined-version among them, so a name in the map that the library does not
# define fails the link; build.rs checks that the map names exactly the header's
# functions.
#
# If rustc ever stops passing a version script for a cdylib this fails the link, rather
# than export symbols without versions.
set -euo pipefail

map="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/abi/ablkafka.map"
args=("$@")
out=""
for ((i = 0; i + 1 < ${#args[@]}; i++)); do
    if [ "${args[i]}" = -o ]; then out="${args[i + 1]}"; fi
done

if [[ "$out" == */libablkafka.so ]]; then
    replaced=0
    for i in "${!args[@]}"; do
        case "${args[i]}" in
            -Wl,--version-script=*)
                args[i]="-Wl,--version-script=$map"
                replaced=$((replaced + 1))
                ;;
        esac
    done
    if ((replaced != 1)); then
        echo "scripts/linker.sh: expected rustc to pass one -Wl,--version-script for $out, found $replaced;" \
            "cannot give its symbols their versions from $map" >&2
        exit 1
    fi
fi
exec cc "${args[@]}"
