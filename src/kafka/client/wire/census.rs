//! What a statistics snapshot reads from a wire (librdkafka's `outbuf_cnt`
//! and `waitresp_cnt`), under the locks `Wire::send` takes, in its order.

use super::Wire;
use crate::kafka::lock::Locked;
use crate::kafka::stats::BrokerCounters;

impl Wire {
    /// Requests handed to this wire, awaited or not (acks=0), whose frames
    /// have not reached the socket whole (librdkafka's `outbuf_cnt`, which
    /// queue.buffering.backpressure.threshold counts), and awaited requests
    /// written whole and waiting for their answer (`waitresp_cnt`). A frame
    /// ends where the next one starts, or where the queued bytes end.
    pub fn queue_depths(&self) -> (usize, usize) {
        let out = self.outbound.locked();
        let in_flight = self.in_flight.locked();
        if out.pending.is_empty() {
            return (0, in_flight.requests.len());
        }
        let awaited = in_flight.requests.iter().map(|r| (r.starts_at, true));
        let mut frames: Vec<(u64, bool)> = awaited.chain(in_flight.unawaited.iter().map(|&(_, at)| (at, false))).collect();
        frames.sort_unstable();
        let ends = frames.iter().skip(1).map(|&(at, _)| at).chain(std::iter::once(out.queued));
        let (mut unwritten, mut unwritten_awaited) = (0, 0);
        for (&(_, is_awaited), end) in frames.iter().zip(ends) {
            if end > out.written {
                unwritten += 1;
                unwritten_awaited += usize::from(is_awaited);
            }
        }
        (unwritten, in_flight.requests.len() - unwritten_awaited)
    }

    pub fn counters(&self) -> &BrokerCounters {
        &self.counters
    }
}
