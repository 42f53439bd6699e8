#!/usr/bin/env python3
"""Broker throttling (KIP-219) end to end: ablkafka holds its requests back, librdkafka
(2.16, which only reports the throttle time) is measured beside it.

    throttle_check.py LIBABLKAFKA SCRATCH_DIR

Starts a tansu of its own (scripts/broker.sh, in SCRATCH_DIR/broker) that advertises the
port of scripts/fault_proxy.py, so every connection goes through the proxy. For each
client, on a fresh 3-partition topic and a fresh proxy in `--fault throttle` mode that
sets throttle_time_ms to THROTTLE_MS in the first THROTTLED Produce answers (then passes
the broker's own 0 through), the client sends RECORDS records, one every 10 ms, with
linger.ms=0, then flushes. Each client runs in a child process (this script with
`client NAME ...`), its stderr kept for its log lines.

Checks, for ablkafka:
  - every record is delivered, none fails;
  - the proxy throttled THROTTLED answers (else the case proved nothing);
  - no Produce request reached the proxy between CROSSING_S and THROTTLE_MS after a
    throttled answer left it (a small margin for the clock): the requests were held back;
  - its statistics: a broker's `throttle` window reached THROTTLE_MS, and no request
    timed out (`req_timeouts` 0) or was retried (`txretries` 0);
  - its log has a THROTTLE line when the throttling began and one when it ended;
and, for the record, librdkafka's deliveries and how many of its requests came inside a
throttle (not asserted: librdkafka 2.16 does not hold back). Ends with "N passed, N
failed". Needs the venv's confluent_kafka for librdkafka.
"""

import ctypes
import json
import os
import re
import subprocess
import sys
import time

import ablkafka_lib
from tally import check, summary

RECORDS = 400
THROTTLED = 6
THROTTLE_MS = 500
PARTITIONS = 3
# The proxy logs a throttled answer just before writing it and a request just after
# reading it, both with its own clock: a held request arrives no less than the throttle
# after the answer, less this.
MARGIN_S = 0.02
# A request the client wrote before it read the throttled answer crosses it on the wire
# and reaches the proxy just after the answer left (0.3 ms after, seen on a loaded
# machine, when the client released several partitions' requests at once). KIP-219 holds
# only what is sent after the answer is read, so such a request is not counted.
CROSSING_S = 0.05
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def statistics(lib, producer):
    """The latest snapshot as a dict, or None."""
    size = lib.producer_statistics(producer, None, 0)
    if size == 0:
        return None
    buf = ctypes.create_string_buffer(size + 1)
    lib.producer_statistics(producer, buf, size + 1)
    try:
        return json.loads(buf.value.decode())
    except ValueError:
        return None  # a newer, longer snapshot came in between


def run_ablkafka(lib_so, broker, topic):
    lib = ablkafka_lib.load(lib_so)
    builder = lib.producer_builder_new()
    options = {"bootstrap.servers": broker, "linger.ms": "0", "statistics.interval.ms": "100",
               "request.timeout.ms": "5000"}
    for name, value in options.items():
        assert lib.producer_builder_set_option(builder, name.encode(), value.encode()) == 0, name
    producer = lib.producer_builder_build(builder)
    assert producer, lib.producer_builder_last_error(builder).decode()
    lib.producer_builder_free(builder)
    throttle_max, timeouts, retries = 0, 0, 0

    def look():
        nonlocal throttle_max, timeouts, retries
        snapshot = statistics(lib, producer)
        for b in (snapshot or {}).get("brokers", {}).values():
            throttle_max = max(throttle_max, b.get("throttle", {}).get("max", 0))
            timeouts, retries = max(timeouts, b["req_timeouts"]), max(retries, b["txretries"])

    responses = []
    for i in range(RECORDS):
        value = b"throttled %d" % i
        responses.append(lib.producer_send(producer, topic.encode(), None, 0, value, len(value)))
        time.sleep(0.01)
        if i % 10 == 0:
            look()
    flushed = lib.producer_flush(producer, 60_000)
    delivered = failed = 0
    first_error = ""
    for r in responses:
        if lib.response_wait(r, 10_000) == 1 and lib.response_error_code(r) == 0:
            delivered += 1
        else:
            failed += 1
            first_error = first_error or (lib.response_error_message(r) or b"").decode()
        lib.response_free(r)
    time.sleep(0.3)  # one more snapshot after the flush
    look()
    lib.producer_close(producer, 10_000)
    lib.producer_free(producer)
    return {"flushed": flushed, "delivered": delivered, "failed": failed, "first_error": first_error,
            "throttle_max": throttle_max, "req_timeouts": timeouts, "txretries": retries}


def run_librdkafka(broker, topic):
    from confluent_kafka import Producer

    outcomes = {"delivered": 0, "failed": 0}

    def report(err, _msg):
        outcomes["failed" if err else "delivered"] += 1

    producer = Producer({"bootstrap.servers": broker, "linger.ms": 0})
    for i in range(RECORDS):
        producer.produce(topic, value=b"throttled %d" % i, on_delivery=report)
        producer.poll(0)
        time.sleep(0.01)
    producer.flush(60)
    return outcomes


def client_main(args):
    name, lib_so, broker, topic = args
    result = run_ablkafka(lib_so, broker, topic) if name == "ablkafka" else run_librdkafka(broker, topic)
    print("RESULT " + json.dumps(result), flush=True)


def broker_sh(*args, env=None):
    return subprocess.run(["scripts/broker.sh", *args], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


def proxy_times(log_text):
    """(times of Produce requests, times of throttled answers), from the proxy's log."""
    requests = [float(t) for t in re.findall(r"Produce request cid=\d+ v=\d+ at=([\d.]+)", log_text)]
    throttled = [float(t) for t in re.findall(r"throttled Produce response .* at=([\d.]+)", log_text)]
    return requests, throttled


def run_case(name, lib_so, scratch, upstream, proxy_port):
    topic = f"throttle-{name}"
    broker_sh("topic", f"{scratch}/broker", topic, str(PARTITIONS))
    ready, proxy_log = f"{scratch}/proxy-{name}.ready", f"{scratch}/proxy-{name}.log"
    if os.path.exists(ready):
        os.remove(ready)
    with open(proxy_log, "w") as log:
        proxy = subprocess.Popen([sys.executable, "scripts/fault_proxy.py", "--listen-port", str(proxy_port),
                                  "--upstream", upstream, "--fault", "throttle", "--count", str(THROTTLED),
                                  "--throttle-ms", str(THROTTLE_MS), "--ready-file", ready],
                                 cwd=ROOT, stderr=log)
    try:
        for _ in range(100):
            if os.path.exists(ready):
                break
            time.sleep(0.1)
        client_log = f"{scratch}/client-{name}.log"
        with open(client_log, "w") as log:
            child = subprocess.run([sys.executable, os.path.abspath(__file__), "client", name, lib_so,
                                    f"127.0.0.1:{proxy_port}", topic],
                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True, timeout=120)
    finally:
        proxy.terminate()
        proxy.wait(10)
    lines = [line for line in child.stdout.splitlines() if line.startswith("RESULT ")]
    result = json.loads(lines[-1][len("RESULT "):]) if lines else None
    with open(proxy_log) as f:
        requests, throttled = proxy_times(f.read())
    with open(client_log) as f:
        client_text = f.read()
    return result, requests, throttled, client_text


def requests_inside_throttles(requests, throttled):
    """Produce requests that reached the proxy while an answer's throttle still ran, but
    not so soon after the answer that they crossed it."""
    limit = THROTTLE_MS / 1000 - MARGIN_S
    return [r for r in requests if any(CROSSING_S <= r - t < limit for t in throttled)]


def main(argv):
    if len(argv) >= 1 and argv[0] == "client":
        client_main(argv[1:])
        return 0
    lib_so, scratch = argv
    os.makedirs(scratch, exist_ok=True)
    proxy_port = int(broker_sh("free-port"))
    env = dict(os.environ, BROKER_ADVERTISED_PORT=str(proxy_port))
    broker_sh("start", f"{scratch}/broker", env=env)
    try:
        upstream = broker_sh("address", f"{scratch}/broker")
        print(f"# tansu on {upstream}, advertising the proxy's port {proxy_port}")

        result, requests, throttled, log = run_case("ablkafka", lib_so, scratch, upstream, proxy_port)
        check(result is not None, f"ablkafka: the client finished (log: {scratch}/client-ablkafka.log)")
        result = result or {}
        check(result.get("delivered") == RECORDS and result.get("failed") == 0,
              f"ablkafka: {result.get('delivered')} of {RECORDS} delivered, {result.get('failed')} failed "
              f"{result.get('first_error', '')}")
        check(len(throttled) == THROTTLED, f"ablkafka: the proxy throttled {len(throttled)} answers "
              f"(of {THROTTLED}) by {THROTTLE_MS} ms")
        inside = requests_inside_throttles(requests, throttled)
        check(not inside and len(requests) > THROTTLED,
              f"ablkafka: {len(inside)} of {len(requests)} Produce requests came {CROSSING_S * 1000:.0f} to "
              f"{THROTTLE_MS} ms after a throttled answer (held back: 0)")
        check(result.get("throttle_max") == THROTTLE_MS,
              f"ablkafka: statistics' throttle window max {result.get('throttle_max')} ms")
        check(result.get("req_timeouts") == 0 and result.get("txretries") == 0,
              f"ablkafka: req_timeouts {result.get('req_timeouts')}, txretries {result.get('txretries')}")
        began = re.search(r"THROTTLE.*throttled by the broker for 500 ms: holding requests back", log)
        ended = re.search(r"THROTTLE.*no longer throttled by the broker", log)
        check(bool(began and ended), f"ablkafka: THROTTLE log lines when it began ({bool(began)}) and ended "
              f"({bool(ended)})")

        result, requests, throttled, _ = run_case("librdkafka", lib_so, scratch, upstream, proxy_port)
        result = result or {}
        check(result.get("delivered") == RECORDS, f"librdkafka: {result.get('delivered')} of {RECORDS} delivered "
              f"through the same proxy")
        inside = requests_inside_throttles(requests, throttled)
        print(f"# librdkafka (for the record, not a check): {len(inside)} of {len(requests)} Produce requests "
              f"came {CROSSING_S * 1000:.0f} to {THROTTLE_MS} ms after one of {len(throttled)} throttled answers")
    finally:
        broker_sh("stop", f"{scratch}/broker")
    return summary()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
