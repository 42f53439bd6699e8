//! The idempotent producer's identity: its producer id and epoch, how many
//! ids it has taken, and the stamping of batches with id, epoch and
//! sequence numbers. (The per-partition next sequence lives with the
//! partition's queue; `jobs::fetch_producer_id` takes new ids, and
//! `decision` says when one is needed.)

use std::time::Instant;

use super::batch::Batch;
use crate::kafka::protocol::record_batch::ProducerIdentity;

#[derive(Debug, Default)]
pub struct ProducerIdentityState {
    /// The current producer id and epoch; nothing is sent without them.
    current: Option<(i64, i16)>,
    /// How many ids have been taken: batches stamped under an earlier one
    /// are stamped anew, whatever the id's value (a broker that lost its
    /// state hands out the same id and epoch again).
    generation: u32,
    /// A transactional producer's: its batches carry the transactional bit.
    transactional: bool,
    /// When an id was last taken or dropped (statistics' `idemp_stateage`).
    changed_at: Option<Instant>,
}

/// What statistics' `eos` shows of the identity.
pub struct IdentityCensus {
    pub current: Option<(i64, i16)>,
    /// Ids taken (librdkafka's `epoch_cnt`).
    pub taken: u32,
    pub changed_at: Option<Instant>,
}

impl ProducerIdentityState {
    pub fn new(transactional: bool) -> Self {
        ProducerIdentityState { transactional, ..Self::default() }
    }

    pub fn transactional(&self) -> bool {
        self.transactional
    }

    pub fn current(&self) -> Option<(i64, i16)> {
        self.current
    }

    /// A new id and epoch (None while one is being fetched). True when one
    /// was taken: every partition's sequence must then restart at 0.
    pub fn set(&mut self, producer: Option<(i64, i16)>) -> bool {
        self.current = producer;
        self.changed_at = Some(Instant::now());
        if producer.is_some() {
            self.generation += 1;
        }
        producer.is_some()
    }

    /// The broker lost the sequence state of the id `batch` was stamped
    /// under: drop that id (unless a newer one was taken meanwhile), so that
    /// a new one is fetched once nothing is in flight.
    pub fn forget_id_of(&mut self, batch: &Batch) {
        if self.current.is_some() && batch.stamp_generation == self.generation {
            self.current = None;
            self.changed_at = Some(Instant::now());
        }
    }

    pub fn census(&self) -> IdentityCensus {
        IdentityCensus { current: self.current, taken: self.generation, changed_at: self.changed_at }
    }

    /// Gives `batch` the current id and epoch and, unless it was stamped
    /// under this very id already, the partition's next sequence numbers:
    /// a retry under the same id resends the same sequences (which is what
    /// lets the broker drop a duplicate), a batch stamped before the latest
    /// InitProducerId gets new ones. Does nothing without an id.
    pub fn stamp(&self, batch: &mut Batch, next_sequence: &mut i32) {
        let Some((producer_id, producer_epoch)) = self.current else { return };
        if batch.stamp_generation == self.generation {
            return;
        }
        batch.stamp_generation = self.generation;
        batch.identity = ProducerIdentity { producer_id, producer_epoch, base_sequence: *next_sequence, transactional: self.transactional };
        // Sequences wrap from i32::MAX to 0, as Kafka's do.
        *next_sequence = ((i64::from(*next_sequence) + batch.records.count() as i64) % (i64::from(i32::MAX) + 1)) as i32;
    }
}
