//! librdkafka's default logger (rd_kafka_log_print) for the lines ablkafka
//! logs, today the configuration warnings of a producer being built. One
//! place, so that a later issue can route them to a polled log instead.

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::kafka::config::Config;

/// syslog's LOG_WARNING, librdkafka's level for CONFWARN.
const LOG_WARNING: u8 = 4;

/// Producers built in this process: librdkafka names each instance
/// "<client.id>#producer-<n>" from one count.
static INSTANCES: AtomicU32 = AtomicU32::new(0);

/// Names a new producer instance and prints its configuration warnings to
/// stderr as librdkafka does, unless log_level is below warnings:
/// `%4|<secs>.<ms>|CONFWARN|<client.id>#producer-<n>| [thrd:app]: <message>`.
pub(crate) fn print_config_warnings(config: &Config) {
    let instance = INSTANCES.fetch_add(1, Ordering::Relaxed) + 1;
    if config.log_level < LOG_WARNING || config.warnings().is_empty() {
        return;
    }
    let thread = if config.log_thread_name { "[thrd:app]: " } else { "" };
    let mut stderr = std::io::stderr().lock();
    for message in config.warnings() {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let (secs, millis) = (now.as_secs(), now.subsec_millis());
        // Nothing to do if stderr is gone; librdkafka's fprintf ignores it too.
        let _ = writeln!(stderr, "%{LOG_WARNING}|{secs}.{millis:03}|CONFWARN|{}#producer-{instance}| {thread}{message}", config.client_id);
    }
}
