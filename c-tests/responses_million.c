/*
 * responses_million BROKERS TOPIC PARTITIONS COUNT EXPECT_FILE [SEED [misuse]]
 *
 * Issue 21, many Responses: sends COUNT (e.g. 1,000,000) small keyed records ("k%07zu",
 * "v%07zu") with a receipt each on one producer, while a second thread frees the
 * Responses of a random half of them (chosen up front, seeded), in a random order (each
 * chunk of already-sent records shuffled), most of them still pending; the other half is
 * kept to the end. A send refused with -184 (queue full) is freed and sent again.
 * After flush, every kept Response reads exactly:
 *   completed 1, response_wait(0) 1, success 1, error_code 0, error_message NULL,
 *   topic TOPIC, partition = crc32(key) % PARTITIONS (the default partitioner,
 *   consistent_random, for a keyed record), offset = the partition's first offset + the
 *   number of records sent to that partition before it (kept or not: one producer, one
 *   thread, send order), timestamp between the wall-clock time just before its send and
 *   just after it;
 * and reads the same again after producer_close and producer_free.
 * EXPECT_FILE gets one line per record for scripts/verify.py: kept ones
 * "PARTITION OFFSET KEY VALUE - TIMESTAMP" (no headers; the stored CreateTime must equal
 * the receipt's), freed ones "- - KEY VALUE".
 * TOPIC must be empty (or written only by earlier runs of this program: offsets are
 * checked relative to each partition's first kept record).
 *
 * With `misuse` (needs the Response handle rewrite): no handle value of a freed Response
 * is held by a kept one (values are not reused while the old one could still be
 * presented); every freed handle then reads as invalid (the NULL answers) and a second
 * response_free of it does nothing; after the kept ones are freed, they read as invalid.
 * Ends with "N passed, N failed".
 */
#include "common.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>

#define ERR_INVALID_ARG (-186)
#define ERR_QUEUE_FULL (-184)


/* CRC-32 (zlib's): librdkafka's consistent partitioner. */
static uint32_t crc_table[256];
static void crc_init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}
static uint32_t crc32_of(const char *s, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) c = crc_table[(c ^ (unsigned char)s[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int key_of(size_t i, char *buf, size_t n) { return snprintf(buf, n, "k%07zu", i); }
static int value_of(size_t i, char *buf, size_t n) { return snprintf(buf, n, "v%07zu", i); }

typedef struct {
    size_t count, chunk;
    Response **resp;
    const unsigned char *keep;
    uint64_t seed;
    atomic_size_t sent; /* resp[0..sent) are written */
    atomic_int done;    /* the sender has stored its last `sent` */
    size_t freed, freed_pending;
} shared;

/* Frees the Responses not kept, chunk by chunk of sent ones, each chunk in a shuffled order. */
static void *freer(void *arg) {
    shared *s = arg;
    size_t *idx = malloc(s->chunk * sizeof *idx);
    uint64_t st = s->seed ^ 0x6672656572ull;
    size_t next = 0;
    if (idx == NULL) {
        fprintf(stderr, "responses_million: freer: out of memory\n");
        exit(3);
    }
    for (;;) {
        int done = atomic_load_explicit(&s->done, memory_order_acquire);
        size_t sent = atomic_load_explicit(&s->sent, memory_order_acquire);
        if (sent - next >= s->chunk || (done && sent > next)) {
            size_t end = next + s->chunk < sent ? next + s->chunk : sent, m = 0;
            for (size_t i = next; i < end; i++)
                if (!s->keep[i]) idx[m++] = i;
            shuffle(idx, m, &st);
            for (size_t j = 0; j < m; j++) {
                s->freed_pending += response_completed(s->resp[idx[j]]) == 0;
                response_free(s->resp[idx[j]]);
            }
            s->freed += m;
            next = end;
        } else if (done) {
            break;
        } else {
            sleep_ms(1);
        }
    }
    free(idx);
    return NULL;
}

typedef struct {
    size_t bad;
    size_t first;
    int64_t got;
} tally;

static void note(tally *t, size_t i, int64_t got, int bad) {
    if (bad && t->bad++ == 0) {
        t->first = i;
        t->got = got;
    }
}

static int cmp_uptr(const void *a, const void *b) {
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* Every value in `v` must read as an invalid handle (the NULL answers), also after a
 * response_free of it. One check per function. */
static void expect_invalid_all(const char *label, const uintptr_t *v, size_t n) {
    enum { C, W, S, E, M, T, O, P, TS, AF, NF };
    static const char *const name[NF] = {"response_completed", "response_wait(0)", "response_success",
                                         "response_error_code", "response_error_message", "response_topic",
                                         "response_offset", "response_partition", "response_timestamp",
                                         "a read after response_free (completed + code)"};
    static const int64_t want[NF] = {0, ERR_INVALID_ARG, 0, ERR_INVALID_ARG, 0, 0, -1, -1, -1, 0};
    tally t[NF];
    memset(t, 0, sizeof t);
    for (size_t i = 0; i < n; i++) {
        const Response *r = (const Response *)v[i];
        int64_t g;
        g = response_completed(r);
        note(&t[C], i, g, g != want[C]);
        g = response_wait(r, 0);
        note(&t[W], i, g, g != want[W]);
        g = response_success(r);
        note(&t[S], i, g, g != want[S]);
        g = response_error_code(r);
        note(&t[E], i, g, g != want[E]);
        g = (int64_t)(intptr_t)response_error_message(r);
        note(&t[M], i, g, g != 0);
        g = (int64_t)(intptr_t)response_topic(r);
        note(&t[T], i, g, g != 0);
        g = response_offset(r);
        note(&t[O], i, g, g != want[O]);
        g = response_partition(r);
        note(&t[P], i, g, g != want[P]);
        g = response_timestamp(r);
        note(&t[TS], i, g, g != want[TS]);
        response_free((Response *)v[i]);
        g = response_completed(r) != 0 || response_error_code(r) != ERR_INVALID_ARG;
        note(&t[AF], i, g, g != 0);
    }
    for (int f = 0; f < NF; f++)
        CHECK(t[f].bad == 0, "%s: %s answered %" PRId64 " for %zu of %zu handles (first 0x%" PRIxPTR "), want %" PRId64,
              label, name[f], t[f].got, t[f].bad, n, t[f].bad ? v[t[f].first] : 0, want[f]);
}

int main(int argc, char **argv) {
    if (argc < 6 || argc > 8 || (argc == 8 && !str_eq(argv[7], "misuse"))) {
        fprintf(stderr, "usage: %s BROKERS TOPIC PARTITIONS COUNT EXPECT_FILE [SEED [misuse]]\n", argv[0]);
        return 2;
    }
    const char *brokers = argv[1], *topic = argv[2], *expect_path = argv[5];
    long partitions = strtol(argv[3], NULL, 10);
    size_t count = (size_t)strtoul(argv[4], NULL, 10);
    uint64_t seed = argc >= 7 ? strtoull(argv[6], NULL, 0) : 0x4d494c4cu; /* "MILL" */
    int misuse = argc == 8;
    if (partitions <= 0 || partitions > 100000 || count < 2 || count > 9999999) {
        fprintf(stderr, "responses_million: PARTITIONS 1..100000, COUNT 2..9999999\n");
        return 2;
    }
    crc_init();
    fprintf(stderr, "responses_million: %zu records to %s (%ld partitions), seed 0x%" PRIx64 "%s\n", count, topic,
            partitions, seed, misuse ? ", with the misuse checks" : "");

    shared s;
    memset(&s, 0, sizeof s);
    s.count = count;
    s.chunk = count / 64 < 256 ? 256 : count / 64 > 16384 ? 16384 : count / 64;
    s.seed = seed;
    atomic_init(&s.sent, 0);
    atomic_init(&s.done, 0);
    s.resp = calloc(count, sizeof *s.resp);
    unsigned char *keep = calloc(count, 1);
    size_t *perm = malloc(count * sizeof *perm);
    int64_t *ts_lo = malloc((count + 1) * sizeof *ts_lo);
    int32_t *part = malloc(count * sizeof *part);
    int64_t *rank = malloc(count * sizeof *rank);
    int64_t *next_rank = calloc((size_t)partitions, sizeof *next_rank);
    int64_t *base = malloc((size_t)partitions * sizeof *base);
    if (!CHECK(s.resp && keep && perm && ts_lo && part && rank && next_rank && base, "out of memory"))
        return CHECK_SUMMARY("responses_million");
    s.keep = keep;

    /* A random half is kept: the first half of a seeded permutation. */
    uint64_t st = seed;
    for (size_t i = 0; i < count; i++) perm[i] = i;
    shuffle(perm, count, &st);
    for (size_t j = 0; j < count / 2; j++) keep[perm[j]] = 1;
    free(perm);
    char key[32], value[32];
    for (size_t i = 0; i < count; i++) {
        int n = key_of(i, key, sizeof key);
        part[i] = (int32_t)(crc32_of(key, (size_t)n) % (uint32_t)partitions);
        rank[i] = next_rank[part[i]]++;
    }

    const char *opts[] = {"linger.ms", "5", "message.timeout.ms", "300000", NULL};
    Producer *p = producer_with(brokers, opts);
    if (p == NULL) return CHECK_SUMMARY("responses_million");

    pthread_t tid;
    if (!CHECK(pthread_create(&tid, NULL, freer, &s) == 0, "pthread_create")) return CHECK_SUMMARY("responses_million");
    size_t retries = 0, null_sends = 0;
    int64_t t0 = now_ms();
    for (size_t i = 0; i < count; i++) {
        int kl = key_of(i, key, sizeof key), vl = value_of(i, value, sizeof value);
        for (;;) {
            ts_lo[i] = wall_ms();
            Response *r = producer_send(p, topic, key, (size_t)kl, value, (size_t)vl);
            if (r != NULL && response_completed(r) == 1 && response_error_code(r) == ERR_QUEUE_FULL) {
                response_free(r);
                retries++;
                sleep_ms(1);
                continue;
            }
            null_sends += r == NULL;
            s.resp[i] = r;
            break;
        }
        atomic_store_explicit(&s.sent, i + 1, memory_order_release);
    }
    ts_lo[count] = wall_ms();
    atomic_store_explicit(&s.done, 1, memory_order_release);
    int64_t sent_ms = now_ms() - t0;
    int32_t flushed = producer_flush(p, 300000);
    int64_t flush_ms = now_ms() - t0;
    pthread_join(tid, NULL);
    CHECK(null_sends == 0, "%zu sends returned NULL", null_sends);
    CHECK(flushed == 0, "flush returned %d", (int)flushed);
    CHECK(s.freed == count - count / 2, "the freeing thread freed %zu Responses, want %zu", s.freed, count - count / 2);
    fprintf(stderr,
            "responses_million: sent %zu in %" PRId64 " ms (%zu sends retried after -184), flushed at %" PRId64
            " ms; %zu Responses freed by the other thread, %zu of them still pending\n",
            count, sent_ms, retries, flush_ms, s.freed, s.freed_pending);

    /* The kept receipts, exactly. */
    enum { C, W, S, E, M, T, P, O, TS, N_T };
    static const char *const what[N_T] = {"completed != 1", "response_wait(0) != 1", "success != 1",
                                          "error_code != 0", "error_message != NULL", "topic != TOPIC",
                                          "partition != crc32(key) % PARTITIONS",
                                          "offset != first offset of the partition + records sent to it before",
                                          "timestamp outside the wall-clock time of its send"};
    tally t[N_T];
    memset(t, 0, sizeof t);
    int64_t *off = malloc(count * sizeof *off);
    int64_t *ts = malloc(count * sizeof *ts);
    if (!CHECK(off && ts, "out of memory")) return CHECK_SUMMARY("responses_million");
    for (long q = 0; q < partitions; q++) base[q] = INT64_MIN;
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        off[i] = -1;
        ts[i] = -1;
        if (!keep[i]) continue;
        kept++;
        const Response *r = s.resp[i];
        int64_t g;
        g = response_completed(r);
        note(&t[C], i, g, g != 1);
        g = response_wait(r, 0);
        note(&t[W], i, g, g != 1);
        g = response_success(r);
        note(&t[S], i, g, g != 1);
        g = response_error_code(r);
        note(&t[E], i, g, g != 0);
        const char *msg = response_error_message(r);
        note(&t[M], i, msg != NULL, msg != NULL);
        note(&t[T], i, 0, !str_eq(response_topic(r), topic));
        g = response_partition(r);
        note(&t[P], i, g, g != part[i]);
        off[i] = response_offset(r);
        if (off[i] >= 0 && base[part[i]] == INT64_MIN) base[part[i]] = off[i] - rank[i];
        note(&t[O], i, off[i], off[i] < 0 || base[part[i]] < 0 || off[i] != base[part[i]] + rank[i]);
        ts[i] = response_timestamp(r);
        note(&t[TS], i, ts[i], ts[i] < ts_lo[i] || ts[i] > ts_lo[i + 1]);
    }
    CHECK(kept == count / 2, "%zu receipts kept, want %zu", kept, count / 2);
    for (int f = 0; f < N_T; f++) {
        if (t[f].bad) {
            size_t i = t[f].first;
            fprintf(stderr, "  first: record %zu (key k%07zu, partition by key %d, rank %" PRId64 ", sent %" PRId64
                            "..%" PRId64 " ms): got %" PRId64 "\n",
                    i, i, (int)part[i], rank[i], ts_lo[i], ts_lo[i + 1], t[f].got);
        }
        CHECK(t[f].bad == 0, "%zu of %zu kept receipts: %s", t[f].bad, kept, what[f]);
    }

    /* The expectation file: every record; positions and timestamps of the kept ones. */
    FILE *f = fopen(expect_path, "w");
    if (CHECK(f != NULL, "cannot write %s", expect_path)) {
        fprintf(f, "# responses_million: topic %s, %zu records, %zu receipts kept (seed 0x%" PRIx64 ")\n", topic, count,
                kept, seed);
        for (size_t i = 0; i < count; i++) {
            key_of(i, key, sizeof key);
            value_of(i, value, sizeof value);
            int placed = keep[i] && off[i] >= 0 && response_success(s.resp[i]) == 1;
            if (placed)
                fprintf(f, "%d %" PRId64 " ", (int)response_partition(s.resp[i]), off[i]);
            else
                fputs("- - ", f);
            write_hex_str(f, key);
            fputc(' ', f);
            write_hex_str(f, value);
            if (placed) fprintf(f, " - %" PRId64, ts[i]);
            fputc('\n', f);
        }
        CHECK(fclose(f) == 0, "cannot close %s", expect_path);
    }

    /* The kept receipts outlive their producer, unchanged. */
    CHECK(producer_close(p, 30000) == 0, "close");
    producer_free(p);
    size_t changed = 0;
    for (size_t i = 0; i < count; i++) {
        if (!keep[i]) continue;
        const Response *r = s.resp[i];
        changed += response_completed(r) != 1 || response_success(r) != 1 || response_offset(r) != off[i] ||
                   response_timestamp(r) != ts[i] || response_partition(r) != part[i] || !str_eq(response_topic(r), topic);
    }
    CHECK(changed == 0, "%zu of %zu kept receipts read otherwise after producer_close and producer_free", changed, kept);

    if (misuse) {
        uintptr_t *freed = malloc((count - kept) * sizeof *freed), *held = malloc(kept * sizeof *held);
        if (CHECK(freed && held, "out of memory")) {
            size_t nf = 0, nh = 0;
            for (size_t i = 0; i < count; i++) {
                if (keep[i])
                    held[nh++] = (uintptr_t)s.resp[i];
                else
                    freed[nf++] = (uintptr_t)s.resp[i];
            }
            uintptr_t *sorted = malloc(nf * sizeof *sorted);
            if (CHECK(sorted != NULL, "out of memory")) {
                memcpy(sorted, freed, nf * sizeof *sorted);
                qsort(sorted, nf, sizeof *sorted, cmp_uptr);
                size_t reused = 0, dup_freed = 0;
                for (size_t i = 0; i < nh; i++)
                    reused += bsearch(&held[i], sorted, nf, sizeof *sorted, cmp_uptr) != NULL;
                for (size_t i = 1; i < nf; i++) dup_freed += sorted[i] == sorted[i - 1];
                CHECK(reused == 0, "misuse: %zu kept Responses hold the handle value of a freed one", reused);
                CHECK(dup_freed == 0, "misuse: %zu freed Responses had the handle value of an earlier freed one",
                      dup_freed);
                free(sorted);
            }
            expect_invalid_all("misuse: the freed Responses, after flush and producer_free", freed, nf);
            for (size_t i = 0; i < nh; i++) response_free((Response *)held[i]);
            expect_invalid_all("misuse: the kept Responses, once freed", held, nh);
            expect_invalid_all("misuse: the freed Responses, once no Response is live", freed, nf);
        }
        free(freed);
        free(held);
    } else {
        for (size_t i = 0; i < count; i++)
            if (keep[i]) response_free(s.resp[i]);
    }
    printf("responses_million: %zu records, %zu receipts kept and checked, %zu freed while sending\n", count, kept,
           s.freed);
    free(off);
    free(ts);
    free(s.resp);
    free(keep);
    free(ts_lo);
    free(part);
    free(rank);
    free(next_rank);
    free(base);
    return CHECK_SUMMARY("responses_million");
}
