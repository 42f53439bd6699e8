/*
 * librdkafka's mock cluster as a broker for the benchmark (bench/bench.py, broker kind
 * "mock"): the transactional rows need a broker with a transaction coordinator that
 * commits, and tansu 0.6.0 has no EndTxn.
 *
 *   mock-cluster [BROKERS]      (3)
 *
 * Starts a mock cluster of BROKERS brokers (ids 1..BROKERS, one thread for them all) on
 * loopback, prints its bootstrap servers on one line to stdout, then reads commands from
 * stdin, one a line, and answers each with one line:
 *
 *   topic NAME PARTITIONS   creates NAME with PARTITIONS partitions replicated on every
 *                           broker (up to 3), partition p led by broker p % BROKERS + 1, so
 *                           the leaders are spread as on a real cluster (the mock's own
 *                           assignment would put every leader on broker 1)   -> "ok NAME"
 *                                                                          or "error ..."
 *
 * It stops when stdin closes or on SIGTERM / SIGINT: the cluster is destroyed (its
 * listeners closed, its thread joined) and it exits 0.
 *
 * The mock also creates a topic that a client asks Metadata for (4 partitions, all led by
 * broker 1); bench.py creates its topics first. Each partition keeps at most 100,000
 * message sets or 5 MiB of them (the oldest are dropped), so memory stays bounded.
 *
 * Linked like c-tests/mock_faults.c: Debian's librdkafka-dev headers, the librdkafka
 * inside the confluent-kafka wheel ($RDKAFKA_LIB).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stopping;

static void on_signal(int sig) {
    (void)sig;
    stopping = 1;
}

static rd_kafka_mock_cluster_t *mc;
static int brokers = 3;

/* One command line; answers on stdout. */
static void command(char *line) {
    char name[256];
    int partitions;
    if (sscanf(line, "topic %255s %d", name, &partitions) == 2 && partitions > 0) {
        int replicas = brokers < 3 ? brokers : 3;
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, partitions, replicas);
        for (int p = 0; e == 0 && p < partitions; p++) e = rd_kafka_mock_partition_set_leader(mc, name, p, p % brokers + 1);
        if (e == 0) printf("ok %s\n", name);
        else printf("error %s: %s\n", name, rd_kafka_err2name(e));
    } else {
        line[strcspn(line, "\n")] = '\0';
        printf("error unknown command: %s\n", line);
    }
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc > 2 || (argc == 2 && (brokers = atoi(argv[1])) < 1)) {
        fprintf(stderr, "usage: %s [BROKERS]\n", argv[0]);
        return 2;
    }

    /* Block the stop signals before librdkafka makes its threads (they inherit the mask), so
     * that they arrive only while the main thread waits in ppoll below. */
    sigset_t stop_signals, waiting_mask;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigprocmask(SIG_BLOCK, &stop_signals, &waiting_mask);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "log_level", "4", err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "mock-cluster: %s\n", err);
        return 2;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk == NULL) {
        fprintf(stderr, "mock-cluster: rd_kafka_new: %s\n", err);
        return 2;
    }
    mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (mc == NULL) {
        fprintf(stderr, "mock-cluster: rd_kafka_mock_cluster_new(%d) failed\n", brokers);
        rd_kafka_destroy(rk);
        return 2;
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    char line[1024];
    size_t have = 0;
    while (!stopping) {
        struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
        int n = ppoll(&pfd, 1, NULL, &waiting_mask); /* the stop signals arrive only here */
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("mock-cluster: ppoll");
            break;
        }
        ssize_t got = read(STDIN_FILENO, line + have, sizeof line - 1 - have);
        if (got <= 0) break; /* stdin closed (or failed): stop */
        have += (size_t)got;
        line[have] = '\0';
        char *start = line, *nl;
        while ((nl = strchr(start, '\n')) != NULL) {
            *nl = '\0';
            command(start);
            start = nl + 1;
        }
        have = strlen(start);
        memmove(line, start, have + 1);
        if (have == sizeof line - 1) { /* a line too long for the buffer */
            command(line);
            have = 0;
        }
    }

    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
