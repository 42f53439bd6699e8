/*
 * fork BROKERS TOPIC N
 *
 * A producer made before fork() belongs to the parent; a child builds its own.
 *   1. The parent builds producer P and delivers N messages.
 *   2. It sends N more with linger.ms=50 (pending, P's thread busy) and forks a child.
 *   3. The child builds its own producer, delivers N messages and closes it. It also
 *      checks that P's inherited copy is refused (send gives a completed -186 Response,
 *      flush and close give -186) and that producer_free on it returns at once instead
 *      of joining a thread that does not exist in the child. It exits with exit().
 *      An alarm turns a hang into a failure.
 *   4. Meanwhile the parent's pending messages are delivered by P; after the child has
 *      exited, P delivers N more.
 *   5. A second child exits at once with _exit() without touching the library; a
 *      third builds a producer and leaves it open at exit(): neither disturbs P.
 * The child's failures are printed on stderr and reported by its exit status, which
 * the parent checks.
 */
#include "common.h"

#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILD_ALARM_S 60

static Producer *make_producer(const char *brokers) {
    ProducerBuilder *b = producer_builder_new();
    if (b == NULL) return NULL;
    Producer *p = NULL;
    if (producer_builder_set_option(b, "bootstrap.servers", brokers) == 0 &&
        producer_builder_set_option(b, "linger.ms", "50") == 0 &&
        producer_builder_set_option(b, "message.timeout.ms", "30000") == 0) {
        p = producer_builder_build(b);
    }
    if (p == NULL) fprintf(stderr, "fork: build failed: %s\n", or_null(producer_builder_last_error(b)));
    producer_builder_free(b);
    return p;
}

/* Sends n messages tagged with who; fills r. Returns how many sends returned NULL. */
static size_t send_n(Producer *p, const char *topic, const char *who, Response **r, size_t n) {
    char key[32], value[96];
    size_t nulls = 0;
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof key, "%s-%zu", who, i % 5);
        snprintf(value, sizeof value, "%s message %zu (pid %ld)", who, i, (long)getpid());
        r[i] = producer_send(p, topic, key, strlen(key), value, strlen(value));
        if (r[i] == NULL) nulls++;
    }
    return nulls;
}

/* Waits for each, frees each; returns how many were not delivered. */
static size_t wait_delivered(Response **r, size_t n, int32_t *first_error) {
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i] == NULL || response_wait(r[i], 30000) != 1 || response_success(r[i]) != 1 ||
            response_offset(r[i]) < 0) {
            if (bad++ == 0 && first_error) *first_error = r[i] ? response_error_code(r[i]) : 0;
        }
        response_free(r[i]);
    }
    return bad;
}

/* The child: its own producer delivers; the parent's copy is refused. Exit status 0 when all holds. */
static int child_main(const char *brokers, const char *topic, Producer *parents, size_t n) {
    alarm(CHILD_ALARM_S);
    int bad = 0;
#define CHILD_CHECK(cond, ...)                                  \
    do {                                                        \
        if (!(cond)) {                                          \
            bad++;                                              \
            fprintf(stderr, "FAIL child %s:%d: (%s) ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                       \
            fputc('\n', stderr);                                \
        }                                                       \
    } while (0)

    Producer *mine = make_producer(brokers);
    CHILD_CHECK(mine != NULL, "the child could not build a producer");
    if (mine != NULL) {
        Response **r = calloc(n, sizeof *r);
        CHILD_CHECK(r != NULL, "out of memory");
        if (r != NULL) {
            CHILD_CHECK(send_n(mine, topic, "child", r, n) == 0, "sends returned NULL");
            int32_t err = 0;
            size_t failed = wait_delivered(r, n, &err);
            CHILD_CHECK(failed == 0, "%zu of %zu of the child's messages not delivered (first code %d)", failed, n,
                        (int)err);
            free(r);
        }
        CHILD_CHECK(producer_close(mine, 10000) == 0, "close of the child's producer");
        producer_free(mine);
    }

    /* The parent's producer, as inherited: refused, never hangs. */
    Response *r = producer_send(parents, topic, "k", 1, "from the child on the parent's producer", 39);
    CHILD_CHECK(r != NULL && response_completed(r) == 1 && response_error_code(r) == -186,
                "send on the inherited producer: completed %d code %d", r ? (int)response_completed(r) : -1,
                r ? (int)response_error_code(r) : 0);
    response_free(r);
    CHILD_CHECK(producer_flush(parents, 1000) == -186, "flush on the inherited producer");
    CHILD_CHECK(producer_close(parents, 1000) == -186, "close on the inherited producer");
    int64_t t0 = now_ms();
    producer_free(parents);
    CHILD_CHECK(now_ms() - t0 < 1000, "producer_free on the inherited producer took %lld ms",
                (long long)(now_ms() - t0));
    fprintf(stderr, "fork: child %ld delivered %zu messages with its own producer (%d failures)\n",
            (long)getpid(), n, bad);
    return bad == 0 ? 0 : 1;
#undef CHILD_CHECK
}

/* What a child inherits and never frees (the parent's producer and Response arrays), and
   the third child's producer and Response, left open at exit on purpose. Globals with
   external linkage, so the compiler keeps the stores and leak checkers see them reachable
   in the children, where only the parent's code would free them. */
Producer *p;
Response **r, **during;
Producer *left_open;
Response *one;

static void check_child(pid_t pid, const char *what) {
    int status = 0;
    pid_t w = waitpid(pid, &status, 0);
    if (!CHECK(w == pid, "%s: waitpid", what)) return;
    if (WIFSIGNALED(status)) {
        CHECK(0, "%s: killed by signal %d%s", what, WTERMSIG(status),
              WTERMSIG(status) == SIGALRM ? " (hung: alarm)" : "");
    } else {
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: exit status %d", what, WEXITSTATUS(status));
    }
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s BROKERS TOPIC N\n", argv[0]);
        return 2;
    }
    const char *brokers = argv[1], *topic = argv[2];
    size_t n = (size_t)strtoul(argv[3], NULL, 10);
    if (n == 0) return 2;
    r = calloc(n, sizeof *r);
    during = calloc(n, sizeof *during);
    if (r == NULL || during == NULL) return 2;

    p = make_producer(brokers);
    if (!CHECK(p != NULL, "parent build")) return CHECK_SUMMARY("fork");
    int32_t err = 0;
    CHECK(send_n(p, topic, "before", r, n) == 0, "sends returned NULL");
    size_t failed = wait_delivered(r, n, &err);
    CHECK(failed == 0, "before fork: %zu of %zu not delivered (first code %d)", failed, n, (int)err);

    /* Pending at the fork: P's thread has work when the child is made. */
    CHECK(send_n(p, topic, "pending", r, n) == 0, "sends returned NULL");
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        exit(child_main(brokers, topic, p, n));
    }
    if (!CHECK(child > 0, "fork failed")) return CHECK_SUMMARY("fork");

    /* The parent goes on while the child works. */
    CHECK(send_n(p, topic, "during", during, n) == 0, "sends returned NULL");
    failed = wait_delivered(r, n, &err);
    CHECK(failed == 0, "messages pending at the fork: %zu of %zu not delivered (first code %d)", failed, n,
          (int)err);
    failed = wait_delivered(during, n, &err);
    CHECK(failed == 0, "sent while the child ran: %zu of %zu not delivered (first code %d)", failed, n, (int)err);
    check_child(child, "child with its own producer");

    /* A child that leaves at once, and one that exits with its own producer still open. */
    fflush(NULL);
    pid_t quick = fork();
    if (quick == 0) _exit(0);
    if (CHECK(quick > 0, "fork failed")) check_child(quick, "child that calls _exit at once");
    fflush(NULL);
    pid_t open_at_exit = fork();
    if (open_at_exit == 0) {
        alarm(CHILD_ALARM_S);
        /* Left open on purpose; kept in globals, reachable for leak checkers. */
        left_open = make_producer(brokers);
        one = left_open ? producer_send(left_open, topic, "open", 4, "left open at exit", 17) : NULL;
        int ok = one != NULL && response_wait(one, 30000) == 1 && response_success(one) == 1;
        exit(ok ? 0 : 1); /* no close, no free: exit must not hang */
    }
    if (CHECK(open_at_exit > 0, "fork failed")) check_child(open_at_exit, "child that exits with a producer open");

    /* After the children: the parent's producer still delivers. */
    CHECK(send_n(p, topic, "after", r, n) == 0, "sends returned NULL");
    CHECK(producer_flush(p, 30000) == 0, "flush after the children exited");
    failed = wait_delivered(r, n, &err);
    CHECK(failed == 0, "after the children: %zu of %zu not delivered (first code %d)", failed, n, (int)err);
    CHECK(producer_close(p, 10000) == 0, "close");
    producer_free(p);
    free(r);
    free(during);
    return CHECK_SUMMARY("fork");
}
