#!/usr/bin/env python3
"""A TCP proxy for the Kafka protocol that spoils the broker's answers to Produce
requests, so a test can see what a client does with an answer it cannot use.

    fault_proxy.py --listen-port A --upstream HOST:B --fault MODE --count K [--ready-file F]
                   [--capture FILE] [--throttle-ms T]

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

    def __init__(self, mode, count, throttle_ms=0):
        self.mode = mode
        self.count = count
        self.throttle_ms = throttle_ms
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

    def __init__(self, frame):
        self.frame = frame
        self.at = 0

    def take(self, n):
        if self.at + n > len(self.frame):
            raise ValueError("Produce v8 response ends early")
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
    faults = Faults(args.fault, args.count, args.throttle_ms)
    proxy = Proxy((host or "127.0.0.1", int(port)), faults, Capture(args.capture))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    server = await asyncio.start_server(proxy.serve, "127.0.0.1", args.listen_port)
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
    log(f"stopped; {faults.applied} fault(s) applied")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen-port", type=int, required=True)
    ap.add_argument("--upstream", required=True, help="the broker, HOST:PORT")
    ap.add_argument("--fault", choices=["garble", "mismatch", "throttle", "record-errors", "none"], required=True)
    ap.add_argument("--throttle-ms", type=int, default=500, help="the throttle time of --fault throttle")
    ap.add_argument("--count", type=int, default=1, help="how many Produce responses to spoil (default 1)")
    ap.add_argument("--ready-file", help="written once the proxy listens")
    ap.add_argument("--capture", help="append each connection's first request and response here, in hex")
    args = ap.parse_args()
    if args.count < 0:
        ap.error("--count must be >= 0")
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
