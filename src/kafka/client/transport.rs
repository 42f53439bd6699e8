//! The byte stream under a connection: plain TCP, or TLS over TCP, as
//! security.protocol says. Every connection, to a bootstrap server or to a
//! leader, is opened here, so none can bypass the configured protocol.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::ClientConfig;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use super::connection::BrokerError;
use super::tls::{self, TlsReader, TlsSession};
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
pub async fn connect(address: &str, tls: Option<&Arc<ClientConfig>>, timeout: Duration) -> Result<(Inlet, Outlet), BrokerError> {
    let opening = async {
        let stream = TcpStream::connect(address)
            .await
            .map_err(|e| BrokerError::new(ErrorCode::TRANSPORT, address, format_args!("connect failed: {e}")))?;
        stream.set_nodelay(true).map_err(|e| BrokerError::new(ErrorCode::TRANSPORT, address, e))?;
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
