/* Per-topic configuration (issue 13), as OpenEdge's AddTopicConfiguration sets it.
 *
 *   topic_config BROKERS TOPIC_A TOPIC_B EXPECT_A EXPECT_B
 *
 * One producer (gzip, consistent_random, acks=all for topics without options of their own)
 * gives TOPIC_A acks=0, lz4 and the consistent partitioner, and TOPIC_B zstd and murmur2,
 * through producer_builder_set_topic_option; option names and values in upper case where
 * librdkafka allows it, as OpenEdge programs write them. It sends one interleaved burst of
 * keyed records to both and writes each topic's expectation file for scripts/verify.py,
 * which reads them back with librdkafka and checks each stored batch's codec and each
 * record's partition against librdkafka's partitioner (run-tests.sh).
 * Here: TOPIC_A's Responses have no offset (acks=0: the broker does not answer) and
 * TOPIC_B's do; options read back as each topic uses them; refusals are librdkafka's. */
#include "common.h"

#include <inttypes.h>

enum { PER_TOPIC = 400 };

static int set_topic_ok(ProducerBuilder *b, const char *topic, const char *name, const char *value) {
    int32_t rc = producer_builder_set_topic_option(b, topic, name, value);
    return CHECK(rc == 0, "set_topic_option(%s, %s=%s) returned %d: %s", topic, name, value, (int)rc,
                 or_null(producer_builder_last_error(b)));
}

/* The option as the producer uses it for `topic`, in a static buffer. */
static const char *topic_option(Producer *p, const char *topic, const char *name) {
    static char buf[64];
    int64_t n = producer_get_topic_option(p, topic, name, buf, sizeof buf);
    return n >= 0 ? buf : "(refused)";
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s BROKERS TOPIC_A TOPIC_B EXPECT_A EXPECT_B\n", argv[0]);
        return 2;
    }
    const char *brokers = argv[1], *topics[2] = {argv[2], argv[3]}, *expects[2] = {argv[4], argv[5]};
    ProducerBuilder *b = builder_for(brokers);
    if (b == NULL) return CHECK_SUMMARY("topic_config");
    set_ok(b, "compression.codec", "GZIP");
    set_ok(b, "linger.ms", "20");
    set_topic_ok(b, topics[0], "request.required.acks", "0");
    set_topic_ok(b, topics[0], "compression.type", "LZ4");
    set_topic_ok(b, topics[0], "partitioner", "CONSISTENT");
    set_topic_ok(b, topics[1], "compression.codec", "zstd");
    set_topic_ok(b, topics[1], "compression.level", "12");
    set_topic_ok(b, topics[1], "partitioner", "murmur2");

    /* librdkafka's answers: a global property is unknown to a topic configuration. */
    CHECK(producer_builder_set_topic_option(b, topics[0], "linger.ms", "5") == -2, "linger.ms is not topic-level");
    CHECK(producer_builder_set_topic_option(b, topics[0], "acks", "1001") == -1, "acks 1001");
    CHECK(producer_builder_set_topic_option(b, "no such/topic", "acks", "1") == -1, "an illegal topic name");
    CHECK(producer_builder_set_topic_option(b, NULL, "acks", "1") == -186, "NULL topic");
    char buf[32];
    CHECK(producer_builder_get_topic_option(b, topics[0], "compression.codec", buf, sizeof buf) == 3 && str_eq(buf, "lz4"),
          "builder read-back: %s", buf);

    Producer *p = build_ok(b);
    producer_builder_free(b);
    if (p == NULL) return CHECK_SUMMARY("topic_config");
    /* Read back as each topic uses them: its own, else the producer's, canonical spelling. */
    CHECK(str_eq(topic_option(p, topics[0], "acks"), "0"), "A acks %s", topic_option(p, topics[0], "acks"));
    CHECK(str_eq(topic_option(p, topics[0], "compression.codec"), "lz4"), "A codec %s", topic_option(p, topics[0], "compression.codec"));
    CHECK(str_eq(topic_option(p, topics[0], "partitioner"), "consistent"), "A partitioner %s", topic_option(p, topics[0], "partitioner"));
    CHECK(str_eq(topic_option(p, topics[1], "acks"), "-1"), "B acks %s (the producer's)", topic_option(p, topics[1], "acks"));
    CHECK(str_eq(topic_option(p, topics[1], "compression.level"), "12"), "B level %s", topic_option(p, topics[1], "compression.level"));
    CHECK(str_eq(topic_option(p, "unconfigured", "compression.type"), "gzip"), "another topic: %s",
          topic_option(p, "unconfigured", "compression.type"));
    CHECK(producer_get_topic_option(p, topics[0], "linger.ms", buf, sizeof buf) == -2, "linger.ms per topic: -2");
    CHECK(producer_get_topic_option(p, topics[0], "no.such", buf, sizeof buf) == -2, "unknown: -2");
    CHECK(producer_get_topic_option(NULL, topics[0], "acks", buf, sizeof buf) == -186, "NULL producer");
    char level[8];
    CHECK(producer_get_option(p, "compression.level", level, sizeof level) == 2 && str_eq(level, "-1"), "producer's level %s", level);

    /* One burst, the two topics interleaved, so that both are lingering together. */
    Response *r[2][PER_TOPIC];
    char keys[PER_TOPIC][16], values[2][PER_TOPIC][32];
    for (int i = 0; i < PER_TOPIC; i++) {
        snprintf(keys[i], sizeof keys[i], "key-%d", i % 97);
        for (int t = 0; t < 2; t++) {
            snprintf(values[t][i], sizeof values[t][i], "%s value %d", t == 0 ? "A" : "B", i);
            r[t][i] = producer_send(p, topics[t], keys[i], strlen(keys[i]), values[t][i], strlen(values[t][i]));
        }
    }
    CHECK(producer_flush(p, 30000) == 0, "flush");
    int delivered[2] = {0, 0}, offsets[2] = {0, 0};
    for (int t = 0; t < 2; t++) {
        FILE *f = fopen(expects[t], "w");
        CHECK(f != NULL, "open %s", expects[t]);
        for (int i = 0; i < PER_TOPIC; i++) {
            Response *x = r[t][i];
            if (response_success(x) == 1 && str_eq(response_topic(x), topics[t])) delivered[t]++;
            if (response_offset(x) >= 0) offsets[t]++;
            /* acks=0: no offset ("- -"); verify.py checks the partition by the key. */
            if (f != NULL) write_expect_line(f, x, keys[i], values[t][i]);
            response_free(x);
        }
        if (f != NULL) fclose(f);
    }
    CHECK(delivered[0] == PER_TOPIC && delivered[1] == PER_TOPIC, "delivered %d and %d of %d", delivered[0], delivered[1], PER_TOPIC);
    CHECK(offsets[0] == 0, "topic A (acks=0): %d Responses with an offset, want none", offsets[0]);
    CHECK(offsets[1] == PER_TOPIC, "topic B (acks=all): %d of %d Responses with an offset", offsets[1], PER_TOPIC);
    CHECK(producer_close(p, 10000) == 0, "close");
    producer_free(p);
    printf("topic_config: %d + %d delivered; offsets %d (acks=0) and %d (acks=all)\n", delivered[0], delivered[1], offsets[0],
           offsets[1]);
    return CHECK_SUMMARY("topic_config");
}
