/* The header alone, as strict ISO C11 (-std=c11 -pedantic-errors): nothing but its own includes. */
#include "ablkafka.h"

/* Every declaration is usable: take each function's address. */
static void (*const functions[])(void) = {
    (void (*)(void))producer_builder_new, (void (*)(void))producer_builder_set_option,
    (void (*)(void))producer_builder_last_error, (void (*)(void))producer_builder_build,
    (void (*)(void))producer_builder_free, (void (*)(void))producer_send, (void (*)(void))producer_flush,
    (void (*)(void))producer_close, (void (*)(void))producer_free, (void (*)(void))response_completed,
    (void (*)(void))response_wait, (void (*)(void))response_success, (void (*)(void))response_error_code,
    (void (*)(void))response_error_message, (void (*)(void))response_offset, (void (*)(void))response_partition,
    (void (*)(void))response_timestamp, (void (*)(void))response_topic, (void (*)(void))response_free, (void (*)(void))ablkafka_err2str,
    (void (*)(void))ablkafka_err2name, (void (*)(void))ablkafka_version,
};

int header_c11_function_count(void);
int header_c11_function_count(void) { return (int)(sizeof functions / sizeof functions[0]); }
