//! libFuzzer target: every broker-response parser on the same input.
//! A panic aborts the run with the input saved; `-malloc_limit_mb` in
//! scripts/fuzz.sh turns an allocation no input of libFuzzer's size could
//! justify into a failure too.
#![no_main]

use ablkafka::testing::protocol::add_offsets_to_txn::AddOffsetsToTxnRequest;
use ablkafka::testing::protocol::add_partitions_to_txn::AddPartitionsToTxnRequest;
use ablkafka::testing::protocol::api_versions::ApiVersionsRequest;
use ablkafka::testing::protocol::end_txn::EndTxnRequest;
use ablkafka::testing::protocol::find_coordinator::FindCoordinatorRequest;
use ablkafka::testing::protocol::init_producer_id::InitProducerIdRequest;
use ablkafka::testing::protocol::metadata::MetadataRequest;
use ablkafka::testing::protocol::produce::{ProduceRequest, RawBatch};
use ablkafka::testing::protocol::sasl_authenticate::SaslAuthenticateRequest;
use ablkafka::testing::protocol::sasl_handshake::SaslHandshakeRequest;
use ablkafka::testing::protocol::txn_offset_commit::TxnOffsetCommitRequest;
use ablkafka::testing::protocol::{decode_response, split_response, Request};
use libfuzzer_sys::fuzz_target;

/// `data` as the answer to `R` in every version it speaks, as the
/// connection reads answers (response header included).
fn decode_as<R: Request>(data: &[u8]) {
    for v in R::VERSIONS {
        let _ = decode_response::<R>(data, v);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok((_, body)) = split_response(data) {
        decode_as::<ApiVersionsRequest>(body);
    }
    decode_as::<ApiVersionsRequest>(data);
    decode_as::<MetadataRequest>(data);
    decode_as::<ProduceRequest<RawBatch>>(data);
    decode_as::<InitProducerIdRequest>(data);
    decode_as::<SaslHandshakeRequest>(data);
    decode_as::<SaslAuthenticateRequest>(data);
    decode_as::<FindCoordinatorRequest>(data);
    decode_as::<AddPartitionsToTxnRequest>(data);
    decode_as::<AddOffsetsToTxnRequest>(data);
    decode_as::<TxnOffsetCommitRequest>(data);
    decode_as::<EndTxnRequest>(data);
});
