#!/usr/bin/env bash
# Installs what `make test` and `make demo` need, only where it is missing:
#   - Debian packages: a C toolchain and make (build-essential), pkg-config,
#     librdkafka-dev (headers for the mock-cluster tests and the benchmark), g++ (the
#     header from C++), valgrind (make test-valgrind), binutils (nm, readelf), shellcheck
#     (make test lints the scripts), abigail-tools (abidw and abidiff: the ABI check),
#     cmake and gdb (make install's CMake files and separate debug info are tried with them),
#     dpkg-dev and lintian (make deb's dependencies and symbols, and its check),
#     gcc-mingw-w64-x86-64-win32 (the C in ring and zstd, for the Windows cargo check), and
#     python3-venv when the python3 on PATH cannot create a virtual environment;
#   - the Rust target x86_64-pc-windows-gnu (rustup target add), for the Windows cargo
#     check; if rustup cannot fetch it, that check says it did not run;
#   - tansu (the broker) into $ABLKAFKA_CACHE/tansu, built with cargo;
#   - a virtual environment at $ABLKAFKA_CACHE/venv with confluent-kafka (librdkafka 2.16),
#     the independent consumer that scripts/verify.py uses.
# Idempotent, and quick when everything is already there.
#
#   scripts/deps.sh           install what is missing
#   scripts/deps.sh --check   say what would be installed, install nothing, exit 0
#                             (--dry-run is the same)
#
# Two runs that share a cache never build into it at the same time: the installs hold
# an flock on $ABLKAFKA_CACHE/install.lock. Runs with different caches do not wait for
# each other (apt-get waits for dpkg's own lock).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/env.sh
. "$here/env.sh"
# shellcheck source=scripts/on-error.sh
. "$here/on-error.sh"

check_only=0
case "${1:-}" in
    "") ;;
    --check | --dry-run) check_only=1 ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

log() { printf 'deps: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- what is missing
python_can_venv() {
    command -v python3 >/dev/null 2>&1 && python3 -c 'import venv, ensurepip' >/dev/null 2>&1
}

missing_debian_packages() {
    missing=()
    command -v cc >/dev/null 2>&1 || missing+=(build-essential)
    command -v make >/dev/null 2>&1 || missing+=(make)
    command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
    command -v git >/dev/null 2>&1 || missing+=(git)
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
    python_can_venv || missing+=(python3-venv)
    [ -f /usr/include/librdkafka/rdkafka_mock.h ] || missing+=(librdkafka-dev)
    command -v c++ >/dev/null 2>&1 || missing+=(g++)
    command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
    command -v readelf >/dev/null 2>&1 || missing+=(binutils)
    command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
    command -v abidiff >/dev/null 2>&1 || missing+=(abigail-tools)
    command -v cmake >/dev/null 2>&1 || missing+=(cmake)
    command -v gdb >/dev/null 2>&1 || missing+=(gdb)
    command -v dpkg-shlibdeps >/dev/null 2>&1 || missing+=(dpkg-dev)
    command -v lintian >/dev/null 2>&1 || missing+=(lintian)
    command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || missing+=(gcc-mingw-w64-x86-64-win32)
    command -v flock >/dev/null 2>&1 || missing+=(util-linux)
    command -v stunnel4 >/dev/null 2>&1 || missing+=(stunnel4)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    return 0
}

windows_target=x86_64-pc-windows-gnu
windows_target_ok() {
    ! command -v rustup >/dev/null 2>&1 || rustup target list --installed 2>/dev/null | grep -qx "$windows_target"
}

tansu_ok() { [ -x "$TANSU_BIN" ] && "$TANSU_BIN" --version >/dev/null 2>&1; }

venv_ok() {
    [ -x "$VENV_PYTHON" ] && "$VENV_PYTHON" - "$CONFLUENT_KAFKA_VERSION" >/dev/null 2>&1 <<'PY'
import sys
import confluent_kafka
v = confluent_kafka.version()
v = v[0] if isinstance(v, tuple) else v
sys.exit(0 if v == sys.argv[1] else 1)
PY
}

missing_debian_packages
plan=()
((${#missing[@]} == 0)) || plan+=("Debian packages: ${missing[*]}")
windows_target_ok || plan+=("the Rust target $windows_target: rustup target add")
tansu_ok || plan+=("tansu $TANSU_VERSION: cargo install into $TANSU_ROOT")
venv_ok || plan+=("confluent-kafka $CONFLUENT_KAFKA_VERSION: a virtual environment at $VENV_DIR")

if ((check_only)); then
    echo "deps: cache $ABLKAFKA_CACHE"
    if ((${#plan[@]} == 0)); then
        echo "deps: nothing to install"
    else
        printf 'deps: would install %s\n' "${plan[@]}"
    fi
    exit 0
fi
if ((${#plan[@]} == 0)); then
    log "ok: nothing to install (cache $ABLKAFKA_CACHE)"
    exit 0
fi

# ---------------------------------------------------------------- Debian packages
if ((${#missing[@]})); then
    ON_ERROR_HINT="apt-get could not install ${missing[*]}: see its message above; as root, 'apt-get update' then install them by hand"
    log "installing Debian packages: ${missing[*]}"
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
    "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
fi

# ---------------------------------------------------------------- the Windows target
# Best effort: without it the Windows cargo check says it did not run (no other check needs it).
if ! windows_target_ok; then
    log "adding the Rust target $windows_target (rustup target add)"
    if ! timeout 300 rustup target add "$windows_target" >&2; then
        log "could not add the Rust target $windows_target: the Windows cargo check will not run"
    fi
fi

# ---------------------------------------------------------------- one installer per cache
mkdir -p "$ABLKAFKA_CACHE"
exec 9>"$ABLKAFKA_CACHE/install.lock"
if ! flock --nonblock 9; then
    log "another run is installing into $ABLKAFKA_CACHE (lock $ABLKAFKA_CACHE/install.lock; tansu's log: $TANSU_INSTALL_LOG); waiting for it"
    ON_ERROR_HINT="could not take the lock $ABLKAFKA_CACHE/install.lock"
    flock 9
fi

# ---------------------------------------------------------------- tansu
# Checked again under the lock: the run we waited for may have built it.
if ! tansu_ok; then
    log "building tansu $TANSU_VERSION into $TANSU_ROOT (takes about ten minutes; log: $TANSU_INSTALL_LOG)"
    ON_ERROR_HINT="building tansu failed: read $TANSU_INSTALL_LOG"
    if ! CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" cargo install tansu \
            --version "$TANSU_VERSION" --locked --features "$TANSU_FEATURES" \
            --root "$TANSU_ROOT" >"$TANSU_INSTALL_LOG" 2>&1; then
        log "cargo install tansu failed; the end of its log ($TANSU_INSTALL_LOG):"
        tail -n 40 "$TANSU_INSTALL_LOG" >&2
        exit 1
    fi
    tansu_ok || { log "tansu is still missing at $TANSU_BIN; read $TANSU_INSTALL_LOG"; exit 1; }
fi

# ---------------------------------------------------------------- Python venv
if ! venv_ok; then
    ON_ERROR_HINT="setting up the Python verifier failed: remove $VENV_DIR and run scripts/deps.sh again"
    if [ ! -x "$VENV_PYTHON" ]; then
        log "creating the virtual environment $VENV_DIR"
        rm -rf "$VENV_DIR"
        python3 -m venv "$VENV_DIR"
    fi
    log "installing confluent-kafka==$CONFLUENT_KAFKA_VERSION into $VENV_DIR"
    "$VENV_PYTHON" -m pip install --quiet "confluent-kafka==$CONFLUENT_KAFKA_VERSION"
    venv_ok || { log "confluent-kafka $CONFLUENT_KAFKA_VERSION is not importable from $VENV_PYTHON"; exit 1; }
fi

log "ok: $("$TANSU_BIN" --version 2>/dev/null | head -n 1), confluent-kafka $("$VENV_PYTHON" -c 'import confluent_kafka as c; print(c.__version__, "/ librdkafka", c.libversion()[0])')"
