use std::ffi::CStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;

/// The topic a receipt reads, as C would read it.
#[allow(unsafe_code)]
fn topic_of(receipt: &Receipt) -> String {
    let ptr = receipt.topic_with_nul();
    assert!(!ptr.is_null());
    // SAFETY: the label of a receipt whose handle the test still holds.
    unsafe { CStr::from_ptr(ptr.cast()) }.to_str().unwrap().to_owned()
}

#[test]
fn made_up_handles_are_invalid() {
    let (pending, real) = test_pending(7);
    let mut made_up: Vec<u64> = vec![0, 1, 2, 8, 4096, u64::MAX, i64::MIN as u64, 0x7fff_dead_beef_0000];
    made_up.extend([real.0 + 1, real.0 - 1, real.0 ^ 1 << 60, real.0 ^ 1 << 40, real.0 & !0xff]);
    // A right tag, blocks never made.
    made_up.extend((0..64).map(|i| HANDLE_TAG << TAG_SHIFT | ((1u64 << SLOT_BITS) - 1 - i) << block::GENERATION_BITS | 1));
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..10_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        made_up.push(x);
    }
    for raw in made_up {
        let h = Handle::from_raw(raw);
        if h == real {
            continue;
        }
        assert!(h.read().is_none(), "{raw:#x}");
        assert_eq!(h.wait(Some(Duration::ZERO)), None, "{raw:#x}");
        assert!(!h.free(), "{raw:#x}");
    }
    assert!(real.read().is_some_and(|r| !r.outcome().is_completed()), "the real one is untouched");
    drop(pending);
    assert_eq!(real.read().unwrap().outcome().error(), ErrorCode::DESTROY);
    assert!(real.free());
}

#[test]
fn a_freed_handle_is_invalid_and_a_second_free_does_nothing() {
    let (pending, h) = test_pending(5);
    assert!(h.free());
    assert!(h.read().is_none());
    assert!(!h.free());
    assert_eq!(h.wait(None), None, "waiting on a freed handle returns at once");
    // The producer still completes it; nobody can read it.
    let mut wakeups = Wakeups::default();
    pending.deliver(3, None, &mut wakeups);
    assert!(h.read().is_none());
}

#[test]
fn receipts_read_what_their_records_got() {
    let label = TopicLabel::new("orders");
    let mut lane = Lane::new(Arc::clone(&label));
    let mut wakeups = Wakeups::default();
    let (a, ha) = lane.issue(1_700_000_000_001).unwrap();
    let (b, hb) = lane.issue(1_700_000_000_002).unwrap();
    let (c, hc) = lane.issue(-5).unwrap();
    a.set_partition(3);
    b.set_partition(4);
    let pending = ha.read().unwrap();
    assert!(!pending.outcome().is_completed() && !pending.outcome().succeeded());
    assert_eq!(
        (pending.outcome().error(), pending.partition(), pending.outcome().offset(), pending.timestamp()),
        (ErrorCode::NO_ERROR, 3, -1, -1)
    );
    a.deliver(100, None, &mut wakeups);
    b.deliver(-1, Some(1_700_000_009_999), &mut wakeups);
    c.fail(ErrorCode::MSG_TIMED_OUT, None, &mut wakeups);
    let (ra, rb, rc) = (ha.read().unwrap(), hb.read().unwrap(), hc.read().unwrap());
    assert_eq!((ra.outcome().succeeded(), ra.partition(), ra.outcome().offset(), ra.timestamp()), (true, 3, 100, 1_700_000_000_001));
    assert_eq!((rb.outcome().succeeded(), rb.partition(), rb.outcome().offset(), rb.timestamp()), (true, 4, -1, 1_700_000_009_999));
    assert_eq!(
        (rc.outcome().succeeded(), rc.outcome().error(), rc.partition(), rc.outcome().offset(), rc.timestamp()),
        (false, ErrorCode::MSG_TIMED_OUT, -1, -1, -1)
    );
    assert_eq!(ra.topic_with_nul(), label.with_nul().as_ptr(), "one label for the block");
    assert_eq!((topic_of(&ra), topic_of(&rc)), ("orders".to_owned(), "orders".to_owned()));
    for h in [ha, hb, hc] {
        assert!(h.free());
    }
}

#[test]
fn refused_receipts_keep_their_topic_and_reason() {
    let h = refused("bad topic", ErrorCode::INVALID_ARG, Some(InvalidTopic::IllegalCharacter)).unwrap();
    let r = h.read().unwrap();
    assert!(r.outcome().is_completed());
    assert_eq!((r.outcome().error(), r.topic_refusal(), r.partition()), (ErrorCode::INVALID_ARG, Some(InvalidTopic::IllegalCharacter), -1));
    assert_eq!(topic_of(&r), "bad topic");
    let full = refused("orders", ErrorCode::QUEUE_FULL, None).unwrap();
    let r = full.read().unwrap();
    assert_eq!((r.outcome().error(), r.topic_refusal(), topic_of(&r)), (ErrorCode::QUEUE_FULL, None, "orders".to_owned()));
    assert!(h.free() && full.free());
    assert!(h.read().is_none() && !h.free());
}

#[test]
fn a_slot_is_reused_only_after_both_holders_let_go_and_old_handles_stay_invalid() {
    // Fill and abandon many blocks so that the pool's oldest free blocks
    // come back; every old handle must stay invalid whatever is reused.
    let mut old = Vec::new();
    for round in 0..20 {
        let mut lane = Lane::new(TopicLabel::new("reuse"));
        let mut wakeups = Wakeups::default();
        for i in 0..SLOTS * 3 {
            let (pending, h) = lane.issue(i as i64).unwrap();
            pending.deliver(round * 1_000 + i as i64, None, &mut wakeups);
            assert!(h.free());
            old.push(h);
        }
    }
    for h in &old {
        assert!(h.read().is_none());
        assert!(!h.free());
    }
    // A live one among reused slots reads its own.
    let (pending, h) = test_pending(9);
    pending.deliver(77, None, &mut Wakeups::default());
    assert_eq!(h.read().unwrap().outcome().offset(), 77);
    assert!(old.iter().all(|o| *o != h));
    assert!(h.free());
}

#[test]
fn waiting_wakes_on_completion_and_times_out_otherwise() {
    let (pending, h) = test_pending(1);
    assert_eq!(h.wait(Some(Duration::from_millis(20))), Some(false));
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        let mut wakeups = Wakeups::default();
        pending.deliver(5, None, &mut wakeups);
        notify_completed(wakeups);
    });
    assert_eq!(h.wait(None), Some(true));
    assert_eq!(h.read().unwrap().outcome().offset(), 5);
    t.join().unwrap();
    assert!(h.free());
}

#[test]
fn many_threads_each_waiting_on_its_own_receipt_all_wake() {
    // Completed one at a time, in reverse order, each with its own notify:
    // every waiter must see its own completion, whatever shard it shares.
    let receipts: Vec<_> = (0..48).map(|_| test_pending(1)).collect();
    let waiters: Vec<_> = receipts.iter().map(|&(_, h)| std::thread::spawn(move || h.wait(Some(Duration::from_secs(20))))).collect();
    std::thread::sleep(Duration::from_millis(50));
    let completing = Instant::now();
    let mut handles = Vec::new();
    for (i, (pending, h)) in receipts.into_iter().enumerate().rev() {
        let mut wakeups = Wakeups::default();
        pending.deliver(i as i64, None, &mut wakeups);
        notify_completed(wakeups);
        handles.push(h);
    }
    for w in waiters {
        assert_eq!(w.join().unwrap(), Some(true));
    }
    // A missed wake-up would show as a wait that ran into its 20 s.
    assert!(completing.elapsed() < Duration::from_secs(10), "a waiter slept through its completion");
    assert!(handles.iter().all(|h| h.free()));
}

#[test]
fn readers_see_a_receipts_own_values_or_invalid_while_slots_are_freed_and_reused() {
    // One thread issues and completes receipts (offset = the record's
    // number, partition = its number's low bits) and frees most of them
    // at once; four threads read every handle ever issued, again and again.
    // A read must be the record's own values, or invalid: never another's.
    const RECORDS: usize = 40_000;
    let issued: Arc<Vec<std::sync::atomic::AtomicU64>> = Arc::new((0..RECORDS).map(|_| std::sync::atomic::AtomicU64::new(0)).collect());
    let done = Arc::new(AtomicBool::new(false));
    // Passes the readers have made: the issuer waits for more of them now and
    // then, so they read while it frees and reuses slots even on a machine
    // too busy to schedule them before the issuer is through.
    let passes = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let readers: Vec<_> = (0..4)
        .map(|r| {
            let (issued, done, passes) = (Arc::clone(&issued), Arc::clone(&done), Arc::clone(&passes));
            std::thread::spawn(move || {
                let (mut valid, mut invalid) = (0u64, 0u64);
                while !done.load(Ordering::Acquire) {
                    passes.fetch_add(1, Ordering::AcqRel);
                    for (n, raw) in issued.iter().enumerate().skip(r).step_by(3) {
                        let raw = raw.load(Ordering::Acquire);
                        if raw == 0 {
                            continue;
                        }
                        match Handle::from_raw(raw).read() {
                            Some(receipt) => {
                                valid += 1;
                                if receipt.outcome().is_completed() {
                                    assert_eq!(receipt.outcome().offset(), n as i64, "record {n} read another's offset");
                                    assert_eq!(receipt.timestamp(), 1_000 + n as i64);
                                }
                                assert!(receipt.partition() == -1 || receipt.partition() == (n % 7) as i32);
                            }
                            None => invalid += 1,
                        }
                    }
                }
                (valid, invalid)
            })
        })
        .collect();
    let mut lane = Lane::new(TopicLabel::new("stress"));
    let mut kept = Vec::new();
    for n in 0..RECORDS {
        let (pending, h) = lane.issue(1_000 + n as i64).unwrap();
        issued[n].store(h.into_raw(), Ordering::Release);
        pending.set_partition((n % 7) as i32);
        let mut wakeups = Wakeups::default();
        pending.deliver(n as i64, None, &mut wakeups);
        if n % 10 == 0 {
            kept.push((n, h));
        } else {
            assert!(h.free());
        }
        if n % 4_000 == 3_999 {
            let seen = passes.load(Ordering::Acquire);
            while passes.load(Ordering::Acquire) < seen + 4 {
                std::thread::yield_now();
            }
        }
    }
    done.store(true, Ordering::Release);
    let mut seen = (0, 0);
    for r in readers {
        let (valid, invalid) = r.join().unwrap();
        seen = (seen.0 + valid, seen.1 + invalid);
    }
    assert!(seen.0 > 0 && seen.1 > 0, "readers saw both kinds: {seen:?}");
    for (n, h) in kept {
        assert_eq!(h.read().unwrap().outcome().offset(), n as i64);
        assert!(h.free());
    }
}
