"""libablkafka through ctypes, for the Python checks: each C function they call declared
once, with the header's types (include/ablkafka.h).

    import ablkafka_lib
    lib = ablkafka_lib.load("target/release/libablkafka.so")
"""

import ctypes

HANDLE, TEXT, BUFFER = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p
I32, I64, SIZE = ctypes.c_int32, ctypes.c_int64, ctypes.c_size_t

# name: (return type, argument types)
SIGNATURES = {
    "producer_builder_new": (HANDLE, []),
    "producer_builder_set_option": (I32, [HANDLE, TEXT, TEXT]),
    "producer_builder_get_option": (I64, [HANDLE, TEXT, BUFFER, SIZE]),
    "producer_builder_last_error": (TEXT, [HANDLE]),
    "producer_builder_build": (HANDLE, [HANDLE]),
    "producer_builder_free": (None, [HANDLE]),
    "producer_send": (HANDLE, [HANDLE, TEXT, TEXT, SIZE, TEXT, SIZE]),
    "producer_send_no_receipt": (I32, [HANDLE, TEXT, TEXT, SIZE, TEXT, SIZE]),
    "producer_no_receipt_failures": (I64, [HANDLE]),
    "producer_flush": (I32, [HANDLE, I32]),
    "producer_statistics": (SIZE, [HANDLE, BUFFER, SIZE]),
    "producer_close": (I32, [HANDLE, I32]),
    "producer_free": (None, [HANDLE]),
    "response_wait": (I32, [HANDLE, I32]),
    "response_error_code": (I32, [HANDLE]),
    "response_error_message": (TEXT, [HANDLE]),
    "response_free": (None, [HANDLE]),
    "producer_init_transactions": (I32, [HANDLE, I32]),
    "producer_begin_transaction": (I32, [HANDLE]),
    "producer_commit_transaction": (I32, [HANDLE, I32]),
    "producer_abort_transaction": (I32, [HANDLE, I32]),
    "producer_transaction_error_class": (I32, [HANDLE]),
    "producer_transaction_error_message": (SIZE, [HANDLE, BUFFER, SIZE]),
}


def load(path):
    """The library at `path`, with every function of SIGNATURES declared."""
    lib = ctypes.CDLL(path)
    for name, (restype, argtypes) in SIGNATURES.items():
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes
    return lib
