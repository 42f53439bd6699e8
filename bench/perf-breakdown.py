#!/usr/bin/env python3
"""Where ablkafka's CPU goes, from a call-graph profile of one benchmark run.

    PROFILE_CALLGRAPH=1 scripts/bench-profile.sh ablkafka [key=value ...]
    bench/perf-breakdown.py [build/profile/perf-ablkafka.data]

Reads `perf script` and puts every sample in the first category whose frames it
contains (the order below matters: a page fault inside the value copy counts as the
value copy's page fault). Percentages are of all samples of the measured phase, both
threads: the application's thread (the one calling producer_send) and the producer's
background thread ("ablkafka").
"""

import collections
import subprocess
import sys

# (category, any of these substrings in a frame), first match wins; per thread.
APP = [
    ("batch buffer growth (Vec realloc: copy, page faults)", ["finish_grow", "_int_realloc"], []),
    ("page faults: first touch of a new batch buffer (value copy)", ["write_field"], ["page_fault"]),
    ("page faults: Response allocation (Arc<Delivery>)", ["Delivery::pending"], ["page_fault"]),
    ("page faults: other", [], ["page_fault"]),
    ("copy of key/value into the batch buffer (memcpy)", ["write_field"], []),
    ("clock reads (SystemTime::now, Instant::now)", ["Timespec>::now", "clock_gettime"], []),
    ("Response allocation (malloc of Arc<Delivery>)", ["Delivery::pending"], []),
    ("topic lookup (HashMap with SipHash, per send)", ["hash_one", "HashMap", "hashbrown", "memcmp"], []),
    ("batch-full check (seal_if_full, record_len)", ["seal_if_full", "record_len"], []),
    ("record encoding (varints, body_len)", ["RecordsBuilder::append", "body_len"], []),
    ("accumulator lock (Mutex)", ["Mutex", "futex", "pthread_mutex"], []),
    ("queue gauge (atomics)", ["try_reserve", "QueueGauge"], []),
    ("waking the sender (Notify)", ["Notify", "notify_one"], []),
    ("reading and freeing Responses (response_success/offset/free)", ["read_and_free", "response_free",
                                                                       "response_success", "response_offset"], []),
    ("rest of producer_send (FFI guard, UTF-8 check, Batch::append, ...)", ["producer_send"], []),
    ("benchmark harness", ["main", "send_one", "run"], []),
]
BACKGROUND = [
    ("CRC-32C", ["crc32c"], []),
    ("compression (codec)", ["lz4_flex", "zstd", "ZSTD", "snap::", "flate2", "miniz"], []),
    ("sealing: copy of the records into the wire buffer", ["RecordsBuilder::seal"], []),
    ("completing receipts (Receipts::deliver/settle, Arc drops, notify)", ["Receipts::", "Delivery::deliver",
                                                                          "notify_all"], []),
    ("socket writes (kernel)", ["tcp_sendmsg", "sendto", "sys_write", "writev", "sock_write"], []),
    ("socket reads and epoll (kernel)", ["tcp_recvmsg", "recvfrom", "sys_read", "sock_read", "epoll"], []),
    ("Produce encode / response decode", ["encode_request", "decode_response", "frame_request"], []),
    ("planning (Accumulator::plan), sender loop", ["Accumulator::plan", "sender::run"], []),
    ("page faults", [], ["page_fault"]),
    ("malloc/free", ["malloc", "free", "_int_"], []),
    ("tokio runtime (scheduling, timers, wake-ups)", ["tokio"], []),
    ("other", [], []),
]


def categorize(stack, table):
    for name, needles, required in table:
        if required and not any(r in f for f in stack for r in required):
            continue
        if not needles or any(n in f for f in stack for n in needles):
            return name
    return "other"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    data = args[0] if args else "build/profile/perf-ablkafka.data"
    out = subprocess.run(["perf", "script", "-i", data, "-F", "comm,ip,sym"], capture_output=True, text=True,
                         check=True).stdout
    samples, cur = [], None
    for line in out.splitlines():
        if not line.strip():
            if cur:
                samples.append(cur)
            cur = None
        elif not line.startswith("\t"):  # a sample: its thread's name; then one frame per line
            if cur:
                samples.append(cur)
            cur = (line.split()[0], [])
        elif cur is not None:
            frame = line.strip().split(None, 1)  # address, symbol
            cur[1].append(frame[1] if len(frame) > 1 else frame[0])
    if cur:
        samples.append(cur)
    if not samples:
        sys.exit("no samples (was the profile recorded with PROFILE_CALLGRAPH=1?)")
    total = len(samples)
    per_thread = collections.defaultdict(collections.Counter)
    for comm, stack in samples:
        thread = "background thread (ablkafka)" if comm == "ablkafka" else f"application thread ({comm})"
        table = BACKGROUND if comm == "ablkafka" else APP
        per_thread[thread][categorize(stack, table)] += 1
    print(f"{total} samples; % of all samples of the measured phase")
    if "--debug" in sys.argv:  # the leaf frames of uncategorized samples
        leaves = collections.Counter(" < ".join(st[:4]) for comm, st in samples
                                     if categorize(st, BACKGROUND if comm == "ablkafka" else APP) == "other")
        for leaf, n in leaves.most_common(15):
            print(f"  other: {n:4d} {leaf[:200]}")
    for thread, counts in sorted(per_thread.items(), key=lambda kv: -sum(kv[1].values())):
        print(f"\n{thread}: {100 * sum(counts.values()) / total:.1f}%")
        for name, n in counts.most_common():
            print(f"  {100 * n / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
