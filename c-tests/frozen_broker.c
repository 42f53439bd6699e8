/*
 * frozen_broker restart BROKER_SH DIR TOPIC COUNT KEYS EXPECT_FILE
 * frozen_broker write   BROKER_SH DIR TOPIC
 * frozen_broker acks0   BROKER_SH DIR TOPIC
 *
 * A broker that stops answering: frozen with SIGSTOP (scripts/broker.sh freeze), so the
 * kernel still accepts connections and bytes while nothing reads them (a GC pause, a
 * hung process, a peer that stops acknowledging). DIR is a broker directory of
 * scripts/broker.sh with a running tansu; TOPIC exists there (4 partitions for restart,
 * which creates it again after the restart, 32 for write).
 *
 * restart: an idempotent producer; the broker is frozen, COUNT
 * records (KEYS keys: 1 puts them all in one partition) are sent, so the first batches
 * are written into a broker that never reads them; then it is killed and started again
 * on the same port with an empty memory storage, which hands out the same producer id
 * and epoch again. Asserts: every Response succeeds, at a real offset (>= 0: the new
 * broker never saw an earlier write, so no answer may be a duplicate's, offset -1);
 * per key, offsets increase in send order. EXPECT_FILE then lists every record with its
 * receipt's partition and offset, and scripts/verify.py checks that the topic holds each
 * exactly once and nothing else: no success receipt for a record the broker never stored.
 *
 * write: message.timeout.ms=5000; the broker is frozen, then 400
 * records of 100 KB go to 32 partitions (~40 MB, far more than the socket buffers
 * hold, so writes block). Asserts: every Response completes within message.timeout.ms
 * plus 3 s of its send, with -192 (_MSG_TIMED_OUT), and producer_flush(-1) returns;
 * the broker is thawed afterwards.
 *
 * acks0: acks=0 and linger.ms=0, where a request is complete as soon as it is
 * queued on the connection, so only queue.buffering.backpressure.threshold keeps requests
 * from piling up in front of the frozen broker, and queue.buffering.max.kbytes (8 MiB
 * here) bounds what waits. Records of 16 KiB are sent without receipts until the queue
 * has been full (-184) 200 times. Asserts: it fills, after at most 2,048 records (8 MiB
 * queued and 24 MiB for the socket buffers of both sides); the resident size grew by at
 * most 40 MiB; after the thaw, producer_flush returns 0 and a record is delivered.
 */
#include "common.h"

#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>

static int broker(const char *script, const char *verb, const char *dir, const char *extra) {
    return broker_sh("frozen_broker", script, verb, dir, extra);
}

static char *read_bootstrap(const char *dir) {
    static char address[256];
    char path[1024];
    snprintf(path, sizeof path, "%s/bootstrap", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL || fgets(address, sizeof address, f) == NULL) {
        fprintf(stderr, "frozen_broker: cannot read %s\n", path);
        exit(2);
    }
    fclose(f);
    address[strcspn(address, "\n")] = 0;
    return address;
}

enum { MAX_KEYS = 100 };

static int case_restart(const char *broker_sh, const char *dir, const char *topic, int count, int keys,
                        const char *expect_path) {
    const char *opts[] = {"enable.idempotence", "true", "linger.ms", "5", "batch.num.messages", "100",
                          "message.timeout.ms", "60000", "request.timeout.ms", "5000", "retry.backoff.ms", "50",
                          "reconnect.backoff.ms", "5000", "reconnect.backoff.max.ms", "5000", NULL};
    Producer *p = producer_with(read_bootstrap(dir), opts);
    if (!CHECK(p != NULL, "build the producer")) return CHECK_SUMMARY("frozen_broker restart");
    /* Learn the cluster and take a producer id first, so the records go out at once. */
    Response *warm = producer_send(p, topic, "warm", 4, "up", 2);
    CHECK(response_wait(warm, 20000) == 1 && response_success(warm) == 1, "warm-up record delivered (code %d)",
          (int)response_error_code(warm));
    response_free(warm); /* on the broker about to be killed: lost with its memory storage */

    if (!CHECK(broker(broker_sh, "freeze", dir, NULL) == 0, "freeze")) return CHECK_SUMMARY("frozen_broker restart");
    Response **r = calloc((size_t)count, sizeof *r);
    char key[16], value[64];
    for (int i = 0; i < count; i++) {
        snprintf(key, sizeof key, "k%02d", i % keys);
        snprintf(value, sizeof value, "frozen %s %06d", key, i);
        r[i] = producer_send(p, topic, key, strlen(key), value, strlen(value));
    }
    sleep_ms(1000); /* the first batches are written into the frozen broker's socket */
    int done_early = 0;
    for (int i = 0; i < count; i++) done_early += response_completed(r[i]);
    CHECK(done_early == 0, "%d Responses completed while the broker was frozen", done_early);

    /* The producer's reconnect attempt right after the kill is refused, and the next comes
       5 s later (reconnect.backoff.ms): the topic must exist again before then, because
       tansu takes Produce requests for a topic it does not know, and creating the topic
       afterwards resets it under them. */
    int64_t killed_at = now_ms();
    CHECK(broker(broker_sh, "kill", dir, NULL) == 0, "kill the frozen broker");
    CHECK(broker(broker_sh, "restart", dir, NULL) == 0, "start an empty broker on the same port");
    char topic_args[512];
    snprintf(topic_args, sizeof topic_args, "'%s' 4", topic);
    CHECK(broker(broker_sh, "topic", dir, topic_args) == 0, "create the topic again");
    CHECK(now_ms() - killed_at < 4500, "the topic was created again %lld ms after the kill, within the producer's "
          "5 s reconnect backoff", (long long)(now_ms() - killed_at));

    CHECK(producer_flush(p, 60000) == 0, "flush after the restart");
    int failed = 0, no_offset = 0, disorder = 0;
    int64_t last[MAX_KEYS];
    for (int k = 0; k < MAX_KEYS; k++) last[k] = -1;
    for (int i = 0; i < count; i++) {
        if (response_success(r[i]) != 1) {
            if (failed++ < 5)
                fprintf(stderr, "  record %d: completed %d code %d %s\n", i, (int)response_completed(r[i]),
                        (int)response_error_code(r[i]), or_null(response_error_message(r[i])));
            continue;
        }
        int64_t o = response_offset(r[i]);
        if (o < 0) {
            no_offset++;
            continue;
        }
        int k = i % keys;
        if (o <= last[k]) disorder++;
        last[k] = o;
    }
    CHECK(failed == 0, "%d of %d Responses did not succeed", failed, count);
    /* The new broker saw no write before the restart, and no answer from it is lost here:
       a DUPLICATE_SEQUENCE_NUMBER taken as delivery (offset -1) would be a record it never stored. */
    CHECK(no_offset == 0, "%d of %d records reported delivered with offset -1 (as duplicates) by a broker that never saw them",
          no_offset, count);
    CHECK(disorder == 0, "%d records out of their key's order", disorder);

    FILE *f = fopen(expect_path, "w");
    if (CHECK(f != NULL, "open %s", expect_path)) {
        fprintf(f, "# frozen_broker restart: topic %s, %d records, %d keys\n", topic, count, keys);
        for (int i = 0; i < count; i++) {
            snprintf(key, sizeof key, "k%02d", i % keys);
            snprintf(value, sizeof value, "frozen %s %06d", key, i);
            write_expect_line(f, r[i], key, value);
        }
        fclose(f);
    }
    for (int i = 0; i < count; i++) response_free(r[i]);
    free(r);
    CHECK(producer_close(p, 5000) == 0, "close");
    producer_free(p);
    return CHECK_SUMMARY("frozen_broker restart");
}

enum { WRITE_RECORDS = 400, WRITE_VALUE = 100 * 1000, WRITE_TIMEOUT_MS = 5000, WRITE_MARGIN_MS = 3000 };

static int case_write(const char *broker_sh, const char *dir, const char *topic) {
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", WRITE_TIMEOUT_MS);
    const char *opts[] = {"message.timeout.ms", timeout, "linger.ms", "5", "retry.backoff.ms", "50", NULL};
    Producer *p = producer_with(read_bootstrap(dir), opts);
    if (!CHECK(p != NULL, "build the producer")) return CHECK_SUMMARY("frozen_broker write");
    Response *warm = producer_send(p, topic, "warm", 4, "up", 2);
    CHECK(response_wait(warm, 20000) == 1 && response_success(warm) == 1, "warm-up record delivered (code %d)",
          (int)response_error_code(warm));
    response_free(warm);

    if (!CHECK(broker(broker_sh, "freeze", dir, NULL) == 0, "freeze")) return CHECK_SUMMARY("frozen_broker write");
    char *value = malloc(WRITE_VALUE);
    memset(value, 'v', WRITE_VALUE);
    static Response *r[WRITE_RECORDS];
    static int64_t sent_at[WRITE_RECORDS], done_at[WRITE_RECORDS];
    char key[24]; /* room for any int: the ASan build warns otherwise */
    for (int i = 0; i < WRITE_RECORDS; i++) {
        snprintf(key, sizeof key, "p%02d-%d", i % 32, i);
        sent_at[i] = now_ms();
        r[i] = producer_send(p, topic, key, strlen(key), value, WRITE_VALUE);
        done_at[i] = -1;
    }
    /* Poll every Response until all complete or the deadline of the last one passes. */
    int64_t deadline = sent_at[WRITE_RECORDS - 1] + WRITE_TIMEOUT_MS + WRITE_MARGIN_MS;
    int pending = WRITE_RECORDS;
    while (pending > 0 && now_ms() < deadline + 2000) {
        pending = 0;
        for (int i = 0; i < WRITE_RECORDS; i++) {
            if (done_at[i] >= 0) continue;
            if (response_completed(r[i]))
                done_at[i] = now_ms();
            else
                pending++;
        }
        sleep_ms(20);
    }
    CHECK(pending == 0, "%d of %d Responses still pending %lld ms after the last send (message.timeout.ms=%d)",
          pending, WRITE_RECORDS, (long long)(now_ms() - sent_at[WRITE_RECORDS - 1]), WRITE_TIMEOUT_MS);
    int late = 0, early = 0, wrong_code = 0;
    int64_t worst = 0;
    for (int i = 0; i < WRITE_RECORDS; i++) {
        if (done_at[i] < 0) continue;
        int64_t took = done_at[i] - sent_at[i];
        if (took > worst) worst = took;
        if (took > WRITE_TIMEOUT_MS + WRITE_MARGIN_MS) late++;
        if (took < WRITE_TIMEOUT_MS - 100) early++;
        if (response_error_code(r[i]) != -192) {
            if (wrong_code++ < 5)
                fprintf(stderr, "  record %d: code %d %s\n", i, (int)response_error_code(r[i]),
                        or_null(response_error_message(r[i])));
        }
    }
    fprintf(stderr, "frozen_broker: slowest Response completed %lld ms after its send\n", (long long)worst);
    CHECK(late == 0, "%d Responses completed later than message.timeout.ms + %d ms", late, WRITE_MARGIN_MS);
    CHECK(early == 0, "%d Responses failed before message.timeout.ms", early);
    CHECK(wrong_code == 0, "%d Responses did not fail with -192 (nothing can be delivered to a frozen broker)",
          wrong_code);
    if (pending == 0) {
        int64_t f0 = now_ms();
        CHECK(producer_flush(p, -1) == 0, "flush(-1) returns once everything completed");
        CHECK(now_ms() - f0 < 1000, "flush(-1) took %lld ms", (long long)(now_ms() - f0));
    }
    CHECK(broker(broker_sh, "thaw", dir, NULL) == 0, "thaw");
    /* A thawed broker serves again: a new record is delivered. */
    Response *after = producer_send(p, topic, "after", 5, "thaw", 4);
    CHECK(response_wait(after, 30000) == 1 && response_success(after) == 1, "a record after the thaw: code %d",
          (int)response_error_code(after));
    response_free(after);
    for (int i = 0; i < WRITE_RECORDS; i++) response_free(r[i]);
    free(value);
    producer_close(p, 5000);
    producer_free(p);
    return CHECK_SUMMARY("frozen_broker write");
}

enum { ACKS0_VALUE = 16 << 10, ACKS0_REFUSALS = 200, ACKS0_MAX_ACCEPTED = 2048, ACKS0_MAX_GROWTH_KB = 40 << 10 };

/* The process's resident size in KiB (VmRSS), -1 if unreadable. */
static long resident_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    if (f != NULL) fclose(f);
    return kb;
}

static int case_acks0(const char *broker_sh, const char *dir, const char *topic) {
    const char *opts[] = {"acks", "0", "linger.ms", "0", "queue.buffering.max.kbytes", "8192",
                          "queue.buffering.backpressure.threshold", "1", NULL};
    Producer *p = producer_with(read_bootstrap(dir), opts);
    if (!CHECK(p != NULL, "build the producer")) return CHECK_SUMMARY("frozen_broker acks0");
    char *value = malloc(ACKS0_VALUE);
    memset(value, 'v', ACKS0_VALUE);
    Response *warm = producer_send(p, topic, NULL, 0, value, ACKS0_VALUE);
    CHECK(response_wait(warm, 20000) == 1 && response_success(warm) == 1, "warm-up record written (code %d)",
          (int)response_error_code(warm));
    response_free(warm);
    long before_kb = resident_kb();

    if (!CHECK(broker(broker_sh, "freeze", dir, NULL) == 0, "freeze")) return CHECK_SUMMARY("frozen_broker acks0");
    long accepted = 0, refused = 0, other = 0;
    int64_t give_up = now_ms() + 30000;
    while (refused < ACKS0_REFUSALS && accepted <= 100 * ACKS0_MAX_ACCEPTED && now_ms() < give_up) {
        int rc = producer_send_no_receipt(p, topic, NULL, 0, value, ACKS0_VALUE);
        if (rc == 0) {
            accepted++;
        } else if (rc == -184) {
            refused++;
            sleep_ms(1);
        } else if (other++ == 0) {
            fprintf(stderr, "frozen_broker: send refused with %d\n", rc);
        }
    }
    long grown_kb = resident_kb() - before_kb;
    fprintf(stderr, "frozen_broker: %ld records of 16 KiB accepted before the queue stayed full; resident +%ld KiB\n",
            accepted, grown_kb);
    CHECK(refused == ACKS0_REFUSALS, "the queue filled (%ld refusals, %ld accepted)", refused, accepted);
    CHECK(other == 0, "%ld sends refused with another code", other);
    CHECK(accepted <= ACKS0_MAX_ACCEPTED, "%ld records accepted by a frozen broker's producer (at most %d)", accepted,
          ACKS0_MAX_ACCEPTED);
    CHECK(before_kb > 0 && grown_kb <= ACKS0_MAX_GROWTH_KB, "resident size grew by %ld KiB (at most %d)", grown_kb,
          ACKS0_MAX_GROWTH_KB);

    CHECK(broker(broker_sh, "thaw", dir, NULL) == 0, "thaw");
    CHECK(producer_flush(p, 60000) == 0, "flush after the thaw writes everything queued");
    Response *after = producer_send(p, topic, NULL, 0, "after", 5);
    CHECK(response_wait(after, 30000) == 1 && response_success(after) == 1, "a record after the thaw: code %d",
          (int)response_error_code(after));
    response_free(after);
    free(value);
    producer_close(p, 5000);
    producer_free(p);
    return CHECK_SUMMARY("frozen_broker acks0");
}

int main(int argc, char **argv) {
    if (argc == 8 && strcmp(argv[1], "restart") == 0 && atoi(argv[6]) >= 1 && atoi(argv[6]) <= MAX_KEYS)
        return case_restart(argv[2], argv[3], argv[4], atoi(argv[5]), atoi(argv[6]), argv[7]);
    if (argc == 5 && strcmp(argv[1], "write") == 0) return case_write(argv[2], argv[3], argv[4]);
    if (argc == 5 && strcmp(argv[1], "acks0") == 0) return case_acks0(argv[2], argv[3], argv[4]);
    fprintf(stderr,
            "usage: %s restart BROKER_SH DIR TOPIC COUNT KEYS EXPECT_FILE\n"
            "       %s write BROKER_SH DIR TOPIC\n"
            "       %s acks0 BROKER_SH DIR TOPIC\n",
            argv[0], argv[0], argv[0]);
    return 2;
}
