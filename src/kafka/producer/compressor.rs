//! Compresses batches before they go into a Produce request. A batch big
//! enough to be worth a thread hand-off is compressed on one of the
//! runtime's blocking threads, at most one batch per CPU at a time: the
//! network thread goes on writing requests and completing receipts
//! meanwhile, and the batches of a request (or of several) compress in
//! parallel. librdkafka compresses on its one thread per broker, so there
//! one broker's compression is bound to one CPU. Small batches (a record or
//! a few, as at linger.ms=0) are compressed where they are: the hand-off
//! would cost more than the work.
//!
//! Compressing off the request's order is safe: a partition has one batch
//! in flight at a time, so requests in flight share no partition.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use super::batch::Batch;
use crate::kafka::buffer_pool::BufferPool;
use crate::kafka::protocol::compression::Codec;

/// Smallest batch (uncompressed bytes) handed to another thread.
const HAND_OFF_MIN_BYTES: usize = 32 << 10;

enum Compressing {
    Done(Batch),
    OnThread(JoinHandle<Batch>),
}

pub(super) struct Compressor {
    codec: Codec,
    level: i32,
    buffers: Arc<BufferPool>,
    /// One permit per CPU: batches compressing on blocking threads.
    threads: Arc<Semaphore>,
}

impl Compressor {
    pub fn new(codec: Codec, level: i32, buffers: Arc<BufferPool>) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Compressor { codec, level, buffers, threads: Arc::new(Semaphore::new(cpus)) }
    }

    /// Compresses `batch` on this thread, if it needs it.
    pub fn compress_here(&self, batch: &mut Batch) {
        if batch.records.needs_compression(self.codec) {
            batch.records.compress(self.codec, self.level, self.buffers.take(0));
        }
    }

    /// Compresses every batch that needs it, the big ones on blocking
    /// threads, and gives them back in the same order. A batch is lost only
    /// when the runtime shuts down first; its receipts then fail with
    /// `_DESTROY`, as every batch's do at shutdown.
    pub async fn compress(&self, batches: Vec<Batch>) -> Vec<Batch> {
        if self.codec == Codec::None {
            return batches;
        }
        let mut compressing = Vec::with_capacity(batches.len());
        for mut batch in batches {
            if !batch.records.needs_compression(self.codec) || batch.records.encoded_len() < HAND_OFF_MIN_BYTES {
                self.compress_here(&mut batch);
                compressing.push(Compressing::Done(batch));
                continue;
            }
            let permit = Arc::clone(&self.threads).acquire_owned().await.expect("the semaphore is never closed");
            let (codec, level, buffer) = (self.codec, self.level, self.buffers.take(0));
            compressing.push(Compressing::OnThread(tokio::task::spawn_blocking(move || {
                // A codec that panicked leaves the batch uncompressed; it is
                // sent as it is rather than lost with its partition's turn.
                let _ = std::panic::catch_unwind(AssertUnwindSafe(|| batch.records.compress(codec, level, buffer)));
                drop(permit);
                batch
            })));
        }
        let mut done = Vec::with_capacity(compressing.len());
        for entry in compressing {
            match entry {
                Compressing::Done(batch) => done.push(batch),
                Compressing::OnThread(handle) => done.extend(handle.await.ok()),
            }
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::kafka::delivery::Delivery;
    use crate::kafka::protocol::compression::decompress;
    use crate::kafka::protocol::record_batch::RECORD_BATCH_OVERHEAD;

    fn batch(partition: i32, records: usize) -> Batch {
        let now = Instant::now();
        let mut b = Batch::open("t".into(), partition, Arc::default(), now, now, Vec::new(), false);
        for i in 0..records {
            b.append(1, None, Some(format!("record {i} of partition {partition}").as_bytes()), Delivery::pending(1));
        }
        b
    }

    #[test]
    fn big_and_small_batches_come_back_compressed_in_order() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let compressor = Compressor::new(Codec::Lz4, -1, Arc::default());
        // Partitions 0, 2 and 3 are over the hand-off size, 1 and 4 under it.
        let sizes = [5_000, 10, 3_000, 4_000, 1];
        let batches: Vec<Batch> = sizes.iter().enumerate().map(|(p, &n)| batch(p as i32, n)).collect();
        assert!(batches[0].records.encoded_len() >= HAND_OFF_MIN_BYTES && batches[1].records.encoded_len() < HAND_OFF_MIN_BYTES);
        let plain: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(p, &n)| batch(p as i32, n).records.payload().to_vec()).collect();

        let done = runtime.block_on(compressor.compress(batches));
        assert_eq!(done.iter().map(|b| b.partition).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
        for (b, plain) in done.iter().zip(&plain) {
            assert!(!b.records.needs_compression(Codec::Lz4), "partition {}", b.partition);
            assert_eq!(&decompress(Codec::Lz4, b.records.payload()), plain, "partition {}", b.partition);
            let mut header = Vec::new();
            b.records.seal_header_into(&mut header, b.identity);
            assert_eq!(header.len(), RECORD_BATCH_OVERHEAD);
            assert_eq!(i16::from_be_bytes([header[21], header[22]]), Codec::Lz4 as i16);
        }
    }

    #[test]
    fn nothing_is_compressed_without_a_codec() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let compressor = Compressor::new(Codec::None, -1, Arc::default());
        let done = runtime.block_on(compressor.compress(vec![batch(0, 3_000)]));
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].records.payload().len() + RECORD_BATCH_OVERHEAD, done[0].records.encoded_len());
    }
}
