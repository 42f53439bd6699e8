#!/usr/bin/env python3
"""The independent consumer: reads a topic back with librdkafka (confluent-kafka) and
checks it against what a C test says it produced.

    verify.py --brokers HOST:PORT --topic T --expect FILE [--at-least-once] [--codec C] [--timeout S]
              [--config NAME=VALUE]... [--raw-brokers HOST:PORT]
    verify.py --brokers HOST:PORT --topic T --dump N [--config NAME=VALUE]...

Expectation file (written by c-tests/roundtrip.c), UTF-8 text, one message a line:

    PARTITION OFFSET KEY VALUE

PARTITION and OFFSET are decimal, or '-' when not known. KEY and VALUE are '-' for
null, otherwise 'x' followed by the bytes in lowercase hex ('x' alone is an empty,
non-null byte string). Blank lines and lines starting with '#' are ignored.

With --expect it reads every partition from the beginning to its end (bounded by
--timeout) and checks, byte for byte, that the multiset of (key, value)
equals the expectation, that nothing else is in the topic, and that each message with
a known partition and offset is at exactly that partition and offset.
With --at-least-once (for a producer without idempotence, which may write a batch again
when an answer is lost) duplicates are allowed: every expected (key, value) must be in
the topic at least as many times as expected, and anything more must be a copy of an
expected message, never one the expectation does not name; each message with a known
partition and offset must still be at exactly that partition and offset. The consumer
checks every batch's CRC-32C (check.crcs). With --codec it also reads the stored
RecordBatch headers with a raw Fetch and checks each is magic 2 with that codec.
Each --config NAME=VALUE is one more librdkafka property for the consumer (e.g.
security.protocol=sasl_ssl, ssl.ca.location=FILE, sasl.username=U): it reads over TLS or
SASL. The raw Fetch speaks neither: it goes to --raw-brokers (a plain, unauthenticated
port of the same broker) when given, else to --brokers; with a security.protocol other
than plaintext and no --raw-brokers, the codec check is skipped (and says so).
Exit status: 0 when everything matches, 1 on a mismatch, 2 on a usage or broker error.
"""

import argparse
import collections
import os
import socket
import struct
import sys
import time
import uuid
import zlib

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


def parse_headers(field, where):
    """HEADERS: '-' (none) or NAME=VALUE pairs joined by ',', each hex with an 'x'
    prefix ('-' for a null value); returns a list of (name str, value bytes|None)."""
    if field == "-":
        return []
    out = []
    for pair in field.split(","):
        name, _, value = pair.partition("=")
        raw = parse_bytes(name, where)
        if raw is None:
            fail(f"{where}: a header name cannot be null")
        out.append((raw.decode("utf-8"), parse_bytes(value, where)))
    return out


# (partition, offset) -> (headers, timestamp ms | None), for lines that give them.
EXTRAS = {}


def read_expectation(path):
    """Returns a list of (partition|None, offset|None, key|None, value|None). Lines may
    add HEADERS and TIMESTAMP fields (see parse_headers); those are kept in EXTRAS and
    checked at the record's partition and offset."""
    out = []
    with open(path, "r", encoding="ascii") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            fields = line.split()
            where = f"{path}:{n}"
            if len(fields) not in (4, 5, 6):
                fail(f"{where}: expected 4 to 6 fields, got {len(fields)}")
            out.append((parse_int(fields[0], where), parse_int(fields[1], where),
                        parse_bytes(fields[2], where), parse_bytes(fields[3], where)))
            if len(fields) > 4 and out[-1][0] is not None and out[-1][1] is not None:
                timestamp = parse_int(fields[5], where) if len(fields) == 6 else None
                EXTRAS[(out[-1][0], out[-1][1])] = (parse_headers(fields[4], where), timestamp)
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


def make_consumer(brokers, config=None):
    return Consumer({
        "bootstrap.servers": brokers,
        "group.id": f"ablkafka-verify-{uuid.uuid4()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "enable.partition.eof": True,
        # Verify every batch's CRC-32C (librdkafka skips it by default; tansu only logs a bad one).
        "check.crcs": True,
        "client.id": "ablkafka-verify",
        **(config or {}),
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


def read_topic(brokers, topic, timeout_s, config=None):
    """Reads every partition from the beginning to its end. Returns (records,
    partitions, ends) where records is a list of (partition, offset, key, value,
    timestamp_ms) and ends maps each partition to the offset where it ended.

    The end of a partition is where librdkafka reports _PARTITION_EOF, that is the high
    watermark of a Fetch response. (tansu 0.6.0 answers ListOffsets for the latest
    offset with 1 whatever the partition holds, so watermarks from ListOffsets are not
    used.) The topic must not be written to while it is read."""
    deadline = time.monotonic() + timeout_s
    c = make_consumer(brokers, config)
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
                HEADERS_READ[(m.partition(), m.offset())] = list(m.headers() or [])
        return records, parts, ends
    finally:
        c.close()


CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}
# (partition, offset) -> the headers librdkafka read there.
HEADERS_READ = {}


class RawBroker:
    """Just enough of the Kafka protocol to read RecordBatch headers as stored: Fetch v4
    (non-flexible), to one broker (tansu is a single node: the bootstrap address leads
    every partition). librdkafka decompresses transparently, so this is how the test
    sees which codec each batch was written with."""

    def __init__(self, address, timeout_s):
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout_s)
        self.correlation = 0

    def close(self):
        self.sock.close()

    def _recv(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            buf += chunk
        return bytes(buf)

    def fetch(self, topic, partition, offset, max_bytes=8 << 20):
        """Returns (error_code, high_watermark, records_bytes)."""
        self.correlation += 1
        client = b"ablkafka-verify-raw"
        t = topic.encode()
        body = struct.pack(">hhih", 1, 4, self.correlation, len(client)) + client
        body += struct.pack(">iiiib", -1, 100, 1, max_bytes, 0)
        body += struct.pack(">ih", 1, len(t)) + t
        body += struct.pack(">iiqi", 1, partition, offset, max_bytes)
        self.sock.sendall(struct.pack(">i", len(body)) + body)
        (size,) = struct.unpack(">i", self._recv(4))
        resp = self._recv(size)
        pos = 0

        def take(fmt):
            nonlocal pos
            vals = struct.unpack_from(fmt, resp, pos)
            pos += struct.calcsize(fmt)
            return vals

        (corr,) = take(">i")
        if corr != self.correlation:
            raise ValueError(f"correlation id {corr}, want {self.correlation}")
        take(">i")  # throttle_time_ms
        (ntopics,) = take(">i")
        for _ in range(ntopics):
            (tlen,) = take(">h")
            name = resp[pos:pos + tlen].decode()
            pos += tlen
            (nparts,) = take(">i")
            for _ in range(nparts):
                p, err, high, _lso = take(">ihqq")
                (naborted,) = take(">i")
                if naborted > 0:
                    pos += naborted * 16
                (rlen,) = take(">i")
                records = b"" if rlen < 0 else resp[pos:pos + rlen]
                pos += max(rlen, 0)
                if name == topic and p == partition:
                    return err, high, records
        raise ValueError(f"no {topic}/{partition} in the fetch response")


def batch_codecs(brokers, topic, partitions, timeout_s):
    """Counts stored RecordBatches per (codec name, magic), reading every partition."""
    counts = collections.Counter()
    deadline = time.monotonic() + timeout_s
    raw = RawBroker(brokers.split(",")[0], timeout_s)
    try:
        for p in partitions:
            offset = 0
            while True:
                if time.monotonic() > deadline:
                    fail(f"timed out reading raw batches of {topic}/{p}", 1)
                err, high, records = raw.fetch(topic, p, offset)
                if err != 0:
                    fail(f"raw fetch of {topic}/{p} at {offset}: error {err}")
                if offset >= high:
                    break
                pos, progressed = 0, False
                while pos + 23 <= len(records):
                    base, length = struct.unpack_from(">qi", records, pos)
                    if pos + 12 + length > len(records):
                        break  # a partial batch at the end of the response
                    magic = records[pos + 16]
                    (attributes,) = struct.unpack_from(">h", records, pos + 21)
                    (last_delta,) = struct.unpack_from(">i", records, pos + 23)
                    counts[(CODECS.get(attributes & 7, f"codec {attributes & 7}"), magic)] += 1
                    pos += 12 + length
                    if base + last_delta + 1 > offset:
                        offset, progressed = base + last_delta + 1, True
                if not progressed:
                    fail(f"raw fetch of {topic}/{p} at {offset} made no progress (high watermark {high})")
    finally:
        raw.close()
    return counts


def murmur2(data):
    """Kafka's (and librdkafka's) murmur2 of a key, as a signed 32-bit value's bits."""
    m, r, length = 0x5BD1E995, 24, len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    tail = data[length - length % 4:]
    for i in reversed(range(len(tail))):
        h ^= tail[i] << (8 * i)
    if tail:
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


# librdkafka's keyed partitioners, independent of ablkafka's code (rdkafka_msg.c).
PARTITIONERS = {
    "consistent": lambda key, n: zlib.crc32(key) % n,
    "murmur2": lambda key, n: (murmur2(key) & 0x7FFFFFFF) % n,
}


def verify(args):
    expected = read_expectation(args.expect)
    records, parts, ends = read_topic(args.brokers, args.topic, args.timeout, args.config)
    total_end = sum(ends.values())

    want = collections.Counter((k, v) for _, _, k, v in expected)
    got = collections.Counter((k, v) for _, _, k, v, _ in records)
    missing = want - got
    extra = got - want
    duplicates = collections.Counter()
    if args.at_least_once:
        # Copies of expected messages are allowed; strangers are not.
        duplicates = collections.Counter({kv: n for kv, n in extra.items() if kv in want})
        extra = extra - duplicates

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

    # Headers and timestamps, where the expectation gives them: in order, byte for byte.
    timestamps = {(p, o): ts for p, o, _, _, ts in records}
    wrong_extras = []
    for (p, o), (headers, ts) in EXTRAS.items():
        got_headers = [(n, bytes(v) if v is not None else None) for n, v in HEADERS_READ.get((p, o), [])]
        if got_headers != headers or (ts is not None and timestamps.get((p, o)) != ts):
            wrong_extras.append((p, o, headers, ts, got_headers, timestamps.get((p, o))))

    problems = []
    if args.partitioner:
        # Every keyed record read back sits where the named partitioner puts its key.
        choose = PARTITIONERS[args.partitioner]
        astray = [(p, k) for p, _, k, _, _ in records if k is not None and choose(bytes(k), len(parts)) != p]
        if astray:
            problems.append(f"{len(astray)} record(s) not in the partition {args.partitioner} gives their key, "
                            f"e.g. key {printable(astray[0][1])} in {astray[0][0]} of {len(parts)}")
        else:
            print(f"verify: OK every keyed record is where {args.partitioner} puts it ({len(parts)} partitions)")
    if args.in_order:
        # Each partition, read by offset, holds its records in the expectation file's order.
        index = {(k, v): i for i, (_, _, k, v) in enumerate(expected)}
        for part in parts:
            seen = [index.get((k, v), -1) for p, o, k, v, _ in sorted(records) if p == part]
            backwards = sum(1 for a, b in zip(seen, seen[1:]) if b < a)
            if backwards:
                problems.append(f"partition {part}: {backwards} record(s) out of send order")
    if wrong_extras:
        problems.append(f"{len(wrong_extras)} message(s) with other headers or timestamp than sent")
        for p, o, h, ts, gh, gts in wrong_extras[:5]:
            print(f"  at p{p}@{o}: want headers {h} timestamp {ts}, read {gh} timestamp {gts}", file=sys.stderr)
    codec_note = ""
    codec_skipped = ""
    if args.codec and not args.raw_brokers and secured(args.config):
        codec_skipped = (f"verify: codec check skipped: security.protocol="
                         f"{args.config['security.protocol']} and no --raw-brokers (the raw Fetch "
                         f"speaks neither TLS nor SASL)")
    elif args.codec:
        batches = batch_codecs(args.raw_brokers or args.brokers, args.topic, parts, args.timeout)
        wrong = {k: n for k, n in batches.items() if k != (args.codec, 2)}
        codec_note = ", ".join(f"{n} {c} batch(es) magic {m}" for (c, m), n in sorted(batches.items()))
        if wrong or not batches and records:
            problems.append(f"stored batches are not all {args.codec} RecordBatch v2: {codec_note or 'none found'}")
    if missing:
        problems.append(f"{sum(missing.values())} expected message(s) missing")
    if extra:
        problems.append(f"{sum(extra.values())} unexpected message(s) in the topic")
    if misplaced:
        problems.append(f"{len(misplaced)} message(s) not at their receipt's partition/offset")

    per_part = ", ".join(f"p{p}={sum(1 for r in records if r[0] == p)}" for p in parts)
    dup_note = ""
    if args.at_least_once:
        dup_note = (f"; at least once: {sum(duplicates.values())} duplicate(s) of "
                    f"{len(duplicates)} expected message(s)")
    if problems:
        print(f"verify: MISMATCH on topic {args.topic!r}: " + "; ".join(problems), file=sys.stderr)
        print(f"verify: expected {len(expected)}, read {len(records)} "
              f"(partition ends sum {total_end}; {per_part}{dup_note})", file=sys.stderr)
        for (k, v), n in list(missing.items())[:10]:
            print(f"  missing x{n}: key={show(k)} value={show(v)}", file=sys.stderr)
        for (k, v), n in list(extra.items())[:10]:
            print(f"  extra   x{n}: key={show(k)} value={show(v)}", file=sys.stderr)
        if codec_note:
            print(f"verify: stored batches: {codec_note}", file=sys.stderr)
        for p, o, k, v, found in misplaced[:10]:
            f = "nothing" if found is None else f"key={show(found[0])} value={show(found[1])}"
            print(f"  at p{p}@{o}: want key={show(k)} value={show(v)}, found {f}", file=sys.stderr)
        return 1

    match = "include every expected one" if args.at_least_once else "match"
    extras_note = f"; {len(EXTRAS)} with their headers and timestamp" if EXTRAS else ""
    print(f"verify: OK topic {args.topic!r}: {len(records)} messages {match} byte for byte "
          f"({positioned} at their receipt's partition/offset; {per_part}{dup_note}{extras_note})")
    if codec_note:
        print(f"verify: OK every stored batch is {args.codec} (magic 2, CRC-32C checked): {codec_note}")
    if codec_skipped:
        print(codec_skipped)
    return 0


def dump(args):
    records, parts, _ = read_topic(args.brokers, args.topic, args.timeout, args.config)
    records.sort(key=lambda r: (r[0], r[1]))
    print(f"topic {args.topic!r}: {len(parts)} partition(s), "
          f"{len(records)} message(s); first {min(args.dump, len(records))}:")
    for p, o, k, v, ts in records[: args.dump]:
        print(f"  partition {p} offset {o} timestamp {ts} key={printable(k)} value={printable(v)}")
    return 0


def secured(config):
    """True when the consumer's config asks for TLS or SASL."""
    return config.get("security.protocol", "plaintext").lower() != "plaintext"


def config_entry(text):
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"want NAME=VALUE, got {text!r}")
    return name, value


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--brokers", required=True, help="bootstrap servers, HOST:PORT")
    ap.add_argument("--topic", required=True)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--expect", metavar="FILE", help="expectation file to check against")
    mode.add_argument("--dump", metavar="N", type=int, help="print the first N records")
    ap.add_argument("--in-order", action="store_true",
                    help="each partition must hold its records in the expectation file's order "
                         "(records need not have a position)")
    ap.add_argument("--at-least-once", action="store_true",
                    help="with --expect: allow extra copies of expected messages (not others)")
    ap.add_argument("--codec", choices=sorted(CODECS.values()),
                    help="with --expect: also check that every stored RecordBatch is v2 with this codec")
    ap.add_argument("--partitioner", choices=sorted(PARTITIONERS),
                    help="with --expect: every keyed record must be in the partition this "
                         "librdkafka partitioner gives its key")
    ap.add_argument("--timeout", type=float, default=float(os.environ.get("VERIFY_TIMEOUT_S", 120)),
                    help="seconds to read the topic (default 120)")
    ap.add_argument("--config", metavar="NAME=VALUE", type=config_entry, action="append", default=[],
                    help="one more librdkafka property for the consumer (repeatable)")
    ap.add_argument("--raw-brokers", metavar="HOST:PORT",
                    help="with --codec: a plain, unauthenticated address of the broker for the raw "
                         "Fetch (default --brokers; skipped when security is configured without it)")
    args = ap.parse_args()
    args.config = dict(args.config)
    if args.at_least_once and not args.expect:
        ap.error("--at-least-once goes with --expect")
    try:
        return verify(args) if args.expect else dump(args)
    except KafkaException as e:
        fail(f"kafka error: {e}")


if __name__ == "__main__":
    sys.exit(main())
