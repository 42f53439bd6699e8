# shellcheck shell=bash
# Sourced after scripts/harness.sh by run-tests.sh, c-suite.sh and secure-suite.sh: runs
# the lines of c-tests/manifest (scripts/manifest.py reads it; its first lines say what a
# line holds).
#
#   run_manifest MODE KIND...   every run of MODE whose brokers are one of KIND (none,
#                               tansu, own, secure), in the manifest's order
#
# MODE is plain (build/bin), asan (build/asan/bin: make ctests SAN=asan) or valgrind
# (build/bin under valgrind memcheck). Under a checker, a run that its checker reports on
# counts one failure more, even when all its own checks passed: the report says the library
# (or the test) touched memory it must not, or lost some. Clean means no report and no
# definite leak (valgrind --errors-for-leak-kinds=definite; LeakSanitizer reports only
# unreachable blocks). Suppressions: c-tests/lsan.supp and c-tests/valgrind.supp for every
# run, c-tests/*-fork.supp for the lines that ask for them, each entry justified there.
#
# Set before it:
#   MANIFEST_SCRATCH  where the runs write: expectation files, own brokers' directories
#   TANSU_DIR         the shared tansu's directory (scripts/broker.sh), for brokers tansu
#   SECURE_DIR        scripts/secure-brokers.sh's directory, for brokers secure
#   MANIFEST_PREFIX   put before every topic name (to share a tansu with other runs)
#   QUIET_RUNS=N      a run's output only to its log, and its last N lines after it
# Each run's counts go to manifest_count NAME PASSED FAILED LOG, which records them as
# a suite (harness.sh) unless the script defines its own.

: "${root:?source scripts/harness.sh first}"

CHECKER_REPORT='^==[0-9]+== (ERROR|WARNING): (AddressSanitizer|LeakSanitizer)|runtime error:|^==[0-9]+== [0-9,]+ bytes in [0-9,]+ blocks are definitely lost|^==[0-9]+== (Invalid|Conditional jump|Syscall param|Mismatched free)'

manifest_count() { record "$1" "$2" "$3"; }

# The program's command line in MODE, into the array `argv`.
checker_command() { # checker_command MODE SUPPRESSIONS PROGRAM ARG...
    local mode="$1" suppressions="$2"
    shift 2
    case "$mode" in
        plain) argv=("$@") ;;
        asan)
            # Halt on the first report; leaks checked at exit; UBSan prints where. The
            # fork file replaces the common one, with the full unwinding it needs.
            local asan="detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=97:strict_string_checks=1:check_initialization_order=1"
            local lsan="suppressions=$root/c-tests/lsan.supp:print_suppressions=1"
            if [ "$suppressions" = fork ]; then
                asan+=":fast_unwind_on_malloc=0:malloc_context_size=100"
                lsan="suppressions=$root/c-tests/lsan-fork.supp:print_suppressions=1"
            fi
            argv=(env "ASAN_OPTIONS=$asan" "LSAN_OPTIONS=$lsan"
                "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=98" "$@")
            ;;
        valgrind)
            argv=(valgrind --tool=memcheck --quiet --error-exitcode=99 --leak-check=full
                --show-leak-kinds=definite --errors-for-leak-kinds=definite
                "--suppressions=$root/c-tests/valgrind.supp" --num-callers=30)
            if [ "$suppressions" = fork ]; then
                argv+=("--suppressions=$root/c-tests/valgrind-fork.supp")
            fi
            argv+=("$@")
            ;;
    esac
}

# WORD with {brokers} and {UPPER_CASE} (from secure.env) replaced, into `word`.
fill_in() { # fill_in WORD BROKERS
    local name
    word="${1//\{brokers\}/$2}"
    while [[ $word =~ \{([A-Z][A-Z0-9_]*)\} ]]; do
        name="${BASH_REMATCH[1]}"
        if [ -z "${!name+set}" ]; then
            echo "manifest: {$name} is not in $SECURE_DIR/secure.env" >&2
            return 1
        fi
        word="${word//\{$name\}/${!name}}"
    done
}

manifest_own="" # the own broker up now, if any

# The own broker a run needs: the one up already, or a fresh one (the last one stopped).
own_broker() { # own_broker DIR
    if [ "$1" = "$manifest_own" ]; then return 0; fi
    if [ -n "$manifest_own" ]; then stop_broker "$manifest_own"; fi
    manifest_own="$1"
    [ -n "$1" ] || return 0
    rm -rf "$1"
    start_broker "$1"
}

# A topic a run needs, on the shared tansu, its own, or secure broker SECURE (t1..t5).
make_topic() { # make_topic NAME PARTITIONS SECURE OWN_DIR
    if [ -n "$3" ]; then
        scripts/secure-brokers.sh topic "$SECURE_DIR" "$3" "$1" "$2" 2>>"$SECURE_DIR.log"
    else
        scripts/broker.sh topic "${4:-$TANSU_DIR}" "$1" "$2"
    fi
}

# How a run is counted: its closing line, its exit status, its checker's report, and
# the line its output must have.
count_run() { # count_run MODE NAME LOG STATUS OUTPUT
    local mode="$1" name="$2" log="$3" status="$4" output="$5" reported=0 p f
    # The checkers exit with 97 (ASan), 98 (UBSan) or 99 (valgrind) when they report.
    if [ "$mode" != plain ] && { grep -qE "$CHECKER_REPORT" "$log" || ((status >= 97 && status <= 99)); }; then
        echo "$mode $name: the memory checker reported an error (see $log)" >&2
        reported=1
    fi
    read -r p f < <(counts_of "$log" "$status" "$reported")
    if [ -n "$output" ] && ! grep -qE "$output" "$log"; then
        echo "$name: no line of its output matches $output" >&2
        f=$((f + 1))
    fi
    manifest_count "$name" "$p" "$f" "$log"
}

# One record of manifest.py: NAME PROGRAM BROKERS TIMEOUT SUPPRESSIONS OUTPUT OWN_DIR
# EXPECT N_TOPICS (TOPIC PARTITIONS SECURE_BROKER)... N_ARGS ARG...
run_line() { # run_line MODE BIN RECORD...
    local mode="$1" bin="$2" name="$3" program="$4" brokers="$5" limit="$6" suppressions="$7"
    local output="$8" own="$9" expect="${10}" n address="" problem="" status log word
    local -a args=() argv=()
    shift 10
    log="$LOGS/$name.log"
    own_broker "$own" || problem="its own tansu did not start (see $own/tansu.log)"
    case "$brokers" in
        tansu) address="$(scripts/broker.sh address "$TANSU_DIR")" ;;
        own) [ -n "$problem" ] || address="$(scripts/broker.sh address "$own")" ;;
        secure)
            # shellcheck source=/dev/null
            . "$SECURE_DIR/secure.env"
            ;;
    esac
    n="$1"
    shift
    for (( ; n > 0; n--)); do
        if [ -z "$problem" ] && ! make_topic "$1" "$2" "$3" "$own"; then
            problem="could not create topic $1 ${3:+on $3}"
        fi
        shift 3
    done
    shift # N_ARGS: the rest are the arguments
    for word in "$@"; do
        fill_in "$word" "$address" || problem="an argument names a value the secure brokers do not have"
        args+=("$word")
    done
    if [ "$program" = verify ]; then
        # Read back on the broker the run before it wrote to, not under a checker.
        [ -s "$expect" ] || problem="no expectation file $expect: the run before did not write it"
        if [ -n "$own" ] && [ ! -s "$own/tansu.pid" ]; then problem="its broker is gone"; fi
        argv=("$VENV_PYTHON" scripts/verify.py --brokers "$address" "${args[@]}")
    else
        checker_command "$mode" "$suppressions" "$bin/$program" "${args[@]}"
    fi
    if [ -n "$problem" ]; then
        echo "$name: not run: $problem" | tee "$log" >&2
        manifest_count "$name" 0 1 "$log"
        return 0
    fi

    if [ -n "${QUIET_RUNS:-}" ]; then
        printf '\n---- %s %s: %s\n' "$mode" "$name" "${argv[*]}"
    else
        banner "$name: ${argv[*]}"
    fi
    run_logged "$log" "$limit" "${argv[@]}"
    if [ -n "${QUIET_RUNS:-}" ]; then tail -n "$QUIET_RUNS" "$log"; fi
    explain_status "$mode $name" "$status" "$limit"
    count_run "$mode" "$name" "$log" "$status" "$output"
}

run_manifest() { # run_manifest MODE KIND...
    local mode="$1" bin="$root/build/bin" plan i=0 n_topics n_args length
    local -a fields=()
    shift
    if [ "$mode" = asan ]; then bin="$root/build/asan/bin"; fi
    plan="$MANIFEST_SCRATCH/manifest-$mode.runs"
    mkdir -p "$MANIFEST_SCRATCH" "$LOGS"
    if ! python3 scripts/manifest.py runs "$mode" --bin "$bin" --scratch "$MANIFEST_SCRATCH" \
        --prefix "${MANIFEST_PREFIX:-}" --brokers "$@" >"$plan"; then
        record "c-tests/manifest" 0 1
        return 0
    fi
    mapfile -d '' fields <"$plan"
    while ((i < ${#fields[@]})); do
        if [ "${fields[i]}" = skip ]; then
            printf '\n---- %s %s: not run: %s\n' "$mode" "${fields[i + 1]}" "${fields[i + 2]}"
            i=$((i + 3))
            continue
        fi
        n_topics="${fields[i + 9]}"
        n_args="${fields[i + 10 + 3 * n_topics]}"
        length=$((9 + 3 * n_topics + 1 + n_args))
        run_line "$mode" "$bin" "${fields[@]:i+1:length}"
        i=$((i + 1 + length))
    done
    own_broker ""
}
