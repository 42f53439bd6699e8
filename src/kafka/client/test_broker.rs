//! A scripted broker for tests over real sockets (test builds only). It
//! answers ApiVersions and Metadata (itself as the only broker, and the
//! script's topic if it has one), Produce only as the script says, a SASL
//! login (PLAIN, or SCRAM's first step) when the script has one, nothing
//! else (FindCoordinator is accepted in its ApiVersions, never answered),
//! and records every request and how many connections it accepted and saw
//! closed.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::kafka::protocol::api_versions;
use crate::kafka::protocol::primitives::{Decoder, Encoder};

/// How the broker departs from a good one.
#[derive(Clone, Copy, Debug, Default)]
pub struct Script {
    /// ApiVersions v3 is answered UNSUPPORTED_VERSION in v0's format, as
    /// brokers before Kafka 2.4 do.
    pub refuses_api_versions_v3: bool,
    /// ApiVersions is never answered.
    pub ignores_api_versions: bool,
    /// Metadata is never answered.
    pub ignores_metadata: bool,
    /// A topic with one partition, led by this broker, in every Metadata answer.
    pub topic: Option<&'static str>,
    /// On reading a Produce request, stops reading that connection, and
    /// keeps it open: a broker that froze, whose socket buffers fill.
    pub stops_reading_at_produce: bool,
    /// Answers the n-th Produce request (from 0, over every connection)
    /// of `version` with the body this returns; without it, Produce is
    /// never answered.
    pub answers_produce: Option<fn(n: usize, version: i16) -> Vec<u8>>,
    /// How it answers SaslHandshake and SaslAuthenticate; without it, it
    /// never does.
    pub sasl: Option<SaslScript>,
}

/// A SASL login as the broker plays it.
#[derive(Clone, Copy, Debug, Default)]
pub struct SaslScript {
    /// The session lifetime in every successful SaslAuthenticate answer (KIP-368).
    pub session_lifetime_ms: i64,
    /// SaslHandshake is never answered.
    pub ignores_handshake: bool,
    /// SCRAM's first server message asks for this many iterations, and the
    /// client's proof is then refused (SASL_AUTHENTICATION_FAILED); without
    /// it the login is PLAIN's, accepted whatever the password.
    pub scram_iterations: Option<u32>,
}

/// The highest Metadata version it speaks: v4 carries allow_auto_topic_creation.
pub const METADATA_VERSION: i16 = 4;

/// The API keys it knows, spelled out here as a broker has them, not
/// borrowed from the client's own message types.
pub const PRODUCE: i16 = 0;
pub const METADATA: i16 = 3;
pub const API_VERSIONS: i16 = 18;
pub const SASL_HANDSHAKE: i16 = 17;
pub const SASL_AUTHENTICATE: i16 = 36;
/// Listed in its ApiVersions, never answered: a coordinator that is never found.
pub const FIND_COORDINATOR: i16 = 10;

/// One request as the broker read it.
#[derive(Clone, Debug)]
pub struct Received {
    /// 1 for the first connection accepted, and so on.
    pub connection: usize,
    pub api_key: i16,
    pub version: i16,
    /// The frame after its size: request header, then body.
    pub frame: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct Seen {
    pub requests: Vec<Received>,
    pub accepted: usize,
    /// Connections that ended (the client closed them).
    pub ended: usize,
}

pub struct TestBroker {
    pub address: String,
    seen: Arc<Mutex<Seen>>,
}

impl TestBroker {
    /// Listens on a free loopback port and serves on the current runtime.
    pub async fn start(script: Script) -> TestBroker {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let connection = {
                    let mut seen = shared.lock().unwrap();
                    seen.accepted += 1;
                    seen.accepted
                };
                tokio::spawn(serve(stream, connection, script, port, Arc::clone(&shared)));
            }
        });
        TestBroker { address: format!("127.0.0.1:{port}"), seen }
    }

    pub fn seen(&self) -> MutexGuard<'_, Seen> {
        self.seen.lock().unwrap()
    }

    /// Waits up to `limit` for `done` to hold of what the broker has seen.
    pub async fn wait_for(&self, limit: Duration, done: impl Fn(&Seen) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        while !done(&self.seen()) {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }
}

async fn serve(mut stream: TcpStream, connection: usize, script: Script, port: u16, seen: Arc<Mutex<Seen>>) {
    while let Ok(size) = stream.read_i32().await {
        let mut frame = vec![0; size.max(0) as usize];
        if stream.read_exact(&mut frame).await.is_err() {
            break;
        }
        let mut d = Decoder::new(&frame);
        let (api_key, version, correlation_id) = (d.i16().unwrap(), d.i16().unwrap(), d.i32().unwrap());
        let produced_before = {
            let mut seen = seen.lock().unwrap();
            seen.requests.push(Received { connection, api_key, version, frame: frame.clone() });
            seen.requests.iter().filter(|r| r.api_key == PRODUCE).count().saturating_sub(1)
        };
        let body = match api_key {
            API_VERSIONS if !script.ignores_api_versions => api_versions_answer(version, script.refuses_api_versions_v3),
            METADATA if !script.ignores_metadata => metadata_answer(version, port, script.topic),
            PRODUCE if script.stops_reading_at_produce => {
                // Holds the connection open, unread, until the test ends.
                std::future::pending::<()>().await;
                unreachable!()
            }
            PRODUCE => match script.answers_produce {
                Some(answer) => answer(produced_before, version),
                None => continue,
            },
            SASL_HANDSHAKE => match script.sasl {
                Some(sasl) if !sasl.ignores_handshake => handshake_answer(&frame),
                _ => continue,
            },
            SASL_AUTHENTICATE => match script.sasl {
                Some(sasl) => authenticate_answer(&frame, sasl),
                None => continue,
            },
            _ => continue,
        };
        let mut answer = Vec::new();
        answer.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
        answer.extend_from_slice(&correlation_id.to_be_bytes());
        answer.extend_from_slice(&body);
        if stream.write_all(&answer).await.is_err() {
            break;
        }
    }
    seen.lock().unwrap().ended += 1;
}

fn api_versions_answer(version: i16, refuses_v3: bool) -> Vec<u8> {
    let ranges = [
        (API_VERSIONS, 0, 3),
        (METADATA, 1, METADATA_VERSION),
        (PRODUCE, 3, 8),
        (FIND_COORDINATOR, 1, 3),
        (SASL_HANDSHAKE, 1, 1),
        (SASL_AUTHENTICATE, 1, 1),
    ];
    let mut body = Vec::new();
    let mut e = Encoder::new(&mut body);
    if version >= 3 && refuses_v3 {
        e.i16(api_versions::UNSUPPORTED_VERSION);
        e.array_len(1);
        for v in [API_VERSIONS, 0, 2] {
            e.i16(v);
        }
        return body;
    }
    let flexible = version >= 3;
    e.i16(0);
    match flexible {
        true => e.compact_array_len(ranges.len()),
        false => e.array_len(ranges.len()),
    }
    for (api_key, min, max) in ranges {
        e.i16(api_key);
        e.i16(min);
        e.i16(max);
        if flexible {
            e.no_tagged_fields();
        }
    }
    if version >= 1 {
        e.i32(0); // throttle_time_ms
    }
    if flexible {
        e.no_tagged_fields();
    }
    body
}

/// SaslHandshake v1: the mechanism asked for is enabled.
fn handshake_answer(frame: &[u8]) -> Vec<u8> {
    let body = request_body_of(frame, false);
    let mechanism = Decoder::new(&body).string().unwrap();
    let mut answer = Vec::new();
    let mut e = Encoder::new(&mut answer);
    e.i16(0);
    e.array_len(1);
    e.string(&mechanism);
    answer
}

/// SaslAuthenticate v1: PLAIN's one message accepted; SCRAM's first answered
/// with the script's iteration count, its second refused.
fn authenticate_answer(frame: &[u8], sasl: SaslScript) -> Vec<u8> {
    let body = request_body_of(frame, false);
    let client = Decoder::new(&body).bytes().unwrap();
    let (error, server): (i16, Vec<u8>) = match sasl.scram_iterations {
        None => (0, Vec::new()),
        Some(iterations) => match String::from_utf8_lossy(&client).split_once(",r=") {
            Some((_, nonce)) if !client.starts_with(b"c=") => (0, format!("r={nonce}server,s=c2FsdA==,i={iterations}").into_bytes()),
            _ => (58, Vec::new()), // SASL_AUTHENTICATION_FAILED: the proof is not checked
        },
    };
    let mut answer = Vec::new();
    let mut e = Encoder::new(&mut answer);
    e.i16(error);
    e.nullable_string(None);
    e.bytes(&server);
    e.i64(if error == 0 { sasl.session_lifetime_ms } else { 0 });
    answer
}

/// This broker as the cluster's only one, and `topic` (if any) with one
/// partition that it leads.
fn metadata_answer(version: i16, port: u16, topic: Option<&str>) -> Vec<u8> {
    let mut body = Vec::new();
    let mut e = Encoder::new(&mut body);
    if version >= 3 {
        e.i32(0); // throttle_time_ms
    }
    e.array_len(1);
    e.i32(1);
    e.string("127.0.0.1");
    e.i32(i32::from(port));
    e.nullable_string(None); // rack
    if version >= 2 {
        e.nullable_string(None); // cluster_id
    }
    e.i32(1); // controller_id
    e.array_len(usize::from(topic.is_some()));
    if let Some(topic) = topic {
        e.i16(0);
        e.string(topic);
        e.bool(false); // is_internal (v1+; this broker speaks v1 to v4)
        e.array_len(1);
        e.i16(0);
        e.i32(0); // partition
        e.i32(1); // leader: this broker
        for _replicas_then_isr in 0..2 {
            e.array_len(1);
            e.i32(1);
        }
    }
    body
}

/// A request's body: what follows request header v1 or v2.
pub fn request_body(request: &Received, flexible: bool) -> Vec<u8> {
    request_body_of(&request.frame, flexible)
}

fn request_body_of(frame: &[u8], flexible: bool) -> Vec<u8> {
    let mut d = Decoder::new(frame);
    d.i16().unwrap();
    d.i16().unwrap();
    d.i32().unwrap();
    d.nullable_string().unwrap(); // client_id
    if flexible {
        d.skip_tagged_fields().unwrap();
    }
    let header_len = frame.len() - d.remaining();
    frame[header_len..].to_vec()
}
