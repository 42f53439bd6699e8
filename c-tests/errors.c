/*
 * errors BROKERS TOPIC
 *
 * Refusals and argument checks:
 *   - a value over message.max.bytes is refused at send: the receipt is completed at
 *     return with success 0 and code 10 (MSG_SIZE_TOO_LARGE); small ones still go;
 *   - unknown option names (-2) and bad values (-1) are refused at set_option with a
 *     last_error that names the option; NULL or non-UTF-8 arguments give -186; a
 *     success clears last_error;
 *   - an invalid combination (gzip with a level outside 0-9) is refused, at the latest
 *     by producer_builder_build (NULL, reason in last_error); the builder stays usable;
 *   - NULL, empty or non-UTF-8 topic, NULL pointer with a non-zero length, NULL
 *     producer: a receipt completed at return with -186;
 *   - topic names that Kafka does not allow (over 249 characters, 32,768 bytes, "." and
 *     "..", characters outside [a-zA-Z0-9._-]) are refused at send with -186 and a
 *     message that says why; a topic new to the producer afterwards (TOPIC-after-bad-names,
 *     which must exist) is still delivered
 *     (a 32,768-byte name once made every later Metadata request malformed), and a
 *     client.id longer than a Kafka string is refused at set_option (-1);
 *   - NULL handles to every function: no crash, documented defaults;
 *   - error names and messages match librdkafka's.
 */
#include "common.h"

#include <inttypes.h>
#include <stdlib.h>

#define ERR_UNKNOWN_NAME (-2)
#define ERR_INVALID_VALUE (-1)
#define ERR_INVALID_ARG (-186)

static int mentions(const char *text, const char *needle) {
    return text != NULL && strstr(text, needle) != NULL;
}

/* A receipt refused at send time: completed at return, success 0, this code and its message. */
static void refused(Response *r, int32_t code, const char *what) {
    if (!CHECK(r != NULL, "%s: producer_send returned NULL", what)) return;
    CHECK(response_completed(r) == 1, "%s: not completed at return", what);
    CHECK(response_wait(r, 0) == 1, "%s: wait(0) != 1", what);
    CHECK(response_success(r) == 0, "%s: success %d", what, (int)response_success(r));
    CHECK(response_error_code(r) == code, "%s: code %d (%s), want %d", what, (int)response_error_code(r),
          or_null(ablkafka_err2name(response_error_code(r))), (int)code);
    CHECK(str_eq(response_error_message(r), ablkafka_err2str(code)) ||
              (response_error_message(r) != NULL && strlen(response_error_message(r)) > 0),
          "%s: no error message", what);
    CHECK(response_offset(r) == -1, "%s: offset %" PRId64, what, response_offset(r));
    CHECK(response_timestamp(r) == -1, "%s: timestamp %" PRId64, what, response_timestamp(r));
    response_free(r);
}

static void test_options(void) {
    ProducerBuilder *b = producer_builder_new();
    if (!CHECK(b != NULL, "producer_builder_new")) return;
    CHECK(producer_builder_last_error(b) == NULL, "fresh builder has last_error %s",
          or_null(producer_builder_last_error(b)));

    /* Accepted: names, aliases and values from librdkafka. */
    static const char *good[][2] = {
        {"bootstrap.servers", "127.0.0.1:9092"}, {"client.id", "errors-test"},
        {"acks", "all"}, {"acks", "-1"}, {"acks", "0"}, {"acks", "1"}, {"request.required.acks", "1"},
        {"linger.ms", "0"}, {"linger.ms", "5"}, {"queue.buffering.max.ms", "20"},
        {"batch.num.messages", "500"}, {"batch.size", "65536"},
        {"compression.codec", "none"}, {"compression.codec", "gzip"}, {"compression.codec", "snappy"},
        {"compression.codec", "lz4"}, {"compression.type", "zstd"}, {"compression.level", "-1"},
        {"message.timeout.ms", "30000"}, {"delivery.timeout.ms", "30000"}, {"request.timeout.ms", "10000"},
        {"retries", "5"}, {"message.send.max.retries", "5"}, {"retry.backoff.ms", "50"},
        {"message.max.bytes", "100000"}, {"queue.buffering.max.messages", "1000"},
        {"queue.buffering.max.kbytes", "4096"}, {"partitioner", "consistent_random"},
        {"partitioner", "murmur2_random"}, {"partitioner", "murmur2"}, {"partitioner", "consistent"},
        {"partitioner", "random"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        set_ok(b, good[i][0], good[i][1]);
    }

    /* Unknown name: -2, and last_error names it. */
    int32_t rc = producer_builder_set_option(b, "no.such.option", "1");
    CHECK(rc == ERR_UNKNOWN_NAME, "unknown option returned %d, want %d", (int)rc, ERR_UNKNOWN_NAME);
    CHECK(mentions(producer_builder_last_error(b), "no.such.option"), "last_error does not name it: %s",
          or_null(producer_builder_last_error(b)));

    /* Bad values: -1, and last_error names the option. */
    static const char *bad[][2] = {
        {"linger.ms", "abc"},      {"acks", "1001"},          {"compression.codec", "brotli"},
        {"partitioner", "nope"},   {"linger.ms", "-5"},    {"message.timeout.ms", "12x"},
        {"compression.type", ""},  {"batch.num.messages", "0"}, {"retries", "-3"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc = producer_builder_set_option(b, bad[i][0], bad[i][1]);
        CHECK(rc == ERR_INVALID_VALUE, "%s=\"%s\" returned %d, want %d", bad[i][0], bad[i][1], (int)rc,
              ERR_INVALID_VALUE);
        CHECK(mentions(producer_builder_last_error(b), bad[i][0]), "%s=\"%s\": last_error does not name it: %s",
              bad[i][0], bad[i][1], or_null(producer_builder_last_error(b)));
    }

    /* A success clears last_error. */
    set_ok(b, "linger.ms", "7");
    CHECK(producer_builder_last_error(b) == NULL, "last_error after a success: %s",
          or_null(producer_builder_last_error(b)));

    /* NULL or non-UTF-8 arguments: -186. */
    CHECK(producer_builder_set_option(NULL, "linger.ms", "5") == ERR_INVALID_ARG, "NULL builder");
    CHECK(producer_builder_set_option(b, NULL, "5") == ERR_INVALID_ARG, "NULL name");
    CHECK(producer_builder_set_option(b, "linger.ms", NULL) == ERR_INVALID_ARG, "NULL value");
    CHECK(producer_builder_last_error(b) != NULL, "no last_error after a NULL value");
    CHECK(producer_builder_set_option(b, "linger\xff.ms", "5") == ERR_INVALID_ARG, "non-UTF-8 name");
    CHECK(producer_builder_set_option(b, "client.id", "caf\xc3") == ERR_INVALID_ARG, "non-UTF-8 value");
    producer_builder_free(b);
}

static void test_invalid_combination(void) {
    ProducerBuilder *b = producer_builder_new();
    if (!CHECK(b != NULL, "producer_builder_new")) return;
    set_ok(b, "bootstrap.servers", "127.0.0.1:9");
    set_ok(b, "compression.codec", "gzip");
    /* compression.level takes -1..12 for every codec, as in librdkafka: 42 is refused
       at set_option, naming the option; 12 with gzip is built (librdkafka clamps it to 9). */
    int32_t rc = producer_builder_set_option(b, "compression.level", "42");
    CHECK(rc == ERR_INVALID_VALUE, "compression.level=42: code %d", (int)rc);
    CHECK(mentions(producer_builder_last_error(b), "compression.level"), "compression.level=42 refused without naming it: %s",
          or_null(producer_builder_last_error(b)));
    set_ok(b, "compression.level", "12");
    Producer *clamped = producer_builder_build(b);
    CHECK(clamped != NULL, "gzip with compression.level=12 refused: %s", or_null(producer_builder_last_error(b)));
    producer_free(clamped);
    /* The builder is still the caller's, and usable once the combination is fixed. */
    set_ok(b, "compression.level", "9");
    Producer *p = producer_builder_build(b);
    CHECK(p != NULL, "gzip level 9 refused: %s", or_null(producer_builder_last_error(b)));
    producer_free(p);
    producer_builder_free(b);
}

static void test_send_refusals(const char *brokers, const char *topic) {
    const char *opts[] = {"message.max.bytes", "1000", "message.timeout.ms", "30000", NULL};
    Producer *p = producer_with(brokers, opts);
    if (p == NULL) return;

    static char big[2000];
    memset(big, 'b', sizeof big);
    refused(producer_send(p, topic, "k", 1, big, sizeof big), 10, "2000-byte value, message.max.bytes=1000");
    refused(producer_send(p, topic, big, sizeof big, "v", 1), 10, "2000-byte key, message.max.bytes=1000");
    CHECK(str_eq(ablkafka_err2str(10), "Broker: Message size too large"), "err2str(10) = %s",
          or_null(ablkafka_err2str(10)));

    refused(producer_send(p, NULL, "k", 1, "v", 1), ERR_INVALID_ARG, "NULL topic");
    refused(producer_send(p, "", "k", 1, "v", 1), ERR_INVALID_ARG, "empty topic");
    refused(producer_send(p, "top\xffic", "k", 1, "v", 1), ERR_INVALID_ARG, "non-UTF-8 topic");
    refused(producer_send(p, topic, "k", 1, NULL, 5), ERR_INVALID_ARG, "NULL value with length 5");
    refused(producer_send(p, topic, NULL, 3, "v", 1), ERR_INVALID_ARG, "NULL key with length 3");
    /* A negative length from a caller with signed lengths (ABL's INT64 -1) is SIZE_MAX: refused
       before any byte is read. */
    refused(producer_send(p, topic, "k", 1, "v", (size_t)-1), ERR_INVALID_ARG, "value length SIZE_MAX");
    refused(producer_send(p, topic, "k", (size_t)-1, NULL, 0), ERR_INVALID_ARG, "key length SIZE_MAX");
    /* Handles of the wrong kind (all handles are integers to ABL) are refused, not used. */
    ProducerBuilder *other = producer_builder_new();
    refused(producer_send((Producer *)(void *)other, topic, "k", 1, "v", 1), ERR_INVALID_ARG,
            "a builder handle as the producer");
    CHECK(producer_flush((Producer *)(void *)other, 0) == ERR_INVALID_ARG, "flush on a builder handle");
    CHECK(producer_close((Producer *)(void *)other, 0) == ERR_INVALID_ARG, "close on a builder handle");
    producer_free((Producer *)(void *)other); /* refused: the builder stays alive */
    CHECK(producer_builder_set_option((ProducerBuilder *)(void *)p, "linger.ms", "5") == ERR_INVALID_ARG,
          "set_option on a producer handle");
    CHECK(producer_builder_set_option(other, "linger.ms", "5") == 0, "the builder survived producer_free");
    producer_builder_free(other);

    /* The producer still works: a small message, and a null key and null value. */
    Response *ok = producer_send(p, topic, "k", 1, "small", 5);
    Response *nulls = producer_send(p, topic, NULL, 0, NULL, 0);
    CHECK(producer_flush(p, 10000) == 0, "flush");
    Response *both[2] = {ok, nulls};
    for (int i = 0; i < 2; i++) {
        CHECK(both[i] != NULL && response_success(both[i]) == 1 && response_offset(both[i]) >= 0,
              "message %d after refusals not delivered: code %d %s", i, both[i] ? (int)response_error_code(both[i]) : 0,
              both[i] ? or_null(response_error_message(both[i])) : "(NULL response)");
        response_free(both[i]);
    }
    producer_free(p);

    /* Default message.max.bytes is 1000000. */
    p = producer_with(brokers, NULL);
    if (p == NULL) return;
    size_t n = 1000001;
    char *huge = malloc(n);
    if (CHECK(huge != NULL, "malloc")) {
        memset(huge, 'h', n);
        refused(producer_send(p, topic, NULL, 0, huge, n), 10, "1000001-byte value, default message.max.bytes");
        free(huge);
    }
    producer_free(p);
}

static void test_null_handles(void) {
    /* None of these may crash; each returns its documented default. */
    producer_builder_free(NULL);
    CHECK(producer_builder_last_error(NULL) == NULL, "last_error(NULL)");
    CHECK(producer_builder_build(NULL) == NULL, "build(NULL)");
    CHECK(producer_flush(NULL, 0) == ERR_INVALID_ARG, "flush(NULL) = %d", (int)producer_flush(NULL, 0));
    CHECK(producer_close(NULL, 0) == ERR_INVALID_ARG, "close(NULL) = %d", (int)producer_close(NULL, 0));
    producer_free(NULL);

    /* A NULL producer is a failure known at send time: a completed receipt with -186. */
    refused(producer_send(NULL, "t", "k", 1, "v", 1), ERR_INVALID_ARG, "send on a NULL producer");
    /* A refused send still names its topic, as given; "" when there was no string to read. */
    Response *named = producer_send(NULL, "orders", "k", 1, "v", 1);
    Response *unnamed = producer_send(NULL, "top\xffic", "k", 1, "v", 1);
    CHECK(str_eq(response_topic(named), "orders") && str_eq(response_topic(unnamed), "") && response_partition(named) == -1,
          "topics of refused sends: \"%s\", \"%s\"", or_null(response_topic(named)), or_null(response_topic(unnamed)));
    response_free(named);
    response_free(unnamed);

    int64_t t0 = now_ms();
    CHECK(response_completed(NULL) == 0, "completed(NULL)");
    CHECK(response_wait(NULL, 100) == ERR_INVALID_ARG, "wait(NULL, 100) = %d", (int)response_wait(NULL, 100));
    CHECK(response_wait(NULL, -1) == ERR_INVALID_ARG, "wait(NULL, -1) = %d", (int)response_wait(NULL, -1));
    CHECK(now_ms() - t0 < 1000, "wait(NULL) blocked for %lld ms", (long long)(now_ms() - t0));
    CHECK(response_success(NULL) == 0, "success(NULL)");
    CHECK(response_error_code(NULL) == ERR_INVALID_ARG, "error_code(NULL) = %d", (int)response_error_code(NULL));
    CHECK(response_error_message(NULL) == NULL, "error_message(NULL) = %s", or_null(response_error_message(NULL)));
    CHECK(response_offset(NULL) == -1, "offset(NULL) = %" PRId64, response_offset(NULL));
    CHECK(response_partition(NULL) == -1, "partition(NULL) = %d", (int)response_partition(NULL));
    CHECK(response_timestamp(NULL) == -1, "timestamp(NULL) = %" PRId64, response_timestamp(NULL));
    response_free(NULL);
}

static void test_error_text(void) {
    static const struct {
        int32_t code;
        const char *name;
        const char *str; /* NULL: only checked to be non-empty */
    } table[] = {
        {0, "NO_ERROR", "Success"},
        {-192, "_MSG_TIMED_OUT", "Local: Message timed out"},
        {-197, "_DESTROY", NULL},
        {-186, "_INVALID_ARG", "Local: Invalid argument or configuration"},
        {-185, "_TIMED_OUT", "Local: Timed out"},
        {-184, "_QUEUE_FULL", "Local: Queue full"},
        {10, "MSG_SIZE_TOO_LARGE", "Broker: Message size too large"},
        {3, "UNKNOWN_TOPIC_OR_PART", "Broker: Unknown topic or partition"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const char *name = ablkafka_err2name(table[i].code);
        const char *str = ablkafka_err2str(table[i].code);
        CHECK(str_eq(name, table[i].name), "err2name(%d) = %s, want %s", (int)table[i].code, or_null(name),
              table[i].name);
        if (table[i].str != NULL) {
            CHECK(str_eq(str, table[i].str), "err2str(%d) = %s, want %s", (int)table[i].code, or_null(str),
                  table[i].str);
        } else {
            CHECK(str != NULL && strncmp(str, "Local: ", 7) == 0, "err2str(%d) = %s", (int)table[i].code,
                  or_null(str));
        }
    }
    /* Codes nobody defined still get text. */
    CHECK(ablkafka_err2str(12345) != NULL && ablkafka_err2name(12345) != NULL, "err2str/err2name(12345)");
    CHECK(ablkafka_err2str(-100) != NULL && ablkafka_err2name(-100) != NULL, "err2str/err2name(-100)");

    const char *v = ablkafka_version();
    CHECK(v != NULL && strlen(v) > 0, "ablkafka_version() = %s", or_null(v));
#ifdef ABLKAFKA_VERSION
    CHECK(str_eq(v, ABLKAFKA_VERSION), "ablkafka_version() = %s, header says %s", or_null(v), ABLKAFKA_VERSION);
#endif
}

/* A topic name refused at send: -186, and the message gives this reason. */
static void refused_topic(Producer *p, const char *name, const char *reason, const char *what) {
    Response *r = producer_send(p, name, "k", 1, "v", 1);
    if (!CHECK(r != NULL, "%s: producer_send returned NULL", what)) return;
    CHECK(response_completed(r) == 1 && response_error_code(r) == ERR_INVALID_ARG, "%s: completed %d code %d", what,
          (int)response_completed(r), (int)response_error_code(r));
    CHECK(mentions(response_error_message(r), reason), "%s: message '%s' does not say '%s'", what,
          or_null(response_error_message(r)), reason);
    response_free(r);
}

static void test_topic_names(const char *brokers, const char *topic) {
    /* The 249-character topic does not exist: its record fails after 5 s, not at send. */
    const char *opts[] = {"message.timeout.ms", "5000", NULL};
    Producer *p = producer_with(brokers, opts);
    if (p == NULL) return;
    size_t n = 32768;
    char *long_name = malloc(n + 1);
    if (!CHECK(long_name != NULL, "malloc")) return;
    memset(long_name, 't', n);
    long_name[n] = 0;
    refused_topic(p, long_name, "longer than 249 characters", "a 32,768-byte topic");
    long_name[250] = 0;
    refused_topic(p, long_name, "longer than 249 characters", "a 250-byte topic");
    long_name[249] = 0;
    Response *longest = producer_send(p, long_name, "k", 1, "v", 1); /* legal: 249 characters */
    refused_topic(p, "", "empty", "an empty topic");
    refused_topic(p, ".", "\".\" and \"..\"", "topic .");
    refused_topic(p, "..", "\".\" and \"..\"", "topic ..");
    refused_topic(p, "a b", "only ASCII letters", "a topic with a space");
    refused_topic(p, "a/b", "only ASCII letters", "a topic with a slash");
    refused_topic(p, "t\xc3\xb8pic", "only ASCII letters", "a topic with a non-ASCII letter");

    /* Topics new to the producer after the refusals are still delivered (the test's
       script creates TOPIC-after-bad-names; tansu does not create topics on demand). */
    char fresh[128];
    snprintf(fresh, sizeof fresh, "%s-after-bad-names", topic);
    Response *after = producer_send(p, fresh, "k", 1, "after", 5);
    Response *known = producer_send(p, topic, "k", 1, "known", 5);
    CHECK(producer_flush(p, 20000) == 0, "flush after the refused topics");
    CHECK(longest != NULL && response_completed(longest) == 1 && response_error_code(longest) != ERR_INVALID_ARG,
          "a 249-character topic is legal: not refused at send (code %d)", longest ? (int)response_error_code(longest) : 0);
    response_free(longest);
    Response *all[2] = {after, known};
    const char *names[2] = {"a topic new to the producer", "the test's topic"};
    for (int i = 0; i < 2; i++) {
        CHECK(all[i] != NULL && response_success(all[i]) == 1 && response_offset(all[i]) >= 0,
              "%s after the refusals: code %d %s", names[i], all[i] ? (int)response_error_code(all[i]) : 0,
              all[i] ? or_null(response_error_message(all[i])) : "(NULL)");
        response_free(all[i]);
    }
    CHECK(producer_error_code(p) == 0, "producer status %d after the refusals", (int)producer_error_code(p));
    producer_free(p);

    ProducerBuilder *b = producer_builder_new();
    memset(long_name, 'c', n);
    long_name[n] = 0;
    CHECK(producer_builder_set_option(b, "client.id", long_name) == ERR_INVALID_VALUE,
          "a 32,768-byte client.id is refused at set_option");
    CHECK(mentions(producer_builder_last_error(b), "client.id"), "last_error names client.id: %s",
          or_null(producer_builder_last_error(b)));
    long_name[32767] = 0;
    CHECK(producer_builder_set_option(b, "client.id", long_name) == 0, "a 32,767-byte client.id is accepted");
    producer_builder_free(b);
    free(long_name);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s BROKERS TOPIC\n", argv[0]);
        return 2;
    }
    test_error_text();
    test_options();
    test_invalid_combination();
    test_null_handles();
    test_send_refusals(argv[1], argv[2]);
    test_topic_names(argv[1], argv[2]);
    return CHECK_SUMMARY("errors");
}
