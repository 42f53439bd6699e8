//! Reading the `ssl.*.location` files with a bound: only regular files, at
//! most `MAX_PEM_FILE_BYTES` each, opened without blocking. A device
//! (`/dev/zero`), a FIFO or a huge file named by an option is refused at
//! once, naming the option and the file; in a CA directory such entries
//! are skipped, so `/dev` or `/proc` as ssl.ca.location never hangs the
//! build (librdkafka refuses `/dev/zero` and builds with those directories).

use std::fs::{File, OpenOptions};
use std::io::Read;
#[cfg(unix)]
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The largest certificate or key file read: a system CA bundle is a few
/// hundred KiB.
pub const MAX_PEM_FILE_BYTES: u64 = 10 << 20;

/// The bytes of the regular file at `path`, named `what` in errors
/// (`ssl.ca.location: /dev/zero`).
pub fn read_pem_file(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    let metadata = std::fs::metadata(path).map_err(|e| format!("{what}: {e}"))?;
    if !metadata.is_file() {
        return Err(format!("{what}: not a regular file"));
    }
    if metadata.len() > MAX_PEM_FILE_BYTES {
        return Err(format!("{what}: {} bytes, more than the {MAX_PEM_FILE_BYTES} a certificate or key file may have", metadata.len()));
    }
    let file = open_without_blocking(path).map_err(|e| format!("{what}: {e}"))?;
    // A file that grows meanwhile, or one whose size the kernel does not
    // tell (/proc), is still read only up to the bound.
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(MAX_PEM_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| format!("{what}: {e}"))?;
    if bytes.len() as u64 > MAX_PEM_FILE_BYTES {
        return Err(format!("{what}: more than the {MAX_PEM_FILE_BYTES} bytes a certificate or key file may have"));
    }
    Ok(bytes)
}

/// Opens for reading with O_NONBLOCK where there is one: a FIFO put in
/// place after the check, or a file whose reads wait (/proc/kmsg), then
/// fails or reads what is there instead of blocking the build.
fn open_without_blocking(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    options.custom_flags(libc::O_NONBLOCK);
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn devices_directories_and_huge_files_are_refused_at_once_naming_the_file() {
        let started = Instant::now();
        for (path, why) in [("/dev/zero", "not a regular file"), ("/dev/null", "not a regular file"), ("/dev", "not a regular file")] {
            let error = read_pem_file(Path::new(path), &format!("ssl.ca.location: {path}")).unwrap_err();
            assert_eq!(error, format!("ssl.ca.location: {path}: {why}"));
        }
        let dir = std::env::temp_dir().join(format!("ablkafka-pem-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let big = dir.join("big.pem");
        std::fs::File::create(&big).unwrap().set_len(MAX_PEM_FILE_BYTES + 1).unwrap();
        let error = read_pem_file(&big, "ssl.key.location: big.pem").unwrap_err();
        assert!(error.starts_with("ssl.key.location: big.pem: 10485761 bytes, more than"), "{error}");
        let fifo = dir.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        assert_eq!(read_pem_file(&fifo, "ssl.ca.location: fifo").unwrap_err(), "ssl.ca.location: fifo: not a regular file");
        let small = dir.join("small.pem");
        std::fs::write(&small, b"-----BEGIN CERTIFICATE-----").unwrap();
        assert_eq!(read_pem_file(&small, "x").unwrap(), b"-----BEGIN CERTIFICATE-----");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(started.elapsed() < Duration::from_secs(5), "nothing waited: {:?}", started.elapsed());
    }

    #[test]
    fn a_proc_file_of_unknown_size_is_read_up_to_the_bound() {
        let bytes = read_pem_file(Path::new("/proc/self/status"), "x").unwrap();
        assert!(!bytes.is_empty() && (bytes.len() as u64) < MAX_PEM_FILE_BYTES);
    }
}
