//! What a statistics snapshot reads from a wire (librdkafka's `outbuf_cnt`
//! and `waitresp_cnt`), under the locks `Wire::send` takes, in its order.

use super::{lock, Wire};
use crate::kafka::stats::BrokerCounters;

impl Wire {
    /// Awaited requests not yet completely written, and those written and
    /// awaiting their answer. A request's frame ends where the next one's
    /// starts (or where the queued bytes end).
    pub fn queue_depths(&self) -> (usize, usize) {
        let out = lock(&self.outbound);
        let in_flight = lock(&self.in_flight);
        let requests = &in_flight.requests;
        let unwritten = requests
            .iter()
            .enumerate()
            .filter(|(i, _)| requests.get(i + 1).map_or(out.queued, |next| next.starts_at) > out.written)
            .count();
        (unwritten, requests.len() - unwritten)
    }

    pub fn counters(&self) -> &BrokerCounters {
        &self.counters
    }
}
