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
#include "cases.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#define API_ADD_PARTITIONS_TO_TXN 24
#define API_ADD_OFFSETS_TO_TXN 25
#define API_END_TXN 26
#define API_TXN_OFFSET_COMMIT 28
#define API_FIND_COORDINATOR 10

/* TXN_MOCK_TRACE set: each transaction call's result and time, on stderr. */
static int trace;

/* The mock cluster with BROKERS brokers and the topics 0105 makes ("srctopic4",
 * "srctopic64") plus "mytopic" with 4 partitions, and a transactional producer with
 * transactional.id TXNID and the options in OPTS (NULL-terminated pairs, may be NULL). */
static Producer *txn_setup(mock_t *m, int brokers, const char *txnid, const char *const *opts) {
    if (!mock_start(m, brokers)) return NULL;
    /* The mock picks the leaders itself: an explicit leader per partition is one request to
     * the mock's thread each, and librdkafka 2.16's mock thread sometimes serves a request
     * only at its next 1 s wake-up. */
    const char *topics[] = {"mytopic", "srctopic4", "srctopic64"};
    const int partitions[] = {4, 4, 64};
    for (int t = 0; t < 3; t++) {
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(m->mc, topics[t], partitions[t], brokers);
        if (!CHECK(e == 0, "mock_topic_create(%s): %s", topics[t], rd_kafka_err2name(e))) return NULL;
    }
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
        int64_t t0_ = now_ms();                                                                                  \
        int32_t rc_ = (rc);                                                                                      \
        int32_t class_ = producer_transaction_error_class(p);                                                    \
        if (trace) fprintf(stderr, "  [%lld ms] %s: %d class %d after %lld ms\n", (long long)(t0_ - case_started_ms), what,   \
                           (int)rc_, (int)class_, (long long)(now_ms() - t0_));                                  \
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


/* Request tracking (librdkafka 2.2 and later: the wheel's 2.16 exports it; Debian's 2.0.2
 * headers do not declare it): which requests reached the mock cluster. */
typedef struct rd_kafka_mock_request_s rd_kafka_mock_request_t;
void rd_kafka_mock_start_request_tracking(rd_kafka_mock_cluster_t *mcluster);
void rd_kafka_mock_stop_request_tracking(rd_kafka_mock_cluster_t *mcluster);
rd_kafka_mock_request_t **rd_kafka_mock_get_requests(rd_kafka_mock_cluster_t *mcluster, size_t *cntp);
void rd_kafka_mock_clear_requests(rd_kafka_mock_cluster_t *mcluster);
int16_t rd_kafka_mock_request_api_key(rd_kafka_mock_request_t *mreq);
void rd_kafka_mock_request_destroy_array(rd_kafka_mock_request_t **mreqs, size_t mreq_cnt);

/* The requests of API_KEY the mock received since tracking started (-1: every key). */
static int requests_of(mock_t *m, int api_key) {
    size_t cnt = 0;
    rd_kafka_mock_request_t **reqs = rd_kafka_mock_get_requests(m->mc, &cnt);
    int n = 0;
    for (size_t i = 0; i < cnt; i++)
        if (api_key < 0 || rd_kafka_mock_request_api_key(reqs[i]) == api_key) n++;
    rd_kafka_mock_request_destroy_array(reqs, cnt);
    return n;
}

/* Injected errors for API_KEY on broker B not yet consumed. */
static int errors_left_on(mock_t *m, int32_t b, int16_t api_key) {
    size_t cnt = 0;
    if (rd_kafka_mock_broker_error_stack_cnt(m->mc, b, api_key, &cnt) != 0) return -1;
    return (int)cnt;
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
    CHECK_TXN(p, producer_init_transactions(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");

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
    CHECK_TXN(p, producer_send_offsets_to_transaction(p, offsets, "mygroupid", -1), 0, ABLKAFKA_TXN_ERROR_NONE, "send_offsets");
    txn_offsets_free(offsets);

    rd_kafka_mock_push_request_errors(m.mc, API_END_TXN, 3, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
                                      RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
    CHECK_TXN(p, producer_commit_transaction(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "commit_transaction");
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
    CHECK_TXN(p, producer_begin_transaction(p), RD_KAFKA_RESP_ERR__STATE, ABLKAFKA_TXN_ERROR_NONE, "begin before init");
    CHECK_TXN(p, producer_commit_transaction(p, 1000), RD_KAFKA_RESP_ERR__STATE, ABLKAFKA_TXN_ERROR_NONE, "commit before init");
    CHECK_TXN(p, producer_init_transactions(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    CHECK_TXN(p, producer_init_transactions(p, 5000), RD_KAFKA_RESP_ERR__STATE, ABLKAFKA_TXN_ERROR_NONE, "init again");
    expect_response(send_to(p, "mytopic", 0, "outside"), RD_KAFKA_RESP_ERR__STATE, "a send outside a transaction");
    CHECK_TXN(p, producer_commit_transaction(p, 1000), RD_KAFKA_RESP_ERR__STATE, ABLKAFKA_TXN_ERROR_NONE, "commit without begin");

    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin");
    CHECK_TXN(p, producer_begin_transaction(p), RD_KAFKA_RESP_ERR__STATE, ABLKAFKA_TXN_ERROR_NONE, "begin while open");
    Response *lingering[10];
    for (int i = 0; i < 10; i++) lingering[i] = send_to(p, "mytopic", i % 4, "aborted");
    CHECK_TXN(p, producer_abort_transaction(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "abort");
    for (int i = 0; i < 10; i++) expect_response(lingering[i], RD_KAFKA_RESP_ERR__PURGE_QUEUE, "a queued record at abort");

    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin after abort");
    Response *kept[5];
    for (int i = 0; i < 5; i++) kept[i] = send_to(p, "mytopic", 1, "committed");
    CHECK_TXN(p, producer_commit_transaction(p, 10000), 0, ABLKAFKA_TXN_ERROR_NONE, "commit");
    for (int i = 0; i < 5; i++) expect_response(kept[i], 0, "a committed record");
    producer_close(p, 5000);
    CHECK(records_in(&m, "mytopic", 4) == 5, "%s: the mock holds the 5 committed records only", current_case);
out:
    txn_teardown(&m, p);
}

/* Waits for RESP and returns its code (frees it); -999 when it did not complete. */
static int32_t response_code(Response *resp) {
    int done = response_wait(resp, 30000);
    int32_t got = done == 1 ? response_error_code(resp) : -999;
    response_free(resp);
    return got;
}

/* One offset, as 0105's rd_kafka_send_offsets_to_transaction calls with one entry. */
static int32_t send_one_offset(Producer *p, int32_t timeout_ms) {
    return producer_send_offset_to_transaction(p, "mygroupid", "srctopic4", 3, 12, timeout_ms);
}

/* do_test_txn_fatal_idempo_errors (KIP-360): a Produce answered UNKNOWN_PRODUCER_ID inside a
 * transaction makes it abortable (not fatal): commit fails with class 2, abort succeeds, and
 * a new transaction commits. Adapted: 0105 sends both records at once and lets the injected
 * error hit whichever Produce comes first; here the first record is waited for before the
 * error is pushed, so the error hits the second record and both Responses can be asserted. */
static void case_txn_fatal_idempo_errors(void) {
    mock_t m;
    const char *opts[] = {"batch.num.messages", "1", NULL};
    Producer *p = txn_setup(&m, 3, "myTxnId", opts);
    if (p == NULL) goto out;
    CHECK_TXN(p, producer_init_transactions(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
    expect_response(send_to(p, "mytopic", 0, "hi"), 0, "the first record");
    rd_kafka_mock_push_request_errors(m.mc, API_PRODUCE, 1, RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID);
    Response *second = send_to(p, "mytopic", 0, "hi");
    CHECK_TXN(p, producer_commit_transaction(p, -1), RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID, ABLKAFKA_TXN_ERROR_ABORTABLE,
              "commit after UNKNOWN_PRODUCER_ID");
    expect_response(second, RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID, "the record answered UNKNOWN_PRODUCER_ID");
    CHECK_TXN(p, producer_abort_transaction(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "abort");
    CHECK(producer_error_code(p) != RD_KAFKA_RESP_ERR__FATAL, "%s: the producer is not fatal", current_case);

    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin after the abort");
    Response *third = send_to(p, "mytopic", 0, "hi");
    CHECK_TXN(p, producer_commit_transaction(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "commit of the new transaction");
    expect_response(third, 0, "the record of the new transaction");
    producer_close(p, 5000);
    CHECK(records_in(&m, "mytopic", 4) == 2, "%s: the mock holds the first and the third record", current_case);
out:
    txn_teardown(&m, p);
}

/* After a fatal (fenced) error every transaction call fails with it and records fail with
 * _FATAL. */
static void expect_all_calls_fenced(Producer *p) {
    CHECK(producer_error_code(p) == RD_KAFKA_RESP_ERR__FATAL, "%s: producer_error_code %d, expected _FATAL (the fatal "
          "error raised, as rd_kafka_fatal_error)", current_case, (int)producer_error_code(p));
    CHECK_TXN(p, producer_begin_transaction(p), RD_KAFKA_RESP_ERR__FENCED, ABLKAFKA_TXN_ERROR_FATAL, "begin after fencing");
    CHECK_TXN(p, producer_init_transactions(p, 1000), RD_KAFKA_RESP_ERR__FENCED, ABLKAFKA_TXN_ERROR_FATAL, "init after fencing");
    CHECK_TXN(p, send_one_offset(p, 1000), RD_KAFKA_RESP_ERR__FENCED, ABLKAFKA_TXN_ERROR_FATAL, "send_offsets after fencing");
    CHECK_TXN(p, producer_commit_transaction(p, 1000), RD_KAFKA_RESP_ERR__FENCED, ABLKAFKA_TXN_ERROR_FATAL, "commit after fencing");
    CHECK_TXN(p, producer_abort_transaction(p, 1000), RD_KAFKA_RESP_ERR__FENCED, ABLKAFKA_TXN_ERROR_FATAL, "abort after fencing");
    expect_response(send_to(p, "mytopic", 0, "late"), RD_KAFKA_RESP_ERR__FATAL, "a send after fencing");
}

/* do_test_txn_fenced_reinit, with INVALID_PRODUCER_EPOCH and with PRODUCER_FENCED: KIP-360
 * recovery (UNKNOWN_PRODUCER_ID on Produce) needs a new epoch, and the coordinator fences the
 * InitProducerId that asks for it: abort_transaction fails fatally (-144 _FENCED, class 3,
 * as librdkafka normalizes both codes), the producer's fatal error is raised (0105 reads
 * rd_kafka_fatal_error; here producer_error_code is -150), and every later call fails. */
static void case_txn_fenced_reinit(void) {
    const rd_kafka_resp_err_t codes[] = {RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH, RD_KAFKA_RESP_ERR_PRODUCER_FENCED};
    for (size_t c = 0; c < 2; c++) {
        mock_t m;
        const char *opts[] = {"batch.num.messages", "1", NULL};
        fprintf(stderr, "  with %s\n", rd_kafka_err2name(codes[c]));
        Producer *p = txn_setup(&m, 3, "myTxnId", opts);
        if (p == NULL) goto next;
        rd_kafka_mock_coordinator_set(m.mc, "transaction", "myTxnId", 2);
        CHECK_TXN(p, producer_init_transactions(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
        CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
        Response *first = send_to(p, "mytopic", 0, "hi");
        CHECK(producer_flush(p, -1) == 0, "%s: flush", current_case);
        expect_response(first, 0, "the first record");
        rd_kafka_mock_broker_push_request_error_rtts(m.mc, 2, API_INIT_PRODUCER_ID, 1, codes[c], 0);
        rd_kafka_mock_push_request_errors(m.mc, API_PRODUCE, 1, RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID);
        Response *second = send_to(p, "mytopic", 0, "hi");
        CHECK(producer_flush(p, -1) == 0, "%s: flush", current_case);
        expect_response(second, RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID, "the record answered UNKNOWN_PRODUCER_ID");
        CHECK_TXN(p, producer_abort_transaction(p, -1), RD_KAFKA_RESP_ERR__FENCED, ABLKAFKA_TXN_ERROR_FATAL,
                  "abort whose epoch bump is fenced");
        CHECK(errors_left_on(&m, 2, API_INIT_PRODUCER_ID) == 0, "%s: the fenced InitProducerId was sent",
              current_case);
        expect_all_calls_fenced(p);
    next:
        txn_teardown(&m, p);
    }
}

/* do_test_txn_fenced_abort, with INVALID_PRODUCER_EPOCH and with PRODUCER_FENCED: as
 * txn_fenced_reinit, but the abort's EndTxn is fenced: abort fails fatally, and the epoch
 * bump is never asked for (librdkafka sends EndTxn(abort) under the old epoch first, then
 * bumps): the EndTxn error is consumed and the InitProducerId error is still there. */
static void case_txn_fenced_abort(void) {
    const rd_kafka_resp_err_t codes[] = {RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH, RD_KAFKA_RESP_ERR_PRODUCER_FENCED};
    for (size_t c = 0; c < 2; c++) {
        mock_t m;
        const char *opts[] = {"batch.num.messages", "1", NULL};
        fprintf(stderr, "  with %s\n", rd_kafka_err2name(codes[c]));
        Producer *p = txn_setup(&m, 3, "myTxnId", opts);
        if (p == NULL) goto next;
        rd_kafka_mock_coordinator_set(m.mc, "transaction", "myTxnId", 2);
        CHECK_TXN(p, producer_init_transactions(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
        CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
        Response *first = send_to(p, "mytopic", 0, "hi");
        CHECK(producer_flush(p, -1) == 0, "%s: flush", current_case);
        expect_response(first, 0, "the first record");
        rd_kafka_mock_broker_push_request_error_rtts(m.mc, 2, API_END_TXN, 1, codes[c], 0);
        rd_kafka_mock_broker_push_request_error_rtts(m.mc, 2, API_INIT_PRODUCER_ID, 1, codes[c], 0);
        rd_kafka_mock_push_request_errors(m.mc, API_PRODUCE, 1, RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID);
        Response *second = send_to(p, "mytopic", 0, "hi");
        CHECK(producer_flush(p, -1) == 0, "%s: flush", current_case);
        expect_response(second, RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID, "the record answered UNKNOWN_PRODUCER_ID");
        CHECK_TXN(p, producer_abort_transaction(p, -1), RD_KAFKA_RESP_ERR__FENCED, ABLKAFKA_TXN_ERROR_FATAL, "abort fenced by EndTxn");
        CHECK(errors_left_on(&m, 2, API_END_TXN) == 0, "%s: EndTxn's error was consumed (%d left)", current_case,
              errors_left_on(&m, 2, API_END_TXN));
        CHECK(errors_left_on(&m, 2, API_INIT_PRODUCER_ID) == 1,
              "%s: no InitProducerId was sent after the fenced EndTxn (%d errors left, expected 1)", current_case,
              errors_left_on(&m, 2, API_INIT_PRODUCER_ID));
        expect_all_calls_fenced(p);
    next:
        txn_teardown(&m, p);
    }
}

/* do_test_txn_req_cnt: EndTxn is sent for an aborted transaction whose only coordinator
 * request was a retried AddOffsetsToTxn (REQUEST_TIMED_OUT, NOT_COORDINATOR; TxnOffsetCommit
 * COORDINATOR_LOAD_IN_PROGRESS, UNKNOWN_TOPIC_OR_PART). 0105 sees it only as the abort
 * succeeding; here the mock's request log counts exactly one EndTxn. Added, the other side of
 * librdkafka's txn_req_cnt: a transaction that sent nothing to the coordinator is aborted or
 * committed without any EndTxn. */
static void case_txn_req_cnt(void) {
    mock_t m;
    Producer *p = txn_setup(&m, 3, "myTxnId", NULL);
    if (p == NULL) goto out;
    CHECK_TXN(p, producer_init_transactions(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    rd_kafka_mock_start_request_tracking(m.mc);
    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
    TxnOffsets *offsets = txn_offsets_new();
    txn_offsets_add(offsets, "srctopic4", 3, 12);
    txn_offsets_add(offsets, "srctopic64", 40, 999999111);
    rd_kafka_mock_push_request_errors(m.mc, API_ADD_OFFSETS_TO_TXN, 2, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_NOT_COORDINATOR);
    rd_kafka_mock_push_request_errors(m.mc, API_TXN_OFFSET_COMMIT, 2, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                                      RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    CHECK_TXN(p, producer_send_offsets_to_transaction(p, offsets, "mygroupid", -1), 0, ABLKAFKA_TXN_ERROR_NONE, "send_offsets");
    txn_offsets_free(offsets);
    CHECK(mock_errors_left(&m, API_ADD_OFFSETS_TO_TXN) == 0 && mock_errors_left(&m, API_TXN_OFFSET_COMMIT) == 0,
          "%s: every injected error was consumed", current_case);
    CHECK(requests_of(&m, API_ADD_OFFSETS_TO_TXN) == 3, "%s: %d AddOffsetsToTxn, expected 3 (two retried)",
          current_case, requests_of(&m, API_ADD_OFFSETS_TO_TXN));
    CHECK_TXN(p, producer_abort_transaction(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "abort");
    CHECK(requests_of(&m, API_END_TXN) == 1, "%s: %d EndTxn for the aborted transaction, expected 1", current_case,
          requests_of(&m, API_END_TXN));

    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin (empty, aborted)");
    CHECK_TXN(p, producer_abort_transaction(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "abort of an empty transaction");
    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin (empty, committed)");
    CHECK_TXN(p, producer_commit_transaction(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "commit of an empty transaction");
    CHECK(requests_of(&m, API_END_TXN) == 1, "%s: %d EndTxn after two empty transactions, expected still 1",
          current_case, requests_of(&m, API_END_TXN));
out:
    txn_teardown(&m, p);
}

/* do_test_txn_requires_abort_errors: three ways a transaction becomes abortable, each
 * followed by a successful abort: (1) a Produce answered TOPIC_AUTHORIZATION_FAILED fails its
 * record, and send_offsets then fails with class 2; (2) AddPartitionsToTxn answered
 * TOPIC_AUTHORIZATION_FAILED: commit fails with class 2 and the abort purges the held record
 * (-152); (3) AddOffsetsToTxn answered GROUP_AUTHORIZATION_FAILED: send_offsets fails with it
 * (class 2), so does commit. 0105's metadata refresh before (2) (clearing librdkafka's topic
 * error) has no counterpart here: the next record is simply sent. */
static void case_txn_requires_abort_errors(void) {
    mock_t m;
    Producer *p = txn_setup(&m, 3, "txnid", NULL);
    if (p == NULL) goto out;
    CHECK_TXN(p, producer_init_transactions(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");

    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin (1)");
    rd_kafka_mock_push_request_errors(m.mc, API_PRODUCE, 1, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    Response *r1 = send_to(p, "mytopic", -1, "hi");
    producer_flush(p, 5000);
    expect_response(r1, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, "(1) the record refused by Produce");
    CHECK_TXN(p, send_one_offset(p, -1), RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, ABLKAFKA_TXN_ERROR_ABORTABLE,
              "(1) send_offsets after a failed record");
    CHECK_TXN(p, producer_abort_transaction(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "(1) abort");

    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin (2)");
    rd_kafka_mock_push_request_errors(m.mc, API_ADD_PARTITIONS_TO_TXN, 1, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    Response *r2 = send_to(p, "mytopic", -1, "hi");
    CHECK_TXN(p, producer_commit_transaction(p, 5000), RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, ABLKAFKA_TXN_ERROR_ABORTABLE,
              "(2) commit after AddPartitionsToTxn failed");
    CHECK_TXN(p, producer_abort_transaction(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "(2) abort");
    expect_response(r2, RD_KAFKA_RESP_ERR__PURGE_QUEUE, "(2) the record of a partition never added");

    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin (3)");
    Response *r3 = send_to(p, "mytopic", -1, "hi");
    rd_kafka_mock_push_request_errors(m.mc, API_ADD_OFFSETS_TO_TXN, 1, RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED);
    CHECK_TXN(p, send_one_offset(p, -1), RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED, ABLKAFKA_TXN_ERROR_ABORTABLE,
              "(3) send_offsets refused by AddOffsetsToTxn");
    CHECK_TXN(p, producer_commit_transaction(p, 5000), RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED, ABLKAFKA_TXN_ERROR_ABORTABLE,
              "(3) commit after send_offsets failed");
    CHECK_TXN(p, producer_abort_transaction(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "(3) abort");
    int32_t c3 = response_code(r3);
    CHECK(c3 == 0 || c3 == RD_KAFKA_RESP_ERR__PURGE_QUEUE || c3 == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT,
          "%s: (3) the record completed with %d %s, expected delivered or purged", current_case, (int)c3,
          or_null(ablkafka_err2name(c3)));
    producer_close(p, 5000);
    CHECK(records_in(&m, "mytopic", 4) == (c3 == 0 ? 1 : 0), "%s: the mock holds only the delivered record (%d)",
          current_case, c3 == 0);
out:
    txn_teardown(&m, p);
}

/* do_test_txn_endtxn_errors: EndTxn answered with each error of the Java client's
 * EndTxnResponse handler, for commit, flush+commit, abort and flush+abort, expecting
 * librdkafka's outcome: the coordinator errors are retried and the call succeeds;
 * UNKNOWN_PRODUCER_ID and INVALID_PRODUCER_ID_MAPPING make a commit abortable and an abort
 * succeed (it takes a new epoch); fencing is fatal (-144, normalized), so is
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED; GROUP_AUTHORIZATION_FAILED and any other error are
 * abortable. An abortable failure is followed by abort, a fatal one by a new producer (and a
 * new mock cluster: librdkafka's test reuses its cluster, which it gets per producer). Each
 * record completes delivered, or purged when aborted. */
static void case_txn_endtxn_errors(void) {
    static const struct {
        int error_cnt;
        rd_kafka_resp_err_t errors[3];
        rd_kafka_resp_err_t exp_err;
        int exp_class;
        int exp_successful_abort;
    } scenario[] = {
        {2, {RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE}, 0, ABLKAFKA_TXN_ERROR_NONE, 0},
        {2, {RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_NOT_COORDINATOR}, 0, ABLKAFKA_TXN_ERROR_NONE, 0},
        {1, {RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS}, 0, ABLKAFKA_TXN_ERROR_NONE, 0},
        {3,
         {RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS, RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
          RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS},
         0, ABLKAFKA_TXN_ERROR_NONE, 0},
        {1, {RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID}, RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID, ABLKAFKA_TXN_ERROR_ABORTABLE, 1},
        {1, {RD_KAFKA_RESP_ERR_INVALID_PRODUCER_ID_MAPPING}, RD_KAFKA_RESP_ERR_INVALID_PRODUCER_ID_MAPPING,
         ABLKAFKA_TXN_ERROR_ABORTABLE, 1},
        {1, {RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH}, RD_KAFKA_RESP_ERR__FENCED, ABLKAFKA_TXN_ERROR_FATAL, 0},
        {1, {RD_KAFKA_RESP_ERR_PRODUCER_FENCED}, RD_KAFKA_RESP_ERR__FENCED, ABLKAFKA_TXN_ERROR_FATAL, 0},
        {1, {RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED},
         RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ABLKAFKA_TXN_ERROR_FATAL, 0},
        {1, {RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED}, RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED,
         ABLKAFKA_TXN_ERROR_ABORTABLE, 0},
        {1, {RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE}, RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE, ABLKAFKA_TXN_ERROR_ABORTABLE, 0},
        {1, {RD_KAFKA_RESP_ERR_PRODUCER_FENCED}, RD_KAFKA_RESP_ERR__FENCED, ABLKAFKA_TXN_ERROR_FATAL, 0},
    };
    mock_t m;
    memset(&m, 0, sizeof m);
    Producer *p = NULL;
    char what[128];
    for (size_t i = 0; i < sizeof scenario / sizeof scenario[0]; i++) {
        for (int j = 0; j < 4; j++) {
            int commit = j < 2, with_flush = j & 1;
            int exp_success = scenario[i].exp_err == 0 || (!commit && scenario[i].exp_successful_abort);
            const char *call = commit ? (with_flush ? "commit&flush" : "commit") : (with_flush ? "abort&flush" : "abort");
            if (p == NULL) {
                p = txn_setup(&m, 3, "myTxnId", NULL);
                if (p == NULL) return;
                CHECK_TXN(p, producer_init_transactions(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
            }
            snprintf(what, sizeof what, "#%zu %s", i, call);
            CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, what);
            Response *r = send_to(p, "mytopic", -1, "hi");
            if (with_flush) CHECK(producer_flush(p, -1) == 0, "%s: %s: flush", current_case, what);
            TxnOffsets *offsets = txn_offsets_new();
            txn_offsets_add(offsets, "srctopic4", 3, 12);
            txn_offsets_add(offsets, "srctopic64", 60, 99999);
            CHECK_TXN(p, producer_send_offsets_to_transaction(p, offsets, "mygroupid", -1), 0, ABLKAFKA_TXN_ERROR_NONE, what);
            txn_offsets_free(offsets);
            rd_kafka_mock_push_request_errors_array(m.mc, API_END_TXN, (size_t)scenario[i].error_cnt,
                                                    scenario[i].errors);
            int32_t rc = commit ? producer_commit_transaction(p, 5000) : producer_abort_transaction(p, 5000);
            int fatal = 0;
            if (exp_success) {
                CHECK_TXN(p, rc, 0, ABLKAFKA_TXN_ERROR_NONE, what);
            } else {
                CHECK_TXN(p, rc, scenario[i].exp_err, scenario[i].exp_class, what);
                int cls = producer_transaction_error_class(p);
                if (cls == ABLKAFKA_TXN_ERROR_FATAL) {
                    fatal = 1;
                } else if (cls == ABLKAFKA_TXN_ERROR_ABORTABLE) {
                    CHECK_TXN(p, producer_abort_transaction(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "abort after the abortable error");
                } else if (cls == ABLKAFKA_TXN_ERROR_RETRIABLE) {
                    CHECK_TXN(p, commit ? producer_commit_transaction(p, 5000) : producer_abort_transaction(p, 5000), 0,
                              ABLKAFKA_TXN_ERROR_NONE, "the same call again");
                }
            }
            int32_t code = response_code(r);
            if (commit && (exp_success || fatal))
                CHECK(code == 0, "%s: %s: the record completed %d, expected delivered", current_case, what, (int)code);
            else
                CHECK(code == 0 || code == RD_KAFKA_RESP_ERR__PURGE_QUEUE || code == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT,
                      "%s: %s: the record completed %d, expected delivered or purged", current_case, what, (int)code);
            CHECK(mock_errors_left(&m, API_END_TXN) == 0, "%s: %s: every injected EndTxn error was consumed",
                  current_case, what);
            if (fatal) {
                txn_teardown(&m, p);
                p = NULL;
            }
        }
    }
    if (p != NULL) txn_teardown(&m, p);
}

/* The ten retriable EndTxn errors of do_test_txn_endtxn_infinite and _timeout. */
static void push_ten_endtxn_errors(mock_t *m) {
    rd_kafka_mock_push_request_errors(
        m->mc, API_END_TXN, 10, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        RD_KAFKA_RESP_ERR_NOT_COORDINATOR);
}

/* do_test_txn_endtxn_infinite: ten retriable EndTxn errors; commit and then abort with the
 * default timeout (-1) retry through all of them and succeed. */
static void case_txn_endtxn_infinite(void) {
    mock_t m;
    Producer *p = txn_setup(&m, 3, "myTxnId", NULL);
    if (p == NULL) goto out;
    CHECK_TXN(p, producer_init_transactions(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    for (int i = 0; i < 2; i++) {
        int commit = i == 0;
        CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
        Response *r = send_to(p, "mytopic", -1, "hi");
        push_ten_endtxn_errors(&m);
        sleep_ms(1000);
        CHECK_TXN(p, commit ? producer_commit_transaction(p, -1) : producer_abort_transaction(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE,
                  commit ? "commit through ten EndTxn errors" : "abort through ten EndTxn errors");
        CHECK(mock_errors_left(&m, API_END_TXN) == 0, "%s: every injected EndTxn error was consumed", current_case);
        expect_response(r, 0, "the record (delivered before the commit or abort)");
    }
out:
    txn_teardown(&m, p);
}

/* do_test_txn_endtxn_timeout: the same ten EndTxn errors, retried longer than a 100 ms
 * commit (then abort) may block: the call fails with a retriable -185, and called again with
 * the default timeout it resumes the same EndTxn and succeeds. */
static void case_txn_endtxn_timeout(void) {
    mock_t m;
    Producer *p = txn_setup(&m, 3, "myTxnId", NULL);
    if (p == NULL) goto out;
    CHECK_TXN(p, producer_init_transactions(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    for (int i = 0; i < 2; i++) {
        int commit = i == 0;
        CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
        Response *r = send_to(p, "mytopic", -1, "hi");
        push_ten_endtxn_errors(&m);
        sleep_ms(1000);
        int64_t t0 = now_ms();
        CHECK_TXN(p, commit ? producer_commit_transaction(p, 100) : producer_abort_transaction(p, 100),
                  RD_KAFKA_RESP_ERR__TIMED_OUT, ABLKAFKA_TXN_ERROR_RETRIABLE, commit ? "commit(100)" : "abort(100)");
        CHECK(now_ms() - t0 < 1000, "%s: the 100 ms call took %lld ms", current_case, (long long)(now_ms() - t0));
        CHECK_TXN(p, commit ? producer_commit_transaction(p, -1) : producer_abort_transaction(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE,
                  commit ? "commit again" : "abort again");
        CHECK(mock_errors_left(&m, API_END_TXN) == 0, "%s: every injected EndTxn error was consumed", current_case);
        expect_response(r, 0, "the record (delivered before the commit or abort)");
    }
out:
    txn_teardown(&m, p);
}

/* do_test_txn_endtxn_timeout_inflight: EndTxn answered later than socket.timeout.ms, twice
 * (the mock delays it): commit (then abort) with a timeout shorter than that fails with a
 * retriable -185, and called again it resumes and succeeds. Scaled to keep the case short:
 * 0105 uses transaction.timeout.ms 5000 (socket.timeout.ms 4900), delays of 10 s and a 4 s
 * call; here 2000 (1900), 4 s and 1.5 s. 0105 calls again with an infinite timeout; here -1
 * is transaction.timeout.ms (every call is bounded), so the second call gives 15 s. */
static void case_txn_endtxn_timeout_inflight(void) {
    mock_t m;
    const char *opts[] = {"transaction.timeout.ms", "2000", NULL};
    Producer *p = txn_setup(&m, 1, "myTxnId", opts);
    if (p == NULL) goto out;
    CHECK_TXN(p, producer_init_transactions(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    for (int i = 0; i < 2; i++) {
        int commit = i == 0;
        CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
        Response *r = send_to(p, "mytopic", -1, "hi");
        rd_kafka_mock_broker_push_request_error_rtts(m.mc, 1, API_END_TXN, 2, RD_KAFKA_RESP_ERR_NO_ERROR, 4000,
                                                     RD_KAFKA_RESP_ERR_NO_ERROR, 4000);
        sleep_ms(1000);
        CHECK_TXN(p, commit ? producer_commit_transaction(p, 1500) : producer_abort_transaction(p, 1500),
                  RD_KAFKA_RESP_ERR__TIMED_OUT, ABLKAFKA_TXN_ERROR_RETRIABLE, commit ? "commit(1500)" : "abort(1500)");
        CHECK_TXN(p, commit ? producer_commit_transaction(p, 15000) : producer_abort_transaction(p, 15000), 0,
                  ABLKAFKA_TXN_ERROR_NONE, commit ? "commit again" : "abort again");
        CHECK(errors_left_on(&m, 1, API_END_TXN) == 0, "%s: both slow EndTxn were sent", current_case);
        expect_response(r, 0, "the record (delivered before the commit or abort)");
    }
out:
    txn_teardown(&m, p);
}

/* Sends N records (value "TAG i") to TOPIC, partitioner's choice (PARTITION -1) or PARTITION;
 * the Responses go to OUT[0..N). */
static inline void send_n(Producer *p, const char *topic, int32_t partition, const char *tag, int n, Response **out) {
    char value[64];
    for (int i = 0; i < n; i++) {
        snprintf(value, sizeof value, "%s %d", tag, i);
        out[i] = send_to(p, topic, partition, value);
    }
}

/* Waits for N Responses, frees them, and counts those that completed with CODE; every other
 * outcome is printed (up to 3). */
static inline int count_codes(Response **r, int n, int32_t code, const char *what) {
    int hits = 0, shown = 0;
    for (int i = 0; i < n; i++) {
        int32_t got = response_code(r[i]);
        if (got == code)
            hits++;
        else if (shown++ < 3)
            fprintf(stderr, "  %s: record %d completed %d %s\n", what, i, (int)got, or_null(ablkafka_err2name(got)));
    }
    return hits;
}

/* do_test_commit_after_msg_timeout: the partition's leader and the transaction coordinator
 * are down, so the transaction's record times out (message.timeout.ms 5000): commit fails as
 * "abort needed" (class 2; the code is the record's, -192: librdkafka reports _INCONSISTENT,
 * "1 message(s) failed delivery"). With the brokers up again the abort succeeds, and the next
 * transaction commits. */
static void case_commit_after_msg_timeout(void) {
    mock_t m;
    const char *opts[] = {"message.timeout.ms", "5000", "transaction.timeout.ms", "10000", NULL};
    Producer *p = txn_setup(&m, 3, "txnid", opts);
    if (p == NULL) goto out;
    rd_kafka_mock_topic_create(m.mc, "test", 1, 3);
    rd_kafka_mock_coordinator_set(m.mc, "transaction", "txnid", 1);
    rd_kafka_mock_partition_set_leader(m.mc, "test", 0, 2);
    CHECK_TXN(p, producer_init_transactions(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
    rd_kafka_mock_broker_set_down(m.mc, 2);
    rd_kafka_mock_broker_set_down(m.mc, 1);
    Response *lost = send_to(p, "test", -1, "lost");
    CHECK_TXN(p, producer_commit_transaction(p, -1), RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, ABLKAFKA_TXN_ERROR_ABORTABLE,
              "commit with a record timed out");
    expect_response(lost, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, "the record that timed out");
    rd_kafka_mock_broker_set_up(m.mc, 1);
    rd_kafka_mock_broker_set_up(m.mc, 2);
    CHECK_TXN(p, producer_abort_transaction(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "abort");
    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin the second transaction");
    Response *kept = send_to(p, "test", -1, "kept");
    CHECK_TXN(p, producer_commit_transaction(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "commit the second transaction");
    expect_response(kept, 0, "the record of the second transaction");
    producer_close(p, 5000);
    CHECK(records_in(&m, "test", 1) == 1, "%s: the mock holds the one committed record", current_case);
out:
    txn_teardown(&m, p);
}

/* do_test_txn_flush_timeout (librdkafka issue 3041): the records of a transaction cannot be
 * delivered (their partitions have no leader) and the coordinator goes down before commit:
 * commit fails as "abort needed" once they time out (class 2, -192), every one of them failed
 * with -192; with the coordinator up again the abort succeeds, and the same transaction
 * retried with leaders commits: all 300 records delivered, and only they are in the mock.
 * Scaled: message.timeout.ms and transaction.timeout.ms 4000 (0105: 10000). 0105's records
 * carry test ids through its msgver machinery; here they are counted by their Responses. */
static void case_txn_flush_timeout(void) {
    mock_t m;
    const char *opts[] = {"message.timeout.ms", "4000", "transaction.timeout.ms", "4000", "reconnect.backoff.max.ms",
                          "1000", NULL};
    Response *r[300];
    Producer *p = txn_setup(&m, 3, "myTxnId", opts);
    if (p == NULL) goto out;
    rd_kafka_mock_topic_create(m.mc, "myTopic", 2, 3);
    rd_kafka_mock_coordinator_set(m.mc, "transaction", "myTxnId", 2);
    CHECK_TXN(p, producer_init_transactions(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    for (int retry = 0; retry < 2; retry++) {
        int32_t leader = retry ? 1 : -1;
        rd_kafka_mock_partition_set_leader(m.mc, "myTopic", 0, leader);
        rd_kafka_mock_partition_set_leader(m.mc, "myTopic", 1, leader);
        CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
        send_n(p, "myTopic", 0, "p0", 100, r);
        send_n(p, "myTopic", 1, "p1", 100, r + 100);
        send_n(p, "myTopic", -1, "any", 100, r + 200);
        TxnOffsets *offsets = txn_offsets_new();
        txn_offsets_add(offsets, "srctopic4", 3, 12);
        txn_offsets_add(offsets, "srctopic64", 49, 999999111);
        txn_offsets_add(offsets, "srctopic4", 0, 999);
        txn_offsets_add(offsets, "srctopic64", 34, 123456789);
        CHECK_TXN(p, producer_send_offsets_to_transaction(p, offsets, "mygroupid", -1), 0, ABLKAFKA_TXN_ERROR_NONE, "send_offsets");
        txn_offsets_free(offsets);
        sleep_ms(2000);
        if (!retry) {
            rd_kafka_mock_broker_set_down(m.mc, 2);
            CHECK_TXN(p, producer_commit_transaction(p, -1), RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, ABLKAFKA_TXN_ERROR_ABORTABLE,
                      "commit with undeliverable records, coordinator down");
            CHECK(count_codes(r, 300, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, "first try") == 300,
                  "%s: every record of the first try timed out", current_case);
            rd_kafka_mock_broker_set_up(m.mc, 2);
            sleep_ms(2000);
            CHECK_TXN(p, producer_abort_transaction(p, 60000), 0, ABLKAFKA_TXN_ERROR_NONE, "abort");
        } else {
            CHECK_TXN(p, producer_commit_transaction(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "commit of the retried transaction");
            CHECK(count_codes(r, 300, 0, "retry") == 300, "%s: every record of the retry was delivered", current_case);
        }
    }
    producer_close(p, 5000);
    CHECK(records_in(&m, "myTopic", 2) == 300, "%s: the mock holds the 300 records of the retry", current_case);
out:
    txn_teardown(&m, p);
}

/* do_test_txn_broker_down_in_txn: the transaction coordinator (DOWN_COORD) or the
 * partition's leader goes down between two halves of 1000 records and comes back 2 s later:
 * commit with the default timeout succeeds and all 1000 are delivered. */
static void broker_down_in_txn(int down_coord) {
    mock_t m;
    Response *r[1000];
    int32_t coord_id = 1, leader_id = 2, down_id = down_coord ? coord_id : leader_id;
    Producer *p = txn_setup(&m, 3, "txnid", NULL);
    if (p == NULL) goto out;
    rd_kafka_mock_topic_create(m.mc, "test", 1, 3);
    rd_kafka_mock_coordinator_set(m.mc, "transaction", "txnid", coord_id);
    rd_kafka_mock_partition_set_leader(m.mc, "test", 0, leader_id);
    CHECK_TXN(p, producer_init_transactions(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
    send_n(p, "test", -1, "first", 500, r);
    rd_kafka_mock_broker_set_down(m.mc, down_id);
    producer_flush(p, 3000);
    send_n(p, "test", -1, "second", 500, r + 500);
    sleep_ms(2000);
    rd_kafka_mock_broker_set_up(m.mc, down_id);
    CHECK_TXN(p, producer_commit_transaction(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE,
              down_coord ? "commit after the coordinator was down" : "commit after the leader was down");
    CHECK(count_codes(r, 1000, 0, "records") == 1000, "%s: all 1000 records delivered", current_case);
    producer_close(p, 5000);
    CHECK(records_in(&m, "test", 1) == 1000, "%s: the mock holds the 1000 records", current_case);
out:
    txn_teardown(&m, p);
}

static void case_txn_broker_down_in_txn_coord(void) { broker_down_in_txn(1); }
static void case_txn_broker_down_in_txn_leader(void) { broker_down_in_txn(0); }

/* 0105's set_next_coord: the transaction coordinator moves to the next of BROKERS brokers. */
static void set_next_coord(mock_t *m, const char *txnid, int brokers, int32_t *coord) {
    *coord = 1 + (*coord % brokers);
    rd_kafka_mock_coordinator_set(m->mc, "transaction", txnid, *coord);
}

/* do_test_txn_switch_coordinator: 20 transactions of 100 records on 5 brokers, the
 * coordinator moving before each, and within some after the first 50 (delivered) and after
 * the second 50 (not waited for); every fifth commits, the others abort, all succeed. The
 * committed records are all delivered, an aborted transaction's are delivered or purged, and
 * the mock holds exactly the delivered ones. */
static void case_txn_switch_coordinator(void) {
    mock_t m;
    const int brokers = 5, iterations = 20;
    int32_t coord = 1;
    int delivered = 0;
    char what[64];
    Response *r[100];
    Producer *p = txn_setup(&m, brokers, "txnid", NULL);
    if (p == NULL) goto out;
    rd_kafka_mock_topic_create(m.mc, "test", 4, brokers);
    rd_kafka_mock_coordinator_set(m.mc, "transaction", "txnid", coord);
    CHECK_TXN(p, producer_init_transactions(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    for (int i = 0; i < iterations; i++) {
        set_next_coord(&m, "txnid", brokers, &coord);
        snprintf(what, sizeof what, "#%d begin", i);
        CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, what);
        send_n(p, "test", -1, "first", 50, r);
        CHECK(producer_flush(p, 10000) == 0, "%s: #%d: the first 50 records flushed", current_case, i);
        if (!(i % 3)) set_next_coord(&m, "txnid", brokers, &coord);
        send_n(p, "test", -1, "second", 50, r + 50);
        if ((i & 1) || !(i % 8)) set_next_coord(&m, "txnid", brokers, &coord);
        if (!(i % 5)) {
            snprintf(what, sizeof what, "#%d commit", i);
            CHECK_TXN(p, producer_commit_transaction(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, what);
            int ok = count_codes(r, 100, 0, what);
            CHECK(ok == 100, "%s: #%d: %d of 100 committed records delivered", current_case, i, ok);
            delivered += ok;
        } else {
            snprintf(what, sizeof what, "#%d abort", i);
            CHECK_TXN(p, producer_abort_transaction(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, what);
            int ok = 0, purged = 0;
            for (int j = 0; j < 100; j++) {
                int32_t c = response_code(r[j]);
                ok += c == 0;
                purged += c == RD_KAFKA_RESP_ERR__PURGE_QUEUE || c == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT;
            }
            CHECK(ok >= 50 && ok + purged == 100, "%s: #%d: %d delivered, %d purged of 100 (the first 50 delivered)",
                  current_case, i, ok, purged);
            delivered += ok;
        }
    }
    producer_close(p, 5000);
    int held = records_in(&m, "test", 4);
    CHECK(held == delivered, "%s: the mock holds %d records, %d were delivered", current_case, held, delivered);
out:
    txn_teardown(&m, p);
}

/* do_test_txn_switch_coordinator_refresh (librdkafka issue 3571): the coordinator moves
 * right after begin, so AddOffsetsToTxn is answered NOT_COORDINATOR: send_offsets finds the
 * new one and succeeds, and the transaction with 10 records commits. */
static void case_txn_switch_coordinator_refresh(void) {
    mock_t m;
    Response *r[10];
    Producer *p = txn_setup(&m, 3, "txnid", NULL);
    if (p == NULL) goto out;
    rd_kafka_mock_topic_create(m.mc, "test", 4, 3);
    rd_kafka_mock_coordinator_set(m.mc, "transaction", "txnid", 1);
    CHECK_TXN(p, producer_init_transactions(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
    rd_kafka_mock_coordinator_set(m.mc, "transaction", "txnid", 2);
    rd_kafka_mock_start_request_tracking(m.mc);
    TxnOffsets *offsets = txn_offsets_new();
    txn_offsets_add(offsets, "srctopic4", 3, 12);
    txn_offsets_add(offsets, "srctopic64", 29, 99999);
    CHECK_TXN(p, producer_send_offsets_to_transaction(p, offsets, "mygroupid", 20000), 0, ABLKAFKA_TXN_ERROR_NONE,
              "send_offsets to a moved coordinator");
    txn_offsets_free(offsets);
    CHECK(requests_of(&m, API_ADD_OFFSETS_TO_TXN) >= 2, "%s: %d AddOffsetsToTxn, expected the refused one and its retry",
          current_case, requests_of(&m, API_ADD_OFFSETS_TO_TXN));
    send_n(p, "test", -1, "hi", 10, r);
    CHECK(producer_flush(p, 10000) == 0, "%s: flush", current_case);
    CHECK_TXN(p, producer_commit_transaction(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "commit");
    CHECK(count_codes(r, 10, 0, "records") == 10, "%s: the 10 records delivered", current_case);
    producer_close(p, 5000);
    CHECK(records_in(&m, "test", 4) == 10, "%s: the mock holds the 10 records", current_case);
out:
    txn_teardown(&m, p);
}

/* do_test_txns_send_offsets_concurrent_is_retried: AddOffsetsToTxn answered
 * CONCURRENT_TRANSACTIONS six times is retried until it succeeds; the commit succeeds. */
static void case_txns_send_offsets_concurrent_is_retried(void) {
    mock_t m;
    Producer *p = txn_setup(&m, 3, "txnid", NULL);
    if (p == NULL) goto out;
    CHECK_TXN(p, producer_init_transactions(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
    Response *r = send_to(p, "mytopic", -1, "hi");
    producer_flush(p, 5000);
    expect_response(r, 0, "the record");
    rd_kafka_mock_start_request_tracking(m.mc);
    rd_kafka_mock_push_request_errors(m.mc, API_ADD_OFFSETS_TO_TXN, 6, RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
                                      RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS, RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
                                      RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS, RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS,
                                      RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS);
    CHECK_TXN(p, send_one_offset(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "send_offsets through six CONCURRENT_TRANSACTIONS");
    CHECK(requests_of(&m, API_ADD_OFFSETS_TO_TXN) == 7, "%s: %d AddOffsetsToTxn, expected 7", current_case,
          requests_of(&m, API_ADD_OFFSETS_TO_TXN));
    CHECK_TXN(p, producer_commit_transaction(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "commit");
out:
    txn_teardown(&m, p);
}

/* do_test_txns_send_offsets_non_eligible, adapted: librdkafka skips offsets below 0 and an
 * empty (or all-skipped) list sends nothing and succeeds, repeatably. Here an empty list
 * does the same (0, twice, nothing sent), but a negative offset is refused where it is given:
 * txn_offsets_add and producer_send_offset_to_transaction return -186 (class 0, with a
 * reason), nothing is added or sent, and the transaction commits. */
static void case_txns_send_offsets_non_eligible(void) {
    mock_t m;
    Producer *p = txn_setup(&m, 3, "txnid", NULL);
    if (p == NULL) goto out;
    CHECK_TXN(p, producer_init_transactions(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
    Response *r = send_to(p, "mytopic", -1, "hi");
    producer_flush(p, 5000);
    expect_response(r, 0, "the record");
    rd_kafka_mock_start_request_tracking(m.mc);
    TxnOffsets *offsets = txn_offsets_new();
    CHECK(txn_offsets_add(offsets, "srctopic4", 3, -1) == RD_KAFKA_RESP_ERR__INVALID_ARG &&
              txn_offsets_count(offsets) == 0,
          "%s: a negative offset is not added", current_case);
    CHECK_TXN(p, producer_send_offsets_to_transaction(p, offsets, "mygroupid", -1), 0, ABLKAFKA_TXN_ERROR_NONE,
              "send_offsets with an empty list");
    CHECK_TXN(p, producer_send_offsets_to_transaction(p, offsets, "mygroupid", -1), 0, ABLKAFKA_TXN_ERROR_NONE,
              "send_offsets with an empty list, again");
    txn_offsets_free(offsets);
    CHECK_TXN(p, producer_send_offset_to_transaction(p, "mygroupid", "srctopic4", 3, -1, -1),
              RD_KAFKA_RESP_ERR__INVALID_ARG, ABLKAFKA_TXN_ERROR_NONE, "send_offset with offset -1");
    CHECK(strlen(txn_reason(p)) > 0, "%s: the refusal has a reason", current_case);
    CHECK(requests_of(&m, -1) == 0, "%s: %d requests reached the mock, expected none", current_case,
          requests_of(&m, -1));
    CHECK_TXN(p, producer_commit_transaction(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "commit");
out:
    txn_teardown(&m, p);
}

/* A loopback address where nothing listens (a port bound, then closed), written to BUF. */
static int closed_port_address(char *buf, size_t cap) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0;
    if (fd >= 0) close(fd);
    snprintf(buf, cap, "127.0.0.1:%d", (int)ntohs(a.sin_port));
    return CHECK(ok, "a free loopback port");
}

/* do_test_txn_resumable_init: init_transactions honours its timeout and is not infinite:
 * with no broker to reach, init(1000) fails with a retriable -185 after about 1 s, and
 * init(-1) resumes it and fails the same way after 2 x transaction.timeout.ms (4000). Adapted:
 * 0105 configures no broker at all (bootstrap.servers ""), which our builder refuses; here
 * the one bootstrap server is a loopback port where nothing listens. Added: while init must
 * be called again, abort is refused with -173 _CONFLICT. */
static void case_txn_resumable_init(void) {
    char address[64];
    if (!closed_port_address(address, sizeof address)) return;
    const char *opts[] = {"bootstrap.servers", address, "transactional.id", "txnid", "transaction.timeout.ms", "4000",
                          NULL};
    Producer *p = producer_with(address, opts);
    if (p == NULL) return;
    int64_t t0 = now_ms();
    CHECK_TXN(p, producer_init_transactions(p, 1000), RD_KAFKA_RESP_ERR__TIMED_OUT, ABLKAFKA_TXN_ERROR_RETRIABLE, "init(1000)");
    int64_t took = now_ms() - t0;
    CHECK(took >= 900 && took <= 1500, "%s: init(1000) took %lld ms, expected 900..1500", current_case, (long long)took);
    CHECK_TXN(p, producer_abort_transaction(p, 1000), RD_KAFKA_RESP_ERR__CONFLICT, ABLKAFKA_TXN_ERROR_RETRIABLE,
              "abort while init must be called again");
    t0 = now_ms();
    CHECK_TXN(p, producer_init_transactions(p, -1), RD_KAFKA_RESP_ERR__TIMED_OUT, ABLKAFKA_TXN_ERROR_RETRIABLE, "init(-1)");
    took = now_ms() - t0;
    CHECK(took >= 2 * 4000 - 500 && took <= 2 * 4000 + 500, "%s: init(-1) took %lld ms, expected 7500..8500",
          current_case, (long long)took);
    producer_close(p, 2000);
    producer_free(p);
}

/* Calls CALL until it returns 0 (at most 30 times); every failure must be retriable (class 1),
 * and is followed by BETWEEN and a 1 s sleep, as 0105's RETRY_TXN_CALL__. Counts the
 * failures in *FAILED. */
#define RETRY_TXN_CALL(p, call, between, failed)                                                                \
    do {                                                                                                        \
        for (int try_ = 0;; try_++) {                                                                           \
            int32_t rc_ = (call);                                                                               \
            if (rc_ == 0) break;                                                                                \
            int32_t class_ = producer_transaction_error_class(p);                                               \
            if (trace) fprintf(stderr, "  [%lld ms] %s: %d class %d\n", (long long)(now_ms() - case_started_ms), #call,   \
                               (int)rc_, (int)class_);                                                          \
            if (!CHECK(class_ == ABLKAFKA_TXN_ERROR_RETRIABLE && try_ < 30, "%s: %s: %d class %d (%s), expected retriable",  \
                       current_case, #call, (int)rc_, (int)class_, txn_reason(p)))                             \
                break;                                                                                          \
            (*(failed))++;                                                                                      \
            between;                                                                                            \
            sleep_ms(1000);                                                                                     \
        }                                                                                                       \
    } while (0)

/* do_test_txn_resumable_calls_timeout, commit or abort: InitProducerId, Produce,
 * AddOffsetsToTxn and EndTxn are delayed (500 ms twice, 3 s, 400 ms, 1.2 s) beyond 100 ms
 * calls: init and commit (or abort) fail with retriable errors and are called again until
 * they succeed, and between tries the other of commit and abort (abort during init) is
 * refused with -173 _CONFLICT. */
static void resumable_calls_timeout(int do_commit) {
    mock_t m;
    int init_failed = 0, end_failed = 0;
    Producer *p = txn_setup(&m, 1, "txnid", NULL);
    if (p == NULL) goto out;
    rd_kafka_mock_topic_create(m.mc, "test", 1, 1);
    rd_kafka_mock_coordinator_set(m.mc, "transaction", "txnid", 1);
    rd_kafka_mock_broker_push_request_error_rtts(m.mc, 1, API_INIT_PRODUCER_ID, 2, RD_KAFKA_RESP_ERR_NO_ERROR, 500,
                                                 RD_KAFKA_RESP_ERR_NO_ERROR, 500);
    RETRY_TXN_CALL(p, producer_init_transactions(p, 100),
                   CHECK_TXN(p, producer_abort_transaction(p, -1), RD_KAFKA_RESP_ERR__CONFLICT, ABLKAFKA_TXN_ERROR_RETRIABLE,
                             "abort while init is pending"),
                   &init_failed);
    CHECK(init_failed > 0, "%s: init(100) never timed out", current_case);
    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
    rd_kafka_mock_broker_push_request_error_rtts(m.mc, 1, API_PRODUCE, 1, RD_KAFKA_RESP_ERR_NO_ERROR, 3000);
    Response *r = send_to(p, "test", -1, "hi");
    rd_kafka_mock_broker_push_request_error_rtts(m.mc, 1, API_ADD_OFFSETS_TO_TXN, 1, RD_KAFKA_RESP_ERR_NO_ERROR, 400);
    CHECK_TXN(p, producer_send_offset_to_transaction(p, "mygroupid", "srctopic4", 0, 12, -1), 0, ABLKAFKA_TXN_ERROR_NONE,
              "send_offsets");
    rd_kafka_mock_broker_push_request_error_rtts(m.mc, 1, API_END_TXN, 1, RD_KAFKA_RESP_ERR_NO_ERROR, 1200);
    if (do_commit)
        RETRY_TXN_CALL(p, producer_commit_transaction(p, 100),
                       CHECK_TXN(p, producer_abort_transaction(p, -1), RD_KAFKA_RESP_ERR__CONFLICT, ABLKAFKA_TXN_ERROR_RETRIABLE,
                                 "abort while commit is pending"),
                       &end_failed);
    else
        RETRY_TXN_CALL(p, producer_abort_transaction(p, 100),
                       CHECK_TXN(p, producer_commit_transaction(p, -1), RD_KAFKA_RESP_ERR__CONFLICT, ABLKAFKA_TXN_ERROR_RETRIABLE,
                                 "commit while abort is pending"),
                       &end_failed);
    CHECK(end_failed > 0, "%s: the 100 ms commit or abort never timed out", current_case);
    int32_t code = response_code(r);
    if (do_commit)
        CHECK(code == 0, "%s: the committed record completed %d", current_case, (int)code);
    else
        CHECK(code == 0 || code == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT || code == RD_KAFKA_RESP_ERR__PURGE_QUEUE,
              "%s: the aborted record completed %d, expected delivered or purged", current_case, (int)code);
    CHECK(errors_left_on(&m, 1, API_END_TXN) == 0, "%s: the slow EndTxn was sent", current_case);
out:
    txn_teardown(&m, p);
}

static void case_txn_resumable_calls_timeout_commit(void) { resumable_calls_timeout(1); }
static void case_txn_resumable_calls_timeout_abort(void) { resumable_calls_timeout(0); }

/* do_test_txn_concurrent_operations: while the main thread is inside a transaction call, a
 * second thread calls each of the five: the same call is refused with -177
 * _PREV_IN_PROGRESS, every other with -173 _CONFLICT, all retriable and at once (under 100
 * ms). Scaled: the coordinator's round trip is 1.5 s and the second thread starts 0.5 s
 * into the call (0105: 3.5 s and 1 s). The second thread's results are kept and checked by
 * the main thread (the check counters are not atomic). */
enum { CONC_APIS = 5 };
static const char *const conc_apis[CONC_APIS] = {"init_transactions", "begin_transaction", "send_offsets_to_transaction",
                                                 "commit_transaction", "abort_transaction"};
typedef struct {
    Producer *p;
    pthread_mutex_t lock;
    const char *api; /* the main thread's call; NULL: done */
    int rounds;
    const char *main_api[4];
    int32_t code[4][CONC_APIS], cls[4][CONC_APIS];
    int64_t took[4][CONC_APIS];
} conc_t;

static int32_t conc_call(Producer *p, int i) {
    switch (i) {
    case 0: return producer_init_transactions(p, 10000);
    case 1: return producer_begin_transaction(p);
    case 2: return producer_send_offset_to_transaction(p, "mygroupid", "srctopic4", 0, 12, -1);
    case 3: return producer_commit_transaction(p, 10000);
    default: return producer_abort_transaction(p, 10000);
    }
}

static void *conc_thread(void *arg) {
    conc_t *s = arg;
    const char *main_api = NULL;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        if (s->api != NULL && s->api == main_api) { /* still in the last call */
            pthread_mutex_unlock(&s->lock);
            sleep_ms(100);
            continue;
        }
        if ((main_api = s->api) == NULL) {
            pthread_mutex_unlock(&s->lock);
            return NULL;
        }
        sleep_ms(500);
        int round = s->rounds++;
        s->main_api[round] = main_api;
        for (int i = 0; i < CONC_APIS; i++) {
            int64_t t0 = now_ms();
            s->code[round][i] = conc_call(s->p, i);
            s->cls[round][i] = producer_transaction_error_class(s->p);
            s->took[round][i] = now_ms() - t0;
        }
        pthread_mutex_unlock(&s->lock);
    }
}

static void concurrent_operations(int do_commit) {
    mock_t m;
    conc_t s;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.lock, NULL);
    const char *opts[] = {"socket.connection.setup.timeout.ms", "15000", NULL};
    Producer *p = txn_setup(&m, 1, "txnid", opts);
    if (p == NULL) goto out;
    rd_kafka_mock_broker_set_rtt(m.mc, 1, 1500);
    rd_kafka_mock_topic_create(m.mc, "test", 1, 1);
    s.p = p;
    pthread_t thread;
    pthread_mutex_lock(&s.lock);
    pthread_create(&thread, NULL, conc_thread, &s);
#define START_CALL(name) (s.api = (name), pthread_mutex_unlock(&s.lock))
#define END_CALL() pthread_mutex_lock(&s.lock)
    START_CALL("init_transactions");
    CHECK_TXN(p, producer_init_transactions(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    END_CALL();
    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
    Response *r[10];
    send_n(p, "test", -1, "hi", 10, r);
    START_CALL("send_offsets_to_transaction");
    CHECK_TXN(p, producer_send_offset_to_transaction(p, "mygroupid", "srctopic4", 0, 12, -1), 0, ABLKAFKA_TXN_ERROR_NONE,
              "send_offsets");
    END_CALL();
    if (do_commit) {
        START_CALL("commit_transaction");
        CHECK_TXN(p, producer_commit_transaction(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "commit_transaction");
    } else {
        START_CALL("abort_transaction");
        CHECK_TXN(p, producer_abort_transaction(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "abort_transaction");
    }
    END_CALL();
    s.api = NULL;
    pthread_mutex_unlock(&s.lock);
    pthread_join(thread, NULL);
#undef START_CALL
#undef END_CALL
    CHECK(s.rounds == 3, "%s: the second thread called during %d of the 3 blocking calls", current_case, s.rounds);
    for (int round = 0; round < s.rounds; round++) {
        for (int i = 0; i < CONC_APIS; i++) {
            int same = strcmp(conc_apis[i], s.main_api[round]) == 0;
            int32_t want = same ? RD_KAFKA_RESP_ERR__PREV_IN_PROGRESS : RD_KAFKA_RESP_ERR__CONFLICT;
            CHECK(s.code[round][i] == want && s.cls[round][i] == ABLKAFKA_TXN_ERROR_RETRIABLE && s.took[round][i] < 100,
                  "%s: %s during %s: %d class %d after %lld ms, expected %d class 1 at once", current_case,
                  conc_apis[i], s.main_api[round], (int)s.code[round][i], (int)s.cls[round][i],
                  (long long)s.took[round][i], (int)want);
        }
    }
    int ok = count_codes(r, 10, 0, "records");
    if (do_commit) CHECK(ok == 10, "%s: %d of the 10 committed records delivered", current_case, ok);
out:
    txn_teardown(&m, p);
    pthread_mutex_destroy(&s.lock);
}

static void case_txn_concurrent_operations_commit(void) { concurrent_operations(1); }
static void case_txn_concurrent_operations_abort(void) { concurrent_operations(0); }

/* do_test_txn_auth_failure, for InitProducerId and for FindCoordinator: answered
 * CLUSTER_AUTHORIZATION_FAILED, init_transactions fails with it, fatally (class 3, not
 * retriable). */
static void case_txn_auth_failure(void) {
    const int16_t apis[] = {API_INIT_PRODUCER_ID, API_FIND_COORDINATOR};
    for (int a = 0; a < 2; a++) {
        mock_t m;
        fprintf(stderr, "  on %s\n", a == 0 ? "InitProducerId" : "FindCoordinator");
        Producer *p = txn_setup(&m, 3, "txnid", NULL);
        if (p == NULL) goto next;
        rd_kafka_mock_push_request_errors(m.mc, apis[a], 1, RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED);
        CHECK_TXN(p, producer_init_transactions(p, 5000), RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED, ABLKAFKA_TXN_ERROR_FATAL,
                  "init_transactions refused");
    next:
        txn_teardown(&m, p);
    }
}

/* do_test_txn_addparts_req_multi (librdkafka ESC-4410): with the coordinator slow (1 s),
 * records to partition 0, then 1 half a second later, then 2 once both were added, each
 * need their own AddPartitionsToTxn; none may hang: the commit succeeds with all three
 * delivered. Adapted: 0105 waits for two AddPartitionsToTxn responses with an interceptor;
 * here it waits for the two records to be delivered (a record goes only once its partition
 * was added), and the mock's request log counts the AddPartitionsToTxn requests. */
static void case_txn_addparts_req_multi(void) {
    mock_t m;
    const char *opts[] = {"linger.ms", "0", "message.timeout.ms", "9000", NULL};
    Producer *p = txn_setup(&m, 3, "txnid", opts);
    if (p == NULL) goto out;
    rd_kafka_mock_coordinator_set(m.mc, "transaction", "txnid", 2);
    for (int i = 0; i < 3; i++) rd_kafka_mock_partition_set_leader(m.mc, "mytopic", i, 1);
    CHECK_TXN(p, producer_init_transactions(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin the seed transaction");
    Response *seed = send_to(p, "mytopic", -1, "seed");
    CHECK_TXN(p, producer_commit_transaction(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "commit the seed transaction");
    expect_response(seed, 0, "the seed record");

    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
    rd_kafka_mock_start_request_tracking(m.mc);
    rd_kafka_mock_broker_set_rtt(m.mc, 2, 1000);
    Response *r0 = send_to(p, "mytopic", 0, "hi");
    sleep_ms(500);
    Response *r1 = send_to(p, "mytopic", 1, "hi");
    CHECK(response_wait(r0, 10000) == 1 && response_wait(r1, 10000) == 1, "%s: the first two records completed",
          current_case);
    Response *r2 = send_to(p, "mytopic", 2, "hi");
    sleep_ms(1000);
    CHECK_TXN(p, producer_commit_transaction(p, 10000), 0, ABLKAFKA_TXN_ERROR_NONE, "commit");
    expect_response(r0, 0, "the record to partition 0");
    expect_response(r1, 0, "the record to partition 1");
    expect_response(r2, 0, "the record to partition 2");
    CHECK(requests_of(&m, API_ADD_PARTITIONS_TO_TXN) == 3, "%s: %d AddPartitionsToTxn, expected one per partition",
          current_case, requests_of(&m, API_ADD_PARTITIONS_TO_TXN));
    rd_kafka_mock_broker_set_rtt(m.mc, 2, 0);
    producer_close(p, 5000);
    CHECK(records_in(&m, "mytopic", 4) == 4, "%s: the mock holds the 4 records", current_case);
out:
    txn_teardown(&m, p);
}

/* do_test_txns_not_supported: a cluster without InitProducerId (the mock's ApiVersions
 * leaves it out): init_transactions fails with -165 _UNSUPPORTED_FEATURE, fatally as in
 * librdkafka (its idempotence code raises the fatal error), and a later send fails with
 * -150 _FATAL. Adapted: 0105 adds the brokers after creating the producer; here they are the
 * bootstrap servers. Added: the class (3). */
static void case_txns_not_supported(void) {
    mock_t m;
    if (!mock_start(&m, 3)) return;
    rd_kafka_mock_set_apiversion(m.mc, API_INIT_PRODUCER_ID, -1, -1);
    const char *opts[] = {"transactional.id", "myxnid", NULL};
    Producer *p = producer_with(m.bootstraps, opts);
    if (p == NULL) goto out;
    CHECK_TXN(p, producer_init_transactions(p, 5000), RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE, ABLKAFKA_TXN_ERROR_FATAL,
              "init_transactions without InitProducerId");
    expect_response(send_to(p, "test", -1, "test"), RD_KAFKA_RESP_ERR__FATAL, "a send after the fatal error");
out:
    txn_teardown(&m, p);
}

/* do_test_txns_no_timeout_crash (librdkafka issue 2913): with socket.timeout.ms 1000 and
 * every broker answering after 2 s, send_offsets fails with a retriable -185 (no crash);
 * with the delay gone, called again it succeeds. -1 is transaction.timeout.ms (5000) here,
 * as in librdkafka, where send_offsets is capped by the transaction's remaining time. */
static void case_txns_no_timeout_crash(void) {
    mock_t m;
    const char *opts[] = {"socket.timeout.ms", "1000", "transaction.timeout.ms", "5000", NULL};
    Producer *p = txn_setup(&m, 3, "txnid", opts);
    if (p == NULL) goto out;
    CHECK_TXN(p, producer_init_transactions(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
    Response *r = send_to(p, "mytopic", -1, "hi");
    producer_flush(p, -1);
    expect_response(r, 0, "the record");
    mock_all_rtt(&m, 2000);
    CHECK_TXN(p, send_one_offset(p, -1), RD_KAFKA_RESP_ERR__TIMED_OUT, ABLKAFKA_TXN_ERROR_RETRIABLE,
              "send_offsets with every answer later than socket.timeout.ms");
    mock_all_rtt(&m, 0);
    CHECK_TXN(p, send_one_offset(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "send_offsets again");
out:
    txn_teardown(&m, p);
}

/* do_test_txn_resumable_calls_timeout_error: EndTxn is answered INVALID_TXN_STATE after 2 s;
 * commit(500) fails with a retriable -185, and when it is called again after the answer came
 * it returns the fatal INVALID_TXN_STATE (class 3). 0105's abort variant calls commit too, so
 * it is this same scenario and is not repeated. */
static void case_txn_resumable_calls_timeout_error(void) {
    mock_t m;
    Producer *p = txn_setup(&m, 1, "txnid", NULL);
    if (p == NULL) goto out;
    rd_kafka_mock_topic_create(m.mc, "test", 1, 1);
    rd_kafka_mock_coordinator_set(m.mc, "transaction", "txnid", 1);
    CHECK_TXN(p, producer_init_transactions(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
    Response *r = send_to(p, "test", -1, "hi");
    rd_kafka_mock_broker_push_request_error_rtts(m.mc, 1, API_END_TXN, 1, RD_KAFKA_RESP_ERR_INVALID_TXN_STATE, 2000);
    CHECK_TXN(p, producer_commit_transaction(p, 500), RD_KAFKA_RESP_ERR__TIMED_OUT, ABLKAFKA_TXN_ERROR_RETRIABLE, "commit(500)");
    sleep_ms(3000);
    CHECK_TXN(p, producer_commit_transaction(p, -1), RD_KAFKA_RESP_ERR_INVALID_TXN_STATE, ABLKAFKA_TXN_ERROR_FATAL,
              "commit again after EndTxn failed");
    expect_response(r, 0, "the record (delivered before EndTxn)");
    CHECK_TXN(p, producer_abort_transaction(p, 1000), RD_KAFKA_RESP_ERR_INVALID_TXN_STATE, ABLKAFKA_TXN_ERROR_FATAL,
              "abort after the fatal error");
out:
    txn_teardown(&m, p);
}

/* do_test_txn_slow_reinit, without and with a sleep: KIP-360 recovery (UNKNOWN_PRODUCER_ID
 * on Produce) where the coordinator answers the epoch bump's InitProducerId slowly: commit
 * fails as "abort needed", abort(100) fails with a retriable -185, and abort(-1), called at
 * once or after the bump had time to finish in the background, succeeds; a new transaction
 * commits. Scaled: the InitProducerId delay is 3 s and the sleep 4 s (0105: 10 s, 12 s). */
static void slow_reinit(int with_sleep) {
    mock_t m;
    const char *opts[] = {"batch.num.messages", "1", NULL};
    Producer *p = txn_setup(&m, 3, "myTxnId", opts);
    if (p == NULL) goto out;
    rd_kafka_mock_coordinator_set(m.mc, "transaction", "myTxnId", 2);
    CHECK_TXN(p, producer_init_transactions(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
    Response *first = send_to(p, "mytopic", 0, "hi");
    producer_flush(p, -1);
    expect_response(first, 0, "the first record");
    rd_kafka_mock_broker_push_request_error_rtts(m.mc, 2, API_INIT_PRODUCER_ID, 1, RD_KAFKA_RESP_ERR_NO_ERROR, 3000);
    rd_kafka_mock_push_request_errors(m.mc, API_PRODUCE, 1, RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID);
    Response *second = send_to(p, "mytopic", 0, "hi");
    CHECK_TXN(p, producer_commit_transaction(p, -1), RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID, ABLKAFKA_TXN_ERROR_ABORTABLE,
              "commit after UNKNOWN_PRODUCER_ID");
    expect_response(second, RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID, "the record answered UNKNOWN_PRODUCER_ID");
    CHECK_TXN(p, producer_abort_transaction(p, 100), RD_KAFKA_RESP_ERR__TIMED_OUT, ABLKAFKA_TXN_ERROR_RETRIABLE,
              "abort(100) while the epoch bump is slow");
    if (with_sleep) sleep_ms(4000);
    CHECK_TXN(p, producer_abort_transaction(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "abort again");
    CHECK(errors_left_on(&m, 2, API_INIT_PRODUCER_ID) == 0, "%s: the slow InitProducerId was sent", current_case);
    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin after the abort");
    Response *third = send_to(p, "mytopic", 0, "hi");
    CHECK_TXN(p, producer_commit_transaction(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "commit of the new transaction");
    expect_response(third, 0, "the record of the new transaction");
out:
    txn_teardown(&m, p);
}

static void case_txn_slow_reinit(void) { slow_reinit(0); }
static void case_txn_slow_reinit_sleep(void) { slow_reinit(1); }

/* do_test_out_of_order_seq (librdkafka issue 3575): with the leader slow (2 s), three records
 * in flight are answered NOT_LEADER_FOR_PARTITION twice and then OUT_OF_ORDER_SEQUENCE_NUMBER:
 * the transaction becomes abortable (not fatal): a record sent then fails at once with -172
 * _STATE, commit fails with class 2, abort succeeds, and a new transaction commits. */
static void case_out_of_order_seq(void) {
    mock_t m;
    const char *opts[] = {"batch.num.messages", "1", NULL};
    Response *r[3];
    Producer *p = txn_setup(&m, 3, "myTxnId", opts);
    if (p == NULL) goto out;
    rd_kafka_mock_coordinator_set(m.mc, "transaction", "myTxnId", 1);
    rd_kafka_mock_partition_set_leader(m.mc, "mytopic", 0, 2);
    CHECK_TXN(p, producer_init_transactions(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
    Response *seed = send_to(p, "mytopic", 0, "hi");
    producer_flush(p, -1);
    expect_response(seed, 0, "the seeding record");
    rd_kafka_mock_broker_set_rtt(m.mc, 2, 2000);
    rd_kafka_mock_push_request_errors(m.mc, API_PRODUCE, 3, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
    send_n(p, "mytopic", 0, "hi", 3, r);
    /* Until the OUT_OF_ORDER_SEQUENCE_NUMBER answer has made the transaction abortable
     * (three attempts of 2 s each; the mock's thread may add a second): probed with
     * begin_transaction, which changes nothing and returns the abortable error (class 2)
     * once there is one, _STATE (class 0) before. */
    int64_t probe_until = now_ms() + 20000;
    while (now_ms() < probe_until) {
        producer_begin_transaction(p);
        if (producer_transaction_error_class(p) == ABLKAFKA_TXN_ERROR_ABORTABLE) break;
        sleep_ms(100);
    }
    CHECK(producer_transaction_error_class(p) == ABLKAFKA_TXN_ERROR_ABORTABLE, "%s: the transaction became abortable within 20 s",
          current_case);
    rd_kafka_mock_broker_set_rtt(m.mc, 2, 0);
    Response *late = send_to(p, "mytopic", 0, "hi");
    CHECK(response_completed(late) == 1 && response_error_code(late) == RD_KAFKA_RESP_ERR__STATE,
          "%s: a record sent in the abortable state completed %d with %d, expected -172 at once", current_case,
          response_completed(late), (int)response_error_code(late));
    response_free(late);
    int32_t rc = producer_commit_transaction(p, -1);
    CHECK(rc != 0 && producer_transaction_error_class(p) == ABLKAFKA_TXN_ERROR_ABORTABLE,
          "%s: commit in the abortable state returned %d class %d (%s), expected an error of class 2", current_case,
          (int)rc, (int)producer_transaction_error_class(p), txn_reason(p));
    CHECK_TXN(p, producer_abort_transaction(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "abort");
    int ok = count_codes(r, 3, 0, "the three records");
    CHECK(ok < 3, "%s: all three records delivered, though one was answered OUT_OF_ORDER_SEQUENCE_NUMBER",
          current_case);
    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin after the abort");
    Response *again = send_to(p, "mytopic", 0, "hi");
    CHECK_TXN(p, producer_commit_transaction(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "commit of the new transaction");
    expect_response(again, 0, "the record of the new transaction");
out:
    txn_teardown(&m, p);
}

/* do_test_disconnected_group_coord, without and with a coordinator switch: the consumer
 * group's coordinator (broker 2) is down when send_offsets starts; 3 s later a second thread
 * brings it up, or moves the group to broker 3: send_offsets succeeds within 10 s and the
 * transaction commits. Adapted: "mytopic" has the 4 partitions every case here creates (0105
 * makes it with 1); its partition 0, led by broker 3, is the one used. */
typedef struct {
    mock_t *m;
    int switch_coord;
} delayed_up_t;

static void *delayed_up(void *arg) {
    delayed_up_t *s = arg;
    sleep_ms(3000);
    if (s->switch_coord)
        rd_kafka_mock_coordinator_set(s->m->mc, "group", "myGrpId", 3);
    else
        rd_kafka_mock_broker_set_up(s->m->mc, 2);
    return NULL;
}

static void disconnected_group_coord(int switch_coord) {
    mock_t m;
    Producer *p = txn_setup(&m, 3, "myTxnId", NULL);
    if (p == NULL) goto out;
    rd_kafka_mock_coordinator_set(m.mc, "transaction", "myTxnId", 1);
    rd_kafka_mock_coordinator_set(m.mc, "group", "myGrpId", 2);
    rd_kafka_mock_partition_set_leader(m.mc, "mytopic", 0, 3);
    rd_kafka_mock_broker_set_down(m.mc, 2);
    CHECK_TXN(p, producer_init_transactions(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
    Response *r = send_to(p, "mytopic", 0, "hi");
    producer_flush(p, -1);
    expect_response(r, 0, "the record");
    sleep_ms(1000);
    delayed_up_t s = {&m, switch_coord};
    pthread_t thread;
    pthread_create(&thread, NULL, delayed_up, &s);
    int64_t t0 = now_ms();
    CHECK_TXN(p, producer_send_offset_to_transaction(p, "myGrpId", "srctopic4", 0, 1, -1), 0, ABLKAFKA_TXN_ERROR_NONE,
              "send_offsets with the group coordinator down");
    CHECK(now_ms() - t0 <= 10000, "%s: send_offsets took %lld ms, expected at most 10 s", current_case,
          (long long)(now_ms() - t0));
    pthread_join(thread, NULL);
    CHECK_TXN(p, producer_commit_transaction(p, -1), 0, ABLKAFKA_TXN_ERROR_NONE, "commit");
out:
    txn_teardown(&m, p);
}

static void case_disconnected_group_coord(void) { disconnected_group_coord(0); }
static void case_disconnected_group_coord_switch(void) { disconnected_group_coord(1); }

/* The bad input rules (not 0105 scenarios): each refused call returns -186 with
 * class 0 and a reason naming what was wrong, changes nothing (the transaction stays open
 * and commits after) and sends nothing (the mock's request log stays empty). */
static Producer *bad_input_setup(mock_t *m) {
    Producer *p = txn_setup(m, 3, "txnid", NULL);
    if (p == NULL) return NULL;
    CHECK_TXN(p, producer_init_transactions(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
    rd_kafka_mock_start_request_tracking(m->mc);
    return p;
}

/* Checks that the last call was refused with -186 (RC), a reason mentioning WORD. */
#define CHECK_REFUSED(p, rc, word, what)                                                                        \
    do {                                                                                                        \
        CHECK_TXN(p, rc, RD_KAFKA_RESP_ERR__INVALID_ARG, ABLKAFKA_TXN_ERROR_NONE, what);                                     \
        CHECK(strstr(txn_reason(p), word) != NULL, "%s: %s: the reason \"%s\" does not name %s", current_case,  \
              what, txn_reason(p), word);                                                                       \
    } while (0)

static void bad_input_done(mock_t *m, Producer *p) {
    CHECK(requests_of(m, -1) == 0, "%s: %d requests reached the mock, expected none", current_case, requests_of(m, -1));
    CHECK_TXN(p, producer_commit_transaction(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "commit (the transaction is still open)");
}

/* A NULL or empty group id. */
static void case_txn_bad_input_group_id(void) {
    mock_t m;
    Producer *p = bad_input_setup(&m);
    if (p == NULL) goto out;
    TxnOffsets *offsets = txn_offsets_new();
    CHECK(txn_offsets_add(offsets, "srctopic4", 3, 12) == 0, "%s: txn_offsets_add", current_case);
    CHECK_REFUSED(p, producer_send_offset_to_transaction(p, NULL, "srctopic4", 3, 12, -1), "group_id",
                  "send_offset with a NULL group id");
    CHECK_REFUSED(p, producer_send_offset_to_transaction(p, "", "srctopic4", 3, 12, -1), "group_id",
                  "send_offset with an empty group id");
    CHECK_REFUSED(p, producer_send_offsets_to_transaction(p, offsets, NULL, -1), "group_id",
                  "send_offsets with a NULL group id");
    CHECK_REFUSED(p, producer_send_offsets_to_transaction(p, offsets, "", -1), "group_id",
                  "send_offsets with an empty group id");
    txn_offsets_free(offsets);
    bad_input_done(&m, p);
out:
    txn_teardown(&m, p);
}

/* A NULL or empty topic. */
static void case_txn_bad_input_topic(void) {
    mock_t m;
    Producer *p = bad_input_setup(&m);
    if (p == NULL) goto out;
    CHECK_REFUSED(p, producer_send_offset_to_transaction(p, "mygroupid", NULL, 3, 12, -1), "topic",
                  "send_offset with a NULL topic");
    CHECK_REFUSED(p, producer_send_offset_to_transaction(p, "mygroupid", "", 3, 12, -1), "topic",
                  "send_offset with an empty topic");
    TxnOffsets *offsets = txn_offsets_new();
    CHECK(txn_offsets_add(offsets, NULL, 3, 12) == RD_KAFKA_RESP_ERR__INVALID_ARG &&
              txn_offsets_add(offsets, "", 3, 12) == RD_KAFKA_RESP_ERR__INVALID_ARG && txn_offsets_count(offsets) == 0,
          "%s: txn_offsets_add refuses a NULL or empty topic and adds nothing", current_case);
    txn_offsets_free(offsets);
    bad_input_done(&m, p);
out:
    txn_teardown(&m, p);
}

/* A negative partition. */
static void case_txn_bad_input_partition(void) {
    mock_t m;
    Producer *p = bad_input_setup(&m);
    if (p == NULL) goto out;
    CHECK_REFUSED(p, producer_send_offset_to_transaction(p, "mygroupid", "srctopic4", -1, 12, -1), "partition",
                  "send_offset with partition -1");
    CHECK_REFUSED(p, producer_send_offset_to_transaction(p, "mygroupid", "srctopic4", INT32_MIN, 12, -1), "partition",
                  "send_offset with partition INT32_MIN");
    TxnOffsets *offsets = txn_offsets_new();
    CHECK(txn_offsets_add(offsets, "srctopic4", -1, 12) == RD_KAFKA_RESP_ERR__INVALID_ARG &&
              txn_offsets_count(offsets) == 0,
          "%s: txn_offsets_add refuses a negative partition and adds nothing", current_case);
    txn_offsets_free(offsets);
    bad_input_done(&m, p);
out:
    txn_teardown(&m, p);
}

/* A negative offset. */
static void case_txn_bad_input_offset(void) {
    mock_t m;
    Producer *p = bad_input_setup(&m);
    if (p == NULL) goto out;
    CHECK_REFUSED(p, producer_send_offset_to_transaction(p, "mygroupid", "srctopic4", 3, -1, -1), "offset",
                  "send_offset with offset -1");
    CHECK_REFUSED(p, producer_send_offset_to_transaction(p, "mygroupid", "srctopic4", 3, INT64_MIN, -1), "offset",
                  "send_offset with offset INT64_MIN");
    TxnOffsets *offsets = txn_offsets_new();
    CHECK(txn_offsets_add(offsets, "srctopic4", 3, -1) == RD_KAFKA_RESP_ERR__INVALID_ARG &&
              txn_offsets_count(offsets) == 0,
          "%s: txn_offsets_add refuses a negative offset and adds nothing", current_case);
    txn_offsets_free(offsets);
    bad_input_done(&m, p);
out:
    txn_teardown(&m, p);
}

/* A timeout below -1, for every call that takes one; init's refusal leaves the producer
 * uninitialized (it is initialized after, with nothing sent before). */
static void case_txn_bad_input_timeout(void) {
    mock_t m;
    Producer *p = txn_setup(&m, 3, "txnid", NULL);
    if (p == NULL) goto out;
    rd_kafka_mock_start_request_tracking(m.mc);
    CHECK_REFUSED(p, producer_init_transactions(p, -2), "timeout_ms", "init(-2)");
    /* Only the transaction's requests: the producer's own first Metadata (sent as it is
     * built) may reach the mock after the tracking started, and did once in CI. */
    int txn_requests = requests_of(&m, API_FIND_COORDINATOR) + requests_of(&m, API_INIT_PRODUCER_ID);
    CHECK(txn_requests == 0, "%s: %d FindCoordinator/InitProducerId requests after init(-2), expected none", current_case,
          txn_requests);
    CHECK_TXN(p, producer_begin_transaction(p), RD_KAFKA_RESP_ERR__STATE, ABLKAFKA_TXN_ERROR_NONE, "begin before init");
    CHECK_TXN(p, producer_init_transactions(p, 5000), 0, ABLKAFKA_TXN_ERROR_NONE, "init_transactions");
    CHECK_TXN(p, producer_begin_transaction(p), 0, ABLKAFKA_TXN_ERROR_NONE, "begin_transaction");
    rd_kafka_mock_clear_requests(m.mc);
    TxnOffsets *offsets = txn_offsets_new();
    txn_offsets_add(offsets, "srctopic4", 3, 12);
    CHECK_REFUSED(p, producer_send_offset_to_transaction(p, "mygroupid", "srctopic4", 3, 12, -2), "timeout_ms",
                  "send_offset(-2)");
    CHECK_REFUSED(p, producer_send_offsets_to_transaction(p, offsets, "mygroupid", INT32_MIN), "timeout_ms",
                  "send_offsets(INT32_MIN)");
    txn_offsets_free(offsets);
    CHECK_REFUSED(p, producer_commit_transaction(p, -2), "timeout_ms", "commit(-2)");
    CHECK_REFUSED(p, producer_abort_transaction(p, -1000), "timeout_ms", "abort(-1000)");
    bad_input_done(&m, p);
out:
    txn_teardown(&m, p);
}

/* ------------------------------------------------------------------ main */

static const case_t cases[] = {
    {"txn_recoverable_errors", case_txn_recoverable_errors, 60},
    {"txn_state_and_abort", case_txn_state_and_abort, 60},
    {"txn_fatal_idempo_errors", case_txn_fatal_idempo_errors, 30},
    {"txn_fenced_reinit", case_txn_fenced_reinit, 30},
    {"txn_fenced_abort", case_txn_fenced_abort, 30},
    {"txn_req_cnt", case_txn_req_cnt, 30},
    {"txn_requires_abort_errors", case_txn_requires_abort_errors, 30},
    {"txn_endtxn_errors", case_txn_endtxn_errors, 60},
    {"txn_endtxn_infinite", case_txn_endtxn_infinite, 30},
    {"txn_endtxn_timeout", case_txn_endtxn_timeout, 30},
    {"txn_endtxn_timeout_inflight", case_txn_endtxn_timeout_inflight, 40},
    {"commit_after_msg_timeout", case_commit_after_msg_timeout, 40},
    {"txn_flush_timeout", case_txn_flush_timeout, 40},
    {"txn_broker_down_in_txn_coord", case_txn_broker_down_in_txn_coord, 40},
    {"txn_broker_down_in_txn_leader", case_txn_broker_down_in_txn_leader, 40},
    {"txn_switch_coordinator", case_txn_switch_coordinator, 60},
    {"txn_switch_coordinator_refresh", case_txn_switch_coordinator_refresh, 30},
    {"txns_send_offsets_concurrent_is_retried", case_txns_send_offsets_concurrent_is_retried, 30},
    {"txns_send_offsets_non_eligible", case_txns_send_offsets_non_eligible, 30},
    {"txn_resumable_init", case_txn_resumable_init, 30},
    {"txn_resumable_calls_timeout_commit", case_txn_resumable_calls_timeout_commit, 40},
    {"txn_resumable_calls_timeout_abort", case_txn_resumable_calls_timeout_abort, 40},
    {"txn_concurrent_operations_commit", case_txn_concurrent_operations_commit, 60},
    {"txn_concurrent_operations_abort", case_txn_concurrent_operations_abort, 60},
    {"txn_auth_failure", case_txn_auth_failure, 30},
    {"txn_addparts_req_multi", case_txn_addparts_req_multi, 30},
    {"txns_not_supported", case_txns_not_supported, 30},
    {"txns_no_timeout_crash", case_txns_no_timeout_crash, 30},
    {"txn_resumable_calls_timeout_error", case_txn_resumable_calls_timeout_error, 30},
    {"txn_slow_reinit", case_txn_slow_reinit, 30},
    {"txn_slow_reinit_sleep", case_txn_slow_reinit_sleep, 30},
    {"out_of_order_seq", case_out_of_order_seq, 30},
    {"disconnected_group_coord", case_disconnected_group_coord, 30},
    {"disconnected_group_coord_switch", case_disconnected_group_coord_switch, 30},
    {"txn_bad_input_group_id", case_txn_bad_input_group_id, 30},
    {"txn_bad_input_topic", case_txn_bad_input_topic, 30},
    {"txn_bad_input_partition", case_txn_bad_input_partition, 30},
    {"txn_bad_input_offset", case_txn_bad_input_offset, 30},
    {"txn_bad_input_timeout", case_txn_bad_input_timeout, 30},
};
int main(int argc, char **argv) {
    trace = getenv("TXN_MOCK_TRACE") != NULL;
    readback_check_crcs = 0; /* the mock's transaction markers carry no CRC */
    return run_cases(cases, sizeof cases / sizeof cases[0], argc, argv, "txn_mock");
}
