#!/usr/bin/env python3
"""statistics.interval.ms end to end: ablkafka's snapshot against librdkafka's own.

    stats_check.py LIBABLKAFKA BROKER TOPIC

TOPIC must exist with 3 partitions on BROKER (HOST:PORT, a tansu). Builds a producer
through ctypes with statistics.interval.ms=100, sends 10,000 keyed records to TOPIC, flushes,
reading producer_statistics every 10 ms from the start until a snapshot built after the
flush has been read. Checks on that last snapshot: txmsgs is 10,000, the partitions'
txmsgs add up to 10,000, msg_cnt is 0; on every snapshot read: each broker's rtt window
has min <= avg <= max, and at least one has cnt > 0; the snapshot-length contract
(snprintf's) holds. Then librdkafka itself (confluent_kafka.Producer, with a stats_cb)
sends the same workload, and the two snapshots must have the same key paths with the
same JSON types (names of brokers, topics, partitions and toppars compared as "*"),
except the paths in LEFT_OUT, each with its reason (the README's Statistics section
says the same); a path left out that is not listed, or listed and not left out,
fails. The counters of the workload must agree with librdkafka's: txmsgs,
txmsg_bytes and the partitions' txmsgs and msgs exactly; requests by type (req) as
CHECK_REQUESTS says. Then both again as idempotent producers: the same path check
(eos included), eos's states and epoch_cnt 1, one InitProducerId, and each
partition's txmsgs, msgs, next_ack_seq, next_err_seq and acked_msgid equal. Ends
with "N passed, N failed". Needs the venv's confluent_kafka.
"""

import ctypes
import json
import sys
import threading
import time

import ablkafka_lib
from tally import check, summary

RECORDS = 10_000
INTERVAL_MS = 100

# librdkafka's key paths ours has not, and why (README, Statistics: the same list).
_LATENCY = ("min", "max", "avg", "sum", "cnt", "stddev", "p50", "p75", "p90", "p95", "p99", "p99_99",
            "outofrange", "hdrsize")
LEFT_OUT = {
    "brokers.*.wakeups": "librdkafka's broker thread's wake-ups; tasks on a runtime here, no such thread",
    **{f"brokers.*.int_latency{'.' + k if k else ''}": "each record's wait from send to its request, which librdkafka "
       "measures per record: records here keep no time of their own (the send path reads the clock once per "
       "batch) and nothing is counted per record" for k in ("",) + _LATENCY},
}

# What the request counts (req) of the workload must satisfy. Exact where the work
# decides the value; how many Produce requests carry the records depends on linger
# and timing, so only a range is asserted there.
CHECK_REQUESTS = """
  per broker, both: the req values add up to tx (every request counted once, by type);
  per broker, both: ApiVersion == connects (one ApiVersions per connection: tansu
    takes the first version asked);
  per broker, both: 0 for the types this workload never sends (no SASL, no
    idempotence, no transactions, no ListOffsets), and no Fetch key (a producer's);
  the broker metadata named, both: 1 <= Produce <= the records;
  ours: no Produce to the bootstrap entry (source "configured"; librdkafka drops
    its bootstrap entry once metadata names the brokers), Metadata >= 1 in all.
"""


def statistics(lib, producer):
    """The latest snapshot's text, or None; checks the snprintf contract on the way."""
    size = lib.producer_statistics(producer, None, 0)
    if size == 0:
        return None
    buf = ctypes.create_string_buffer(size + 1)
    got = lib.producer_statistics(producer, buf, size + 1)
    # A newer snapshot may have come in between: read until two calls agree.
    if got != size or len(buf.value) != size:
        return statistics(lib, producer)
    return buf.value.decode()


def build(lib, options):
    builder = lib.producer_builder_new()
    for name, value in options.items():
        if lib.producer_builder_set_option(builder, name.encode(), value.encode()) != 0:
            sys.exit(f"{name}: {lib.producer_builder_last_error(builder).decode()}")
    producer = lib.producer_builder_build(builder)
    if not producer:
        sys.exit(f"build: {lib.producer_builder_last_error(builder).decode()}")
    lib.producer_builder_free(builder)
    return producer


def records():
    """(key, value) pairs: keyed, so that every partition gets some."""
    return [(b"k%d" % i, b"v%d" % i) for i in range(RECORDS)]


def ours(lib, broker, topic, extra=None):
    """Sends the workload (with the `extra` options); returns every distinct snapshot
    read, oldest first, and the first one built after the flush returned."""
    producer = build(lib, {"bootstrap.servers": broker, "statistics.interval.ms": str(INTERVAL_MS), **(extra or {})})
    check(lib.producer_statistics(producer, None, 0) == 0, "no snapshot before the first interval")
    check(lib.producer_statistics(None, None, 0) == 0, "NULL producer: 0")
    seen, stop = {}, threading.Event()

    def poll():
        while not stop.is_set():
            text = statistics(lib, producer)
            if text is not None:
                seen.setdefault(json.loads(text)["ts"], text)
            time.sleep(0.01)

    poller = threading.Thread(target=poll)
    poller.start()
    for key, value in records():
        while lib.producer_send_no_receipt(producer, topic.encode(), key, len(key), value, len(value)) == -184:
            time.sleep(0.001)  # queue full: let it drain
    check(lib.producer_flush(producer, 30000) == 0, "flush within 30 s")
    # The first snapshot whose ts is later than the one current at the flush's return.
    at_flush = statistics(lib, producer)
    at_flush = json.loads(at_flush)["ts"] if at_flush else -1
    flushed = None
    deadline = time.time() + 10
    while flushed is None and time.time() < deadline:
        time.sleep(0.01)
        text = statistics(lib, producer)
        if text is not None and json.loads(text)["ts"] > at_flush:
            flushed = json.loads(text)
    stop.set()
    poller.join()
    check(lib.producer_no_receipt_failures(producer) == 0, "every record delivered")
    small = ctypes.create_string_buffer(8)
    full = lib.producer_statistics(producer, small, 8)
    check(full > 8 and len(small.value) == 7, "truncated to buf_len - 1 bytes, full length returned")
    lib.producer_close(producer, 5000)
    lib.producer_free(producer)
    snapshots = [json.loads(seen[ts]) for ts in sorted(seen)]
    return snapshots, flushed


def librdkafkas(broker, topic, extra=None):
    from confluent_kafka import Producer

    snapshots = []
    producer = Producer({"bootstrap.servers": broker, "statistics.interval.ms": INTERVAL_MS,
                         "stats_cb": snapshots.append, **(extra or {})})
    for key, value in records():
        while True:
            try:
                producer.produce(topic, key=key, value=value)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    producer.flush(30)
    deadline = time.time() + 5
    count = len(snapshots)
    while len(snapshots) < count + 2 and time.time() < deadline:
        producer.poll(0.05)
    return json.loads(snapshots[-1]) if snapshots else None


def paths(value, prefix=""):
    """{path: JSON type} for every key under value; names of brokers, topics,
    partitions and toppars become "*"."""
    out = {}
    for key, inner in value.items():
        wild = prefix.endswith(("brokers", "topics", "partitions", "toppars"))
        path = f"{prefix}.{'*' if wild else key}" if prefix else key
        out[path] = type(inner).__name__
        if isinstance(inner, dict):
            out.update(paths(inner, path))
    return out


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    lib_path, broker, topic = sys.argv[1:]
    lib = ablkafka_lib.load(lib_path)
    snapshots, last = ours(lib, broker, topic)
    if not check(last is not None, f"a snapshot after the flush ({len(snapshots)} read in all)"):
        sys.exit(summary())
    print("    last snapshot:", json.dumps(last)[:600], "...")
    check(last["type"] == "producer" and "#producer-" in last["name"], f"name {last['name']!r}, type producer")
    check(last["txmsgs"] == RECORDS, f"txmsgs {last['txmsgs']} == {RECORDS}")
    payload = sum(len(k) + len(v) for k, v in records())
    check(last["txmsg_bytes"] == payload, f"txmsg_bytes {last['txmsg_bytes']}: the keys' and values' bytes ({payload})")
    parts = last["topics"].get(topic, {}).get("partitions", {})
    per_partition = {p: v["txmsgs"] for p, v in parts.items()}
    check(sum(per_partition.values()) == RECORDS and all(per_partition.get(p, 0) > 0 for p in "012"),
          f"partitions' txmsgs {per_partition} add up to {RECORDS}")
    check(last["msg_cnt"] == 0 and last["msg_size"] == 0, f"msg_cnt {last['msg_cnt']}, msg_size {last['msg_size']} after the flush")
    check(last["msg_max"] == 100000 and last["msg_size_max"] == 1048576 * 1024, "msg_max, msg_size_max: the queue limits")
    learned = [b for b in last["brokers"].values() if b["nodeid"] >= 0]
    check(len(learned) == 1 and learned[0]["state"] == "UP" and learned[0]["tx"] > 0 and learned[0]["rx"] > 0,
          "the broker metadata named is UP and has sent and received")
    check(last["tx"] == sum(b["tx"] for b in last["brokers"].values()), "top-level tx is the brokers' sum")
    every = list({s["ts"]: s for s in snapshots + [last]}.values())  # each snapshot once
    rtts = [b["rtt"] for s in every for b in s["brokers"].values()]
    check(all(r["min"] <= r["avg"] <= r["max"] and r["p50"] <= r["p99"] <= r["max"] for r in rtts),
          f"every rtt window has min <= avg <= max ({len(rtts)} windows)")
    waits = [b["outbuf_latency"] for s in every for b in s["brokers"].values() if "outbuf_latency" in b]
    check(all(w["min"] <= w["avg"] <= w["max"] for w in waits) and sum(w["cnt"] for w in waits) > 0,
          f"every outbuf_latency window has min <= avg <= max, and some counted a request ({len(waits)} windows)")
    answered = sum(r["cnt"] for s in every for b in s["brokers"].values() if b["nodeid"] >= 0 for r in [b["rtt"]])
    check(answered > 0, f"the broker's rtt windows counted {answered} answers")
    batches = sum(s["topics"].get(topic, {}).get("batchcnt", {}).get("sum", 0) for s in every)
    check(batches <= RECORDS, f"batchcnt windows add up to {batches} <= {RECORDS} (some windows may be missed)")

    theirs = librdkafkas(broker, topic)
    if not check(theirs is not None, "librdkafka emitted statistics"):
        sys.exit(summary())
    check(theirs["txmsgs"] == RECORDS, f"librdkafka's txmsgs {theirs['txmsgs']} == {RECORDS} (the same workload)")
    same_paths(last, theirs, "")
    agree(last, theirs, topic)

    # Again as idempotent producers, both: eos and the sequence fields.
    _, last = ours(lib, broker, topic, IDEMPOTENT)
    theirs = librdkafkas(broker, topic, IDEMPOTENT)
    if not check(last is not None and theirs is not None, "idempotent: a snapshot after the flush from each"):
        sys.exit(summary())
    same_paths(last, theirs, "idempotent: ")
    agree_idempotent(last, theirs, topic)
    sys.exit(summary())


IDEMPOTENT = {"enable.idempotence": "true"}


def same_paths(last, theirs, label):
    """Key paths and JSON types against librdkafka's, LEFT_OUT aside."""
    mine, reference = paths(last), paths(theirs)
    missing = sorted(p for p in mine if p not in reference)
    check(not missing, f"{label}every key path of ours is librdkafka's ({len(mine)} paths): missing there {missing}")
    wrong = sorted(f"{p}: {t} vs {reference[p]}" for p, t in mine.items() if p in reference and reference[p] != t)
    check(not wrong, f"{label}with the same JSON types: {wrong}")
    left_out = {p for p in reference if p not in mine}
    unexplained = sorted(left_out - set(LEFT_OUT))
    check(not unexplained, f"{label}every path of librdkafka's is ours or in LEFT_OUT: unexplained {unexplained}")
    stale = sorted(set(LEFT_OUT) - left_out)
    check(not stale, f"{label}LEFT_OUT lists only paths left out: stale {stale}")
    if not label:
        for path in sorted(left_out & set(LEFT_OUT)):
            if not path.startswith("brokers.*.int_latency."):
                print(f"    left out: {path}: {LEFT_OUT[path]}")


def agree_idempotent(ours_, theirs, topic):
    """One producer id each, every record acknowledged: the sequence fields are the
    partitions' record counts, in both."""
    for name, snap in (("ours", ours_), ("librdkafka's", theirs)):
        eos = snap.get("eos", {})
        check(eos.get("idemp_state") == "Assigned" and eos.get("txn_state") == "Init" and eos.get("txn_may_enq") is False,
              f"{name}: eos idemp_state Assigned, txn_state Init, txn_may_enq false ({eos})")
        check(eos.get("producer_id", -1) >= 0 and eos.get("producer_epoch", -1) >= 0 and eos.get("epoch_cnt") == 1,
              f"{name}: one producer id taken (epoch_cnt 1)")
        init = sum(b.get("req", {}).get("InitProducerId", 0) for b in snap["brokers"].values())
        check(init == 1, f"{name}: InitProducerId {init} == 1")
        for p in "012":
            v = snap["topics"][topic]["partitions"][p]
            fields = {k: v.get(k) for k in ("txmsgs", "msgs", "next_ack_seq", "next_err_seq", "acked_msgid")}
            check(len(set(fields.values())) == 1 and v["txmsgs"] > 0, f"{name} partition {p}: {fields} all equal")
    check(ours_["txmsgs"] == theirs["txmsgs"] == RECORDS, f"idempotent: txmsgs {ours_['txmsgs']}, librdkafka's {theirs['txmsgs']}")


def agree(ours_, theirs, topic):
    """The workload's counters against librdkafka's (CHECK_REQUESTS). A field
    missing counts as a failed check, not an error."""
    for key in ("txmsgs", "txmsg_bytes", "rxmsgs", "rxmsg_bytes"):
        check(key in ours_ and ours_[key] == theirs[key], f"{key}: ours {ours_.get(key)}, librdkafka's {theirs[key]}")
    never = ("FindCoordinator", "InitProducerId", "AddPartitionsToTxn", "AddOffsetsToTxn", "EndTxn",
             "TxnOffsetCommit", "SaslHandshake", "SaslAuthenticate", "ListOffsets")
    for name, snap in (("ours", ours_), ("librdkafka's", theirs)):
        parts = snap["topics"][topic]["partitions"]
        real = [v for p, v in parts.items() if p != "-1"]
        txmsgs, msgs = sum(v["txmsgs"] for v in real), sum(v.get("msgs", 0) for v in real)
        check(txmsgs == RECORDS and msgs == RECORDS, f"{name}: the partitions' txmsgs {txmsgs} and msgs {msgs} each add up to {RECORDS}")
        check(all(v.get("msgs_inflight") == 0 and v["msgq_cnt"] == 0 for v in parts.values()),
              f"{name}: nothing in flight (msgs_inflight) or queued after the flush")
        seqs = {(v.get("next_ack_seq"), v.get("next_err_seq"), v.get("acked_msgid")) for v in parts.values()}
        check(seqs == {(0, 0, 0)}, f"{name}: next_ack_seq, next_err_seq, acked_msgid all 0 (not idempotent): {seqs}")
        for b in snap["brokers"].values():
            req = b.get("req", {})
            check(sum(req.values()) == b["tx"], f"{name} {b['name']}: req adds up to tx {b['tx']} ({req})")
            check(req.get("ApiVersion") == b["connects"], f"{name} {b['name']}: ApiVersion {req.get('ApiVersion')} == connects {b['connects']}")
            check(all(req.get(k) == 0 for k in never), f"{name} {b['name']}: 0 for {', '.join(never)}")
            check("Fetch" not in req, f"{name} {b['name']}: Fetch not listed (a producer's)")
            queued = [b.get(k) for k in ("outbuf_cnt", "outbuf_msg_cnt", "waitresp_cnt", "waitresp_msg_cnt")]
            check(queued == [0, 0, 0, 0], f"{name} {b['name']}: outbuf and waitresp counts and their records {queued} all 0 after the flush")
        led = [b for b in snap["brokers"].values() if b["nodeid"] >= 0]
        produce = sum(b.get("req", {}).get("Produce", 0) for b in led)
        check(1 <= produce <= RECORDS, f"{name}: Produce {produce} in 1..{RECORDS}")
        check(all(set(b.get("toppars", {})) == {f"{topic}-{p}" for p in "012"} for b in led),
              f"{name}: the broker leads {topic}-0..2 (toppars)")
    epochs = [[s["topics"][topic]["partitions"][p].get("leader_epoch") for p in "012"] for s in (ours_, theirs)]
    check(epochs[0] == epochs[1], f"leader_epoch of partitions 0..2: ours {epochs[0]}, librdkafka's {epochs[1]}")
    bootstrap = [b for b in ours_["brokers"].values() if b["nodeid"] < 0]
    check(all(b.get("req", {}).get("Produce") == 0 and b.get("source") == "configured" for b in bootstrap),
          "ours: no Produce to the bootstrap entry, whose source is configured")
    metadata = sum(b.get("req", {}).get("Metadata", 0) for b in ours_["brokers"].values())
    check(metadata >= 1, f"ours: Metadata {metadata} >= 1 (the partition count was learned)")

if __name__ == "__main__":
    main()
