//! Who drains the accumulator now (`drain`): franz-go's
//! `maybeBegin`/`maybeFinish`. A thread that asks while another drains
//! leaves the work to that one, which drains again before it lets go. A
//! leaf, so that `Shared` can hold it without importing the drain.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Who drains: the count of drains asked for since the holder began its
/// current pass; 0 when nobody drains.
#[derive(Debug, Default)]
pub(super) struct DrainClaim(AtomicUsize);

impl DrainClaim {
    /// Asks for a drain: the claim, held, when this thread must drain; None
    /// when another drains and will look again.
    pub fn ask(&self) -> Option<Holding<'_>> {
        (self.0.fetch_add(1, Ordering::AcqRel) == 0).then_some(Holding(self))
    }

    /// The asks a pass beginning now answers.
    fn asked(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }

    /// After a pass that answered `asked` asks: true when none came
    /// meanwhile and the claim is let go, false when another pass is due.
    fn finish(&self, asked: usize) -> bool {
        self.0.fetch_sub(asked, Ordering::AcqRel) == asked
    }
}

/// The claim held: lets it go if a pass panics, so that the next drain can run.
pub(super) struct Holding<'a>(&'a DrainClaim);

impl Holding<'_> {
    pub fn asked(&self) -> usize {
        self.0.asked()
    }

    pub fn finish(&self, asked: usize) -> bool {
        self.0.finish(asked)
    }
}

impl Drop for Holding<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0 .0.store(0, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ask_while_another_drains_makes_the_holder_drain_again() {
        let claim = DrainClaim::default();
        let holding = claim.ask().expect("the first ask holds the claim");
        let asked = holding.asked();
        assert!(claim.ask().is_none(), "a second ask while held is left to the holder");
        assert!(!holding.finish(asked), "the holder must drain again for the second ask");
        let asked = holding.asked();
        assert!(holding.finish(asked), "no ask came during the second pass");
        drop(holding);
        assert!(claim.ask().is_some(), "a let-go claim is taken by the next ask");
    }

    #[test]
    fn a_panicking_pass_lets_the_claim_go() {
        let claim = DrainClaim::default();
        let result = std::panic::catch_unwind(|| {
            let _holding = claim.ask().expect("a free claim");
            panic!("a pass panicked");
        });
        assert!(result.is_err());
        assert!(claim.ask().is_some(), "the claim was let go by the panic");
    }
}
