/*
 * response_misuse MODE BROKERS TOPIC [HANDLES]
 *
 * Issue 21: a Response handle is checked like every other handle. A freed, foreign or
 * made-up Response handle gets exactly the answers documented for NULL, on any thread,
 * at any time, also after its producer was freed, and never makes the library touch
 * freed memory; a valid one keeps working until response_free, also after its producer
 * was closed and freed. The invalid answers (include/ablkafka.h, NULL handle):
 *
 *   response_completed 0        response_wait -186 (at once, whatever the timeout)
 *   response_success 0          response_error_code -186
 *   response_error_message NULL response_topic NULL
 *   response_offset -1          response_partition -1      response_timestamp -1
 *   response_free does nothing (nothing is freed twice, no other object is freed)
 *
 * MODE is `valid` (the cases that are legal with any library: they must pass against the
 * library before the rewrite), `misuse` (the others: they need the rewrite), `all` (every
 * case), `list` (print the cases), or case names joined by commas (e.g.
 * `freed,double-free`). HANDLES (default 4000) sizes the
 * threads cases' shared array and the count of random values: smaller under valgrind.
 * RESPONSE_MISUSE_SEED in the environment changes the seed (printed at the start).
 *
 * Cases (legal = runs in `valid`; the others misuse handles on purpose):
 *   null                  legal  NULL itself: the reference answers, every function
 *   stable                legal  a completed Response's answers never change: through more
 *                                sends, frees of other Responses, flush, close, producer_free
 *   after-producer        legal  Responses of a closed and freed producer read their real
 *                                result (delivered; or -197 for those pending at the free)
 *   wait-free             legal  a Response freed while other threads wait on a different
 *                                one: the waiters still wake with 1
 *   threads               legal  8 threads read a shared array of valid Responses while the
 *                                main thread sends and frees others; then each frees its share
 *   freed                 (a)    completed and pending Responses freed, then used; a freed
 *                                handle's value is not handed out again to a new Response
 *   double-free           (b)    freed twice (completed and pending), then used; new
 *                                Responses still work
 *   foreign               (c)    a ProducerBuilder, a Producer, a RecordBuilder as a Response
 *                                (live, then freed); each survives response_free
 *   small                 (d)    1, 2, 8, 4096, (Response *)-1 and other small values
 *   random                (e)    seeded random 64-bit values outside every mapping
 *   mapped                (e)    addresses inside libablkafka.so's own mappings (aligned
 *                                and not), its strings and functions
 *   heap                  (e)    addresses inside malloc'd buffers (some filled with a real
 *                                handle's bits), the library's own heap texts (a Response's
 *                                topic, error texts), the address of a variable holding a handle,
 *                                a real handle +-1/2/4/8/16/64 and with each bit flipped;
 *                                the real Response survives response_free of all of them
 *   after-producer-freed  (f)    Responses freed before close, after close and after
 *                                producer_free: invalid; the kept ones still real
 *   wait-free-misuse      (h)    a Response freed (twice) and used while another thread
 *                                waits on a different one: it wakes with 1; a Response freed
 *                                while a thread waits on that same Response: the waiter
 *                                returns 1, 0 or -186 within its timeout
 *   threads-misuse        (g)    8 threads share HANDLES handles (valid, freed before, made
 *                                up, and ones each thread frees while the others read):
 *                                every answer is the real one or the invalid one
 * After every case, a few witness Responses (valid, completed, kept from the start) must
 * still read exactly as before: no response_free of a bad handle may free a real one.
 *
 * A made-up value that happens to equal a handle this program holds live is skipped (it
 * is not made up) and said so; a freed handle's value given to a new Response is a failure.
 * Each response_wait(-1) on an invalid handle runs under a 20 s alarm: if it blocks, the
 * program says where and exits with status 5.
 * Ends with "N passed, N failed".
 */
#include "common.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#define ERR_INVALID_ARG (-186)
#define ERR_DESTROY (-197)
#define ERR_MSG_SIZE_TOO_LARGE 10
#define THREADS 8
#define WAIT_FOREVER_WATCHDOG_S 20

static const char *g_brokers;
static const char *g_topic;
static size_t g_handles = 4000;
static uint64_t g_seed = 0x52455350u; /* "RESP" */

/* ---------------------------------------------------------------- small tools */


static uintptr_t bits(const Response *r) { return (uintptr_t)r; }
static Response *as_response(uintptr_t v) { return (Response *)v; }

/* ---------------------------------------------------------------- live handles
 * Every Response this program holds live (sent, not yet freed), so that a made-up value
 * equal to one of them can be told apart. Main thread only. */
static uintptr_t *g_live;
static size_t g_live_n, g_live_cap;

static void live_add(const Response *r) {
    if (r == NULL) return;
    if (g_live_n == g_live_cap) {
        size_t cap = g_live_cap ? 2 * g_live_cap : 1024;
        uintptr_t *grown = realloc(g_live, cap * sizeof *grown);
        if (grown == NULL) {
            fprintf(stderr, "response_misuse: out of memory\n");
            exit(3);
        }
        g_live = grown;
        g_live_cap = cap;
    }
    g_live[g_live_n++] = bits(r);
}

static void live_del(uintptr_t v) {
    for (size_t i = g_live_n; i-- > 0;) {
        if (g_live[i] == v) {
            g_live[i] = g_live[--g_live_n];
            return;
        }
    }
}

static int is_live(uintptr_t v) {
    for (size_t i = 0; i < g_live_n; i++)
        if (g_live[i] == v) return 1;
    return 0;
}

static Response *send_kv(Producer *p, const char *key, const char *value) {
    Response *r = producer_send(p, g_topic, key, strlen(key), value, strlen(value));
    live_add(r);
    return r;
}

/* The legal free of a live Response. */
static void free_live(Response *r) {
    response_free(r);
    live_del(bits(r));
}

static Producer *producer_lingering(const char *linger_ms) {
    const char *opts[] = {"linger.ms", linger_ms, "message.timeout.ms", "60000", NULL};
    return producer_with(g_brokers, opts);
}

/* ---------------------------------------------------------------- the process's mappings */
typedef struct {
    uintptr_t start, end;
    int ours; /* libablkafka's own */
} mapping;

static mapping *g_maps;
static size_t g_maps_n;

static void read_maps(void) {
    free(g_maps);
    g_maps = NULL;
    g_maps_n = 0;
    size_t cap = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL) return;
    char line[4096];
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long start, end;
        if (sscanf(line, "%lx-%lx", &start, &end) != 2) continue;
        if (g_maps_n == cap) {
            cap = cap ? 2 * cap : 256;
            mapping *grown = realloc(g_maps, cap * sizeof *grown);
            if (grown == NULL) break;
            g_maps = grown;
        }
        g_maps[g_maps_n].start = (uintptr_t)start;
        g_maps[g_maps_n].end = (uintptr_t)end;
        g_maps[g_maps_n].ours = strstr(line, "libablkafka") != NULL;
        g_maps_n++;
        /* A line longer than the buffer: skip its rest. */
        while (strchr(line, '\n') == NULL && fgets(line, sizeof line, f) != NULL) {
        }
    }
    fclose(f);
}

static int in_any_mapping(uintptr_t v) {
    for (size_t i = 0; i < g_maps_n; i++)
        if (v >= g_maps[i].start && v < g_maps[i].end) return 1;
    return 0;
}

/* A made-up value: not 0, outside every mapping, not a live handle. Half of them fully
 * random 64-bit values (mostly non-canonical addresses), half in user space below
 * 2^47, every other one of those 8-aligned. */
static uintptr_t made_up_value(uint64_t *state, size_t i) {
    for (;;) {
        uint64_t v = next_rand(state);
        if (i % 2 == 1) {
            v = 0x10000 + v % (0x800000000000ull - 0x10000);
            if (i % 4 == 1) v &= ~(uint64_t)7;
        }
        if (v != 0 && !in_any_mapping((uintptr_t)v) && !is_live((uintptr_t)v)) return (uintptr_t)v;
    }
}

/* ---------------------------------------------------------------- answers */
typedef struct {
    int32_t completed, wait, success, code, partition;
    const char *message, *topic;
    int64_t offset, timestamp;
} answers;

/* The nine reading functions, response_wait with timeout 0. */
static void read_answers(const Response *r, answers *a) {
    a->completed = response_completed(r);
    a->wait = response_wait(r, 0);
    a->success = response_success(r);
    a->code = response_error_code(r);
    a->message = response_error_message(r);
    a->topic = response_topic(r);
    a->offset = response_offset(r);
    a->partition = response_partition(r);
    a->timestamp = response_timestamp(r);
}

static int is_invalid(const answers *a) {
    return a->completed == 0 && a->wait == ERR_INVALID_ARG && a->success == 0 && a->code == ERR_INVALID_ARG &&
           a->message == NULL && a->topic == NULL && a->offset == -1 && a->partition == -1 && a->timestamp == -1;
}

/* Strings compared by content when `deref` (the Response is known to be alive), else by
 * address only (it may have been freed meanwhile: the text must not be read). */
static int same_string(const char *a, const char *b, int deref) {
    if (a == NULL || b == NULL) return a == b;
    return deref ? strcmp(a, b) == 0 : a == b;
}

static int same_answers(const answers *a, const answers *b, int deref) {
    return a->completed == b->completed && a->wait == b->wait && a->success == b->success && a->code == b->code &&
           a->partition == b->partition && a->offset == b->offset && a->timestamp == b->timestamp &&
           same_string(a->message, b->message, deref) && same_string(a->topic, b->topic, deref);
}

/* Each answer is either the real one (`real`, strings by address) or the invalid one. */
static int real_or_invalid(const answers *a, const answers *real) {
    return (a->completed == real->completed || a->completed == 0) &&
           (a->wait == real->wait || a->wait == ERR_INVALID_ARG) &&
           (a->success == real->success || a->success == 0) &&
           (a->code == real->code || a->code == ERR_INVALID_ARG) &&
           (a->message == real->message || a->message == NULL) && (a->topic == real->topic || a->topic == NULL) &&
           (a->offset == real->offset || a->offset == -1) &&
           (a->partition == real->partition || a->partition == -1) &&
           (a->timestamp == real->timestamp || a->timestamp == -1);
}

/* Only for a Response known to be alive (strings are read). */
static void describe(const answers *a, char *buf, size_t n) {
    snprintf(buf, n,
             "completed=%d wait0=%d success=%d code=%d message=%s topic=%s offset=%" PRId64 " partition=%d"
             " timestamp=%" PRId64,
             (int)a->completed, (int)a->wait, (int)a->success, (int)a->code, or_null(a->message), or_null(a->topic),
             a->offset, (int)a->partition, a->timestamp);
}

/* Addresses only: for answers that may come from a freed handle. */
static void describe_raw(const answers *a, char *buf, size_t n) {
    snprintf(buf, n,
             "completed=%d wait0=%d success=%d code=%d message=%p topic=%p offset=%" PRId64 " partition=%d"
             " timestamp=%" PRId64,
             (int)a->completed, (int)a->wait, (int)a->success, (int)a->code, (const void *)a->message,
             (const void *)a->topic, a->offset, (int)a->partition, a->timestamp);
}

/* A delivered record of g_topic, all ten answers as documented. */
static int delivered_ok(const answers *a) {
    return a->completed == 1 && a->wait == 1 && a->success == 1 && a->code == 0 && a->message == NULL &&
           str_eq(a->topic, g_topic) && a->partition >= 0 && a->offset >= 0 && a->timestamp > 0;
}

/* A record of g_topic failed with `code` after (or at) the send. */
static int failed_ok(const answers *a, int32_t code) {
    return a->completed == 1 && a->wait == 1 && a->success == 0 && a->code == code &&
           str_eq(a->message, ablkafka_err2str(code)) && str_eq(a->topic, g_topic) && a->partition == -1 &&
           a->offset == -1 && a->timestamp == -1;
}

/* Checks that each of `n` live Responses reads as `snap` (strings by content). Returns
 * how many do not, printing the first few. */
static size_t count_changed(Response *const *r, const answers *snap, size_t n, const char *stage) {
    size_t changed = 0;
    for (size_t i = 0; i < n; i++) {
        answers a;
        read_answers(r[i], &a);
        if (!same_answers(&a, &snap[i], 1)) {
            if (changed++ < 3) {
                char was[512], now[512];
                describe(&snap[i], was, sizeof was);
                describe(&a, now, sizeof now);
                fprintf(stderr, "  %s: Response %zu was {%s}, now {%s}\n", stage, i, was, now);
            }
        }
    }
    return changed;
}

/* ---------------------------------------------------------------- the invalid-answer check */
enum {
    F_COMPLETED,
    F_WAIT0,
    F_WAIT_TIMED,
    F_WAIT_FOREVER,
    F_SUCCESS,
    F_CODE,
    F_MESSAGE,
    F_TOPIC,
    F_OFFSET,
    F_PARTITION,
    F_TIMESTAMP,
    F_AFTER_FREE,
    F_COUNT
};
static const char *const F_NAME[F_COUNT] = {
    "response_completed",
    "response_wait(0)",
    "response_wait(1000 or 1) (answer, or >= 500 ms taken)",
    "response_wait(-1)",
    "response_success",
    "response_error_code",
    "response_error_message (as an address)",
    "response_topic (as an address)",
    "response_offset",
    "response_partition",
    "response_timestamp",
    "the nine reads again after response_free (1 = some answer changed)",
};
static const int64_t F_WANT[F_COUNT] = {0, ERR_INVALID_ARG, ERR_INVALID_ARG, ERR_INVALID_ARG, 0, ERR_INVALID_ARG, 0, 0,
                                        -1, -1, -1, 0};

typedef struct {
    size_t bad;
    uintptr_t first_value;
    int64_t first_got;
} tally;

static void note(tally *t, int f, uintptr_t v, int64_t got, int bad) {
    if (!bad) return;
    if (t[f].bad++ == 0) {
        t[f].first_value = v;
        t[f].first_got = got;
    }
}

/* The watchdog for response_wait(-1) on an invalid handle (main thread only). */
static const char *volatile g_watch_label = "";

static void on_alarm(int sig) {
    (void)sig;
    static const char head[] = "response_misuse: WATCHDOG: response_wait(-1) on an invalid handle blocked for 20 s in: ";
    const char *label = g_watch_label;
    ssize_t ignored = write(2, head, sizeof head - 1);
    ignored = write(2, label, strlen(label));
    ignored = write(2, "\n", 1);
    (void)ignored;
    _exit(5);
}

/* Calls every Response function, response_free included, on each of `n` values that must
 * be invalid handles, and checks each answer exactly: one counted check per function.
 * Values equal to a handle this program holds live are skipped (and said so). */
static void expect_invalid(const char *label, const uintptr_t *values, size_t n) {
    tally t[F_COUNT];
    memset(t, 0, sizeof t);
    size_t tried = 0, skipped = 0;
    g_watch_label = label;
    for (size_t i = 0; i < n; i++) {
        uintptr_t v = values[i];
        if (v != 0 && is_live(v)) {
            skipped++;
            continue;
        }
        tried++;
        Response *r = as_response(v);
        int32_t got = response_completed(r);
        note(t, F_COMPLETED, v, got, got != 0);
        got = response_wait(r, 0);
        note(t, F_WAIT0, v, got, got != ERR_INVALID_ARG);
        int32_t timeout = tried <= 16 ? 1000 : 1;
        int64_t t0 = now_ms();
        got = response_wait(r, timeout);
        int64_t took = now_ms() - t0;
        note(t, F_WAIT_TIMED, v, got, got != ERR_INVALID_ARG || took >= 500);
        alarm(WAIT_FOREVER_WATCHDOG_S);
        got = response_wait(r, -1);
        alarm(0);
        note(t, F_WAIT_FOREVER, v, got, got != ERR_INVALID_ARG);
        got = response_success(r);
        note(t, F_SUCCESS, v, got, got != 0);
        got = response_error_code(r);
        note(t, F_CODE, v, got, got != ERR_INVALID_ARG);
        const char *s = response_error_message(r);
        note(t, F_MESSAGE, v, (int64_t)(intptr_t)s, s != NULL);
        s = response_topic(r);
        note(t, F_TOPIC, v, (int64_t)(intptr_t)s, s != NULL);
        int64_t off = response_offset(r);
        note(t, F_OFFSET, v, off, off != -1);
        got = response_partition(r);
        note(t, F_PARTITION, v, got, got != -1);
        int64_t ts = response_timestamp(r);
        note(t, F_TIMESTAMP, v, ts, ts != -1);
        response_free(r);
        answers a;
        read_answers(r, &a);
        note(t, F_AFTER_FREE, v, 1, !is_invalid(&a));
    }
    for (int f = 0; f < F_COUNT; f++) {
        CHECK(t[f].bad == 0, "%s: %s answered %" PRId64 " for %zu of %zu handles (first 0x%" PRIxPTR "), want %" PRId64,
              label, F_NAME[f], t[f].first_got, t[f].bad, tried, t[f].first_value, F_WANT[f]);
    }
    CHECK(tried > 0, "%s: every one of %zu values was a live handle: nothing tried", label, n);
    if (skipped > 0)
        fprintf(stderr, "response_misuse: %s: %zu of %zu values skipped: equal to a Response handle held live\n", label,
                skipped, n);
}

static void expect_invalid_one(const char *label, const void *handle) {
    uintptr_t v = (uintptr_t)handle;
    expect_invalid(label, &v, 1);
}

/* ---------------------------------------------------------------- witnesses */
#define N_WITNESS 4
static Producer *g_witness_producer;
static Response *g_witness[N_WITNESS];
static answers g_witness_snap[N_WITNESS];
static int g_witnesses;

static void witnesses_make(void) {
    g_witness_producer = producer_lingering("5");
    if (g_witness_producer == NULL) return;
    char key[32];
    for (int i = 0; i < N_WITNESS; i++) {
        snprintf(key, sizeof key, "witness-%d", i);
        g_witness[i] = send_kv(g_witness_producer, key, "a witness: never freed until the end");
    }
    CHECK(producer_flush(g_witness_producer, 30000) == 0, "witnesses: flush");
    int ok = 1;
    for (int i = 0; i < N_WITNESS; i++) {
        read_answers(g_witness[i], &g_witness_snap[i]);
        if (!CHECK(delivered_ok(&g_witness_snap[i]), "witness %d not delivered: code %d", i,
                   (int)g_witness_snap[i].code))
            ok = 0;
    }
    g_witnesses = ok;
}

static void witnesses_check(const char *after) {
    if (!g_witnesses) return;
    size_t changed = count_changed(g_witness, g_witness_snap, N_WITNESS, after);
    CHECK(changed == 0, "after %s: %zu of %d witness Responses (valid, never freed) read differently", after, changed,
          N_WITNESS);
}

static void witnesses_free(void) {
    if (g_witness_producer == NULL) return;
    producer_free(g_witness_producer);
    g_witness_producer = NULL;
    witnesses_check("the witnesses' producer was freed");
    for (int i = 0; i < N_WITNESS; i++) {
        if (g_witness[i] != NULL) free_live(g_witness[i]);
        g_witness[i] = NULL;
    }
    g_witnesses = 0;
}

/* ================================================================ legal cases */

static void case_null(void) {
    answers a;
    read_answers(NULL, &a);
    char d[512];
    describe(&a, d, sizeof d);
    CHECK(is_invalid(&a), "NULL: the nine reads gave {%s}", d);
    expect_invalid_one("NULL", NULL);
}

/* A completed Response's answers never change. */
static void case_stable(void) {
    const char *opts[] = {"linger.ms", "20", "message.max.bytes", "1000", "message.timeout.ms", "60000", NULL};
    Producer *p = producer_with(g_brokers, opts);
    if (p == NULL) return;
    enum { N = 20, ALL = N + 2 };
    Response *r[ALL];
    answers snap[ALL];
    char key[32], value[64];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "stable-%d", i);
        snprintf(value, sizeof value, "stable value %d", i);
        r[i] = send_kv(p, key, value);
    }
    static char big[2000];
    memset(big, 'b', sizeof big);
    r[N] = producer_send(p, g_topic, "big", 3, big, sizeof big); /* refused at send: 10 */
    live_add(r[N]);
    r[N + 1] = producer_send(p, NULL, "k", 1, "v", 1); /* refused at send: -186, topic "" */
    live_add(r[N + 1]);
    for (int i = 0; i < ALL; i++) {
        if (!CHECK(r[i] != NULL, "stable: send %d returned NULL", i)) {
            producer_free(p);
            return;
        }
    }
    int waited = 0;
    for (int i = 0; i < ALL; i++) waited += response_wait(r[i], 20000) == 1;
    CHECK(waited == ALL, "stable: %d of %d Responses completed within 20 s", waited, ALL);
    for (int i = 0; i < ALL; i++) read_answers(r[i], &snap[i]);
    int bad = 0;
    for (int i = 0; i < N; i++) bad += !delivered_ok(&snap[i]);
    CHECK(bad == 0, "stable: %d of %d not delivered as documented", bad, N);
    char d[512];
    describe(&snap[N], d, sizeof d);
    CHECK(snap[N].completed == 1 && snap[N].wait == 1 && snap[N].success == 0 && snap[N].code == ERR_MSG_SIZE_TOO_LARGE &&
              str_eq(snap[N].message, ablkafka_err2str(ERR_MSG_SIZE_TOO_LARGE)) && str_eq(snap[N].topic, g_topic) &&
              snap[N].partition == -1 && snap[N].offset == -1 && snap[N].timestamp == -1,
          "stable: a value over message.max.bytes: {%s}", d);
    describe(&snap[N + 1], d, sizeof d);
    CHECK(snap[N + 1].completed == 1 && snap[N + 1].wait == 1 && snap[N + 1].success == 0 &&
              snap[N + 1].code == ERR_INVALID_ARG && snap[N + 1].message != NULL && str_eq(snap[N + 1].topic, "") &&
              snap[N + 1].partition == -1 && snap[N + 1].offset == -1 && snap[N + 1].timestamp == -1,
          "stable: a NULL topic: {%s}", d);

    /* Other Responses come and go (some freed pending, some completed); flush. */
    Response *churn[300];
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "stable-churn-%d", i % 11);
        churn[i] = send_kv(p, key, "churn");
        if (i % 2 == 0) free_live(churn[i]);
    }
    CHECK(count_changed(r, snap, ALL, "stable, other Responses sent and freed") == 0,
          "stable: completed Responses changed while others were sent and freed");
    CHECK(producer_flush(p, 30000) == 0, "stable: flush");
    for (int i = 1; i < 300; i += 2) free_live(churn[i]);
    CHECK(count_changed(r, snap, ALL, "stable, after flush") == 0, "stable: completed Responses changed by a flush");
    int forever = 0;
    for (int i = 0; i < ALL; i++) forever += response_wait(r[i], -1) == 1;
    CHECK(forever == ALL, "stable: response_wait(-1) on completed Responses: %d of %d returned 1", forever, ALL);
    CHECK(producer_close(p, 10000) == 0, "stable: close");
    CHECK(count_changed(r, snap, ALL, "stable, after close") == 0, "stable: completed Responses changed by close");
    producer_free(p);
    CHECK(count_changed(r, snap, ALL, "stable, after producer_free") == 0,
          "stable: completed Responses changed by producer_free");
    sleep_ms(100);
    CHECK(count_changed(r, snap, ALL, "stable, 100 ms later") == 0, "stable: completed Responses changed later");
    for (int i = 0; i < ALL; i++) free_live(r[i]);
}

/* Two producers for the cases around a producer's end: *p delivers within 10 ms, *q lingers
 * 10 s, so that its Responses are still pending when it is freed. Sends n records through *p
 * (keys PREFIX-i, value VALUE) and m through *q (keys PREFIX-pending-i). 0 when either
 * producer could not be built (both are then freed, nothing sent). */
static int send_through_two(const char *prefix, const char *value, Producer **p, Response **sent, int n, Producer **q,
                            Response **pending, int m) {
    *p = producer_lingering("10");
    *q = producer_lingering("10000");
    if (*p == NULL || *q == NULL) {
        producer_free(*p);
        producer_free(*q);
        return 0;
    }
    char key[64];
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "%s-%d", prefix, i);
        sent[i] = send_kv(*p, key, value);
    }
    for (int i = 0; i < m; i++) {
        snprintf(key, sizeof key, "%s-pending-%d", prefix, i);
        pending[i] = send_kv(*q, key, "pending at producer_free");
    }
    return 1;
}

/* Responses of a closed and freed producer read their real results. */
static void case_after_producer(void) {
    enum { N = 40, PENDING = 10 };
    Producer *p, *q;
    Response *r[N], *w[PENDING];
    if (!send_through_two("after", "sent before close", &p, r, N, &q, w, PENDING)) return;
    answers snap[N];
    CHECK(producer_flush(p, 30000) == 0, "after-producer: flush");
    for (int i = 0; i < N; i++) read_answers(r[i], &snap[i]);
    int bad = 0;
    for (int i = 0; i < N; i++) bad += !delivered_ok(&snap[i]);
    CHECK(bad == 0, "after-producer: %d of %d not delivered", bad, N);
    CHECK(response_completed(w[0]) == 0, "after-producer: linger.ms=10000, yet completed before producer_free");
    CHECK(producer_close(p, 10000) == 0, "after-producer: close");
    producer_free(p);
    producer_free(q); /* closes without waiting: the pending ones complete with -197 */
    CHECK(count_changed(r, snap, N, "after-producer, producer freed") == 0,
          "after-producer: delivered Responses changed when their producer was closed and freed");
    bad = 0;
    for (int i = 0; i < N; i++) {
        answers a;
        read_answers(r[i], &a);
        bad += !delivered_ok(&a) || response_wait(r[i], -1) != 1;
    }
    CHECK(bad == 0, "after-producer: %d of %d delivered Responses unreadable after producer_free", bad, N);
    bad = 0;
    for (int i = 0; i < PENDING; i++) {
        answers a;
        read_answers(w[i], &a);
        if (!failed_ok(&a, ERR_DESTROY) || response_wait(w[i], -1) != 1) {
            if (bad++ == 0) {
                char d[512];
                describe(&a, d, sizeof d);
                fprintf(stderr, "  pending at producer_free: {%s}\n", d);
            }
        }
    }
    CHECK(bad == 0, "after-producer: %d of %d Responses pending at producer_free do not read as failed with -197", bad,
          PENDING);
    for (int i = 0; i < N; i++) free_live(r[i]);
    for (int i = 0; i < PENDING; i++) free_live(w[i]);
}

/* ---------------------------------------------------------------- waiting while others are freed */
typedef struct {
    const Response *r;
    int32_t timeout_ms;
    int32_t rc;
    int64_t took_ms;
    atomic_int done;
} waiter;

static void *wait_thread(void *arg) {
    waiter *w = arg;
    int64_t t0 = now_ms();
    w->rc = response_wait(w->r, w->timeout_ms);
    w->took_ms = now_ms() - t0;
    atomic_store(&w->done, 1);
    return NULL;
}

static int start_waiter(pthread_t *tid, waiter *w, const Response *r, int32_t timeout_ms) {
    w->r = r;
    w->timeout_ms = timeout_ms;
    w->rc = -999;
    w->took_ms = -1;
    atomic_init(&w->done, 0);
    return CHECK(pthread_create(tid, NULL, wait_thread, w) == 0, "pthread_create");
}

/* `misuse`: also free the other Response twice and use it, and free made-up values,
 * while the waiters wait; and free a Response while a thread waits on that same one. */
static void wait_free(int misuse) {
    const char *name = misuse ? "wait-free-misuse" : "wait-free";
    Producer *p = producer_lingering("1500");
    if (p == NULL) return;
    Response *a = send_kv(p, "wait-a", "waited on");
    Response *b = send_kv(p, "wait-b", "freed while another is waited on");
    Response *c = producer_send(p, g_topic, "k", 1, NULL, 5); /* refused at once: completed */
    live_add(c);
    Response *d[20];
    for (int i = 0; i < 20; i++) d[i] = send_kv(p, "wait-d", "freed while another is waited on");
    if (!CHECK(a != NULL && b != NULL && c != NULL, "%s: send returned NULL", name)) {
        producer_free(p);
        return;
    }
    pthread_t t1, t2;
    waiter w1, w2;
    int64_t t0 = now_ms();
    int s1 = start_waiter(&t1, &w1, a, 30000);
    int s2 = start_waiter(&t2, &w2, a, -1);
    sleep_ms(300);
    CHECK(!atomic_load(&w1.done) && !atomic_load(&w2.done),
          "%s: a waiter returned within 300 ms on a Response lingering 1500 ms (rc %d, %d)", name, (int)w1.rc,
          (int)w2.rc);
    uintptr_t vb = bits(b), vc = bits(c);
    free_live(b); /* pending */
    free_live(c); /* completed */
    for (int i = 0; i < 20; i++) free_live(d[i]);
    if (misuse) {
        response_free(b); /* twice */
        uintptr_t freed[2] = {vb, vc};
        expect_invalid("wait-free-misuse: Responses freed while another thread waits on a different one", freed, 2);
        read_maps();
        uint64_t st = g_seed ^ 0x77;
        uintptr_t made[64];
        for (size_t i = 0; i < 64; i++) made[i] = made_up_value(&st, i);
        for (size_t i = 0; i < 64; i++) response_free(as_response(made[i]));
    }
    if (s1) pthread_join(t1, NULL);
    if (s2) pthread_join(t2, NULL);
    int64_t took = now_ms() - t0;
    CHECK(w1.rc == 1, "%s: the waiter (30 s) on a different Response returned %d after %" PRId64 " ms, want 1", name,
          (int)w1.rc, w1.took_ms);
    CHECK(w2.rc == 1, "%s: the waiter (-1) on a different Response returned %d after %" PRId64 " ms, want 1", name,
          (int)w2.rc, w2.took_ms);
    CHECK(took < 15000, "%s: the waiters woke after %" PRId64 " ms (linger.ms=1500)", name, took);
    answers aa;
    read_answers(a, &aa);
    char dd[512];
    describe(&aa, dd, sizeof dd);
    CHECK(delivered_ok(&aa), "%s: the waited-on Response: {%s}", name, dd);

    if (misuse) {
        /* A Response freed while a thread waits on that same Response. */
        Response *x = send_kv(p, "wait-x", "freed while waited on");
        pthread_t t3;
        waiter w3;
        if (x != NULL && start_waiter(&t3, &w3, x, 5000)) {
            sleep_ms(200);
            uintptr_t vx = bits(x);
            free_live(x);
            pthread_join(t3, NULL);
            CHECK(w3.rc == 1 || w3.rc == 0 || w3.rc == ERR_INVALID_ARG,
                  "%s: a thread waiting (5 s) on a Response freed meanwhile got %d, want 1, 0 or -186", name,
                  (int)w3.rc);
            CHECK(w3.took_ms >= 0 && w3.took_ms < 8000, "%s: that waiter returned after %" PRId64 " ms", name,
                  w3.took_ms);
            expect_invalid("wait-free-misuse: a Response freed while a thread waited on it", &vx, 1);
        }
    } else {
        /* Two waiters on one Response, a different one freed meanwhile, then a flush. */
        Response *e = send_kv(p, "wait-e", "waited on by two");
        Response *f = send_kv(p, "wait-f", "freed while e is waited on");
        pthread_t t3, t4;
        waiter w3, w4;
        int s3 = start_waiter(&t3, &w3, e, 30000), s4 = start_waiter(&t4, &w4, e, 30000);
        sleep_ms(100);
        free_live(f);
        int64_t f0 = now_ms();
        CHECK(producer_flush(p, 10000) == 0, "%s: flush", name);
        if (s3) pthread_join(t3, NULL);
        if (s4) pthread_join(t4, NULL);
        CHECK(w3.rc == 1 && w4.rc == 1, "%s: two waiters on one Response returned %d and %d, want 1", name,
              (int)w3.rc, (int)w4.rc);
        CHECK(now_ms() - f0 < 5000, "%s: the waiters returned %" PRId64 " ms after the flush began", name,
              now_ms() - f0);
        free_live(e);
    }
    producer_free(p);
    free_live(a);
}

static void case_wait_free(void) { wait_free(0); }
static void case_wait_free_misuse(void) { wait_free(1); }

/* ---------------------------------------------------------------- threads */
enum { K_KEPT, K_OWNED, K_FREED_BEFORE, K_MADE_UP };

typedef struct {
    uintptr_t v;
    int kind;
    int owner;    /* K_OWNED: the thread that frees it */
    answers real; /* K_KEPT, K_OWNED: the answers while valid */
} entry;

typedef struct {
    int id, misuse;
    entry *e;
    size_t n;
    pthread_barrier_t *barrier;
    /* Results, read by main after join (check.h is not thread-safe). */
    size_t reads, kept_wrong, invalid_wrong, owned_neither, own_freed_wrong, final_wrong, frees;
    char first[768];
} reader;

static void first_problem(reader *w, const char *what, size_t idx, const answers *a) {
    if (w->first[0] != '\0') return;
    char d[512];
    describe_raw(a, d, sizeof d);
    snprintf(w->first, sizeof w->first, "thread %d, %s, entry %zu (0x%" PRIxPTR ", kind %d): {%s}", w->id, what, idx,
             w->e[idx].v, w->e[idx].kind, d);
}

/* Reads entry idx; `mine_freed`: this thread has freed it (an owned one). */
static void read_entry(reader *w, size_t idx, int mine_freed, int final) {
    const entry *x = &w->e[idx];
    answers a;
    read_answers(as_response(x->v), &a);
    int32_t w1 = response_wait(as_response(x->v), 1);
    w->reads++;
    if (x->kind == K_KEPT || (!w->misuse && x->kind == K_OWNED)) { /* legal mode: owned ones are freed after */
        if (!same_answers(&a, &x->real, 1) || w1 != 1) {
            w->kept_wrong++;
            first_problem(w, "a valid Response read otherwise", idx, &a);
        }
    } else if (x->kind == K_FREED_BEFORE || x->kind == K_MADE_UP || mine_freed || final) {
        if (!is_invalid(&a) || w1 != ERR_INVALID_ARG) {
            if (final)
                w->final_wrong++;
            else if (mine_freed)
                w->own_freed_wrong++;
            else
                w->invalid_wrong++;
            first_problem(w, final ? "after every free" : "an invalid handle read otherwise", idx, &a);
        }
    } else if (!real_or_invalid(&a, &x->real) || (w1 != 1 && w1 != ERR_INVALID_ARG)) {
        w->owned_neither++;
        first_problem(w, "neither the real nor the invalid answer", idx, &a);
    }
}

static void *reader_thread(void *arg) {
    reader *w = arg;
    size_t n = w->n;
    size_t *order = malloc(n * sizeof *order);
    unsigned char *mine = calloc(n, 1);
    if (order == NULL || mine == NULL) {
        free(order);
        free(mine);
        for (int k = 0; k < (w->misuse ? 2 : 3); k++) pthread_barrier_wait(w->barrier); /* as the others */
        snprintf(w->first, sizeof w->first, "thread %d: out of memory", w->id);
        w->kept_wrong++;
        return NULL;
    }
    uint64_t st = g_seed ^ (0x1000u + (uint64_t)w->id);
    for (size_t i = 0; i < n; i++) order[i] = i;
    pthread_barrier_wait(w->barrier); /* everyone starts together */
    int rounds = w->misuse ? 4 : 3;
    for (int round = 0; round < rounds; round++) {
        shuffle(order, n, &st);
        for (size_t k = 0; k < n; k++) {
            size_t idx = order[k];
            const entry *x = &w->e[idx];
            int own = x->kind == K_OWNED && x->owner == w->id;
            if (w->misuse && round == 1 && own) { /* freed while the other threads read it */
                response_free(as_response(x->v));
                mine[idx] = 1;
                w->frees++;
            }
            if (w->misuse && round == 3 && (own || x->kind == K_MADE_UP || x->kind == K_FREED_BEFORE)) {
                response_free(as_response(x->v)); /* again, or a made-up one: does nothing */
                w->frees++;
            }
            read_entry(w, idx, mine[idx], 0);
        }
    }
    pthread_barrier_wait(w->barrier); /* every thread done: in misuse mode, every owned one freed */
    if (w->misuse) {
        for (size_t idx = 0; idx < n; idx++) read_entry(w, idx, 0, w->e[idx].kind == K_OWNED);
    } else {
        /* Legal: each frees its own share once nobody reads any more. */
        shuffle(order, n, &st);
        pthread_barrier_wait(w->barrier);
        for (size_t k = 0; k < n; k++) {
            const entry *x = &w->e[order[k]];
            if (x->kind == K_OWNED && x->owner == w->id) {
                response_free(as_response(x->v));
                w->frees++;
            }
        }
    }
    free(order);
    free(mine);
    return NULL;
}

static void threads_case(int misuse) {
    const char *name = misuse ? "threads-misuse" : "threads";
    size_t n = g_handles < 64 ? 64 : g_handles;
    Producer *p = producer_lingering("5");
    if (p == NULL) return;
    entry *e = calloc(n, sizeof *e);
    if (!CHECK(e != NULL, "%s: out of memory", name)) {
        producer_free(p);
        return;
    }
    uint64_t st = g_seed ^ 0x7468726561647321ull;
    /* Kinds: legal: half kept, half owned (freed by their owner at the end). Misuse: a
       quarter each of kept, owned (freed while the others read), freed before, made up. */
    char key[32], value[64];
    size_t sent = 0;
    for (size_t i = 0; i < n; i++) {
        e[i].kind = misuse ? (int)(i % 4) : (int)(i % 2);
        e[i].owner = (int)(next_rand(&st) % THREADS);
        if (e[i].kind != K_MADE_UP) {
            snprintf(key, sizeof key, "threads-%zu", i % 31);
            snprintf(value, sizeof value, "%s %zu", name, i);
            Response *r = send_kv(p, key, value);
            e[i].v = bits(r);
            sent += r != NULL;
        }
    }
    CHECK(sent == n - (misuse ? n / 4 : 0), "%s: %zu sends returned NULL", name, n - (misuse ? n / 4 : 0) - sent);
    CHECK(producer_flush(p, 60000) == 0, "%s: flush", name);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (e[i].kind == K_KEPT || e[i].kind == K_OWNED) {
            read_answers(as_response(e[i].v), &e[i].real);
            bad += !delivered_ok(&e[i].real);
        }
    }
    CHECK(bad == 0, "%s: %zu Responses not delivered before the threads start", name, bad);
    if (misuse) {
        for (size_t i = 0; i < n; i++)
            if (e[i].kind == K_FREED_BEFORE) free_live(as_response(e[i].v));
        read_maps();
        for (size_t i = 0; i < n; i++)
            if (e[i].kind == K_MADE_UP) e[i].v = made_up_value(&st, i);
    }
    /* Shuffle the entries, so kinds and owners are spread through the array. */
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(next_rand(&st) % i);
        entry t = e[i - 1];
        e[i - 1] = e[j];
        e[j] = t;
    }

    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, THREADS);
    reader w[THREADS];
    pthread_t tid[THREADS];
    int started[THREADS];
    for (int t = 0; t < THREADS; t++) {
        memset(&w[t], 0, sizeof w[t]);
        w[t].id = t;
        w[t].misuse = misuse;
        w[t].e = e;
        w[t].n = n;
        w[t].barrier = &barrier;
    }
    int64_t t0 = now_ms();
    int all_started = 1;
    for (int t = 0; t < THREADS; t++) {
        started[t] = pthread_create(&tid[t], NULL, reader_thread, &w[t]) == 0;
        all_started &= started[t];
    }
    if (!CHECK(all_started, "%s: pthread_create failed", name)) {
        /* The barrier would never open: nothing sensible to do. */
        exit(CHECK_SUMMARY("response_misuse"));
    }
    /* Meanwhile this thread sends and frees Responses of its own on the same producer. */
    Response *churn[500];
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof key, "threads-churn-%d", i % 7);
        churn[i] = send_kv(p, key, "sent while the threads read");
        if (i % 2 == 0) free_live(churn[i]); /* freed pending, most likely */
        if (i % 100 == 99) sleep_ms(5);
    }
    CHECK(producer_flush(p, 30000) == 0, "%s: flush during the threads' reads", name);
    int churn_bad = 0;
    for (int i = 1; i < 500; i += 2) {
        answers a;
        read_answers(churn[i], &a);
        churn_bad += !delivered_ok(&a);
        free_live(churn[i]);
    }
    CHECK(churn_bad == 0, "%s: %d of 250 Responses sent during the threads' reads not delivered", name, churn_bad);
    for (int t = 0; t < THREADS; t++)
        if (started[t]) pthread_join(tid[t], NULL);
    pthread_barrier_destroy(&barrier);
    int64_t took = now_ms() - t0;

    size_t reads = 0, kept = 0, inval = 0, neither = 0, own = 0, fin = 0, frees = 0;
    const char *first = NULL;
    for (int t = 0; t < THREADS; t++) {
        reads += w[t].reads;
        kept += w[t].kept_wrong;
        inval += w[t].invalid_wrong;
        neither += w[t].owned_neither;
        own += w[t].own_freed_wrong;
        fin += w[t].final_wrong;
        frees += w[t].frees;
        if (first == NULL && w[t].first[0] != '\0') first = w[t].first;
    }
    fprintf(stderr, "response_misuse: %s: %d threads, %zu handles, %zu reads of ten answers, %zu frees in %" PRId64 " ms\n",
            name, THREADS, n, reads, frees, took);
    if (first != NULL) fprintf(stderr, "  first problem: %s\n", first);
    CHECK(reads == (size_t)THREADS * n * (misuse ? 5 : 3), "%s: %zu reads, want %zu", name, reads,
          (size_t)THREADS * n * (misuse ? 5 : 3));
    CHECK(kept == 0, "%s: %zu reads of a valid Response (never freed) were not its real answers", name, kept);
    size_t owned = 0;
    for (size_t i = 0; i < n; i++) owned += e[i].kind == K_OWNED;
    if (misuse) {
        CHECK(inval == 0, "%s: %zu reads of a freed-before or made-up handle were not the invalid answers", name, inval);
        CHECK(neither == 0, "%s: %zu reads of a Response freed by another thread meanwhile were neither real nor invalid",
              name, neither);
        CHECK(own == 0, "%s: %zu reads by the thread that had freed the Response were not the invalid answers", name, own);
        CHECK(fin == 0, "%s: %zu reads after every thread's frees were not the invalid answers", name, fin);
        CHECK(frees > owned, "%s: %zu frees for %zu owned handles", name, frees, owned);
    } else {
        CHECK(frees == owned, "%s: %zu frees for %zu owned handles", name, frees, owned);
    }
    for (size_t i = 0; i < n; i++)
        if (e[i].kind == K_OWNED) live_del(e[i].v);

    /* The kept ones are still real; then freed the legal way. */
    bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (e[i].kind != K_KEPT) continue;
        answers a;
        read_answers(as_response(e[i].v), &a);
        bad += !same_answers(&a, &e[i].real, 1);
    }
    CHECK(bad == 0, "%s: %zu valid Responses read otherwise after the threads ended", name, bad);
    if (misuse) {
        uintptr_t *gone = malloc(n * sizeof *gone);
        size_t m = 0;
        for (size_t i = 0; gone != NULL && i < n; i++)
            if (e[i].kind != K_KEPT) gone[m++] = e[i].v;
        if (gone != NULL) expect_invalid("threads-misuse: every freed or made-up handle, after the threads", gone, m);
        free(gone);
    }
    for (size_t i = 0; i < n; i++)
        if (e[i].kind == K_KEPT) free_live(as_response(e[i].v));
    free(e);
    producer_free(p);
}

static void case_threads(void) { threads_case(0); }
static void case_threads_misuse(void) { threads_case(1); }

/* ================================================================ misuse cases */

/* (a) freed once, then used: completed and pending; never handed out again. */
static void case_freed(void) {
    Producer *p = producer_lingering("5");
    Producer *q = producer_lingering("10000");
    if (p == NULL || q == NULL) {
        producer_free(p);
        producer_free(q);
        return;
    }
    enum { BULK = 100, FRESH = 1000 };
    uintptr_t freed[2 + 2 * BULK];
    size_t nf = 0;

    Response *done = send_kv(p, "freed-done", "completed, then freed");
    CHECK(response_wait(done, 20000) == 1, "freed: the first Response did not complete");
    answers a;
    read_answers(done, &a);
    CHECK(delivered_ok(&a), "freed: the first Response was not delivered (code %d)", (int)a.code);
    freed[nf++] = bits(done);
    free_live(done);
    expect_invalid("freed: a completed Response, freed", &freed[0], 1);

    Response *pend = send_kv(q, "freed-pending", "pending, then freed");
    CHECK(response_completed(pend) == 0, "freed: linger.ms=10000, yet completed at once");
    freed[nf++] = bits(pend);
    free_live(pend);
    expect_invalid("freed: a pending Response, freed", &freed[1], 1);

    /* Many of each. */
    char key[32];
    Response *bulk[BULK];
    for (int i = 0; i < BULK; i++) {
        snprintf(key, sizeof key, "freed-bulk-%d", i % 5);
        bulk[i] = send_kv(p, key, "completed, then freed");
    }
    CHECK(producer_flush(p, 30000) == 0, "freed: flush");
    for (int i = 0; i < BULK; i++) {
        freed[nf++] = bits(bulk[i]);
        free_live(bulk[i]);
    }
    for (int i = 0; i < BULK; i++) {
        snprintf(key, sizeof key, "freed-bulk-pending-%d", i % 5);
        bulk[i] = send_kv(q, key, "pending, then freed");
    }
    for (int i = 0; i < BULK; i++) {
        freed[nf++] = bits(bulk[i]);
        free_live(bulk[i]);
    }
    expect_invalid("freed: 100 completed and 100 pending Responses, freed", freed + 2, 2 * BULK);

    /* The pending records still go out; their freed handles stay invalid after that. */
    CHECK(producer_flush(q, 30000) == 0, "freed: flush of the records whose pending Responses were freed");
    expect_invalid("freed: pending Responses freed, after their records were delivered", freed, nf);

    /* A freed handle's value is never given to a new Response. */
    Response **fresh = calloc(FRESH, sizeof *fresh);
    if (CHECK(fresh != NULL, "out of memory")) {
        for (int i = 0; i < FRESH; i++) {
            snprintf(key, sizeof key, "freed-fresh-%d", i % 5);
            fresh[i] = send_kv(i % 2 ? p : q, key, "sent after others were freed");
        }
        size_t reused = 0;
        for (int i = 0; i < FRESH; i++)
            for (size_t j = 0; j < nf; j++) reused += bits(fresh[i]) == freed[j];
        CHECK(reused == 0, "freed: %zu of %d new Responses got the handle value of a freed one", reused, FRESH);
        expect_invalid("freed: freed handles while 1000 new Responses are live", freed, nf);
        CHECK(producer_flush(p, 30000) == 0 && producer_flush(q, 30000) == 0, "freed: flush of the new Responses");
        int bad = 0;
        for (int i = 0; i < FRESH; i++) {
            read_answers(fresh[i], &a);
            bad += !delivered_ok(&a);
            free_live(fresh[i]);
        }
        CHECK(bad == 0, "freed: %d of %d new Responses not delivered", bad, FRESH);
        free(fresh);
    }
    producer_free(p);
    producer_free(q);
    expect_invalid("freed: freed handles after their producers were freed", freed, nf);
}

/* (b) freed twice, then used. */
static void case_double_free(void) {
    Producer *p = producer_lingering("5");
    Producer *q = producer_lingering("10000");
    if (p == NULL || q == NULL) {
        producer_free(p);
        producer_free(q);
        return;
    }
    Response *done = send_kv(p, "double-done", "completed, freed twice");
    CHECK(response_wait(done, 20000) == 1, "double-free: not completed");
    Response *pend = send_kv(q, "double-pending", "pending, freed twice");
    uintptr_t v[2] = {bits(done), bits(pend)};
    free_live(done);
    response_free(done);
    free_live(pend);
    response_free(pend);
    /* New Responses on both producers still work (nothing was freed twice). */
    enum { N = 50 };
    Response *r[2 * N];
    char key[32];
    for (int i = 0; i < 2 * N; i++) {
        snprintf(key, sizeof key, "double-after-%d", i % 3);
        r[i] = send_kv(i < N ? p : q, key, "sent after a double free");
    }
    CHECK(producer_flush(p, 30000) == 0 && producer_flush(q, 30000) == 0, "double-free: flush");
    int bad = 0;
    for (int i = 0; i < 2 * N; i++) {
        answers a;
        read_answers(r[i], &a);
        bad += !delivered_ok(&a);
    }
    CHECK(bad == 0, "double-free: %d of %d Responses sent after a double free not delivered", bad, 2 * N);
    size_t reused = 0;
    for (int i = 0; i < 2 * N; i++) reused += bits(r[i]) == v[0] || bits(r[i]) == v[1];
    CHECK(reused == 0, "double-free: %zu new Responses got a freed handle's value", reused);
    expect_invalid("double-free: a completed and a pending Response, each freed twice", v, 2);
    for (int i = 0; i < 2 * N; i++) free_live(r[i]);
    producer_free(p);
    producer_free(q);
}

/* (c) handles of the other kinds as a Response. */
static void case_foreign(void) {
    ProducerBuilder *b = builder_for(g_brokers);
    if (b == NULL) return;
    set_ok(b, "linger.ms", "5");
    Producer *p = build_ok(b);
    RecordBuilder *rb = record_builder_new();
    if (!CHECK(p != NULL && rb != NULL, "foreign: no producer or record builder")) {
        producer_free(p);
        record_builder_free(rb);
        producer_builder_free(b);
        return;
    }
    CHECK(record_builder_set_topic(rb, g_topic) == 0, "foreign: record_builder_set_topic");
    expect_invalid_one("foreign: a ProducerBuilder as a Response", b);
    expect_invalid_one("foreign: a Producer as a Response", p);
    expect_invalid_one("foreign: a RecordBuilder as a Response", rb);
    /* Each survived the response_free it was given. */
    CHECK(producer_builder_set_option(b, "linger.ms", "7") == 0, "foreign: the builder is gone after response_free");
    char buf[16] = "";
    CHECK(producer_builder_get_option(b, "linger.ms", buf, sizeof buf) == 1 && str_eq(buf, "7"),
          "foreign: the builder reads linger.ms=%s", buf);
    CHECK(record_builder_set_key(rb, "foreign", 7) == 0 && record_builder_set_value(rb, "record", 6) == 0,
          "foreign: the record builder is gone after response_free");
    Response *r1 = producer_send_record(p, rb);
    live_add(r1);
    Response *r2 = send_kv(p, "foreign", "sent after response_free(producer)");
    CHECK(producer_flush(p, 30000) == 0, "foreign: flush after response_free(producer)");
    answers a1, a2;
    read_answers(r1, &a1);
    read_answers(r2, &a2);
    CHECK(delivered_ok(&a1) && delivered_ok(&a2), "foreign: sends after response_free(producer): codes %d, %d",
          (int)a1.code, (int)a2.code);
    /* The other way round: a Response (a tagged number, not a pointer) where a producer,
     * builder or record builder is expected is refused, never read. */
    Response *r = r2;
    Producer *rp = (Producer *)(void *)r;
    CHECK(producer_flush(rp, 0) == ERR_INVALID_ARG, "foreign: a Response as a Producer (flush)");
    CHECK(producer_error_code(rp) == ERR_INVALID_ARG, "foreign: a Response as a Producer (error code)");
    Response *sent = producer_send(rp, g_topic, "k", 1, "v", 1);
    CHECK(response_error_code(sent) == ERR_INVALID_ARG, "foreign: a send on a Response as a Producer");
    response_free(sent);
    CHECK(producer_builder_set_option((ProducerBuilder *)(void *)r, "linger.ms", "1") == ERR_INVALID_ARG,
          "foreign: a Response as a ProducerBuilder");
    CHECK(record_builder_set_partition((RecordBuilder *)(void *)r, 1) == ERR_INVALID_ARG,
          "foreign: a Response as a RecordBuilder");
    producer_free(rp);
    producer_builder_free((ProducerBuilder *)(void *)r);
    record_builder_free((RecordBuilder *)(void *)r);
    CHECK(response_success(r) == 1 && response_offset(r) == a2.offset, "foreign: the Response survived being freed as other kinds");
    free_live(r1);
    free_live(r2);
    /* Freed ones of each kind. */
    uintptr_t gone[3] = {(uintptr_t)(void *)b, (uintptr_t)(void *)p, (uintptr_t)(void *)rb};
    record_builder_free(rb);
    producer_free(p);
    producer_builder_free(b);
    expect_invalid("foreign: a freed ProducerBuilder, Producer and RecordBuilder as Responses", gone, 3);
}

/* (d) small integers and their negative neighbours. */
static void case_small(void) {
    const uintptr_t v[] = {1, 2, 3, 4, 7, 8, 15, 16, 64, 255, 256, 4095, 4096, 4097, 65536,
                           (uintptr_t)INT32_MAX, (uintptr_t)UINT32_MAX, (uintptr_t)-1, (uintptr_t)-2,
                           (uintptr_t)-8, (uintptr_t)-4096, (uintptr_t)INT64_MIN};
    expect_invalid("small integers (1, 2, 8, 4096, -1, ...)", v, sizeof v / sizeof v[0]);
}

/* (e) seeded random 64-bit values outside every mapping. */
static void case_random(void) {
    read_maps();
    CHECK(g_maps_n > 0, "random: /proc/self/maps unreadable");
    size_t n = g_handles;
    uintptr_t *v = malloc(n * sizeof *v);
    if (!CHECK(v != NULL, "out of memory")) return;
    uint64_t st = g_seed ^ 0x72616e646f6dull;
    for (size_t i = 0; i < n; i++) v[i] = made_up_value(&st, i);
    expect_invalid("random 64-bit values outside every mapping", v, n);
    free(v);
}

/* (e) addresses inside libablkafka.so's own mappings, and its strings and functions. */
static void case_mapped(void) {
    read_maps();
    size_t lines = 0;
    for (size_t i = 0; i < g_maps_n; i++) lines += g_maps[i].ours;
    if (!CHECK(lines > 0, "mapped: no libablkafka line in /proc/self/maps")) return;
    size_t cap = lines * 24 + 16, n = 0;
    uintptr_t *v = malloc(cap * sizeof *v);
    if (!CHECK(v != NULL, "out of memory")) return;
    uint64_t st = g_seed ^ 0x6d617070656421ull;
    for (size_t i = 0; i < g_maps_n; i++) {
        if (!g_maps[i].ours) continue;
        uintptr_t s = g_maps[i].start, e = g_maps[i].end, len = e - s;
        v[n++] = s;
        v[n++] = s + 1;
        v[n++] = s + 8;
        v[n++] = s + 16;
        v[n++] = (s + len / 2) & ~(uintptr_t)7;
        v[n++] = e - 8;
        v[n++] = e - 1;
        for (int k = 0; k < 12; k++) v[n++] = (s + (uintptr_t)(next_rand(&st) % len)) & ~(uintptr_t)7;
        for (int k = 0; k < 5; k++) v[n++] = s + (uintptr_t)(next_rand(&st) % len);
    }
    v[n++] = (uintptr_t)ablkafka_version(); /* static text (err2str's is on the heap: see heap) */
    v[n++] = (uintptr_t)&response_free;
    v[n++] = (uintptr_t)&response_completed;
    v[n++] = (uintptr_t)&producer_send;
    size_t inside = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < g_maps_n; j++) {
            if (g_maps[j].ours && v[i] >= g_maps[j].start && v[i] < g_maps[j].end) {
                inside++;
                break;
            }
        }
    }
    CHECK(inside == n, "mapped: %zu of %zu values inside libablkafka's mappings", inside, n);
    fprintf(stderr, "response_misuse: mapped: %zu values in %zu libablkafka mappings\n", n, lines);
    expect_invalid("addresses inside libablkafka.so's mappings", v, n);
    free(v);
}

/* (e) heap addresses; a real handle's neighbours and bit flips. */
static uintptr_t g_static_slot; /* a global holding a real handle's bits */

static void case_heap(void) {
    Producer *p = producer_lingering("5");
    if (p == NULL) return;
    Response *real = send_kv(p, "heap-real", "the real one");
    CHECK(response_wait(real, 20000) == 1, "heap: not completed");
    answers snap;
    read_answers(real, &snap);
    CHECK(delivered_ok(&snap), "heap: the real Response was not delivered (code %d)", (int)snap.code);
    uintptr_t rb = bits(real);
    g_static_slot = rb;

    enum { WORDS = 512, SMALL = 8 };
    uintptr_t *copies = malloc(WORDS * sizeof *copies); /* the real handle, again and again */
    uintptr_t *near = malloc(WORDS * sizeof *near);     /* the real handle plus or minus a little */
    static const size_t sizes[SMALL] = {8, 16, 24, 32, 48, 64, 128, 1024};
    uintptr_t *small[SMALL];
    int ok = copies != NULL && near != NULL;
    for (int i = 0; i < SMALL; i++) {
        small[i] = malloc(sizes[i]);
        ok &= small[i] != NULL;
    }
    if (!CHECK(ok, "out of memory")) {
        free(copies);
        free(near);
        for (int i = 0; i < SMALL; i++) free(small[i]);
        producer_free(p);
        free_live(real);
        return;
    }
    for (int i = 0; i < WORDS; i++) {
        copies[i] = rb;
        near[i] = rb + (uintptr_t)(i - WORDS / 2);
    }
    for (int i = 0; i < SMALL; i++)
        for (size_t k = 0; k < sizes[i] / sizeof(uintptr_t); k++) small[i][k] = rb;
    void *was = malloc(64);
    uintptr_t freed_block = (uintptr_t)was;
    free(was);

    uintptr_t heap[64];
    size_t n = 0;
    uintptr_t c = (uintptr_t)copies, m = (uintptr_t)near;
    heap[n++] = c;
    heap[n++] = c + 1;
    heap[n++] = c + 8;
    heap[n++] = c + 2048;
    heap[n++] = c + WORDS * sizeof(uintptr_t) - 8;
    heap[n++] = m;
    heap[n++] = m + 8;
    heap[n++] = m + 2048;
    heap[n++] = m + 2049;
    for (int i = 0; i < SMALL; i++) {
        heap[n++] = (uintptr_t)small[i];
        if (sizes[i] > 8) heap[n++] = (uintptr_t)small[i] + 8;
    }
    heap[n++] = freed_block;
    /* The library's own heap memory: a real Response's topic text, error texts. */
    heap[n++] = (uintptr_t)response_topic(real);
    heap[n++] = (uintptr_t)ablkafka_err2str(ERR_INVALID_ARG);
    heap[n++] = (uintptr_t)ablkafka_err2name(ERR_INVALID_ARG);
    heap[n++] = (uintptr_t)ablkafka_err2str(ERR_DESTROY);
    heap[n++] = (uintptr_t)&real;         /* &r for r: the address of a variable holding a handle */
    heap[n++] = (uintptr_t)&g_static_slot; /* the same, a global */
    expect_invalid("heap: addresses inside malloc'd buffers (some holding a real handle's bits), &handle", heap, n);

    uintptr_t derived[80];
    size_t nd = 0;
    static const int64_t deltas[] = {1, 2, 4, 8, 16, 64, -1, -2, -4, -8, -16, -64};
    for (size_t i = 0; i < sizeof deltas / sizeof deltas[0]; i++) derived[nd++] = rb + (uintptr_t)deltas[i];
    expect_invalid("heap: a real handle +1, +2, +4, +8, +16, +64, -1, -2, -4, -8, -16, -64", derived, nd);
    nd = 0;
    for (int b = 0; b < 64; b++) derived[nd++] = rb ^ ((uintptr_t)1 << b);
    expect_invalid("heap: a real handle with one of its 64 bits flipped", derived, nd);

    answers now;
    read_answers(real, &now);
    char d1[512], d2[512];
    describe(&snap, d1, sizeof d1);
    describe(&now, d2, sizeof d2);
    CHECK(same_answers(&now, &snap, 1) && response_wait(real, -1) == 1,
          "heap: the real Response after response_free of its neighbours: was {%s}, now {%s}", d1, d2);
    producer_free(p);
    CHECK(same_answers(&now, &snap, 1), "heap: the real Response after producer_free");
    free_live(real);
    expect_invalid("heap: the real handle, freed", &rb, 1);
    free(copies);
    free(near);
    for (int i = 0; i < SMALL; i++) free(small[i]);
}

/* (f) Responses freed around their producer's close and free. */
static void case_after_producer_freed(void) {
    enum { N = 30, M = 10 };
    Producer *p, *q;
    Response *a[N], *b[M];
    if (!send_through_two("apf", "closed and freed producer", &p, a, N, &q, b, M)) return;
    uintptr_t freed[N + M];
    size_t nf = 0;
    for (int i = 0; i < 10; i++) { /* pending */
        freed[nf++] = bits(a[i]);
        free_live(a[i]);
    }
    CHECK(producer_flush(p, 30000) == 0, "after-producer-freed: flush");
    for (int i = 10; i < 20; i++) { /* completed */
        freed[nf++] = bits(a[i]);
        free_live(a[i]);
    }
    for (int i = 0; i < 5; i++) { /* pending, before producer_free */
        freed[nf++] = bits(b[i]);
        free_live(b[i]);
    }
    CHECK(producer_close(p, 10000) == 0, "after-producer-freed: close");
    expect_invalid("after-producer-freed: freed before close, read after close", freed, nf);
    producer_free(p);
    producer_free(q);
    expect_invalid("after-producer-freed: freed before close, read after producer_free", freed, nf);
    int bad = 0;
    for (int i = 20; i < N; i++) {
        answers x;
        read_answers(a[i], &x);
        bad += !delivered_ok(&x);
    }
    CHECK(bad == 0, "after-producer-freed: %d of %d kept Responses not delivered after producer_free", bad, N - 20);
    bad = 0;
    for (int i = 5; i < M; i++) {
        answers x;
        read_answers(b[i], &x);
        bad += !failed_ok(&x, ERR_DESTROY);
    }
    CHECK(bad == 0, "after-producer-freed: %d of %d kept Responses pending at producer_free not failed with -197", bad,
          M - 5);
    /* Freed after producer_free. */
    uintptr_t late[8];
    size_t nl = 0;
    for (int i = 20; i < 25; i++) {
        late[nl++] = bits(a[i]);
        free_live(a[i]);
    }
    for (int i = 5; i < 8; i++) {
        late[nl++] = bits(b[i]);
        free_live(b[i]);
    }
    expect_invalid("after-producer-freed: freed after producer_free", late, nl);
    bad = 0;
    for (int i = 25; i < N; i++) {
        answers x;
        read_answers(a[i], &x);
        bad += !delivered_ok(&x);
        free_live(a[i]);
    }
    for (int i = 8; i < M; i++) {
        answers x;
        read_answers(b[i], &x);
        bad += !failed_ok(&x, ERR_DESTROY);
        free_live(b[i]);
    }
    CHECK(bad == 0, "after-producer-freed: %d still-kept Responses read otherwise after others were freed", bad);
}

/* ================================================================ driver */
typedef struct {
    const char *name;
    int misuse;
    void (*run)(void);
} test_case;

static const test_case CASES[] = {
    {"null", 0, case_null},
    {"stable", 0, case_stable},
    {"after-producer", 0, case_after_producer},
    {"wait-free", 0, case_wait_free},
    {"threads", 0, case_threads},
    {"freed", 1, case_freed},
    {"double-free", 1, case_double_free},
    {"foreign", 1, case_foreign},
    {"small", 1, case_small},
    {"random", 1, case_random},
    {"mapped", 1, case_mapped},
    {"heap", 1, case_heap},
    {"after-producer-freed", 1, case_after_producer_freed},
    {"wait-free-misuse", 1, case_wait_free_misuse},
    {"threads-misuse", 1, case_threads_misuse},
};
#define N_CASES (sizeof CASES / sizeof CASES[0])

static int selected(const char *mode, const test_case *c) {
    if (str_eq(mode, "all")) return 1;
    if (str_eq(mode, "valid")) return !c->misuse;
    if (str_eq(mode, "misuse")) return c->misuse;
    size_t len = strlen(c->name);
    for (const char *s = mode; *s != '\0';) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        if (n == len && strncmp(s, c->name, n) == 0) return 1;
        s += n + (comma != NULL);
    }
    return 0;
}

static int known_mode(const char *mode) {
    if (str_eq(mode, "all") || str_eq(mode, "valid") || str_eq(mode, "misuse")) return 1;
    for (const char *s = mode; *s != '\0';) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        int found = 0;
        for (size_t i = 0; i < N_CASES; i++) found |= strlen(CASES[i].name) == n && strncmp(s, CASES[i].name, n) == 0;
        if (!found) return 0;
        s += n + (comma != NULL);
    }
    return 1;
}

int main(int argc, char **argv) {
    if (argc == 2 && str_eq(argv[1], "list")) {
        for (size_t i = 0; i < N_CASES; i++) printf("%-22s %s\n", CASES[i].name, CASES[i].misuse ? "misuse" : "legal");
        return 0;
    }
    if ((argc != 4 && argc != 5) || !known_mode(argv[1])) {
        fprintf(stderr, "usage: %s valid|misuse|all|CASE[,CASE...] BROKERS TOPIC [HANDLES]\n       %s list\n", argv[0],
                argv[0]);
        return 2;
    }
    g_brokers = argv[2];
    g_topic = argv[3];
    if (argc == 5) g_handles = (size_t)strtoul(argv[4], NULL, 10);
    if (g_handles == 0) g_handles = 4000;
    const char *seed = getenv("RESPONSE_MISUSE_SEED");
    if (seed != NULL && *seed != '\0') g_seed = strtoull(seed, NULL, 0);
    fprintf(stderr, "response_misuse: mode %s, %zu handles, seed 0x%" PRIx64 "\n", argv[1], g_handles, g_seed);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);

    witnesses_make();
    for (size_t i = 0; i < N_CASES; i++) {
        if (!selected(argv[1], &CASES[i])) continue;
        long failed_before = check_failed_count, passed_before = check_passed_count;
        fprintf(stderr, "response_misuse: case %s (%s)\n", CASES[i].name, CASES[i].misuse ? "misuse" : "legal");
        int64_t t0 = now_ms();
        CASES[i].run();
        witnesses_check(CASES[i].name);
        fprintf(stderr, "response_misuse: case %s: %ld passed, %ld failed in %" PRId64 " ms\n", CASES[i].name,
                check_passed_count - passed_before, check_failed_count - failed_before, now_ms() - t0);
    }
    witnesses_free();
    CHECK(g_live_n == 0, "%zu Responses this program sent are still live at the end (a bug in this test)", g_live_n);
    free(g_live);
    free(g_maps);
    return CHECK_SUMMARY("response_misuse");
}
