/*
 * version CARGO_VERSION
 *
 * The three places the version lives agree: Cargo.toml (passed in by the caller, read
 * from the manifest), ABLKAFKA_VERSION in the header, and ablkafka_version() in the
 * library this program is linked with.
 */
#include "common.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CARGO_VERSION\n", argv[0]);
        return 2;
    }
    const char *cargo = argv[1];
    const char *lib = ablkafka_version();
    CHECK(str_eq(ABLKAFKA_VERSION, cargo), "ABLKAFKA_VERSION is %s, Cargo.toml says %s", ABLKAFKA_VERSION, or_null(cargo));
    CHECK(str_eq(lib, cargo), "ablkafka_version() is %s, Cargo.toml says %s", or_null(lib), or_null(cargo));
    CHECK(lib == ablkafka_version(), "ablkafka_version() is not one static string");
    fprintf(stderr, "version: Cargo.toml %s, header %s, library %s\n", cargo, ABLKAFKA_VERSION, or_null(lib));
    return CHECK_SUMMARY("version");
}
