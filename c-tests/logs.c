/* What the producer tells its operator (issue 15): log lines, polled or on stderr.
 *
 *   logs BROKERS TOPIC SCRATCH_DIR [RECORDS FLUSH_SECONDS]
 *
 * - A broker that refuses connections (127.0.0.1:1): with log.queue=true a level-3 FAIL line
 *   naming the broker and the reason is polled within one connect attempt, and nothing
 *   reaches stderr; without it, the same line is on stderr in librdkafka's format.
 * - debug=msg,protocol against BROKERS: Produce request and response lines; an unknown
 *   debug context is refused, listing the valid ones.
 * - debug=conf: the configuration dump, the password redacted; a consumer property's
 *   CONFWARN line at level 4.
 * - A queue never drained while each of RECORDS records (default 20,000) makes several
 *   lines keeps at most 10,000 and says how many it dropped: more than RECORDS; their
 *   flush returns 0 within FLUSH_SECONDS (default 60; valgrind needs longer). */
#include "common.h"

#include <fcntl.h>
#include <unistd.h>

#define DEAD "127.0.0.1:1"

/* Redirects fd 2 to `path` until restore_stderr. */
static int capture_stderr(const char *path) {
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
        dup2(fd, 2);
        close(fd);
    }
    return saved;
}

static void restore_stderr(int saved) {
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
}

static long file_text(const char *path, char *buf, size_t len) {
    FILE *f = fopen(path, "r");
    if (f == NULL) return -1;
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
    return (long)n;
}

/* Polls until a line at `level` containing both needles is read, or `ms` pass. Counts
 * the lines read in *lines (if not NULL). */
static int poll_for(Producer *p, int level, const char *needle, const char *needle2, int ms, int *lines) {
    char line[4096];
    for (int64_t end = now_ms() + ms; now_ms() < end;) {
        int32_t got = producer_log_next(p, line, sizeof line);
        if (got == 0) {
            sleep_ms(10);
            continue;
        }
        if (lines) ++*lines;
        if (got == level && strstr(line, needle) && (needle2 == NULL || strstr(line, needle2))) return 1;
    }
    return 0;
}

static void dead_broker_case(const char *scratch) {
    char path[512], text[65536];
    snprintf(path, sizeof path, "%s/logs-stderr-queue.txt", scratch);
    int saved = capture_stderr(path);
    Producer *p = producer_with(DEAD, (const char *const[]){"log.queue", "true", "reconnect.backoff.ms", "1000", NULL});
    int found = p != NULL && poll_for(p, 3, "FAIL: " DEAD "/bootstrap", "refused", 5000, NULL);
    if (p) producer_free(p);
    restore_stderr(saved);
    CHECK(found, "log.queue: a level-3 FAIL line naming " DEAD " and the refusal within 5 s");
    CHECK(file_text(path, text, sizeof text) == 0, "log.queue: nothing on stderr, got: %.300s", text);

    snprintf(path, sizeof path, "%s/logs-stderr-default.txt", scratch);
    saved = capture_stderr(path);
    p = producer_with(DEAD, (const char *const[]){"reconnect.backoff.ms", "1000", NULL});
    char line[256];
    CHECK(p != NULL && producer_log_next(p, line, sizeof line) == 0, "without log.queue nothing is kept to poll");
    sleep_ms(1500);
    if (p) producer_free(p);
    restore_stderr(saved);
    file_text(path, text, sizeof text);
    CHECK(strstr(text, "%3|") && strstr(text, "|FAIL|rdkafka#producer-") && strstr(text, DEAD "/bootstrap") && strstr(text, "refused"),
          "stderr by default, in librdkafka's format: %.300s", text);
}

static void debug_case(const char *brokers, const char *topic) {
    ProducerBuilder *b = builder_for(brokers);
    CHECK(producer_builder_set_option(b, "debug", "broker,nope") == -1, "an unknown debug context is refused");
    const char *why = producer_builder_last_error(b);
    CHECK(why && strstr(why, "nope") && strstr(why, "generic, broker, topic, metadata"), "the refusal lists the contexts: %s", or_null(why));
    set_ok(b, "debug", "msg,protocol");
    set_ok(b, "log.queue", "true");
    Producer *p = build_ok(b);
    producer_builder_free(b);
    if (p == NULL) return;
    for (int i = 0; i < 10; i++) response_free(producer_send(p, topic, "k", 1, "logged", 6));
    CHECK(producer_flush(p, 10000) == 0, "flush");
    int sent = 0, received = 0, produced = 0, delivered = 0, lines = 0;
    char line[4096];
    int32_t level;
    while ((level = producer_log_next(p, line, sizeof line)) > 0) {
        lines++;
        if (level != 7) continue;
        sent += strstr(line, "SEND: ") == line && strstr(line, "Sent ProduceRequest (v") != NULL;
        received += strstr(line, "RECV: ") == line && strstr(line, "Received ProduceResponse (v") != NULL;
        produced += strstr(line, "PRODUCE: ") == line && strstr(line, topic) && strstr(line, "Produce MessageSet with") != NULL;
        delivered += strstr(line, "MSGSET: ") == line && strstr(line, "delivered at offset") != NULL;
    }
    CHECK(sent > 0 && received == sent && produced > 0 && delivered > 0,
          "debug=msg,protocol: %d Produce requests, %d responses, %d MessageSet and %d delivered lines of %d", sent, received, produced,
          delivered, lines);
    producer_free(p);
}

static void conf_case(const char *brokers) {
    Producer *p = producer_with(brokers, (const char *const[]){"debug", "conf", "log.queue", "true", "group.id", "a-consumer-group",
                                                                "sasl.password", "hunter2-secret", NULL});
    if (p == NULL) return;
    int dump = 0, redacted = 0, leaked = 0, warned = 0;
    char line[4096];
    int32_t level;
    while ((level = producer_log_next(p, line, sizeof line)) > 0) {
        dump += level == 7 && strstr(line, "CONF: ") == line;
        redacted += strstr(line, "sasl.password = [redacted]") != NULL;
        leaked += strstr(line, "hunter2") != NULL;
        warned += level == 4 && str_eq(line, "CONFWARN: Configuration property group.id is a consumer property and will be ignored by this producer instance");
    }
    CHECK(dump > 20 && redacted == 1 && leaked == 0, "debug=conf: %d dump lines, password redacted %d, leaked %d", dump, redacted, leaked);
    CHECK(warned == 1, "the consumer property's CONFWARN line: %d", warned);
    producer_free(p);
}

static void bounded_case(const char *brokers, const char *topic, int records, int flush_s) {
    Producer *p = producer_with(brokers, (const char *const[]){"debug", "all", "log.queue", "true", "batch.num.messages", "1",
                                                                "linger.ms", "0", NULL});
    if (p == NULL) return;
    for (int i = 0; i < records; i++) response_free(producer_send(p, topic, NULL, 0, "x", 1));
    CHECK(producer_flush(p, flush_s * 1000) == 0, "flush %d records within %d s", records, flush_s);
    char line[4096];
    int lines = 0, dropped_notes = 0;
    long long dropped = 0;
    while (producer_log_next(p, line, sizeof line) > 0) {
        if (lines++ == 0 && sscanf(line, "%*[^(](%lld older log lines dropped", &dropped) == 1) dropped_notes++;
    }
    CHECK(lines <= 10000 && lines > 9000, "an undrained queue keeps at most 10,000 lines: %d", lines);
    CHECK(dropped_notes == 1 && dropped > records, "the first line read says %lld lines were dropped (%d notes)", dropped, dropped_notes);
    producer_free(p);
}

int main(int argc, char **argv) {
    int records = argc == 6 ? atoi(argv[4]) : 20000, flush_s = argc == 6 ? atoi(argv[5]) : 60;
    if ((argc != 4 && argc != 6) || records < 1 || flush_s < 1) {
        fprintf(stderr, "usage: %s BROKERS TOPIC SCRATCH_DIR [RECORDS FLUSH_SECONDS]\n", argv[0]);
        return 2;
    }
    dead_broker_case(argv[3]);
    debug_case(argv[1], argv[2]);
    conf_case(argv[1]);
    bounded_case(argv[1], argv[2], records, flush_s);
    return CHECK_SUMMARY("logs");
}
