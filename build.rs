//! Generates `include/ablkafka.h` from the `extern "C"` functions in `src/ffi/`.
//!
//! The header is committed. It is rewritten only when its text changes, so a
//! clean build leaves the work tree untouched; CI fails when `git diff` shows
//! that the committed header was stale.
//!
//! It also gives the shared library its SONAME, `libablkafka.so.<abi>`, where
//! `<abi>` is the part of the version that Cargo's compatibility rules treat
//! as breaking: the major number, or `0.<minor>` while the major is 0 (0.1.x
//! and 0.2.x are incompatible). `make lib` adds the `libablkafka.so.<abi>`
//! link beside target/release/libablkafka.so; `make install` installs
//! `libablkafka.so.<version>` with both links.

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets this"));
    let version = std::env::var("CARGO_PKG_VERSION").expect("cargo sets this");
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");

    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(os.as_str(), "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly" | "illumos" | "solaris") {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets this");
        let minor = std::env::var("CARGO_PKG_VERSION_MINOR").expect("cargo sets this");
        let abi = if major == "0" { format!("0.{minor}") } else { major };
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libablkafka.so.{abi}");
    }

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml is valid");
    let version_macro = format!("#define ABLKAFKA_VERSION \"{version}\"");
    config.after_includes = Some(match config.after_includes.take() {
        Some(text) => format!("{version_macro}\n{text}"),
        None => version_macro,
    });

    // Only the C layer is parsed: the core's public items are not C API.
    let header = match cbindgen::Builder::new().with_src(crate_dir.join("src").join("ffi").join("mod.rs")).with_config(config).generate() {
        Ok(bindings) => bindings,
        Err(err) => panic!("cbindgen could not generate the header: {err}"),
    };
    let path = crate_dir.join("include").join("ablkafka.h");
    let mut text = Vec::new();
    header.write(&mut text);
    if std::fs::read(&path).ok().as_deref() != Some(text.as_slice()) {
        std::fs::write(&path, &text).expect("include/ablkafka.h is writable");
    }
}
