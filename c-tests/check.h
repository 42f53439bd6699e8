/*
 * A tiny assertion harness for the C tests.
 *
 *   CHECK(cond, "format", ...)   counts a pass or a failure; a failure prints the
 *                                file, line, the condition and the formatted message
 *   CHECK_SUMMARY()              prints "N passed, N failed" alone on a line and
 *                                returns the exit status (0 only when nothing failed)
 *
 * Use in exactly one translation unit per program (the counters are static).
 */
#ifndef ABLKAFKA_CHECK_H
#define ABLKAFKA_CHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static long check_passed_count;
static long check_failed_count;

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static inline int check_record(int ok, const char *file, int line, const char *cond, const char *fmt, ...) {
    if (ok) {
        check_passed_count++;
        return 1;
    }
    check_failed_count++;
    fprintf(stderr, "FAIL %s:%d: (%s) ", file, line, cond);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    return 0;
}

/* CHECK(cond, fmt, ...): evaluates to 1 when cond holds, 0 otherwise. */
#define CHECK(cond, ...) check_record((cond) ? 1 : 0, __FILE__, __LINE__, #cond, __VA_ARGS__)

static inline int check_summary(const char *name) {
    fflush(stdout);
    if (name != NULL) {
        fprintf(stderr, "%s: %s\n", name, check_failed_count ? "FAILED" : "ok");
    }
    printf("%ld passed, %ld failed\n", check_passed_count, check_failed_count);
    fflush(stdout);
    return check_failed_count ? EXIT_FAILURE : EXIT_SUCCESS;
}

#define CHECK_SUMMARY(name) check_summary(name)

#endif
