#!/usr/bin/env python3
"""ABL-style FFI test: calls libablkafka the way an OpenEdge ABL program does.

    abl_ctypes.py LIBRARY BROKERS TOPIC [COUNT [NAME=VALUE...]]
    abl_ctypes.py --response-misuse LIBRARY BROKERS TOPIC [NAME=VALUE...]
    abl_ctypes.py --transactions LIBRARY RDKAFKA_LIBRARY

Each NAME=VALUE is one more producer option, set with the same CHARACTER arguments
(security.protocol=sasl_ssl, sasl.username=..., as produce.p shows).

It is the executable stand-in for examples-abl/produce.p (no OpenEdge runtime here),
and follows it step by step. The rules an ABL program lives by:

- the library is loaded by name with dlopen (ctypes.CDLL, like EXTERNAL "libablkafka.so");
- only ABL's DLL parameter types cross: LONG (c_int32), INT64 (c_int64), CHARACTER
  (a NUL-terminated char *, c_char_p) and MEMPTR (an address of raw memory, c_void_p);
- every handle (builder, producer, Response) is an INT64; every returned string is an
  INT64 address, read the way ABL reads it: SET-POINTER-VALUE on a MEMPTR, then
  GET-STRING(mptr, 1) (here ctypes.string_at on the address);
- size_t lengths are passed as INT64 (the same register on x86-64 and arm64);
- no callbacks: receipts are polled with response_completed, with pauses between rounds.

Checks: every message is delivered (and scripts/verify.py reads them back with
librdkafka when the expectation file is written); refusals come back as completed
Responses whose message is read through the returned address; mistakes an ABL program
can make with integer handles and INT64 lengths (0 for a handle, one handle type for
another, -1 as a length) give -186 instead of a crash; the process runs no extra
thread once the producer is closed.

Response handle misuse (issue 21), last: a freed Response handle, one freed twice, a
producer handle, small integers and random 64-bit integers given to every Response
function get exactly the answers documented for NULL (completed 0, wait -186, success 0,
error_code -186, error_message and topic 0 as addresses, offset, partition and
timestamp -1; response_free does nothing), and a valid Response and the producer are
unharmed. It runs in a child process (this script with --response-misuse), so that a
library that still crashes on such a handle costs one counted failure instead of the
whole test; ABL_RESPONSE_MISUSE=0 in the environment skips it.

Transactions (issue 23), with --transactions: examples-abl/transactional.p's calls against
librdkafka's mock cluster (c-tests/abl_transactions.py says what is checked).
"""

import ctypes
import faulthandler
import json
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import tally  # noqa: E402 (scripts/ is on the path only now)

LONG, INT64, CHARACTER, MEMPTR = ctypes.c_int32, ctypes.c_int64, ctypes.c_char_p, ctypes.c_void_p
SECRETS = {"sasl.password", "ssl.key.password", "ssl.key.pem"}

# name: (return type, argument types), as the ABL PROCEDURE ... EXTERNAL declarations say.
ABL_SIGNATURES = {
    "producer_builder_new": (INT64, []),
    "producer_builder_set_option": (LONG, [INT64, CHARACTER, CHARACTER]),
    "producer_builder_last_error": (INT64, [INT64]),
    "producer_builder_get_option": (INT64, [INT64, CHARACTER, MEMPTR, INT64]),
    "producer_get_option": (INT64, [INT64, CHARACTER, MEMPTR, INT64]),
    "producer_builder_set_topic_option": (LONG, [INT64, CHARACTER, CHARACTER, CHARACTER]),
    "producer_get_topic_option": (INT64, [INT64, CHARACTER, CHARACTER, MEMPTR, INT64]),
    "producer_log_next": (LONG, [INT64, MEMPTR, INT64]),
    "producer_statistics": (INT64, [INT64, MEMPTR, INT64]),
    "producer_builder_build": (INT64, [INT64]),
    "producer_builder_free": (None, [INT64]),
    "producer_send": (INT64, [INT64, CHARACTER, MEMPTR, INT64, MEMPTR, INT64]),
    "producer_send_record": (INT64, [INT64, INT64]),
    "producer_send_no_receipt": (LONG, [INT64, CHARACTER, MEMPTR, INT64, MEMPTR, INT64]),
    "producer_no_receipt_failures": (INT64, [INT64]),
    "producer_no_receipt_last_error": (LONG, [INT64]),
    "record_builder_new": (INT64, []),
    "record_builder_set_topic": (LONG, [INT64, CHARACTER]),
    "record_builder_set_key": (LONG, [INT64, MEMPTR, INT64]),
    "record_builder_set_value": (LONG, [INT64, MEMPTR, INT64]),
    "record_builder_set_partition": (LONG, [INT64, LONG]),
    "record_builder_set_timestamp": (LONG, [INT64, INT64]),
    "record_builder_add_header": (LONG, [INT64, CHARACTER, MEMPTR, INT64]),
    "record_builder_free": (None, [INT64]),
    "producer_flush": (LONG, [INT64, LONG]),
    "producer_close": (LONG, [INT64, LONG]),
    "producer_free": (None, [INT64]),
    "response_completed": (LONG, [INT64]),
    "response_wait": (LONG, [INT64, LONG]),
    "response_success": (LONG, [INT64]),
    "response_error_code": (LONG, [INT64]),
    "response_error_message": (INT64, [INT64]),
    "response_offset": (INT64, [INT64]),
    "response_partition": (LONG, [INT64]),
    "response_timestamp": (INT64, [INT64]),
    "response_topic": (INT64, [INT64]),
    "response_free": (None, [INT64]),
    "ablkafka_err2str": (INT64, [LONG]),
    "ablkafka_err2name": (INT64, [LONG]),
    "ablkafka_version": (INT64, []),
}

def check(ok, what):
    return tally.check(ok, f"abl_ctypes: {what}", quiet=True)


def load(path):
    lib = ctypes.CDLL(path)  # dlopen
    for name, (restype, argtypes) in ABL_SIGNATURES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


def get_string(address):
    """SET-POINTER-VALUE(mptr) = address. GET-STRING(mptr, 1). ? for a NULL address."""
    if address == 0:
        return None
    return ctypes.string_at(address).decode("utf-8")


def memptr(data):
    """SET-SIZE(mptr) = LENGTH; PUT-BYTES(mptr, 1) = data: memory the caller owns."""
    buf = ctypes.create_string_buffer(data, len(data))
    return buf, ctypes.addressof(buf)


def threads_now():
    return len(os.listdir("/proc/self/task"))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--transactions":
        import abl_transactions  # noqa: E402 (beside this file; needs confluent_kafka)
        lib = load(sys.argv[2])
        abl_transactions.run(lib, sys.argv[3], check, get_string, memptr)
        return report()
    if len(sys.argv) >= 2 and sys.argv[1] == "--response-misuse":
        if len(sys.argv) < 5 or any("=" not in a for a in sys.argv[5:]):
            print(__doc__, file=sys.stderr)
            return 2
        return response_misuse(sys.argv[2], sys.argv[3], sys.argv[4],
                               [tuple(a.split("=", 1)) for a in sys.argv[5:]])
    if len(sys.argv) < 4 or any("=" not in a for a in sys.argv[5:]):
        print(__doc__, file=sys.stderr)
        return 2
    path, brokers, topic = sys.argv[1:4]
    count = int(sys.argv[4]) if len(sys.argv) >= 5 else 500
    extra = [tuple(a.split("=", 1)) for a in sys.argv[5:]]
    expect_path = os.environ.get("ABL_EXPECT")

    baseline = threads_now()
    lib = load(path)
    check(get_string(lib.ablkafka_version()) is not None, "ablkafka_version through a MEMPTR")
    check(threads_now() == baseline, "loading the library started a thread")

    # ---------------------------------------------------------------- options
    builder = lib.producer_builder_new()
    check(builder != 0, "producer_builder_new returned 0")
    for name, value in (("bootstrap.servers", brokers), ("linger.ms", "10"), ("message.timeout.ms", "30000"),
                        ("compression.codec", "lz4"), ("client.id", "abl-ctypes"), ("log.queue", "TRUE"),
                        ("group.id", "shared-with-a-consumer"), ("statistics.interval.ms", "100"), *extra):
        rc = lib.producer_builder_set_option(builder, name.encode(), value.encode())
        check(rc == 0, f"set_option {name}={value}: {rc} {get_string(lib.producer_builder_last_error(builder))}")
    # Read back through a MEMPTR the ABL program owns (SET-SIZE 256, then GET-STRING):
    # canonical spelling, and a secret as "[redacted]".
    readback = ctypes.create_string_buffer(256)
    for name, value in extra:
        n = lib.producer_builder_get_option(builder, name.encode(), ctypes.addressof(readback), 256)
        got = readback.value.decode()
        want = "[redacted]" if name in SECRETS else value
        check(n == len(got) and got.lower() == want.lower(), f"get_option {name}: {n} {got!r}, expected {want!r}")
    check(lib.producer_builder_get_option(builder, b"no.such.option", None, 0) == -2, "an unknown name reads as -2")
    rc = lib.producer_builder_set_option(builder, b"linger.ms", b"soon")
    check(rc == -1, f"bad value gives -1, got {rc}")
    msg = get_string(lib.producer_builder_last_error(builder))
    check(msg is not None and "linger.ms" in msg, f"last_error read through a MEMPTR names the option: {msg!r}")
    lib.producer_builder_set_option(builder, b"linger.ms", b"10")
    # A topic configuration, values in upper case as OpenEdge programs write them.
    for name, value in (("compression.codec", "LZ4"), ("delivery.timeout.ms", "40000")):
        rc = lib.producer_builder_set_topic_option(builder, topic.encode(), name.encode(), value.encode())
        check(rc == 0, f"set_topic_option {name}={value}: {rc} {get_string(lib.producer_builder_last_error(builder))}")
    rc = lib.producer_builder_set_topic_option(builder, topic.encode(), b"linger.ms", b"1")
    check(rc == -2, f"linger.ms is not a topic option: {rc}")

    producer = lib.producer_builder_build(builder)
    if not check(producer != 0, f"build: {get_string(lib.producer_builder_last_error(builder))}"):
        return report()
    check(threads_now() > baseline, "a producer runs its own thread")
    n = lib.producer_get_option(producer, b"compression.codec", ctypes.addressof(readback), 256)
    check(n == 3 and readback.value == b"lz4", f"producer_get_option compression.codec: {n} {readback.value!r}")
    n = lib.producer_get_topic_option(producer, topic.encode(), b"message.timeout.ms", ctypes.addressof(readback), 256)
    check(n == 5 and readback.value == b"40000", f"the topic's own message.timeout.ms: {n} {readback.value!r}")
    n = lib.producer_get_topic_option(producer, b"other", b"message.timeout.ms", ctypes.addressof(readback), 256)
    check(n == 5 and readback.value == b"30000", f"another topic's is the producer's: {n} {readback.value!r}")

    # ---------------------------------------------------------------- send loop
    sent = []  # (handle, key, value)
    keep = []  # the MEMPTRs stay ours until the call returns; kept here only for clarity
    for i in range(count):
        key = f"abl-{i % 13}".encode()
        value = f"message {i} sent the ABL way".encode()
        kbuf, kaddr = memptr(key)
        vbuf, vaddr = memptr(value)
        keep.append((kbuf, vbuf))
        handle = lib.producer_send(producer, topic.encode(), kaddr, len(key), vaddr, len(value))
        check(handle != 0, f"send {i} returned 0")
        sent.append((handle, key, value))
    keep.clear()  # the library copied key and value during each call

    # ---------------------------------------------------------------- polling
    deadline = time.monotonic() + 60
    pending = {h for h, _, _ in sent}
    rounds = 0
    while pending and time.monotonic() < deadline:
        pending = {h for h in pending if lib.response_completed(h) == 0}
        rounds += 1
        if pending:
            time.sleep(0.02)  # PAUSE 0.02 NO-MESSAGE.
    check(not pending, f"{len(pending)} receipts still pending after 60 s of polling")
    print(f"abl_ctypes: {count} receipts completed after {rounds} polling rounds", file=sys.stderr)

    delivered = 0
    lines = []
    for handle, key, value in sent:
        ok = lib.response_success(handle) == 1
        part, off = lib.response_partition(handle), lib.response_offset(handle)
        if ok and lib.response_error_code(handle) == 0 and lib.response_error_message(handle) == 0 \
                and part >= 0 and off >= 0 and lib.response_timestamp(handle) > 0:
            delivered += 1
            lines.append(f"{part} {off} x{key.hex()} x{value.hex()}")
        elif delivered == len(lines):
            code = lib.response_error_code(handle)
            print(f"  not delivered: code {code} {get_string(lib.response_error_message(handle))}", file=sys.stderr)
    check(delivered == count, f"{delivered} of {count} delivered")

    # ---------------------------------------------------------------- sends that keep no receipt
    # The loop an OpenEdge program writes when it never looks at its responses: nothing
    # to free, failures counted and polled.
    refused_now = 0
    for i in range(200):
        key, value = f"abl-nr-{i % 5}".encode(), f"no receipt {i}".encode()
        kbuf, kaddr = memptr(key)
        vbuf, vaddr = memptr(value)
        refused_now += lib.producer_send_no_receipt(producer, topic.encode(), kaddr, len(key), vaddr, len(value)) != 0
        lines.append(f"- - x{key.hex()} x{value.hex()}")
    check(refused_now == 0, f"{refused_now} receipt-less sends refused")
    check(lib.producer_flush(producer, 30000) == 0, "flush after receipt-less sends")
    check(lib.producer_no_receipt_failures(producer) == 0 and lib.producer_no_receipt_last_error(producer) == 0,
          f"receipt-less failures: {lib.producer_no_receipt_failures(producer)}")

    # ---------------------------------------------------------------- a RecordBuilder: headers, partition 0, timestamp
    rb = lib.record_builder_new()
    check(rb != 0, "record_builder_new returned 0")
    check(lib.record_builder_set_topic(rb, topic.encode()) == 0, "set_topic")
    check(lib.record_builder_set_partition(rb, 0) == 0, "set_partition 0")
    check(lib.record_builder_set_partition(rb, -7) == -186, "a negative partition is refused")
    check(lib.record_builder_set_timestamp(rb, 1_600_000_000_000) == 0, "set_timestamp")
    header_value = b"\x00abl\xff"
    hbuf, haddr = memptr(header_value)
    check(lib.record_builder_add_header(rb, b"origin", haddr, len(header_value)) == 0, "add_header")
    check(lib.record_builder_add_header(rb, b"none", None, 0) == 0, "add_header with a null value")
    with_headers = []
    for i in range(5):
        key, value = f"abl-record-{i}".encode(), f"record {i} with headers".encode()
        kbuf, kaddr = memptr(key)
        vbuf, vaddr = memptr(value)
        lib.record_builder_set_key(rb, kaddr, len(key))
        lib.record_builder_set_value(rb, vaddr, len(value))
        with_headers.append((lib.producer_send_record(producer, rb), key, value))
    lib.record_builder_free(rb)
    check(lib.producer_flush(producer, 30000) == 0, "flush after the record builder's sends")
    for handle, key, value in with_headers:
        ok = (lib.response_success(handle) == 1 and lib.response_partition(handle) == 0
              and lib.response_timestamp(handle) == 1_600_000_000_000
              and get_string(lib.response_topic(handle)) == topic)
        check(ok, f"record with headers: success {lib.response_success(handle)} partition "
                  f"{lib.response_partition(handle)} timestamp {lib.response_timestamp(handle)} "
                  f"topic {get_string(lib.response_topic(handle))!r}")
        if ok:
            lines.append(f"0 {lib.response_offset(handle)} x{key.hex()} x{value.hex()} "
                         f"x{b'origin'.hex()}=x{header_value.hex()},x{b'none'.hex()}=- 1600000000000")
        lib.response_free(handle)

    # ---------------------------------------------------------------- refusals, read through MEMPTRs
    big = b"x" * 1_000_001
    bbuf, baddr = memptr(big)
    r = lib.producer_send(producer, topic.encode(), None, 0, baddr, len(big))
    check(lib.response_completed(r) == 1 and lib.response_error_code(r) == 10, "oversized value refused with 10")
    check(get_string(lib.response_error_message(r)) == "Broker: Message size too large",
          f"error message via MEMPTR: {get_string(lib.response_error_message(r))!r}")
    check(get_string(lib.ablkafka_err2name(lib.response_error_code(r))) == "MSG_SIZE_TOO_LARGE", "err2name(10)")
    lib.response_free(r)

    # ---------------------------------------------------------------- ABL-style mistakes
    def refused(handle, what):
        ok = handle != 0 and lib.response_completed(handle) == 1 and lib.response_error_code(handle) == -186
        check(ok, f"{what}: want a completed -186 Response")
        lib.response_free(handle)

    vbuf, vaddr = memptr(b"v")
    refused(lib.producer_send(0, topic.encode(), None, 0, vaddr, 1), "producer handle 0 (an unset INT64)")
    refused(lib.producer_send(builder, topic.encode(), None, 0, vaddr, 1), "a builder handle as the producer")
    refused(lib.producer_send(producer, topic.encode(), None, 0, vaddr, -1), "length -1 (INT64) with a MEMPTR")
    refused(lib.producer_send(producer, topic.encode(), None, -1, vaddr, 1), "key length -1 with no key")
    refused(lib.producer_send(producer, None, None, 0, vaddr, 1), "topic ? (a NULL CHARACTER)")
    check(lib.producer_flush(builder, 0) == -186, "flush on a builder handle gives -186")
    check(lib.producer_builder_set_option(producer, b"linger.ms", b"5") == -186,
          "set_option on a producer handle gives -186")
    check(lib.producer_builder_last_error(producer) == 0, "last_error on a producer handle gives 0 (NULL)")
    lib.producer_free(builder)  # a builder handle passed to producer_free is refused, not freed
    check(lib.producer_builder_set_option(builder, b"linger.ms", b"5") == 0,
          "the builder survives producer_free(builder)")

    # ---------------------------------------------------------------- statistics, into a MEMPTR
    # After the flush above, a snapshot taken later counts every record delivered so far.
    stats_buf = ctypes.create_string_buffer(1 << 20)
    want = count + 200 + 5  # the receipts, the receipt-less sends and the record builder's
    snapshot = {}
    for _ in range(50):  # 5 s of 100 ms intervals
        n = lib.producer_statistics(producer, ctypes.addressof(stats_buf), 1 << 20)
        if 0 < n < (1 << 20):
            snapshot = json.loads(stats_buf.value.decode())
            if snapshot.get("txmsgs", 0) >= want:
                break
        time.sleep(0.1)
    check(snapshot.get("txmsgs") == want and snapshot.get("msg_cnt") == 0 and snapshot.get("type") == "producer",
          f"statistics through a MEMPTR: txmsgs {snapshot.get('txmsgs')} of {want}, msg_cnt {snapshot.get('msg_cnt')}")

    # ---------------------------------------------------------------- the log, polled into a MEMPTR
    log_lines = []
    logbuf = ctypes.create_string_buffer(4096)
    while (level := lib.producer_log_next(producer, ctypes.addressof(logbuf), 4096)) > 0:
        log_lines.append((level, logbuf.value.decode()))
    warning = "CONFWARN: Configuration property group.id is a consumer property and will be ignored by this producer instance"
    check((4, warning) in log_lines, f"the shared consumer property's warning, polled: {log_lines[:3]}")
    secrets = [value for name, value in extra if name in SECRETS]
    check(not any(s in text for s in secrets for _, text in log_lines), "no log line holds a secret")
    check(lib.producer_log_next(0, None, 0) == -186, "producer_log_next(0)")

    # ---------------------------------------------------------------- close, free
    check(lib.producer_close(producer, 10000) == 0, "close")
    check(threads_now() == baseline, f"{threads_now()} threads after close, {baseline} before")
    late = lib.producer_send(producer, topic.encode(), None, 0, vaddr, 1)
    check(lib.response_error_code(late) == -197, "send after close gives -197")
    check(get_string(lib.response_error_message(late)) == get_string(lib.ablkafka_err2str(-197)),
          "its message via MEMPTR equals err2str(-197)")
    lib.response_free(late)
    lib.producer_free(producer)
    lib.producer_builder_free(builder)
    # Receipts outlive the producer; read one more time, then free them.
    check(all(lib.response_success(h) == 1 for h, _, _ in sent), "receipts readable after producer_free")
    for handle, _, _ in sent:
        lib.response_free(handle)

    if expect_path:
        with open(expect_path, "w") as f:
            f.write(f"# abl_ctypes: topic {topic}, {count} messages\n")
            f.write("\n".join(lines) + "\n")

    # ---------------------------------------------------------------- Response handle misuse, in a child process
    response_misuse_child(path, brokers, topic, extra)
    return report()


# ---------------------------------------------------------------- Response handle misuse (issue 21)
# Every Response function with its answer for NULL, which is the answer for any handle
# that is not a live Response: (name, call, answer).
INVALID_RESPONSE_ANSWERS = (
    ("response_completed", lambda lib, h: lib.response_completed(h), 0),
    ("response_wait(h, 0)", lambda lib, h: lib.response_wait(h, 0), -186),
    ("response_wait(h, 1000)", lambda lib, h: lib.response_wait(h, 1000), -186),
    ("response_wait(h, -1)", lambda lib, h: lib.response_wait(h, -1), -186),
    ("response_success", lambda lib, h: lib.response_success(h), 0),
    ("response_error_code", lambda lib, h: lib.response_error_code(h), -186),
    ("response_error_message (an address)", lambda lib, h: lib.response_error_message(h), 0),
    ("response_topic (an address)", lambda lib, h: lib.response_topic(h), 0),
    ("response_offset", lambda lib, h: lib.response_offset(h), -1),
    ("response_partition", lambda lib, h: lib.response_partition(h), -1),
    ("response_timestamp", lambda lib, h: lib.response_timestamp(h), -1),
)


def as_int64(value):
    """An unsigned 64-bit value as the INT64 an ABL variable holds."""
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


def mapped(value):
    """True when the address lies in one of this process's mappings."""
    value &= (1 << 64) - 1
    with open("/proc/self/maps") as f:
        for line in f:
            start, end = (int(x, 16) for x in line.split()[0].split("-"))
            if start <= value < end:
                return True
    return False


def expect_invalid_response(lib, handle, what):
    """Every Response function on `handle`, each with the exact answer for NULL; then
    response_free (which must do nothing) and the reads again."""
    for name, call, want in INVALID_RESPONSE_ANSWERS:
        faulthandler.dump_traceback_later(30, exit=True)  # a wait that blocks: say where, and stop
        started = time.monotonic()
        got = call(lib, handle)
        took = time.monotonic() - started
        faulthandler.cancel_dump_traceback_later()
        check(got == want, f"{what} (INT64 {handle}): {name} gave {got}, want {want}")
        if name == "response_wait(h, 1000)":
            check(took < 0.5, f"{what}: response_wait(h, 1000) took {took:.3f} s; -186 is answered at once")
    lib.response_free(handle)
    again = [(name, call(lib, handle), want) for name, call, want in INVALID_RESPONSE_ANSWERS
             if name != "response_wait(h, -1)"]
    wrong = [(name, got) for name, got, want in again if got != want]
    check(not wrong, f"{what}: after response_free: {wrong}")


def refused_answers(lib, handle, topic):
    """The answers of a Response refused at send with 10 (too large), or None when one
    of them is not as documented."""
    got = (lib.response_completed(handle), lib.response_wait(handle, 0), lib.response_success(handle),
           lib.response_error_code(handle), get_string(lib.response_error_message(handle)),
           get_string(lib.response_topic(handle)), lib.response_partition(handle),
           lib.response_offset(handle), lib.response_timestamp(handle))
    return got if got == (1, 1, 0, 10, "Broker: Message size too large", topic, -1, -1, -1) else None


def response_misuse(path, brokers, topic, extra):
    """The misuse section itself (the child process): ends with "N passed, N failed".

    Its Responses are real ones of a producer connected to BROKERS, refused at send
    (a value over message.max.bytes: completed at once with 10), so that nothing is
    written to TOPIC, which the main test's expectation file describes."""
    lib = load(path)
    builder = lib.producer_builder_new()
    for name, value in (("bootstrap.servers", brokers), ("message.max.bytes", "1000"), *extra):
        check(lib.producer_builder_set_option(builder, name.encode(), value.encode()) == 0, f"set_option {name}")
    producer = lib.producer_builder_build(builder)
    lib.producer_builder_free(builder)
    if not check(producer != 0, "misuse: build"):
        return report()
    big = b"v" * 2000
    vbuf, vaddr = memptr(big)

    def send(i):
        key = f"abl-misuse-{i}".encode()
        kbuf, kaddr = memptr(key)
        return lib.producer_send(producer, topic.encode(), kaddr, len(key), vaddr, len(big))

    handles = [send(i) for i in range(4)]
    real = [refused_answers(lib, h, topic) for h in handles]
    check(all(real), f"misuse: the Responses to misuse do not read as refused with 10: {real}")
    freed, twice, kept, kept_too = handles

    # A freed handle (RUN response_free (hResponse). then hResponse used again).
    lib.response_free(freed)
    expect_invalid_response(lib, freed, "a freed Response")
    # A double free, then use.
    lib.response_free(twice)
    lib.response_free(twice)
    expect_invalid_response(lib, twice, "a Response freed twice")
    # A producer handle in a Response variable; the producer still works afterwards.
    expect_invalid_response(lib, producer, "a producer handle as a Response")
    readback = ctypes.create_string_buffer(16)
    n = lib.producer_get_option(producer, b"message.max.bytes", ctypes.addressof(readback), 16)
    check(n == 4 and readback.value == b"1000", f"misuse: the producer after response_free(producer): {n} {readback.value!r}")
    after = send(4)
    check(refused_answers(lib, after, topic) is not None, "misuse: a send after response_free(producer handle)")
    # Small integers, and random 64-bit integers outside every mapping (seeded).
    for value in (1, 2, 8, 4096, -1):
        expect_invalid_response(lib, value, f"the integer {value}")
    rng = random.Random(21)
    values = []
    while len(values) < 5:
        v = rng.getrandbits(64) if len(values) % 2 == 0 else rng.randrange(1 << 16, 1 << 47)
        if v != 0 and as_int64(v) not in handles + [after, producer] and not mapped(v):
            values.append(as_int64(v))
    for value in values:
        expect_invalid_response(lib, value, f"the random INT64 {value}")
    # The valid Responses were not harmed by any of it, and outlive their producer.
    check(refused_answers(lib, kept, topic) == real[2], "misuse: a valid Response changed")
    check(lib.producer_close(producer, 10000) == 0, "misuse: close")
    lib.producer_free(producer)
    check(refused_answers(lib, kept, topic) == real[2] and refused_answers(lib, kept_too, topic) == real[3],
          "misuse: valid Responses after producer_free")
    expect_invalid_response(lib, freed, "a freed Response, after its producer was freed")
    expect_invalid_response(lib, producer, "a freed producer's handle as a Response")
    lib.response_free(kept)
    expect_invalid_response(lib, kept, "a Response freed after its producer was freed")
    lib.response_free(kept_too)
    lib.response_free(after)
    return report()


def response_misuse_child(path, brokers, topic, extra):
    """Runs response_misuse in a child process and adds its counts to this one's."""
    if os.environ.get("ABL_RESPONSE_MISUSE", "1") == "0":
        print("abl_ctypes: Response misuse section skipped (ABL_RESPONSE_MISUSE=0)", file=sys.stderr)
        return
    cmd = [sys.executable, os.path.abspath(__file__), "--response-misuse", path, brokers, topic,
           *(f"{name}={value}" for name, value in extra)]
    try:
        child = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    except subprocess.TimeoutExpired:
        check(False, "Response misuse section: no answer within 180 s")
        return
    for line in (child.stdout + child.stderr).splitlines():
        print(f"  misuse: {line}", file=sys.stderr)
    counts = tally.closing_counts(child.stdout)
    child_failed = 0
    if counts:
        tally.add(*counts)
        child_failed = counts[1]
    if child.returncode < 0:
        check(False, f"Response misuse section died of {signal.Signals(-child.returncode).name} "
                     f"(a library that does not check Response handles)")
    elif not counts or (child.returncode != 0 and child_failed == 0):
        check(False, f"Response misuse section: exit status {child.returncode}, counts {counts}")


def report():
    return tally.summary()


if __name__ == "__main__":
    sys.exit(main())
