/*
 * Send one message over SASL_SSL (TLS, then SCRAM-SHA-512) and print its receipt:
 *
 *   ./sasl_ssl BROKERS TOPIC CA_PEM USER PASSWORD
 *
 * The password is taken from the command line here only to keep the example short; a
 * real program reads it from a file or a secret store. The library never shows it: it
 * reads back as "[redacted]" and appears in no error message.
 */
#include <stdio.h>
#include <string.h>
#include "ablkafka.h"

int main(int argc, char **argv) {
    if (argc != 6) { fprintf(stderr, "usage: %s BROKERS TOPIC CA_PEM USER PASSWORD\n", argv[0]); return 2; }
    const char *options[][2] = {
        {"bootstrap.servers", argv[1]},
        {"security.protocol", "sasl_ssl"},
        {"ssl.ca.location", argv[3]},         /* unset: the system's trust store */
        {"sasl.mechanism", "SCRAM-SHA-512"},  /* or PLAIN, SCRAM-SHA-256 */
        {"sasl.username", argv[4]},
        {"sasl.password", argv[5]},
        {"message.timeout.ms", "10000"},
    };
    ProducerBuilder *builder = producer_builder_new();
    for (size_t i = 0; i < sizeof options / sizeof *options; i++) {
        if (producer_builder_set_option(builder, options[i][0], options[i][1]) != 0) {
            fprintf(stderr, "option %s: %s\n", options[i][0], producer_builder_last_error(builder)); return 1;
        }
    }
    /* A CA file that cannot be read, or a key that does not parse, is refused here. */
    Producer *producer = producer_builder_build(builder);
    if (producer == NULL) { fprintf(stderr, "build: %s\n", producer_builder_last_error(builder)); return 1; }
    producer_builder_free(builder);

    const char *key = "greeting", *value = "hello over sasl_ssl";
    Response *r = producer_send(producer, argv[2], key, strlen(key), value, strlen(value));
    producer_flush(producer, 15000);
    int ok = response_success(r);
    if (ok) {
        printf("delivered to partition %d at offset %lld\n", response_partition(r), (long long)response_offset(r));
    } else {
        /* A refused handshake or login shows in the producer's status as -181 (_SSL) or
         * -169 (_AUTHENTICATION), with the reason; the record fails after message.timeout.ms. */
        char why[512];
        producer_error_message(producer, why, sizeof why);
        printf("failed: %d %s (producer: %d %s)\n", response_error_code(r), response_error_message(r),
               producer_error_code(producer), why);
    }
    response_free(r);
    producer_free(producer);
    return ok ? 0 : 1;
}
