/*
 * One benchmark run of one Kafka producer library, in its own process.
 *
 * Compiled twice from this file, so that each binary loads only one library:
 *   -DBENCH_ABLKAFKA   bench-ablkafka, through include/ablkafka.h (libablkafka.so)
 *   -DBENCH_RDKAFKA    bench-rdkafka, through librdkafka's rdkafka.h
 *
 *   bench-LIB key=value ...
 *     brokers=HOST:PORT  topic=NAME          (required)
 *     mode=throughput|latency|paused|outstanding|txn   (throughput)
 *     count=N            messages in the measured phase (100000)
 *     size=BYTES         value size; keys are NULL (100)
 *     codec=none|gzip|snappy|lz4|zstd         (none)
 *     linger=MS          linger.ms (5)
 *     rate=MSGS_PER_S    latency mode: send on this fixed schedule (1000)
 *     pause_pid=PID      paused mode: the broker to SIGSTOP while sending, SIGCONT after
 *     pause_hold_ms=MS   paused mode: how long to keep the broker stopped after the
 *                        last send, so the producer's background side has queued it all (1000)
 *     prime=1|0          outstanding mode: send `count` messages without receipts first (1)
 *     send=receipt|headers|noreceipt   throughput mode: how each message is sent (receipt):
 *                        headers: two small headers per message (ablkafka: a RecordBuilder and
 *                        producer_send_record; librdkafka: rd_kafka_producev with two
 *                        RD_KAFKA_V_HEADER); noreceipt: no receipt kept (ablkafka:
 *                        producer_send_no_receipt; librdkafka: delivery.report.only.error=true),
 *                        no latency samples
 *     receipts=poll|keep throughput mode, ablkafka: when the Responses are read (poll; see
 *                        below; librdkafka serves its reports one way)
 *     txn_size=N         txn mode: records per transaction (10000)
 *     conf.NAME=VALUE    one more producer option, the same for both libraries (repeatable;
 *                        e.g. conf.security.protocol=sasl_ssl for the TLS rows)
 *
 * Every run: one warm-up message (connection and metadata), then the measured phase,
 * which ends when every message's receipt has been read and (ablkafka) freed.
 *
 *   throughput  send `count` messages as fast as send() returns.
 *               Latency is sampled on every 16th message.
 *               ablkafka, receipts=poll (the default): after each sampled send, read and
 *               free the Responses that have completed, oldest first (response_completed,
 *               then success and offset; stamp the sampled ones), as an ABL poll loop
 *               does and as librdkafka's run serves its delivery reports; the Responses
 *               not yet read wait in a ring of RING_SLOTS (a send that finds it full
 *               waits for the oldest: never in these runs); after the last send,
 *               response_wait and read the rest in order; then producer_flush.
 *               receipts=keep: keep every Response and stamp only the sampled ones
 *               as they complete; after the flush, read success and offset of every
 *               Response and free it (an application checking its receipts at the end:
 *               peak RSS then includes every Response and the array of handles).
 *               librdkafka: rd_kafka_produce (F_COPY) and rd_kafka_poll(rk, 0) after each,
 *               as its examples do; the delivery-report callback counts (and stamps the
 *               sampled ones); then rd_kafka_flush.
 *   latency     send `count` messages on a fixed schedule of `rate` per second from one
 *               thread, which waits for each message's receipt before the next send
 *               time, as an application sending one request at a time does. ablkafka:
 *               response_wait, then stamp. librdkafka: rd_kafka_poll(rk, 100) until the
 *               callback has stamped it. A receipt slower than the interval makes the
 *               next send late (counted: late_sends). Same receipt-reading as above at
 *               the end.
 *   paused      SIGSTOP `pause_pid`, send `count` messages, hold, SIGCONT, then deliver
 *               them all (as throughput, no latency stamps): peak RSS is the figure.
 *   outstanding send `count` messages with a receipt each and keep every receipt past the
 *               flush: the memory one kept receipt costs is the figure. With prime=1, first
 *               the same `count` messages without receipts and a flush, so that the
 *               producer's own buffers and the heap are at their working size before
 *               rss_base is read. ablkafka: keep every Response (producer_send),
 *               producer_flush, read VmRSS (rss_kept), then read and free every Response and
 *               read VmRSS again (rss_freed); priming with producer_send_no_receipt.
 *               librdkafka: the delivery-report callback copies each message's outcome
 *               (error, partition, offset) into a 16-byte malloc'd receipt that is kept the
 *               same way, as an application wanting a receipt per message has to; priming
 *               with the same sends, nothing kept. Every VmRSS reading here follows
 *               malloc_trim(0), so that freed heap counts as returned.
 *   txn         transactions: a transactional producer (transactional.id unique to the
 *               run: bench-LIB-TOPIC-PID), init_transactions once before the warm-up (timed
 *               apart: init_s), the warm-up message in a transaction of its own; then, for
 *               each `txn_size` records of the `count`: begin, send them, commit (timeout
 *               -1; each commit call's time is kept: commit_p50_ms, commit_max_ms, commit_s
 *               in all). Records are sent and their receipts served as in throughput mode
 *               (ablkafka as with receipts=poll, the Responses of the transaction not yet
 *               read are read after its commit; librdkafka with rd_kafka_poll(rk, 0) after
 *               each send, its commit serving the rest, as its flush does). A record counts
 *               as delivered only when its receipt was a success and its transaction's
 *               commit returned 0; failed = count - delivered. A commit that fails as
 *               retriable is called again (up to 3 times), one that needs an abort is
 *               followed by an abort and the next transaction, a fatal one ends the run.
 *
 * Output: one line
 *   RESULT lib=... version=... mode=... count=N delivered=N failed=N elapsed_s=... msgs_per_s=...
 *          mb_per_s=... cpu_us_per_msg=... user_s=... sys_s=... ctxsw_per_msg=... maxrss_kb=...
 *          ru_maxrss_kb=... rss_base_kb=... rss_paused_kb=... p50_us=... p99_us=... p999_us=...
 *          max_us=... queue_s=... drain_s=... late_sends=N rss_kept_kb=... rss_freed_kb=...
 *          bytes_per_response=... bytes_per_response_vs_start=... txn_size=N txns=N init_s=...
 *          commit_p50_ms=... commit_max_ms=... commit_s=...
 *   cpu:      getrusage(RUSAGE_SELF) user+sys over the measured phase (every thread);
 *   ctxsw:    its voluntary + involuntary context switches (wake-ups) per message;
 *   maxrss:   the process's peak resident size at the end (VmHWM); ru_maxrss is printed
 *             too, but Linux carries it over from the parent across fork+exec;
 *   rss_base: resident size (VmRSS) just before the measured phase; rss_paused (paused
 *             mode): resident size with everything queued and the broker still stopped;
 *   outstanding mode (-1 otherwise): rss_base: just before the first send with a
 *             receipt (after the priming); rss_kept: after the flush with every receipt
 *             kept; rss_freed: after freeing them all again;
 *             bytes_per_response = (rss_kept - rss_freed) / count: what freeing the
 *             receipts gives back (0 when their memory is pooled and kept for reuse);
 *             bytes_per_response_vs_start = (rss_kept - rss_base) / count: what the kept
 *             receipts took, pooled or not (without priming, also what the producer keeps of
 *             its buffers after the burst); both at least 0 (RSS noise);
 *   latency:  send to receipt, in microseconds;
 *   queue_s, drain_s (paused mode): time to queue every message with the broker stopped,
 *             and from SIGCONT until every receipt was read;
 *   txn mode (0 or -1 otherwise): txns: transactions committed; init_s: init_transactions;
 *             commit_*: the time each commit call took (the flush of the transaction's
 *             records and EndTxn), its median, maximum and sum over the measured phase.
 * Exit status 0 only when every message was delivered.
 *
 * BENCH_PERF_CTL / BENCH_PERF_ACK: perf's control FIFOs; sampling is enabled for the
 * measured phase only (scripts/bench-profile.sh).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#if defined(BENCH_ABLKAFKA)
#include "ablkafka.h"
#define LIB_NAME "ablkafka"
#define lib_version() ablkafka_version()
#elif defined(BENCH_RDKAFKA)
#include <librdkafka/rdkafka.h>
#define LIB_NAME "librdkafka"
#define lib_version() rd_kafka_version_str()
#else
#error "compile with -DBENCH_ABLKAFKA or -DBENCH_RDKAFKA"
#endif

/* Queue limits for both libraries: far above any workload here, so neither refuses a send. */
#define QUEUE_MAX_MESSAGES "10000000"
#define QUEUE_MAX_KBYTES "4194304"
#define BATCH_NUM_MESSAGES "10000"
#define BATCH_SIZE "1000000"
#define ACKS "all"

/* ------------------------------------------------------------------ common */

static struct {
    const char *brokers, *topic, *mode, *codec, *send, *receipts;
    long count, size, rate, pause_hold_ms, prime, txn_size;
    const char *linger;
    pid_t pause_pid;
} opt = {NULL, NULL, "throughput", "none", "receipt", "poll", 100000, 100, 1000, 1000, 1, 10000, "5", 0};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench-%s: ", LIB_NAME);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (opt.pause_pid > 0) kill(opt.pause_pid, SIGCONT); /* never leave the broker stopped */
    exit(2);
}

static inline int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t cpu_us(struct rusage *ru) {
    return (int64_t)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000000 + ru->ru_utime.tv_usec +
           ru->ru_stime.tv_usec;
}

/* One "Name: N kB" line of /proc/self/status, in KiB; -1 if missing. */
static long status_kb(const char *name) {
    char line[256];
    long kb = -1;
    size_t n = strlen(name);
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, name, n) == 0 && line[n] == ':') {
            kb = strtol(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

/* Resident set size now, in KiB: VmRSS. */
static long rss_now_kb(void) { return status_kb("VmRSS"); }

/*
 * Peak resident set size of this process, in KiB: VmHWM.
 * Not ru_maxrss: Linux carries ru_maxrss across fork and execve, so a child started by
 * a 15 MiB Python driver reports at least 15 MiB however little it uses itself.
 */
static long peak_rss_kb(void) { return status_kb("VmHWM"); }

/*
 * Outstanding mode: resident size with the heap's free pages handed back first, so that
 * what the allocator keeps cached (batches freed by the flush, receipts just freed) does
 * not count as held.
 */
static long trimmed_rss_kb(void) {
    malloc_trim(0);
    return rss_now_kb();
}

/* Faults in n bytes the application allocated up front (the receipt pointers), so that
 * they count in the figure before the first send and not as the receipts' own. */
static void touch(void *p, size_t n) {
    for (size_t i = 0; i < n; i += 4096) ((volatile char *)p)[i] = 0;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/*
 * Values: slices of a 1 MiB pool of word-like text (so lz4/zstd have something to do,
 * as with real payloads), at offsets that differ from message to message.
 */
#define POOL_BYTES (1u << 20)
static char *pool;

static void make_pool(void) {
    static const char *words[] = {
        "order",  "customer", "status", "shipped", "amount", "currency", "EUR",    "USD",
        "item",   "quantity", "price",  "id",      "true",   "false",    "null",   "warehouse",
        "north",  "south",    "east",   "west",    "2024",   "invoice",  "paid",   "pending",
        "alpha",  "bravo",    "charlie", "delta",  "echo",   "foxtrot",  "golf",   "hotel",
        "{",      "}",        ":",      ",",       "\"",     "account",  "region", "priority",
    };
    size_t nwords = sizeof words / sizeof words[0];
    pool = malloc(POOL_BYTES + 65536);
    if (pool == NULL) die("out of memory");
    uint64_t x = 0x9E3779B97F4A7C15ull;
    size_t at = 0;
    while (at < POOL_BYTES + 65536) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17; /* xorshift64 */
        const char *w = (x % 5 == 0) ? NULL : words[(x >> 8) % nwords];
        char digits[24];
        if (w == NULL) { /* a number now and then */
            snprintf(digits, sizeof digits, "%" PRIu64, (x >> 20) % 100000);
            w = digits;
        }
        size_t n = strlen(w);
        for (size_t i = 0; i < n && at < POOL_BYTES + 65536; i++) pool[at++] = w[i];
        if (at < POOL_BYTES + 65536) pool[at++] = ' ';
    }
}

static inline const char *value_of(long i) {
    return pool + ((uint64_t)i * 2654435761u) % (POOL_BYTES - (uint64_t)opt.size);
}

/*
 * Latency samples: send time and receipt time (ns) of every `sample`-th message (index
 * i / sample): every 16th in throughput mode, so that reading the clock twice per message
 * (about 45 ns here) does not weigh on either library's throughput; every message in
 * latency mode.
 */
static int64_t *sent_ns, *done_ns;
static long sample = 1, samples;

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

struct result {
    long delivered, failed;
    int first_error;
    int64_t t0, t1, cpu0, cpu1;
    long rss_base_kb, rss_paused_kb;
    long rss_kept_kb, rss_freed_kb; /* outstanding mode: after the flush; after freeing receipts */
    int64_t queued_ns, resumed_ns; /* paused mode: last send returned; SIGCONT sent */
    int64_t schedule_start_ns;     /* latency mode: when the schedule started */
    long late_sends;               /* latency mode: sends that found their time passed */
    long txns;                     /* txn mode: transactions committed */
    int64_t init_ns;               /* txn mode: init_transactions */
    int64_t *commit_ns;            /* txn mode: each commit call's duration */
    long commits;                  /* ... how many there are */
    struct rusage ru0, ru1;
};

/*
 * Profiling only the measured phase: when BENCH_PERF_CTL and BENCH_PERF_ACK name perf's
 * control and ack FIFOs (perf record -D -1 --control fifo:CTL,ACK; scripts/bench-profile.sh),
 * sampling is enabled when the measured phase begins and disabled when it ends.
 */
static int perf_ctl_fd = -1, perf_ack_fd = -1;

static void perf_ctl(const char *cmd) {
    const char *ctl = getenv("BENCH_PERF_CTL"), *ack = getenv("BENCH_PERF_ACK");
    if (ctl == NULL || ack == NULL) return;
    if (perf_ctl_fd < 0) {
        perf_ctl_fd = open(ctl, O_WRONLY);
        perf_ack_fd = open(ack, O_RDONLY);
        if (perf_ctl_fd < 0 || perf_ack_fd < 0) die("cannot open perf's control FIFOs %s, %s", ctl, ack);
    }
    char reply[16];
    if (write(perf_ctl_fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd) || read(perf_ack_fd, reply, sizeof reply) <= 0)
        die("perf control: %s", strerror(errno));
}

static void begin(struct result *r) {
    perf_ctl("enable\n");
    r->rss_base_kb = rss_now_kb();
    getrusage(RUSAGE_SELF, &r->ru0);
    r->cpu0 = cpu_us(&r->ru0);
    r->t0 = now_ns();
}

static void end(struct result *r) {
    r->t1 = now_ns();
    getrusage(RUSAGE_SELF, &r->ru1);
    r->cpu1 = cpu_us(&r->ru1);
    perf_ctl("disable\n");
}

/* Outstanding mode: resident bytes per kept receipt between two readings; -1 outside it.
 * Never below 0: a few pages of noise must not read as "not measured" (-1). */
static double per_response(long kept_kb, long other_kb) {
    if (kept_kb < 0) return -1.0;
    return kept_kb > other_kb ? (double)(kept_kb - other_kb) * 1024 / (double)opt.count : 0.0;
}

static void report(struct result *r) {
    double elapsed = (double)(r->t1 - r->t0) / 1e9;
    double user = (double)(r->ru1.ru_utime.tv_sec - r->ru0.ru_utime.tv_sec) +
                  (double)(r->ru1.ru_utime.tv_usec - r->ru0.ru_utime.tv_usec) / 1e6;
    double sys = (double)(r->ru1.ru_stime.tv_sec - r->ru0.ru_stime.tv_sec) +
                 (double)(r->ru1.ru_stime.tv_usec - r->ru0.ru_stime.tv_usec) / 1e6;
    double p50 = -1, p99 = -1, p999 = -1, pmax = -1;
    double commit_p50 = -1, commit_max = -1, commit_s = -1;
    if (r->commits > 0) {
        commit_s = 0;
        for (long j = 0; j < r->commits; j++) commit_s += (double)r->commit_ns[j] / 1e9;
        qsort(r->commit_ns, (size_t)r->commits, sizeof *r->commit_ns, cmp_i64);
        commit_p50 = (double)r->commit_ns[(r->commits - 1) / 2] / 1e6;
        commit_max = (double)r->commit_ns[r->commits - 1] / 1e6;
    }
    if (sent_ns != NULL) {
        long n = 0;
        for (long j = 0; j < samples; j++)
            if (done_ns[j] > 0) sent_ns[n++] = done_ns[j] - sent_ns[j]; /* reuse as latencies */
        if (n > 0) {
            qsort(sent_ns, (size_t)n, sizeof *sent_ns, cmp_i64);
            p50 = (double)sent_ns[(n - 1) * 50 / 100] / 1e3;
            p99 = (double)sent_ns[(n - 1) * 99 / 100] / 1e3;
            p999 = (double)sent_ns[(n - 1) * 999 / 1000] / 1e3;
            pmax = (double)sent_ns[n - 1] / 1e3;
        }
    }
    printf("RESULT lib=%s version=%s mode=%s codec=%s size=%ld linger=%s count=%ld delivered=%ld failed=%ld "
           "first_error=%d elapsed_s=%.4f msgs_per_s=%.0f mb_per_s=%.2f cpu_us_per_msg=%.4f "
           "user_s=%.3f sys_s=%.3f ctxsw_per_msg=%.4f maxrss_kb=%ld ru_maxrss_kb=%ld rss_base_kb=%ld rss_paused_kb=%ld "
           "p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f queue_s=%.4f drain_s=%.4f late_sends=%ld "
           "rss_kept_kb=%ld rss_freed_kb=%ld bytes_per_response=%.1f bytes_per_response_vs_start=%.1f "
           "txn_size=%ld txns=%ld init_s=%.4f commit_p50_ms=%.3f commit_max_ms=%.3f commit_s=%.4f\n",
           LIB_NAME, lib_version(), opt.mode, opt.codec, opt.size, opt.linger, opt.count, r->delivered, r->failed,
           r->first_error, elapsed, (double)opt.count / elapsed,
           (double)opt.count * (double)opt.size / elapsed / 1e6,
           (double)(r->cpu1 - r->cpu0) / (double)opt.count, user, sys,
           (double)(r->ru1.ru_nvcsw + r->ru1.ru_nivcsw - r->ru0.ru_nvcsw - r->ru0.ru_nivcsw) / (double)opt.count,
           peak_rss_kb(), r->ru1.ru_maxrss,
           r->rss_base_kb, r->rss_paused_kb, p50, p99, p999, pmax,
           r->queued_ns ? (double)(r->queued_ns - r->t0) / 1e9 : -1.0,
           r->resumed_ns ? (double)(r->t1 - r->resumed_ns) / 1e9 : -1.0, r->late_sends,
           r->rss_kept_kb, r->rss_freed_kb, per_response(r->rss_kept_kb, r->rss_freed_kb),
           per_response(r->rss_kept_kb, r->rss_base_kb), r->commits > 0 ? opt.txn_size : 0, r->txns,
           r->init_ns > 0 ? (double)r->init_ns / 1e9 : -1.0, commit_p50, commit_max, commit_s);
    fflush(stdout);
}

static void stop_broker(void) {
    if (kill(opt.pause_pid, SIGSTOP) != 0) die("SIGSTOP %d: %s", (int)opt.pause_pid, strerror(errno));
}

static void resume_broker(void) {
    if (kill(opt.pause_pid, SIGCONT) != 0) die("SIGCONT %d: %s", (int)opt.pause_pid, strerror(errno));
}

/* Sleeps until absolute CLOCK_MONOTONIC time `t` (ns). */
static void sleep_until_ns(int64_t t) {
    struct timespec ts = {(time_t)(t / 1000000000), (long)(t % 1000000000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

/* Latency mode: waits for message i's time on the fixed schedule, which starts at the
 * first call. A send whose time has already passed (the previous receipt took longer
 * than the interval) goes at once and counts as late. */
static void await_slot(struct result *r, long i) {
    int64_t now = now_ns();
    if (i == 0) r->schedule_start_ns = now;
    int64_t slot = r->schedule_start_ns + i * (1000000000 / opt.rate);
    if (now > slot) r->late_sends++;
    sleep_until_ns(slot);
}

/* txn mode: the largest txn_size (ablkafka keeps a transaction's unread Responses in its ring). */
#define TXN_MAX_SIZE (1L << 18)
/* txn mode: how often a commit that fails as retriable is called again. */
#define TXN_COMMIT_TRIES 3

static char txn_id[512];

/* txn mode: transactional.id, unique to the run. */
static const char *transactional_id(void) {
    snprintf(txn_id, sizeof txn_id, "bench-%s-%s-%ld", LIB_NAME, opt.topic, (long)getpid());
    return txn_id;
}

/* txn mode: room for every commit call's duration (retries included). */
static void alloc_commits(struct result *res) {
    long txns = (opt.count + opt.txn_size - 1) / opt.txn_size;
    res->commit_ns = calloc((size_t)(txns * TXN_COMMIT_TRIES), sizeof *res->commit_ns);
    if (res->commit_ns == NULL) die("out of memory");
}

/* conf.NAME=VALUE arguments: options both libraries get. */
#define MAX_EXTRA_OPTIONS 16
static const char *extra_options[MAX_EXTRA_OPTIONS][2];
static int n_extra_options;

/* ------------------------------------------------------------------ ablkafka */
#if defined(BENCH_ABLKAFKA)

static void set(ProducerBuilder *b, const char *name, const char *value) {
    if (producer_builder_set_option(b, name, value) != 0)
        die("option %s=%s refused: %s", name, value, producer_builder_last_error(b));
}

static Producer *make_producer(void) {
    ProducerBuilder *b = producer_builder_new();
    if (b == NULL) die("producer_builder_new returned NULL");
    set(b, "bootstrap.servers", opt.brokers);
    set(b, "linger.ms", opt.linger);
    set(b, "batch.num.messages", BATCH_NUM_MESSAGES);
    set(b, "batch.size", BATCH_SIZE);
    set(b, "acks", ACKS);
    set(b, "compression.codec", opt.codec);
    set(b, "queue.buffering.max.messages", QUEUE_MAX_MESSAGES);
    set(b, "queue.buffering.max.kbytes", QUEUE_MAX_KBYTES);
    if (strcmp(opt.mode, "txn") == 0) set(b, "transactional.id", transactional_id());
    for (int i = 0; i < n_extra_options; i++) set(b, extra_options[i][0], extra_options[i][1]);
    Producer *p = producer_builder_build(b);
    if (p == NULL) die("build: %s", producer_builder_last_error(b));
    producer_builder_free(b);
    return p;
}

static void warm_up(Producer *p) {
    Response *r = producer_send(p, opt.topic, NULL, 0, "warm-up", 7);
    if (r == NULL || response_wait(r, 60000) != 1 || !response_success(r))
        die("warm-up message not delivered: %d %s", r ? response_error_code(r) : 0,
            r && response_error_message(r) ? response_error_message(r) : "");
    response_free(r);
}

static Response **responses;

/* Reads every Response's outcome and frees it, as an application does after flush. */
static void read_and_free(struct result *res) {
    int64_t offsets = 0;
    for (long i = 0; i < opt.count; i++) {
        Response *r = responses[i];
        if (response_success(r)) {
            res->delivered++;
            offsets += response_offset(r);
        } else {
            if (res->failed++ == 0) res->first_error = response_error_code(r);
        }
        response_free(r);
    }
    if (offsets < 0) fprintf(stderr, "negative offsets?\n");
}

static RecordBuilder *with_headers; /* send=headers: topic and two headers set once */

static Response *send_one(Producer *p, long i) {
    Response *r;
    if (with_headers != NULL) {
        record_builder_set_value(with_headers, value_of(i), (size_t)opt.size);
        r = producer_send_record(p, with_headers);
    } else {
        r = producer_send(p, opt.topic, NULL, 0, value_of(i), (size_t)opt.size);
    }
    if (r == NULL) die("producer_send returned NULL at %ld", i);
    return r;
}

/* send=noreceipt: every message without a receipt; failures are counted by the producer. */
static void run_without_receipts(Producer *p, struct result *res) {
    begin(res);
    for (long i = 0; i < opt.count; i++) {
        int rc;
        while ((rc = producer_send_no_receipt(p, opt.topic, NULL, 0, value_of(i), (size_t)opt.size)) == -184) sleep_ms(1);
        if (rc != 0) die("producer_send_no_receipt: %d at %ld", rc, i);
    }
    if (producer_flush(p, -1) != 0) die("flush failed");
    end(res);
    res->failed = (long)producer_no_receipt_failures(p);
    res->delivered = opt.count - res->failed;
    if (res->failed > 0) res->first_error = producer_no_receipt_last_error(p);
}

/* receipts=poll: the Responses not yet read, oldest first; 2 MiB of handles. */
#define RING_SLOTS (1L << 18)

/* Reads the outcome of message i's Response (stamping a sampled one), frees it. */
static void read_one(struct result *res, Response *r, long i) {
    if (i % sample == 0) done_ns[i / sample] = now_ns();
    if (response_success(r)) {
        res->delivered++;
        if (response_offset(r) < 0) die("negative offset at %ld", i);
    } else if (res->failed++ == 0) {
        res->first_error = response_error_code(r);
    }
    response_free(r);
}

static void run_polling(Producer *p, struct result *res) {
    Response **ring = calloc(RING_SLOTS, sizeof *ring);
    if (ring == NULL) die("out of memory");
    begin(res);
    long head = 0; /* the oldest message whose Response is not read yet */
    for (long i = 0; i < opt.count; i++) {
        if (i - head == RING_SLOTS) {
            response_wait(ring[head % RING_SLOTS], -1);
            read_one(res, ring[head % RING_SLOTS], head);
            head++;
        }
        if (i % sample == 0) sent_ns[i / sample] = now_ns();
        ring[i % RING_SLOTS] = send_one(p, i);
        if (i % sample != 0) continue;
        for (; head <= i && response_completed(ring[head % RING_SLOTS]); head++) read_one(res, ring[head % RING_SLOTS], head);
    }
    for (; head < opt.count; head++) {
        response_wait(ring[head % RING_SLOTS], -1);
        read_one(res, ring[head % RING_SLOTS], head);
    }
    if (producer_flush(p, -1) != 0) die("flush failed");
    end(res);
    free(ring);
}

/* The reason of the last failed transaction call. */
static const char *txn_reason(Producer *p) {
    static char buf[1024];
    buf[0] = '\0';
    producer_transaction_error_message(p, buf, sizeof buf);
    return buf;
}

/* txn mode, before the warm-up: init_transactions, timed apart. */
static void init_transactions(Producer *p, struct result *res) {
    int64_t t = now_ns();
    int32_t rc = producer_init_transactions(p, 60000);
    if (rc != 0) die("producer_init_transactions: %d %s", (int)rc, txn_reason(p));
    res->init_ns = now_ns() - t;
    if ((rc = producer_begin_transaction(p)) != 0) die("begin (warm-up): %d %s", (int)rc, txn_reason(p));
}

/* txn mode: commits the warm-up message's transaction. */
static void commit_warm_up(Producer *p) {
    int32_t rc = producer_commit_transaction(p, 60000);
    if (rc != 0) die("commit (warm-up): %d %s", (int)rc, txn_reason(p));
}

_Static_assert(TXN_MAX_SIZE <= RING_SLOTS, "a transaction's Responses must fit in the ring");

/*
 * mode=txn: transactions of txn_size records, each committed. Sends and reads Responses as
 * run_polling does; after each commit, reads the transaction's Responses not read yet.
 * A record counts as delivered only if its transaction committed.
 */
static void run_transactions(Producer *p, struct result *res) {
    Response **ring = calloc(RING_SLOTS, sizeof *ring);
    if (ring == NULL) die("out of memory");
    alloc_commits(res);
    long committed = 0; /* successful receipts of committed transactions */
    begin(res);
    long head = 0; /* the oldest message whose Response is not read yet */
    for (long from = 0; from < opt.count; from += opt.txn_size) {
        long to = from + opt.txn_size < opt.count ? from + opt.txn_size : opt.count;
        int32_t rc = producer_begin_transaction(p);
        if (rc != 0) die("producer_begin_transaction: %d %s", (int)rc, txn_reason(p));
        long delivered0 = res->delivered;
        for (long i = from; i < to; i++) {
            if (i % sample == 0) sent_ns[i / sample] = now_ns();
            ring[i % RING_SLOTS] = send_one(p, i);
            if (i % sample != 0) continue;
            for (; head <= i && response_completed(ring[head % RING_SLOTS]); head++) read_one(res, ring[head % RING_SLOTS], head);
        }
        int32_t klass = 0;
        for (int tries = 0; tries < TXN_COMMIT_TRIES; tries++) {
            int64_t c0 = now_ns();
            rc = producer_commit_transaction(p, -1);
            res->commit_ns[res->commits++] = now_ns() - c0;
            klass = rc == 0 ? 0 : producer_transaction_error_class(p);
            if (rc == 0 || klass != 1) break;
        }
        if (rc != 0) {
            fprintf(stderr, "bench-%s: commit of transaction %ld: %d (class %d) %s\n", LIB_NAME, from / opt.txn_size,
                    (int)rc, (int)klass, txn_reason(p));
            if (res->first_error == 0) res->first_error = rc;
            if (klass == 2 && producer_abort_transaction(p, -1) != 0)
                die("producer_abort_transaction: %s", txn_reason(p));
        }
        for (; head < to; head++) { /* commit has waited for them all; an abort has failed the rest */
            if (response_wait(ring[head % RING_SLOTS], 30000) != 1) die("Response %ld still pending after the commit", head);
            read_one(res, ring[head % RING_SLOTS], head);
        }
        if (rc == 0) {
            res->txns++;
            committed += res->delivered - delivered0;
        } else if (klass != 2) {
            break; /* fatal, or still failing after the retries: the rest is not sent */
        }
    }
    end(res);
    res->delivered = committed;
    res->failed = opt.count - committed;
    free(ring);
}

static void run(struct result *res) {
    Producer *p = make_producer();
    int txn = strcmp(opt.mode, "txn") == 0;
    if (txn) init_transactions(p, res);
    warm_up(p);
    if (txn) commit_warm_up(p);
    responses = calloc((size_t)opt.count, sizeof *responses);
    if (responses == NULL) die("out of memory");
    if (strcmp(opt.send, "headers") == 0) {
        with_headers = record_builder_new();
        record_builder_set_topic(with_headers, opt.topic);
        record_builder_add_header(with_headers, "trace-id", "0123456789abcdef", 16);
        record_builder_add_header(with_headers, "source", "bench", 5);
    }

    if (txn) {
        run_transactions(p, res);
    } else if (strcmp(opt.mode, "throughput") == 0 && strcmp(opt.send, "noreceipt") == 0) {
        run_without_receipts(p, res);
    } else if (strcmp(opt.mode, "throughput") == 0 && strcmp(opt.receipts, "poll") == 0) {
        run_polling(p, res);
    } else if (strcmp(opt.mode, "throughput") == 0) {
        begin(res);
        long head = 0; /* the oldest sampled message not yet seen completed */
        for (long i = 0; i < opt.count; i++) {
            if (i % sample != 0) {
                responses[i] = send_one(p, i);
                continue;
            }
            sent_ns[i / sample] = now_ns();
            responses[i] = send_one(p, i);
            for (; head <= i && response_completed(responses[head]); head += sample) done_ns[head / sample] = now_ns();
        }
        for (; head < opt.count; head += sample) {
            response_wait(responses[head], -1);
            done_ns[head / sample] = now_ns();
        }
        if (producer_flush(p, -1) != 0) die("flush failed");
        read_and_free(res);
        end(res);
    } else if (strcmp(opt.mode, "latency") == 0) {
        begin(res);
        for (long i = 0; i < opt.count; i++) {
            await_slot(res, i);
            sent_ns[i] = now_ns();
            responses[i] = send_one(p, i);
            response_wait(responses[i], -1);
            done_ns[i] = now_ns(); /* sample is 1 in latency mode */
        }
        if (producer_flush(p, -1) != 0) die("flush failed");
        read_and_free(res);
        end(res);
    } else if (strcmp(opt.mode, "outstanding") == 0) {
        if (opt.prime) {
            struct result primed = {0};
            run_without_receipts(p, &primed);
            if (primed.failed > 0) die("priming: %ld not delivered (%d)", primed.failed, primed.first_error);
        }
        touch(responses, (size_t)opt.count * sizeof *responses);
        malloc_trim(0); /* so that rss_base compares with the trimmed readings below */
        begin(res);
        for (long i = 0; i < opt.count; i++) responses[i] = send_one(p, i);
        if (producer_flush(p, -1) != 0) die("flush failed");
        end(res);
        res->rss_kept_kb = trimmed_rss_kb();
        read_and_free(res);
        res->rss_freed_kb = trimmed_rss_kb();
    } else { /* paused */
        begin(res);
        stop_broker();
        for (long i = 0; i < opt.count; i++) responses[i] = send_one(p, i);
        res->queued_ns = now_ns();
        sleep_ms(opt.pause_hold_ms);
        res->rss_paused_kb = rss_now_kb();
        resume_broker();
        res->resumed_ns = now_ns();
        if (producer_flush(p, -1) != 0) die("flush failed");
        read_and_free(res);
        end(res);
    }
    report(res);
    record_builder_free(with_headers);
    producer_close(p, 10000);
    producer_free(p);
    free(responses);
}

/* ------------------------------------------------------------------ librdkafka */
#elif defined(BENCH_RDKAFKA)

static atomic_long rd_delivered, rd_failed;
static int rd_first_error;
static int rd_record_latency;

/* Outstanding mode: each message's delivery report, kept as an application keeps a receipt. */
struct receipt {
    int64_t offset;
    int32_t partition, err;
};
static struct receipt **receipts;

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    long i = (long)(intptr_t)m->_private - 1; /* 0: the warm-up message */
    if (i >= 0 && receipts != NULL) {
        struct receipt *k = malloc(sizeof *k);
        if (k == NULL) die("out of memory");
        *k = (struct receipt){m->offset, m->partition, m->err};
        receipts[i] = k;
    }
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (i >= 0 && rd_record_latency && i % sample == 0) done_ns[i / sample] = now_ns();
        atomic_fetch_add(&rd_delivered, 1);
    } else {
        if (atomic_fetch_add(&rd_failed, 1) == 0) rd_first_error = m->err;
    }
}

static void set(rd_kafka_conf_t *c, const char *name, const char *value) {
    char err[512];
    if (rd_kafka_conf_set(c, name, value, err, sizeof err) != RD_KAFKA_CONF_OK)
        die("option %s=%s refused: %s", name, value, err);
}

static rd_kafka_t *make_producer(void) {
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char err[512];
    set(c, "bootstrap.servers", opt.brokers);
    set(c, "linger.ms", opt.linger);
    set(c, "batch.num.messages", BATCH_NUM_MESSAGES);
    set(c, "batch.size", BATCH_SIZE);
    set(c, "acks", ACKS);
    set(c, "compression.codec", opt.codec);
    set(c, "queue.buffering.max.messages", QUEUE_MAX_MESSAGES);
    set(c, "queue.buffering.max.kbytes", QUEUE_MAX_KBYTES);
    set(c, "socket.nagle.disable", "true"); /* ablkafka sets TCP_NODELAY */
    if (strcmp(opt.send, "noreceipt") == 0) set(c, "delivery.report.only.error", "true");
    if (strcmp(opt.mode, "txn") == 0) set(c, "transactional.id", transactional_id());
    for (int i = 0; i < n_extra_options; i++) set(c, extra_options[i][0], extra_options[i][1]);
    rd_kafka_conf_set_dr_msg_cb(c, dr_msg_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    if (rk == NULL) die("rd_kafka_new: %s", err);
    return rk;
}

static rd_kafka_topic_t *rkt;

static void produce(rd_kafka_t *rk, const void *value, size_t len, long id) {
    if (strcmp(opt.send, "headers") == 0 && id > 0) {
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(opt.topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                      RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_HEADER("trace-id", "0123456789abcdef", 16),
                                      RD_KAFKA_V_HEADER("source", "bench", 5), RD_KAFKA_V_OPAQUE((void *)(intptr_t)id),
                                      RD_KAFKA_V_END)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) die("rd_kafka_producev: %s", rd_kafka_err2str(e));
            rd_kafka_poll(rk, 10);
        }
        return;
    }
    while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)value, len, NULL, 0,
                            (void *)(intptr_t)id) != 0) {
        rd_kafka_resp_err_t e = rd_kafka_last_error();
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) die("rd_kafka_produce: %s", rd_kafka_err2str(e));
        rd_kafka_poll(rk, 10); /* not expected with these queue limits */
    }
}

/* txn mode: dies on a failed transaction call that is not a commit. */
static void txn_ok(rd_kafka_error_t *e, const char *what) {
    if (e != NULL) die("%s: %s %s", what, rd_kafka_err2name(rd_kafka_error_code(e)), rd_kafka_error_string(e));
}

/*
 * mode=txn: transactions of txn_size records, each committed. Sends as the throughput mode
 * does (rd_kafka_poll(rk, 0) after each); the commit flushes, serving the rest of the
 * transaction's delivery reports. A record counts as delivered only if its transaction
 * committed.
 */
static void run_transactions(rd_kafka_t *rk, struct result *res) {
    alloc_commits(res);
    long committed = 0;
    begin(res);
    for (long from = 0; from < opt.count; from += opt.txn_size) {
        long to = from + opt.txn_size < opt.count ? from + opt.txn_size : opt.count;
        txn_ok(rd_kafka_begin_transaction(rk), "rd_kafka_begin_transaction");
        long delivered0 = atomic_load(&rd_delivered);
        for (long i = from; i < to; i++) {
            if (i % sample == 0) sent_ns[i / sample] = now_ns();
            produce(rk, value_of(i), (size_t)opt.size, i + 1);
            rd_kafka_poll(rk, 0);
        }
        rd_kafka_error_t *e = NULL;
        for (int tries = 0; tries < TXN_COMMIT_TRIES; tries++) {
            if (e != NULL) rd_kafka_error_destroy(e);
            int64_t c0 = now_ns();
            e = rd_kafka_commit_transaction(rk, -1);
            res->commit_ns[res->commits++] = now_ns() - c0;
            if (e == NULL || !rd_kafka_error_is_retriable(e)) break;
        }
        if (e == NULL) {
            res->txns++;
            committed += atomic_load(&rd_delivered) - delivered0;
            continue;
        }
        int abortable = rd_kafka_error_txn_requires_abort(e);
        fprintf(stderr, "bench-%s: commit of transaction %ld: %s (%s) %s\n", LIB_NAME, from / opt.txn_size,
                rd_kafka_err2name(rd_kafka_error_code(e)),
                abortable ? "abortable" : rd_kafka_error_is_fatal(e) ? "fatal" : "retriable", rd_kafka_error_string(e));
        if (rd_first_error == 0) rd_first_error = rd_kafka_error_code(e);
        rd_kafka_error_destroy(e);
        if (!abortable) break; /* fatal, or still failing after the retries: the rest is not sent */
        txn_ok(rd_kafka_abort_transaction(rk, -1), "rd_kafka_abort_transaction");
    }
    end(res);
    res->delivered = committed;
    res->failed = opt.count - committed;
    res->first_error = rd_first_error;
}

static void run(struct result *res) {
    rd_kafka_t *rk = make_producer();
    int txn = strcmp(opt.mode, "txn") == 0;
    rkt = rd_kafka_topic_new(rk, opt.topic, NULL);
    if (rkt == NULL) die("rd_kafka_topic_new: %s", rd_kafka_err2str(rd_kafka_last_error()));
    if (txn) { /* init_transactions timed apart; the warm-up message in a transaction of its own */
        int64_t t = now_ns();
        txn_ok(rd_kafka_init_transactions(rk, 60000), "rd_kafka_init_transactions");
        res->init_ns = now_ns() - t;
        txn_ok(rd_kafka_begin_transaction(rk), "rd_kafka_begin_transaction (warm-up)");
    }
    produce(rk, "warm-up", 7, 0);
    int reports_success = strcmp(opt.send, "noreceipt") != 0;
    if (txn) txn_ok(rd_kafka_commit_transaction(rk, 60000), "rd_kafka_commit_transaction (warm-up)");
    if (rd_kafka_flush(rk, 60000) != 0 || atomic_load(&rd_delivered) != reports_success || atomic_load(&rd_failed) != 0)
        die("warm-up message not delivered: %s", rd_kafka_err2str(rd_first_error));
    atomic_store(&rd_delivered, 0);
    rd_record_latency = sent_ns != NULL;

    if (txn) {
        run_transactions(rk, res);
        report(res);
        rd_kafka_topic_destroy(rkt);
        rd_kafka_destroy(rk);
        return;
    }
    if (strcmp(opt.mode, "throughput") == 0) {
        begin(res);
        for (long i = 0; i < opt.count; i++) {
            if (i % sample == 0) sent_ns[i / sample] = now_ns();
            produce(rk, value_of(i), (size_t)opt.size, i + 1);
            rd_kafka_poll(rk, 0);
        }
        if (rd_kafka_flush(rk, -1) != 0) die("flush failed");
        end(res);
    } else if (strcmp(opt.mode, "latency") == 0) {
        begin(res);
        for (long i = 0; i < opt.count; i++) {
            await_slot(res, i);
            sent_ns[i] = now_ns();
            produce(rk, value_of(i), (size_t)opt.size, i + 1);
            while (atomic_load(&rd_delivered) + atomic_load(&rd_failed) <= i) rd_kafka_poll(rk, 100);
        }
        if (rd_kafka_flush(rk, -1) != 0) die("flush failed");
        end(res);
    } else if (strcmp(opt.mode, "outstanding") == 0) {
        for (long i = 0; opt.prime && i < opt.count; i++) { /* nothing kept yet: receipts is NULL */
            produce(rk, value_of(i), (size_t)opt.size, i + 1);
            rd_kafka_poll(rk, 0);
        }
        if (rd_kafka_flush(rk, -1) != 0 || atomic_load(&rd_failed) != 0) die("priming: not all delivered");
        atomic_store(&rd_delivered, 0);
        receipts = calloc((size_t)opt.count, sizeof *receipts);
        if (receipts == NULL) die("out of memory");
        touch(receipts, (size_t)opt.count * sizeof *receipts);
        malloc_trim(0); /* so that rss_base compares with the trimmed readings below */
        begin(res);
        for (long i = 0; i < opt.count; i++) {
            produce(rk, value_of(i), (size_t)opt.size, i + 1);
            rd_kafka_poll(rk, 0);
        }
        if (rd_kafka_flush(rk, -1) != 0) die("flush failed");
        end(res);
        res->rss_kept_kb = trimmed_rss_kb();
        for (long i = 0; i < opt.count; i++) free(receipts[i]);
        res->rss_freed_kb = trimmed_rss_kb();
        free(receipts);
    } else { /* paused */
        begin(res);
        stop_broker();
        for (long i = 0; i < opt.count; i++) {
            produce(rk, value_of(i), (size_t)opt.size, i + 1);
            rd_kafka_poll(rk, 0);
        }
        res->queued_ns = now_ns();
        sleep_ms(opt.pause_hold_ms);
        res->rss_paused_kb = rss_now_kb();
        resume_broker();
        res->resumed_ns = now_ns();
        if (rd_kafka_flush(rk, -1) != 0) die("flush failed");
        end(res);
    }
    res->delivered = reports_success ? atomic_load(&rd_delivered) : opt.count - atomic_load(&rd_failed);
    res->failed = atomic_load(&rd_failed);
    res->first_error = rd_first_error;
    report(res);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
}
#endif

/* ------------------------------------------------------------------ main */

static long parse_long(const char *name, const char *v) {
    char *endp;
    errno = 0;
    long x = strtol(v, &endp, 10);
    if (errno != 0 || *endp != '\0' || x < 0) die("bad %s=%s", name, v);
    return x;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL) die("argument %s is not key=value", argv[i]);
        *eq = '\0';
        const char *k = argv[i], *v = eq + 1;
        if (strcmp(k, "brokers") == 0) opt.brokers = v;
        else if (strcmp(k, "topic") == 0) opt.topic = v;
        else if (strcmp(k, "mode") == 0) opt.mode = v;
        else if (strcmp(k, "codec") == 0) opt.codec = v;
        else if (strcmp(k, "send") == 0) opt.send = v;
        else if (strcmp(k, "receipts") == 0) opt.receipts = v;
        else if (strcmp(k, "linger") == 0) opt.linger = v;
        else if (strcmp(k, "count") == 0) opt.count = parse_long(k, v);
        else if (strcmp(k, "size") == 0) opt.size = parse_long(k, v);
        else if (strcmp(k, "rate") == 0) opt.rate = parse_long(k, v);
        else if (strcmp(k, "pause_hold_ms") == 0) opt.pause_hold_ms = parse_long(k, v);
        else if (strcmp(k, "pause_pid") == 0) opt.pause_pid = (pid_t)parse_long(k, v);
        else if (strcmp(k, "prime") == 0) opt.prime = parse_long(k, v);
        else if (strcmp(k, "txn_size") == 0) opt.txn_size = parse_long(k, v);
        else if (strncmp(k, "conf.", 5) == 0 && n_extra_options < MAX_EXTRA_OPTIONS) {
            extra_options[n_extra_options][0] = k + 5;
            extra_options[n_extra_options++][1] = v;
        }
        else die("unknown argument %s", k);
    }
    if (opt.brokers == NULL || opt.topic == NULL) die("brokers= and topic= are required");
    if (opt.count < 1 || opt.size < 1 || opt.size > 65536 || opt.rate < 1) die("bad count, size or rate");
    int paused = strcmp(opt.mode, "paused") == 0, outstanding = strcmp(opt.mode, "outstanding") == 0;
    int txn = strcmp(opt.mode, "txn") == 0;
    if (!paused && !outstanding && !txn && strcmp(opt.mode, "throughput") != 0 && strcmp(opt.mode, "latency") != 0)
        die("unknown mode %s", opt.mode);
    if (txn && (opt.txn_size < 1 || opt.txn_size > TXN_MAX_SIZE)) die("txn_size must be 1..%ld", TXN_MAX_SIZE);
    if (txn && strcmp(opt.send, "receipt") != 0) die("mode=txn sends with a receipt only");
    if (paused && opt.pause_pid <= 0) die("mode=paused needs pause_pid=");

    make_pool();
    if (!paused && !outstanding) { /* no latency arrays in these two modes: their figure is memory */
        sample = strcmp(opt.mode, "latency") == 0 ? 1 : 16; /* throughput, txn: every 16th */
        samples = (opt.count + sample - 1) / sample;
        sent_ns = calloc((size_t)samples, sizeof *sent_ns);
        done_ns = calloc((size_t)samples, sizeof *done_ns);
        if (sent_ns == NULL || done_ns == NULL) die("out of memory");
    }
    struct result res;
    memset(&res, 0, sizeof res);
    res.rss_paused_kb = res.rss_kept_kb = res.rss_freed_kb = -1;
    run(&res);
    return res.delivered == opt.count && res.failed == 0 ? 0 : 1;
}
