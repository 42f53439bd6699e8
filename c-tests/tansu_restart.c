/*
 * tansu_restart BROKER_SH DIR TOPIC PARTITIONS EXPECT_FILE plain|idempotent
 *
 * The broker is killed mid-stream and started again on the same port (issue 3, with tansu
 * as the real peer). DIR is a broker directory of scripts/broker.sh with a running tansu;
 * TOPIC exists there with PARTITIONS partitions; after the restart the test creates it
 * again before the producer's next reconnect attempt (reconnect.backoff.ms=5000).
 *
 *   1. 1,000 keyed records are sent, then the broker is killed (scripts/broker.sh kill:
 *      SIGKILL, a crash; tansu ignores SIGTERM for seconds while a client is connected)
 *      from another thread while this one keeps sending (up to 3,000 in all), so the
 *      kill lands on records in flight.
 *   2. 1,000 more are sent while no broker listens: they stay pending.
 *   3. The broker is started again on the same port (broker.sh restart); its memory
 *      storage is empty, so the topic is created again (broker.sh topic).
 *   4. 2,000 more are sent; flush.
 * Asserts: every Response succeeds (message.timeout.ms is 30 s); records sent after the
 * kill all succeed; each key's records delivered to the new broker have increasing
 * offsets in one partition. Records whose success was seen before the broker came back
 * went to the old broker (lost with its memory storage); every other record must be in
 * the new topic exactly once at the partition and offset its receipt names: they are
 * written to EXPECT_FILE for scripts/verify.py, which checks that and that nothing else
 * is in the topic. "idempotent" runs the same with enable.idempotence=true, so tansu's
 * sequence checks see a stream across the restart (a new broker that has never seen the
 * producer id).
 */
#include "common.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

enum { NKEYS = 16, N_BEFORE_MIN = 1000, N_BEFORE_MAX = 3000, N_DOWN = 1000, N_AFTER = 2000,
       TOTAL = N_BEFORE_MAX + N_DOWN + N_AFTER };

static Response *resp[TOTAL];
static int old_broker[TOTAL]; /* success seen before the new broker started */

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "FAIL watchdog: tansu_restart did not finish in 120 s\n0 passed, 1 failed\n";
    ssize_t w = write(STDOUT_FILENO, msg, sizeof msg - 1);
    (void)w;
    _exit(1);
}

static int run(const char *broker_sh_path, const char *verb, const char *dir, const char *extra) {
    return broker_sh("tansu_restart", broker_sh_path, verb, dir, extra);
}

static void send_range(Producer *p, const char *topic, int from, int to) {
    char key[16], value[64];
    for (int i = from; i < to; i++) {
        snprintf(key, sizeof key, "k%02d", i % NKEYS);
        snprintf(value, sizeof value, "restart %s %06d", key, i / NKEYS);
        resp[i] = producer_send(p, topic, key, strlen(key), value, strlen(value));
        if (resp[i] == NULL) {
            fprintf(stderr, "producer_send returned NULL\n");
            exit(2);
        }
        if ((i + 1) % 20 == 0) sleep_ms(1);
    }
}

/* Marks every Response completed with success so far as delivered to the old broker. */
static int mark_old(int upto) {
    int n = 0;
    for (int i = 0; i < upto; i++) {
        if (!old_broker[i] && response_success(resp[i]) == 1) {
            old_broker[i] = 1;
            n++;
        }
    }
    return n;
}

struct killer {
    const char *broker_sh, *dir;
    atomic_int done;
    int status;
};

static void *killer_main(void *arg) {
    struct killer *k = arg;
    k->status = run(k->broker_sh, "kill", k->dir, NULL);
    atomic_store(&k->done, 1);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 7 || (strcmp(argv[6], "plain") != 0 && strcmp(argv[6], "idempotent") != 0)) {
        fprintf(stderr, "usage: %s BROKER_SH DIR TOPIC PARTITIONS EXPECT_FILE plain|idempotent\n", argv[0]);
        return 2;
    }
    const char *broker_sh = argv[1], *dir = argv[2], *topic = argv[3], *expect_path = argv[5];
    int partitions = atoi(argv[4]);
    int idempotent = strcmp(argv[6], "idempotent") == 0;
    signal(SIGALRM, on_alarm);
    alarm(120);
    setvbuf(stdout, NULL, _IOLBF, 0);

    char path[1024], bootstrap[128] = "";
    snprintf(path, sizeof path, "%s/bootstrap", dir);
    FILE *bf = fopen(path, "r");
    if (!CHECK(bf != NULL && fscanf(bf, "%127s", bootstrap) == 1, "cannot read %s", path))
        return CHECK_SUMMARY("tansu_restart");
    fclose(bf);
    fprintf(stderr, "tansu_restart: %s, topic %s, %s\n", bootstrap, topic, argv[6]);

    ProducerBuilder *b = builder_for(bootstrap);
    if (b == NULL) return CHECK_SUMMARY("tansu_restart");
    set_ok(b, "linger.ms", "5");
    set_ok(b, "batch.num.messages", "200");
    set_ok(b, "message.timeout.ms", "30000");
    set_ok(b, "request.timeout.ms", "5000");
    set_ok(b, "retry.backoff.ms", "50");
    set_ok(b, "retry.backoff.max.ms", "500");
    /* The reconnect attempt right after the kill is refused and the next comes 5 s later:
       by then the topic exists again. tansu takes Produce requests for a topic it does not
       know, and creating the topic afterwards resets it under them (acknowledged records
       lost, later batches refused with -1). */
    set_ok(b, "reconnect.backoff.ms", "5000");
    set_ok(b, "reconnect.backoff.max.ms", "5000");
    set_ok(b, "topic.metadata.refresh.interval.ms", "1000");
    if (idempotent) set_ok(b, "enable.idempotence", "true");
    Producer *p = build_ok(b);
    producer_builder_free(b);
    if (p == NULL) return CHECK_SUMMARY("tansu_restart");

    /* 1. Mid-stream: kill the broker from another thread while sending goes on. */
    send_range(p, topic, 0, N_BEFORE_MIN);
    struct killer k = {broker_sh, dir, 0, -1};
    pthread_t thread;
    if (!CHECK(pthread_create(&thread, NULL, killer_main, &k) == 0, "pthread_create")) {
        producer_free(p);
        return CHECK_SUMMARY("tansu_restart");
    }
    int n_before = N_BEFORE_MIN;
    while (!atomic_load(&k.done) && n_before < N_BEFORE_MAX) {
        send_range(p, topic, n_before, n_before + 20);
        n_before += 20;
    }
    pthread_join(thread, NULL);
    int64_t killed_at = now_ms();
    CHECK(k.status == 0, "broker.sh kill failed");
    int in_flight = 0;
    for (int i = 0; i < n_before; i++) in_flight += !response_completed(resp[i]);
    fprintf(stderr, "tansu_restart: %d records sent before the kill completed, %d of them pending after it\n",
            n_before, in_flight);
    /* Successes seen now were answered by the old broker before it died. */
    mark_old(n_before);

    /* 2. Sends while nothing listens. */
    int n_down = n_before + N_DOWN, total = n_down + N_AFTER;
    send_range(p, topic, n_before, n_down);
    sleep_ms(1000);
    mark_old(n_down);
    int done_while_down = 0;
    for (int i = n_before; i < n_down; i++) done_while_down += response_completed(resp[i]);
    CHECK(done_while_down == 0, "%d records sent while the broker was down completed before it returned",
          done_while_down);
    int failed_early = 0;
    for (int i = 0; i < n_down; i++) failed_early += response_completed(resp[i]) && response_success(resp[i]) != 1;
    CHECK(failed_early == 0, "%d records failed while the broker was down (message.timeout.ms is 30 s)",
          failed_early);

    /* 3. The same port again; an empty cluster: the topic again. */
    mark_old(n_down);
    int64_t restarted_at = now_ms();
    if (!CHECK(run(broker_sh, "restart", dir, NULL) == 0, "broker.sh restart failed")) {
        producer_free(p);
        return CHECK_SUMMARY("tansu_restart");
    }
    char topic_args[256];
    snprintf(topic_args, sizeof topic_args, "'%s' %d", topic, partitions);
    CHECK(run(broker_sh, "topic", dir, topic_args) == 0, "create the topic again");
    CHECK(now_ms() - killed_at < 4500, "the topic was created again %lld ms after the kill, within the producer's "
          "5 s reconnect backoff", (long long)(now_ms() - killed_at));

    /* 4. More records; flush everything. */
    send_range(p, topic, n_down, total);
    int32_t rc = producer_flush(p, 40000);
    int64_t took = now_ms() - restarted_at;
    CHECK(rc == 0, "flush after the restart returned %d after %lld ms", (int)rc, (long long)took);
    fprintf(stderr, "tansu_restart: everything completed %lld ms after the restart began\n", (long long)took);

    int old_count = 0, failed = 0, pending = 0;
    int32_t first_code = 0;
    for (int i = 0; i < total; i++) {
        old_count += old_broker[i];
        if (!response_completed(resp[i])) {
            pending++;
        } else if (response_success(resp[i]) != 1) {
            if (failed++ == 0) first_code = response_error_code(resp[i]);
            if (failed <= 5)
                fprintf(stderr, "  record %d: code %d %s\n", i, (int)response_error_code(resp[i]),
                        or_null(response_error_message(resp[i])));
        }
    }
    CHECK(pending == 0, "%d of %d Responses still pending", pending, total);
    CHECK(failed == 0, "%d of %d Responses failed (first: %d %s)", failed, total, (int)first_code,
          or_null(ablkafka_err2name(first_code)));
    fprintf(stderr, "tansu_restart: %d records delivered to the old broker, %d to the new one\n", old_count,
            total - old_count);
    CHECK(old_count <= n_before, "%d records counted as delivered to the old broker", old_count);

    /* Per key, records on the new broker: one partition, offsets increasing with sequence. */
    int64_t last_off[NKEYS];
    int32_t part[NKEYS];
    int order = 0;
    for (int k = 0; k < NKEYS; k++) {
        last_off[k] = -1;
        part[k] = -1;
    }
    for (int i = 0; i < total; i++) {
        if (old_broker[i] || response_success(resp[i]) != 1) continue;
        int k = i % NKEYS;
        int32_t pt = response_partition(resp[i]);
        int64_t off = response_offset(resp[i]);
        if (part[k] == -1) part[k] = pt;
        if (pt != part[k] || off <= last_off[k]) {
            if (order++ < 5)
                fprintf(stderr, "  record %d (key k%02d): %d/%" PRId64 " after %d/%" PRId64 "\n", i, k, (int)pt, off,
                        (int)part[k], last_off[k]);
        }
        last_off[k] = off;
    }
    CHECK(order == 0, "%d records on the new broker out of per-key order", order);

    /* The expectation for verify.py: everything not delivered to the old broker. */
    FILE *f = fopen(expect_path, "w");
    if (CHECK(f != NULL, "cannot write %s", expect_path)) {
        fprintf(f, "# tansu_restart: topic %s (%s): records delivered after the restart\n", topic, argv[6]);
        char key[16], value[64];
        for (int i = 0; i < total; i++) {
            if (old_broker[i]) continue;
            snprintf(key, sizeof key, "k%02d", i % NKEYS);
            snprintf(value, sizeof value, "restart %s %06d", key, i / NKEYS);
            write_expect_line(f, resp[i], key, value);
        }
        CHECK(fclose(f) == 0, "writing %s", expect_path);
    }

    producer_close(p, 5000);
    producer_free(p);
    for (int i = 0; i < total; i++) response_free(resp[i]);
    return CHECK_SUMMARY("tansu_restart");
}
