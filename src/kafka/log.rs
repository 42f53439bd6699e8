//! What a producer tells its operator, as librdkafka does: lines with a
//! syslog level, a facility (`FAIL`, `CONFWARN`, `SEND`, ...) and a
//! message. By default they go to stderr in librdkafka's format; with
//! `log.queue=true` they are kept in a bounded queue that the application
//! drains by polling (it cannot be called back). Lines are formatted only
//! when their level or debug context is enabled.

use crate::kafka::lock::Locked;
use std::collections::VecDeque;
use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

pub const LOG_ERR: u8 = 3;
pub const LOG_WARNING: u8 = 4;
pub const LOG_NOTICE: u8 = 5;
pub const LOG_DEBUG: u8 = 7;

/// librdkafka's `debug` contexts, in its order (`rd_kafka_conf`'s list);
/// those a producer has no use for are accepted and never log.
pub const DEBUG_CONTEXTS: &[&str] = &[
    "generic",
    "broker",
    "topic",
    "metadata",
    "feature",
    "queue",
    "msg",
    "protocol",
    "cgrp",
    "security",
    "fetch",
    "interceptor",
    "plugin",
    "consumer",
    "admin",
    "eos",
    "mock",
    "assignor",
    "conf",
    "telemetry",
    "all",
];

/// The debug contexts ablkafka logs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    Broker,
    Topic,
    Metadata,
    Msg,
    Protocol,
    Conf,
}

impl Context {
    fn name(self) -> &'static str {
        match self {
            Context::Broker => "broker",
            Context::Topic => "topic",
            Context::Metadata => "metadata",
            Context::Msg => "msg",
            Context::Protocol => "protocol",
            Context::Conf => "conf",
        }
    }

    fn bit(self) -> u32 {
        1 << DEBUG_CONTEXTS.iter().position(|&n| n == self.name()).expect("every context is librdkafka's")
    }
}

/// The contexts a `debug` value names (checked when it was set).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Contexts(u32);

impl Contexts {
    /// Reads a comma-separated list of `DEBUG_CONTEXTS` names, in any
    /// case; None when a name is not one of them.
    pub fn parse(list: &str) -> Option<Contexts> {
        let mut bits = 0;
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let index = DEBUG_CONTEXTS.iter().position(|c| c.eq_ignore_ascii_case(name))?;
            bits |= match DEBUG_CONTEXTS[index] {
                "all" => u32::MAX,
                _ => 1 << index,
            };
        }
        Some(Contexts(bits))
    }

    pub fn has(self, context: Context) -> bool {
        self.0 & context.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// How a producer logs: `log_level`, `debug`, `log.queue`, `log.thread.name`
/// and `log.connection.close`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSettings {
    /// Lines above this syslog level are not logged (librdkafka raises it
    /// to 7 when `debug` names a context).
    pub level: u8,
    pub debug: Contexts,
    /// Keep lines for `Logger::next` instead of writing them to stderr.
    pub to_queue: bool,
    /// Lines on stderr name the thread (`[thrd:...]: `).
    pub thread_name: bool,
    /// Log each broker disconnect (at level 3, `FAIL`).
    pub connection_close: bool,
}

/// Lines a queue keeps when the application does not drain it; older ones
/// are dropped and counted.
pub const QUEUE_LINES: usize = 10_000;

/// One line, as `Logger::next` gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub level: u8,
    pub facility: &'static str,
    pub message: String,
}

#[derive(Default)]
struct LogQueue {
    lines: VecDeque<LogLine>,
    dropped: u64,
}

/// Producers made in this process: librdkafka names each instance
/// `<client.id>#producer-<n>` from one count.
static INSTANCES: AtomicU32 = AtomicU32::new(0);

pub struct Logger {
    settings: LogSettings,
    /// `<client.id>#producer-<n>`, as librdkafka names its instances.
    name: String,
    queue: Option<Mutex<LogQueue>>,
}

impl fmt::Debug for Logger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logger").field("name", &self.name).field("settings", &self.settings).finish()
    }
}

impl Logger {
    pub fn new(client_id: &str, settings: LogSettings) -> Logger {
        let instance = INSTANCES.fetch_add(1, Ordering::Relaxed) + 1;
        let queue = settings.to_queue.then(|| Mutex::new(LogQueue::default()));
        Logger { settings, name: format!("{client_id}#producer-{instance}"), queue }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn settings(&self) -> &LogSettings {
        &self.settings
    }

    /// Whether a line at `level` would be logged.
    pub fn enabled(&self, level: u8) -> bool {
        level <= self.settings.level
    }

    /// Whether debug lines of `context` are logged.
    pub fn debugging(&self, context: Context) -> bool {
        self.settings.debug.has(context) && self.enabled(LOG_DEBUG)
    }

    /// Logs `message` at `level` (formatted only if that level is logged).
    pub fn log(&self, level: u8, facility: &'static str, message: fmt::Arguments<'_>) {
        if self.enabled(level) {
            self.write(level, facility, message);
        }
    }

    /// Logs a debug line of `context`, if `debug` names it.
    pub fn debug(&self, context: Context, facility: &'static str, message: fmt::Arguments<'_>) {
        if self.debugging(context) {
            self.write(LOG_DEBUG, facility, message);
        }
    }

    /// The oldest line kept (log.queue=true), taken out of the queue; None
    /// when there is none. After lines were dropped, the next line says how
    /// many.
    pub fn next(&self) -> Option<LogLine> {
        let mut queue = self.queue.as_ref()?.locked();
        let mut line = queue.lines.pop_front()?;
        if queue.dropped > 0 {
            line.message = format!("({} older log lines dropped: the log queue was full) {}", queue.dropped, line.message);
            queue.dropped = 0;
        }
        Some(line)
    }

    fn write(&self, level: u8, facility: &'static str, message: fmt::Arguments<'_>) {
        match &self.queue {
            Some(queue) => {
                let line = LogLine { level, facility, message: message.to_string() };
                let mut queue = queue.locked();
                if queue.lines.len() == QUEUE_LINES {
                    queue.lines.pop_front();
                    queue.dropped += 1;
                }
                queue.lines.push_back(line);
            }
            None => {
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
                let (secs, millis) = (now.as_secs(), now.subsec_millis());
                let current = std::thread::current();
                let thread = match (self.settings.thread_name, current.name()) {
                    (false, _) => String::new(),
                    (true, Some("ablkafka")) => "[thrd:main]: ".to_owned(),
                    (true, _) => "[thrd:app]: ".to_owned(),
                };
                // librdkafka's rd_kafka_log_print; nothing to do if stderr is gone.
                let _ = writeln!(std::io::stderr().lock(), "%{level}|{secs}.{millis:03}|{facility}|{}| {thread}{message}", self.name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(level: u8, debug: &str, to_queue: bool) -> LogSettings {
        LogSettings { level, debug: Contexts::parse(debug).unwrap(), to_queue, thread_name: true, connection_close: true }
    }

    #[test]
    fn debug_contexts_are_librdkafkas() {
        assert!(Contexts::parse("broker, MSG").unwrap().has(Context::Msg));
        assert!(!Contexts::parse("broker").unwrap().has(Context::Msg));
        assert!(Contexts::parse("all").unwrap().has(Context::Conf));
        assert!(Contexts::parse("cgrp,fetch").is_some(), "consumer contexts are accepted");
        assert_eq!(Contexts::parse("nope"), None);
        assert!(Contexts::parse("").unwrap().is_empty());
    }

    #[test]
    fn levels_and_contexts_filter_lines() {
        let logger = Logger::new("c", settings(6, "protocol", true));
        logger.log(LOG_ERR, "FAIL", format_args!("down"));
        logger.log(LOG_DEBUG, "SEND", format_args!("debug above level 6"));
        logger.debug(Context::Protocol, "SEND", format_args!("debug at level 6"));
        let first = logger.next().unwrap();
        assert_eq!((first.level, first.facility, first.message.as_str()), (LOG_ERR, "FAIL", "down"));
        assert_eq!(logger.next(), None, "level 6 keeps debug lines out, as librdkafka's log_level does");
        let logger = Logger::new("c", settings(7, "protocol", true));
        logger.debug(Context::Protocol, "SEND", format_args!("sent"));
        logger.debug(Context::Msg, "MSG", format_args!("not asked for"));
        assert_eq!(logger.next().map(|l| l.message), Some("sent".to_owned()));
        assert_eq!(logger.next(), None);
    }

    #[test]
    fn a_full_queue_drops_old_lines_and_says_so() {
        // A million lines never drained: the queue holds the newest 10,000.
        let logger = Logger::new("c", settings(7, "", true));
        for i in 0..1_000_000 {
            logger.log(LOG_WARNING, "TEST", format_args!("line {i}"));
        }
        let first = logger.next().unwrap();
        assert_eq!(first.message, "(990000 older log lines dropped: the log queue was full) line 990000");
        assert_eq!(logger.next().unwrap().message, "line 990001", "the count is said once");
        let mut left = 2;
        while logger.next().is_some() {
            left += 1;
        }
        assert_eq!(left, QUEUE_LINES);
    }

    #[test]
    fn instances_are_numbered() {
        let a = Logger::new("app", settings(6, "", false));
        let b = Logger::new("app", settings(6, "", false));
        let number = |l: &Logger| l.name().rsplit('-').next().unwrap().parse::<u32>().unwrap();
        assert!(a.name().starts_with("app#producer-") && number(&b) > number(&a));
    }
}
