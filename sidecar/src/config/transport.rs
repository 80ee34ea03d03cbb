//! How the server treats connections and calls: each setting's default
//! declared once, with its reason, and read by the flags' help, the
//! resolution (flag or env, else file, else default) and the tests.
use std::time::Duration;

use super::{FileConfig, ServeArgs};

/// Connection and call settings of the gRPC server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Transport {
    /// Per-request timeout.
    pub(crate) request_timeout: Duration,
    /// Requests served at once before new ones get `RESOURCE_EXHAUSTED`.
    pub(crate) concurrency_limit: usize,
    /// Streams one HTTP/2 connection may have open at once.
    pub(crate) max_streams_per_connection: u32,
    /// Wait for a call's first request message after its headers.
    pub(crate) first_message_timeout: Duration,
    /// Keepalive ping interval; `None` disables the pings.
    pub(crate) http2_keepalive_interval: Option<Duration>,
    /// Time a keepalive ping may go unanswered.
    pub(crate) http2_keepalive_timeout: Duration,
    /// Largest gRPC message accepted or sent, in bytes.
    pub(crate) max_message_bytes: usize,
}

impl Default for Transport {
    fn default() -> Self {
        Self {
            // Far above any bounded conversion or render (milliseconds),
            // short enough that a stuck call frees its slot.
            request_timeout: Duration::from_secs(30),
            // Two cores answer a few thousand calls a second; 256 in flight
            // absorbs a Backstage burst without unbounded queueing.
            concurrency_limit: 256,
            // Backstage shares one connection between all its callers, so
            // half the concurrency limit: enough for them, while a single
            // hostile connection cannot hold more (h2's default: no limit).
            max_streams_per_connection: 128,
            // Real callers send headers and message at once; a half-open
            // stream is answered after this and frees its slot.
            first_message_timeout: Duration::from_secs(10),
            // A peer that vanished without closing (a killed node, a
            // dropped NAT entry) otherwise keeps its connection forever.
            http2_keepalive_interval: Some(Duration::from_secs(60)),
            // tonic's own default.
            http2_keepalive_timeout: Duration::from_secs(20),
            // Four times the largest document (4 MiB) plus the envelope:
            // a catalog page or an inline definition fits.
            max_message_bytes: 16 * 1024 * 1024,
        }
    }
}

impl Transport {
    /// Flag (or env), else file, else [`Transport::default`], per setting;
    /// counts below 1 become 1, a keepalive interval of 0 disables pings.
    pub(crate) fn resolve(args: &ServeArgs, file: &FileConfig) -> Self {
        let d = Self::default();
        let ms = Duration::from_millis;
        Self {
            request_timeout: args
                .request_timeout_ms
                .or(file.request_timeout_ms)
                .map_or(d.request_timeout, ms),
            concurrency_limit: args
                .concurrency_limit
                .or(file.concurrency_limit)
                .unwrap_or(d.concurrency_limit)
                .max(1),
            max_streams_per_connection: args
                .max_streams_per_connection
                .or(file.max_streams_per_connection)
                .unwrap_or(d.max_streams_per_connection)
                .max(1),
            first_message_timeout: args
                .first_message_timeout_ms
                .or(file.first_message_timeout_ms)
                .map_or(d.first_message_timeout, ms),
            http2_keepalive_interval: match args
                .http2_keepalive_interval_ms
                .or(file.http2_keepalive_interval_ms)
            {
                Some(0) => None,
                Some(n) => Some(ms(n)),
                None => d.http2_keepalive_interval,
            },
            http2_keepalive_timeout: args
                .http2_keepalive_timeout_ms
                .or(file.http2_keepalive_timeout_ms)
                .map_or(d.http2_keepalive_timeout, ms),
            max_message_bytes: args
                .max_message_bytes
                .or(file.max_message_bytes)
                .unwrap_or(d.max_message_bytes),
        }
    }
}

/// A flag's help with its default, so `--help` shows the value
/// [`Transport::default`] declares.
pub(crate) fn help(text: &str, default: impl std::fmt::Display) -> String {
    format!("{text} [default: {default}]")
}

/// Milliseconds of a duration, for help texts.
pub(crate) fn millis(d: Duration) -> u128 {
    d.as_millis()
}
