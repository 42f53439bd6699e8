/*
 * secure_errors connect BROKERS CODE REASON [NAME=VALUE...]
 *   Builds a producer with the options, sends one record (message.timeout.ms=4000) and
 *   checks that, within one connect attempt (5 s), producer_error_code() becomes CODE
 *   (-181 _SSL, -169 _AUTHENTICATION) with REASON in producer_error_message(), and stays
 *   CODE in every sample (every 100 ms) until 15 s after the send; that the
 *   message holds no secret (the value of sasl.password, ssl.key.password, ssl.key.pem);
 *   then that the Response fails with -192 (_MSG_TIMED_OUT) once message.timeout.ms has
 *   passed, as librdkafka's do, and that close returns within its timeout.
 *
 * secure_errors build OPTION REASON [NAME=VALUE...]
 *   producer_builder_build() must fail, with OPTION and REASON in
 *   producer_builder_last_error() and no secret in it.
 *
 * secure_errors redaction
 *   Secrets set with producer_builder_set_option never come back in an error message,
 *   whatever the value; unsupported ssl./sasl. options are refused as "not supported".
 */
#include "common.h"

#include <string.h>

static const char *SECRET_OPTIONS[] = {"sasl.password", "ssl.key.password", "ssl.key.pem"};

/* Each NAME=VALUE argument set on b; the secrets' values are remembered in secrets[]. */
static int set_all(ProducerBuilder *b, int argc, char **argv, const char **secrets, int *n_secrets) {
    for (int a = 0; a < argc; a++) {
        char *eq = strchr(argv[a], '=');
        if (eq == NULL || eq == argv[a]) {
            fprintf(stderr, "secure_errors: option %s is not NAME=VALUE\n", argv[a]);
            return 0;
        }
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(eq - argv[a]), argv[a]);
        if (!set_ok(b, name, eq + 1)) {
            return 0;
        }
        for (size_t s = 0; s < sizeof SECRET_OPTIONS / sizeof *SECRET_OPTIONS; s++) {
            if (str_eq(name, SECRET_OPTIONS[s]) && strlen(eq + 1) > 0) {
                secrets[(*n_secrets)++] = eq + 1;
            }
        }
    }
    return 1;
}

static void check_no_secret(const char *where, const char *text, const char **secrets, int n_secrets) {
    for (int s = 0; s < n_secrets; s++) {
        CHECK(strstr(text, secrets[s]) == NULL, "%s shows a secret: %s", where, text);
    }
}

static int connect_case(const char *brokers, int want_code, const char *reason, int argc, char **argv) {
    const char *secrets[16];
    int n_secrets = 0;
    ProducerBuilder *b = builder_for(brokers);
    if (!set_all(b, argc, argv, secrets, &n_secrets) || !set_ok(b, "message.timeout.ms", "4000")) {
        producer_builder_free(b);
        return CHECK_SUMMARY("secure_errors");
    }
    Producer *p = build_ok(b);
    producer_builder_free(b);
    if (p == NULL) {
        return CHECK_SUMMARY("secure_errors");
    }
    int64_t start = now_ms();
    Response *r = producer_send(p, "secure-errors", "k", 1, "v", 1);
    CHECK(r != NULL, "send returned no Response");
    int code = 0;
    while (now_ms() - start < 5000 && (code = producer_error_code(p)) != want_code) {
        sleep_ms(20);
    }
    char message[1024];
    producer_error_message(p, message, sizeof message);
    int64_t seen_after = now_ms() - start;
    CHECK(code == want_code, "producer_error_code is %d (%s), not %d, after %lld ms: %s", code, ablkafka_err2name(code), want_code,
          (long long)seen_after, message);
    CHECK(strstr(message, reason) != NULL, "producer_error_message lacks \"%s\": %s", reason, message);
    check_no_secret("producer_error_message", message, secrets, n_secrets);
    printf("secure_errors: %s after %lld ms: %s\n", ablkafka_err2name(code), (long long)seen_after, message);
    /* The status names the cause for as long as it lasts (issue 24): polled every 100 ms
     * until 15 s after the send, through reconnect backoffs and metadata retries, it never
     * changes to another code (-187 "all brokers down" used to win inside the backoff). */
    int samples = 0, other = 0, other_code = 0;
    while (code == want_code && now_ms() - start < 15000) {
        sleep_ms(100);
        int now = producer_error_code(p);
        samples++;
        if (now != want_code) {
            other++;
            other_code = now;
        }
    }
    CHECK(other == 0, "producer_error_code left %d (%s) in %d of %d samples over 15 s, e.g. for %d (%s)", want_code,
          ablkafka_err2name(want_code), other, samples, other_code, ablkafka_err2name(other_code));
    if (r != NULL) {
        CHECK(response_wait(r, 10000) == 1, "the Response did not complete within 10 s");
        CHECK(response_success(r) == 0, "a record was delivered through a refused connection");
        CHECK(response_error_code(r) == -192, "the Response failed with %d (%s), not -192 _MSG_TIMED_OUT", response_error_code(r),
              ablkafka_err2name(response_error_code(r)));
        int64_t failed_after = now_ms() - start;
        CHECK(failed_after >= 3900, "the Response failed after %lld ms, before message.timeout.ms", (long long)failed_after);
        check_no_secret("response_error_message", or_null(response_error_message(r)), secrets, n_secrets);
        response_free(r);
    }
    int64_t closing = now_ms();
    CHECK(producer_close(p, 5000) == 0, "close did not return 0");
    CHECK(now_ms() - closing < 6000, "close took %lld ms", (long long)(now_ms() - closing));
    producer_free(p);
    return CHECK_SUMMARY("secure_errors");
}

static int build_case(const char *option, const char *reason, int argc, char **argv) {
    const char *secrets[16];
    int n_secrets = 0;
    ProducerBuilder *b = builder_for("127.0.0.1:9");
    if (!set_all(b, argc, argv, secrets, &n_secrets)) {
        producer_builder_free(b);
        return CHECK_SUMMARY("secure_errors");
    }
    Producer *p = producer_builder_build(b);
    const char *error = or_null(producer_builder_last_error(b));
    CHECK(p == NULL, "build succeeded; expected a refusal naming %s", option);
    CHECK(strstr(error, option) != NULL, "the error does not name %s: %s", option, error);
    CHECK(strstr(error, reason) != NULL, "the error lacks \"%s\": %s", reason, error);
    check_no_secret("producer_builder_last_error", error, secrets, n_secrets);
    printf("secure_errors: build refused: %s\n", error);
    if (p != NULL) {
        producer_close(p, 1000);
        producer_free(p);
    }
    producer_builder_free(b);
    return CHECK_SUMMARY("secure_errors");
}

static int redaction_case(void) {
    static const char *secret = "s3cr3t-Pa55,=x";
    ProducerBuilder *b = builder_for("127.0.0.1:9");
    for (size_t s = 0; s < sizeof SECRET_OPTIONS / sizeof *SECRET_OPTIONS; s++) {
        CHECK(producer_builder_set_option(b, SECRET_OPTIONS[s], secret) == 0, "%s refused", SECRET_OPTIONS[s]);
    }
    /* A PEM key that does not parse is refused at build without being quoted. */
    CHECK(producer_builder_set_option(b, "security.protocol", "SASL_SSL") == 0, "SASL_SSL (upper case) refused");
    CHECK(producer_builder_set_option(b, "ssl.ca.location", "/etc/ssl/certs/ca-certificates.crt") == 0, "ssl.ca.location refused");
    CHECK(producer_builder_set_option(b, "ssl.certificate.pem", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n") == 0,
          "ssl.certificate.pem refused");
    CHECK(producer_builder_build(b) == NULL, "a producer was built with an unparsable key");
    const char *error = or_null(producer_builder_last_error(b));
    CHECK(strstr(error, secret) == NULL, "the build error shows the secret: %s", error);
    printf("secure_errors: build with a bad key: %s\n", error);
    static const char *refused[][2] = {
        {"ssl.keystore.location", "not supported"}, {"ssl.engine.id", "not supported"}, {"ssl.cipher.suites", "not supported"},
        {"sasl.kerberos.service.name", "not supported"}, {"sasl.oauthbearer.config", "not supported"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        int rc = producer_builder_set_option(b, refused[i][0], secret);
        const char *why = or_null(producer_builder_last_error(b));
        CHECK(rc == -1, "%s: code %d, not -1", refused[i][0], rc);
        CHECK(strstr(why, refused[i][1]) != NULL && strstr(why, refused[i][0]) != NULL, "%s: %s", refused[i][0], why);
        CHECK(strstr(why, secret) == NULL, "%s: the error shows the value: %s", refused[i][0], why);
    }
    static const char *mechanisms[] = {"GSSAPI", "OAUTHBEARER"};
    for (size_t i = 0; i < 2; i++) {
        int rc = producer_builder_set_option(b, "sasl.mechanism", mechanisms[i]);
        const char *why = or_null(producer_builder_last_error(b));
        CHECK(rc == -1 && strstr(why, "not supported") != NULL, "sasl.mechanism=%s: %d %s", mechanisms[i], rc, why);
    }
    CHECK(producer_builder_set_option(b, "sasl.mechanisms", "scram-sha-512") == 0, "the alias sasl.mechanisms, lower case, refused");
    producer_builder_free(b);
    return CHECK_SUMMARY("secure_errors");
}

int main(int argc, char **argv) {
    if (argc >= 2 && str_eq(argv[1], "redaction")) {
        return redaction_case();
    }
    if (argc >= 5 && str_eq(argv[1], "connect")) {
        return connect_case(argv[2], atoi(argv[3]), argv[4], argc - 5, argv + 5);
    }
    if (argc >= 4 && str_eq(argv[1], "build")) {
        return build_case(argv[2], argv[3], argc - 4, argv + 4);
    }
    fprintf(stderr, "usage: %s connect BROKERS CODE REASON [NAME=VALUE...] | build OPTION REASON [NAME=VALUE...] | redaction\n", argv[0]);
    return 2;
}
