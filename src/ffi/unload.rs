//! The library's unload (dlclose): the receipt table and the failed
//! receipts' messages are freed if no Response is held, so that a host
//! that loads and unloads the library again and again leaks nothing. They
//! are never freed while it is loaded (stale Response handles are checked
//! against the table); with Responses still held at unload, they are left
//! as they are (the host leaked them).

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
        let unloaded = crate::kafka::receipt::unload();
        for chunk in unloaded.chunks {
            // SAFETY: made by Box::leak in the receipt pool and handed back
            // once; no receipt is held, and none can be made any more.
            #[allow(unsafe_code)]
            drop(unsafe { Box::from_raw(chunk.into_raw()) });
        }
        for text in unloaded.texts {
            // SAFETY: as above, made by Box::leak in the receipts' text
            // table; no receipt is left to name it.
            #[allow(unsafe_code)]
            drop(unsafe { Box::from_raw(text.into_raw()) });
        }
    })
}
