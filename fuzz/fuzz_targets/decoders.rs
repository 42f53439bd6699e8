//! libFuzzer target: every broker-response parser on the same input.
//! A panic aborts the run with the input saved; `-malloc_limit_mb` in
//! scripts/fuzz.sh turns an allocation no input of libFuzzer's size could
//! justify into a failure too.
#![no_main]

use ablkafka::testing::protocol::{api_versions, init_producer_id, metadata, produce, split_response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for v in [0, api_versions::VERSION] {
        if let Ok((_, body)) = split_response(data) {
            let _ = api_versions::decode_response(body, v);
        }
        let _ = api_versions::decode_response(data, v);
    }
    for v in metadata::VERSIONS {
        let _ = metadata::decode_response(data, v);
    }
    for v in produce::VERSIONS {
        let _ = produce::decode_response(data, v);
    }
    for v in init_producer_id::VERSIONS {
        let _ = init_producer_id::decode_response(data, v);
    }
});
