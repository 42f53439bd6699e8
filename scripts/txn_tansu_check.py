#!/usr/bin/env python3
"""A transaction against tansu, which has no EndTxn (issue 23).

    txn_tansu_check.py LIBABLKAFKA BROKER TOPIC

TOPIC must exist (3 partitions). tansu 0.6.0 answers FindCoordinator, InitProducerId with a
transactional id and AddPartitionsToTxn, but its ApiVersions lists no EndTxn (key 26). So a
transactional producer initializes, begins, and sends records that tansu stores, and its
commit is refused as librdkafka refuses it against tansu: -165 (_UNSUPPORTED_FEATURE,
retriable) with a reason naming EndTxn, within the commit's timeout, never a hang.
Checks:

- init_transactions and begin_transaction return 0;
- every record sent in the transaction is delivered (commit flushes first);
- commit_transaction returns -165 with class 1 (retriable) within its 5 s timeout, and
  producer_transaction_error_message names EndTxn; abort_transaction then conflicts
  (-173: the retriable commit must be called again first, as librdkafka), and the commit
  called again returns the same -165;
- read back with a raw Fetch (read_uncommitted), every batch tansu stored has the
  attributes' transactional bit, one producer id and epoch (not -1), and each partition's
  first batch starts at sequence 0; together they hold exactly the records sent.

Prints one line per check and ends with "N passed, N failed". Python 3 standard library.
"""

import ctypes
import os
import socket
import struct
import sys
import time

import ablkafka_lib

RECORDS = 30
PARTITIONS = 3
TRANSACTIONAL = 0x10
CONTROL = 0x20

passed = failed = 0


def check(ok, what):
    global passed, failed
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if ok:
        passed += 1
    else:
        failed += 1
    return ok


def reason(lib, producer):
    buf = ctypes.create_string_buffer(1024)
    lib.producer_transaction_error_message(producer, buf, len(buf))
    return buf.value.decode()


def fetch_batches(broker, topic, partition):
    """Every RecordBatch header of TOPIC [PARTITION] from offset 0 (Fetch v4)."""
    host, port = broker.rsplit(":", 1)
    name = topic.encode()
    body = struct.pack(">iiiib", -1, 1000, 1, 16 << 20, 0)  # replica, wait, min, max, read_uncommitted
    body += struct.pack(">i", 1) + struct.pack(">h", len(name)) + name
    body += struct.pack(">i", 1) + struct.pack(">iqi", partition, 0, 16 << 20)
    client = b"txn-check"
    header = struct.pack(">hhih", 1, 4, 7, len(client)) + client  # Fetch v4, correlation 7
    frame = header + body
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(struct.pack(">i", len(frame)) + frame)
        size = struct.unpack(">i", read_exact(s, 4))[0]
        data = read_exact(s, size)
    at = 4 + 4 + 4  # correlation id, throttle, topics count
    (name_len,) = struct.unpack_from(">h", data, at)
    at += 2 + name_len + 4  # name, partitions count
    part, error, _hw, _lso = struct.unpack_from(">ihqq", data, at)
    at += 4 + 2 + 8 + 8
    (aborted,) = struct.unpack_from(">i", data, at)
    at += 4 + max(aborted, 0) * 16
    (records_len,) = struct.unpack_from(">i", data, at)
    at += 4
    records = data[at : at + max(records_len, 0)]
    if error != 0:
        raise RuntimeError(f"Fetch {topic} [{part}]: error {error}")
    batches, pos = [], 0
    while pos + 61 <= len(records):
        base_offset, length = struct.unpack_from(">qi", records, pos)
        attributes, _last_delta, _t0, _t1, producer_id, epoch, base_sequence, count = struct.unpack_from(
            ">hiqqqhii", records, pos + 21
        )
        batches.append(
            {"offset": base_offset, "attributes": attributes, "producer_id": producer_id, "epoch": epoch,
             "base_sequence": base_sequence, "count": count}
        )
        pos += 12 + length
    return batches


def read_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise RuntimeError("the broker closed the connection")
        out += chunk
    return out


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    lib_path, broker, topic = sys.argv[1:]
    lib = ablkafka_lib.load(lib_path)
    builder = lib.producer_builder_new()
    for name, value in [
        ("bootstrap.servers", broker),
        ("transactional.id", f"ablkafka-txn-check-{os.getpid()}"),
        ("linger.ms", "5"),
    ]:
        check(lib.producer_builder_set_option(builder, name.encode(), value.encode()) == 0, f"set {name}")
    producer = lib.producer_builder_build(builder)
    lib.producer_builder_free(builder)
    if not check(bool(producer), "the transactional producer is built"):
        return 1

    rc = lib.producer_init_transactions(producer, 30000)
    check(rc == 0, f"init_transactions returns 0 (got {rc}: {reason(lib, producer)})")
    rc = lib.producer_begin_transaction(producer)
    check(rc == 0, f"begin_transaction returns 0 (got {rc})")
    responses = []
    for i in range(RECORDS):
        key, value = f"k{i % PARTITIONS}".encode(), f"txn record {i}".encode()
        responses.append(lib.producer_send(producer, topic.encode(), key, len(key), value, len(value)))

    started = time.monotonic()
    rc = lib.producer_commit_transaction(producer, 5000)
    elapsed = time.monotonic() - started
    why = reason(lib, producer)
    check(rc == -165, f"commit_transaction returns -165 _UNSUPPORTED_FEATURE (got {rc}: {why})")
    check(lib.producer_transaction_error_class(producer) == 1, "its class is 1, retriable (as librdkafka)")
    check("EndTxn" in why, f"its reason names EndTxn: {why!r}")
    check(elapsed < 5.5, f"within the commit's 5 s timeout ({elapsed:.2f} s)")
    codes = [lib.response_error_code(r) if lib.response_wait(r, 10000) == 1 else None for r in responses]
    check(codes == [0] * RECORDS, f"all {RECORDS} records were delivered before the commit was refused ({codes[:5]}...)")
    for r in responses:
        lib.response_free(r)
    # As librdkafka: a call that failed retriably must be called again before another.
    rc = lib.producer_abort_transaction(producer, 5000)
    check(rc == -173, f"abort_transaction conflicts with the commit to be called again: -173 (got {rc}: {reason(lib, producer)})")
    rc = lib.producer_commit_transaction(producer, 5000)
    check(rc == -165 and "EndTxn" in reason(lib, producer), f"commit_transaction again: the same -165 (got {rc})")
    lib.producer_close(producer, 5000)
    lib.producer_free(producer)

    batches = []
    for partition in range(PARTITIONS):
        found = fetch_batches(broker, topic, partition)
        data = [b for b in found if not b["attributes"] & CONTROL]
        if data:
            check(data[0]["base_sequence"] == 0, f"partition {partition}: its first batch starts at sequence 0")
        batches += data
    check(sum(b["count"] for b in batches) == RECORDS, f"tansu holds the {RECORDS} records ({sum(b['count'] for b in batches)})")
    check(all(b["attributes"] & TRANSACTIONAL for b in batches), f"every one of {len(batches)} batches has the transactional bit")
    ids = {(b["producer_id"], b["epoch"]) for b in batches}
    check(len(ids) == 1 and min(ids)[0] >= 0 and min(ids)[1] >= 0, f"one producer id and epoch, assigned: {sorted(ids)}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
