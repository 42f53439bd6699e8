#!/usr/bin/env python3
"""Proves the endpoints of scripts/secure-brokers.sh with librdkafka (confluent-kafka).

    secure-check.py --env DIR/secure.env [check]
    secure-check.py --env DIR/secure.env create-topic BROKER NAME PARTITIONS
    secure-check.py stored TANSU_DB TOPIC EXPECT_FILE CODEC

check: over each endpoint (ssl, mutual TLS with a plain and with an encrypted client
key, sasl_plaintext and sasl_ssl with SCRAM-SHA-256 and -512) creates a topic with the
admin client, produces one message and reads it back; then checks that what must fail
does: a wrong CA, the certificate for another name and the expired certificate give
_SSL (-181); on the mutual-TLS port, no client certificate and a client certificate
from another CA deliver nothing; TLS probes with Python's ssl confirm each failure's
reason (unknown issuer, IP address mismatch, expired, certificate required, unknown
CA); a wrong password or an unknown user gives _AUTHENTICATION (-169); PLAIN is refused (tansu 0.6.0 has no PLAIN mechanism: it closes the connection and logs
NoSharedMechanism). Prints "ok"/"FAIL" lines and "N passed, N failed"; exit status 1 on
any failure.

create-topic: CreateTopics from the admin client over BROKER's endpoint (t1|ssl,
t2|mtls, t3|sasl_plaintext, t4|sasl_ssl, t5|sasl_reauth: T5 through its re-authentication
proxy); tansu's own CLI speaks no SASL.

stored: checks a topic of a sqlite-backed tansu (T3, T4: no plain port for verify.py's
raw codec check) in its sqlite file against an expectation file (scripts/verify.py's
format): the multiset of (key, value) equals the expectation, each message with a known
partition and offset is there, and every record's batch attributes name CODEC. tansu
0.6.0's sqlite storage keeps records one per row (table record) and builds batches again
on Fetch, which it cannot do for snappy (tansu-sans-io's record/deflated.rs,
into_record_data: UnexpectedType("Snappy")), so a snappy topic there cannot be read by
any consumer; this is how the suite reads it back.
"""

import argparse
import os
import collections
import shlex
import socket
import sqlite3
import ssl
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.admin import AdminClient, NewTopic

import tally


def read_env(path):
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            words = shlex.split(line)
            if len(words) != 2 or words[0] != "export" or "=" not in words[1]:
                raise SystemExit(f"secure-check: {path}: unexpected line {line!r}")
            name, value = words[1].split("=", 1)
            env[name] = value
    return env


class Endpoints:
    def __init__(self, env):
        self.e = env

    def ssl(self, bootstrap=None, ca=None):
        return {"bootstrap.servers": bootstrap or self.e["SSL_BOOTSTRAP"], "security.protocol": "ssl",
                "ssl.ca.location": ca or self.e["CA_PEM"]}

    def mtls(self, cert=None, key=None, password=None):
        c = {"bootstrap.servers": self.e["MTLS_BOOTSTRAP"], "security.protocol": "ssl",
             "ssl.ca.location": self.e["CA_PEM"]}
        if cert:
            c["ssl.certificate.location"] = cert
            c["ssl.key.location"] = key
        if password is not None:
            c["ssl.key.password"] = password
        return c

    def sasl(self, tls, bits, password=None, mechanism=None, user=None, bootstrap=None):
        c = {"bootstrap.servers": bootstrap or self.e["SASL_SSL_BOOTSTRAP" if tls else "SASL_PLAINTEXT_BOOTSTRAP"],
             "security.protocol": "sasl_ssl" if tls else "sasl_plaintext",
             "sasl.mechanism": mechanism or f"SCRAM-SHA-{bits}",
             "sasl.username": user or self.e[f"SCRAM{bits}_USER"],
             "sasl.password": self.e[f"SCRAM{bits}_PASSWORD"] if password is None else password}
        if tls:
            c["ssl.ca.location"] = self.e["CA_PEM"]
        return c

    def broker(self, name):
        return {"t1": self.ssl, "ssl": self.ssl,
                "t2": lambda: self.mtls(self.e["CLIENT_CERT"], self.e["CLIENT_KEY"]),
                "mtls": lambda: self.mtls(self.e["CLIENT_CERT"], self.e["CLIENT_KEY"]),
                "t3": lambda: self.sasl(False, 512), "sasl_plaintext": lambda: self.sasl(False, 512),
                "t4": lambda: self.sasl(True, 512), "sasl_ssl": lambda: self.sasl(True, 512),
                "t5": self.sasl_reauth, "sasl_reauth": self.sasl_reauth}[name]()

    def sasl_reauth(self):
        return self.sasl(False, 512, bootstrap=self.e["SASL_REAUTH_BOOTSTRAP"])


def create_topic(conf, name, partitions, timeout_s=30):
    admin = AdminClient(dict(conf))
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)],
                                  operation_timeout=timeout_s, request_timeout=timeout_s)
    futures[name].result(timeout=timeout_s)


def roundtrip(conf, topic, timeout_s=30):
    """Creates TOPIC, produces one message, reads it back. Returns a description or raises."""
    create_topic(conf, topic, 1, timeout_s)
    value = f"secure-check {uuid.uuid4()}".encode()
    delivered = []
    p = Producer({**conf, "message.timeout.ms": timeout_s * 1000})
    p.produce(topic, key=b"k", value=value, on_delivery=lambda err, msg: delivered.append((err, msg)))
    left = p.flush(timeout_s)
    if left or not delivered:
        raise RuntimeError(f"produce: {left} message(s) not delivered in {timeout_s}s")
    err, msg = delivered[0]
    if err is not None:
        raise RuntimeError(f"produce: {err}")
    c = Consumer({**conf, "group.id": f"secure-check-{uuid.uuid4()}", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    try:
        c.assign([TopicPartition(topic, msg.partition(), OFFSET_BEGINNING)])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error() is not None:
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise RuntimeError(f"consume: {m.error()}")
            if m.value() == value:
                return f"delivered at {topic}/{msg.partition()}@{msg.offset()} and read back"
        raise RuntimeError(f"consume: message not read back in {timeout_s}s")
    finally:
        c.close()


def failure(conf, want=None, timeout_s=15, settle_s=3):
    """Connects with CONF and tries to deliver one message (to a topic that need not
    exist). Returns (delivered, {error code: text} seen by error_cb and the delivery).
    Stops once error WANT was seen, or settle_s after the first error, or at timeout_s."""
    codes = {}
    first = []

    def on_error(err):
        codes.setdefault(err.code(), str(err))
        first.append(time.monotonic())

    delivered = []
    p = Producer({**conf, "error_cb": on_error, "message.timeout.ms": timeout_s * 1000,
                  "socket.connection.setup.timeout.ms": 5000})
    p.produce("secure-check-none", value=b"x",
              on_delivery=lambda err, msg: delivered.append(err))
    deadline = time.monotonic() + timeout_s + 2
    while time.monotonic() < deadline and not delivered:
        p.poll(0.2)
        if want is not None and want in codes:
            break
        if first and time.monotonic() > first[0] + settle_s:
            break
    for err in delivered:
        if err is not None:
            codes.setdefault(err.code(), str(err))
    p.purge()
    p.flush(1)
    return any(err is None for err in delivered), codes


def tls_probe(address, cafile, cert=None, key=None):
    """A TLS handshake with Python's ssl (OpenSSL), checking the name 127.0.0.1, then one
    read (the server's verdict on a client certificate comes after a TLS 1.3 handshake).
    Returns the error, or None when the connection stays up for a second."""
    host, port = address.rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=cafile)
    if cert:
        ctx.load_cert_chain(cert, key)
    try:
        with socket.create_connection((host, int(port)), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=host) as tls:
                tls.settimeout(1)
                try:
                    data = tls.recv(1)
                except (socket.timeout, TimeoutError):
                    return None
                return ConnectionError("closed by the server" if not data else f"unexpected data {data!r}")
    except (ssl.SSLError, OSError) as e:
        return e


def names(codes):
    return ", ".join(f"{c} ({KafkaError(c).name()})" for c in sorted(codes)) or "none"


def check(env):
    ep = Endpoints(env)
    run = uuid.uuid4().hex[:8]

    def ok(msg):
        tally.check(True, msg)

    def bad(msg):
        tally.check(False, msg)

    good = [
        ("ssl", ep.ssl()),
        ("mutual TLS", ep.mtls(env["CLIENT_CERT"], env["CLIENT_KEY"])),
        ("mutual TLS, encrypted key", ep.mtls(env["CLIENT_CERT"], env["CLIENT_KEY_ENCRYPTED"],
                                              env["CLIENT_KEY_PASSWORD"])),
        ("sasl_plaintext SCRAM-SHA-256", ep.sasl(False, 256)),
        ("sasl_plaintext SCRAM-SHA-512", ep.sasl(False, 512)),
        ("sasl_ssl SCRAM-SHA-256", ep.sasl(True, 256)),
        ("sasl_ssl SCRAM-SHA-512", ep.sasl(True, 512)),
    ]
    for i, (name, conf) in enumerate(good):
        try:
            ok(f"{name} ({conf['bootstrap.servers']}): {roundtrip(conf, f'secure-check-{run}-{i}')}")
        except (KafkaException, RuntimeError) as e:
            bad(f"{name} ({conf['bootstrap.servers']}): {e}")

    def expect_code(name, conf, code):
        delivered, codes = failure(conf, want=code)
        if not delivered and code in codes:
            ok(f"{name}: {codes[code]}")
        else:
            bad(f"{name}: delivered={delivered}, errors {names(codes)}; want {code} ({KafkaError(code).name()})")

    def expect_refused(name, conf):
        delivered, codes = failure(conf)
        if not delivered and codes:
            ok(f"{name}: nothing delivered; errors {names(codes)}: {'; '.join(codes.values())}")
        else:
            bad(f"{name}: delivered={delivered}, errors {names(codes)}")

    expect_code("ssl, wrong CA", ep.ssl(ca=env["OTHER_CA_PEM"]), KafkaError._SSL)
    expect_code("ssl, certificate for another name", ep.ssl(env["BADNAME_BOOTSTRAP"]), KafkaError._SSL)
    expect_code("ssl, expired certificate", ep.ssl(env["EXPIRED_BOOTSTRAP"]), KafkaError._SSL)
    expect_refused("mutual TLS, no client certificate", ep.mtls())
    # librdkafka does not even send a certificate whose issuer is not among the CAs the
    # server names ("No matching issuer found ... not sending any client certificates"),
    # so this is refused like no certificate; the probes below send it anyway.
    expect_refused("mutual TLS, client certificate from another CA",
                   ep.mtls(env["OTHER_CLIENT_CERT"], env["OTHER_CLIENT_KEY"]))

    # The reasons, from OpenSSL's own verification (librdkafka says only "certificate
    # verify failed"): each endpoint fails for the reason it was made for.
    def expect_probe(name, err, want):
        if err is not None and want in str(err):
            ok(f"{name}: {err}")
        else:
            bad(f"{name}: {err!r}; want an error with {want!r}")

    def expect_probe_ok(name, err):
        if err is None:
            ok(f"{name}: handshake and connection fine")
        else:
            bad(f"{name}: {err!r}")

    ca = env["CA_PEM"]
    expect_probe_ok("TLS probe, ssl", tls_probe(env["SSL_BOOTSTRAP"], ca))
    expect_probe("TLS probe, wrong CA", tls_probe(env["SSL_BOOTSTRAP"], env["OTHER_CA_PEM"]),
                 "unable to get local issuer certificate")
    expect_probe("TLS probe, certificate for another name", tls_probe(env["BADNAME_BOOTSTRAP"], ca),
                 "IP address mismatch")
    expect_probe("TLS probe, expired certificate", tls_probe(env["EXPIRED_BOOTSTRAP"], ca),
                 "certificate has expired")
    expect_probe_ok("TLS probe, mutual TLS", tls_probe(env["MTLS_BOOTSTRAP"], ca, env["CLIENT_CERT"],
                                                       env["CLIENT_KEY"]))
    expect_probe("TLS probe, mutual TLS without a client certificate", tls_probe(env["MTLS_BOOTSTRAP"], ca),
                 "CERTIFICATE_REQUIRED")
    expect_probe("TLS probe, mutual TLS with a client certificate from another CA",
                 tls_probe(env["MTLS_BOOTSTRAP"], ca, env["OTHER_CLIENT_CERT"], env["OTHER_CLIENT_KEY"]),
                 "UNKNOWN_CA")
    expect_code("sasl_plaintext SCRAM-SHA-256, wrong password", ep.sasl(False, 256, password="wrong"),
                KafkaError._AUTHENTICATION)
    expect_code("sasl_ssl SCRAM-SHA-512, wrong password", ep.sasl(True, 512, password="wrong"),
                KafkaError._AUTHENTICATION)
    expect_code("sasl_plaintext SCRAM-SHA-512, unknown user", ep.sasl(False, 512, user="nobody"),
                KafkaError._AUTHENTICATION)

    # PLAIN: tansu 0.6.0 has no PLAIN mechanism; it drops the connection at the handshake.
    log = os.path.join(env["SECURE_DIR"], "t3", "tansu.log")
    before = open(log, encoding="utf-8", errors="replace").read().count("NoSharedMechanism")
    delivered, codes = failure(ep.sasl(False, 512, mechanism="PLAIN"), timeout_s=8)
    time.sleep(0.5)  # tansu logs the error as it drops the connection
    after = open(log, encoding="utf-8", errors="replace").read().count("NoSharedMechanism")
    if not delivered and after > before:
        ok(f"sasl_plaintext PLAIN: refused as expected (tansu logged NoSharedMechanism {after - before}x; "
           f"librdkafka: {names(codes)})")
    else:
        bad(f"sasl_plaintext PLAIN: delivered={delivered}, errors {names(codes)}, "
            f"NoSharedMechanism in {log}: {after - before} new")

    return tally.summary()


CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def stored(db, topic, expect_path, codec):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from verify import read_expectation  # the same format, the same parser

    expected = read_expectation(expect_path)
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        rows = con.execute(
            "select tp.partition, r.offset_id, r.k, r.v, r.attributes from record r "
            "join topition tp on r.topition = tp.id join topic t on tp.topic = t.id "
            "where t.name = ?", (topic,)).fetchall()
    finally:
        con.close()
    got = collections.Counter((None if k is None else bytes(k), None if v is None else bytes(v))
                              for _, _, k, v, _ in rows)
    want = collections.Counter((k, v) for _, _, k, v in expected)
    at = {(p, o): (None if k is None else bytes(k), None if v is None else bytes(v)) for p, o, k, v, _ in rows}
    misplaced = [(p, o) for p, o, k, v in expected if p is not None and o is not None and at.get((p, o)) != (k, v)]
    codecs = collections.Counter((a or 0) & 7 for *_, a in rows)
    problems = []
    if want - got:
        problems.append(f"{sum((want - got).values())} expected message(s) missing")
    if got - want:
        problems.append(f"{sum((got - want).values())} unexpected message(s)")
    if misplaced:
        problems.append(f"{len(misplaced)} message(s) not at their receipt's partition/offset, e.g. {misplaced[:3]}")
    if set(codecs) != {CODECS[codec]}:
        problems.append(f"records' codecs {dict(codecs)}, want {CODECS[codec]} ({codec})")
    if problems:
        print(f"stored: MISMATCH topic {topic!r} in {db}: " + "; ".join(problems))
        return 1
    print(f"stored: OK topic {topic!r} in {db}: {len(rows)} records match byte for byte, "
          f"every one from a {codec} batch")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--env", help="secure.env written by secure-brokers.sh start (check, create-topic)")
    sub = ap.add_subparsers(dest="cmd")
    sub.add_parser("check")
    ct = sub.add_parser("create-topic")
    ct.add_argument("broker", choices=["t1", "ssl", "t2", "mtls", "t3", "sasl_plaintext", "t4", "sasl_ssl",
                                       "t5", "sasl_reauth"])
    ct.add_argument("name")
    ct.add_argument("partitions", type=int, nargs="?", default=1)
    st = sub.add_parser("stored")
    st.add_argument("db", help="tansu's sqlite file")
    st.add_argument("topic")
    st.add_argument("expect", help="expectation file (verify.py's format)")
    st.add_argument("codec", choices=sorted(CODECS))
    args = ap.parse_args()
    if args.cmd == "stored":
        return stored(args.db, args.topic, args.expect, args.codec)
    if not args.env:
        ap.error("--env is required")
    env = read_env(args.env)
    if args.cmd == "create-topic":
        try:
            create_topic(Endpoints(env).broker(args.broker), args.name, args.partitions)
        except KafkaException as e:
            print(f"secure-check: create topic {args.name}: {e}", file=sys.stderr)
            return 1
        print(f"secure-check: topic {args.name} ({args.partitions} partitions) on {args.broker}",
              file=sys.stderr)
        return 0
    return check(env)


if __name__ == "__main__":
    sys.exit(main())
