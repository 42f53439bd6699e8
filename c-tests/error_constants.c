/*
 * error_constants
 *
 * The header's named constants are the library's numbers, with no broker:
 *   - every ABLKAFKA_ERR_* macro of the header (listed by the preprocessor into
 *     build/gen/error_constants.inc, so a new code needs no edit here) names the code
 *     ablkafka_err2name() gives that name, and every code the library knows (err2name
 *     not "ERR_UNKNOWN_CODE", -1000..1000) has its macro: the header's constants and the
 *     library's table are the same set; negative ones expand parenthesised;
 *   - the cases themselves: each call below returns the constant the header documents
 *     for it (options refused, NULL arguments, an oversized record, a full queue, a
 *     flush out of time, a record expired against a closed port, the producer's status,
 *     a transaction call out of time and out of place, a send after close);
 *   - the version macros agree with ablkafka_version(), and ABLKAFKA_VERSION_NUM with
 *     the parts, in #if as well.
 */
#include "common.h"

#if !defined(ABLKAFKA_VERSION_NUM) || ABLKAFKA_VERSION_NUM != \
    ((ABLKAFKA_VERSION_MAJOR << 16) | (ABLKAFKA_VERSION_MINOR << 8) | ABLKAFKA_VERSION_PATCH)
#error "ABLKAFKA_VERSION_NUM is not 0xMMmmpp of the version's parts"
#endif

/* Nothing listens on port 1 of the loopback address: connections are refused at once. */
#define CLOSED_PORT "127.0.0.1:1"
#define MESSAGE_TIMEOUT_MS "500"

#define TEXT(x) #x
#define EXPANDED(x) TEXT(x)

struct constant {
    int32_t value;
    const char *name;      /* err2name's text: the macro's name less ABLKAFKA_ERR_ */
    const char *macro;     /* the macro's name */
    const char *expansion; /* what the macro expands to, as text */
};

static const struct constant constants[] = {
#define ABLKAFKA_ERR(macro, name) {macro, name, #macro, EXPANDED(macro)},
#include "error_constants.inc"
#undef ABLKAFKA_ERR
};
#define N_CONSTANTS (sizeof constants / sizeof constants[0])

static const char *unknown_name;

static void every_constant_is_the_librarys_code(void) {
    CHECK(N_CONSTANTS > 100, "only %zu ABLKAFKA_ERR_ constants", N_CONSTANTS);
    for (size_t i = 0; i < N_CONSTANTS; i++) {
        const struct constant *c = &constants[i];
        const char *name = ablkafka_err2name(c->value);
        CHECK(str_eq(name, c->name), "%s is %d, which the library names %s", c->macro, (int)c->value, or_null(name));
        CHECK(c->value >= 0 || c->expansion[0] == '(', "%s expands to %s: a negative constant must be parenthesised",
              c->macro, c->expansion);
    }
}

static int has_constant(int32_t code) {
    for (size_t i = 0; i < N_CONSTANTS; i++)
        if (constants[i].value == code) return 1;
    return 0;
}

static void every_known_code_has_a_constant(void) {
    int known = 0;
    for (int32_t code = -1000; code <= 1000; code++) {
        const char *name = ablkafka_err2name(code);
        if (str_eq(name, unknown_name)) continue;
        known++;
        CHECK(has_constant(code), "the library knows %d (%s), the header has no ABLKAFKA_ERR_ constant for it",
              (int)code, or_null(name));
    }
    CHECK(known == (int)N_CONSTANTS, "the library knows %d codes, the header has %zu constants", known, N_CONSTANTS);
}

static void version_macros_match_the_library(void) {
    int major = -1, minor = -1, patch = -1;
    CHECK(sscanf(ablkafka_version(), "%d.%d.%d", &major, &minor, &patch) == 3, "ablkafka_version() is %s",
          or_null(ablkafka_version()));
    CHECK(major == ABLKAFKA_VERSION_MAJOR && minor == ABLKAFKA_VERSION_MINOR && patch == ABLKAFKA_VERSION_PATCH,
          "ablkafka_version() %s, macros %d.%d.%d", or_null(ablkafka_version()), ABLKAFKA_VERSION_MAJOR,
          ABLKAFKA_VERSION_MINOR, ABLKAFKA_VERSION_PATCH);
    CHECK(ABLKAFKA_VERSION_NUM == ((major << 16) | (minor << 8) | patch), "ABLKAFKA_VERSION_NUM 0x%06x",
          (unsigned)ABLKAFKA_VERSION_NUM);
    CHECK(str_eq(ABLKAFKA_VERSION, ablkafka_version()), "ABLKAFKA_VERSION %s", ABLKAFKA_VERSION);
}

#define CHECK_CODE(got, constant, what)                                                                         \
    do {                                                                                                       \
        int32_t got_ = (got);                                                                                  \
        CHECK(got_ == (constant), "%s: got %d (%s), expected %s (%d)", what, (int)got_,                        \
              or_null(ablkafka_err2name(got_)), #constant, (int)(constant));                                   \
    } while (0)

#define CHECK_CLASS(got, constant, what)                                                                        \
    do {                                                                                                       \
        int32_t got_ = (got);                                                                                  \
        CHECK(got_ == (constant), "%s: class %d, expected %s (%d)", what, (int)got_, #constant, (int)(constant)); \
    } while (0)

static void option_results(void) {
    ProducerBuilder *b = producer_builder_new();
    CHECK_CODE(producer_builder_set_option(b, "acks", "1"), ABLKAFKA_CONF_OK, "a valid option");
    CHECK_CODE(producer_builder_set_option(b, "no.such.option", "1"), ABLKAFKA_CONF_UNKNOWN, "an unknown option");
    CHECK_CODE(producer_builder_set_option(b, "acks", "many"), ABLKAFKA_CONF_INVALID, "an invalid value");
    CHECK_CODE(producer_builder_set_topic_option(b, "t", "linger.ms", "5"), ABLKAFKA_CONF_UNKNOWN,
               "a producer option set per topic");
    CHECK_CODE((int32_t)producer_builder_get_option(b, "no.such.option", NULL, 0), ABLKAFKA_CONF_UNKNOWN,
               "reading an unknown option");
    CHECK_CODE(producer_builder_set_option(b, NULL, "1"), ABLKAFKA_ERR__INVALID_ARG, "a NULL option name");
    CHECK_CODE(producer_builder_set_option(NULL, "acks", "1"), ABLKAFKA_ERR__INVALID_ARG, "a NULL builder");
    producer_builder_free(b);

    RecordBuilder *rb = record_builder_new();
    CHECK_CODE(record_builder_set_partition(rb, -5), ABLKAFKA_ERR__INVALID_ARG, "partition -5");
    CHECK_CODE(record_builder_set_partition(rb, ABLKAFKA_PARTITION_UNASSIGNED), ABLKAFKA_ERR_NO_ERROR,
               "ABLKAFKA_PARTITION_UNASSIGNED");
    record_builder_free(rb);
}

static Producer *producer_for_closed_port(const char *transactional_id) {
    ProducerBuilder *b = builder_for(CLOSED_PORT);
    if (b == NULL) return NULL;
    set_ok(b, "message.timeout.ms", MESSAGE_TIMEOUT_MS);
    set_ok(b, "queue.buffering.max.messages", "1");
    set_ok(b, "message.max.bytes", "1000");
    if (transactional_id != NULL) set_ok(b, "transactional.id", transactional_id);
    Producer *p = build_ok(b);
    producer_builder_free(b);
    return p;
}

static void producer_results(void) {
    Producer *p = producer_for_closed_port(NULL);
    if (p == NULL) return;
    char big[2000];
    memset(big, 'x', sizeof big);

    Response *r = producer_send(p, NULL, "k", 1, "v", 1);
    CHECK_CODE(response_error_code(r), ABLKAFKA_ERR__INVALID_ARG, "a NULL topic");
    CHECK(response_partition(r) == ABLKAFKA_PARTITION_UNASSIGNED, "a refused record's partition is %d",
          (int)response_partition(r));
    response_free(r);
    r = producer_send(p, "t", NULL, 0, big, sizeof big);
    CHECK_CODE(response_error_code(r), ABLKAFKA_ERR_MSG_SIZE_TOO_LARGE, "a record over message.max.bytes");
    response_free(r);

    Response *queued = producer_send(p, "t", "k", 1, "v", 1);
    r = producer_send(p, "t", "k", 1, "v", 1);
    CHECK_CODE(response_error_code(r), ABLKAFKA_ERR__QUEUE_FULL, "a second record in a queue of one");
    response_free(r);
    CHECK_CODE(producer_flush(p, 50), ABLKAFKA_ERR__TIMED_OUT, "a flush with a record that cannot leave");

    CHECK(response_wait(queued, 10000) == 1, "the queued record did not complete");
    CHECK_CODE(response_error_code(queued), ABLKAFKA_ERR__MSG_TIMED_OUT, "a record past message.timeout.ms");
    response_free(queued);
    int32_t status = producer_error_code(p);
    CHECK(status == ABLKAFKA_ERR__ALL_BROKERS_DOWN || status == ABLKAFKA_ERR__TRANSPORT,
          "the status with the only broker refusing: %d (%s), expected ABLKAFKA_ERR__ALL_BROKERS_DOWN or "
          "ABLKAFKA_ERR__TRANSPORT",
          (int)status, or_null(ablkafka_err2name(status)));

    CHECK_CODE(producer_begin_transaction(p), ABLKAFKA_ERR__NOT_CONFIGURED, "a transaction without transactional.id");
    CHECK_CLASS(producer_transaction_error_class(p), ABLKAFKA_TXN_ERROR_NONE, "its class");

    producer_close(p, 1000);
    r = producer_send(p, "t", "k", 1, "v", 1);
    CHECK_CODE(response_error_code(r), ABLKAFKA_ERR__DESTROY, "a send after close");
    response_free(r);
    producer_free(p);
}

static void transaction_results(void) {
    Producer *p = producer_for_closed_port("error-constants");
    if (p == NULL) return;
    CHECK_CODE(producer_begin_transaction(p), ABLKAFKA_ERR__STATE, "begin before init");
    CHECK_CLASS(producer_transaction_error_class(p), ABLKAFKA_TXN_ERROR_NONE, "its class");
    CHECK_CODE(producer_init_transactions(p, 300), ABLKAFKA_ERR__TIMED_OUT, "init with no coordinator in time");
    CHECK_CLASS(producer_transaction_error_class(p), ABLKAFKA_TXN_ERROR_RETRIABLE, "its class");
    CHECK_CODE(producer_init_transactions(p, -2), ABLKAFKA_ERR__INVALID_ARG, "a timeout below -1");
    producer_free(p);
}

int main(void) {
    unknown_name = ablkafka_err2name(999999);
    every_constant_is_the_librarys_code();
    every_known_code_has_a_constant();
    version_macros_match_the_library();
    option_results();
    producer_results();
    transaction_results();
    return CHECK_SUMMARY("error_constants");
}
