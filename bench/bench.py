#!/usr/bin/env python3
"""Side-by-side benchmark: ablkafka against librdkafka, same workload, same broker.

Started by scripts/bench.sh (`make bench`, `make bench-smoke`), which installs the
dependencies, builds the library and the two bench binaries, and sources scripts/env.sh.

For every workload it first runs each library once unmeasured (the warm-up round: the
first runs on a broker pay for faulting in its memory), then both libraries alternately
for BENCH_ROUNDS rounds, in the order A B, B A, A B, ... so neither always goes first,
each run in its own process (bench/bench.c)
against one tansu broker this script starts, on a fresh topic that is deleted after the
run (tansu keeps everything in memory). The TLS rows (`secure`) run against tansu with
SASL (SCRAM-SHA-512, sqlite storage) behind stunnel, started by
scripts/secure-brokers.sh: both libraries connect with security.protocol=sasl_ssl. The
sink rows (`storage="null"`) run against a second tansu started with
--storage-engine null:// (BROKER_STORAGE of scripts/broker.sh), which acknowledges every
Produce and stores nothing, so that they show each client's own ceiling rather than the
in-memory broker's. The outstanding row (bench.c mode=outstanding) measures the resident
memory one kept receipt (a Response; for librdkafka, a malloc'd copy of its delivery
report) costs, two ways: what freeing them gives back ("B/receipt freed") and how much
RSS grew while they were sent and kept ("B/receipt kept", after a priming pass without
receipts); its targets are absolute figures for ablkafka, not ratios. The
transactional row (`txn-100B`, bench.c mode=txn, `broker="mock"`) runs against
librdkafka's mock cluster (build/bin/mock-cluster, bench/mock_cluster.c), because tansu
0.6.0 has no EndTxn and cannot commit; the mock is librdkafka's own single-threaded
broker, so both clients are bounded by it. It prints every run, then the medians per
library and the ratios ablkafka/librdkafka, and writes them to $BENCH_OUT
(default build/bench): runs.jsonl, summary.md.

Environment:
  BENCH_SHORT=1        smoke mode: small counts, one round, checks that both libraries
                       deliver every message; ends with "N passed, N failed"; no speed check
  BENCH_ROUNDS=N       measured rounds per workload (full mode default 9)
  BENCH_WARMUP=0       skip the unmeasured warm-up round (full mode default 1, smoke 0)
  BENCH_WORKLOADS=a,b  only these workloads (names below)
  BENCH_PARTITIONS=N   partitions per topic (default 4, tansu's auto-create default)
  BENCH_OUT=DIR        where the broker and the results go (default build/bench)
  BENCH_QUIET_WAIT_S=N before each run, wait up to N s for the rest of the machine to be
                       idle (under 0.15 cores busy for 2 s); full mode default 60, smoke 0;
  BENCH_QUIET_BUDGET_S=N  ... but no more than N s of such waiting in all (default 300).
                       Each run records the load that other processes put on the machine.
"""

import json
import os
import shlex
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import tally  # noqa: E402 (scripts/ is on the path only now)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bin")
BROKER_SH = os.path.join(ROOT, "scripts", "broker.sh")
SECURE_SH = os.path.join(ROOT, "scripts", "secure-brokers.sh")
MOCK_CLUSTER = os.path.join(BIN, "mock-cluster")
MOCK_BROKERS = 3
LIBS = [("ablkafka", os.path.join(BIN, "bench-ablkafka")), ("librdkafka", os.path.join(BIN, "bench-rdkafka"))]

SHORT = os.environ.get("BENCH_SHORT", "") not in ("", "0")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1" if SHORT else "9"))
WARMUP = os.environ.get("BENCH_WARMUP", "0" if SHORT else "1") not in ("", "0")
PARTITIONS = int(os.environ.get("BENCH_PARTITIONS", "4"))
OUT = os.path.abspath(os.environ.get("BENCH_OUT", os.path.join(ROOT, "build", "bench-smoke" if SHORT else "bench")))
TANSU_BIN = os.environ.get("TANSU_BIN", "")
RUN_TIMEOUT_S = 600
QUIET_WAIT_S = float(os.environ.get("BENCH_QUIET_WAIT_S", "0" if SHORT else "60"))
quiet_budget_s = float(os.environ.get("BENCH_QUIET_BUDGET_S", "300"))
QUIET_CORES = 0.15
# Restart the broker when its resident memory passes this, even after deleting topics.
BROKER_RSS_LIMIT_KB = 3 * 1024 * 1024


def w(name, title, target, mode="throughput", count=2_000_000, short=20_000, secure=False, storage="memory",
      broker="tansu", **args):
    return dict(name=name, title=title, target=target, mode=mode, count=short if SHORT else count, secure=secure,
                storage=storage, broker=broker, args=args)


# (ratio name, "ge"/"le", value): what the issues (5, 21) ask of ablkafka/librdkafka; with a fourth
# element "ablkafka", the value is a bound on ablkafka's own median instead of a ratio.
WORKLOADS = [
    # Issue 21's targets. ablkafka reads and frees each Response once completed (receipts=poll),
    # as librdkafka's run serves each delivery report; 100B-keep keeps them all to the end.
    w("100B-none", "100 B, uncompressed, linger.ms=5, 2M messages",
      [("msgs_per_s", "ge", 2.0), ("cpu_us_per_msg", "le", 0.30), ("maxrss_kb", "le", 2.0)], size=100,
      codec="none", linger=5),
    w("100B-keep", "100 B, uncompressed, linger.ms=5, 2M messages, every Response kept to the end",
      [("cpu_us_per_msg", "le", 0.30)], size=100, codec="none", linger=5, receipts="keep"),
    w("100B-lz4", "100 B, lz4, linger.ms=5, 2M messages", [("msgs_per_s", "ge", 1.2)],
      size=100, codec="lz4", linger=5),
    w("100B-zstd", "100 B, zstd, linger.ms=5, 2M messages", [("msgs_per_s", "ge", 1.2)],
      size=100, codec="zstd", linger=5),
    w("1KiB-none", "1 KiB, uncompressed, linger.ms=5, 500k messages",
      [("msgs_per_s", "ge", 1.2), ("cpu_us_per_msg", "le", 0.45)],
      count=500_000, short=5_000, size=1024, codec="none", linger=5),
    w("latency", "100 B at 1,000 msg/s, linger.ms=0, 10 s", [("p99_us", "le", 1.0)],
      mode="latency", count=10_000, short=300, size=100, codec="none", linger=0, rate=1000),
    w("paused-1M", "1M x 100 B queued while the broker is stopped (SIGSTOP), then delivered",
      [("maxrss_kb", "le", 1.0)], mode="paused", count=1_000_000, short=20_000, size=100,
      codec="none", linger=5),
    w("100B-stats", "100 B, uncompressed, linger.ms=5, 2M messages, statistics.interval.ms=1000 (both)",
      [("msgs_per_s", "ge", 1.5), ("cpu_us_per_msg", "le", 0.67)], size=100, codec="none", linger=5,
      **{"conf.statistics.interval.ms": "1000"}),
    w("100B-headers", "100 B with two small headers (RecordBuilder / rd_kafka_producev), linger.ms=5, 2M",
      [("msgs_per_s", "ge", 1.5), ("cpu_us_per_msg", "le", 0.67)], size=100, codec="none", linger=5, send="headers"),
    w("100B-no-receipt", "100 B without receipts (librdkafka: delivery reports for errors only), 2M",
      [("msgs_per_s", "ge", 2.0), ("cpu_us_per_msg", "le", 0.23)], size=100, codec="none", linger=5,
      send="noreceipt"),
    w("tls-100B", "100 B, sasl_ssl (SCRAM-SHA-512, stunnel), linger.ms=5, 1M messages",
      [("msgs_per_s", "ge", 1.0), ("cpu_us_per_msg", "le", 0.8)], count=1_000_000, short=10_000, secure=True,
      size=100, codec="none", linger=5),
    w("tls-1KiB", "1 KiB, sasl_ssl (SCRAM-SHA-512, stunnel), linger.ms=5, 300k messages",
      [("msgs_per_s", "ge", 1.0), ("cpu_us_per_msg", "le", 0.8)], count=300_000, short=3_000, secure=True,
      size=1024, codec="none", linger=5),
    # Issue 21: against a broker that stores nothing, the clients' own ceilings.
    w("100B-sink", "100 B, uncompressed, linger.ms=5, 2M messages, null-storage broker",
      [("msgs_per_s", "ge", 2.0), ("cpu_us_per_msg", "le", 0.30)], storage="null", size=100, codec="none",
      linger=5),
    w("100B-sink-no-receipt", "100 B without receipts, 2M messages, null-storage broker",
      [("cpu_us_per_msg", "le", 0.23)], storage="null", size=100, codec="none", linger=5, send="noreceipt"),
    # Two figures: freeing receipts from a pool that keeps its memory gives nothing back, so
    # the first alone would pass any such pool; the second counts pooled and malloc'd alike.
    w("outstanding-1M", "1M x 100 B, every receipt kept past the flush: resident bytes per receipt",
      [("bytes_per_response", "le", 24, "ablkafka"), ("bytes_per_response_vs_start", "le", 24, "ablkafka")],
      mode="outstanding", count=1_000_000, short=20_000, size=100, codec="none", linger=5),
    # Issue 23: transactions, against librdkafka's mock cluster (tansu cannot commit: no EndTxn).
    # Both producers are transactional (so idempotent); init_transactions is outside the
    # measured phase; a record counts only if its transaction's commit returned 0.
    w("txn-100B", "100 B, transactions of 10,000, commit each, mock cluster",
      [("msgs_per_s", "ge", 1.0), ("cpu_us_per_msg", "le", 0.67)], mode="txn", count=1_000_000, short=30_000,
      broker="mock", size=100, codec="none", linger=5, txn_size=10_000),
]

METRICS = [  # key, column title, format, better when
    ("msgs_per_s", "msgs/s", "{:,.0f}", "higher"),
    ("mb_per_s", "MB/s", "{:.1f}", "higher"),
    ("cpu_us_per_msg", "CPU us/msg", "{:.3f}", "lower"),
    ("ctxsw_per_msg", "ctx switches/msg", "{:.3f}", "lower"),
    ("maxrss_kb", "peak RSS MiB", "{:.1f}", "lower"),
    ("p50_us", "p50 us", "{:,.0f}", "lower"),
    ("p99_us", "p99 us", "{:,.0f}", "lower"),
    ("broker_cpu_us_per_msg", "broker CPU us/msg", "{:.3f}", "lower"),
    ("bytes_per_response", "B/receipt freed", "{:.1f}", "lower"),
    ("bytes_per_response_vs_start", "B/receipt kept", "{:.1f}", "lower"),
]


def log(msg):
    print(msg, flush=True)


class Broker:
    def __init__(self, directory, storage=None):
        self.dir = directory
        self.storage = storage  # tansu's --storage-engine; None: broker.sh's default (memory)
        self.pid = None
        self.address = None

    def start(self):
        env = dict(os.environ, BROKER_STORAGE=self.storage) if self.storage else None
        subprocess.run([BROKER_SH, "start", self.dir], check=True, env=env)
        self.address = open(os.path.join(self.dir, "bootstrap")).read().strip()
        self.pid = int(open(os.path.join(self.dir, "tansu.pid")).read().strip())

    def stop(self):
        if self.pid is not None:
            self.resume()
            subprocess.run([BROKER_SH, "stop", self.dir], check=False)
            self.pid = None

    def restart(self):
        self.stop()
        self.start()

    def resume(self):
        try:
            os.kill(self.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass

    def create_topic(self, name):
        subprocess.run([BROKER_SH, "topic", self.dir, name, str(PARTITIONS)], check=True,
                       stderr=subprocess.DEVNULL)

    def delete_topic(self, name):
        subprocess.run([TANSU_BIN, "topic", "delete", "--broker", "tcp://" + self.address, name],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

    def rss_kb(self):
        with open(f"/proc/{self.pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024

    def cpu_s(self):
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


class SecureBroker(Broker):
    """T4 of scripts/secure-brokers.sh: tansu with SASL (sqlite storage) behind stunnel."""

    def start(self):
        subprocess.run([SECURE_SH, "start", self.dir], check=True, stdout=subprocess.DEVNULL)
        env = {}
        with open(os.path.join(self.dir, "secure.env")) as f:
            for line in f:
                if line.startswith("export "):
                    name, value = shlex.split(line[len("export "):])[0].split("=", 1)
                    env[name] = value
        self.address = env["SASL_SSL_BOOTSTRAP"]
        self.pid = int(open(os.path.join(self.dir, "run", "t4.pid")).read().strip())
        self.options = {"security.protocol": "sasl_ssl", "sasl.mechanism": "SCRAM-SHA-512",
                        "sasl.username": env["SCRAM512_USER"], "sasl.password": env["SCRAM512_PASSWORD"],
                        "ssl.ca.location": env["CA_PEM"]}

    def stop(self):
        if self.pid is not None:
            self.resume()
            subprocess.run([SECURE_SH, "stop", self.dir], check=False, stdout=subprocess.DEVNULL)
            self.pid = None

    def create_topic(self, name):
        subprocess.run([SECURE_SH, "topic", self.dir, "t4", name, str(PARTITIONS)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def delete_topic(self, name):
        pass  # tansu's CLI speaks no SASL; the few TLS topics stay in its sqlite file


class MockBroker:
    """librdkafka's mock cluster (bench/mock_cluster.c) in a process of its own: MOCK_BROKERS
    brokers on loopback; topics are created through its stdin. It has no topic deletion,
    but keeps at most 5 MiB per partition, so memory stays bounded."""

    def __init__(self, directory):
        self.dir = directory
        self.proc = None
        self.pid = None
        self.address = None

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        self.log = open(os.path.join(self.dir, "mock-cluster.log"), "a")
        self.proc = subprocess.Popen([MOCK_CLUSTER, str(MOCK_BROKERS)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, bufsize=1)
        self.address = self.proc.stdout.readline().strip()
        if not self.address:
            raise RuntimeError(f"mock-cluster printed no bootstrap servers (see {self.log.name})")
        self.pid = self.proc.pid

    def stop(self):
        if self.proc is not None:
            self.proc.stdin.close()  # it stops when its stdin closes
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.log.close()
            self.proc = self.pid = None

    def restart(self):
        self.stop()
        self.start()

    def resume(self):
        pass  # never stopped: no paused row runs here

    def create_topic(self, name):
        self.proc.stdin.write(f"topic {name} {PARTITIONS}\n")
        answer = self.proc.stdout.readline().strip()
        if answer != f"ok {name}":
            raise RuntimeError(f"mock-cluster: topic {name}: {answer or 'no answer'}")

    def delete_topic(self, name):
        pass

    rss_kb = Broker.rss_kb
    cpu_s = Broker.cpu_s


def parse_result(stdout):
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            out = {}
            for kv in line.split()[1:]:
                k, v = kv.split("=", 1)
                try:
                    out[k] = float(v) if any(c in v for c in ".e") or k.endswith("_s") else int(v)
                except ValueError:
                    out[k] = v
            return out
    return None


def system_ticks():
    """(busy, steal) clock ticks of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6], (v[7] if len(v) > 7 else 0)


def run_child(cmd):
    """Runs cmd; returns (exit status or 'timeout', stdout, stderr, its CPU seconds, wall seconds)."""
    with tempfile.TemporaryFile(mode="w+") as out, tempfile.TemporaryFile(mode="w+") as err:
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            proc.kill()

        timer = threading.Timer(RUN_TIMEOUT_S, kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)  # wait4: the child's own rusage
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        rc = "timeout" if timed_out.is_set() else proc.returncode
        return rc, out.read(), err.read(), usage.ru_utime + usage.ru_stime, wall


def wait_for_quiet(broker):
    """Waits (up to QUIET_WAIT_S) until other processes use under QUIET_CORES; returns seconds waited."""
    global quiet_budget_s
    started = time.monotonic()
    limit = min(QUIET_WAIT_S, quiet_budget_s)
    while True:
        busy0, _ = system_ticks()
        cpu0 = broker.cpu_s()
        time.sleep(2)
        busy1, _ = system_ticks()
        load = ((busy1 - busy0) / os.sysconf("SC_CLK_TCK") - (broker.cpu_s() - cpu0)) / 2
        waited = time.monotonic() - started
        if load < QUIET_CORES or waited >= limit:
            quiet_budget_s = max(0.0, quiet_budget_s - max(0.0, waited - 2))
            return round(waited, 1)


def run_once(broker, workload, lib, exe, rnd):
    topic = f"bench-{workload['name']}-{rnd}-{lib}".replace(".", "_")
    broker.create_topic(topic)
    cmd = [exe, f"brokers={broker.address}", f"topic={topic}", f"mode={workload['mode']}",
           f"count={workload['count']}"] + [f"{k}={v}" for k, v in workload["args"].items()]
    cmd += [f"conf.{k}={v}" for k, v in getattr(broker, "options", {}).items()]
    if workload["mode"] == "paused":
        cmd.append(f"pause_pid={broker.pid}")
    waited = wait_for_quiet(broker) if QUIET_WAIT_S > 0 else 0.0
    cpu0 = broker.cpu_s()
    busy0, steal0 = system_ticks()
    try:
        rc, stdout, stderr, child_cpu, wall = run_child(cmd)
    finally:
        broker.resume()  # in case the run died with the broker stopped
    broker_cpu = broker.cpu_s() - cpu0
    busy1, steal1 = system_ticks()
    tck = os.sysconf("SC_CLK_TCK")
    # CPU the rest of the machine used meanwhile (other processes), in cores: on a 2-core
    # machine anything above ~0.1 means the run competed with something else.
    other_load = max(0.0, ((busy1 - busy0) / tck - child_cpu - broker_cpu) / wall)
    broker_rss = broker.rss_kb()
    broker.delete_topic(topic)
    res = parse_result(stdout) or {}
    res.update(lib=lib, workload=workload["name"], round=rnd, rc=rc, topic=topic,
               broker_cpu_us_per_msg=broker_cpu * 1e6 / workload["count"],
               broker_rss_kb_after=broker_rss, other_load_cores=round(other_load, 3),
               steal_cores=round((steal1 - steal0) / tck / wall, 3), waited_for_quiet_s=waited)
    if stderr.strip():
        res["stderr"] = stderr.strip()[-2000:]
    return res


def fmt_run(r):
    if "msgs_per_s" not in r:
        return f"  {r['lib']:<10} {round_name(r)}: FAILED rc={r['rc']} {r.get('stderr', '')}"
    if r["mode"] == "outstanding":
        return (f"  {r['lib']:<10} {round_name(r)}: {r['count']:,} receipts kept: RSS before the first send "
                f"{r['rss_base_kb'] / 1024:.1f} MiB, after the flush {r['rss_kept_kb'] / 1024:.1f} MiB, after freeing "
                f"the receipts {r['rss_freed_kb'] / 1024:.1f} MiB: per receipt {r['bytes_per_response_vs_start']:.1f} B "
                f"kept, {r['bytes_per_response']:.1f} B given back when freed, "
                f"{r['msgs_per_s']:,.0f} msg/s, delivered {r['delivered']}/{r['count']}, "
                f"other load {r['other_load_cores']:.2f} cores")
    if r["mode"] == "txn":
        return (f"  {r['lib']:<10} {round_name(r)}: {r['msgs_per_s']:>11,.0f} msg/s {r['cpu_us_per_msg']:>8.3f} us CPU/msg  "
                f"{r['txns']} of {-(-r['count'] // r['txn_size'])} transactions committed, commit p50 "
                f"{r['commit_p50_ms']:.1f} ms, max {r['commit_max_ms']:.1f} ms, {r['commit_s']:.2f} s in commits of "
                f"{r['elapsed_s']:.2f} s, init {r['init_s'] * 1e3:.0f} ms  peak RSS {r['maxrss_kb'] / 1024:.1f} MiB  "
                f"p50 {r['p50_us']:,.0f} us  delivered {r['delivered']}/{r['count']}  "
                f"broker {r['broker_cpu_us_per_msg']:.3f} us CPU/msg  other load {r['other_load_cores']:.2f} cores")
    if r["mode"] == "paused":
        return (f"  {r['lib']:<10} {round_name(r)}: queued {r['count']:,} in {r['queue_s']:.3f} s "
                f"({r['count'] / r['queue_s']:,.0f} msg/s), RSS with all queued {r['rss_paused_kb'] / 1024:.1f} MiB, "
                f"peak RSS {r['maxrss_kb'] / 1024:.1f} MiB, drained in {r['drain_s']:.3f} s after SIGCONT, "
                f"{r['cpu_us_per_msg']:.3f} us CPU/msg, delivered {r['delivered']}/{r['count']}, "
                f"other load {r['other_load_cores']:.2f} cores")
    return (f"  {r['lib']:<10} {round_name(r)}: {r['msgs_per_s']:>11,.0f} msg/s {r['mb_per_s']:>7.1f} MB/s "
            f"{r['cpu_us_per_msg']:>8.3f} us CPU/msg  peak RSS {r['maxrss_kb'] / 1024:>7.1f} MiB  "
            f"p50 {r['p50_us']:>9,.0f} us  p99 {r['p99_us']:>9,.0f} us  "
            f"delivered {r['delivered']}/{r['count']}  broker {r['broker_cpu_us_per_msg']:.3f} us CPU/msg, "
            f"RSS {r['broker_rss_kb_after'] / 1024:.0f} MiB  other load {r['other_load_cores']:.2f} cores")


def round_name(r):
    return "warm-up" if r["round"] == 0 else f"round {r['round']}"


def median_of(runs, key):
    vals = [r[key] for r in runs if isinstance(r.get(key), (int, float)) and r[key] >= 0]
    return statistics.median(vals) if vals else None


def cell(key, fmtstr, v):
    if v is None:
        return "-"
    if key == "maxrss_kb":
        v = v / 1024
    return fmtstr.format(v)


def summarize(results):
    lines = []
    head = "| workload | library | " + " | ".join(m[1] for m in METRICS) + " | target (ablkafka/librdkafka) |"
    lines.append(head)
    lines.append("|" + "---|" * (len(METRICS) + 3))
    for wl in WORKLOADS:
        runs = [r for r in results if r["workload"] == wl["name"] and r["round"] > 0]
        if not runs:
            continue
        med = {lib: {m[0]: median_of([r for r in runs if r["lib"] == lib], m[0]) for m in METRICS}
               for lib, _ in LIBS}
        n = {lib: len([r for r in runs if r["lib"] == lib and "msgs_per_s" in r]) for lib, _ in LIBS}
        if wl["mode"] == "paused":  # its elapsed time includes the hold: no throughput figure
            for lib, _ in LIBS:
                med[lib]["msgs_per_s"] = med[lib]["mb_per_s"] = None
        for lib, _ in LIBS:
            cells = [cell(k, f, med[lib][k]) for k, _, f, _ in METRICS]
            lines.append(f"| {wl['name']} | {lib} (median of {n[lib]}) | " + " | ".join(cells) + " | |")
        ratios = {}
        for k, _, _, _ in METRICS:
            a, b = med["ablkafka"][k], med["librdkafka"][k]
            ratios[k] = a / b if a is not None and b not in (None, 0) else None
        verdicts = []
        for key, how, want, *absolute in wl["target"]:
            r = med[absolute[0]][key] if absolute else ratios.get(key)
            title = next(m[1] for m in METRICS if m[0] == key)
            wanted = f"{'>=' if how == 'ge' else '<='} {want}" + (f" for {absolute[0]}" if absolute else "x")
            if r is None:
                verdicts.append(f"{title} ?")
            else:
                ok = r >= want if how == "ge" else r <= want
                verdicts.append(f"{title} {wanted}: {r:.2f}{'' if absolute else 'x'} {'met' if ok else 'NOT met'}")
        lines.append(f"| {wl['name']} | **ratio** | " +
                     " | ".join("-" if ratios[k] is None else f"**{ratios[k]:.2f}x**" for k, _, _, _ in METRICS) +
                     " | " + "; ".join(verdicts) + " |")
    lines.append("")
    lines.append("Load from other processes during the runs (cores busy outside the benchmark and its "
                 "broker; this machine has " + str(os.cpu_count()) + "):")
    for wl in WORKLOADS:
        loads = [r["other_load_cores"] for r in results if r["workload"] == wl["name"] and r["round"] > 0]
        if loads:
            lines.append(f"- {wl['name']}: median {statistics.median(loads):.2f}, max {max(loads):.2f}"
                         f" ({sum(1 for x in loads if x > 0.1)} of {len(loads)} runs above 0.1)")
    paused = [r for r in results if r.get("mode") == "paused" and "queue_s" in r]
    if paused:
        lines.append("")
        for lib, _ in LIBS:
            runs = [r for r in paused if r["lib"] == lib]
            if runs:
                lines.append(
                    f"paused, {lib} (medians): queued {runs[0]['count']:,} messages in "
                    f"{median_of(runs, 'queue_s'):.3f} s; RSS with all of them queued "
                    f"{median_of(runs, 'rss_paused_kb') / 1024:.1f} MiB; drained "
                    f"{median_of(runs, 'drain_s'):.3f} s after SIGCONT.")
    txn = [r for r in results if r.get("mode") == "txn" and r["round"] > 0 and "commit_p50_ms" in r]
    if txn:
        lines.append("")
        for lib, _ in LIBS:
            runs = [r for r in txn if r["lib"] == lib]
            if runs:
                lines.append(
                    f"txn, {lib} (medians): transactions of {runs[0]['txn_size']:,} records, "
                    f"{median_of(runs, 'txns'):.0f} committed per run; commit call p50 "
                    f"{median_of(runs, 'commit_p50_ms'):.1f} ms, max {median_of(runs, 'commit_max_ms'):.1f} ms; "
                    f"{median_of(runs, 'commit_s'):.2f} s of {median_of(runs, 'elapsed_s'):.2f} s in commit calls; "
                    f"init_transactions {median_of(runs, 'init_s') * 1e3:.0f} ms (not measured).")
    outstanding = [r for r in results if r.get("mode") == "outstanding" and r["round"] > 0 and "rss_kept_kb" in r]
    if outstanding:
        lines.append("")
        for lib, _ in LIBS:
            runs = [r for r in outstanding if r["lib"] == lib]
            if runs:
                lines.append(
                    f"outstanding, {lib} (medians): RSS before the first send {median_of(runs, 'rss_base_kb') / 1024:.1f} "
                    f"MiB, after the flush with {runs[0]['count']:,} receipts kept "
                    f"{median_of(runs, 'rss_kept_kb') / 1024:.1f} MiB, after freeing them "
                    f"{median_of(runs, 'rss_freed_kb') / 1024:.1f} MiB: per receipt "
                    f"{median_of(runs, 'bytes_per_response_vs_start'):.1f} B kept, "
                    f"{median_of(runs, 'bytes_per_response'):.1f} B given back when freed.")
    return "\n".join(lines)


def source_version():
    """The commit the library was built from, and whether src/ differs from it."""
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + (" with uncommitted changes in src/" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine():
    model = "?"
    mem_kb = 0
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), {mem_kb / 1024 / 1024:.1f} GiB RAM, {platform.platform()}"


def main():
    selected = os.environ.get("BENCH_WORKLOADS")
    global WORKLOADS
    if selected:
        names = selected.split(",")
        unknown = set(names) - {w["name"] for w in WORKLOADS}
        if unknown:
            sys.exit(f"unknown workloads {sorted(unknown)}; known: {[w['name'] for w in WORKLOADS]}")
        WORKLOADS = [w for w in WORKLOADS if w["name"] in names]
    for _, exe in LIBS + ([("mock", MOCK_CLUSTER)] if any(wl["broker"] == "mock" for wl in WORKLOADS) else []):
        if not os.access(exe, os.X_OK):
            sys.exit(f"{exe} is missing: run make bench-binaries")
    if not TANSU_BIN:
        sys.exit("TANSU_BIN is not set: run through scripts/bench.sh")
    os.makedirs(OUT, exist_ok=True)
    broker = Broker(os.path.join(OUT, "broker"))
    null_broker = Broker(os.path.join(OUT, "null-broker"), storage="null://")
    secure_broker = SecureBroker(os.path.join(OUT, "secure-broker"))
    mock_broker = MockBroker(os.path.join(OUT, "mock-cluster"))

    def broker_for(wl):
        if wl["broker"] == "mock":
            return mock_broker
        return secure_broker if wl["secure"] else null_broker if wl["storage"] == "null" else broker

    started = time.time()
    results = []
    log(f"machine: {machine()}")
    log(f"mode: {'SHORT (smoke)' if SHORT else 'full'}, {ROUNDS} round(s), {PARTITIONS} partitions per topic")
    try:
        for b in (broker, null_broker, secure_broker, mock_broker):  # only those the selected workloads use
            if any(broker_for(wl) is b for wl in WORKLOADS):
                b.start()
        for wl in WORKLOADS:
            log(f"\n== {wl['name']}: {wl['title']} (count={wl['count']}, {wl['args']})")
            for rnd in range(0 if WARMUP else 1, ROUNDS + 1):
                # Round 0 is the warm-up: run and checked, but left out of the medians.
                for lib, exe in (LIBS if rnd % 2 == 1 else LIBS[::-1]):
                    r = run_once(broker_for(wl), wl, lib, exe, rnd)
                    results.append(r)
                    log(fmt_run(r))
                    if r["broker_rss_kb_after"] > BROKER_RSS_LIMIT_KB and not wl["secure"]:
                        log(f"  (broker RSS {r['broker_rss_kb_after'] // 1024} MiB: restarting it)")
                        broker_for(wl).restart()
    finally:
        broker.stop()
        null_broker.stop()
        secure_broker.stop()
        mock_broker.stop()

    with open(os.path.join(OUT, "runs.jsonl"), "w") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")
    versions = {r["lib"]: r.get("version") for r in results if r.get("version")}
    table = summarize(results)
    header = (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, ablkafka built from {source_version()}\n"
              f"machine: {machine()}\nlibraries: " + ", ".join(f"{k} {v}" for k, v in versions.items()) +
              f"\n{ROUNDS} round(s) per workload{' after a warm-up round' if WARMUP else ''}, "
              f"alternating A B, B A, ..., {PARTITIONS} partitions, "
              f"wall time {time.time() - started:.0f} s\n")
    with open(os.path.join(OUT, "summary.md"), "w") as f:
        f.write(header + "\n" + table + "\n")
    log("\n== medians and ratios (ablkafka/librdkafka)\n" + header + "\n" + table)

    # Every run must have delivered every message, in either mode.
    for r in results:
        tally.check(r["rc"] == 0 and r.get("delivered") == r.get("count") and r.get("failed") == 0,
                    f"{r['workload']} {r['lib']} {round_name(r)}: rc={r['rc']} "
                    f"delivered={r.get('delivered')} of {r.get('count')} failed={r.get('failed')} "
                    f"first_error={r.get('first_error')} {r.get('stderr', '')}", quiet=True)
    log("")
    return tally.summary()


if __name__ == "__main__":
    sys.exit(main())
