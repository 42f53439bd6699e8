#!/usr/bin/env bash
# The start of the set-up scripts as a fresh machine runs it, in seconds: with
# ABLKAFKA_CACHE pointing at an empty folder (nothing installed yet),
#   1. sourcing scripts/env.sh under `set -euo pipefail` succeeds and finds no librdkafka;
#   2. scripts/deps.sh --check exits 0, says it would install tansu and the Python
#      verifier, and writes nothing into the cache;
#   3. a script stopped by a failing command says which command, line and status
#      (scripts/on-error.sh), not a bare exit code;
# and with the real cache after scripts/deps.sh has run,
#   4. scripts/deps.sh --check says there is nothing to install.
# Ends with "N passed, N failed".
set -uo pipefail

# The real cache, before the harness reads scripts/env.sh (which would set it).
real_cache="${ABLKAFKA_CACHE:-$HOME/.cache/ablkafka}"
# shellcheck source=scripts/harness.sh
. "$(dirname "${BASH_SOURCE[0]}")/harness.sh"

empty="$(mktemp -d)"
# shellcheck disable=SC2317 # called on exit
remove_empty() { rm -rf "$empty"; }
on_exit remove_empty
# Only the cache is fresh: the paths derived from it must be too.
fresh=(env -u TANSU_ROOT -u TANSU_BIN -u TANSU_INSTALL_LOG -u VENV_DIR -u RDKAFKA_LIB
    ABLKAFKA_CACHE="$empty/cache")

# 1. env.sh under the strictest options, before anything is installed.
# shellcheck disable=SC2016 # the inner shell expands the variables, after sourcing env.sh
if out="$("${fresh[@]}" bash -c 'set -euo pipefail; . scripts/env.sh; echo "lib=[$RDKAFKA_LIB] tansu=$TANSU_BIN"' 2>&1)"; then
    ok "sourcing scripts/env.sh with an empty cache under set -euo pipefail exits 0"
    case "$out" in
        "lib=[] tansu=$empty/cache/tansu-sqlite/bin/tansu") ok "it finds no librdkafka and puts tansu in the empty cache" ;;
        *) bad "unexpected paths from env.sh with an empty cache: $out" ;;
    esac
else
    bad "sourcing scripts/env.sh with an empty cache fails: $out"
fi

# 2. deps.sh decides what to install, and with --check installs nothing.
if out="$("${fresh[@]}" scripts/deps.sh --check 2>&1)"; then
    ok "scripts/deps.sh --check with an empty cache exits 0"
else
    bad "scripts/deps.sh --check with an empty cache exits $?: $out"
fi
printf '%s\n' "$out" | sed 's/^/     /'
if grep -q "would install tansu" <<<"$out"; then ok "it would build tansu"; else bad "it does not plan to build tansu"; fi
if grep -q "would install confluent-kafka" <<<"$out"; then ok "it would make the Python verifier"; else bad "it does not plan the Python verifier"; fi
if [ ! -e "$empty/cache" ]; then ok "--check wrote nothing"; else bad "--check created $empty/cache"; fi

# 3. A failing command in a script that sources on-error.sh is named with its line.
cat >"$empty/stops.sh" <<SCRIPT
set -euo pipefail
. "$root/scripts/on-error.sh"
ON_ERROR_HINT="read the log"
echo before
false "the step that fails"
echo after
SCRIPT
out="$(bash "$empty/stops.sh" 2>&1)"
rc=$?
if ((rc == 1)) && grep -q '^stops.sh: FAILED at line 5 (exit status 1): false "the step that fails"$' <<<"$out" &&
    grep -q '^stops.sh: read the log$' <<<"$out" && ! grep -q after <<<"$out"; then
    ok "a stopped script names the failed command, its line and status, and the hint"
else
    bad "a stopped script said (exit $rc): $out"
fi

# 4. After deps.sh has run (make test runs it first), nothing is left to install.
if [ -d "$real_cache" ]; then
    out="$(ABLKAFKA_CACHE="$real_cache" scripts/deps.sh --check 2>&1)"
    if grep -q "nothing to install" <<<"$out"; then ok "with the installed cache, --check has nothing to install"; else bad "with the installed cache: $out"; fi
fi

finish
