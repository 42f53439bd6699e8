//! TLS over a connection's socket, driven sans-IO: rustls encrypts and
//! decrypts in memory, and this file moves its records to and from the
//! socket with non-blocking calls. That keeps `Wire::send` what it is with
//! plain TCP: any thread writes what the socket takes now and leaves the
//! rest to the writer task, never waiting.
//!
//! The session is shared by the wire's writer side (encrypting requests)
//! and its reader task (decrypting answers) under one short lock.

use std::io::{self, IoSlice, Read, Write};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};

use crate::kafka::lock::Locked;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::TcpStream;

/// Plaintext rustls holds, encrypted, before the socket takes it: past this
/// a write takes less, and the wire keeps the rest in its outbound buffer.
const BUFFER_LIMIT: usize = 256 << 10;
/// Ciphertext read from the socket at once.
const READ_BYTES: usize = 64 << 10;

/// Why TLS failed: a handshake refused by either side, a certificate that
/// did not verify, an alert from the broker. The connection reports it as
/// `_SSL` with this text.
#[derive(Debug)]
pub struct TlsFailure(pub String);

impl std::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsFailure {}

impl TlsFailure {
    fn from_rustls(error: &rustls::Error) -> Self {
        TlsFailure(match error {
            rustls::Error::AlertReceived(alert) => format!("the broker refused the TLS session: alert {alert:?}"),
            other => other.to_string(),
        })
    }

    /// The TLS failure inside an I/O error, if that is what it is.
    pub fn within(error: &io::Error) -> Option<&TlsFailure> {
        error.get_ref().and_then(|inner| inner.downcast_ref::<TlsFailure>())
    }

    fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }
}

/// One TLS session on one socket.
pub struct TlsSession {
    tcp: Arc<TcpStream>,
    session: Mutex<ClientConnection>,
}

impl TlsSession {
    fn lock(&self) -> MutexGuard<'_, ClientConnection> {
        self.session.locked()
    }

    /// Encrypts as much of `pieces` as the session takes now and writes
    /// what the socket takes. `WouldBlock` when it took nothing.
    pub fn try_write_vectored(&self, pieces: &[IoSlice<'_>]) -> io::Result<usize> {
        let mut session = self.lock();
        self.flush(&mut session)?; // older records first
        let taken = session.writer().write_vectored(pieces)?;
        self.flush(&mut session)?;
        match taken {
            0 => Err(io::ErrorKind::WouldBlock.into()),
            n => Ok(n),
        }
    }

    /// Writes encrypted records the socket did not take before. True when
    /// none is left.
    pub fn flush_buffered(&self) -> io::Result<bool> {
        self.flush(&mut self.lock())
    }

    /// True while encrypted records wait for the socket.
    pub fn holds_bytes(&self) -> bool {
        self.lock().wants_write()
    }

    pub async fn writable(&self) -> io::Result<()> {
        self.tcp.writable().await
    }

    fn flush(&self, session: &mut ClientConnection) -> io::Result<bool> {
        while session.wants_write() {
            match session.write_tls(&mut SocketWriter(&self.tcp)) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

/// The reading side: decrypted answers, as an `AsyncRead` for the wire's
/// frame reader.
pub struct TlsReader {
    session: Arc<TlsSession>,
    ciphertext: Box<[u8]>,
    /// Ciphertext read but not yet given to rustls: `ciphertext[start..end]`.
    start: usize,
    end: usize,
}

impl AsyncRead for TlsReader {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            {
                let mut session = this.session.lock();
                match session.reader().read(buf.initialize_unfilled()) {
                    // n == 0: the broker closed the session (close_notify).
                    Ok(n) => {
                        buf.advance(n);
                        return Poll::Ready(Ok(()));
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Poll::Ready(Err(e)),
                }
                if this.start < this.end {
                    let mut unread = &this.ciphertext[this.start..this.end];
                    let taken = session.read_tls(&mut unread)?;
                    if taken == 0 {
                        // rustls takes something unless it is full, which it says as an error.
                        return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, "TLS: rustls took no bytes")));
                    }
                    this.start += taken;
                    if let Err(error) = session.process_new_packets() {
                        // Tell the broker why, if the socket takes it now.
                        let _ = this.session.flush(&mut session);
                        return Poll::Ready(Err(TlsFailure::from_rustls(&error).into_io()));
                    }
                    continue;
                }
            }
            ready!(this.session.tcp.poll_read_ready(cx))?;
            match this.session.tcp.try_read(&mut this.ciphertext) {
                Ok(0) => {
                    // End of stream: rustls tells a clean close from a cut one.
                    let mut session = this.session.lock();
                    session.read_tls(&mut io::empty())?;
                    if let Err(error) = session.process_new_packets() {
                        return Poll::Ready(Err(TlsFailure::from_rustls(&error).into_io()));
                    }
                    return match session.reader().read(buf.initialize_unfilled()) {
                        Ok(n) => {
                            buf.advance(n);
                            Poll::Ready(Ok(()))
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Poll::Ready(Ok(())),
                        Err(e) => Poll::Ready(Err(e)),
                    };
                }
                Ok(n) => (this.start, this.end) = (0, n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

/// Runs the TLS handshake on a connected socket, checking the broker's
/// certificate against `address`'s host. Bounded by the caller's timeout.
pub async fn handshake(tcp: TcpStream, config: &Arc<ClientConfig>, address: &str) -> Result<(TlsReader, Arc<TlsSession>), TlsFailure> {
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(host.to_owned()).map_err(|_| TlsFailure(format!("\"{host}\" is not a host name or IP address")))?;
    let mut session = ClientConnection::new(Arc::clone(config), name).map_err(|e| TlsFailure::from_rustls(&e))?;
    session.set_buffer_limit(Some(BUFFER_LIMIT));
    let cut = |e: io::Error| TlsFailure(format!("the TLS handshake was cut: {e}"));
    loop {
        while session.wants_write() {
            match session.write_tls(&mut SocketWriter(&tcp)) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => tcp.writable().await.map_err(cut)?,
                Err(e) => return Err(cut(e)),
            }
        }
        if !session.is_handshaking() {
            break;
        }
        tcp.readable().await.map_err(cut)?;
        match session.read_tls(&mut SocketReader(&tcp)) {
            Ok(0) => return Err(TlsFailure("the broker closed the connection during the TLS handshake".into())),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(cut(e)),
        }
        if let Err(error) = session.process_new_packets() {
            let _ = session.write_tls(&mut SocketWriter(&tcp)); // the alert, if it goes now
            return Err(TlsFailure::from_rustls(&error));
        }
    }
    let tcp = Arc::new(tcp);
    let session = Arc::new(TlsSession { tcp, session: Mutex::new(session) });
    let reader = TlsReader { session: Arc::clone(&session), ciphertext: vec![0; READ_BYTES].into_boxed_slice(), start: 0, end: 0 };
    Ok((reader, session))
}

/// `io::Write` over a non-blocking socket, for rustls's `write_tls`.
struct SocketWriter<'a>(&'a TcpStream);

impl Write for SocketWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `io::Read` over a non-blocking socket, for rustls's `read_tls`.
struct SocketReader<'a>(&'a TcpStream);

impl Read for SocketReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}
