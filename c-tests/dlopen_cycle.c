/*
 * dlopen_cycle BROKERS TOPIC [LIBRARY]
 *
 * Five times: dlopen the library, look up its functions, build a producer, deliver a
 * few messages, close and free it, check that the process has no more threads than
 * before the library was loaded (counting /proc/self/task), dlclose. No -lablkafka:
 * the library is only ever loaded with dlopen. The messages are lz4-compressed and the
 * first is big enough (40 KiB) for its batch to be compressed on a helper thread of
 * the producer's runtime, which close must join too.
 *
 * glibc does not unmap a library while a thread it registered a thread-local
 * destructor on is alive, and Rust's std::thread::spawn registers one on the calling
 * thread; so after dlclose on the main thread the library stays mapped (harmlessly:
 * it runs no thread). So first, round 0 runs on a helper thread that then exits;
 * after that the last reference goes and the library must really be unloaded. Then
 * a fork: had the library left its pthread_atfork handler behind in unmapped memory,
 * the fork would crash. Then the five rounds on the main thread.
 */
#include "common.h"

#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef ABLKAFKA_SO
#define ABLKAFKA_SO "libablkafka.so"
#endif

#define CYCLES 5
#define MESSAGES 20
/* Over the size from which a batch is compressed on a helper thread (32 KiB). */
#define BIG_VALUE (40 * 1024)

static struct {
    __typeof__(&producer_builder_new) builder_new;
    __typeof__(&producer_builder_set_option) set_option;
    __typeof__(&producer_builder_last_error) last_error;
    __typeof__(&producer_builder_build) build;
    __typeof__(&producer_builder_free) builder_free;
    __typeof__(&producer_send) send;
    __typeof__(&producer_flush) flush;
    __typeof__(&producer_close) close;
    __typeof__(&producer_free) producer_free;
    __typeof__(&response_wait) wait;
    __typeof__(&response_success) success;
    __typeof__(&response_offset) offset;
    __typeof__(&response_free) response_free;
    __typeof__(&ablkafka_version) version;
} api;

static int load(void *lib, const char *name, void *fn, size_t size) {
    void *sym = dlsym(lib, name);
    if (!CHECK(sym != NULL, "dlsym %s: %s", name, dlerror())) return 0;
    memcpy(fn, &sym, size);
    return 1;
}
#define LOAD(lib, field, name) load(lib, name, &api.field, sizeof api.field)

static int threads_now(void) {
    DIR *d = opendir("/proc/self/task");
    if (d == NULL) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') n++;
    }
    closedir(d);
    return n;
}

/*
 * The thread count once it has come back to `baseline`, or after 2 s. pthread_join
 * returns when the kernel clears the thread's tid, early in its exit; the task leaves
 * /proc/self/task a little later, and on a busy 2-CPU machine the joiner can look in
 * between. A thread close failed to join lives on (a runtime helper idles for 10 s).
 */
static int threads_settled(int baseline) {
    for (int waited_ms = 0; threads_now() != baseline && waited_ms < 2000; waited_ms++) {
        struct timespec ms = {0, 1000000L};
        nanosleep(&ms, NULL);
    }
    return threads_now();
}

/* Whether the library is loaded, without keeping a reference. glibc unmaps a library
   whose unload was deferred (see above) only at a later dlclose, so look twice: the
   first look's dlclose is that later dlclose. */
static int is_mapped(const char *path) {
    int mapped = 0;
    for (int look = 0; look < 2; look++) {
        void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
        if (h != NULL) dlclose(h);
        mapped = h != NULL;
    }
    return mapped;
}

static void cycle(int round, const char *path, const char *brokers, const char *topic, int baseline) {
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!CHECK(lib != NULL, "round %d: dlopen %s: %s", round, path, dlerror())) return;
    CHECK(threads_now() == baseline, "round %d: %d threads after dlopen, %d before", round, threads_now(), baseline);
    int loaded = LOAD(lib, builder_new, "producer_builder_new") && LOAD(lib, set_option, "producer_builder_set_option") &&
                 LOAD(lib, last_error, "producer_builder_last_error") && LOAD(lib, build, "producer_builder_build") &&
                 LOAD(lib, builder_free, "producer_builder_free") && LOAD(lib, send, "producer_send") &&
                 LOAD(lib, flush, "producer_flush") && LOAD(lib, close, "producer_close") &&
                 LOAD(lib, producer_free, "producer_free") && LOAD(lib, wait, "response_wait") &&
                 LOAD(lib, success, "response_success") && LOAD(lib, offset, "response_offset") &&
                 LOAD(lib, response_free, "response_free") && LOAD(lib, version, "ablkafka_version");
    if (loaded) {
        CHECK(str_eq(api.version(), ABLKAFKA_VERSION), "round %d: version %s, header %s", round,
              or_null(api.version()), ABLKAFKA_VERSION);
        ProducerBuilder *b = api.builder_new();
        Producer *p = NULL;
        if (CHECK(b != NULL, "round %d: builder", round) &&
            CHECK(api.set_option(b, "bootstrap.servers", brokers) == 0, "round %d: option", round) &&
            CHECK(api.set_option(b, "message.timeout.ms", "30000") == 0, "round %d: option", round) &&
            CHECK(api.set_option(b, "compression.codec", "lz4") == 0, "round %d: option", round)) {
            p = api.build(b);
            CHECK(p != NULL, "round %d: build: %s", round, or_null(api.last_error(b)));
        }
        api.builder_free(b);
        if (p != NULL) {
            int running = threads_now();
            CHECK(running > baseline, "round %d: %d threads with a producer open, %d before", round, running,
                  baseline);
            Response *r[MESSAGES];
            static char value[BIG_VALUE];
            for (int i = 0; i < MESSAGES; i++) {
                int n = snprintf(value, sizeof value, "dlopen round %d message %d", round, i);
                size_t len = (size_t)n;
                if (i == 0) { /* compressible filler after the text */
                    for (len = (size_t)n; len < sizeof value; len++) value[len] = (char)('a' + len % 7);
                }
                r[i] = api.send(p, topic, NULL, 0, value, len);
            }
            int delivered = 0;
            for (int i = 0; i < MESSAGES; i++) {
                if (r[i] != NULL && api.wait(r[i], 30000) == 1 && api.success(r[i]) == 1 && api.offset(r[i]) >= 0)
                    delivered++;
            }
            CHECK(delivered == MESSAGES, "round %d: %d of %d delivered", round, delivered, MESSAGES);
            /* The big batch was compressed on a helper thread, which idles for 10 s before it ends. */
            CHECK(threads_now() > running, "round %d: %d threads after a big lz4 batch, %d before it", round,
                  threads_now(), running);
            CHECK(api.flush(p, 10000) == 0, "round %d: flush", round);
            CHECK(api.close(p, 10000) == 0, "round %d: close", round);
            /* close joined the producer's thread (and the runtime's helpers): back to where we were. */
            int after_close = threads_settled(baseline);
            CHECK(after_close == baseline, "round %d: %d threads after close, %d before dlopen", round, after_close,
                  baseline);
            api.producer_free(p);
            /* Responses outlive the producer; free them last. */
            for (int i = 0; i < MESSAGES; i++) api.response_free(r[i]);
        }
    }
    CHECK(threads_now() == baseline, "round %d: %d threads before dlclose, %d before dlopen", round, threads_now(),
          baseline);
    CHECK(dlclose(lib) == 0, "round %d: dlclose: %s", round, dlerror());
    CHECK(threads_now() == baseline, "round %d: %d threads after dlclose, %d before dlopen", round, threads_now(),
          baseline);
    fprintf(stderr, "dlopen_cycle: round %d done; the library is %s after dlclose\n", round,
            is_mapped(path) ? "still mapped (a thread-local destructor of this thread's is registered)" : "unloaded");
}

typedef struct {
    const char *path, *brokers, *topic;
    int baseline;
} cycle_args;

static void *cycle_on_thread(void *arg) {
    cycle_args *a = arg;
    /* This thread itself counts while it runs. */
    cycle(0, a->path, a->brokers, a->topic, a->baseline + 1);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s BROKERS TOPIC [LIBRARY]\n", argv[0]);
        return 2;
    }
    const char *path = argc == 4 ? argv[3] : ABLKAFKA_SO;
    int baseline = threads_now();
    if (!CHECK(baseline >= 1, "cannot count /proc/self/task")) return CHECK_SUMMARY("dlopen_cycle");

    /* Round 0 on a helper thread that then exits: afterwards nothing pins the library
       (is_mapped's dlclose drops the last reference) and it must be unmapped. */
    cycle_args a = {path, argv[1], argv[2], baseline};
    pthread_t helper;
    if (CHECK(pthread_create(&helper, NULL, cycle_on_thread, &a) == 0, "pthread_create")) {
        pthread_join(helper, NULL);
    }
    int after_helper = threads_settled(baseline);
    CHECK(after_helper == baseline, "%d threads after round 0, %d at the start", after_helper, baseline);
    int mapped = is_mapped(path);
    CHECK(!mapped, "the library is still mapped after its last dlclose, with the thread that used it gone");
    fprintf(stderr, "dlopen_cycle: after round 0 on an exited thread the library is %s\n",
            mapped ? "still mapped" : "unloaded");

    /* A fork after the library is gone must not run anything it left behind. */
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) _exit(0);
    int status = 0;
    if (CHECK(child > 0, "fork") && CHECK(waitpid(child, &status, 0) == child, "waitpid")) {
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child after dlclose: status %d (signal %d)", status,
              WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }

    /* The five rounds the issue asks for, on the main thread as a host would. */
    for (int round = 1; round <= CYCLES; round++) cycle(round, path, argv[1], argv[2], baseline);
    CHECK(threads_now() == baseline, "%d threads at the end, %d at the start", threads_now(), baseline);
    return CHECK_SUMMARY("dlopen_cycle");
}
