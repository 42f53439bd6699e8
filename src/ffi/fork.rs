//! fork(): a producer made before a fork belongs to the parent.
//!
//! The child gets a copy of the producer's memory but not its background
//! thread, so the copy can never deliver, and joining its thread would wait
//! forever. A process-wide fork generation, bumped by a pthread_atfork
//! child handler, lets every producer function tell that its producer was
//! made in an ancestor process and refuse it: calls return -186, and
//! `producer_free` leaves the copy alone instead of closing it.
//!
//! The handler is registered once per load of the library, on the first
//! build. glibc removes a library's atfork handlers when it is unloaded by
//! dlclose, so an unloaded library leaves no handler behind (the dlopen test
//! forks after dlclose to check this).
//!
//! Only Unix has fork() and pthread_atfork; elsewhere (Windows) the
//! generation never moves and every producer is the process's own.

use std::sync::atomic::{AtomicU64, Ordering};

static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The current fork generation, registering the atfork handler first if
/// this is the first call. Compare a producer's generation with it.
pub(crate) fn generation() -> u64 {
    #[cfg(unix)]
    register_atfork_handler();
    GENERATION.load(Ordering::Acquire)
}

#[cfg(unix)]
static REGISTER: std::sync::Once = std::sync::Once::new();

#[cfg(unix)]
extern "C" fn in_child_after_fork() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

#[cfg(unix)]
#[allow(unsafe_code)]
fn register_atfork_handler() {
    REGISTER.call_once(|| {
        // SAFETY: registers a handler that only touches an atomic; the
        // function lives as long as the library (glibc unregisters it at dlclose).
        let rc = unsafe { libc::pthread_atfork(None, None, Some(in_child_after_fork)) };
        // Only ENOMEM can fail here; then fork detection is off, nothing else.
        let _ = rc;
    });
}

/// True when a producer made at `born` was made in this process, not
/// inherited from a parent across fork().
pub(crate) fn is_ours(born: u64) -> bool {
    GENERATION.load(Ordering::Acquire) == born
}
