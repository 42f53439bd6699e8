// The header from C++ (g++ -std=c++11 -Wall -Wextra -Wpedantic -Werror): it declares
// the functions extern "C", so this links against the library and calls it.
#include "ablkafka.h"

#include <cstdio>
#include <cstring>
#include <string>

int main() {
    int failed = 0, passed = 0;
    auto check = [&](bool ok, const char *what) {
        if (ok) {
            ++passed;
        } else {
            ++failed;
            std::fprintf(stderr, "FAIL header_cpp: %s\n", what);
        }
    };
    check(std::string(ablkafka_version()) == ABLKAFKA_VERSION, "ablkafka_version() == ABLKAFKA_VERSION");
    ProducerBuilder *b = producer_builder_new();
    check(b != nullptr, "producer_builder_new");
    check(producer_builder_set_option(b, "linger.ms", "5") == 0, "set_option linger.ms");
    check(producer_builder_set_option(b, "no.such.option", "1") == -2, "unknown option gives -2");
    const char *err = producer_builder_last_error(b);
    check(err != nullptr && std::strstr(err, "no.such.option") != nullptr, "last_error names the option");
    Producer *p = producer_builder_build(b);  // no bootstrap.servers: refused
    check(p == nullptr, "build without bootstrap.servers fails");
    producer_builder_free(b);
    Response *r = producer_send(nullptr, "t", nullptr, 0, nullptr, 0);
    check(r != nullptr && response_error_code(r) == -186, "send on NULL gives a -186 Response");
    response_free(r);
    check(std::string(ablkafka_err2name(-192)) == "_MSG_TIMED_OUT", "err2name(-192)");
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
