/*
 * Helpers shared by the C tests: option setting that reports failures, a monotonic
 * clock, sleeping, string checks, the expectation files' byte fields, and running
 * scripts/broker.sh. Include after check.h, in one translation unit.
 */
#ifndef ABLKAFKA_TEST_COMMON_H
#define ABLKAFKA_TEST_COMMON_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Sleeps `ms` milliseconds, resuming after signals. */
static inline void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Writes `n` bytes as an expectation file's byte field (scripts/verify.py): 'x', then
   lowercase hex; '-' for NULL. */
static inline void write_hex_field(FILE *f, const void *p, size_t n) {
    if (p == NULL) {
        fputc('-', f);
        return;
    }
    fputc('x', f);
    for (size_t i = 0; i < n; i++) fprintf(f, "%02x", ((const unsigned char *)p)[i]);
}

/* write_hex_field for the string `s`. */
static inline void write_hex_str(FILE *f, const char *s) { write_hex_field(f, s, strlen(s)); }

/* Writes one line of an expectation file for scripts/verify.py: the receipt's partition
   and offset when it was delivered to a known place ("- -" otherwise), then key and value. */
static inline void write_expect_line(FILE *f, const Response *r, const char *key, const char *value) {
    if (response_success(r) == 1 && response_offset(r) >= 0)
        fprintf(f, "%d %lld ", (int)response_partition(r), (long long)response_offset(r));
    else
        fputs("- - ", f);
    write_hex_str(f, key);
    fputc(' ', f);
    write_hex_str(f, value);
    fputc('\n', f);
}

/* Runs `BROKER_SH VERB DIR [EXTRA]` (scripts/broker.sh) and reports, as `who`, its
   status and how long it took. */
static inline int broker_sh(const char *who, const char *script, const char *verb, const char *dir,
                            const char *extra) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' %s '%s' %s", script, verb, dir, extra ? extra : "");
    int64_t t0 = now_ms();
    int rc = system(cmd);
    fprintf(stderr, "%s: broker.sh %s %s: status %d after %lld ms\n", who, verb, extra ? extra : "", rc,
            (long long)(now_ms() - t0));
    return rc;
}

/* Sets an option that must be accepted; a refusal is a failed check. */
static inline int set_ok(ProducerBuilder *b, const char *name, const char *value) {
    int32_t rc = producer_builder_set_option(b, name, value);
    const char *err = rc == 0 ? NULL : producer_builder_last_error(b);
    return CHECK(rc == 0, "set_option(%s=%s) returned %d: %s", name, value, (int)rc,
                 err ? err : "(no last_error)");
}

/* splitmix64: a seeded generator, for tests whose random choices must repeat. */
static inline uint64_t next_rand(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Fisher-Yates over a[0..n), drawing from next_rand(state). */
static inline void shuffle(size_t *a, size_t n, uint64_t *state) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(next_rand(state) % i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
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
