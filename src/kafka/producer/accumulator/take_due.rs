//! What the sender takes out of the accumulator: the batches due now, as Produce
//! requests per leader, and what it should do next.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Accumulator;
use crate::kafka::producer::batch::{Batch, Receipts};

/// What `take_due` took out, and what the sender should do next.
#[derive(Debug, Default)]
pub struct DueBatches {
    /// Produce requests to send: each its leader's broker id and its
    /// batches (one per partition, all of one request class: the same acks
    /// and request.timeout.ms), within message.max.bytes unless a single
    /// batch is bigger, each counted in one of the leader's
    /// max.in.flight slots and its partitions marked in flight. A broker may
    /// get several at once: they are pipelined, so it stores one while the
    /// next is on its way.
    pub requests: Vec<(i32, Vec<Batch>)>,
    /// Batches whose message.timeout.ms ran out before they were sent.
    pub expired: Vec<Receipts>,
    /// Some topic or partition lacks a leader or a partition count.
    pub needs_metadata: bool,
    /// A leader got no new request because its connection is backed up
    /// (queue.buffering.backpressure.threshold): look again soon.
    pub backpressured: bool,
    /// When something will next be due (a linger, a backoff, an expiry).
    pub next_due: Option<Instant>,
    /// A transactional producer's partitions with batches to send that are
    /// not yet part of the transaction (AddPartitionsToTxn first).
    pub to_add: Vec<(Arc<str>, i32)>,
}

impl Accumulator {
    /// Takes out what is due now, stamped (idempotence) and counted in its
    /// leader's slots; fails nothing itself but hands back what expired.
    /// `flushing` sends lingering batches at once. A leader whose connection
    /// holds queue.buffering.backpressure.threshold requests not yet written
    /// (`untransmitted`, per broker) gets no new request: its batches wait,
    /// and keep filling, as librdkafka's.
    pub fn take_due(&mut self, now: Instant, flushing: bool, untransmitted: &[(i32, usize)]) -> DueBatches {
        let config = Arc::clone(&self.config);
        let mut plan = DueBatches::default();
        // Idempotence: no batch leaves without the producer id to stamp it with.
        let can_send = !config.idempotence || self.identity.current().is_some();
        // This plan's last request to each leader for each request class
        // (acks and timeout: one per request): its index in `requests` and
        // its bytes so far.
        let mut filling: HashMap<(i32, (i16, Duration)), (usize, usize)> = HashMap::new();
        let transactional = self.identity.transactional();
        let Accumulator { topics, broker_requests, identity, .. } = self;
        for queue in topics.iter_mut() {
            let timeout = queue.settings.message_timeout;
            let class = queue.settings.request_class();
            if queue.partitions.is_empty() {
                plan.needs_metadata |= !queue.waiting.is_empty();
                while queue.waiting.front().is_some_and(|w| timeout.is_some_and(|t| now >= w.sent_at + t)) {
                    plan.expired.push(queue.waiting.pop_front().expect("checked").receipts);
                }
                if let (Some(w), Some(t)) = (queue.waiting.front(), timeout) {
                    plan.next_due = earliest(plan.next_due, Some(w.sent_at + t));
                }
                continue;
            }
            for (index, p) in queue.partitions.iter_mut().enumerate() {
                // Expire what has waited too long, wherever it waits.
                if p.open.as_ref().is_some_and(|b| b.expired(now)) {
                    plan.expired.push(p.take_open().expect("checked").receipts);
                }
                let before = p.ready.len();
                let mut kept = VecDeque::with_capacity(before);
                for b in p.ready.drain(..) {
                    match b.expired(now) {
                        true => plan.expired.push(b.receipts),
                        false => kept.push_back(b),
                    }
                }
                p.ready = kept;
                if let Some(t) = timeout {
                    let oldest = p.ready.front().map(|b| b.oldest_send).or(p.open.as_ref().map(|b| b.oldest_send));
                    plan.next_due = earliest(plan.next_due, oldest.map(|o| o + t));
                }

                // A batch whose linger is over (or that a flush wants) takes no
                // more records, even while its partition cannot send: a record
                // sent later starts a new batch with its own deadline, so none
                // times out more than one linger period early.
                match p.open.as_ref().map(|b| b.opened_at + config.linger) {
                    Some(linger_end) if flushing || now >= linger_end => p.seal_open(),
                    Some(linger_end) => plan.next_due = earliest(plan.next_due, Some(linger_end)),
                    None => {}
                }
                if p.leader < 0 && (p.open.is_some() || !p.ready.is_empty()) {
                    plan.needs_metadata = true;
                    continue;
                }
                if p.ready.is_empty() || p.in_flight > 0 || !can_send {
                    continue;
                }
                // A transaction's partition takes records only once the
                // coordinator knows it is part of it.
                if transactional && !p.in_transaction {
                    plan.to_add.push((Arc::clone(&queue.name), index as i32));
                    continue;
                }
                // Into this plan's request to the leader while it stays within
                // message.max.bytes (counted uncompressed, an upper bound);
                // otherwise a new request, within max.in.flight.
                let bytes = p.ready.front().map_or(0, |b| b.records.encoded_len());
                let room = filling.get(&(p.leader, class)).filter(|&&(_, filled)| filled + bytes <= config.message_max_bytes);
                if room.is_none() && broker_requests.get(&p.leader).copied().unwrap_or(0) >= config.max_in_flight {
                    continue;
                }
                let on_the_wire = untransmitted.iter().find(|&&(broker, _)| broker == p.leader).map_or(0, |&(_, n)| n);
                if room.is_none() && on_the_wire >= config.backpressure_threshold {
                    plan.backpressured = true;
                    continue;
                }
                if let Some(not_before) = p.not_before.filter(|&t| t > now) {
                    plan.next_due = earliest(plan.next_due, Some(not_before));
                    continue;
                }
                let Some(mut b) = p.ready.pop_front() else { continue };
                identity.stamp(&mut b, &mut p.next_sequence);
                p.in_flight = b.records.count();
                p.not_before = None;
                match room.copied() {
                    Some((request, filled)) => {
                        plan.requests[request].1.push(b);
                        filling.insert((p.leader, class), (request, filled + bytes));
                    }
                    None => {
                        *broker_requests.entry(p.leader).or_default() += 1;
                        filling.insert((p.leader, class), (plan.requests.len(), bytes));
                        plan.requests.push((p.leader, vec![b]));
                    }
                }
            }
        }
        plan
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
