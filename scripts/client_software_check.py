#!/usr/bin/env python3
"""client.software.name and .version reach a real broker (KIP-511), which still answers.

    client_software_check.py LIBABLKAFKA BROKER TOPIC

Starts scripts/fault_proxy.py (no fault, --capture) in front of BROKER (HOST:PORT, a
tansu), builds a producer bootstrapped at the proxy with client.software.name
"ablkafka check!" and client.software.version "1.2.3+e2e", and sends one record to TOPIC
(which must exist). The bootstrap connection passes the proxy, which writes down its
first request and answer. Checks:

- the record is delivered (so the broker answered ApiVersions v3 and everything after);
- the first request is ApiVersions v3 (request header v2) carrying the name and version
  as KIP-511 allows them, sanitized as librdkafka does: "ablkafka-check", "1.2.3-e2e";
- the broker's answer to it is a v3 answer with error code 0 (not UNSUPPORTED_VERSION)
  that lists Produce and Metadata.

Prints one line per check and ends with "N passed, N failed". Python 3 standard library.
"""

import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import ablkafka_lib
from tally import check, summary

NAME, VERSION = "ablkafka check!", "1.2.3+e2e"
SENT_NAME, SENT_VERSION = "ablkafka-check", "1.2.3-e2e"
API_VERSIONS, PRODUCE, METADATA = 18, 0, 3



def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def uvarint(data, at):
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def compact_string(data, at):
    length, at = uvarint(data, at)
    return data[at:at + length - 1].decode(), at + length - 1


def skip_tagged_fields(data, at):
    count, at = uvarint(data, at)
    for _ in range(count):
        _, at = uvarint(data, at)
        size, at = uvarint(data, at)
        at += size
    return at


def parse_request(frame):
    """ApiVersions v3's request: (api_key, version, software name, version, bytes left)."""
    api_key, version, _cid, client_id_len = struct.unpack_from(">hhih", frame, 0)
    at = 10 + max(client_id_len, 0)
    at = skip_tagged_fields(frame, at)  # request header v2
    name, at = compact_string(frame, at)
    software_version, at = compact_string(frame, at)
    at = skip_tagged_fields(frame, at)
    return api_key, version, name, software_version, len(frame) - at


def parse_response(frame):
    """ApiVersions v3's answer (response header v0): (error code, {api_key: (min, max)})."""
    (error_code,) = struct.unpack_from(">h", frame, 4)
    count, at = uvarint(frame, 6)
    apis = {}
    for _ in range(max(count - 1, 0)):
        key, low, high = struct.unpack_from(">hhh", frame, at)
        apis[key] = (low, high)
        at = skip_tagged_fields(frame, at + 6)
    return error_code, apis


def produce_one(lib_path, bootstrap, topic):
    """Sends one record; returns (error code, error text)."""
    lib = ablkafka_lib.load(lib_path)

    builder = lib.producer_builder_new()
    options = {"bootstrap.servers": bootstrap, "client.software.name": NAME, "client.software.version": VERSION,
               "linger.ms": "0", "message.timeout.ms": "20000"}
    for name, value in options.items():
        if lib.producer_builder_set_option(builder, name.encode(), value.encode()) != 0:
            return -1, f"{name}: {lib.producer_builder_last_error(builder).decode()}"
    producer = lib.producer_builder_build(builder)
    if not producer:
        return -1, f"build: {lib.producer_builder_last_error(builder).decode()}"
    lib.producer_builder_free(builder)
    value = b"hello from client_software_check"
    response = lib.producer_send(producer, topic.encode(), None, 0, value, len(value))
    lib.response_wait(response, 30000)
    code = lib.response_error_code(response)
    message = (lib.response_error_message(response) or b"").decode()
    lib.response_free(response)
    lib.producer_close(producer, 5000)
    lib.producer_free(producer)
    return code, message


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    lib_path, broker, topic = sys.argv[1:]
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as scratch:
        capture = os.path.join(scratch, "capture.txt")
        ready = os.path.join(scratch, "ready")
        port = free_port()
        proxy = subprocess.Popen([sys.executable, os.path.join(here, "fault_proxy.py"), "--listen-port", str(port),
                                  "--upstream", broker, "--fault", "none", "--capture", capture,
                                  "--ready-file", ready], stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(ready) and proxy.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            if not check(os.path.exists(ready), f"fault_proxy.py listens on 127.0.0.1:{port}"):
                return 1
            code, message = produce_one(lib_path, f"127.0.0.1:{port}", topic)
            check(code == 0, f"a record sent through the proxy to {topic} is delivered ({code} {message})")
        finally:
            proxy.send_signal(signal.SIGTERM)
            proxy.wait(10)
        lines = open(capture).read().split() if os.path.exists(capture) else []
        frames = {(lines[i], lines[i + 1]): bytes.fromhex(lines[i + 2]) for i in range(0, len(lines) - 2, 3)}
        request, response = frames.get(("1", "request")), frames.get(("1", "response"))
        if not check(request is not None and response is not None, "the first connection's request and answer were captured"):
            return 1
        api_key, version, name, software_version, left = parse_request(request)
        check((api_key, version) == (API_VERSIONS, 3), f"the first request is ApiVersions v3 (key {api_key}, v{version})")
        check((name, software_version, left) == (SENT_NAME, SENT_VERSION, 0),
              f"it carries client_software_name {name!r} and client_software_version {software_version!r}, "
              f"sanitized from {NAME!r} and {VERSION!r} (expected {SENT_NAME!r}, {SENT_VERSION!r})")
        error_code, apis = parse_response(response)
        check(error_code == 0 and PRODUCE in apis and METADATA in apis,
              f"the broker answered it in v3: error code {error_code}, {len(apis)} APIs, "
              f"Produce {apis.get(PRODUCE)}, Metadata {apis.get(METADATA)}")
    return summary()


if __name__ == "__main__":
    sys.exit(main())
