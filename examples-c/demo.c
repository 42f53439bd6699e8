/*
 * demo BROKERS TOPIC_PREFIX
 *
 * For each codec (none, gzip, snappy, lz4, zstd): a producer with that
 * compression.codec sends a handful of keyed messages to topic PREFIX-CODEC, flushes,
 * and prints every delivery receipt. Exits non-zero if any message failed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ablkafka.h"

#define PER_CODEC 6

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s BROKERS TOPIC_PREFIX\n", argv[0]);
        return 2;
    }
    static const char *codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    static const char *keys[] = {"apple", "banana", "cherry"};
    int failures = 0;

    printf("ablkafka %s, bootstrap.servers=%s\n", ablkafka_version(), argv[1]);
    printf("%-7s %-8s %9s %7s %14s  %s\n", "codec", "key", "partition", "offset", "timestamp", "result");
    for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++) {
        ProducerBuilder *b = producer_builder_new();
        if (producer_builder_set_option(b, "bootstrap.servers", argv[1]) != 0 ||
            producer_builder_set_option(b, "compression.codec", codecs[c]) != 0 ||
            producer_builder_set_option(b, "message.timeout.ms", "15000") != 0) {
            fprintf(stderr, "option refused: %s\n", producer_builder_last_error(b));
            producer_builder_free(b);
            return 1;
        }
        Producer *p = producer_builder_build(b);
        if (p == NULL) {
            fprintf(stderr, "build failed: %s\n", producer_builder_last_error(b));
            producer_builder_free(b);
            return 1;
        }
        producer_builder_free(b);

        char topic[256];
        snprintf(topic, sizeof topic, "%s-%s", argv[2], codecs[c]);
        Response *r[PER_CODEC];
        for (int i = 0; i < PER_CODEC; i++) {
            const char *key = keys[i % 3];
            char value[128];
            snprintf(value, sizeof value, "message %d compressed with %s: %s %s %s", i, codecs[c], codecs[c],
                     codecs[c], codecs[c]);
            r[i] = producer_send(p, topic, key, strlen(key), value, strlen(value));
        }
        int32_t rc = producer_flush(p, 20000);
        if (rc != 0) {
            fprintf(stderr, "flush of %s: %d %s\n", topic, rc, ablkafka_err2str(rc));
        }
        for (int i = 0; i < PER_CODEC; i++) {
            if (response_success(r[i])) {
                printf("%-7s %-8s %9d %7" PRId64 " %14" PRId64 "  delivered to %s\n", codecs[c], keys[i % 3],
                       response_partition(r[i]), response_offset(r[i]), response_timestamp(r[i]), topic);
            } else {
                int32_t code = response_error_code(r[i]);
                printf("%-7s %-8s %9s %7s %14s  FAILED %d %s: %s\n", codecs[c], keys[i % 3], "-", "-", "-", code,
                       ablkafka_err2name(code), response_error_message(r[i]) ? response_error_message(r[i]) : "");
                failures++;
            }
            response_free(r[i]);
        }
        producer_close(p, 5000);
        producer_free(p);
    }
    printf("%d message(s) failed\n", failures);
    return failures ? 1 : 0;
}
