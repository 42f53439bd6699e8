/* Send one message and print its delivery receipt: ./basic 127.0.0.1:9092 my-topic */
#include <stdio.h>
#include <string.h>
#include "ablkafka.h"

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s BROKERS TOPIC\n", argv[0]); return 2; }
    ProducerBuilder *builder = producer_builder_new();
    if (producer_builder_set_option(builder, "bootstrap.servers", argv[1]) != 0 ||
        producer_builder_set_option(builder, "compression.codec", "zstd") != 0 ||
        producer_builder_set_topic_option(builder, argv[2], "acks", "1") != 0) {   /* this topic only */
        fprintf(stderr, "option: %s\n", producer_builder_last_error(builder)); return 1;
    }
    Producer *producer = producer_builder_build(builder);
    if (producer == NULL) { fprintf(stderr, "build: %s\n", producer_builder_last_error(builder)); return 1; }
    producer_builder_free(builder);
    char acks[8];                              /* read back: the topic's own, else the producer's */
    producer_get_topic_option(producer, argv[2], "acks", acks, sizeof acks);
    printf("topic %s: acks=%s\n", argv[2], acks);

    const char *key = "greeting", *value = "hello from ablkafka";
    Response *r = producer_send(producer, argv[2], key, strlen(key), value, strlen(value));
    producer_flush(producer, 10000);           /* or response_wait(r, -1) */
    if (response_success(r))
        printf("delivered to partition %d at offset %lld\n", response_partition(r), (long long)response_offset(r));
    else
        printf("failed: %d %s\n", response_error_code(r), response_error_message(r));
    int ok = response_success(r);
    response_free(r);
    producer_free(producer);                   /* closes it */
    return ok ? 0 : 1;
}
