#!/usr/bin/env bash
# Installs what `make test` and `make demo` need, only where it is missing:
#   - Debian packages: a C toolchain and make (build-essential), pkg-config,
#     librdkafka-dev (headers for the mock-cluster tests and the benchmark), g++ (the
#     header from C++), valgrind (make test-valgrind), binutils (nm, readelf), and
#     python3-venv when the python3 on PATH cannot create a virtual environment;
#   - tansu (the broker) into $ABLKAFKA_CACHE/tansu, built with cargo;
#   - a virtual environment at $ABLKAFKA_CACHE/venv with confluent-kafka (librdkafka 2.16),
#     the independent consumer that scripts/verify.py uses.
# Idempotent, and quick when everything is already there.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
. "$here/env.sh"

log() { printf 'deps: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- Debian packages
python_can_venv() {
    command -v python3 >/dev/null 2>&1 && python3 -c 'import venv, ensurepip' >/dev/null 2>&1
}

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

if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ---------------------------------------------------------------- tansu
tansu_ok() { [ -x "$TANSU_BIN" ] && "$TANSU_BIN" --version >/dev/null 2>&1; }

tansu_installer_running() { pgrep -f "cargo install tansu" >/dev/null 2>&1; }

if ! tansu_ok; then
    mkdir -p "$ABLKAFKA_CACHE"
    if tansu_installer_running; then
        # Another run (or a developer) is building it right now: wait, never start a second one.
        log "a 'cargo install tansu' is already running (log: $TANSU_INSTALL_LOG); waiting for it"
        waited=0
        while tansu_installer_running; do
            sleep 10
            waited=$((waited + 10))
            if ((waited % 120 == 0)); then
                log "still waiting for tansu to build (${waited}s): $(tail -n 1 "$TANSU_INSTALL_LOG" 2>/dev/null || true)"
            fi
        done
    fi
    if ! tansu_ok; then
        log "building tansu $TANSU_VERSION into $TANSU_ROOT (takes several minutes; log: $TANSU_INSTALL_LOG)"
        if ! CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" cargo install tansu \
                --version "$TANSU_VERSION" --locked --features dynostore \
                --root "$TANSU_ROOT" >"$TANSU_INSTALL_LOG" 2>&1; then
            log "cargo install tansu failed; the end of its log:"
            tail -n 40 "$TANSU_INSTALL_LOG" >&2
            exit 1
        fi
    fi
    tansu_ok || { log "tansu is still missing at $TANSU_BIN"; tail -n 40 "$TANSU_INSTALL_LOG" >&2 || true; exit 1; }
fi

# ---------------------------------------------------------------- Python venv
venv_ok() {
    [ -x "$VENV_PYTHON" ] && "$VENV_PYTHON" - "$CONFLUENT_KAFKA_VERSION" >/dev/null 2>&1 <<'PY'
import sys
import confluent_kafka
v = confluent_kafka.version()
v = v[0] if isinstance(v, tuple) else v
sys.exit(0 if v == sys.argv[1] else 1)
PY
}

if ! venv_ok; then
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
