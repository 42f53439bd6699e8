/*
 * receipts BROKERS TOPIC
 *
 * The life of a Response:
 *   1. linger: with linger.ms=50 and no flush, receipts complete by themselves
 *      (response_wait with a bound, and with -1 = forever); a pending receipt reads
 *      as not completed, success 0, code 0, no message, offset and timestamp -1;
 *   2. flush: with linger.ms=10000, flush sends what lingers now and returns 0 long
 *      before the linger would have passed; every receipt is completed when it returns;
 *   3. close: receipts stay readable after producer_close, with unchanged values, and
 *      are freed afterwards; a send after close completes at once with -197;
 *   4. free: response_free before completion is allowed, also when the producer then
 *      delivers or closes; close(0) with lingering messages fails them with -197 and
 *      says so in its return value;
 *   5. batch triggers: with linger.ms=10000 and no flush, a batch still goes out as soon
 *      as it holds batch.num.messages records, or batch.size bytes.
 *   6. linger.ms=0: records sent one at a time, each awaited (the calling thread writes
 *      each request itself), then a burst of records without waiting (most batched by
 *      the network thread while requests are in flight): every receipt is delivered, and
 *      within each partition the offsets follow the send order, one apart.
 */
#include "common.h"

#include <inttypes.h>
#include <stdlib.h>

#define N_LINGER 100
#define N_FLUSH 200
#define N_CLOSE 50

static Response *send_text(Producer *p, const char *topic, const char *key, const char *value) {
    return producer_send(p, topic, key, strlen(key), value, strlen(value));
}

/* A delivered receipt: success, no error, plausible position. */
static int delivered(const Response *r, const char *what, int i) {
    int ok = response_completed(r) == 1 && response_success(r) == 1 && response_error_code(r) == 0 &&
             response_error_message(r) == NULL && response_partition(r) >= 0 && response_offset(r) >= 0 &&
             response_timestamp(r) > 0;
    if (!ok) {
        int32_t code = response_error_code(r);
        fprintf(stderr,
                "  %s %d: completed=%d success=%d code=%d (%s) message=%s partition=%d offset=%" PRId64
                " timestamp=%" PRId64 "\n",
                what, i, (int)response_completed(r), (int)response_success(r), (int)code,
                or_null(ablkafka_err2name(code)), or_null(response_error_message(r)), (int)response_partition(r),
                response_offset(r), response_timestamp(r));
    }
    return ok;
}

static void test_linger(const char *brokers, const char *topic) {
    const char *opts[] = {"linger.ms", "50", "message.timeout.ms", "30000", NULL};
    Producer *p = producer_with(brokers, opts);
    if (p == NULL) return;

    Response *r[N_LINGER];
    char key[32], value[64];
    int64_t t0 = now_ms();
    for (int i = 0; i < N_LINGER; i++) {
        snprintf(key, sizeof key, "linger-%d", i % 7);
        snprintf(value, sizeof value, "linger value %d", i);
        r[i] = send_text(p, topic, key, value);
        if (!CHECK(r[i] != NULL, "send %d returned NULL", i)) {
            producer_free(p);
            return;
        }
    }
    /* The first message cannot have been delivered yet: it lingers for 50 ms. */
    CHECK(response_completed(r[0]) == 0, "receipt complete right after send despite linger.ms=50");
    CHECK(response_success(r[0]) == 0, "pending receipt: success %d", (int)response_success(r[0]));
    CHECK(response_error_code(r[0]) == 0, "pending receipt: code %d", (int)response_error_code(r[0]));
    CHECK(response_error_message(r[0]) == NULL, "pending receipt: message %s",
          or_null(response_error_message(r[0])));
    CHECK(response_offset(r[0]) == -1, "pending receipt: offset %" PRId64, response_offset(r[0]));
    CHECK(response_timestamp(r[0]) == -1, "pending receipt: timestamp %" PRId64, response_timestamp(r[0]));
    CHECK(response_wait(r[0], 0) == 0, "response_wait(0) on a pending receipt returned %d",
          (int)response_wait(r[0], 0));

    /* No flush: linger alone must deliver. The last one waits forever (-1). */
    int bad = 0;
    for (int i = 0; i < N_LINGER - 1; i++) {
        if (response_wait(r[i], 10000) != 1 || !delivered(r[i], "linger", i)) bad++;
    }
    CHECK(bad == 0, "%d of %d receipts not delivered within 10 s without flush", bad, N_LINGER - 1);
    CHECK(response_wait(r[N_LINGER - 1], -1) == 1, "response_wait(-1) did not return 1");
    CHECK(delivered(r[N_LINGER - 1], "linger", N_LINGER - 1), "last linger receipt not delivered");
    int64_t took = now_ms() - t0;
    CHECK(took < 10000, "linger delivery took %lld ms", (long long)took);
    fprintf(stderr, "receipts: %d lingering messages delivered without flush in %lld ms\n", N_LINGER,
            (long long)took);

    CHECK(producer_close(p, 5000) == 0, "close after linger delivery");
    for (int i = 0; i < N_LINGER; i++) response_free(r[i]);
    producer_free(p);
}

static void test_flush(const char *brokers, const char *topic) {
    /* linger.ms=10000: only flush can make these go out quickly. */
    const char *opts[] = {"linger.ms", "10000", "message.timeout.ms", "30000", NULL};
    Producer *p = producer_with(brokers, opts);
    if (p == NULL) return;

    Response *r[N_FLUSH];
    char key[32], value[64];
    for (int i = 0; i < N_FLUSH; i++) {
        snprintf(key, sizeof key, "flush-%d", i);
        snprintf(value, sizeof value, "flush value %d", i);
        r[i] = send_text(p, topic, key, value);
        if (!CHECK(r[i] != NULL, "send %d returned NULL", i)) {
            producer_free(p);
            return;
        }
    }
    CHECK(response_completed(r[0]) == 0, "completed before flush despite linger.ms=10000");
    int64_t t0 = now_ms();
    int32_t rc = producer_flush(p, 8000);
    int64_t took = now_ms() - t0;
    CHECK(rc == 0, "flush returned %d (%s)", (int)rc, or_null(ablkafka_err2name(rc)));
    CHECK(took < 5000, "flush took %lld ms: it must send what lingers at once", (long long)took);
    int bad = 0;
    for (int i = 0; i < N_FLUSH; i++) {
        /* Completed when flush returned: no waiting here. */
        if (!delivered(r[i], "flush", i)) bad++;
    }
    CHECK(bad == 0, "%d of %d receipts not delivered when flush returned 0", bad, N_FLUSH);
    fprintf(stderr, "receipts: flush delivered %d lingering messages in %lld ms\n", N_FLUSH, (long long)took);

    /* A flush with nothing pending returns 0 at once. */
    t0 = now_ms();
    CHECK(producer_flush(p, 0) == 0, "flush with nothing pending");
    CHECK(now_ms() - t0 < 1000, "empty flush took %lld ms", (long long)(now_ms() - t0));

    CHECK(producer_close(p, 5000) == 0, "close after flush");
    for (int i = 0; i < N_FLUSH; i++) response_free(r[i]);
    producer_free(p);
}

static void test_close(const char *brokers, const char *topic) {
    const char *opts[] = {"linger.ms", "5", NULL};
    Producer *p = producer_with(brokers, opts);
    if (p == NULL) return;

    Response *r[N_CLOSE];
    int32_t part[N_CLOSE];
    int64_t off[N_CLOSE], ts[N_CLOSE];
    char key[32], value[64];
    for (int i = 0; i < N_CLOSE; i++) {
        snprintf(key, sizeof key, "close-%d", i);
        snprintf(value, sizeof value, "close value %d", i);
        r[i] = send_text(p, topic, key, value);
        if (!CHECK(r[i] != NULL, "send %d returned NULL", i)) {
            producer_free(p);
            return;
        }
    }
    CHECK(producer_flush(p, 10000) == 0, "flush before close");
    for (int i = 0; i < N_CLOSE; i++) {
        part[i] = response_partition(r[i]);
        off[i] = response_offset(r[i]);
        ts[i] = response_timestamp(r[i]);
    }
    int64_t t0 = now_ms();
    int32_t rc = producer_close(p, 5000);
    CHECK(rc == 0, "close with everything delivered returned %d", (int)rc);
    CHECK(now_ms() - t0 < 2000, "close with nothing pending took %lld ms", (long long)(now_ms() - t0));

    /* The producer is closed; its receipts stay readable and unchanged. */
    int bad = 0;
    for (int i = 0; i < N_CLOSE; i++) {
        if (!delivered(r[i], "after close", i) || response_partition(r[i]) != part[i] ||
            response_offset(r[i]) != off[i] || response_timestamp(r[i]) != ts[i] ||
            response_wait(r[i], 0) != 1 || response_wait(r[i], -1) != 1)
            bad++;
    }
    CHECK(bad == 0, "%d of %d receipts changed or unreadable after close", bad, N_CLOSE);

    /* Sending on a closed producer: a completed receipt with -197 (_DESTROY). */
    Response *late = send_text(p, topic, "late", "after close");
    if (CHECK(late != NULL, "send after close returned NULL")) {
        CHECK(response_completed(late) == 1, "send after close: not completed at return");
        CHECK(response_success(late) == 0, "send after close: success %d", (int)response_success(late));
        CHECK(response_error_code(late) == -197, "send after close: code %d (%s)", (int)response_error_code(late),
              or_null(ablkafka_err2name(response_error_code(late))));
        CHECK(str_eq(response_error_message(late), ablkafka_err2str(-197)), "send after close: message %s",
              or_null(response_error_message(late)));
        CHECK(response_offset(late) == -1, "send after close: offset %" PRId64, response_offset(late));
        CHECK(response_wait(late, -1) == 1, "send after close: wait(-1)");
        response_free(late);
    }
    /* Closing again is harmless and returns 0. */
    t0 = now_ms();
    rc = producer_close(p, 1000);
    CHECK(rc == 0, "second close returned %d", (int)rc);
    CHECK(now_ms() - t0 < 1500, "second close took %lld ms", (long long)(now_ms() - t0));
    CHECK(producer_flush(p, 0) == 0, "flush on a closed producer with nothing pending");

    /* Receipts outlive the producer itself. */
    producer_free(p);
    bad = 0;
    for (int i = 0; i < N_CLOSE; i++) {
        if (response_offset(r[i]) != off[i] || response_success(r[i]) != 1) bad++;
        response_free(r[i]);
    }
    CHECK(bad == 0, "%d receipts changed after producer_free", bad);
}

static void test_free_pending(const char *brokers, const char *topic) {
    ProducerBuilder *b = builder_for(brokers);
    if (b == NULL) return;
    set_ok(b, "linger.ms", "200");
    Producer *p = build_ok(b);
    if (p == NULL) {
        producer_builder_free(b);
        return;
    }

    /* Freed while pending; the message is still delivered (flush sees it through). */
    Response *gone = send_text(p, topic, "free", "freed before completion");
    CHECK(gone != NULL && response_completed(gone) == 0, "expected a pending receipt");
    response_free(gone);
    Response *kept = send_text(p, topic, "free", "kept");
    CHECK(producer_flush(p, 10000) == 0, "flush after freeing a pending receipt");
    CHECK(delivered(kept, "kept", 0), "receipt sent after a freed one not delivered");
    response_free(kept);

    /* Freed pending receipts, then producer_free without close (it closes with 0). */
    for (int i = 0; i < 20; i++) {
        Response *r = send_text(p, topic, "free", "freed, then producer_free");
        CHECK(r != NULL, "send returned NULL");
        response_free(r);
    }
    int64_t t0 = now_ms();
    producer_free(p);
    CHECK(now_ms() - t0 < 2000, "producer_free with pending messages took %lld ms", (long long)(now_ms() - t0));

    /* close(0) with lingering messages: they fail with -197, and close says not all was delivered. */
    set_ok(b, "linger.ms", "10000");
    p = build_ok(b);
    producer_builder_free(b);
    if (p == NULL) return;
    Response *r[10];
    for (int i = 0; i < 10; i++) {
        r[i] = send_text(p, topic, "close0", "lingering at close(0)");
    }
    t0 = now_ms();
    int32_t rc = producer_close(p, 0);
    CHECK(now_ms() - t0 < 2000, "close(0) took %lld ms", (long long)(now_ms() - t0));
    int destroyed = 0, ok = 0, other = 0;
    for (int i = 0; i < 10; i++) {
        if (r[i] == NULL || response_completed(r[i]) != 1) {
            other++;
        } else if (response_success(r[i]) == 1) {
            ok++;
        } else if (response_error_code(r[i]) == -197 &&
                   str_eq(response_error_message(r[i]), ablkafka_err2str(-197))) {
            destroyed++;
        } else {
            other++;
            fprintf(stderr, "  close(0): receipt %d code %d message %s\n", i, (int)response_error_code(r[i]),
                    or_null(response_error_message(r[i])));
        }
    }
    CHECK(other == 0, "close(0): %d receipts neither delivered nor failed with -197 when close returned", other);
    CHECK(destroyed > 0, "close(0) with linger.ms=10000 failed no lingering message with -197 (%d delivered)", ok);
    CHECK(rc == (destroyed > 0 ? -185 : 0), "close(0) returned %d with %d receipts failed by -197", (int)rc,
          destroyed);
    producer_free(p);
    /* Freed after their producer. */
    for (int i = 0; i < 10; i++) response_free(r[i]);
}

/* With linger.ms=10000, sends `n` same-key messages of `value_len` bytes and checks the
 * first one is delivered within 5 s without flush: some other trigger sent its batch. */
static void batch_trigger(const char *brokers, const char *topic, const char *option, const char *value,
                          int n, size_t value_len) {
    const char *opts[] = {"linger.ms", "10000", option, value, NULL};
    Producer *p = producer_with(brokers, opts);
    if (p == NULL) return;

    char payload[1024];
    if (value_len > sizeof payload) value_len = sizeof payload;
    memset(payload, 'p', sizeof payload);
    Response *r[64];
    if (n > 64) n = 64;
    int64_t t0 = now_ms();
    for (int i = 0; i < n; i++) {
        r[i] = producer_send(p, topic, "same-key", 8, payload, value_len);
    }
    int waited = r[0] != NULL ? response_wait(r[0], 5000) : 0;
    int64_t took = now_ms() - t0;
    CHECK(waited == 1 && delivered(r[0], option, 0),
          "%s=%s, linger.ms=10000: a full batch of %d x %zu bytes was not delivered within 5 s without flush",
          option, value, n, value_len);
    fprintf(stderr, "receipts: %s=%s sent a full batch after %lld ms (linger.ms=10000)\n", option, value,
            (long long)took);
    CHECK(producer_flush(p, 10000) == 0, "flush after the batch trigger");
    int bad = 0;
    for (int i = 0; i < n; i++) {
        if (r[i] == NULL || !delivered(r[i], option, i)) bad++;
        response_free(r[i]);
    }
    CHECK(bad == 0, "%s: %d of %d not delivered after flush", option, bad, n);
    producer_free(p);
}

/* Offsets of `n` delivered receipts, in send order, increase by exactly one within each
 * partition, continuing from `last` (per partition, -1 = not seen yet). Returns how many
 * receipts broke that. */
#define MAX_PARTITIONS 64
static int offsets_follow_send_order(Response **r, int n, int64_t *last) {
    int broken = 0;
    for (int i = 0; i < n; i++) {
        int32_t part = response_partition(r[i]);
        if (part < 0 || part >= MAX_PARTITIONS) {
            broken++;
            continue;
        }
        int64_t off = response_offset(r[i]);
        if (last[part] >= 0 && off != last[part] + 1) {
            if (broken++ < 5)
                fprintf(stderr, "  receipt %d: partition %d offset %" PRId64 " after %" PRId64 "\n", i, (int)part, off,
                        last[part]);
        }
        last[part] = off;
    }
    return broken;
}

static void test_linger_zero(const char *brokers, const char *topic) {
    enum { ONE_BY_ONE = 200, BURST = 3000 };
    const char *opts[] = {"linger.ms", "0", "message.timeout.ms", "30000", NULL};
    Producer *p = producer_with(brokers, opts);
    if (p == NULL) return;

    Response **r = calloc(ONE_BY_ONE + BURST, sizeof *r);
    char key[32], value[64];
    int bad = 0;
    int64_t t0 = now_ms();
    for (int i = 0; i < ONE_BY_ONE; i++) {
        snprintf(key, sizeof key, "zero-%d", i % 5);
        snprintf(value, sizeof value, "linger zero one by one %d", i);
        r[i] = send_text(p, topic, key, value);
        if (response_wait(r[i], 10000) != 1 || !delivered(r[i], "linger 0 one by one", i)) bad++;
    }
    CHECK(bad == 0, "linger.ms=0: %d of %d records sent one at a time not delivered", bad, ONE_BY_ONE);
    fprintf(stderr, "receipts: linger.ms=0: %d records one at a time in %lld ms\n", ONE_BY_ONE,
            (long long)(now_ms() - t0));
    for (int i = ONE_BY_ONE; i < ONE_BY_ONE + BURST; i++) {
        snprintf(key, sizeof key, "zero-%d", i % 5);
        snprintf(value, sizeof value, "linger zero burst %d", i);
        r[i] = send_text(p, topic, key, value);
    }
    CHECK(producer_flush(p, 20000) == 0, "linger.ms=0: flush after the burst");
    bad = 0;
    for (int i = ONE_BY_ONE; i < ONE_BY_ONE + BURST; i++) bad += !delivered(r[i], "linger 0 burst", i);
    CHECK(bad == 0, "linger.ms=0: %d of %d burst records not delivered", bad, BURST);
    int64_t last[MAX_PARTITIONS];
    for (int i = 0; i < MAX_PARTITIONS; i++) last[i] = -1;
    int broken = offsets_follow_send_order(r, ONE_BY_ONE + BURST, last);
    CHECK(broken == 0, "linger.ms=0: %d receipts out of send order within their partition", broken);
    CHECK(producer_close(p, 5000) == 0, "close after linger.ms=0");
    for (int i = 0; i < ONE_BY_ONE + BURST; i++) response_free(r[i]);
    free(r);
    producer_free(p);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s BROKERS TOPIC\n", argv[0]);
        return 2;
    }
    test_linger(argv[1], argv[2]);
    test_flush(argv[1], argv[2]);
    test_close(argv[1], argv[2]);
    test_free_pending(argv[1], argv[2]);
    batch_trigger(argv[1], argv[2], "batch.num.messages", "10", 10, 20);
    batch_trigger(argv[1], argv[2], "batch.size", "4096", 12, 1000);
    test_linger_zero(argv[1], argv[2]);
    return CHECK_SUMMARY("receipts");
}
