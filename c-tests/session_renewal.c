/*
 * session_renewal MODE BROKERS TOPIC SECONDS [NAME=VALUE...]
 *
 * KIP-368: a broker that limits SASL sessions (SaslAuthenticate v1 answers with a session
 * lifetime) wants the client to authenticate again before the session ends. An idempotent
 * producer (linger.ms=0) sends one record every 50 ms for SECONDS (more than the lifetime)
 * and checks, in either MODE, that every Response succeeds and that each partition's
 * offsets increase in send order (no record overtook one still in flight across a
 * renewal). MODE says how the renewal must be seen on the broker's port:
 *
 *   reconnect  against tansu 0.6.0 itself (secure broker T3, 60 s sessions, SECONDS 70):
 *              the connections open at the start (~3 s) are all gone by the end,
 *              replaced by new ones, and no more than two are open at any sample
 *              (bootstrap + leader: none leaked). tansu 0.6.0 refuses an in-band
 *              re-authentication (a second SaslHandshake on an authenticated connection is
 *              answered UNSUPPORTED_SASL_MECHANISM and leaves the connection
 *              unauthenticated), so the library falls back to closing the connection and
 *              opening a new one: that fallback is what this mode sees.
 *   in-band    against scripts/fault_proxy.py --fault reauth --enforce-lifetime in front of
 *              a SASL tansu (secure broker T5, SASL_REAUTH_BOOTSTRAP: 2 s sessions, a
 *              connection whose session expired is closed on its next request, an in-band
 *              re-authentication carried over to a new upstream connection by the proxy;
 *              SECONDS 12): with log.queue=true and debug=broker, the log drained as it
 *              goes, every connection open at ~1 s is still open at the end (renewed on
 *              the same connection, KIP-368 as Kafka's own client does it), never more
 *              connections at once than at that first sample, and at least SECONDS/2 - 2
 *              log lines "REAUTH: ... re-authenticated on the same connection".
 *
 * Connections are read from /proc/self/fd and /proc/self/net/tcp{,6}: sockets of this
 * process connected to the broker's port. The options give security.protocol and the
 * SASL credentials.
 */
#include "common.h"

#include <dirent.h>
#include <inttypes.h>
#include <unistd.h>

#define MAX_SOCKETS 64

/* Inodes of this process's TCP sockets whose remote port is `port`. */
static int broker_sockets(unsigned port, unsigned long *inodes) {
    unsigned long remote_inodes[1024];
    int n_remote = 0;
    const char *tables[] = {"/proc/self/net/tcp", "/proc/self/net/tcp6"};
    for (int t = 0; t < 2; t++) {
        FILE *f = fopen(tables[t], "r");
        if (f == NULL) continue;
        char line[512];
        if (fgets(line, sizeof line, f) == NULL) { fclose(f); continue; }
        while (fgets(line, sizeof line, f) != NULL && n_remote < 1024) {
            char local[128], remote[128];
            unsigned state;
            unsigned long inode;
            if (sscanf(line, "%*d: %127s %127s %x %*s %*s %*s %*s %*s %lu", local, remote, &state, &inode) != 4) continue;
            char *colon = strrchr(remote, ':');
            if (colon != NULL && strtoul(colon + 1, NULL, 16) == port && state == 1 /* ESTABLISHED */) {
                remote_inodes[n_remote++] = inode;
            }
        }
        fclose(f);
    }
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < MAX_SOCKETS) {
        char path[300], target[128];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(path, target, sizeof target - 1);
        if (len <= 0) continue;
        target[len] = '\0';
        unsigned long inode;
        if (sscanf(target, "socket:[%lu]", &inode) != 1) continue;
        for (int r = 0; r < n_remote; r++) {
            if (remote_inodes[r] == inode) inodes[n++] = inode;
        }
    }
    closedir(d);
    return n;
}

static int contains(const unsigned long *set, int n, unsigned long x) {
    for (int i = 0; i < n; i++) if (set[i] == x) return 1;
    return 0;
}

/* The log lines taken so far (log.queue=true), and how many say an in-band
 * re-authentication succeeded. */
static int log_lines, reauth_lines;

static void drain_log(Producer *p) {
    char line[4096];
    while (producer_log_next(p, line, sizeof line) > 0) {
        log_lines++;
        if (strstr(line, "REAUTH") != NULL && strstr(line, "re-authenticated on the same connection") != NULL) {
            if (reauth_lines < 3) printf("session_renewal: log: %s\n", line);
            reauth_lines++;
        }
    }
}

int main(int argc, char **argv) {
    if (argc < 5 || (strcmp(argv[1], "in-band") != 0 && strcmp(argv[1], "reconnect") != 0)) {
        fprintf(stderr, "usage: %s in-band|reconnect BROKERS TOPIC SECONDS [NAME=VALUE...]\n", argv[0]);
        return 2;
    }
    const int in_band = strcmp(argv[1], "in-band") == 0;
    const char *brokers = argv[2], *topic = argv[3];
    int seconds = atoi(argv[4]);
    const char *colon = strrchr(brokers, ':');
    unsigned port = colon ? (unsigned)atoi(colon + 1) : 9092;
    ProducerBuilder *b = builder_for(brokers);
    set_ok(b, "enable.idempotence", "true");
    set_ok(b, "linger.ms", "0");
    if (in_band) {
        set_ok(b, "log.queue", "true");
        set_ok(b, "debug", "broker");
    }
    for (int a = 5; a < argc; a++) {
        char *eq = strchr(argv[a], '=');
        if (eq == NULL) { fprintf(stderr, "option %s is not NAME=VALUE\n", argv[a]); return 2; }
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(eq - argv[a]), argv[a]);
        set_ok(b, name, eq + 1);
    }
    Producer *p = build_ok(b);
    producer_builder_free(b);
    if (p == NULL) return CHECK_SUMMARY("session_renewal");

    /* The first sample: at ~1 s for 2 s sessions (before any renewal is due), at ~3 s
     * for tansu's 60 s ones (after the start-up's connections have settled). */
    const int64_t first_sample_ms = in_band ? 900 : 3000;
    size_t capacity = (size_t)seconds * 20 + 16, sent = 0;
    Response **responses = calloc(capacity, sizeof *responses);
    unsigned long first[MAX_SOCKETS], now[MAX_SOCKETS];
    int n_first = -1, most = 0;
    int64_t start = now_ms();
    while (now_ms() - start < (int64_t)seconds * 1000 && sent < capacity) {
        char value[64];
        int len = snprintf(value, sizeof value, "record %zu", sent);
        responses[sent++] = producer_send(p, topic, "k", 1, value, (size_t)len);
        sleep_ms(50);
        if (in_band) drain_log(p);
        if (sent % 20 == 0) { /* once a second */
            int n = broker_sockets(port, now);
            most = n > most ? n : most;
            if (n_first < 0 && now_ms() - start > first_sample_ms) {
                n_first = n;
                memcpy(first, now, sizeof first);
                printf("session_renewal: %d connection(s) to port %u at %lld ms\n", n, port, (long long)(now_ms() - start));
            }
        }
    }
    CHECK(producer_flush(p, 30000) == 0, "flush did not complete");
    if (in_band) drain_log(p);
    int n_last = broker_sockets(port, now);
    int survivors = 0;
    for (int i = 0; i < n_first; i++) survivors += contains(now, n_last, first[i]);
    printf("session_renewal: %d connection(s) at the end, %d of the first %d still open, at most %d at once\n", n_last, survivors,
           n_first, most);
    CHECK(n_first > 0, "no connection to the broker's port was seen");
    CHECK(n_last > 0, "no connection at the end");
    if (in_band) {
        int want = seconds / 2 - 2;
        printf("session_renewal: %d log line(s) saying REAUTH ... re-authenticated on the same connection (of %d), "
               "want at least %d\n",
               reauth_lines, log_lines, want);
        CHECK(survivors == n_first, "%d of the %d connection(s) open at the first sample were replaced, not re-authenticated in-band",
              n_first - survivors, n_first);
        CHECK(most <= n_first, "%d connections at once, %d at the first sample: renewed by opening new ones", most, n_first);
        CHECK(reauth_lines >= want, "%d REAUTH \"re-authenticated on the same connection\" log line(s), want at least %d",
              reauth_lines, want);
    } else {
        CHECK(survivors == 0, "%d connection(s) outlived the 60 s SASL session", survivors);
        CHECK(most <= 2, "%d connections at once: old ones leaked", most);
    }

    size_t delivered = 0, in_order = 1;
    int64_t last_offset = -1;
    for (size_t i = 0; i < sent; i++) {
        if (responses[i] != NULL && response_success(responses[i])) {
            delivered++;
            int64_t offset = response_offset(responses[i]);
            if (offset <= last_offset) in_order = 0;
            last_offset = offset;
        } else if (responses[i] != NULL && delivered == i) {
            fprintf(stderr, "record %zu failed: %d %s\n", i, response_error_code(responses[i]),
                    or_null(response_error_message(responses[i])));
        }
        response_free(responses[i]);
    }
    free(responses);
    printf("session_renewal: %zu of %zu delivered over %d s\n", delivered, sent, seconds);
    CHECK(delivered == sent, "%zu of %zu delivered", delivered, sent);
    CHECK(in_order, "offsets are not in send order");
    producer_free(p);
    return CHECK_SUMMARY("session_renewal");
}
