/*
 * records headers BROKERS TOPIC CODEC EXPECT_FILE
 *   Sends 90 records with compression.codec=CODEC through a RecordBuilder, with 0, 1 or
 *   20 headers (repeated names, an empty name, binary values with zero bytes, a null
 *   value, an empty value), timestamps from the past, the future or 0 ("now"), and
 *   plain producer_send records in between; the builder is changed after every send
 *   (everything must have been copied). Checks every receipt (success, timestamp as
 *   sent) and writes EXPECT_FILE with headers and timestamps for scripts/verify.py.
 *
 * records partitions BROKERS TOPIC EXPECT_FILE
 *   TOPIC has 7 partitions. A new producer first asks for partition 9 before it knows
 *   the topic (failed with -190 once metadata comes); then, with one key for all,
 *   10 records to each partition 0..6 (each receipt must be in its partition), partition
 *   7 (-190 at send, metadata now known), -5 (refused by the setter with -186) and -1
 *   (the partitioner again). Writes EXPECT_FILE for verify.py.
 */
#include "common.h"

#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

/* One header, kept for the expectation line. */
typedef struct {
    char name[16];
    unsigned char value[8];
    int value_len; /* -1: null */
} header_t;

static int make_headers(int i, header_t *h) {
    int count = (int[]){0, 1, 20}[i % 3];
    for (int j = 0; j < count; j++) {
        /* names repeat (h0, h1, h0, ...); the fourth is empty */
        if (j == 3) h[j].name[0] = '\0';
        else snprintf(h[j].name, sizeof h[j].name, "h%d", j % 2);
        if (j == 5) {
            h[j].value_len = -1; /* null */
        } else if (j == 6) {
            h[j].value_len = 0; /* empty */
        } else {
            h[j].value_len = 1 + (i + j) % 7;
            for (int k = 0; k < h[j].value_len; k++) h[j].value[k] = (unsigned char)((i * 31 + j * 7 + k) & (k % 2 ? 0xff : 0x00));
        }
    }
    return count;
}

static int headers_case(const char *brokers, const char *topic, const char *codec, const char *expect_path) {
    Producer *p = producer_with(brokers, (const char *const[]){"compression.codec", codec, "linger.ms", "20", NULL});
    if (p == NULL) return CHECK_SUMMARY("records");
    enum { N = 90 };
    Response *responses[N];
    int64_t timestamps[N];
    header_t headers[N][20];
    int counts[N];
    char keys[N][16], values[N][32];
    int64_t now = (int64_t)time(NULL) * 1000;
    RecordBuilder *rb = record_builder_new();
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "key-%d", i % 5);
        snprintf(values[i], sizeof values[i], "value %d", i);
        if (i % 10 == 9) { /* a plain send in between: no headers, timestamp now */
            counts[i] = 0;
            timestamps[i] = 0;
            responses[i] = producer_send(p, topic, keys[i], strlen(keys[i]), values[i], strlen(values[i]));
            continue;
        }
        CHECK(record_builder_clear(rb) == 0, "clear");
        CHECK(record_builder_set_topic(rb, topic) == 0, "set_topic");
        CHECK(record_builder_set_key(rb, keys[i], strlen(keys[i])) == 0, "set_key");
        CHECK(record_builder_set_value(rb, values[i], strlen(values[i])) == 0, "set_value");
        counts[i] = make_headers(i, headers[i]);
        for (int j = 0; j < counts[i]; j++) {
            const header_t *h = &headers[i][j];
            CHECK(record_builder_add_header(rb, h->name, h->value_len < 0 ? NULL : h->value, h->value_len < 0 ? 0 : (size_t)h->value_len) == 0,
                  "add_header %d", j);
        }
        timestamps[i] = (int64_t[]){0, 1000000000000LL, now + 365LL * 24 * 3600 * 1000}[i % 3 == 0 ? 0 : (i / 3) % 3];
        CHECK(record_builder_set_timestamp(rb, timestamps[i]) == 0, "set_timestamp");
        responses[i] = producer_send_record(p, rb);
        /* The builder is ours again at once: spoil it; the record must not change. */
        record_builder_set_value(rb, "spoiled", 7);
        record_builder_add_header(rb, "spoiled", "x", 1);
    }
    CHECK(producer_flush(p, 30000) == 0, "flush");
    FILE *f = fopen(expect_path, "w");
    int delivered = 0;
    for (int i = 0; i < N && f != NULL; i++) {
        Response *r = responses[i];
        if (!CHECK(response_success(r) == 1, "record %d: %d %s", i, response_error_code(r), or_null(response_error_message(r)))) continue;
        delivered++;
        int64_t ts = response_timestamp(r);
        CHECK(timestamps[i] == 0 ? llabs(ts - now) < 60000 : ts == timestamps[i], "record %d: timestamp %" PRId64 ", sent %" PRId64, i, ts,
              timestamps[i]);
        fprintf(f, "%d %" PRId64 " ", response_partition(r), response_offset(r));
        write_hex_field(f, keys[i], strlen(keys[i]));
        fputc(' ', f);
        write_hex_field(f, values[i], strlen(values[i]));
        fputc(' ', f);
        if (counts[i] == 0) fputc('-', f);
        for (int j = 0; j < counts[i]; j++) {
            if (j > 0) fputc(',', f);
            write_hex_field(f, headers[i][j].name, strlen(headers[i][j].name));
            fputc('=', f);
            if (headers[i][j].value_len < 0) fputc('-', f);
            else write_hex_field(f, headers[i][j].value, (size_t)headers[i][j].value_len);
        }
        fprintf(f, " %" PRId64 "\n", ts);
    }
    if (f != NULL) fclose(f);
    CHECK(delivered == N, "%d of %d delivered", delivered, N);
    for (int i = 0; i < N; i++) response_free(responses[i]);
    /* Bad arguments change nothing and say -186. */
    CHECK(record_builder_add_header(rb, NULL, "v", 1) == -186, "NULL header name");
    CHECK(record_builder_add_header(rb, "n", NULL, 3) == -186, "NULL value with a length");
    CHECK(record_builder_set_timestamp(rb, -1) == -186, "negative timestamp");
    CHECK(record_builder_set_topic(NULL, topic) == -186, "NULL builder");
    /* Headers count against message.max.bytes (1,000,000) with the key and value. */
    static unsigned char big[600000];
    record_builder_clear(rb);
    record_builder_set_topic(rb, topic);
    record_builder_set_value(rb, big, sizeof big);
    record_builder_add_header(rb, "big", big, sizeof big);
    Response *too_big = producer_send_record(p, rb);
    CHECK(response_completed(too_big) == 1 && response_error_code(too_big) == 10, "600 KB value + 600 KB header: %d, not 10",
          response_error_code(too_big));
    CHECK(str_eq(response_topic(too_big), topic) && response_partition(too_big) == -1, "refused at send: topic %s, partition %d",
          or_null(response_topic(too_big)), response_partition(too_big));
    response_free(too_big);
    CHECK(record_builder_clear(rb) == 0, "clear");
    Response *no_topic = producer_send_record(p, rb);
    CHECK(response_completed(no_topic) == 1 && response_error_code(no_topic) == -186, "a record without a topic: %d", response_error_code(no_topic));
    CHECK(str_eq(response_topic(no_topic), ""), "a record without a topic has topic \"%s\"", or_null(response_topic(no_topic)));
    response_free(no_topic);
    Response *no_builder = producer_send_record(p, NULL);
    CHECK(response_error_code(no_builder) == -186 && str_eq(response_topic(no_builder), ""), "NULL record builder");
    CHECK(response_topic(NULL) == NULL, "response_topic(NULL)");
    response_free(no_builder);
    record_builder_free(rb);
    producer_free(p);
    printf("records: %d of %d delivered with codec %s\n", delivered, N, codec);
    return CHECK_SUMMARY("records");
}

static int partitions_case(const char *brokers, const char *topic, const char *expect_path) {
    Producer *p = producer_with(brokers, (const char *const[]){"linger.ms", "5", NULL});
    if (p == NULL) return CHECK_SUMMARY("records");
    RecordBuilder *rb = record_builder_new();
    record_builder_set_topic(rb, topic);
    record_builder_set_key(rb, "one key", 7);
    record_builder_set_value(rb, "early", 5);
    CHECK(record_builder_set_partition(rb, 9) == 0, "set_partition 9");
    Response *early = producer_send_record(p, rb); /* before the topic's partitions are known */
    CHECK(response_wait(early, 15000) == 1 && response_error_code(early) == -190, "partition 9 before metadata: %d %s", response_error_code(early),
          or_null(response_error_message(early)));
    CHECK(response_partition(early) == -1 && str_eq(response_topic(early), topic), "failed: partition %d (not -1), topic %s",
          response_partition(early), or_null(response_topic(early)));
    response_free(early);

    enum { PER = 10, PARTS = 7 };
    Response *responses[PARTS * PER];
    char values[PARTS * PER][40]; /* room for any int: the ASan build warns otherwise */
    for (int i = 0; i < PARTS * PER; i++) {
        snprintf(values[i], sizeof values[i], "to partition %d #%d", i % PARTS, i / PARTS);
        CHECK(record_builder_set_partition(rb, i % PARTS) == 0, "set_partition");
        record_builder_set_value(rb, values[i], strlen(values[i]));
        responses[i] = producer_send_record(p, rb);
    }
    CHECK(record_builder_set_partition(rb, 7) == 0, "set_partition 7");
    Response *seven = producer_send_record(p, rb);
    CHECK(response_completed(seven) == 1 && response_error_code(seven) == -190, "partition 7 of 7 at send: completed %d, code %d",
          response_completed(seven), response_error_code(seven));
    response_free(seven);
    CHECK(record_builder_set_partition(rb, -5) == -186, "partition -5 refused");
    CHECK(record_builder_set_partition(rb, -1) == 0, "-1: unassigned again");
    Response *any = producer_send_record(p, rb);
    CHECK(producer_flush(p, 30000) == 0, "flush");
    CHECK(response_success(any) == 1 && response_partition(any) >= 0 && response_partition(any) < PARTS, "the partitioner's choice: %d",
          response_partition(any));
    FILE *f = fopen(expect_path, "w");
    if (f != NULL && response_success(any) == 1) {
        fprintf(f, "%d %" PRId64 " ", response_partition(any), response_offset(any));
        write_hex_field(f, "one key", 7);
        fputc(' ', f);
        write_hex_field(f, values[PARTS * PER - 1], strlen(values[PARTS * PER - 1]));
        fputc('\n', f);
    }
    response_free(any);
    int right = 0;
    for (int i = 0; i < PARTS * PER; i++) {
        Response *r = responses[i];
        if (CHECK(response_success(r) == 1 && response_partition(r) == i % PARTS && str_eq(response_topic(r), topic),
                  "record %d: success %d, partition %d, wanted %d, topic %s", i, response_success(r), response_partition(r), i % PARTS,
                  or_null(response_topic(r)))) {
            right++;
            if (f != NULL) {
                fprintf(f, "%d %" PRId64 " ", response_partition(r), response_offset(r));
                write_hex_field(f, "one key", 7);
                fputc(' ', f);
                write_hex_field(f, values[i], strlen(values[i]));
                fputc('\n', f);
            }
        }
        response_free(r);
    }
    if (f != NULL) fclose(f);
    printf("records: %d of %d in the partition they asked for\n", right, PARTS * PER);
    record_builder_free(rb);
    producer_free(p);
    return CHECK_SUMMARY("records");
}

int main(int argc, char **argv) {
    if (argc == 6 && str_eq(argv[1], "headers")) return headers_case(argv[2], argv[3], argv[4], argv[5]);
    if (argc == 5 && str_eq(argv[1], "partitions")) return partitions_case(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: %s headers BROKERS TOPIC CODEC EXPECT_FILE | partitions BROKERS TOPIC EXPECT_FILE\n", argv[0]);
    return 2;
}
