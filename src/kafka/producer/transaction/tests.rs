//! The transaction calls against a broker that answers no coordinator
//! request (the scripted TestBroker): bounded waits, a call that must be
//! called again, and a close that ends a waiting call at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::error::ErrorClass;
use crate::kafka::client::test_broker::{Script, TestBroker};
use crate::kafka::config::ConfigBuilder;
use crate::kafka::error::ErrorCode;
use crate::kafka::producer::Producer;

fn transactional(address: &str) -> Arc<Producer> {
    let mut builder = ConfigBuilder::new();
    builder.set("bootstrap.servers", address).unwrap();
    builder.set("transactional.id", "t").unwrap();
    Arc::new(Producer::start(builder.build().unwrap()).unwrap())
}

#[tokio::test(flavor = "current_thread")]
async fn init_against_a_silent_coordinator_times_out_retriably_and_must_be_called_again() {
    let broker = TestBroker::start(Script::default()).await;
    let producer = transactional(&broker.address);
    let calling = Arc::clone(&producer);
    let (error, took) = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        (calling.init_transactions(Some(Duration::from_millis(300))).unwrap_err(), started.elapsed())
    })
    .await
    .unwrap();
    assert_eq!((error.code, error.class), (ErrorCode::TIMED_OUT, Some(ErrorClass::Retriable)), "{error:?}");
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(5), "bounded by its timeout: {took:?}");
    let conflict = producer.begin_transaction().unwrap_err();
    assert_eq!(conflict.code, ErrorCode::CONFLICT, "init must be called again first: {conflict:?}");
    assert_eq!(producer.transaction_error().map(|e| e.code), Some(ErrorCode::CONFLICT));
    producer.close(Some(Duration::from_secs(5)));
}

#[tokio::test(flavor = "current_thread")]
async fn a_close_ends_a_waiting_call_at_once_and_later_calls_are_refused() {
    let broker = TestBroker::start(Script::default()).await;
    let producer = transactional(&broker.address);
    let calling = Arc::clone(&producer);
    let waiting = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        (calling.init_transactions(Some(Duration::from_secs(60))).unwrap_err(), started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let closing = Arc::clone(&producer);
    tokio::task::spawn_blocking(move || closing.close(Some(Duration::from_secs(5)))).await.unwrap();
    let (error, took) = waiting.await.unwrap();
    assert_eq!(error.code, ErrorCode::DESTROY, "{error:?}");
    assert!(took < Duration::from_secs(10), "ended by the close, not its 60 s: {took:?}");
    assert_eq!(producer.init_transactions(None).unwrap_err().code, ErrorCode::DESTROY, "a closed producer takes no call");
}
