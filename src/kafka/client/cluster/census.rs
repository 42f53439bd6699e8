//! What a statistics snapshot reads from the cluster: each broker as
//! librdkafka's `brokers` object shows it. Read under the brokers' lock,
//! without waiting for a connection a task holds (it is then connecting).

use std::sync::Arc;

use super::{BrokerSlot, Cluster};
use crate::kafka::client::wire::census::QueueDepths;
use crate::kafka::lock::Locked;
use crate::kafka::stats::BrokerCounters;

/// One broker, as a snapshot shows it.
pub struct BrokerCensus {
    /// librdkafka's broker name: `host:port/nodeid`, or `host:port/bootstrap`.
    pub name: String,
    /// -1 for a bootstrap server.
    pub nodeid: i32,
    /// `host:port`.
    pub nodename: String,
    /// librdkafka's state names: INIT (never tried), CONNECT, UP, DOWN.
    pub state: &'static str,
    /// Requests not yet written; written ones awaiting their answer; and
    /// their records.
    pub depths: QueueDepths,
    pub counters: Arc<BrokerCounters>,
}

impl Cluster {
    /// Every broker metadata named, by node id, then the bootstrap servers.
    pub fn census(&self) -> Vec<BrokerCensus> {
        let mut brokers: Vec<(i32, Arc<BrokerSlot>)> = self.brokers.locked().iter().map(|(&id, slot)| (id, Arc::clone(slot))).collect();
        brokers.sort_by_key(|&(id, _)| id);
        brokers.extend(self.bootstrap.iter().map(|slot| (-1, Arc::clone(slot))));
        brokers.into_iter().map(|(nodeid, slot)| slot.census(nodeid)).collect()
    }
}

impl BrokerSlot {
    fn census(&self, nodeid: i32) -> BrokerCensus {
        let nodename = self.address();
        let name = match nodeid {
            -1 => format!("{nodename}/bootstrap"),
            id => format!("{nodename}/{id}"),
        };
        let none = QueueDepths::default();
        let (state, depths) = match self.connection.try_lock() {
            Ok(connection) => match connection.as_ref().filter(|c| c.is_alive()) {
                Some(c) => ("UP", c.queue_depths()),
                None if self.counters.totals().connects == 0 => ("INIT", none),
                None => ("DOWN", none),
            },
            Err(_) => ("CONNECT", none),
        };
        BrokerCensus { name, nodeid, nodename, state, depths, counters: Arc::clone(&self.counters) }
    }
}
