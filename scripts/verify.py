#!/usr/bin/env python3
"""The independent consumer: reads a topic back with librdkafka (confluent-kafka) and
checks it against what a C test says it produced.

    verify.py --brokers HOST:PORT --topic T --expect FILE [--timeout S]
    verify.py --brokers HOST:PORT --topic T --dump N

Expectation file (written by c-tests/roundtrip.c), UTF-8 text, one message a line:

    PARTITION OFFSET KEY VALUE

PARTITION and OFFSET are decimal, or '-' when not known. KEY and VALUE are '-' for
null, otherwise 'x' followed by the bytes in lowercase hex ('x' alone is an empty,
non-null byte string). Blank lines and lines starting with '#' are ignored.

With --expect it reads every partition from the beginning to its end (bounded by
--timeout) and checks, byte for byte, that the multiset of (key, value)
equals the expectation, that nothing else is in the topic, and that each message with
a known partition and offset is at exactly that partition and offset.
Exit status: 0 when everything matches, 1 on a mismatch, 2 on a usage or broker error.
"""

import argparse
import collections
import os
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition, OFFSET_BEGINNING


def fail(msg, status=2):
    print(f"verify: {msg}", file=sys.stderr)
    sys.exit(status)


def parse_bytes(field, where):
    if field == "-":
        return None
    if not field.startswith("x"):
        fail(f"{where}: bad byte field {field[:20]!r} (want '-' or 'x' + hex)")
    try:
        return bytes.fromhex(field[1:])
    except ValueError:
        fail(f"{where}: bad hex in {field[:20]!r}")


def parse_int(field, where):
    if field == "-":
        return None
    try:
        return int(field)
    except ValueError:
        fail(f"{where}: bad number {field!r}")


def read_expectation(path):
    """Returns a list of (partition|None, offset|None, key|None, value|None)."""
    out = []
    with open(path, "r", encoding="ascii") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            fields = line.split()
            where = f"{path}:{n}"
            if len(fields) != 4:
                fail(f"{where}: expected 4 fields, got {len(fields)}")
            out.append((parse_int(fields[0], where), parse_int(fields[1], where),
                        parse_bytes(fields[2], where), parse_bytes(fields[3], where)))
    return out


def show(b, limit=24):
    if b is None:
        return "null"
    h = b.hex()
    if len(h) > 2 * limit:
        h = h[: 2 * limit] + f"...({len(b)} bytes)"
    return "x" + h


def printable(b, limit=60):
    if b is None:
        return "null"
    try:
        s = b.decode("utf-8")
        if s.isprintable():
            return repr(s if len(s) <= limit else s[:limit] + "...")
    except UnicodeDecodeError:
        pass
    return show(b, limit // 2)


def make_consumer(brokers):
    return Consumer({
        "bootstrap.servers": brokers,
        "group.id": f"ablkafka-verify-{uuid.uuid4()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        "client.id": "ablkafka-verify",
    })


def partitions_of(consumer, topic, deadline):
    while True:
        try:
            md = consumer.list_topics(topic=topic, timeout=5)
            t = md.topics.get(topic)
            if t is not None and t.error is None and t.partitions:
                return sorted(t.partitions)
            err = t.error if t is not None else "missing from metadata"
        except KafkaException as e:
            err = e
        if time.monotonic() > deadline:
            fail(f"no metadata for topic {topic!r}: {err}")
        time.sleep(0.5)


def read_topic(brokers, topic, timeout_s):
    """Reads every partition from the beginning to its end. Returns (records,
    partitions, ends) where records is a list of (partition, offset, key, value,
    timestamp_ms) and ends maps each partition to the offset where it ended.

    The end of a partition is where librdkafka reports _PARTITION_EOF, that is the high
    watermark of a Fetch response. (tansu 0.6.0 answers ListOffsets for the latest
    offset with 1 whatever the partition holds, so watermarks from ListOffsets are not
    used.) The topic must not be written to while it is read."""
    deadline = time.monotonic() + timeout_s
    c = make_consumer(brokers)
    try:
        parts = partitions_of(c, topic, deadline)
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        ends = {}
        records = []
        while len(ends) < len(parts):
            if time.monotonic() > deadline:
                got = collections.Counter(r[0] for r in records)
                state = ", ".join(f"p{p}: {got[p]} read" + (f", ended at {ends[p]}" if p in ends else "")
                                  for p in parts)
                fail(f"timed out after {timeout_s}s reading {topic!r} ({state})", 1)
            for m in c.consume(num_messages=1000, timeout=0.5):
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        ends[m.partition()] = m.offset()
                        continue
                    if err.fatal() or not err.retriable():
                        fail(f"consumer error: {err}")
                    print(f"verify: transient consumer error: {err}", file=sys.stderr)
                    continue
                records.append((m.partition(), m.offset(), m.key(), m.value(), m.timestamp()[1]))
        return records, parts, ends
    finally:
        c.close()


def verify(args):
    expected = read_expectation(args.expect)
    records, parts, ends = read_topic(args.brokers, args.topic, args.timeout)
    total_end = sum(ends.values())

    want = collections.Counter((k, v) for _, _, k, v in expected)
    got = collections.Counter((k, v) for _, _, k, v, _ in records)
    missing = want - got
    extra = got - want

    at = {(p, o): (k, v) for p, o, k, v, _ in records}
    misplaced = []
    positioned = 0
    for p, o, k, v in expected:
        if p is None or o is None:
            continue
        positioned += 1
        found = at.get((p, o))
        if found != (k, v):
            misplaced.append((p, o, k, v, found))

    problems = []
    if missing:
        problems.append(f"{sum(missing.values())} expected message(s) missing")
    if extra:
        problems.append(f"{sum(extra.values())} unexpected message(s) in the topic")
    if misplaced:
        problems.append(f"{len(misplaced)} message(s) not at their receipt's partition/offset")

    per_part = ", ".join(f"p{p}={sum(1 for r in records if r[0] == p)}" for p in parts)
    if problems:
        print(f"verify: MISMATCH on topic {args.topic!r}: " + "; ".join(problems), file=sys.stderr)
        print(f"verify: expected {len(expected)}, read {len(records)} "
              f"(partition ends sum {total_end}; {per_part})", file=sys.stderr)
        for (k, v), n in list(missing.items())[:10]:
            print(f"  missing x{n}: key={show(k)} value={show(v)}", file=sys.stderr)
        for (k, v), n in list(extra.items())[:10]:
            print(f"  extra   x{n}: key={show(k)} value={show(v)}", file=sys.stderr)
        for p, o, k, v, found in misplaced[:10]:
            f = "nothing" if found is None else f"key={show(found[0])} value={show(found[1])}"
            print(f"  at p{p}@{o}: want key={show(k)} value={show(v)}, found {f}", file=sys.stderr)
        return 1

    print(f"verify: OK topic {args.topic!r}: {len(records)} messages match byte for byte "
          f"({positioned} at their receipt's partition/offset; {per_part})")
    return 0


def dump(args):
    records, parts, _ = read_topic(args.brokers, args.topic, args.timeout)
    records.sort(key=lambda r: (r[0], r[1]))
    print(f"topic {args.topic!r}: {len(parts)} partition(s), "
          f"{len(records)} message(s); first {min(args.dump, len(records))}:")
    for p, o, k, v, ts in records[: args.dump]:
        print(f"  partition {p} offset {o} timestamp {ts} key={printable(k)} value={printable(v)}")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--brokers", required=True, help="bootstrap servers, HOST:PORT")
    ap.add_argument("--topic", required=True)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--expect", metavar="FILE", help="expectation file to check against")
    mode.add_argument("--dump", metavar="N", type=int, help="print the first N records")
    ap.add_argument("--timeout", type=float, default=float(os.environ.get("VERIFY_TIMEOUT_S", 120)),
                    help="seconds to read the topic (default 120)")
    args = ap.parse_args()
    try:
        return verify(args) if args.expect else dump(args)
    except KafkaException as e:
        fail(f"kafka error: {e}")


if __name__ == "__main__":
    sys.exit(main())
