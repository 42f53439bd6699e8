//! Generates `include/ablkafka.h` from the `extern "C"` functions in `src/ffi/`.
//!
//! The header is committed. It is rewritten only when its text changes, so a
//! clean build leaves the work tree untouched; CI fails when `git diff` shows
//! that the committed header was stale.
//!
//! Beside what cbindgen makes of `src/ffi/`, the header gets the version as
//! macros and every error code of the library's one table
//! (`src/kafka/error/codes.rs`, compiled into this build script, so the
//! constants cannot drift from what `ablkafka_err2name` answers) as
//! `ABLKAFKA_ERR_<name>` constants; a negative constant is parenthesised.
//!
//! It also gives the shared library its SONAME, `libablkafka.so.<abi>`, where
//! `<abi>` is the part of the version that Cargo's compatibility rules treat
//! as breaking: the major number, or `0.<minor>` while the major is 0 (0.1.x
//! and 0.2.x are incompatible). `make lib` adds the `libablkafka.so.<abi>`
//! link beside target/release/libablkafka.so; `make install` installs
//! `libablkafka.so.<version>` with both links. The symbols' versions come
//! from `abi/ablkafka.map` (scripts/linker.sh); the build fails when that list
//! and the header's functions differ, so a new function cannot be left out
//! (it would be hidden) and a removed one cannot stay listed.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;

/// The library's error code type, which the table builds on.
#[path = "src/kafka/error/code.rs"]
#[allow(dead_code)]
mod code;

/// The table's macro, here making only the list of (number, name, message).
macro_rules! error_codes {
    ($( ($konst:ident, $num:literal, $name:literal, $msg:literal) ),* $(,)?) => {
        pub(super) static TABLE: &[(i32, &str, &str)] = &[ $( ($num, $name, $msg) ),* ];
    };
}

/// The library's one error table, the same file `kafka::error` reads.
#[path = "src/kafka/error/codes.rs"]
#[allow(unused_imports)]
mod codes;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets this"));
    let version = std::env::var("CARGO_PKG_VERSION").expect("cargo sets this");
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=src/kafka/error/code.rs");
    println!("cargo:rerun-if-changed=src/kafka/error/codes.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=abi/ablkafka.map");

    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(os.as_str(), "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly" | "illumos" | "solaris") {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets this");
        let minor = std::env::var("CARGO_PKG_VERSION_MINOR").expect("cargo sets this");
        let abi = if major == "0" { format!("0.{minor}") } else { major };
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libablkafka.so.{abi}");
    }

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml is valid");
    let generated = format!("\n{}\n{}", version_macros(&version), error_constants());
    config.after_includes = Some(match config.after_includes.take() {
        Some(text) => format!("{generated}\n{text}"),
        None => generated,
    });

    // Only the C layer is parsed: the core's public items are not C API.
    let header = match cbindgen::Builder::new().with_src(crate_dir.join("src").join("ffi").join("mod.rs")).with_config(config).generate() {
        Ok(bindings) => bindings,
        Err(err) => panic!("cbindgen could not generate the header: {err}"),
    };
    let mut text = Vec::new();
    header.write(&mut text);
    let text = parenthesise_negative_defines(&String::from_utf8(text).expect("cbindgen writes UTF-8"));

    let map_path = crate_dir.join("abi").join("ablkafka.map");
    let map = std::fs::read_to_string(&map_path).expect("abi/ablkafka.map is readable");
    check_version_script(&header_functions(&text), &version_script_names(&map));

    let path = crate_dir.join("include").join("ablkafka.h");
    if std::fs::read(&path).ok().as_deref() != Some(text.as_bytes()) {
        std::fs::write(&path, &text).expect("include/ablkafka.h is writable");
    }
}

/// ABLKAFKA_VERSION and its parts, from Cargo.toml's version.
fn version_macros(version: &str) -> String {
    let parts: Vec<u32> = version
        .split(['.', '-', '+'])
        .take(3)
        .map(|p| p.parse().unwrap_or_else(|_| panic!("version {version}: major.minor.patch must be numbers")))
        .collect();
    let [major, minor, patch] = parts[..] else { panic!("version {version} has not three parts") };
    assert!(major < 256 && minor < 256 && patch < 256, "version {version}: ABLKAFKA_VERSION_NUM keeps each part in a byte");
    format!(
        "/** The library's version, equal to ablkafka_version() of the library this header \
         comes with (Cargo.toml's version). */\n\
         #define ABLKAFKA_VERSION \"{version}\"\n\
         /** The version's major number. */\n\
         #define ABLKAFKA_VERSION_MAJOR {major}\n\
         /** The version's minor number. */\n\
         #define ABLKAFKA_VERSION_MINOR {minor}\n\
         /** The version's patch number. */\n\
         #define ABLKAFKA_VERSION_PATCH {patch}\n\
         /** The version as one number, 0xMMmmpp (a byte each for major, minor and patch), \
         for `#if ABLKAFKA_VERSION_NUM >= 0x000100`. */\n\
         #define ABLKAFKA_VERSION_NUM 0x{major:02x}{minor:02x}{patch:02x}\n"
    )
}

/// One constant per code of the table: `ABLKAFKA_ERR_` and librdkafka's name, so
/// `_MSG_TIMED_OUT` (-192) is `ABLKAFKA_ERR__MSG_TIMED_OUT`, as librdkafka's
/// `RD_KAFKA_RESP_ERR__MSG_TIMED_OUT`.
fn error_constants() -> String {
    let mut out = String::from(
        "/**\n * @name Error codes\n * Every code of the library's error table: librdkafka's rd_kafka_resp_err_t \
         numbers and names\n * (`ABLKAFKA_ERR_` + ablkafka_err2name()). 0 is success, negative codes are \
         local, positive\n * codes are the broker's Kafka protocol codes. Each comment is ablkafka_err2str()'s \
         text.\n * @{\n */\n",
    );
    for &(number, name, message) in codes::TABLE {
        assert!(
            name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
            "error name {name} does not make a C identifier"
        );
        let value = if number < 0 { format!("({number})") } else { number.to_string() };
        let _ = write!(out, "/** {message} */\n#define ABLKAFKA_ERR_{name} {value}\n");
    }
    out.push_str("/** @} */\n");
    out
}

/// `#define NAME -1` becomes `#define NAME (-1)`: a bare negative number would
/// bind wrongly in an expression such as `x-ABLKAFKA_PARTITION_UNASSIGNED`.
fn parenthesise_negative_defines(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    for line in header.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let words: Vec<&str> = body.split_whitespace().collect();
        match words[..] {
            ["#define", name, value] if value.starts_with('-') && value[1..].bytes().all(|b| b.is_ascii_digit()) => {
                let _ = write!(out, "#define {name} ({value})");
                out.push_str(&line[body.len()..]);
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// The functions the header declares: the identifier before "(" on each
/// declaration line (cbindgen writes one declaration a line).
fn header_functions(header: &str) -> BTreeSet<String> {
    header
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_alphabetic()) && !l.starts_with("typedef"))
        .filter_map(|l| {
            let before = &l[..l.find('(')?];
            let name = before.rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next()?;
            (!name.is_empty()).then(|| name.to_string())
        })
        .collect()
}

/// The names a version script makes global, in any of its nodes.
fn version_script_names(map: &str) -> BTreeSet<String> {
    let mut text = String::new();
    let mut rest = map;
    while let Some(start) = rest.find("/*") {
        text.push_str(&rest[..start]);
        let end = rest[start..].find("*/").expect("abi/ablkafka.map: a comment is not closed");
        rest = &rest[start + end + 2..];
    }
    text.push_str(rest);
    let text = text.replace('}', " } ").replace(['{', ';'], " ");
    let mut names = BTreeSet::new();
    let mut global = false;
    for word in text.split_whitespace() {
        match word {
            "global:" => global = true,
            "local:" | "}" => global = false,
            _ if global => {
                names.insert(word.to_string());
            }
            _ => {}
        }
    }
    names
}

fn check_version_script(header: &BTreeSet<String>, map: &BTreeSet<String>) {
    let missing: Vec<&String> = header.difference(map).collect();
    let extra: Vec<&String> = map.difference(header).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "abi/ablkafka.map must list exactly the functions of include/ablkafka.h: \
         not listed (they would not be exported): {missing:?}; listed but not in the header: {extra:?}. \
         A new function goes into the node of the version that first has it."
    );
}
