#!/usr/bin/env python3
"""A TCP proxy for the Kafka protocol that spoils the broker's answers to Produce
requests, so a test can see what a client does with an answer it cannot use; or that
stands in for a broker's SASL session handling (KIP-368) that tansu lacks.

    fault_proxy.py --listen-port A --upstream HOST:B --fault MODE --count K [--ready-file F]
                   [--capture FILE] [--throttle-ms T]
                   [--session-lifetime-ms N] [--enforce-lifetime]

It accepts clients on 127.0.0.1:A and opens one connection to HOST:B for each. Frames
(int32 size, then that many bytes) are forwarded whole in both directions. Requests
start with int16 api_key, int16 api_version, int32 correlation_id; responses with int32
correlation_id. The proxy notes the correlation ids of Produce requests (api_key 0) so it
knows which responses answer them. MODE:

    garble    the first K Produce responses keep their size and correlation id, but every
              byte after the correlation id becomes 0xFF: the body does not decode
    mismatch  the first K Produce responses carry correlation id cid ^ 0x40000000, an id
              the client did not send
    throttle  the first K Produce responses carry throttle_time_ms T (--throttle-ms, KIP-219),
              written over the broker's own; each Produce request is logged with the time it
              arrived, "fault_proxy: Produce request cid=N v=V at=SECONDS" (a monotonic
              clock), so a test can see how often a client sends while throttled
    record-errors
              the first K Produce v8 responses refuse every partition they answer, as a
              broker whose record validation failed (KIP-467); the n-th of them, by n % 3:
                1  error 87 INVALID_RECORD, record errors at batch indexes 0 (text
                   RECORD_ERROR_TEXT, with a newline) and 2 (no text), error_message
                   "two records refused"
                2  error 32 INVALID_TIMESTAMP (not 87, so that a client can be seen to
                   keep the partition's code for a lone record error), one record error at
                   index 1 (LONG_RECORD_ERROR_TEXT: 623 bytes with a tab), error_message
                   "one record refused"
                0  error 87, no record errors, error_message LONG_MESSAGE (32,767 bytes, the
                   most a Kafka string holds, "refused<ESC>[2J<LF>more" again and again)
              base_offset and log_append_time become -1. Responses of other versions are
              forwarded untouched (v9+ is flexible, and a client that sends v7 or older
              gets no texts) and logged as such, without counting.
    reauth    KIP-368 over a broker that cannot re-authenticate in-band (tansu 0.6.0
              answers a second SaslHandshake on a connection UNSUPPORTED_SASL_MECHANISM and
              leaves it unauthenticated) nor enforce the session lifetime it advertises.
              Per client connection:
                - a SaslAuthenticate v0/v1 answer (api key 36) with a non-zero
                  session_lifetime_ms gets N instead (--session-lifetime-ms, default
                  2000), logged as "SaslAuthenticate v1 answer cid=C on connection K:
                  session_lifetime_ms 60000 -> N"; v2 and later (flexible) are forwarded
                  untouched. The session counts as authenticated once such an answer with
                  error 0 has been forwarded, and expires N ms after that. (tansu puts its
                  lifetime on every successful step of SCRAM, so the clock starts at the
                  first: a little before the client finishes, never after. It also answers
                  a wrong SCRAM proof with error 0, its lifetime and a server-final
                  message "e=invalid-proof", and then serves the connection anyway: an
                  answer whose auth_bytes start with "e=" ends the session here, as a
                  failed authentication does on a Kafka broker.)
                - a SaslHandshake (api key 17) on an authenticated connection is an
                  in-band re-authentication: the proxy opens a new connection to HOST:B,
                  waits until every request forwarded on the old one has been answered
                  (at most REAUTH_DRAIN_S: a Produce with acks=0 is never answered),
                  closes the old one and sends this and every later request of the client
                  to the new one, whose answers it forwards. The broker checks the
                  credentials there, so a wrong password still fails. Logged as
                  "reauth on connection K (#M)", M counting that connection's
                  re-authentications.
                - with --enforce-lifetime, a request other than ApiVersions, SaslHandshake
                  and SaslAuthenticate that arrives after the session expired closes the
                  client's connection, as Kafka's broker does: "session expired on
                  connection K: closed".
              Produce answers are not touched; --count is not used.
    none      everything is forwarded untouched

K counts over the proxy's whole life, not per connection; afterwards it forwards as
`none`. Each fault is logged to stderr as
"fault_proxy: garbled Produce response cid=N (1 of K)" (or "mismatched ... cid=N->M", or
"record errors in Produce v8 response cid=N (1 of K): ...").
F is written once the proxy listens. SIGTERM or SIGINT stops it (exit status 0).

--capture FILE appends, for each connection, its first request frame and the first
response frame as they passed (without their size prefixes), one line each, flushed at
once: "N request HEX" and "N response HEX", N the connection's number from 1. On a
Kafka connection these are the client's ApiVersions request and the broker's answer, so
a test can see what a client says about itself (KIP-511) and that the broker answered.

For the broker's metadata to lead clients back through the proxy, start the broker
advertising port A (scripts/broker.sh: BROKER_ADVERTISED_PORT=A).

Python 3 standard library only.
"""

import argparse
import asyncio
import os
import signal
import struct
import sys
import time

PRODUCE = 0
API_VERSIONS = 18
SASL_HANDSHAKE = 17
SASL_AUTHENTICATE = 36
# Asked before and during authentication: never refused for an expired session.
SASL_KEYS = (API_VERSIONS, SASL_HANDSHAKE, SASL_AUTHENTICATE)
# How long an in-band re-authentication waits for the old upstream's answers.
REAUTH_DRAIN_S = 5.0

# What record-errors puts in its answers (the texts a test expects back, cut and cleaned).
INVALID_TIMESTAMP = 32
INVALID_RECORD = 87
RECORD_ERROR_TEXT = "bad key\n%3|FORGED|x"
LONG_RECORD_ERROR_TEXT = "timestamp out of range\t" + "y" * 600
LONG_MESSAGE = ("refused\x1b[2J\nmore" * 2048)[:32767]
# Larger than any frame a test sends or receives: a size beyond it means the stream is
# not Kafka (or not in step), and forwarding it would only hide that.
MAX_FRAME = 256 << 20


def log(msg):
    print(f"fault_proxy: {msg}", file=sys.stderr, flush=True)


class Faults:
    """The fault budget, shared by every connection: a test wants exactly K faults in
    all, whichever connection the client happens to send its Produce requests on."""

    def __init__(self, mode, count, throttle_ms=0, reauth=None):
        self.mode = mode
        self.count = count
        self.throttle_ms = throttle_ms
        self.reauth = reauth
        self.applied = 0

    def spoil(self, frame, version):
        """Returns the frame to forward for a Produce response of `version`."""
        if self.mode == "none" or self.applied >= self.count:
            return frame
        (cid,) = struct.unpack_from(">i", frame, 0)
        if self.mode == "throttle":
            return self.throttle(frame, cid, version)
        if self.mode == "record-errors":
            if version != 8:
                log(f"Produce v{version} response cid={cid} forwarded untouched (record-errors rewrites v8)")
                return frame
            self.applied += 1
            frame, what = refuse_records(frame, self.applied)
            log(f"record errors in Produce v8 response cid={cid} ({self.applied} of {self.count}): {what}")
            return frame
        self.applied += 1
        if self.mode == "garble":
            # 0xFF everywhere: the first field (the topics array length, or a tagged-field
            # count in flexible versions) reads as -1 or an unterminated varint, so no
            # Produce response version can decode it. The size stays right, so the stream
            # stays in step: only the content is bad.
            log(f"garbled Produce response cid={cid} ({self.applied} of {self.count})")
            return frame[:4] + b"\xff" * (len(frame) - 4)
        other = cid ^ 0x40000000
        log(f"mismatched Produce response cid={cid}->{other} ({self.applied} of {self.count})")
        return struct.pack(">i", other) + frame[4:]

    def throttle(self, frame, cid, version):
        # throttle_time_ms is the body's last field: its last 4 bytes up to v8, and in the
        # flexible versions (v9 on) the 4 before the tagged fields, found only when there
        # are none (a last byte of 0).
        if version < 9:
            at = len(frame) - 4
        elif frame[-1] == 0:
            at = len(frame) - 5
        else:
            log(f"Produce response cid={cid} v{version} has tagged fields: not throttled")
            return frame
        self.applied += 1
        log(f"throttled Produce response cid={cid} v{version} for {self.throttle_ms} ms "
            f"({self.applied} of {self.count}) at={time.monotonic():.6f}")
        return frame[:at] + struct.pack(">i", self.throttle_ms) + frame[at + 4:]


def refuse_records(frame, n):
    """A Produce v8 response frame (correlation id, then the body) with every partition
    refused as record-errors's n-th answer says; and what was done, for the log."""
    if n % 3 == 1:
        code, errors, message = INVALID_RECORD, [(0, RECORD_ERROR_TEXT), (2, None)], "two records refused"
    elif n % 3 == 2:
        code, errors, message = INVALID_TIMESTAMP, [(1, LONG_RECORD_ERROR_TEXT)], "one record refused"
    else:
        code, errors, message = INVALID_RECORD, [], LONG_MESSAGE
    r = Reader(frame)
    out = [frame[:4]]  # the correlation id
    r.take(4)
    topics = r.i32()
    out.append(struct.pack(">i", topics))
    for _ in range(topics):
        out.append(r.raw_string())  # the topic's name, as it was
        partitions = r.i32()
        out.append(struct.pack(">i", partitions))
        for _ in range(partitions):
            index = r.i32()
            r.take(2 + 8 + 8 + 8)  # error_code, base_offset, log_append_time, log_start_offset
            for _ in range(r.i32()):  # the broker's own record errors, if any
                r.i32()
                r.raw_string()
            r.raw_string()  # its error_message
            out.append(struct.pack(">ihqqqi", index, code, -1, -1, -1, len(errors)))
            for batch_index, text in errors:
                out.append(struct.pack(">i", batch_index) + nullable_string(text))
            out.append(nullable_string(message))
    out.append(r.take(4))  # throttle_time_ms
    if r.at != len(frame):
        raise ValueError(f"Produce v8 response: {len(frame) - r.at} bytes left over")
    return b"".join(out), f"{topics} topic(s), error {code}, {len(errors)} record error(s)"


def nullable_string(text):
    if text is None:
        return struct.pack(">h", -1)
    data = text.encode()
    return struct.pack(">h", len(data)) + data


class Reader:
    """Reads a frame's fields in order; a short frame raises ValueError."""

    def __init__(self, frame, what="Produce v8 response"):
        self.frame = frame
        self.what = what
        self.at = 0

    def take(self, n):
        if self.at + n > len(self.frame):
            raise ValueError(f"{self.what} ends early")
        self.at += n
        return self.frame[self.at - n:self.at]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def raw_string(self):
        """A nullable string, as its bytes on the wire."""
        head = self.take(2)
        (length,) = struct.unpack(">h", head)
        return head + self.take(max(length, 0))


async def read_frame(reader):
    """One frame without its size prefix, or None at the end of the stream."""
    try:
        head = await reader.readexactly(4)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    (size,) = struct.unpack(">i", head)
    if size < 4 or size > MAX_FRAME:
        raise ValueError(f"frame size {size}")
    try:
        return await reader.readexactly(size)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None


async def pump(name, reader, writer, on_frame):
    """Forwards frames from reader to writer until either side ends, passing each
    through on_frame. Returns why it stopped."""
    try:
        while True:
            frame = await read_frame(reader)
            if frame is None:
                return f"{name} closed"
            frame = on_frame(frame)  # record-errors changes its size
            writer.write(struct.pack(">i", len(frame)) + frame)
            await writer.drain()
    except (OSError, ValueError) as e:
        return f"{name}: {e.__class__.__name__} {e}"


def rewrite_lifetime(frame, version, lifetime_ms):
    """A SaslAuthenticate v0/v1 answer frame (correlation id, then error_code i16,
    error_message nullable string, auth_bytes bytes and, in v1, session_lifetime_ms
    i64): (the frame to forward, its error_code, its auth_bytes, the broker's lifetime,
    the lifetime forwarded). A v1 lifetime that is not 0 becomes lifetime_ms."""
    r = Reader(frame, "SaslAuthenticate answer")
    r.take(4)  # the correlation id
    (error,) = struct.unpack(">h", r.take(2))
    r.raw_string()  # error_message
    auth_bytes = r.take(max(r.i32(), 0))
    if version == 0:
        if r.at != len(frame):
            raise ValueError(f"SaslAuthenticate v0 answer: {len(frame) - r.at} bytes left over")
        return frame, error, auth_bytes, 0, 0
    at = r.at
    (lifetime,) = struct.unpack(">q", r.take(8))
    if r.at != len(frame):
        raise ValueError(f"SaslAuthenticate v1 answer: {len(frame) - r.at} bytes left over")
    if lifetime == 0:
        return frame, error, auth_bytes, 0, 0
    return frame[:at] + struct.pack(">q", lifetime_ms) + frame[at + 8:], error, auth_bytes, lifetime, lifetime_ms


class Upstream:
    """One connection to the broker on behalf of a client connection, and the requests
    forwarded on it that await their answer (correlation id -> (api_key, version))."""

    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer
        self.waiting = {}
        self.idle = asyncio.Event()
        self.idle.set()
        self.retired = False  # replaced by a re-authentication: its end ends nothing

    def sent(self, api_key, version, cid):
        self.waiting[cid] = (api_key, version)
        self.idle.clear()

    def answered(self, cid):
        asked = self.waiting.pop(cid, None)
        if not self.waiting:
            self.idle.set()
        return asked


class Reauth:
    """--fault reauth: the settings, and the re-authentications over all connections."""

    def __init__(self, lifetime_ms, enforce):
        self.lifetime_ms = lifetime_ms
        self.enforce = enforce
        self.reauths = 0
        self.expired = 0


class ReauthConnection:
    """One client connection in --fault reauth: the client's requests go to the current
    upstream, which a SaslHandshake after authentication replaces (see the module's
    docstring)."""

    def __init__(self, proxy, n, client_reader, client_writer, upstream):
        self.proxy = proxy
        self.reauth = proxy.faults.reauth
        self.n = n
        self.client_reader = client_reader
        self.client_writer = client_writer
        self.upstream = upstream
        self.upstreams = [upstream]
        self.authenticated = False
        self.expires = None  # time.monotonic() when the session ends
        self.reauths = 0
        self.tasks = set()
        self.ended = asyncio.get_running_loop().create_future()

    def end(self, why):
        if not self.ended.done():
            self.ended.set_result(why)

    def start(self, coroutine):
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        self.proxy.tasks.add(task)
        task.add_done_callback(self.task_done)
        return task

    def task_done(self, task):
        # Cancelled by Proxy.stop, or failed in a way the pumps do not expect: the
        # connection ends either way, not left half open.
        if task.cancelled():
            self.end("proxy stopping")
        elif task.exception() is not None:
            self.end(f"{task.exception().__class__.__name__} {task.exception()}")

    async def run(self):
        self.start(self.from_upstream(self.upstream))
        self.start(self.from_client())
        try:
            why = await self.ended
        except asyncio.CancelledError:
            why = "proxy stopping"
        for t in self.tasks:
            t.cancel()
        self.proxy.tasks.difference_update(self.tasks)
        log(f"connection {self.n} ended: {why} ({self.reauths} re-authentication(s))")
        self.client_writer.close()
        for up in self.upstreams:
            up.writer.close()

    async def from_client(self):
        try:
            while True:
                frame = await read_frame(self.client_reader)
                if frame is None:
                    return self.end("client closed")
                if len(frame) >= 8:
                    api_key, version, cid = struct.unpack_from(">hhi", frame, 0)
                else:
                    api_key, version, cid = -1, -1, None
                if api_key == SASL_HANDSHAKE and self.authenticated:
                    if not await self.switch_upstream():
                        return
                elif (self.reauth.enforce and api_key not in SASL_KEYS and self.expires is not None
                      and time.monotonic() >= self.expires):
                    self.reauth.expired += 1
                    late = (time.monotonic() - self.expires) * 1000
                    log(f"session expired on connection {self.n}: closed "
                        f"(api key {api_key} cid={cid}, {late:.0f} ms after the end of the session)")
                    return self.end("session expired")
                up = self.upstream
                if cid is not None:
                    up.sent(api_key, version, cid)
                up.writer.write(struct.pack(">i", len(frame)) + frame)
                await up.writer.drain()
        except (OSError, ValueError) as e:
            self.end(f"client: {e.__class__.__name__} {e}")

    async def switch_upstream(self):
        """An in-band re-authentication: a new upstream, once the old one has answered."""
        self.reauths += 1
        self.reauth.reauths += 1
        old = self.upstream
        host, port = self.proxy.upstream
        log(f"reauth on connection {self.n} (#{self.reauths}): SaslHandshake after authentication; "
            f"{len(old.waiting)} request(s) awaiting their answer on the old upstream")
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError as e:
            self.end(f"reauth: upstream {host}:{port} refused: {e}")
            return False
        new = Upstream(reader, writer)
        self.upstreams.append(new)
        try:
            await asyncio.wait_for(old.idle.wait(), REAUTH_DRAIN_S)
        except asyncio.TimeoutError:
            log(f"reauth on connection {self.n} (#{self.reauths}): {len(old.waiting)} request(s) still "
                f"unanswered after {REAUTH_DRAIN_S:.0f} s (acks=0?), cids {sorted(old.waiting)[:10]}: left behind")
        old.retired = True
        old.writer.close()
        self.upstreams.remove(old)
        self.upstream = new
        # The session is not authenticated again until the new upstream says so; it still
        # expires when the old one did.
        self.authenticated = False
        self.start(self.from_upstream(new))
        log(f"reauth on connection {self.n} (#{self.reauths}): now on a new upstream connection")
        return True

    async def from_upstream(self, up):
        why = None
        try:
            while True:
                frame = await read_frame(up.reader)
                if frame is None:
                    why = "upstream closed"
                    break
                if len(frame) >= 4:
                    (cid,) = struct.unpack_from(">i", frame, 0)
                    asked = up.answered(cid)
                    if asked is not None and asked[0] == SASL_AUTHENTICATE:
                        frame = self.authenticate_answer(frame, cid, asked[1])
                self.client_writer.write(struct.pack(">i", len(frame)) + frame)
                await self.client_writer.drain()
        except (OSError, ValueError) as e:
            why = f"upstream: {e.__class__.__name__} {e}"
        if not up.retired:
            self.end(why)

    def authenticate_answer(self, frame, cid, version):
        if version > 1:
            log(f"SaslAuthenticate v{version} answer cid={cid} on connection {self.n} forwarded untouched "
                "(reauth rewrites v0 and v1)")
            return frame
        frame, error, auth_bytes, was, now = rewrite_lifetime(frame, version, self.reauth.lifetime_ms)
        if was:
            log(f"SaslAuthenticate v{version} answer cid={cid} on connection {self.n}: "
                f"session_lifetime_ms {was} -> {now} (error {error})")
        if auth_bytes.startswith(b"e="):
            # tansu 0.6.0 refuses a SCRAM proof only in the server-final message
            # ("e=invalid-proof"), with error 0 and its lifetime: not a session.
            log(f"SaslAuthenticate v{version} answer cid={cid} on connection {self.n}: the mechanism "
                f"refused ({auth_bytes[:40].decode(errors='replace')}): not authenticated, session over")
            self.authenticated = False
            self.expires = time.monotonic()
            return frame
        if error == 0 and now:
            self.authenticated = True
            self.expires = time.monotonic() + now / 1000
        return frame


class Capture:
    """The first request and response frame of each connection, to a file."""

    def __init__(self, path):
        self.path = path

    def first(self, connection, direction, on_frame):
        """Wraps on_frame so that the first frame it passes is written down."""
        seen = False

        def frame_hook(frame):
            nonlocal seen
            frame = on_frame(frame)
            if self.path and not seen:
                seen = True
                with open(self.path, "a") as f:
                    f.write(f"{connection} {direction} {frame.hex()}\n")
            return frame

        return frame_hook


class Proxy:
    def __init__(self, upstream, faults, capture):
        self.upstream = upstream
        self.faults = faults
        self.capture = capture
        self.connections = 0
        self.tasks = set()

    async def serve(self, client_reader, client_writer):
        self.connections += 1
        n = self.connections
        host, port = self.upstream
        try:
            up_reader, up_writer = await asyncio.open_connection(host, port)
        except OSError as e:
            log(f"connection {n}: upstream {host}:{port} refused: {e}")
            client_writer.close()
            return
        log(f"connection {n} opened")
        if self.faults.mode == "reauth":
            await ReauthConnection(self, n, client_reader, client_writer, Upstream(up_reader, up_writer)).run()
            return
        # Produce requests awaiting their answer on this connection, and their versions.
        # Kept per connection because correlation ids are only unique per connection (each
        # client counts its own from 1). A Produce with acks=0 gets no answer and stays
        # here: harmless.
        produce_cids = {}

        def request(frame):
            if len(frame) >= 8:
                api_key, version, cid = struct.unpack_from(">hhi", frame, 0)
                if api_key == PRODUCE:
                    # Noted before the request is forwarded, so before any answer can come.
                    produce_cids[cid] = version
                    if self.faults.mode == "throttle":
                        log(f"Produce request cid={cid} v={version} at={time.monotonic():.6f}")
            return frame

        def response(frame):
            if len(frame) >= 4:
                (cid,) = struct.unpack_from(">i", frame, 0)
                if cid in produce_cids:
                    return self.faults.spoil(frame, produce_cids.pop(cid))
            return frame

        pumps = [
            asyncio.ensure_future(pump("client", client_reader, up_writer, self.capture.first(n, "request", request))),
            asyncio.ensure_future(pump("upstream", up_reader, client_writer, self.capture.first(n, "response", response))),
        ]
        self.tasks.update(pumps)
        try:
            # When one side ends, end the other: a client must see its connection close
            # when the broker's does, and the broker must not keep a dead client's.
            done, pending = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            first = next(iter(done))
            why = "proxy stopping" if first.cancelled() else first.result()
            for t in pending:
                t.cancel()
            log(f"connection {n} ended: {why}")
        finally:
            self.tasks.difference_update(pumps)
            for w in (client_writer, up_writer):
                w.close()

    async def stop(self):
        for t in list(self.tasks):
            t.cancel()


async def main_async(args):
    host, _, port = args.upstream.rpartition(":")
    reauth = Reauth(args.session_lifetime_ms, args.enforce_lifetime) if args.fault == "reauth" else None
    faults = Faults(args.fault, args.count, args.throttle_ms, reauth)
    proxy = Proxy((host or "127.0.0.1", int(port)), faults, Capture(args.capture))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    server = await asyncio.start_server(proxy.serve, "127.0.0.1", args.listen_port)
    if reauth:
        log(f"listening on 127.0.0.1:{args.listen_port}, upstream {args.upstream}, fault reauth: "
            f"sessions of {reauth.lifetime_ms} ms{', enforced' if reauth.enforce else ''}")
    else:
        log(f"listening on 127.0.0.1:{args.listen_port}, upstream {args.upstream}, "
            f"fault {args.fault} x{args.count}")
    if args.ready_file:
        # Written whole, then renamed: a waiter never sees a half-written file.
        tmp = f"{args.ready_file}.tmp"
        with open(tmp, "w") as f:
            f.write(f"127.0.0.1:{args.listen_port}\n")
        os.replace(tmp, args.ready_file)

    await stop.wait()
    server.close()
    await proxy.stop()
    try:
        await asyncio.wait_for(server.wait_closed(), 5)
    except asyncio.TimeoutError:
        pass
    if reauth:
        log(f"stopped; {reauth.reauths} in-band re-authentication(s), {reauth.expired} connection(s) "
            "closed on an expired session")
    else:
        log(f"stopped; {faults.applied} fault(s) applied")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen-port", type=int, required=True)
    ap.add_argument("--upstream", required=True, help="the broker, HOST:PORT")
    ap.add_argument("--fault", choices=["garble", "mismatch", "throttle", "record-errors", "reauth", "none"], required=True)
    ap.add_argument("--throttle-ms", type=int, default=500, help="the throttle time of --fault throttle")
    ap.add_argument("--count", type=int, default=1, help="how many Produce responses to spoil (default 1)")
    ap.add_argument("--session-lifetime-ms", type=int, default=2000,
                    help="--fault reauth: the SASL session lifetime to advertise (default 2000)")
    ap.add_argument("--enforce-lifetime", action="store_true",
                    help="--fault reauth: close a connection whose session expired on its next non-SASL request")
    ap.add_argument("--ready-file", help="written once the proxy listens")
    ap.add_argument("--capture", help="append each connection's first request and response here, in hex")
    args = ap.parse_args()
    if args.count < 0:
        ap.error("--count must be >= 0")
    if args.session_lifetime_ms <= 0:
        ap.error("--session-lifetime-ms must be > 0")
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
