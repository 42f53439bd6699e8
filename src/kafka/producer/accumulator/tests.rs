//! Tests of the accumulator: partition choice, linger, slots, sequences and
//! producer ids, expiry, forgotten topics.

use super::take_due::DueBatches;
use super::*;
use crate::kafka::config::ConfigBuilder;
use crate::kafka::partitioner::Partitioner;
use crate::kafka::protocol::record_batch::ProducerIdentity;
use crate::kafka::protocol::record_headers::NO_HEADERS;

/// A record without headers or a chosen partition.
fn record<'a>(key: Option<&'a [u8]>, value: Option<&'a [u8]>, timestamp: i64) -> Outgoing<'a> {
    Outgoing { key, value, headers: NO_HEADERS, partition: None, timestamp }
}

fn accumulator(options: &[(&str, &str)]) -> Accumulator {
    let mut b = ConfigBuilder::new();
    b.set("bootstrap.servers", "127.0.0.1:1").unwrap();
    for (k, v) in options {
        b.set(k, v).unwrap();
    }
    Accumulator::new(Arc::new(b.build().unwrap()), Arc::new(QueueGauge::default()), Arc::default(), 12345)
}

/// The one batch a plan sends, in its one request, to `leader`.
fn only_batch(plan: DueBatches, leader: i32) -> Batch {
    let mut requests = plan.requests;
    assert_eq!(requests.len(), 1);
    let (to, mut batches) = requests.remove(0);
    assert_eq!((to, batches.len()), (leader, 1));
    batches.remove(0)
}

fn send(acc: &mut Accumulator, key: Option<&[u8]>, now: Instant) -> Handle {
    acc.append("t", record(key, Some(b"value"), 1), || now, true).unwrap().receipt.unwrap()
}

/// A receipt's fields read through its handle (held to the end of the test).
trait Reads {
    fn partition(&self) -> i32;
    fn error(&self) -> ErrorCode;
    fn is_completed(&self) -> bool;
}

impl Reads for Handle {
    fn partition(&self) -> i32 {
        self.read().expect("a valid handle").partition()
    }

    fn error(&self) -> ErrorCode {
        self.read().expect("a valid handle").outcome().error()
    }

    fn is_completed(&self) -> bool {
        self.read().expect("a valid handle").outcome().is_completed()
    }
}

#[test]
fn null_keys_stick_to_one_partition_per_batch_and_then_move() {
    let mut acc = accumulator(&[("batch.num.messages", "10")]);
    let now = Instant::now();
    send(&mut acc, None, now);
    assert!(acc.set_layout(&TopicLayout { topic: "t", leaders: &[(0, 1), (1, 1), (2, 1)] }, now).is_empty());
    let partitions: Vec<i32> = (0..300).map(|_| send(&mut acc, None, now).partition()).collect();
    let mut used = [0; 3];
    for chunk in partitions[9..].chunks(10) {
        assert!(chunk.iter().all(|&p| p == chunk[0]), "one batch, one partition: {chunk:?}");
        used[chunk[0] as usize] += 1;
    }
    assert!(used.iter().all(|&n| n > 0), "every partition gets batches: {used:?}");
}

#[test]
fn a_batch_full_by_bytes_moves_the_sticky_partition_too() {
    // Each record takes 14 bytes here, so batch.size=200 holds 9.
    let mut acc = accumulator(&[("batch.size", "200")]);
    let now = Instant::now();
    acc.append("t", record(None, Some(b"v"), 1), || now, true).unwrap();
    assert!(acc.set_layout(&TopicLayout { topic: "t", leaders: &[(0, 1), (1, 1), (2, 1), (3, 1)] }, now).is_empty());
    let partitions: Vec<i32> = (0..400).map(|_| send(&mut acc, None, now).partition()).collect();
    let changes = partitions.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(changes >= 20, "sticky partition moved only {changes} times");
    let plan = acc.take_due(now, true, &[]);
    let sent: usize = plan.requests.iter().flat_map(|(_, batches)| batches).map(|b| b.records.count()).sum();
    assert!(plan.requests.iter().flat_map(|(_, batches)| batches).all(|b| b.records.encoded_len() <= 200));
    assert!(sent > 0);
}

#[test]
fn keyed_records_keep_their_partition_and_plan_respects_linger() {
    let mut acc = accumulator(&[("linger.ms", "50"), ("partitioner", "murmur2_random")]);
    let now = Instant::now();
    acc.append("t", record(Some(b"k"), Some(b"v"), 1), || now, true).unwrap();
    assert!(acc.set_layout(&TopicLayout { topic: "t", leaders: &[(0, 7), (1, 7), (2, 7)] }, now).is_empty());
    let expected = crate::kafka::partitioner::Partitioner::Murmur2Random.partition(Some(b"k"), 3).unwrap() as i32;
    assert!((0..5).all(|_| send(&mut acc, Some(b"k"), now).partition() == expected));
    let early = acc.take_due(now, false, &[]);
    assert!(early.requests.is_empty(), "lingering");
    assert_eq!(early.next_due, Some(now + std::time::Duration::from_millis(50)));
    let due = acc.take_due(now + std::time::Duration::from_millis(50), false, &[]);
    let (leader, batches) = &due.requests[0];
    assert_eq!((*leader, due.requests.len()), (7, 1));
    assert_eq!((batches.len(), batches[0].records.count(), batches[0].partition), (1, 6, expected));
    assert!(acc.take_due(now + std::time::Duration::from_secs(1), true, &[]).requests.is_empty(), "one request in flight per partition");
}

#[test]
fn idempotent_batches_wait_for_an_id_then_get_consecutive_sequences() {
    let mut acc = accumulator(&[("enable.idempotence", "true"), ("batch.num.messages", "3")]);
    let now = Instant::now();
    acc.append("t", record(Some(b"k"), Some(b"v"), 1), || now, true).unwrap();
    assert!(acc.set_layout(&TopicLayout { topic: "t", leaders: &[(0, 1)] }, now).is_empty());
    for _ in 0..5 {
        send(&mut acc, Some(b"k"), now);
    }
    assert!(acc.take_due(now, true, &[]).requests.is_empty(), "nothing leaves without a producer id");
    acc.set_producer(Some((77, 2)));
    let first = only_batch(acc.take_due(now, true, &[]), 1);
    assert_eq!(first.identity, ProducerIdentity { producer_id: 77, producer_epoch: 2, base_sequence: 0, transactional: false });
    assert_eq!(first.records.count(), 3);
    // A retry under the same epoch keeps its sequence; the next batch follows it.
    acc.retry(first, now);
    acc.release_request_slot(1);
    let again = only_batch(acc.take_due(now, true, &[]), 1);
    assert_eq!(again.identity.base_sequence, 0);
    acc.partition_done("t", 0);
    acc.release_request_slot(1);
    let second = only_batch(acc.take_due(now, true, &[]), 1);
    assert_eq!(second.identity.base_sequence, 3);
    // A new epoch restarts the partition at 0 and restamps old batches.
    acc.retry(second, now);
    acc.release_request_slot(1);
    acc.set_producer(Some((78, 0)));
    let restamped = only_batch(acc.take_due(now, true, &[]), 1);
    assert_eq!(restamped.identity, ProducerIdentity { producer_id: 78, producer_epoch: 0, base_sequence: 0, transactional: false });
}

#[test]
fn a_new_producer_id_equal_to_the_old_renumbers_every_unacknowledged_batch() {
    // A broker that lost its state hands out the same id and epoch again:
    // the batch that was in flight and those queued behind it must not
    // keep sequences from before, or they would overlap.
    let mut acc = accumulator(&[("enable.idempotence", "true"), ("batch.num.messages", "3")]);
    let now = Instant::now();
    acc.append("t", record(Some(b"k"), Some(b"v"), 1), || now, true).unwrap();
    assert!(acc.set_layout(&TopicLayout { topic: "t", leaders: &[(0, 1)] }, now).is_empty());
    for _ in 0..8 {
        send(&mut acc, Some(b"k"), now);
    }
    acc.set_producer(Some((1, 0)));
    let first = only_batch(acc.take_due(now, true, &[]), 1);
    assert_eq!(first.identity.base_sequence, 0);
    acc.retry(first, now);
    acc.release_request_slot(1);
    acc.set_producer(None);
    acc.set_producer(Some((1, 0)));
    let again = only_batch(acc.take_due(now, true, &[]), 1);
    assert_eq!(again.identity, ProducerIdentity { producer_id: 1, producer_epoch: 0, base_sequence: 0, transactional: false });
    acc.partition_done("t", 0);
    acc.release_request_slot(1);
    let next = only_batch(acc.take_due(now, true, &[]), 1);
    assert_eq!(next.identity.base_sequence, 3, "numbered after the renumbered first batch, not from 0 again");
    assert_ne!(next.stamp_generation, 1, "stamped under the second id");
}

#[test]
fn only_the_current_ids_batches_can_make_it_forget_the_id() {
    let mut acc = accumulator(&[("enable.idempotence", "true"), ("batch.num.messages", "1")]);
    let now = Instant::now();
    acc.append("t", record(Some(b"k"), Some(b"v"), 1), || now, true).unwrap();
    assert!(acc.set_layout(&TopicLayout { topic: "t", leaders: &[(0, 1)] }, now).is_empty());
    acc.set_producer(Some((1, 0)));
    let old = only_batch(acc.take_due(now, true, &[]), 1);
    acc.set_producer(Some((1, 0))); // taken again meanwhile
    acc.forget_producer_of(&old);
    assert_eq!(acc.producer(), Some((1, 0)), "a late answer under the old id leaves the new one alone");
    acc.retry(old, now);
    acc.release_request_slot(1);
    let current = only_batch(acc.take_due(now, true, &[]), 1);
    acc.forget_producer_of(&current);
    assert_eq!(acc.producer(), None);
}

#[test]
fn idle_empty_topics_are_forgotten_and_learnt_again() {
    use std::time::Duration;
    let mut acc = accumulator(&[]);
    let t0 = Instant::now();
    let age = Duration::from_secs(900);
    acc.append("one-off", record(None, Some(b"v"), 1), || t0, true).unwrap();
    acc.append("busy", record(None, Some(b"v"), 1), || t0, true).unwrap();
    assert!(acc.set_layout(&TopicLayout { topic: "one-off", leaders: &[(0, 1)] }, t0).is_empty());
    assert!(acc.set_layout(&TopicLayout { topic: "busy", leaders: &[(0, 1)] }, t0).is_empty());
    acc.forget_idle_topics(t0, age); // both just used
    let sent = acc.take_due(t0, true, &[]).requests.remove(0).1;
    for b in sent.into_iter().filter(|b| &*b.topic == "one-off") {
        acc.partition_done(&b.topic, b.partition);
        b.receipts.deliver(0, None);
    }
    acc.forget_idle_topics(t0 + age, age);
    let names: Vec<String> = acc.topic_names().iter().map(|n| n.to_string()).collect();
    assert_eq!(names, ["busy"], "the delivered one-off topic is forgotten; the one in flight is kept");
    // Sent to again: learnt again, with its records waiting for metadata.
    let again = acc.append("one-off", record(None, Some(b"v"), 1), || t0, true).unwrap();
    assert!(again.wake);
    let again = again.receipt.unwrap();
    assert_eq!(acc.topic_names().len(), 2);
    acc.forget_idle_topics(t0 + age * 3, age);
    assert_eq!(acc.topic_names().len(), 2, "a topic with a waiting record is kept however long");
    assert!(!again.is_completed());
}

#[test]
fn max_in_flight_bounds_requests_per_broker() {
    let mut acc = accumulator(&[("max.in.flight", "1")]);
    let now = Instant::now();
    acc.append("t", record(None, Some(b"v"), 1), || now, true).unwrap();
    assert!(acc.set_layout(&TopicLayout { topic: "t", leaders: &[(0, 5), (1, 5)] }, now).is_empty());
    send(&mut acc, Some(b"a"), now);
    send(&mut acc, Some(b"b"), now);
    send(&mut acc, Some(b"c"), now);
    let first = acc.take_due(now, true, &[]);
    assert_eq!(first.requests.len(), 1, "one request to broker 5");
    assert_eq!(acc.requests_in_flight(), 1);
    assert_eq!(first.requests[0].0, 5);
    let partitions_sent: usize = first.requests[0].1.len();
    let total_partitions_with_data = 2;
    assert_eq!(partitions_sent, total_partitions_with_data, "one request carries every due partition");
    for b in first.requests.into_iter().flat_map(|(_, batches)| batches) {
        acc.partition_done(&b.topic, b.partition);
    }
    send(&mut acc, Some(b"a"), now);
    assert!(acc.take_due(now, true, &[]).requests.is_empty(), "the broker's only slot is still taken");
    acc.release_request_slot(5);
    assert_eq!(acc.requests_in_flight(), 0);
    only_batch(acc.take_due(now, true, &[]), 5); // the freed slot takes the waiting batch
}

#[test]
fn big_batches_go_in_requests_of_their_own_within_max_in_flight() {
    // Batches of about 600 bytes against message.max.bytes=1000: one per
    // request, so a broker gets several requests in one plan, each
    // counted against max.in.flight=2; small batches share a request.
    let mut acc = accumulator(&[("max.in.flight", "2"), ("message.max.bytes", "1000")]);
    let now = Instant::now();
    acc.append("t", record(Some(b"k"), Some(b"v"), 1), || now, true).unwrap();
    assert!(acc.set_layout(&TopicLayout { topic: "t", leaders: &[(0, 5), (1, 5), (2, 5)] }, now).is_empty());
    let key_of = |partition: i32| {
        (0u32..)
            .map(|i| i.to_string())
            .find(|k| crate::kafka::partitioner::Partitioner::ConsistentRandom.partition(Some(k.as_bytes()), 3) == Some(partition as u32))
            .unwrap()
    };
    for p in 0..3 {
        acc.append("t", record(Some(key_of(p).as_bytes()), Some(&[7; 500]), 1), || now, true).unwrap();
    }
    let plan = acc.take_due(now, true, &[]);
    assert_eq!(plan.requests.len(), 2, "two requests, then max.in.flight is reached");
    assert!(plan.requests.iter().all(|(leader, batches)| *leader == 5 && batches.len() == 1));
    assert_eq!(acc.requests_in_flight(), 2);
    assert!(acc.take_due(now, true, &[]).requests.is_empty(), "the third waits for a free slot");
    acc.release_request_slot(5);
    assert_eq!(acc.take_due(now, true, &[]).requests.len(), 1, "and takes it");
}

#[test]
fn records_sent_while_a_partition_is_blocked_keep_their_own_deadline() {
    use std::time::Duration;
    let mut acc = accumulator(&[("linger.ms", "10"), ("message.timeout.ms", "1000")]);
    let t0 = Instant::now();
    acc.append("t", record(Some(b"k"), Some(b"v"), 1), || t0, true).unwrap();
    assert!(acc.set_layout(&TopicLayout { topic: "t", leaders: &[(0, 1)] }, t0).is_empty());
    let in_flight = acc.take_due(t0 + Duration::from_millis(10), false, &[]);
    assert_eq!(in_flight.requests[0].1.len(), 1, "the first batch is in flight and stays so");
    let late = send(&mut acc, Some(b"k"), t0 + Duration::from_millis(20));
    acc.take_due(t0 + Duration::from_millis(30), false, &[]); // lingered: sealed although blocked
    let later = send(&mut acc, Some(b"k"), t0 + Duration::from_millis(500));
    let plan = acc.take_due(t0 + Duration::from_millis(1020), false, &[]);
    assert_eq!(plan.expired.len(), 1, "only the batch sent at +20 ms has expired");
    for r in plan.expired {
        r.fail(ErrorCode::MSG_TIMED_OUT);
    }
    assert_eq!(late.error(), ErrorCode::MSG_TIMED_OUT);
    assert!(!later.is_completed(), "sent at +500 ms, due at +1500 ms");
    assert_eq!(acc.take_due(t0 + Duration::from_millis(1400), false, &[]).expired.len(), 0);
    assert_eq!(acc.take_due(t0 + Duration::from_millis(1500), false, &[]).expired.len(), 1);
}

#[test]
fn a_chosen_partition_wins_over_the_key_and_one_the_topic_lacks_is_refused() {
    let mut acc = accumulator(&[]);
    let now = Instant::now();
    let chosen =
        |partition| Outgoing { key: Some(b"same key"), value: Some(b"v"), headers: NO_HEADERS, partition: Some(partition), timestamp: 1 };
    // Before metadata: they wait; placed when the layout comes, or returned for -190.
    let early = [2, 3].map(|p| acc.append("t", chosen(p), || now, true).unwrap().receipt.unwrap());
    let refused = acc.set_layout(&TopicLayout { topic: "t", leaders: &[(0, 1), (1, 1), (2, 1)] }, now);
    assert_eq!(refused.len(), 1, "partition 3 of a 3-partition topic");
    assert_eq!(early[0].partition(), 2);
    // After: every partition as asked, whatever the key says; 3 and beyond refused at once.
    for p in [0, 1, 2, 2, 0] {
        let r = acc.append("t", chosen(p), || now, true).unwrap().receipt.unwrap();
        assert_eq!(r.partition(), p);
    }
    for p in [3, 7, i32::MAX] {
        assert_eq!(acc.append("t", chosen(p), || now, true).err(), Some(Refusal::UnknownPartition));
    }
}

#[test]
fn headers_are_carried_into_the_batch_and_counted_as_payload() {
    let mut acc = accumulator(&[]);
    let now = Instant::now();
    let mut headers = crate::kafka::protocol::record_headers::RecordHeaders::default();
    headers.add("h", Some(b"123"));
    let block = headers.encoded();
    acc.append("t", Outgoing { key: None, value: Some(b"v"), headers: &block, partition: None, timestamp: 1 }, || now, true).unwrap();
    assert!(acc.set_layout(&TopicLayout { topic: "t", leaders: &[(0, 1)] }, now).is_empty(), "placed from the waiting queue");
    let batch = only_batch(acc.take_due(now, true, &[]), 1);
    assert!(batch.records.payload().windows(block.len()).any(|w| w == block.as_slice()), "the header block is in the batch");
}

#[test]
fn topics_with_their_own_acks_or_timeout_never_share_a_produce_request() {
    let mut b = ConfigBuilder::new();
    b.set("bootstrap.servers", "127.0.0.1:1").unwrap();
    b.set_topic("acks-one", "acks", "1").unwrap();
    b.set_topic("same-as-default", "compression.codec", "zstd").unwrap();
    b.set_topic("slow", "request.timeout.ms", "60000").unwrap();
    let config = Arc::new(b.build().unwrap());
    let mut acc = Accumulator::new(Arc::clone(&config), Arc::new(QueueGauge::default()), Arc::default(), 1);
    let now = Instant::now();
    let topics = ["default", "acks-one", "same-as-default", "slow"];
    for topic in topics {
        acc.append(topic, record(Some(b"k"), Some(b"v"), 1), || now, true).unwrap();
        assert!(acc.set_layout(&TopicLayout { topic, leaders: &[(0, 7)] }, now).is_empty());
    }
    let plan = acc.take_due(now, true, &[]);
    let mut requests: Vec<Vec<&str>> = plan
        .requests
        .iter()
        .map(|(leader, batches)| {
            assert_eq!(*leader, 7);
            let class = batches[0].settings.request_class();
            assert!(batches.iter().all(|b| b.settings.request_class() == class), "one request class per request");
            batches.iter().map(|b| &*b.topic).collect()
        })
        .collect();
    requests.sort();
    assert_eq!(requests, [vec!["acks-one"], vec!["default", "same-as-default"], vec!["slow"]]);
    let codecs: Vec<_> = plan.requests.iter().flat_map(|(_, batches)| batches.iter().map(|b| (&*b.topic, b.settings.codec))).collect();
    assert!(codecs.contains(&("same-as-default", crate::kafka::protocol::compression::Codec::Zstd)));
    assert!(codecs.contains(&("default", crate::kafka::protocol::compression::Codec::None)));
}

#[test]
fn a_topics_partitioner_is_its_own() {
    let mut b = ConfigBuilder::new();
    b.set("bootstrap.servers", "127.0.0.1:1").unwrap();
    b.set("partitioner", "murmur2").unwrap();
    b.set_topic("crc", "partitioner", "consistent").unwrap();
    let mut acc = Accumulator::new(Arc::new(b.build().unwrap()), Arc::new(QueueGauge::default()), Arc::default(), 1);
    let now = Instant::now();
    let leaders: Vec<(i32, i32)> = (0..16).map(|p| (p, 1)).collect();
    let mut chosen = Vec::new();
    for topic in ["murmur", "crc"] {
        acc.append(topic, record(Some(b"first"), Some(b"v"), 1), || now, true).unwrap();
        assert!(acc.set_layout(&TopicLayout { topic, leaders: &leaders }, now).is_empty());
        let keys = (0..32).map(|i| format!("key-{i}"));
        chosen.push(
            keys.map(|k| acc.append(topic, record(Some(k.as_bytes()), Some(b"v"), 1), || now, true).unwrap().receipt.unwrap().partition())
                .collect::<Vec<_>>(),
        );
    }
    let expect = |p: Partitioner| (0..32).map(|i| p.partition(Some(format!("key-{i}").as_bytes()), 16).unwrap() as i32).collect::<Vec<_>>();
    assert_eq!(chosen[0], expect(Partitioner::Murmur2));
    assert_eq!(chosen[1], expect(Partitioner::Consistent));
    assert_ne!(chosen[0], chosen[1], "the two partitioners disagree on some of 32 keys");
}

#[test]
fn sticky_partitioning_linger_ms_keeps_a_partition_across_batches_for_that_long() {
    use std::collections::HashSet;
    use std::time::Duration;
    let ms = Duration::from_millis;
    let leaders: Vec<(i32, i32)> = (0..8).map(|p| (p, 1)).collect();
    let mut acc = accumulator(&[("linger.ms", "1"), ("sticky.partitioning.linger.ms", "1000")]);
    let t0 = Instant::now();
    acc.append("t", record(None, Some(b"v"), 1), || t0, true).unwrap();
    assert!(acc.set_layout(&TopicLayout { topic: "t", leaders: &leaders }, t0).is_empty());
    let mut partitions = Vec::new();
    for round in 0..24u64 {
        // Three batches 300 ms apart: one partition; the next round, 1.1 s on, may move.
        for step in 0..3u64 {
            let at = t0 + ms(1_100 * round + 300 * step);
            partitions.push((round, send(&mut acc, None, at).partition()));
            for (_, batches) in acc.take_due(at + ms(2), false, &[]).requests {
                for b in batches {
                    acc.partition_done(&b.topic, b.partition);
                }
            }
        }
    }
    for round in partitions.chunks(3) {
        assert!(round.iter().all(|&(_, p)| p == round[0].1), "one partition within sticky.partitioning.linger.ms: {round:?}");
    }
    let used: HashSet<i32> = partitions.iter().map(|&(_, p)| p).collect();
    assert!(used.len() > 1, "it moves on after sticky.partitioning.linger.ms: {used:?}");

    let mut acc = accumulator(&[("sticky.partitioning.linger.ms", "0")]);
    acc.append("t", record(None, Some(b"v"), 1), || t0, true).unwrap();
    assert!(acc.set_layout(&TopicLayout { topic: "t", leaders: &leaders }, t0).is_empty());
    let used: HashSet<i32> = (0..64).map(|_| send(&mut acc, None, t0).partition()).collect();
    assert!(used.len() > 4, "0: no stickiness, each record on its own: {used:?}");
}

#[test]
fn a_backed_up_leader_gets_no_new_request_until_it_drains() {
    let mut acc = accumulator(&[("linger.ms", "0")]);
    let now = Instant::now();
    acc.append("t", record(Some(b"k"), Some(b"v"), 1), || now, true).unwrap();
    assert!(acc.set_layout(&TopicLayout { topic: "t", leaders: &[(0, 1), (1, 2)] }, now).is_empty());
    let key_for = |p: i32| {
        (0..).map(|i| format!("k{i}")).find(|k| Partitioner::ConsistentRandom.partition(Some(k.as_bytes()), 2) == Some(p as u32)).unwrap()
    };
    let (k0, k1) = (key_for(0), key_for(1));
    send(&mut acc, Some(k0.as_bytes()), now);
    send(&mut acc, Some(k1.as_bytes()), now);
    let plan = acc.take_due(now, true, &[(1, 1)]);
    assert!(plan.backpressured, "told to look again");
    let leaders: Vec<i32> = plan.requests.iter().map(|(leader, _)| *leader).collect();
    assert_eq!(leaders, [2], "leader 1 is backed up: only leader 2 gets a request");
    let plan = acc.take_due(now, true, &[]);
    assert!(!plan.backpressured);
    assert!(plan.requests.iter().any(|(leader, _)| *leader == 1), "once drained, leader 1's batch goes");
}

#[test]
fn census_counts_records_taken_in_flight_and_acknowledged_per_batch() {
    let mut acc = accumulator(&[("enable.idempotence", "true"), ("batch.num.messages", "3")]);
    let now = Instant::now();
    let partition = |acc: &Accumulator, n: i32| {
        let topics = acc.census(now);
        let p = topics[0].partitions.iter().find(|p| p.partition == n).unwrap();
        (p.msgs, p.msgs_inflight, p.next_ack_seq, p.acked_msgid)
    };
    acc.append("t", record(Some(b"k"), Some(b"v"), 1), || now, true).unwrap();
    acc.append("t", record(Some(b"k"), Some(b"v"), 1), || now, true).unwrap();
    assert_eq!(partition(&acc, -1).0, 2, "records that waited for the partition count");
    assert!(acc.set_layout(&TopicLayout { topic: "t", leaders: &[(0, 1)] }, now).is_empty());
    for _ in 0..3 {
        send(&mut acc, Some(b"k"), now);
    }
    assert_eq!(partition(&acc, 0), (5, 0, 0, 0), "a sealed batch of 3 and 2 in the open one");
    acc.set_producer(Some((7, 0)));
    let first = only_batch(acc.take_due(now, true, &[]), 1);
    assert_eq!((first.records.count(), first.last_msgid), (3, 3));
    assert_eq!(partition(&acc, 0), (5, 3, 0, 0), "3 in flight");
    acc.partition_delivered(&first);
    acc.release_request_slot(1);
    assert_eq!(partition(&acc, 0), (5, 0, 3, 3), "acknowledged up to sequence 3, msgid 3");
    let second = only_batch(acc.take_due(now, true, &[]), 1);
    assert_eq!((second.identity.base_sequence, second.last_msgid), (3, 5));
    acc.partition_delivered(&second);
    assert_eq!(partition(&acc, 0), (5, 0, 5, 5));
    acc.set_producer(Some((8, 0)));
    assert_eq!(partition(&acc, 0), (5, 0, 0, 5), "a new producer id restarts the sequences, not the msgids");
    let identity = acc.identity_census();
    assert_eq!((identity.current, identity.taken), (Some((8, 0)), 2), "eos: the id and the ids taken (epoch_cnt)");
    assert!(identity.changed_at.is_some());
    let epoch = |acc: &Accumulator| acc.census(now)[0].partitions[0].leader_epoch;
    assert_eq!(epoch(&acc), -1, "unknown until metadata gives it");
    acc.set_leader_epochs("t", [(0, 7), (9, 1)].into_iter());
    assert_eq!(epoch(&acc), 7, "a partition the topic lacks is passed over");
    send(&mut acc, Some(b"k"), now);
    assert_eq!(partition(&acc, 0).0, 6);
    drop(acc.purge());
    assert_eq!(partition(&acc, 0).0, 6, "records failed before sending stay counted");
}
