//! The byte stream under a connection: plain TCP, or TLS over TCP, as
//! security.protocol says. Every connection, to a bootstrap server or to a
//! leader, is opened here, so none can bypass the configured protocol.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::ClientConfig;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};

use super::error::BrokerError;
use super::tls::{self, TlsReader, TlsSession};
use crate::kafka::config::socket::{AddressFamily, SocketOptions};
use crate::kafka::error::ErrorCode;

/// Where a connection's answers come from.
pub enum Inlet {
    Plain(OwnedReadHalf),
    Tls(TlsReader),
}

/// Where a connection's requests go.
pub enum Outlet {
    Plain(OwnedWriteHalf),
    Tls(Arc<TlsSession>),
}

/// Connects to `address` and, with `tls`, runs the TLS handshake; both
/// within `timeout`. A failed handshake is `_SSL`, anything before it
/// `_TRANSPORT`.
pub async fn connect(
    address: &str,
    socket: &SocketOptions,
    tls: Option<&Arc<ClientConfig>>,
    timeout: Duration,
) -> Result<(Inlet, Outlet), BrokerError> {
    let opening = async {
        let stream = open_tcp(address, socket).await?;
        Ok(match tls {
            None => {
                let (reader, writer) = stream.into_split();
                (Inlet::Plain(reader), Outlet::Plain(writer))
            }
            Some(config) => {
                let (reader, session) = tls::handshake(stream, config, address)
                    .await
                    .map_err(|e| BrokerError::new(ErrorCode::SSL, address, format_args!("SSL handshake failed: {e}")))?;
                (Inlet::Tls(reader), Outlet::Tls(session))
            }
        })
    };
    match tokio::time::timeout(timeout, opening).await {
        Ok(opened) => opened,
        Err(_) => Err(BrokerError::new(ErrorCode::TRANSPORT, address, format_args!("connect timed out after {timeout:?}"))),
    }
}

/// Resolves `address` and connects to the first of its addresses of the
/// allowed family that accepts, as librdkafka does.
async fn open_tcp(address: &str, options: &SocketOptions) -> Result<TcpStream, BrokerError> {
    let failed = |e: &dyn std::fmt::Display| BrokerError::new(ErrorCode::TRANSPORT, address, format_args!("connect failed: {e}"));
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host(address).await.map_err(|e| failed(&e))?.collect();
    let mut last_error = None;
    for peer in resolved.iter().filter(|peer| options.family.allows(peer)) {
        match connect_one(*peer, options).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last_error = Some(e),
        }
    }
    Err(match last_error {
        Some(e) => failed(&e),
        None => {
            let family = AddressFamily::NAMES[options.family as usize];
            failed(&format_args!("no address of broker.address.family={family} among {resolved:?}"))
        }
    })
}

/// One TCP connection with the options set; the buffer sizes before the
/// connect, since the window scale is agreed in the handshake.
async fn connect_one(peer: SocketAddr, options: &SocketOptions) -> io::Result<TcpStream> {
    let socket = match peer {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_keepalive(options.keepalive)?;
    if let Some(size) = options.send_buffer {
        socket.set_send_buffer_size(size)?;
    }
    if let Some(size) = options.receive_buffer {
        socket.set_recv_buffer_size(size)?;
    }
    let stream = socket.connect(peer).await?;
    stream.set_nodelay(options.nodelay)?;
    Ok(stream)
}

impl AsyncRead for Inlet {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Inlet::Plain(half) => Pin::new(half).poll_read(cx, buf),
            Inlet::Tls(reader) => Pin::new(reader).poll_read(cx, buf),
        }
    }
}

impl Outlet {
    /// Writes what the stream takes now, without waiting: `WouldBlock` when
    /// it takes nothing.
    pub fn try_write_vectored(&self, pieces: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Outlet::Plain(half) => half.try_write_vectored(pieces),
            Outlet::Tls(session) => session.try_write_vectored(pieces),
        }
    }

    /// Writes bytes the stream took but kept (TLS records the socket did
    /// not take yet). True when none is left.
    pub fn flush_buffered(&self) -> io::Result<bool> {
        match self {
            Outlet::Plain(_) => Ok(true),
            Outlet::Tls(session) => session.flush_buffered(),
        }
    }

    /// True while the stream keeps bytes the socket has not taken.
    pub fn holds_bytes(&self) -> bool {
        match self {
            Outlet::Plain(_) => false,
            Outlet::Tls(session) => session.holds_bytes(),
        }
    }

    pub async fn writable(&self) -> io::Result<()> {
        match self {
            Outlet::Plain(half) => half.writable().await,
            Outlet::Tls(session) => session.writable().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use socket2::SockRef;
    use tokio::net::TcpListener;

    async fn listener() -> (TcpListener, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        (listener, address)
    }

    /// The options of the socket under a plain connection.
    fn socket_of(inlet: &Inlet) -> SockRef<'_> {
        match inlet {
            Inlet::Plain(reader) => SockRef::from(reader.as_ref()),
            Inlet::Tls(_) => panic!("a plain connection was asked for"),
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn librdkafkas_defaults_turn_nagle_off_and_keepalive_off() {
        let (_listener, address) = listener().await;
        let (inlet, _outlet) = connect(&address, &SocketOptions::default(), None, Duration::from_secs(10)).await.unwrap();
        let socket = socket_of(&inlet);
        assert!(socket.tcp_nodelay().unwrap(), "socket.nagle.disable=true");
        assert!(!socket.keepalive().unwrap(), "socket.keepalive.enable=false");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn socket_options_reach_the_socket() {
        let (_listener, address) = listener().await;
        let options = SocketOptions {
            keepalive: true,
            nodelay: false,
            send_buffer: Some(50_000),
            receive_buffer: Some(60_000),
            family: AddressFamily::Any,
        };
        let (inlet, _outlet) = connect(&address, &options, None, Duration::from_secs(10)).await.unwrap();
        let socket = socket_of(&inlet);
        assert!(socket.keepalive().unwrap());
        assert!(!socket.tcp_nodelay().unwrap());
        // Linux reports twice the size asked for (its bookkeeping overhead).
        let send = socket.send_buffer_size().unwrap();
        let receive = socket.recv_buffer_size().unwrap();
        assert!((50_000..=100_000).contains(&send), "SO_SNDBUF {send}");
        assert!((60_000..=120_000).contains(&receive), "SO_RCVBUF {receive}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn only_addresses_of_the_allowed_family_are_tried() {
        let (_listener, address) = listener().await;
        for family in [AddressFamily::Any, AddressFamily::V4] {
            let options = SocketOptions { family, ..SocketOptions::default() };
            assert!(connect(&address, &options, None, Duration::from_secs(10)).await.is_ok(), "{family:?}");
        }
        let options = SocketOptions { family: AddressFamily::V6, ..SocketOptions::default() };
        let Err(refused) = connect(&address, &options, None, Duration::from_secs(10)).await else { panic!("v6 connected to {address}") };
        assert_eq!(refused.code, ErrorCode::TRANSPORT);
        assert!(refused.detail.contains("no address of broker.address.family=v6"), "{}", refused.detail);
    }
}
