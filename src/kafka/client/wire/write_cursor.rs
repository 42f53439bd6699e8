//! How far a vectored write of a request's pieces has got, across the
//! partial writes a non-blocking socket makes.

use std::io::IoSlice;

/// At most this many pieces go to one vectored write (IOV_MAX is 1024).
const MAX_WRITE_PIECES: usize = 64;

/// Where a write of a list of pieces has got to.
#[derive(Default)]
pub(super) struct WriteCursor {
    index: usize,
    offset: usize,
}

impl WriteCursor {
    /// What is left, as at most MAX_WRITE_PIECES slices; empty when done.
    pub(super) fn pending<'p>(&mut self, parts: &[&'p [u8]]) -> Vec<IoSlice<'p>> {
        self.pending_all(parts).into_iter().take(MAX_WRITE_PIECES).map(IoSlice::new).collect()
    }

    /// Everything that is left.
    pub(super) fn pending_all<'p>(&mut self, parts: &[&'p [u8]]) -> Vec<&'p [u8]> {
        while self.index < parts.len() && self.offset == parts[self.index].len() {
            self.index += 1;
            self.offset = 0;
        }
        match parts.get(self.index) {
            Some(first) => std::iter::once(&first[self.offset..]).chain(parts[self.index + 1..].iter().copied()).collect(),
            None => Vec::new(),
        }
    }

    pub(super) fn advance(&mut self, parts: &[&[u8]], mut written: usize) {
        while written > 0 {
            let left = parts[self.index].len() - self.offset;
            if written < left {
                self.offset += written;
                written = 0;
            } else {
                written -= left;
                self.index += 1;
                self.offset = 0;
            }
        }
    }
}
