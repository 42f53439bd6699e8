/*
 * Transactions against librdkafka's mock cluster, which has a transaction coordinator and
 * injects errors. Each case ports a scenario of librdkafka's own tests/0105-transactions_mock.c
 * and is named after it (do_test_<name>): the same injected errors, the same expected
 * outcome (error class, code, records delivered or purged), through ablkafka's C API.
 *
 *   txn_mock [CASE...]    every case, or the named ones;  txn_mock list
 */
#include "common.h"
#include "mock.h"

#include <signal.h>
#include <unistd.h>

#define API_ADD_PARTITIONS_TO_TXN 24
#define API_ADD_OFFSETS_TO_TXN 25
#define API_END_TXN 26
#define API_TXN_OFFSET_COMMIT 28
#define API_FIND_COORDINATOR 10

/* producer_transaction_error_class's answers. */
enum { CLASS_NONE = 0, CLASS_RETRIABLE = 1, CLASS_ABORTABLE = 2, CLASS_FATAL = 3 };

static const char *current_case = "";

static void on_alarm(int sig) {
    (void)sig;
    fprintf(stderr, "FAIL %s: the case hung (its time limit passed)\n", current_case);
    _exit(3);
}

/* The mock cluster with BROKERS brokers and the topics 0105 makes ("srctopic4",
 * "srctopic64") plus "mytopic" with 4 partitions, and a transactional producer with
 * transactional.id TXNID and the options in OPTS (NULL-terminated pairs, may be NULL). */
static Producer *txn_setup(mock_t *m, int brokers, const char *txnid, const char *const *opts) {
    if (!mock_start(m, brokers)) return NULL;
    if (!mock_topic(m, "mytopic", 4) || !mock_topic(m, "srctopic4", 4) || !mock_topic(m, "srctopic64", 64)) return NULL;
    ProducerBuilder *b = builder_for(m->bootstraps);
    if (b == NULL) return NULL;
    int ok = set_ok(b, "transactional.id", txnid);
    /* As 0105's create_txn_producer. */
    ok &= set_ok(b, "socket.connection.setup.timeout.ms", "5000");
    ok &= set_ok(b, "reconnect.backoff.max.ms", "2000");
    for (size_t i = 0; opts != NULL && opts[i] != NULL; i += 2) ok &= set_ok(b, opts[i], opts[i + 1]);
    Producer *p = ok ? build_ok(b) : NULL;
    producer_builder_free(b);
    return p;
}

static void txn_teardown(mock_t *m, Producer *p) {
    if (p != NULL) {
        producer_close(p, 5000);
        producer_free(p);
    }
    mock_stop(m);
}

/* The last transaction call's reason, for messages. */
static const char *txn_reason(Producer *p) {
    static char buf[1024];
    buf[0] = '\0';
    producer_transaction_error_message(p, buf, sizeof buf);
    return buf;
}

/* Checks that a transaction call returned EXPECT_CODE with EXPECT_CLASS. */
#define CHECK_TXN(p, rc, expect_code, expect_class, what)                                                        \
    do {                                                                                                         \
        int32_t rc_ = (rc);                                                                                      \
        int32_t class_ = producer_transaction_error_class(p);                                                    \
        CHECK(rc_ == (expect_code) && class_ == (expect_class), "%s: %s: returned %d %s class %d (%s), expected %d %s class %d", \
              current_case, what, (int)rc_, or_null(ablkafka_err2name(rc_)), (int)class_, txn_reason(p),         \
              (int)(expect_code), or_null(ablkafka_err2name(expect_code)), (int)(expect_class));                 \
    } while (0)

/* Sends one record to TOPIC [PARTITION] and returns its Response. */
static Response *send_to(Producer *p, const char *topic, int32_t partition, const char *value) {
    RecordBuilder *r = record_builder_new();
    record_builder_set_topic(r, topic);
    record_builder_set_value(r, value, strlen(value));
    record_builder_set_partition(r, partition);
    Response *resp = producer_send_record(p, r);
    record_builder_free(r);
    return resp;
}

/* Waits for RESP and checks its code; frees it. */
static void expect_response(Response *resp, int32_t code, const char *what) {
    int done = response_wait(resp, 30000);
    int32_t got = response_error_code(resp);
    CHECK(done == 1 && got == code, "%s: %s: Response completed %d with %d %s, expected %d %s", current_case, what, done,
          (int)got, or_null(ablkafka_err2name(got)), (int)code, or_null(ablkafka_err2name(code)));
    response_free(resp);
}

/* The records of TOPIC the mock holds, read back by a librdkafka consumer (read_uncommitted:
 * the mock keeps no aborted-transaction list). */
static int records_in(mock_t *m, const char *topic, int partitions) {
    readback_t rb;
    if (!readback(m->bootstraps, topic, partitions, &rb, 15000)) return -1;
    int n = (int)rb.n;
    readback_free(&rb);
    return n;
}

/* ------------------------------------------------------------------ the cases */

/* do_test_txn_recoverable_errors: retriable errors on InitProducerId, Produce,
 * AddPartitionsToTxn, TxnOffsetCommit and EndTxn are all retried; the transaction commits,
 * with the group and transaction coordinators on different brokers. */
static void case_txn_recoverable_errors(void) {
    mock_t m;
    const char *opts[] = {"batch.num.messages", "1", NULL};
    Producer *p = txn_setup(&m, 3, "myTxnId", opts);
    if (p == NULL) goto out;
    rd_kafka_mock_coordinator_set(m.mc, "group", "myGroupId", 1);
    rd_kafka_mock_coordinator_set(m.mc, "transaction", "myTxnId", 2);
    rd_kafka_mock_push_request_errors(m.mc, 22, 3, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
                                      RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    CHECK_TXN(p, producer_init_transactions(p, 5000), 0, CLASS_NONE, "init_transactions");
    CHECK_TXN(p, producer_begin_transaction(p), 0, CLASS_NONE, "begin_transaction");

    Response *first = send_to(p, "mytopic", 0, "hi");
    CHECK(producer_flush(p, -1) == 0, "%s: flush", current_case);
    expect_response(first, 0, "the first record");

    rd_kafka_mock_push_request_errors(m.mc, API_PRODUCE, 1, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
    Response *second = send_to(p, "mytopic", 0, "hi");
    CHECK(producer_flush(p, -1) == 0, "%s: flush", current_case);
    expect_response(second, 0, "the record retried after NOT_ENOUGH_REPLICAS");

    TxnOffsets *offsets = txn_offsets_new();
    txn_offsets_add(offsets, "srctopic4", 3, 12);
    txn_offsets_add(offsets, "srctopic64", 39, 999999111);
    txn_offsets_add(offsets, "srctopic4", 0, 999);
    txn_offsets_add(offsets, "srctopic64", 19, 123456789);
    CHECK(txn_offsets_count(offsets) == 4, "%s: 4 offsets added", current_case);
    rd_kafka_mock_push_request_errors(m.mc, API_ADD_PARTITIONS_TO_TXN, 1, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    rd_kafka_mock_push_request_errors(m.mc, API_TXN_OFFSET_COMMIT, 2, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
                                      RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS);
    CHECK_TXN(p, producer_send_offsets_to_transaction(p, offsets, "mygroupid", -1), 0, CLASS_NONE, "send_offsets");
    txn_offsets_free(offsets);

    rd_kafka_mock_push_request_errors(m.mc, API_END_TXN, 3, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
                                      RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    CHECK_TXN(p, producer_commit_transaction(p, 5000), 0, CLASS_NONE, "commit_transaction");
    producer_close(p, 5000);
    CHECK(records_in(&m, "mytopic", 4) == 2, "%s: the mock holds the 2 records", current_case);
out:
    txn_teardown(&m, p);
}

/* A send outside a transaction fails its Response with _STATE; abort purges what is
 * queued with _PURGE_QUEUE; the next transaction commits (0105's basic rules). */
static void case_txn_state_and_abort(void) {
    mock_t m;
    const char *opts[] = {"linger.ms", "60000", "batch.num.messages", "100000", NULL};
    Producer *p = txn_setup(&m, 1, "txnState", opts);
    if (p == NULL) goto out;
    expect_response(send_to(p, "mytopic", 0, "before init"), RD_KAFKA_RESP_ERR__STATE, "a send before init");
    CHECK_TXN(p, producer_begin_transaction(p), RD_KAFKA_RESP_ERR__STATE, CLASS_NONE, "begin before init");
    CHECK_TXN(p, producer_commit_transaction(p, 1000), RD_KAFKA_RESP_ERR__STATE, CLASS_NONE, "commit before init");
    CHECK_TXN(p, producer_init_transactions(p, 5000), 0, CLASS_NONE, "init_transactions");
    CHECK_TXN(p, producer_init_transactions(p, 5000), RD_KAFKA_RESP_ERR__STATE, CLASS_NONE, "init again");
    expect_response(send_to(p, "mytopic", 0, "outside"), RD_KAFKA_RESP_ERR__STATE, "a send outside a transaction");
    CHECK_TXN(p, producer_commit_transaction(p, 1000), RD_KAFKA_RESP_ERR__STATE, CLASS_NONE, "commit without begin");

    CHECK_TXN(p, producer_begin_transaction(p), 0, CLASS_NONE, "begin");
    CHECK_TXN(p, producer_begin_transaction(p), RD_KAFKA_RESP_ERR__STATE, CLASS_NONE, "begin while open");
    Response *lingering[10];
    for (int i = 0; i < 10; i++) lingering[i] = send_to(p, "mytopic", i % 4, "aborted");
    CHECK_TXN(p, producer_abort_transaction(p, 5000), 0, CLASS_NONE, "abort");
    for (int i = 0; i < 10; i++) expect_response(lingering[i], RD_KAFKA_RESP_ERR__PURGE_QUEUE, "a queued record at abort");

    CHECK_TXN(p, producer_begin_transaction(p), 0, CLASS_NONE, "begin after abort");
    Response *kept[5];
    for (int i = 0; i < 5; i++) kept[i] = send_to(p, "mytopic", 1, "committed");
    CHECK_TXN(p, producer_commit_transaction(p, 10000), 0, CLASS_NONE, "commit");
    for (int i = 0; i < 5; i++) expect_response(kept[i], 0, "a committed record");
    producer_close(p, 5000);
    CHECK(records_in(&m, "mytopic", 4) == 5, "%s: the mock holds the 5 committed records only", current_case);
out:
    txn_teardown(&m, p);
}

/* ------------------------------------------------------------------ main */

static const struct {
    const char *name;
    void (*run)(void);
    int limit_s;
} cases[] = {
    {"txn_recoverable_errors", case_txn_recoverable_errors, 60},
    {"txn_state_and_abort", case_txn_state_and_abort, 60},
};
#define NCASES (sizeof cases / sizeof cases[0])

static void run_case(size_t i) {
    long failed_before = check_failed_count, passed_before = check_passed_count;
    current_case = cases[i].name;
    fprintf(stderr, "---- %s\n", cases[i].name);
    int64_t t0 = now_ms();
    alarm((unsigned)cases[i].limit_s);
    cases[i].run();
    alarm(0);
    fprintf(stderr, "---- %s: %s (%ld passed, %ld failed, %lld ms)\n", cases[i].name,
            check_failed_count > failed_before ? "FAILED" : "ok", check_passed_count - passed_before,
            check_failed_count - failed_before, (long long)(now_ms() - t0));
}

int main(int argc, char **argv) {
    signal(SIGALRM, on_alarm);
    readback_check_crcs = 0; /* the mock's transaction markers carry no CRC */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && strcmp(argv[1], "list") == 0) {
        for (size_t i = 0; i < NCASES; i++) printf("%s\n", cases[i].name);
        return 0;
    }
    if (argc == 1) {
        for (size_t i = 0; i < NCASES; i++) run_case(i);
    } else {
        for (int a = 1; a < argc; a++) {
            size_t i = 0;
            while (i < NCASES && strcmp(cases[i].name, argv[a]) != 0) i++;
            if (i == NCASES) {
                check_record(0, __FILE__, __LINE__, "known case", "unknown case %s (try: list)", argv[a]);
                continue;
            }
            run_case(i);
        }
    }
    return CHECK_SUMMARY("txn_mock");
}
