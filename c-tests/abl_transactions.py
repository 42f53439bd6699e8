"""The transaction part of abl_ctypes.py (`abl_ctypes.py --transactions LIBRARY RDKAFKA`):
examples-abl/transactional.p's calls, made the way an ABL program makes them (handles as
INT64, only LONG / INT64 / CHARACTER / MEMPTR, no callbacks, Responses polled), against
librdkafka's mock cluster (it has a transaction coordinator; tansu has no EndTxn), made in
this process through librdkafka's C API (RDKAFKA: the wheel's librdkafka.so).

One committed transaction (20 records, a consumer group's offsets as a TxnOffsets list and
as one offset), one aborted one (its 10 lingering records fail with -152), the bad inputs
an ABL program can pass (-186 with a reason read through a MEMPTR), and a read-back with
librdkafka that finds exactly the committed records.
"""

import ctypes

from confluent_kafka import Consumer, TopicPartition

LONG, INT64, CHARACTER, MEMPTR = ctypes.c_int32, ctypes.c_int64, ctypes.c_char_p, ctypes.c_void_p

# As transactional.p declares them.
TXN_SIGNATURES = {
    "producer_init_transactions": (LONG, [INT64, LONG]),
    "producer_begin_transaction": (LONG, [INT64]),
    "producer_send_offset_to_transaction": (LONG, [INT64, CHARACTER, CHARACTER, LONG, INT64, LONG]),
    "txn_offsets_new": (INT64, []),
    "txn_offsets_add": (LONG, [INT64, CHARACTER, LONG, INT64]),
    "txn_offsets_count": (LONG, [INT64]),
    "txn_offsets_free": (None, [INT64]),
    "producer_send_offsets_to_transaction": (LONG, [INT64, INT64, CHARACTER, LONG]),
    "producer_commit_transaction": (LONG, [INT64, LONG]),
    "producer_abort_transaction": (LONG, [INT64, LONG]),
    "producer_transaction_error_class": (LONG, [INT64]),
    "producer_transaction_error_message": (INT64, [INT64, MEMPTR, INT64]),
}

TOPIC = b"abl-txn"
COMMITTED, ABORTED = 20, 10


class MockCluster:
    """librdkafka's mock cluster, through its C API (rdkafka_mock.h)."""

    def __init__(self, rdkafka_path, brokers):
        rd = self.rd = ctypes.CDLL(rdkafka_path)
        rd.rd_kafka_conf_new.restype = ctypes.c_void_p
        rd.rd_kafka_conf_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
        rd.rd_kafka_new.restype = ctypes.c_void_p
        rd.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        rd.rd_kafka_mock_cluster_new.restype = ctypes.c_void_p
        rd.rd_kafka_mock_cluster_new.argtypes = [ctypes.c_void_p, ctypes.c_int]
        rd.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
        rd.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
        rd.rd_kafka_mock_topic_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
        rd.rd_kafka_mock_cluster_destroy.argtypes = [ctypes.c_void_p]
        rd.rd_kafka_destroy.argtypes = [ctypes.c_void_p]
        err = ctypes.create_string_buffer(512)
        conf = rd.rd_kafka_conf_new()
        rd.rd_kafka_conf_set(conf, b"log_level", b"3", err, len(err))
        self.rk = rd.rd_kafka_new(0, conf, err, len(err))
        self.mc = rd.rd_kafka_mock_cluster_new(self.rk, brokers)
        self.bootstraps = rd.rd_kafka_mock_cluster_bootstraps(self.mc).decode()

    def topic(self, name, partitions):
        return self.rd.rd_kafka_mock_topic_create(self.mc, name, partitions, 1)

    def close(self):
        self.rd.rd_kafka_mock_cluster_destroy(self.mc)
        self.rd.rd_kafka_destroy(self.rk)


def declare(lib):
    for name, (restype, argtypes) in TXN_SIGNATURES.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes


def read_back(bootstraps, partitions):
    """How many records TOPIC holds: every partition read to its end by librdkafka."""
    consumer = Consumer({"bootstrap.servers": bootstraps, "group.id": "abl-txn-readback", "enable.auto.commit": False,
                         "enable.partition.eof": True, "check.crcs": False, "log_level": 3})
    consumer.assign([TopicPartition(TOPIC.decode(), p, 0) for p in range(partitions)])
    ended, records = set(), 0
    for _ in range(300):
        m = consumer.poll(0.1)
        if m is None:
            continue
        if m.error() is None:
            records += 1
        elif m.error().code() == -191:  # _PARTITION_EOF
            ended.add(m.partition())
            if len(ended) == partitions:
                break
    consumer.close()
    return records if len(ended) == partitions else -1


def run(lib, rdkafka_path, check, get_string, memptr):
    """Everything, counted through `check(ok, what)`."""
    declare(lib)
    mock = MockCluster(rdkafka_path, 3)
    try:
        check(mock.topic(TOPIC, 3) == 0 and mock.topic(b"abl-src", 4) == 0, "the mock cluster has its topics")
        transactions(lib, mock.bootstraps, check, get_string, memptr)
        records = read_back(mock.bootstraps, 3)
        check(records == COMMITTED, f"librdkafka reads back exactly the {COMMITTED} committed records ({records})")
    finally:
        mock.close()


def transactions(lib, bootstraps, check, get_string, memptr):
    def message(producer):
        """producer_transaction_error_message into a MEMPTR the program owns."""
        size = lib.producer_transaction_error_message(producer, None, 0)
        buf, address = memptr(b"\0" * (size + 1))
        lib.producer_transaction_error_message(producer, address, size + 1)
        return buf.value.decode()

    builder = lib.producer_builder_new()
    for name, value in [("bootstrap.servers", bootstraps), ("transactional.id", "abl-transactional"),
                        ("linger.ms", "1000"), ("socket.connection.setup.timeout.ms", "5000")]:
        check(lib.producer_builder_set_option(builder, name.encode(), value.encode()) == 0, f"set {name}")
    producer = lib.producer_builder_build(builder)
    lib.producer_builder_free(builder)
    if not check(producer != 0, "the transactional producer is built"):
        return

    rc = lib.producer_init_transactions(producer, 30000)
    check(rc == 0, f"InitTransactions: 0 (got {rc}: {message(producer)})")

    # A committed transaction: records, a group's offsets (a list, then one), commit.
    check(lib.producer_begin_transaction(producer) == 0, "BeginTransaction: 0")
    sent = []
    for i in range(COMMITTED):
        key, key_addr = memptr(f"key-{i}".encode())
        value, value_addr = memptr(f"committed {i}".encode())
        sent.append(lib.producer_send(producer, TOPIC, key_addr, len(key), value_addr, len(value)))
    offsets = lib.txn_offsets_new()
    check(lib.txn_offsets_add(offsets, b"abl-src", 0, 42) == 0 and lib.txn_offsets_add(offsets, b"abl-src", 3, 7) == 0,
          "TopicPartitionOffset entries added to a TxnOffsets INT64 handle")
    check(lib.txn_offsets_count(offsets) == 2, "the list holds 2 offsets")
    rc = lib.producer_send_offsets_to_transaction(producer, offsets, b"abl-group", -1)
    check(rc == 0, f"SendOffsetsToTransaction: 0 (got {rc}: {message(producer)})")
    lib.txn_offsets_free(offsets)
    rc = lib.producer_send_offset_to_transaction(producer, b"abl-group", b"abl-src", 1, 99, -1)
    check(rc == 0, f"SendOffsetToTransaction: 0 (got {rc}: {message(producer)})")
    rc = lib.producer_commit_transaction(producer, 30000)
    check(rc == 0, f"CommitTransaction: 0 (got {rc}: {message(producer)})")
    check(lib.producer_transaction_error_class(producer) == 0, "no error class after a commit")
    codes = [lib.response_error_code(r) if lib.response_completed(r) == 1 else None for r in sent]
    check(codes == [0] * COMMITTED, f"every committed record's Response is complete with 0 ({codes[:4]}...)")

    # An aborted transaction: its lingering records are purged, never sent.
    check(lib.producer_begin_transaction(producer) == 0, "BeginTransaction again: 0")
    purged = []
    for i in range(ABORTED):
        value, value_addr = memptr(f"aborted {i}".encode())
        purged.append(lib.producer_send(producer, TOPIC, None, 0, value_addr, len(value)))
    rc = lib.producer_abort_transaction(producer, 30000)
    check(rc == 0, f"AbortTransaction: 0 (got {rc}: {message(producer)})")
    codes = [lib.response_error_code(r) if lib.response_wait(r, 5000) == 1 else None for r in purged]
    check(codes == [-152] * ABORTED, f"every aborted record's Response is -152 _PURGE_QUEUE ({codes[:4]}...)")
    texts = {get_string(lib.response_error_message(r)) for r in purged}
    check(texts == {"Local: Purged in queue"}, f"read through its address: {texts}")

    # What an ABL program can get wrong: -186, a reason, nothing sent.
    check(lib.producer_begin_transaction(producer) == 0, "BeginTransaction for the bad inputs")
    for args, what in [((b"", b"abl-src", 0, 1, -1), "an empty group id"),
                       ((None, b"abl-src", 0, 1, -1), "a NULL group id"),
                       ((b"abl-group", b"", 0, 1, -1), "an empty topic"),
                       ((b"abl-group", b"abl-src", -1, 1, -1), "a negative partition"),
                       ((b"abl-group", b"abl-src", 0, -5, -1), "a negative offset"),
                       ((b"abl-group", b"abl-src", 0, 1, -2), "a timeout below -1")]:
        rc = lib.producer_send_offset_to_transaction(producer, *args)
        why = message(producer)
        check(rc == -186 and why != "", f"SendOffsetToTransaction with {what}: -186, {why!r}")
    check(lib.txn_offsets_add(0, b"abl-src", 0, 1) == -186, "txn_offsets_add on handle 0: -186")
    check(lib.producer_send_offsets_to_transaction(producer, 0, b"abl-group", -1) == -186, "a 0 TxnOffsets handle: -186")
    check(lib.producer_commit_transaction(producer, -7) == -186, "CommitTransaction with timeout -7: -186")
    check(lib.producer_abort_transaction(producer, 30000) == 0, "AbortTransaction of the empty transaction: 0")
    lib.producer_close(producer, 10000)
    lib.producer_free(producer)
