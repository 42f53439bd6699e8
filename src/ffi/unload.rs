//! The library's unload (dlclose): the receipt table is freed if no
//! Response is held, so that a host that loads and unloads the library
//! again and again leaks nothing. The table is never freed while it is
//! loaded (stale Response handles are checked against it); with Responses
//! still held at unload, it is left as it is (the host leaked them).

/// Run by the dynamic loader when the library is unloaded (and at exit).
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
#[used]
#[link_section = ".fini_array"]
#[allow(unsafe_code)]
static FREE_RECEIPTS_AT_UNLOAD: extern "C" fn() = free_receipts;

// Elsewhere (Windows: no .fini_array) nothing runs it: the table stays after an
// unload, as it stays while the library is loaded.
#[cfg_attr(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")), allow(dead_code))]
extern "C" fn free_receipts() {
    super::boundary::guard((), || {
        for chunk in crate::kafka::receipt::unload() {
            // SAFETY: made by Box::leak in the receipt pool and handed back
            // once; no receipt is held, and none can be made any more.
            #[allow(unsafe_code)]
            drop(unsafe { Box::from_raw(chunk.into_raw()) });
        }
    })
}
