/*
 * record_errors BROKERS TOPIC [faults]
 *
 * What a Response says when the broker refuses records (Produce v8's record errors and
 * error_message, KIP-467). Four rounds of 5 records to TOPIC (one partition), each round
 * one batch (batch.num.messages=5, linger.ms=10000) flushed before the next.
 *
 * Without `faults` (c-tests/manifest, against tansu): every Response is delivered and
 * response_error_message is NULL.
 *
 * With `faults`, BROKERS is scripts/fault_proxy.py --fault record-errors --count 3 in
 * front of tansu (scripts/garbled-answers.sh), which refuses the first three batches:
 *   1. error 87, record errors at 0 (a text with a newline) and 2 (no text): records 0
 *      and 2 fail with 87 (more than one record named), 0 with "<87's text>: <its text,
 *      the newline a space>", 2 with 87's text alone; 1, 3 and 4 fail with -138 and
 *      librdkafka's text for a record failed for another's fault;
 *   2. error 32, one record error at 1 (623 bytes, a tab): record 1 fails with 32 (the
 *      partition's code: only one record named), its text cut to 512 bytes ("..." at
 *      the end) with the tab a space; the others with -138;
 *   3. error 87, no record errors, an error_message of 32,767 bytes full of escapes and
 *      newlines: every record fails with 87 and "<87's text>: <that text>", cut to 512
 *      bytes and without a control character, one string for all five;
 *   4. delivered (the proxy refuses three answers only): NULL messages.
 * Every message is read twice and must be the same pointer and text (it lives as long
 * as the Response), and once more after the producer is freed.
 */
#include "common.h"

#include <inttypes.h>

#define RECORDS 5
#define ROUNDS 4
#define TEXT_MAX 512

static const char *different_text =
    "Failed to append record because it was part of a batch which had one more more invalid records";

/* "<err2str(code)>: <text>" in buf. */
static const char *with_text(char *buf, size_t size, int32_t code, const char *text) {
    snprintf(buf, size, "%s: %s", ablkafka_err2str(code), text);
    return buf;
}

/* The part of `message` after "<err2str(code)>: ", or NULL when it does not start so. */
static const char *text_after_code(const char *message, int32_t code) {
    size_t n = strlen(ablkafka_err2str(code));
    if (message == NULL || strncmp(message, ablkafka_err2str(code), n) != 0 || strncmp(message + n, ": ", 2) != 0)
        return NULL;
    return message + n + 2;
}

/* A broker text as it must reach the application: at most 512 bytes, no control byte. */
static int cut_and_clean(const char *text) {
    for (const unsigned char *c = (const unsigned char *)text; *c; c++)
        if (*c < 0x20 || *c == 0x7f) return 0;
    return strlen(text) <= TEXT_MAX;
}

static void expect(Response *r, int round, int i, int32_t code, const char *message) {
    const char *got = response_error_message(r);
    CHECK(response_completed(r) == 1 && response_error_code(r) == code, "round %d record %d: code %d (%s), want %d",
          round, i, (int)response_error_code(r), or_null(ablkafka_err2name(response_error_code(r))), (int)code);
    if (message == NULL)
        CHECK(got == NULL, "round %d record %d: message %s, want NULL", round, i, or_null(got));
    else
        CHECK(str_eq(got, message), "round %d record %d: message\n    %s\n  want\n    %s", round, i, or_null(got),
              message);
    CHECK(response_error_message(r) == got, "round %d record %d: a second read gives another pointer", round, i);
}

/* A record whose text is cut: its code, then the text after the code's: at most 512
   bytes, clean, "..." at the end, starting with `start`. */
static void expect_cut(Response *r, int round, int i, int32_t code, const char *start) {
    const char *got = response_error_message(r);
    const char *text = text_after_code(got, code);
    CHECK(response_error_code(r) == code, "round %d record %d: code %d, want %d", round, i,
          (int)response_error_code(r), (int)code);
    if (!CHECK(text != NULL, "round %d record %d: message %s does not start with %s", round, i, or_null(got),
               ablkafka_err2str(code)))
        return;
    size_t n = strlen(text);
    CHECK(cut_and_clean(text) && n >= 3 && strcmp(text + n - 3, "...") == 0,
          "round %d record %d: the broker's text is %zu bytes, not cut or not clean: %s", round, i, n, text);
    CHECK(strncmp(text, start, strlen(start)) == 0, "round %d record %d: text %.60s..., want %s...", round, i, text,
          start);
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "faults") != 0)) {
        fprintf(stderr, "usage: record_errors BROKERS TOPIC [faults]\n");
        return 2;
    }
    const char *topic = argv[2];
    int faults = argc == 4;
    const char *opts[] = {"batch.num.messages", "5", "linger.ms", "10000", "message.timeout.ms", "30000", NULL};
    Producer *p = producer_with(argv[1], opts);
    if (p == NULL) return CHECK_SUMMARY("record_errors");

    Response *r[ROUNDS][RECORDS];
    const char *kept[ROUNDS][RECORDS];
    char want[1024], other[1024];
    with_text(other, sizeof other, ABLKAFKA_ERR__INVALID_DIFFERENT_RECORD, different_text);
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < RECORDS; i++) {
            char value[48];
            snprintf(value, sizeof value, "round %d record %d", round + 1, i);
            r[round][i] = producer_send(p, topic, NULL, 0, value, strlen(value));
        }
        CHECK(producer_flush(p, 30000) == 0, "round %d: flush", round + 1);
        for (int i = 0; i < RECORDS; i++) {
            Response *x = r[round][i];
            int n = round + 1;
            if (!faults || round == 3) {
                expect(x, n, i, 0, NULL);
                CHECK(response_success(x) == 1 && response_offset(x) >= 0, "round %d record %d: not delivered", n, i);
            } else if (round == 0 && i == 0) {
                expect(x, n, i, ABLKAFKA_ERR_INVALID_RECORD,
                       with_text(want, sizeof want, ABLKAFKA_ERR_INVALID_RECORD, "bad key %3|FORGED|x"));
            } else if (round == 0 && i == 2) {
                expect(x, n, i, ABLKAFKA_ERR_INVALID_RECORD, ablkafka_err2str(ABLKAFKA_ERR_INVALID_RECORD));
            } else if (round == 1 && i == 1) {
                expect_cut(x, n, i, ABLKAFKA_ERR_INVALID_TIMESTAMP, "timestamp out of range yyy");
            } else if (round == 2) {
                expect_cut(x, n, i, ABLKAFKA_ERR_INVALID_RECORD, "refused [2J more");
                CHECK(response_error_message(x) == response_error_message(r[round][0]),
                      "round 3 record %d: not the same message as record 0's", i);
            } else {
                expect(x, n, i, ABLKAFKA_ERR__INVALID_DIFFERENT_RECORD, other);
            }
            if (response_error_code(x) != 0)
                CHECK(response_success(x) == 0 && response_offset(x) == -1 && response_partition(x) == -1 &&
                          response_timestamp(x) == -1,
                      "round %d record %d: a failed Response with success %d, offset %" PRId64 ", partition %d, "
                      "timestamp %" PRId64,
                      n, i, (int)response_success(x), response_offset(x), (int)response_partition(x),
                      response_timestamp(x));
            kept[round][i] = response_error_message(x);
        }
    }
    CHECK(producer_close(p, 10000) == 0, "close");
    producer_free(p);
    /* The messages outlive the producer: they belong to the Responses. */
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < RECORDS; i++) {
            CHECK(response_error_message(r[round][i]) == kept[round][i] &&
                      (kept[round][i] == NULL || strlen(kept[round][i]) > 0),
                  "round %d record %d: the message changed after producer_free", round + 1, i);
            response_free(r[round][i]);
        }
    }
    return CHECK_SUMMARY("record_errors");
}
