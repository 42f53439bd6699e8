/*
 * threads BROKERS TOPIC PER_THREAD [EXPECT_FILE]
 *
 * Eight threads share one producer. Each sends PER_THREAD keyed messages (keys and
 * values name the thread and the index), keeps its own Responses, and waits on each of
 * them (response_wait) without any flush; then each calls producer_flush at the same
 * time as the others. Checks:
 *   - every Response is delivered: success, code 0, partition >= 0, offset >= 0;
 *   - no two messages share a (partition, offset);
 *   - within one partition, one thread's messages have increasing offsets in its
 *     send order (a thread's records are appended in the order it sent them);
 *   - the concurrent flushes return 0, close returns 0 and joins the thread.
 * With EXPECT_FILE, writes "PARTITION OFFSET KEY VALUE" lines for scripts/verify.py,
 * which reads the topic back with librdkafka and compares byte for byte.
 */
#include "common.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>

#define THREADS 8
#define MAX_PARTITIONS 64

typedef struct {
    Producer *producer;
    const char *topic;
    int id;
    size_t count;
    Response **resp;
    /* Results, read by main after join (no CHECK from the threads: check.h is not thread-safe). */
    size_t sent_null;
    size_t wait_failed;
    size_t not_delivered;
    size_t out_of_order;
    int32_t first_error;
    int32_t flush_rc;
} worker;

static void key_of(int thread, size_t i, char *buf, size_t n) { snprintf(buf, n, "t%d-k%zu", thread, i % 17); }

static void value_of(int thread, size_t i, char *buf, size_t n) {
    snprintf(buf, n, "thread %d message %zu of the threads test", thread, i);
}

static void *run(void *arg) {
    worker *w = arg;
    char key[64], value[128];
    for (size_t i = 0; i < w->count; i++) {
        key_of(w->id, i, key, sizeof key);
        value_of(w->id, i, value, sizeof value);
        w->resp[i] = producer_send(w->producer, w->topic, key, strlen(key), value, strlen(value));
        if (w->resp[i] == NULL) w->sent_null++;
    }
    /* Wait on our own Responses only, no flush: linger and the background thread deliver. */
    int64_t last[MAX_PARTITIONS];
    for (int j = 0; j < MAX_PARTITIONS; j++) last[j] = -1;
    for (size_t i = 0; i < w->count; i++) {
        Response *r = w->resp[i];
        if (r == NULL) continue;
        if (response_wait(r, 60000) != 1) {
            w->wait_failed++;
            continue;
        }
        int32_t part = response_partition(r);
        int64_t off = response_offset(r);
        if (response_success(r) != 1 || response_error_code(r) != 0 || part < 0 || part >= MAX_PARTITIONS ||
            off < 0) {
            if (w->not_delivered++ == 0) w->first_error = response_error_code(r);
            continue;
        }
        if (off <= last[part]) w->out_of_order++;
        last[part] = off;
    }
    /* Every thread flushes at once; nothing is pending any more, so each returns 0. */
    w->flush_rc = producer_flush(w->producer, 30000);
    return NULL;
}

typedef struct {
    int32_t partition;
    int64_t offset;
} position;

static int by_position(const void *a, const void *b) {
    const position *x = a, *y = b;
    if (x->partition != y->partition) return x->partition < y->partition ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s BROKERS TOPIC PER_THREAD [EXPECT_FILE]\n", argv[0]);
        return 2;
    }
    const char *topic = argv[2];
    size_t per_thread = (size_t)strtoul(argv[3], NULL, 10);
    if (per_thread == 0) {
        fprintf(stderr, "threads: PER_THREAD must be positive\n");
        return 2;
    }
    ProducerBuilder *b = builder_for(argv[1]);
    if (b == NULL) return CHECK_SUMMARY("threads");
    set_ok(b, "linger.ms", "5");
    set_ok(b, "message.timeout.ms", "60000");
    Producer *p = build_ok(b);
    producer_builder_free(b);
    if (p == NULL) return CHECK_SUMMARY("threads");

    worker w[THREADS];
    pthread_t tid[THREADS];
    int64_t t0 = now_ms();
    for (int t = 0; t < THREADS; t++) {
        memset(&w[t], 0, sizeof w[t]);
        w[t].producer = p;
        w[t].topic = topic;
        w[t].id = t;
        w[t].count = per_thread;
        w[t].resp = calloc(per_thread, sizeof *w[t].resp);
        if (!CHECK(w[t].resp != NULL, "out of memory")) return CHECK_SUMMARY("threads");
    }
    for (int t = 0; t < THREADS; t++) {
        CHECK(pthread_create(&tid[t], NULL, run, &w[t]) == 0, "pthread_create %d", t);
    }
    for (int t = 0; t < THREADS; t++) pthread_join(tid[t], NULL);
    int64_t took = now_ms() - t0;

    size_t total = per_thread * THREADS, got = 0;
    for (int t = 0; t < THREADS; t++) {
        CHECK(w[t].sent_null == 0, "thread %d: %zu sends returned NULL", t, w[t].sent_null);
        CHECK(w[t].wait_failed == 0, "thread %d: %zu of its Responses not completed within 60 s", t,
              w[t].wait_failed);
        CHECK(w[t].not_delivered == 0, "thread %d: %zu not delivered (first code %d %s)", t, w[t].not_delivered,
              (int)w[t].first_error, or_null(ablkafka_err2name(w[t].first_error)));
        CHECK(w[t].out_of_order == 0, "thread %d: %zu offsets not increasing in its send order within a partition",
              t, w[t].out_of_order);
        CHECK(w[t].flush_rc == 0, "thread %d: concurrent flush returned %d", t, (int)w[t].flush_rc);
    }

    /* Every delivered message has its own (partition, offset). */
    position *pos = calloc(total, sizeof *pos);
    if (CHECK(pos != NULL, "out of memory")) {
        for (int t = 0; t < THREADS; t++) {
            for (size_t i = 0; i < per_thread; i++) {
                const Response *r = w[t].resp[i];
                if (r != NULL && response_success(r) == 1) {
                    pos[got].partition = response_partition(r);
                    pos[got].offset = response_offset(r);
                    got++;
                }
            }
        }
        qsort(pos, got, sizeof *pos, by_position);
        size_t dups = 0;
        for (size_t i = 1; i < got; i++) {
            if (pos[i].partition == pos[i - 1].partition && pos[i].offset == pos[i - 1].offset) dups++;
        }
        CHECK(got == total, "%zu of %zu messages delivered", got, total);
        CHECK(dups == 0, "%zu messages share a (partition, offset) with another", dups);
        free(pos);
    }
    fprintf(stderr, "threads: %d threads delivered %zu messages in %lld ms\n", THREADS, got, (long long)took);

    if (argc == 5) {
        FILE *f = fopen(argv[4], "w");
        if (CHECK(f != NULL, "cannot write %s", argv[4])) {
            char key[64], value[128];
            fprintf(f, "# ablkafka threads: topic %s, %d threads x %zu\n", topic, THREADS, per_thread);
            for (int t = 0; t < THREADS; t++) {
                for (size_t i = 0; i < per_thread; i++) {
                    const Response *r = w[t].resp[i];
                    key_of(t, i, key, sizeof key);
                    value_of(t, i, value, sizeof value);
                    if (r != NULL && response_success(r) == 1) {
                        fprintf(f, "%d %" PRId64 " ", (int)response_partition(r), response_offset(r));
                    } else {
                        fputs("- - ", f);
                    }
                    write_hex_str(f, key);
                    fputc(' ', f);
                    write_hex_str(f, value);
                    fputc('\n', f);
                }
            }
            CHECK(fclose(f) == 0, "cannot close %s", argv[4]);
        }
    }

    CHECK(producer_close(p, 10000) == 0, "close after every thread's messages were delivered");
    producer_free(p);
    for (int t = 0; t < THREADS; t++) {
        for (size_t i = 0; i < per_thread; i++) response_free(w[t].resp[i]);
        free(w[t].resp);
    }
    return CHECK_SUMMARY("threads");
}
