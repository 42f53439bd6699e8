//! The brokers a producer knows and its connections to them: bootstrap
//! servers until metadata names the brokers, then one connection per broker
//! in use, reopened with exponential backoff after a failure.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::connection::Connection;
use super::error::BrokerError;
use crate::kafka::buffer_pool::BufferPool;
use crate::kafka::config::Config;
use crate::kafka::error::ErrorCode;
use crate::kafka::lock::Locked;
use crate::kafka::log::{Context, Logger, LOG_ERR, LOG_NOTICE};
use crate::kafka::protocol::metadata::{MetadataRequest, MetadataResponse};
use crate::kafka::stats::BrokerCounters;

mod census;

/// One broker address and the connection to it, if any.
struct BrokerSlot {
    address: Mutex<String>,
    /// Its node id; None for a bootstrap server.
    node_id: Option<i32>,
    connection: tokio::sync::Mutex<Option<Arc<Connection>>>,
    backoff: Mutex<Backoff>,
    /// Its statistics, over all its connections.
    counters: Arc<BrokerCounters>,
}

struct Backoff {
    next_attempt: Option<Instant>,
    current: Duration,
    last_error: Option<BrokerError>,
}

impl BrokerSlot {
    fn new(address: String, node_id: Option<i32>, config: &Config) -> Arc<Self> {
        let initial_backoff = config.reconnect_backoff;
        Arc::new(BrokerSlot {
            counters: Arc::new(BrokerCounters::new(config.statistics_interval.is_some())),
            address: Mutex::new(address),
            node_id,
            connection: tokio::sync::Mutex::new(None),
            backoff: Mutex::new(Backoff { next_attempt: None, current: initial_backoff, last_error: None }),
        })
    }

    fn address(&self) -> String {
        self.address.locked().clone()
    }

    /// The broker's name in log lines, as librdkafka names it:
    /// `host:port/<node id>`, or `host:port/bootstrap`.
    fn name(&self) -> String {
        match self.node_id {
            Some(id) => format!("{}/{id}", self.address()),
            None => format!("{}/bootstrap", self.address()),
        }
    }

    /// The live connection, or a new one unless the last attempt failed
    /// within the reconnect backoff (then that attempt's error again). A
    /// connection whose SASL session ends soon authenticates again first.
    async fn connect(&self, config: &Config, buffers: &Arc<BufferPool>, logger: &Arc<Logger>) -> Result<Arc<Connection>, BrokerError> {
        let mut slot = self.connection.lock().await;
        let address = self.address();
        if let Some(c) = slot.as_ref().filter(|c| c.is_alive() && c.address() == address) {
            if !c.session_expiring() {
                return Ok(Arc::clone(c));
            }
            if self.renew_session(c, config, logger).await {
                return Ok(Arc::clone(c));
            }
        }
        *slot = None;
        {
            let backoff = self.backoff.locked();
            if backoff.next_attempt.is_some_and(|t| Instant::now() < t) {
                // Inside the backoff the broker is still what its last attempt
                // found (a TLS or SASL refusal keeps its code), so the
                // producer's status names the cause while it lasts.
                return Err(backoff
                    .last_error
                    .clone()
                    .unwrap_or_else(|| BrokerError { code: ErrorCode::TRANSPORT, detail: format!("{address}: reconnect backoff") }));
            }
        }
        logger.debug(Context::Broker, "CONNECT", format_args!("{}: Connecting to {address}", self.name()));
        self.counters.connecting();
        let opened = Connection::open(&address, config, Arc::clone(buffers), logger, Arc::clone(&self.counters)).await;
        let mut backoff = self.backoff.locked();
        match opened {
            Ok(c) => {
                self.counters.state_changed();
                logger.debug(
                    Context::Broker,
                    "CONNECT",
                    format_args!("{}: Connected (ApiVersions, and SASL when configured, done)", self.name()),
                );
                backoff.next_attempt = None;
                backoff.current = config.reconnect_backoff;
                backoff.last_error = None;
                *slot = Some(Arc::clone(&c));
                Ok(c)
            }
            Err(error) => {
                // Every failed attempt, as librdkafka logs them (at most one
                // per reconnect backoff). BrokerError's detail starts with the address.
                let why = error.detail.strip_prefix(&format!("{address}: ")).unwrap_or(&error.detail);
                logger.log(LOG_ERR, "FAIL", format_args!("{}: {why} ({})", self.name(), error.code.name()));
                backoff.next_attempt = Some(Instant::now() + backoff.current);
                backoff.current = (backoff.current * 2).min(config.reconnect_backoff_max);
                backoff.last_error = Some(error.clone());
                Err(error)
            }
        }
    }

    /// Re-authenticates `connection` in place (KIP-368), holding the slot:
    /// the requests that want the connection meanwhile wait for it, and go
    /// on the same connection after the login. True when it did; when the
    /// broker refused, the connection is closed, and a new one (a full
    /// login) replaces it, as the Java client does with a broker that
    /// cannot re-authenticate.
    async fn renew_session(&self, connection: &Connection, config: &Config, logger: &Logger) -> bool {
        let Some(credentials) = &config.security.sasl else { return false };
        match connection.reauthenticate(credentials, config.request_timeout, config.socket_timeout).await {
            Ok(lifetime) => {
                let lifetime = lifetime.map_or_else(|| "no limit".to_owned(), |l| format!("{} ms", l.as_millis()));
                let line = format_args!("{}: re-authenticated on the same connection (session lifetime {lifetime})", self.name());
                logger.debug(Context::Broker, "REAUTH", line);
                true
            }
            Err(error) => {
                let why = error.detail.strip_prefix(&format!("{}: ", self.address())).unwrap_or(&error.detail).to_owned();
                let line = format_args!("{}: re-authentication on the same connection failed ({why}): connecting anew", self.name());
                logger.log(LOG_NOTICE, "REAUTH", line);
                false
            }
        }
    }

    fn is_connected(&self) -> bool {
        self.connection.try_lock().map(|c| c.as_ref().is_some_and(|c| c.is_alive())).unwrap_or(false)
    }
}

pub struct Cluster {
    config: Arc<Config>,
    logger: Arc<Logger>,
    buffers: Arc<BufferPool>,
    bootstrap: Vec<Arc<BrokerSlot>>,
    brokers: Mutex<HashMap<i32, Arc<BrokerSlot>>>,
}

impl Cluster {
    pub fn new(config: Arc<Config>, buffers: Arc<BufferPool>, logger: Arc<Logger>) -> Self {
        let bootstrap = config.bootstrap_servers.iter().map(|a| BrokerSlot::new(a.clone(), None, &config)).collect();
        Cluster { config, logger, buffers, bootstrap, brokers: Mutex::new(HashMap::new()) }
    }

    /// A connection to broker `node_id`, as metadata named it.
    pub async fn broker(&self, node_id: i32) -> Result<Arc<Connection>, BrokerError> {
        let slot = self.brokers.locked().get(&node_id).cloned();
        match slot {
            Some(slot) => slot.connect(&self.config, &self.buffers, &self.logger).await,
            None => Err(BrokerError { code: ErrorCode::TRANSPORT, detail: format!("broker {node_id} is not in the metadata") }),
        }
    }

    /// The open connection to broker `node_id`, if there is one and it can
    /// take requests now; never waits (a connection being opened counts as
    /// none).
    pub fn connected_broker(&self, node_id: i32) -> Option<Arc<Connection>> {
        let slot = self.brokers.locked().get(&node_id).cloned()?;
        let connection = slot.connection.try_lock().ok()?;
        let address = slot.address.locked();
        connection.as_ref().filter(|c| c.is_alive() && c.address() == *address && !c.session_expiring()).cloned()
    }

    /// Drops the requests in flight on every connection without answering
    /// them: the producer is closing, and their batches fail as dropped.
    pub fn abandon_all(&self) {
        let brokers = self.brokers.locked();
        for slot in brokers.values().chain(&self.bootstrap) {
            if let Ok(connection) = slot.connection.try_lock() {
                if let Some(c) = connection.as_ref() {
                    c.abandon();
                }
            }
        }
    }

    /// Every broker's slot, then the bootstrap servers', taken out of the
    /// lock so that the caller may await on them.
    fn all_slots(&self) -> Vec<Arc<BrokerSlot>> {
        let mut slots: Vec<Arc<BrokerSlot>> = self.brokers.locked().values().cloned().collect();
        slots.extend(self.bootstrap.iter().cloned());
        slots
    }

    /// Renews, from a task each, the SASL session of every connection whose
    /// session is due (KIP-368) and whose slot is free, so that an idle
    /// connection is not left on an expired session (one in use is renewed
    /// by the `BrokerSlot::connect` that holds it). Must be called on the
    /// producer's runtime.
    pub fn renew_due_sessions(&self) {
        for slot in self.all_slots() {
            let due = slot.connection.try_lock().is_ok_and(|c| c.as_ref().is_some_and(|c| c.is_alive() && c.session_expiring()));
            if due {
                let (config, buffers, logger) = (Arc::clone(&self.config), Arc::clone(&self.buffers), Arc::clone(&self.logger));
                tokio::spawn(async move {
                    // A failure is the slot's to report (its backoff and last error).
                    let _ = slot.connect(&config, &buffers, &logger).await;
                });
            }
        }
    }

    /// Forgets connections that died since the last look (the broker closed
    /// them, or a request timed out) and, with log.connection.close, logs
    /// each, as librdkafka does. Closes of our own (idle, session renewal)
    /// take the connection out first and are not reported.
    pub fn report_disconnects(&self) {
        let brokers = self.brokers.locked();
        for slot in brokers.values().chain(&self.bootstrap) {
            if let Ok(mut connection) = slot.connection.try_lock() {
                if let Some(dead) = connection.take_if(|c| !c.is_alive()) {
                    if self.logger.settings().connection_close {
                        let why = dead.failure().map_or(String::new(), |why| format!(": {why}"));
                        self.logger.log(LOG_ERR, "FAIL", format_args!("{}: Disconnected{why}", slot.name()));
                    }
                }
            }
        }
    }

    /// Brokers whose connection holds requests not yet written whole, and
    /// how many (what queue.buffering.backpressure.threshold counts). A
    /// slot a task holds (connecting) has none written yet.
    pub fn untransmitted(&self) -> Vec<(i32, usize)> {
        let brokers = self.brokers.locked();
        let unwritten =
            |slot: &BrokerSlot| slot.connection.try_lock().ok().and_then(|c| c.as_ref().map(|c| c.untransmitted_requests())).unwrap_or(0);
        brokers.iter().map(|(&id, slot)| (id, unwritten(slot))).filter(|&(_, n)| n > 0).collect()
    }

    /// Closes every connection idle for `max_idle` at `now`
    /// (connections.max.idle.ms); the next request to its broker opens a
    /// new one.
    pub fn close_idle_connections(&self, max_idle: Duration, now: Instant) {
        let brokers = self.brokers.locked();
        for slot in brokers.values().chain(&self.bootstrap) {
            if let Ok(mut connection) = slot.connection.try_lock() {
                if connection.as_ref().is_some_and(|c| c.close_if_idle(max_idle, now)) {
                    *connection = None;
                }
            }
        }
    }

    /// Runs `exchange` on the first broker that can be reached and answers,
    /// trying connected brokers first, then the others, then the bootstrap
    /// servers. When none can be reached the error is `_ALL_BROKERS_DOWN`,
    /// with every broker's reason.
    pub async fn with_any_broker<T, F, Fut>(&self, exchange: F) -> Result<T, BrokerError>
    where
        F: Fn(Arc<Connection>) -> Fut,
        Fut: std::future::Future<Output = Result<T, BrokerError>>,
    {
        let mut slots = self.all_slots();
        slots.sort_by_key(|s| !s.is_connected());
        let mut unreachable = Vec::new();
        let mut refusal = None;
        let mut answered_error = None;
        for slot in &slots {
            let connection = match slot.connect(&self.config, &self.buffers, &self.logger).await {
                Ok(c) => c,
                Err(e) => {
                    if matches!(e.code, ErrorCode::SSL | ErrorCode::AUTHENTICATION) {
                        refusal.get_or_insert(e.code);
                    }
                    unreachable.push(e.detail);
                    continue;
                }
            };
            match exchange(connection).await {
                Ok(value) => return Ok(value),
                Err(e) => answered_error = Some(e),
            }
        }
        // A TLS or SASL refusal says more than "all brokers are down": it is
        // the code the application sees (librdkafka reports it too).
        let code = refusal.unwrap_or(ErrorCode::ALL_BROKERS_DOWN);
        Err(answered_error.unwrap_or_else(|| BrokerError {
            code,
            detail: format!("{}/{} brokers are down: {}", unreachable.len(), slots.len(), unreachable.join("; ")),
        }))
    }

    /// Asks any reachable broker for `topics`' metadata (none: just the
    /// brokers) and learns the brokers it names.
    pub async fn fetch_metadata(&self, topics: &[Arc<str>]) -> Result<MetadataResponse, BrokerError> {
        let names: Vec<&str> = topics.iter().map(|t| &**t).collect();
        self.logger.debug(
            Context::Metadata,
            "METADATA",
            format_args!("Requesting metadata for {} topic(s): {}", names.len(), names.join(", ")),
        );
        let request = MetadataRequest { topics: &names, allow_auto_topic_creation: self.config.allow_auto_create_topics };
        let request = &request;
        let timeout = self.config.socket_timeout;
        let response = self.with_any_broker(|connection| async move { connection.call(request, timeout).await }).await?;
        self.learn_brokers(&response);
        self.logger.debug(
            Context::Metadata,
            "METADATA",
            format_args!("===== Received metadata: {} broker(s), {} topic(s) =====", response.brokers.len(), response.topics.len()),
        );
        for topic in &response.topics {
            let leaders: Vec<String> = topic.partitions.iter().map(|p| format!("{}:{}", p.partition, p.leader_id)).collect();
            self.logger.debug(
                Context::Topic,
                "METADATA",
                format_args!(
                    "  Topic {} with {} partition(s) (partition:leader {}), error {}",
                    topic.name,
                    topic.partitions.len(),
                    leaders.join(" "),
                    topic.error_code
                ),
            );
        }
        Ok(response)
    }

    fn learn_brokers(&self, response: &MetadataResponse) {
        for b in &response.brokers {
            self.learn_broker(b.node_id, &b.host, b.port);
        }
    }

    /// Broker `node_id` is at `host`:`port` (metadata, or a coordinator
    /// found before metadata named it).
    pub fn learn_broker(&self, node_id: i32, host: &str, port: i32) {
        let address = format_address(host, port);
        let mut brokers = self.brokers.locked();
        match brokers.get(&node_id) {
            Some(slot) => *slot.address.locked() = address,
            None => {
                brokers.insert(node_id, BrokerSlot::new(address, Some(node_id), &self.config));
            }
        }
    }
}

fn format_address(host: &str, port: i32) -> String {
    match host.contains(':') && !host.starts_with('[') {
        true => format!("[{host}]:{port}"),
        false => format!("{host}:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::client::test_broker::{
        request_body, SaslScript, Script, TestBroker, API_VERSIONS, METADATA, METADATA_VERSION, SASL_AUTHENTICATE, SASL_HANDSHAKE,
    };
    use crate::kafka::config::ConfigBuilder;
    use crate::kafka::protocol::primitives::Decoder;

    fn cluster(address: &str, options: &[(&str, &str)]) -> Cluster {
        let mut builder = ConfigBuilder::new();
        builder.set("bootstrap.servers", address).unwrap();
        for (name, value) in options {
            builder.set(name, value).unwrap();
        }
        let config = builder.build().unwrap();
        let logger = Arc::new(crate::kafka::log::Logger::new(&config.client_id, config.log.clone()));
        Cluster::new(Arc::new(config), Arc::new(BufferPool::keeping_up_to(1 << 20)), logger)
    }

    fn topic(name: &str) -> Vec<Arc<str>> {
        vec![Arc::from(name)]
    }

    #[tokio::test(flavor = "current_thread")]
    async fn metadata_requests_carry_allow_auto_create_topics() {
        for (options, expected) in
            [(&[][..], 1u8), (&[("allow.auto.create.topics", "false")][..], 0), (&[("allow.auto.create.topics", "true")][..], 1)]
        {
            let broker = TestBroker::start(Script::default()).await;
            cluster(&broker.address, options).fetch_metadata(&topic("t")).await.unwrap();
            let seen = broker.seen();
            let request = seen.requests.iter().find(|r| r.api_key == METADATA).expect("a Metadata request");
            assert_eq!(request.version, METADATA_VERSION, "v4 and later carry the flag");
            let body = request_body(request, false);
            let mut d = Decoder::new(&body);
            assert_eq!((d.i32().unwrap(), d.string().unwrap().as_str()), (1, "t"));
            assert_eq!((d.i8().unwrap() as u8, d.remaining()), (expected, 0), "{options:?}");
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn metadata_waits_socket_timeout_ms_not_request_timeout_ms() {
        let broker = TestBroker::start(Script { ignores_metadata: true, ..Script::default() }).await;
        let cluster = cluster(&broker.address, &[("socket.timeout.ms", "100"), ("request.timeout.ms", "900000")]);
        let started = Instant::now();
        let fetched = tokio::time::timeout(Duration::from_secs(60), cluster.fetch_metadata(&topic("t"))).await;
        let Ok(Err(error)) = fetched else { panic!("no failure within 60 s (request.timeout.ms is 900 s)") };
        assert_eq!(error.code, ErrorCode::TIMED_OUT, "{}", error.detail);
        assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn idle_connections_are_closed_and_opened_again_on_demand() {
        let broker = TestBroker::start(Script::default()).await;
        let cluster = cluster(&broker.address, &[]);
        let max_idle = Duration::from_secs(600);
        cluster.fetch_metadata(&topic("t")).await.unwrap();
        cluster.close_idle_connections(max_idle, Instant::now());
        cluster.fetch_metadata(&topic("t")).await.unwrap();
        assert_eq!(broker.seen().accepted, 1, "used within max_idle: kept");
        cluster.close_idle_connections(max_idle, Instant::now() + max_idle);
        assert!(broker.wait_for(Duration::from_secs(10), |seen| seen.ended == 1).await, "closed once idle: {:?}", broker.seen());
        cluster.fetch_metadata(&topic("t")).await.unwrap();
        assert_eq!(broker.seen().accepted, 2, "a new connection on demand");
    }

    const PLAIN_LOGIN: [(&str, &str); 4] =
        [("security.protocol", "sasl_plaintext"), ("sasl.mechanism", "PLAIN"), ("sasl.username", "u"), ("sasl.password", "p")];

    /// KIP-368: a session of 1 s is renewed by SaslHandshake and
    /// SaslAuthenticate again on the same connection, between two requests
    /// that both go on it.
    #[tokio::test(flavor = "current_thread")]
    async fn a_sasl_session_is_renewed_on_the_same_connection() {
        let sasl = SaslScript { session_lifetime_ms: 1000, ..SaslScript::default() };
        let broker = TestBroker::start(Script { sasl: Some(sasl), ..Script::default() }).await;
        let cluster = cluster(&broker.address, &PLAIN_LOGIN);
        cluster.fetch_metadata(&topic("t")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1100)).await;
        cluster.fetch_metadata(&topic("t")).await.unwrap();
        let seen = broker.seen();
        let asked: Vec<(usize, i16)> = seen.requests.iter().map(|r| (r.connection, r.api_key)).collect();
        let expected = [API_VERSIONS, SASL_HANDSHAKE, SASL_AUTHENTICATE, METADATA, SASL_HANDSHAKE, SASL_AUTHENTICATE, METADATA];
        assert_eq!(asked, expected.map(|key| (1, key)), "one connection, logged in again before the second Metadata");
        assert_eq!((seen.accepted, seen.ended), (1, 0));
    }

    /// A broker that grants 10 ms sessions gets a login at most once a
    /// second on the connection, not one per request.
    #[tokio::test(flavor = "current_thread")]
    async fn a_short_sasl_session_is_renewed_at_most_once_a_second() {
        let sasl = SaslScript { session_lifetime_ms: 10, ..SaslScript::default() };
        let broker = TestBroker::start(Script { sasl: Some(sasl), ..Script::default() }).await;
        let cluster = cluster(&broker.address, &PLAIN_LOGIN);
        let started = Instant::now();
        let mut requests = 0;
        while started.elapsed() < Duration::from_millis(2500) {
            cluster.fetch_metadata(&topic("t")).await.unwrap();
            requests += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let seen = broker.seen();
        let logins = seen.requests.iter().filter(|r| r.api_key == SASL_HANDSHAKE).count();
        assert!(requests >= 20, "{requests} Metadata requests");
        assert!((2..=3).contains(&logins), "{logins} logins in 2.5 s of {requests} requests: the first, then one a second");
        assert_eq!(seen.accepted, 1, "renewed in place");
    }

    #[test]
    fn ipv6_hosts_are_bracketed() {
        assert_eq!(format_address("::1", 9092), "[::1]:9092");
        assert_eq!(format_address("broker-1", 9092), "broker-1:9092");
    }
}
