/*
 * Load libablkafka at run time, send one message, unload it:
 *
 *     ./dlopen 127.0.0.1:9092 my-topic [path/to/libablkafka.so]
 *
 * This is what a host with plugins (or a runtime like OpenEdge ABL) does. Nothing is
 * linked against the library: every function is looked up with dlsym. The header is
 * included only for its types (ProducerBuilder, Producer, Response).
 *
 * Close and free every producer before dlclose: a producer's background thread runs
 * the library's code. Once the last producer is closed the library runs no thread,
 * and dlclose is safe.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "ablkafka.h"

#ifndef ABLKAFKA_SO
#define ABLKAFKA_SO "libablkafka.so"
#endif

/* The library's functions, typed as the header declares them (__typeof__ references no symbol). */
static struct {
    __typeof__(&producer_builder_new) builder_new;
    __typeof__(&producer_builder_set_option) set_option;
    __typeof__(&producer_builder_last_error) last_error;
    __typeof__(&producer_builder_build) build;
    __typeof__(&producer_builder_free) builder_free;
    __typeof__(&producer_send) send;
    __typeof__(&producer_close) close;
    __typeof__(&producer_free) producer_free;
    __typeof__(&response_wait) wait;
    __typeof__(&response_success) success;
    __typeof__(&response_error_code) error_code;
    __typeof__(&response_partition) partition;
    __typeof__(&response_offset) offset;
    __typeof__(&response_free) response_free;
    __typeof__(&ablkafka_err2str) err2str;
} api;

/* ISO C has no cast from void * to a function pointer; copying the bytes is what POSIX allows. */
static int load(void *lib, const char *name, void *fn, size_t size) {
    void *sym = dlsym(lib, name);
    if (sym == NULL) {
        fprintf(stderr, "dlsym %s: %s\n", name, dlerror());
        return 0;
    }
    memcpy(fn, &sym, size);
    return 1;
}
#define LOAD(lib, field, name) load(lib, name, &api.field, sizeof api.field)

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s BROKERS TOPIC [LIBRARY]\n", argv[0]);
        return 2;
    }
    const char *path = argc == 4 ? argv[3] : ABLKAFKA_SO;
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
        return 1;
    }
    if (!(LOAD(lib, builder_new, "producer_builder_new") && LOAD(lib, set_option, "producer_builder_set_option") &&
          LOAD(lib, last_error, "producer_builder_last_error") && LOAD(lib, build, "producer_builder_build") &&
          LOAD(lib, builder_free, "producer_builder_free") && LOAD(lib, send, "producer_send") &&
          LOAD(lib, close, "producer_close") && LOAD(lib, producer_free, "producer_free") &&
          LOAD(lib, wait, "response_wait") && LOAD(lib, success, "response_success") &&
          LOAD(lib, error_code, "response_error_code") && LOAD(lib, partition, "response_partition") &&
          LOAD(lib, offset, "response_offset") && LOAD(lib, response_free, "response_free") &&
          LOAD(lib, err2str, "ablkafka_err2str"))) {
        dlclose(lib);
        return 1;
    }

    int ok = 0;
    ProducerBuilder *b = api.builder_new();
    if (api.set_option(b, "bootstrap.servers", argv[1]) != 0) {
        fprintf(stderr, "option: %s\n", api.last_error(b));
    } else {
        Producer *p = api.build(b);
        if (p == NULL) {
            fprintf(stderr, "build: %s\n", api.last_error(b));
        } else {
            const char *value = "hello from a dlopen'ed ablkafka";
            Response *r = api.send(p, argv[2], NULL, 0, value, strlen(value));
            if (api.wait(r, 10000) == 1 && api.success(r)) {
                printf("delivered to partition %d at offset %lld\n", api.partition(r), (long long)api.offset(r));
                ok = 1;
            } else {
                printf("failed: %s\n", api.err2str(api.error_code(r)));
            }
            api.response_free(r);
            api.close(p, 5000); /* stops and joins the producer's thread */
            api.producer_free(p);
        }
    }
    api.builder_free(b);
    if (dlclose(lib) != 0) {
        fprintf(stderr, "dlclose: %s\n", dlerror());
        return 1;
    }
    return ok ? 0 : 1;
}
