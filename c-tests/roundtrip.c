/*
 * roundtrip BROKERS TOPIC CODEC COUNT EXPECT_FILE [PARTITIONS [NAME=VALUE...]]
 *
 * Sends COUNT keyed messages with compression.codec=CODEC, keeping every Response;
 * flushes; checks every receipt (completed, success, partition, offset, timestamp,
 * per-partition offsets increasing in send order); writes EXPECT_FILE, one line per
 * message "PARTITION OFFSET KEY VALUE" (hex with an 'x' prefix, '-' for null) for
 * scripts/verify.py, which reads the topic back with librdkafka and compares.
 *
 * Keys and values are binary: zero bytes, lengths from 0 to ~12 KiB, a few null keys,
 * a few empty keys and values, and one null value. The send buffer is overwritten
 * after every send, so the library must copy what it is given.
 * With PARTITIONS, also checks that every partition 0..PARTITIONS-1 got messages (0: no
 * check). Each NAME=VALUE after it is one more producer option, e.g. enable.idempotence=true.
 *
 * With ROUNDTRIP_UNPLACED_DUPLICATES=1 in the environment (an idempotent producer whose
 * answers are spoiled on purpose), a successful receipt may have offset -1: the broker
 * answered a resent batch with DUPLICATE_SEQUENCE_NUMBER, which does not say where the
 * records are. Such receipts are counted and printed ("N delivered as duplicates, offset
 * -1"), written to EXPECT_FILE without a position, and left out of the order check.
 */
#include "common.h"

#include <inttypes.h>
#include <stdlib.h>

#define MAX_PARTITIONS 1024

/* next_rand (common.h) is deterministic: the same index gives the same message. */

typedef struct {
    const uint8_t *key; /* NULL = null key */
    size_t key_len;
    const uint8_t *value; /* NULL = null value */
    size_t value_len;
} message;

/* Fills kbuf/vbuf with message i of count and points m at them (or at NULL). */
static void make_message(size_t i, size_t count, uint8_t *kbuf, uint8_t *vbuf, message *m) {
    uint64_t st = 0x61626c6b61666b61ull ^ ((uint64_t)i * 0x100000001B3ull);
    static const char pattern[] = "ablkafka-roundtrip-";

    /* key */
    if (i % 1000 == 7) {
        m->key = NULL; /* null key */
        m->key_len = 0;
    } else if (i % 1000 == 13) {
        m->key = kbuf; /* empty, not null */
        m->key_len = 0;
    } else {
        size_t n = 1 + (size_t)(next_rand(&st) % 24);
        for (size_t j = 0; j < n; j++) {
            kbuf[j] = (uint8_t)next_rand(&st);
        }
        if (i % 3 == 0) {
            kbuf[next_rand(&st) % n] = 0;
        }
        m->key = kbuf;
        m->key_len = n;
    }

    /* value */
    if (i == count / 2) {
        m->value = NULL; /* the one null value */
        m->value_len = 0;
        return;
    }
    if (i % 1000 == 21) {
        m->value = vbuf; /* empty, not null */
        m->value_len = 0;
        return;
    }
    size_t n = 4 + (size_t)(next_rand(&st) % 200);
    if (i % 500 == 0) {
        n += 8000 + (size_t)(next_rand(&st) % 4000);
    }
    /* The index, big-endian (zero bytes in the high positions), makes values unique. */
    vbuf[0] = (uint8_t)(i >> 24);
    vbuf[1] = (uint8_t)(i >> 16);
    vbuf[2] = (uint8_t)(i >> 8);
    vbuf[3] = (uint8_t)i;
    for (size_t j = 4; j < n; j++) {
        if (i % 2 == 0) {
            vbuf[j] = (uint8_t)pattern[j % (sizeof pattern - 1)]; /* compressible */
        } else {
            uint64_t r = next_rand(&st);
            vbuf[j] = (r & 7) == 0 ? 0 : (uint8_t)(r >> 8);
        }
    }
    m->value = vbuf;
    m->value_len = n;
}

/* Counts a kind of bad receipt and remembers the first. */
typedef struct {
    const char *what;
    size_t count;
    size_t first;
    long long first_value;
} tally;

static void note(tally *t, size_t i, long long value) {
    if (t->count++ == 0) {
        t->first = i;
        t->first_value = value;
    }
}

static void report(const tally *t, size_t total) {
    CHECK(t->count == 0, "%zu of %zu receipts: %s (first: message %zu, value %lld)", t->count, total,
          t->what, t->first, t->first_value);
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s BROKERS TOPIC CODEC COUNT EXPECT_FILE [PARTITIONS [NAME=VALUE...]]\n", argv[0]);
        return 2;
    }
    const char *brokers = argv[1], *topic = argv[2], *codec = argv[3], *expect_path = argv[5];
    size_t count = (size_t)strtoul(argv[4], NULL, 10);
    int want_partitions = argc >= 7 ? atoi(argv[6]) : 0;
    for (int a = 7; a < argc; a++) {
        if (strchr(argv[a], '=') == NULL || argv[a][0] == '=') {
            fprintf(stderr, "roundtrip: option %s is not NAME=VALUE\n", argv[a]);
            return 2;
        }
    }
    if (count == 0 || want_partitions < 0 || want_partitions > MAX_PARTITIONS) {
        fprintf(stderr, "roundtrip: bad COUNT or PARTITIONS\n");
        return 2;
    }

    Response **resp = calloc(count, sizeof *resp);
    uint8_t *kbuf = malloc(64);
    uint8_t *vbuf = malloc(16384);
    if (resp == NULL || kbuf == NULL || vbuf == NULL) {
        fprintf(stderr, "roundtrip: out of memory\n");
        return 2;
    }

    ProducerBuilder *b = builder_for(brokers);
    if (b == NULL) {
        return CHECK_SUMMARY("roundtrip");
    }
    set_ok(b, "compression.codec", codec);
    set_ok(b, "client.id", "ablkafka-roundtrip");
    /* Fail rather than hang for the default five minutes if something is wrong. */
    set_ok(b, "message.timeout.ms", "60000");
    for (int a = 7; a < argc; a++) {
        char name[256];
        size_t n = (size_t)(strchr(argv[a], '=') - argv[a]);
        snprintf(name, sizeof name, "%.*s", (int)n, argv[a]);
        set_ok(b, name, argv[a] + n + 1);
    }
    Producer *p = build_ok(b);
    producer_builder_free(b);
    if (p == NULL) {
        return CHECK_SUMMARY("roundtrip");
    }

    int64_t wall_start_ms = (int64_t)time(NULL) * 1000;
    int64_t t0 = now_ms();
    size_t null_resp = 0;
    for (size_t i = 0; i < count; i++) {
        message m;
        make_message(i, count, kbuf, vbuf, &m);
        resp[i] = producer_send(p, topic, m.key, m.key_len, m.value, m.value_len);
        if (resp[i] == NULL) {
            null_resp++;
        }
        /* Scribble over the buffers: the library must have copied them. */
        memset(kbuf, 0xA5, 64);
        memset(vbuf, 0x5A, 16384);
    }
    int64_t t_sent = now_ms();
    CHECK(null_resp == 0, "%zu of %zu sends returned NULL", null_resp, count);
    if (null_resp != 0) {
        producer_free(p);
        return CHECK_SUMMARY("roundtrip");
    }

    int32_t frc = producer_flush(p, 120000);
    int64_t t_flushed = now_ms();
    CHECK(frc == 0, "producer_flush returned %d (%s)", (int)frc, or_null(ablkafka_err2name(frc)));
    fprintf(stderr, "roundtrip %s: sent %zu in %lld ms, flushed after %lld ms more\n", codec, count,
            (long long)(t_sent - t0), (long long)(t_flushed - t_sent));
    int64_t wall_end_ms = (int64_t)time(NULL) * 1000 + 1000;

    tally not_completed = {"not completed after flush returned", 0, 0, 0};
    tally not_success = {"success != 1", 0, 0, 0};
    tally has_error = {"error_code != 0", 0, 0, 0};
    tally has_message = {"error_message != NULL", 0, 0, 0};
    tally bad_partition = {"partition < 0 or too large", 0, 0, 0};
    tally bad_offset = {"offset < 0", 0, 0, 0};
    const char *unplaced_env = getenv("ROUNDTRIP_UNPLACED_DUPLICATES");
    int unplaced_ok = unplaced_env != NULL && strcmp(unplaced_env, "1") == 0;
    size_t unplaced = 0;
    tally bad_timestamp = {"timestamp <= 0", 0, 0, 0};
    tally odd_timestamp = {"timestamp not within 5 minutes of the wall clock (ms since epoch)", 0, 0, 0};
    tally bad_order = {"offset not above the previous offset in its partition (send order)", 0, 0, 0};
    tally wait_fails = {"response_wait(0) != 1 once completed", 0, 0, 0};

    int64_t last[MAX_PARTITIONS];
    size_t per_partition[MAX_PARTITIONS];
    for (int j = 0; j < MAX_PARTITIONS; j++) {
        last[j] = -1;
        per_partition[j] = 0;
    }
    int32_t first_error = 0;
    for (size_t i = 0; i < count; i++) {
        const Response *r = resp[i];
        if (response_completed(r) != 1) {
            note(&not_completed, i, response_completed(r));
        }
        if (response_wait(r, 0) != 1) {
            note(&wait_fails, i, response_wait(r, 0));
        }
        if (response_success(r) != 1) {
            note(&not_success, i, response_success(r));
        }
        int32_t code = response_error_code(r);
        if (code != 0) {
            note(&has_error, i, code);
            if (first_error == 0) {
                first_error = code;
                fprintf(stderr, "roundtrip %s: message %zu failed: %d %s: %s\n", codec, i, (int)code,
                        or_null(ablkafka_err2name(code)), or_null(response_error_message(r)));
            }
        }
        if (response_error_message(r) != NULL) {
            note(&has_message, i, 0);
        }
        int32_t part = response_partition(r);
        int64_t off = response_offset(r);
        int64_t ts = response_timestamp(r);
        if (part < 0 || part >= MAX_PARTITIONS) {
            note(&bad_partition, i, part);
        }
        if (off < 0 && unplaced_ok && response_success(r) == 1) {
            unplaced++;
        } else if (off < 0) {
            note(&bad_offset, i, off);
        }
        if (ts <= 0) {
            note(&bad_timestamp, i, ts);
        } else if (ts < wall_start_ms - 300000 || ts > wall_end_ms + 300000) {
            note(&odd_timestamp, i, ts);
        }
        if (part >= 0 && part < MAX_PARTITIONS && off >= 0) {
            if (off <= last[part]) {
                note(&bad_order, i, off);
            }
            last[part] = off;
            per_partition[part]++;
        }
    }
    report(&not_completed, count);
    report(&wait_fails, count);
    report(&not_success, count);
    report(&has_error, count);
    report(&has_message, count);
    report(&bad_partition, count);
    report(&bad_offset, count);
    if (unplaced_ok) fprintf(stderr, "roundtrip %s: %zu delivered as duplicates, offset -1\n", codec, unplaced);
    report(&bad_timestamp, count);
    report(&odd_timestamp, count);
    report(&bad_order, count);

    int used = 0;
    fprintf(stderr, "roundtrip %s: per partition:", codec);
    for (int j = 0; j < MAX_PARTITIONS; j++) {
        if (per_partition[j]) {
            used++;
            fprintf(stderr, " p%d=%zu (last offset %lld)", j, per_partition[j], (long long)last[j]);
        }
    }
    fputc('\n', stderr);
    if (want_partitions > 0) {
        int all = 1;
        for (int j = 0; j < want_partitions; j++) {
            all = all && per_partition[j] > 0;
        }
        CHECK(all && used == want_partitions, "expected messages in each of %d partitions, %d used",
              want_partitions, used);
    }

    /* The expectation file for scripts/verify.py. */
    FILE *f = fopen(expect_path, "w");
    if (CHECK(f != NULL, "cannot write %s", expect_path)) {
        fprintf(f, "# ablkafka roundtrip: topic %s codec %s count %zu\n", topic, codec, count);
        for (size_t i = 0; i < count; i++) {
            message m;
            make_message(i, count, kbuf, vbuf, &m);
            int32_t part = response_partition(resp[i]);
            int64_t off = response_offset(resp[i]);
            if (part >= 0 && off >= 0) {
                fprintf(f, "%d %" PRId64 " ", (int)part, off);
            } else {
                fputs("- - ", f);
            }
            write_hex_field(f, m.key, m.key_len);
            fputc(' ', f);
            write_hex_field(f, m.value, m.value_len);
            fputc('\n', f);
        }
        CHECK(fclose(f) == 0, "cannot close %s", expect_path);
    }

    int64_t tc = now_ms();
    int32_t crc = producer_close(p, 10000);
    CHECK(crc == 0, "producer_close returned %d", (int)crc);
    CHECK(now_ms() - tc < 5000, "producer_close took %lld ms with nothing pending",
          (long long)(now_ms() - tc));
    for (size_t i = 0; i < count; i++) {
        response_free(resp[i]);
    }
    producer_free(p);
    free(resp);
    free(kbuf);
    free(vbuf);
    return CHECK_SUMMARY("roundtrip");
}
