/*
 * no_receipt mix BROKERS TOPIC EXPECT_FILE
 *   One producer sends 3,000 records: plain sends and RecordBuilder sends that keep
 *   their Responses, and sends without a receipt (producer_send_no_receipt,
 *   producer_send_record_no_receipt) in between, on 4 keys. Every Response succeeds,
 *   no receipt-less send fails, and EXPECT_FILE lists them all in send order (the
 *   receipt-less ones without a position) for scripts/verify.py --in-order, which
 *   checks that each partition holds them in send order.
 *
 * no_receipt memory BROKERS TOPIC
 *   1,000,000 receipt-less records of 100 B, flush, then 1,000,000 more and flush:
 *   the resident memory after the second million is within 16 MiB of the first (no
 *   per-record allocation left behind), and none failed.
 *
 * no_receipt dead
 *   With no broker (127.0.0.1:1) and message.timeout.ms=2000, 1,000 receipt-less sends
 *   are accepted (0), flush returns once they have failed, and polling the producer
 *   says 1,000 failed, the latest with -192. Refusals at send give their code at once:
 *   10 (too large), -186 (NULL topic), -197 (closed).
 */
#include "common.h"

#include <inttypes.h>
#include <unistd.h>

static long rss_kb(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int mix_case(const char *brokers, const char *topic, const char *expect_path) {
    Producer *p = producer_with(brokers, (const char *const[]){"linger.ms", "5", "compression.codec", "lz4", NULL});
    if (p == NULL) return CHECK_SUMMARY("no_receipt");
    enum { N = 3000 };
    static Response *responses[N];
    static char keys[N][8], values[N][32];
    RecordBuilder *rb = record_builder_new();
    record_builder_set_topic(rb, topic);
    int refused = 0;
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i % 4);
        snprintf(values[i], sizeof values[i], "seq %06d", i);
        size_t kl = strlen(keys[i]), vl = strlen(values[i]);
        record_builder_set_key(rb, keys[i], kl);
        record_builder_set_value(rb, values[i], vl);
        switch (i % 4) {
        case 0: responses[i] = producer_send(p, topic, keys[i], kl, values[i], vl); break;
        case 1: responses[i] = producer_send_record(p, rb); break;
        case 2: refused += producer_send_no_receipt(p, topic, keys[i], kl, values[i], vl) != 0; break;
        default: refused += producer_send_record_no_receipt(p, rb) != 0; break;
        }
    }
    CHECK(refused == 0, "%d receipt-less sends refused", refused);
    CHECK(producer_flush(p, 30000) == 0, "flush");
    CHECK(producer_no_receipt_failures(p) == 0, "%" PRId64 " receipt-less records failed (latest %d)", producer_no_receipt_failures(p),
          producer_no_receipt_last_error(p));
    FILE *f = fopen(expect_path, "w");
    int delivered = 0;
    for (int i = 0; i < N && f != NULL; i++) {
        if (responses[i] == NULL) {
            fputs("- - ", f);
        } else {
            if (!CHECK(response_success(responses[i]) == 1, "record %d: %d", i, response_error_code(responses[i]))) continue;
            delivered++;
            fprintf(f, "%d %" PRId64 " ", response_partition(responses[i]), response_offset(responses[i]));
            response_free(responses[i]);
        }
        write_hex_str(f, keys[i]);
        fputc(' ', f);
        write_hex_str(f, values[i]);
        fputc('\n', f);
    }
    if (f != NULL) fclose(f);
    CHECK(delivered == N / 2, "%d of %d receipts delivered", delivered, N / 2);
    record_builder_free(rb);
    producer_free(p);
    printf("no_receipt: %d records, half of them without a receipt\n", N);
    return CHECK_SUMMARY("no_receipt");
}

static void send_million(Producer *p, const char *topic) {
    static char value[100];
    long refused = 0;
    for (long i = 0; i < 1000000; i++) {
        int rc;
        while ((rc = producer_send_no_receipt(p, topic, NULL, 0, value, sizeof value)) == -184) sleep_ms(1); /* queue full: wait */
        refused += rc != 0;
    }
    CHECK(refused == 0, "%ld sends refused", refused);
    CHECK(producer_flush(p, 60000) == 0, "flush");
}

static int memory_case(const char *brokers, const char *topic) {
    Producer *p = producer_with(brokers, (const char *const[]){"linger.ms", "5", NULL});
    if (p == NULL) return CHECK_SUMMARY("no_receipt");
    send_million(p, topic);
    long first = rss_kb();
    send_million(p, topic);
    long second = rss_kb();
    printf("no_receipt: RSS %ld KiB after 1M, %ld KiB after 2M receipt-less records\n", first, second);
    CHECK(second - first < 16 * 1024, "RSS grew by %ld KiB over the second million", second - first);
    CHECK(producer_no_receipt_failures(p) == 0, "%" PRId64 " failed", producer_no_receipt_failures(p));
    producer_free(p);
    return CHECK_SUMMARY("no_receipt");
}

static int dead_case(void) {
    Producer *p = producer_with("127.0.0.1:1", (const char *const[]){"message.timeout.ms", "2000", NULL});
    if (p == NULL) return CHECK_SUMMARY("no_receipt");
    int accepted = 0;
    for (int i = 0; i < 1000; i++) accepted += producer_send_no_receipt(p, "nowhere", "k", 1, "v", 1) == 0;
    CHECK(accepted == 1000, "%d of 1000 accepted", accepted);
    CHECK(producer_no_receipt_failures(p) == 0, "failures before the timeout");
    int64_t start = now_ms();
    CHECK(producer_flush(p, 10000) == 0, "flush did not return once they failed");
    int64_t failures = producer_no_receipt_failures(p);
    int last = producer_no_receipt_last_error(p);
    printf("no_receipt: %" PRId64 " failed with %d (%s) after %lld ms\n", failures, last, ablkafka_err2str(last), (long long)(now_ms() - start));
    CHECK(failures == 1000 && last == -192, "%" PRId64 " failures, latest %d; want 1000, -192", failures, last);
    static char big[1000001];
    CHECK(producer_send_no_receipt(p, "nowhere", NULL, 0, big, sizeof big) == 10, "too large: 10");
    CHECK(producer_send_no_receipt(p, NULL, NULL, 0, "v", 1) == -186, "NULL topic: -186");
    CHECK(producer_send_no_receipt(NULL, "nowhere", NULL, 0, "v", 1) == -186, "NULL producer: -186");
    CHECK(producer_no_receipt_failures(NULL) == -186 && producer_no_receipt_last_error(NULL) == -186, "NULL producer: -186");
    producer_close(p, 1000);
    CHECK(producer_send_no_receipt(p, "nowhere", NULL, 0, "v", 1) == -197, "closed: -197");
    producer_free(p);
    return CHECK_SUMMARY("no_receipt");
}

int main(int argc, char **argv) {
    if (argc == 5 && str_eq(argv[1], "mix")) return mix_case(argv[2], argv[3], argv[4]);
    if (argc == 4 && str_eq(argv[1], "memory")) return memory_case(argv[2], argv[3]);
    if (argc == 2 && str_eq(argv[1], "dead")) return dead_case();
    fprintf(stderr, "usage: %s mix BROKERS TOPIC EXPECT_FILE | memory BROKERS TOPIC | dead\n", argv[0]);
    return 2;
}
