/*
 * Programs made of named cases (mock_faults, txn_mock): `PROGRAM list` prints the names,
 * `PROGRAM` runs every case, `PROGRAM CASE...` the named ones. Each case runs under a
 * watchdog (its time limit, by SIGALRM) that prints the counts so far with one more
 * failure and exits, from the signal handler with write() only.
 * Include after common.h, in one translation unit.
 */
#ifndef ABLKAFKA_TEST_CASES_H
#define ABLKAFKA_TEST_CASES_H

#include "common.h"

#include <signal.h>
#include <unistd.h>

typedef struct {
    const char *name;
    void (*run)(void);
    int limit_s;
} case_t;

/* The case running now, and when it started (now_ms()). */
static const char *current_case = "?";
static int64_t case_started_ms;

static void cases_put_text(char *buf, size_t *n, size_t cap, const char *text) {
    for (const char *c = text; *c && *n < cap; c++) buf[(*n)++] = *c;
}

static void cases_put_num(char *buf, size_t *n, size_t cap, long v) {
    char tmp[24];
    int len = 0;
    if (v == 0) tmp[len++] = '0';
    while (v > 0 && len < (int)sizeof tmp) {
        tmp[len++] = (char)('0' + v % 10);
        v /= 10;
    }
    while (len > 0 && *n < cap) buf[(*n)++] = tmp[--len];
}

static void cases_on_alarm(int sig) {
    (void)sig;
    char buf[256];
    size_t n = 0;
    cases_put_text(buf, &n, 120, "FAIL watchdog: case ");
    cases_put_text(buf, &n, 120, current_case);
    cases_put_text(buf, &n, sizeof buf, " did not finish in time\n");
    cases_put_num(buf, &n, sizeof buf, check_passed_count);
    cases_put_text(buf, &n, sizeof buf, " passed, ");
    cases_put_num(buf, &n, sizeof buf, check_failed_count + 1);
    cases_put_text(buf, &n, sizeof buf, " failed\n");
    ssize_t w = write(STDOUT_FILENO, buf, n);
    (void)w;
    _exit(1);
}

static void cases_run_one(const case_t *c) {
    long failed_before = check_failed_count, passed_before = check_passed_count;
    current_case = c->name;
    fprintf(stderr, "---- %s\n", c->name);
    case_started_ms = now_ms();
    alarm((unsigned)c->limit_s);
    c->run();
    alarm(0);
    fprintf(stderr, "---- %s: %s (%ld passed, %ld failed, %lld ms)\n", c->name,
            check_failed_count > failed_before ? "FAILED" : "ok", check_passed_count - passed_before,
            check_failed_count - failed_before, (long long)(now_ms() - case_started_ms));
}

/* Lists or runs the cases as the arguments say; PROGRAM's "N passed, N failed" status. */
static int run_cases(const case_t *cases, size_t ncases, int argc, char **argv, const char *program) {
    signal(SIGALRM, cases_on_alarm);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && strcmp(argv[1], "list") == 0) {
        for (size_t i = 0; i < ncases; i++) printf("%s\n", cases[i].name);
        return 0;
    }
    if (argc == 1) {
        for (size_t i = 0; i < ncases; i++) cases_run_one(&cases[i]);
    }
    for (int a = 1; a < argc; a++) {
        size_t i = 0;
        while (i < ncases && strcmp(cases[i].name, argv[a]) != 0) i++;
        if (i == ncases) {
            check_record(0, __FILE__, __LINE__, "known case", "unknown case %s (try: list)", argv[a]);
            continue;
        }
        cases_run_one(&cases[i]);
    }
    return CHECK_SUMMARY(program);
}

#endif
