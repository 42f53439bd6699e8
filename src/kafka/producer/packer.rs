//! Packs batches for the wire before they go into a Produce request:
//! compresses the records with the codec, and sums the CRC-32C of what goes
//! out (with codec none, only sums). A batch big enough to be worth a thread
//! hand-off is packed on one of the runtime's blocking threads, at most one
//! batch per CPU at a time: the application's thread only copies records
//! into batches, the network thread goes on writing requests and completing
//! receipts meanwhile, and the batches of a request (or of several) are
//! packed in parallel. (librdkafka compresses on its one thread per broker,
//! so there one broker's compression is bound to one CPU.) Small batches (a
//! record or a few, as at linger.ms=0) are packed where they are: the
//! hand-off would cost more than the work.
//!
//! Packing off the request's order is safe: a partition has one batch in
//! flight at a time, so requests in flight share no partition.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use super::batch::Batch;
use crate::kafka::buffer_pool::BufferPool;
use crate::kafka::protocol::compression::Codec;

/// Smallest batch (uncompressed bytes) compressed on another thread.
const COMPRESS_HAND_OFF_MIN_BYTES: usize = 32 << 10;
/// Smallest batch only summed on another thread: CRC-32C runs at several
/// GB/s, fifty times faster than LZ4 compresses.
const SUM_HAND_OFF_MIN_BYTES: usize = 256 << 10;

/// Lives only while one request's batches are packed: boxing `Done` would
/// cost an allocation per batch to save stack space that is never scarce.
#[allow(clippy::large_enum_variant)]
enum Packing {
    Done(Batch),
    OnThread(JoinHandle<Batch>),
}

pub(super) struct Packer {
    buffers: Arc<BufferPool>,
    /// One permit per CPU: batches being packed on blocking threads.
    threads: Arc<Semaphore>,
}

impl Packer {
    pub fn new(buffers: Arc<BufferPool>) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Packer { buffers, threads: Arc::new(Semaphore::new(cpus)) }
    }

    /// Whether `pack` packs `batch` where it is (packed already, or too
    /// small to be worth a thread hand-off).
    pub fn packs_here(&self, batch: &Batch) -> bool {
        let hand_off_min = match batch.settings.codec {
            Codec::None => SUM_HAND_OFF_MIN_BYTES,
            _ => COMPRESS_HAND_OFF_MIN_BYTES,
        };
        batch.records.is_packed() || batch.records.encoded_len() < hand_off_min
    }

    /// Packs `batch` on this thread with its topic's codec, if not packed yet.
    pub fn pack_here(&self, batch: &mut Batch) {
        let (codec, level) = (batch.settings.codec, batch.settings.compression_level);
        batch.records.pack(codec, level, || self.buffers.take(0));
    }

    /// Packs every batch not packed yet, the big ones on blocking threads,
    /// and gives them back in the same order. A batch is lost only when the
    /// runtime shuts down first; its receipts then fail with `_DESTROY`, as
    /// every batch's do at shutdown.
    pub async fn pack(&self, batches: Vec<Batch>) -> Vec<Batch> {
        let mut packing = Vec::with_capacity(batches.len());
        for mut batch in batches {
            if self.packs_here(&batch) {
                self.pack_here(&mut batch);
                packing.push(Packing::Done(batch));
                continue;
            }
            let permit = Arc::clone(&self.threads).acquire_owned().await.expect("the semaphore is never closed");
            let (codec, level, buffers) = (batch.settings.codec, batch.settings.compression_level, Arc::clone(&self.buffers));
            packing.push(Packing::OnThread(tokio::task::spawn_blocking(move || {
                // A codec that panicked leaves the batch unpacked; it is
                // summed when its header is written, rather than lost with
                // its partition's turn.
                let _ = std::panic::catch_unwind(AssertUnwindSafe(|| batch.records.pack(codec, level, || buffers.take(0))));
                drop(permit);
                batch
            })));
        }
        let mut done = Vec::with_capacity(packing.len());
        for entry in packing {
            match entry {
                Packing::Done(batch) => done.push(batch),
                Packing::OnThread(handle) => done.extend(handle.await.ok()),
            }
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::kafka::config::ConfigBuilder;
    use crate::kafka::protocol::compression::decompress;
    use crate::kafka::protocol::record_batch::RECORD_BATCH_OVERHEAD;
    use crate::kafka::receipt::test_pending;
    use crate::kafka::topic_config::TopicConfig;

    /// A topic's options with this codec.
    fn settings(codec: &str) -> Arc<TopicConfig> {
        let mut options = ConfigBuilder::new();
        options.set("bootstrap.servers", "localhost").unwrap();
        options.set("compression.codec", codec).unwrap();
        options.build().unwrap().topic_defaults
    }

    fn batch(codec: &str, partition: i32, records: usize) -> Batch {
        let now = Instant::now();
        let mut b = Batch::open("t".into(), settings(codec), partition, Arc::default(), now, now, Vec::new());
        for i in 0..records {
            b.append(
                1,
                None,
                Some(format!("record {i} of partition {partition}").as_bytes()),
                crate::kafka::protocol::record_headers::NO_HEADERS,
                Some(test_pending(1).0),
            );
        }
        b
    }

    #[test]
    fn big_and_small_batches_come_back_compressed_in_order() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let packer = Packer::new(Arc::default());
        // Partitions 0, 2 and 3 are over the hand-off size, 1 and 4 under it.
        let sizes = [5_000, 10, 3_000, 4_000, 1];
        let batches: Vec<Batch> = sizes.iter().enumerate().map(|(p, &n)| batch("lz4", p as i32, n)).collect();
        assert!(batches[0].records.encoded_len() >= COMPRESS_HAND_OFF_MIN_BYTES);
        assert!(batches[1].records.encoded_len() < COMPRESS_HAND_OFF_MIN_BYTES);
        let plain: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(p, &n)| batch("lz4", p as i32, n).records.payload().to_vec()).collect();

        let done = runtime.block_on(packer.pack(batches));
        assert_eq!(done.iter().map(|b| b.partition).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
        for (b, plain) in done.iter().zip(&plain) {
            assert!(b.records.is_packed(), "partition {}", b.partition);
            assert_eq!(&decompress(Codec::Lz4, b.records.payload()), plain, "partition {}", b.partition);
            let mut header = Vec::new();
            b.records.seal_header_into(&mut header, b.identity);
            assert_eq!(header.len(), RECORD_BATCH_OVERHEAD);
            assert_eq!(i16::from_be_bytes([header[21], header[22]]), Codec::Lz4 as i16);
            let batch = [&header[..], b.records.payload()].concat();
            assert_eq!(u32::from_be_bytes(batch[17..21].try_into().unwrap()), crc32c::crc32c(&batch[21..]));
        }
    }

    #[test]
    fn without_a_codec_batches_are_only_summed() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let packer = Packer::new(Arc::default());
        // Over the hand-off size for summing, and under it.
        let batches = vec![batch("none", 0, 9_000), batch("none", 1, 3)];
        assert!(batches[0].records.encoded_len() >= SUM_HAND_OFF_MIN_BYTES);
        let done = runtime.block_on(packer.pack(batches));
        assert_eq!(done.iter().map(|b| b.partition).collect::<Vec<_>>(), [0, 1]);
        for b in &done {
            assert!(b.records.is_packed());
            assert_eq!(b.records.payload().len() + RECORD_BATCH_OVERHEAD, b.records.encoded_len(), "not compressed");
            let mut header = Vec::new();
            b.records.seal_header_into(&mut header, b.identity);
            let batch = [&header[..], b.records.payload()].concat();
            assert_eq!(u32::from_be_bytes(batch[17..21].try_into().unwrap()), crc32c::crc32c(&batch[21..]));
        }
    }
}
