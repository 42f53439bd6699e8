/*
 * Helpers shared by the C tests: option setting that reports failures, a monotonic
 * clock, and string checks. Include after check.h, in one translation unit.
 */
#ifndef ABLKAFKA_TEST_COMMON_H
#define ABLKAFKA_TEST_COMMON_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ablkafka.h"
#include "check.h"

/* Milliseconds on CLOCK_MONOTONIC. */
static inline int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sets an option that must be accepted; a refusal is a failed check. */
static inline int set_ok(ProducerBuilder *b, const char *name, const char *value) {
    int32_t rc = producer_builder_set_option(b, name, value);
    const char *err = rc == 0 ? NULL : producer_builder_last_error(b);
    return CHECK(rc == 0, "set_option(%s=%s) returned %d: %s", name, value, (int)rc,
                 err ? err : "(no last_error)");
}

static inline int str_eq(const char *a, const char *b) {
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static inline const char *or_null(const char *s) { return s ? s : "(NULL)"; }

/* A builder with bootstrap.servers set, or NULL (a failed check) when that fails. */
static inline ProducerBuilder *builder_for(const char *brokers) {
    ProducerBuilder *b = producer_builder_new();
    if (!CHECK(b != NULL, "producer_builder_new returned NULL")) {
        return NULL;
    }
    set_ok(b, "bootstrap.servers", brokers);
    return b;
}

/* Builds, reporting last_error on failure. */
static inline Producer *build_ok(ProducerBuilder *b) {
    Producer *p = producer_builder_build(b);
    CHECK(p != NULL, "producer_builder_build failed: %s", or_null(producer_builder_last_error(b)));
    return p;
}

/* Options as (name, value) pairs ending with NULL. Returns NULL (a failed check) when an
 * option or the build is refused. */
static inline Producer *producer_with(const char *bootstraps, const char *const *opts) {
    ProducerBuilder *b = builder_for(bootstraps);
    if (b == NULL) return NULL;
    int ok = 1;
    for (size_t i = 0; opts != NULL && opts[i] != NULL; i += 2) ok &= set_ok(b, opts[i], opts[i + 1]);
    Producer *p = ok ? build_ok(b) : NULL;
    producer_builder_free(b);
    return p;
}

#endif
