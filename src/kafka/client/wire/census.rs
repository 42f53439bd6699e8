//! What a statistics snapshot reads from a wire (librdkafka's `outbuf_cnt`,
//! `waitresp_cnt` and their records), under the locks `Wire::send` takes, in its order.

use super::Wire;
use crate::kafka::lock::Locked;
use crate::kafka::stats::BrokerCounters;

/// A wire's requests not yet written whole and awaiting their answer, and
/// their records (librdkafka's `outbuf_cnt`, `outbuf_msg_cnt`,
/// `waitresp_cnt`, `waitresp_msg_cnt`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueDepths {
    pub outbuf_cnt: usize,
    pub outbuf_msg_cnt: usize,
    pub waitresp_cnt: usize,
    pub waitresp_msg_cnt: usize,
}

impl Wire {
    /// Requests handed to this wire, awaited or not (acks=0), whose frames
    /// have not reached the socket whole (librdkafka's `outbuf_cnt`, which
    /// queue.buffering.backpressure.threshold counts), and awaited requests
    /// written whole and waiting for their answer (`waitresp_cnt`), with
    /// the records they carry. A frame ends where the next one starts, or
    /// where the queued bytes end.
    pub fn queue_depths(&self) -> QueueDepths {
        let out = self.outbound.locked();
        let in_flight = self.in_flight.locked();
        let awaited_records = in_flight.requests.iter().map(|r| r.records).sum::<usize>();
        if out.pending.is_empty() {
            let (waitresp_cnt, waitresp_msg_cnt) = (in_flight.requests.len(), awaited_records);
            return QueueDepths { waitresp_cnt, waitresp_msg_cnt, ..QueueDepths::default() };
        }
        let awaited = in_flight.requests.iter().map(|r| (r.starts_at, true, r.records));
        let unawaited = in_flight.unawaited.iter().map(|&(_, at, records)| (at, false, records));
        let mut frames: Vec<(u64, bool, usize)> = awaited.chain(unawaited).collect();
        frames.sort_unstable();
        let ends = frames.iter().skip(1).map(|&(at, _, _)| at).chain(std::iter::once(out.queued));
        let mut depths = QueueDepths::default();
        let (mut unwritten_awaited, mut unwritten_awaited_records) = (0, 0);
        for (&(_, is_awaited, records), end) in frames.iter().zip(ends) {
            if end > out.written {
                depths.outbuf_cnt += 1;
                depths.outbuf_msg_cnt += records;
                if is_awaited {
                    unwritten_awaited += 1;
                    unwritten_awaited_records += records;
                }
            }
        }
        depths.waitresp_cnt = in_flight.requests.len() - unwritten_awaited;
        depths.waitresp_msg_cnt = awaited_records - unwritten_awaited_records;
        depths
    }

    pub fn counters(&self) -> &BrokerCounters {
        &self.counters
    }
}
