//! When to retry a forge request and how long to wait: exponential backoff
//! with jitter for server errors, the forge's own hints for rate limits
//! (`Retry-After`; GitHub's `x-ratelimit-reset`), all bounded in count and
//! time. GitHub and GitLab both answer 429 with `Retry-After`.
use std::time::Duration;

use http::{HeaderMap, StatusCode};

/// Retry bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// Longest total time spent waiting between attempts of one request.
    pub max_wait: Duration,
    /// First backoff step for server errors.
    pub base_delay: Duration,
    /// Longest single backoff step for server errors.
    pub max_delay: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            max_wait: Duration::from_secs(30),
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
        }
    }
}

/// Why a response is worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// A primary or secondary rate limit; wait at least this long.
    RateLimited(Duration),
    /// A server error or transport failure; back off this long.
    Backoff(Duration),
}

impl Retry {
    /// The wait before the next attempt.
    pub fn delay(self) -> Duration {
        match self {
            Self::RateLimited(d) | Self::Backoff(d) => d,
        }
    }
}

/// GitHub documents one minute as the wait after a secondary rate limit
/// that came without `Retry-After`.
const SECONDARY_DEFAULT: Duration = Duration::from_secs(60);

/// Classifies a response. `attempt` counts from 1; `now` is Unix seconds;
/// `jitter` is in `[0, 1)`.
pub fn for_retry(
    status: StatusCode,
    headers: &HeaderMap,
    message: &str,
    attempt: u32,
    now: u64,
    jitter: f64,
    policy: &Policy,
) -> Option<Retry> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let exhausted = header("x-ratelimit-remaining") == Some(0);
    let says_rate_limit = message.to_ascii_lowercase().contains("rate limit");
    let limited = status == StatusCode::TOO_MANY_REQUESTS
        || (status == StatusCode::FORBIDDEN && (exhausted || says_rate_limit));
    if limited {
        let wait = if let Some(secs) = header("retry-after") {
            Duration::from_secs(secs)
        } else if let (true, Some(reset)) = (exhausted, header("x-ratelimit-reset")) {
            // One second of slack: the reset time is truncated to seconds.
            Duration::from_secs(reset.saturating_sub(now) + 1)
        } else {
            SECONDARY_DEFAULT
        };
        return Some(Retry::RateLimited(wait));
    }
    if status.is_server_error() {
        return Some(Retry::Backoff(backoff(attempt, jitter, policy)));
    }
    None
}

/// Backoff before attempt `attempt + 1`: doubling from `base_delay`, capped
/// at `max_delay`, then "equal jitter" (half fixed, half random) so replicas
/// that failed together do not retry together.
pub fn backoff(attempt: u32, jitter: f64, policy: &Policy) -> Duration {
    let exp = policy
        .base_delay
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let capped = exp.min(policy.max_delay);
    capped.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// A jitter value in `[0, 1)` without a random-number dependency: std's
/// randomly keyed hasher over the current time.
pub fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// What one attempt produced: a reply of any status (with the message the
/// forge gave, for rate-limit detection), or a transport failure.
pub(crate) enum Attempt<R> {
    /// The forge answered.
    Reply {
        status: StatusCode,
        headers: HeaderMap,
        message: String,
        reply: R,
    },
    /// No answer (connect, timeout, body); the text holds no credential.
    Failed(String),
}

/// Why the attempts ended without a reply to hand back.
pub(crate) enum GaveUp<R> {
    /// Still rate limited when the budget ran out; retry after this long.
    RateLimited(Duration),
    /// The last reply, still a server error.
    Reply(R),
    /// The last transport failure.
    Failed(String),
}

/// Runs `once` until it yields a reply not worth retrying, or `policy`'s
/// bounds (attempts, total wait) are reached; every attempt is counted in
/// `count`. One loop for every forge, so their retries behave alike.
pub(crate) async fn attempts<R, F, Fut>(
    policy: &Policy,
    count: &std::sync::atomic::AtomicU32,
    step: &str,
    mut once: F,
) -> Result<R, GaveUp<R>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Attempt<R>>,
{
    let mut waited = Duration::ZERO;
    let mut attempt = 0;
    loop {
        attempt += 1;
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (retry, last) = match once().await {
            Attempt::Reply {
                status,
                headers,
                message,
                reply,
            } => {
                let now = chrono::Utc::now().timestamp().max(0) as u64;
                match for_retry(status, &headers, &message, attempt, now, jitter(), policy) {
                    None => return Ok(reply),
                    Some(r) => (r, GaveUp::Reply(reply)),
                }
            }
            Attempt::Failed(message) => (
                Retry::Backoff(backoff(attempt, jitter(), policy)),
                GaveUp::Failed(message),
            ),
        };
        let delay = retry.delay();
        if attempt >= policy.max_attempts || waited + delay > policy.max_wait {
            return Err(match retry {
                Retry::RateLimited(d) => GaveUp::RateLimited(d),
                Retry::Backoff(_) => last,
            });
        }
        tracing::debug!(
            step,
            attempt,
            delay_ms = delay.as_millis() as u64,
            "retrying forge request"
        );
        tokio::time::sleep(delay).await;
        waited += delay;
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn classifies_responses() {
        struct Case {
            reason: &'static str,
            status: u16,
            headers: &'static [(&'static str, &'static str)],
            message: &'static str,
            want: Option<Retry>,
        }
        let p = Policy::default();
        let cases = [
            Case {
                reason: "secondary rate limit with Retry-After",
                status: 403,
                headers: &[("retry-after", "3")],
                message: "You have exceeded a secondary rate limit.",
                want: Some(Retry::RateLimited(Duration::from_secs(3))),
            },
            Case {
                reason: "primary rate limit waits for the reset",
                status: 403,
                headers: &[
                    ("x-ratelimit-remaining", "0"),
                    ("x-ratelimit-reset", "1010"),
                ],
                message: "API rate limit exceeded",
                want: Some(Retry::RateLimited(Duration::from_secs(11))),
            },
            Case {
                reason: "429 with Retry-After",
                status: 429,
                headers: &[("retry-after", "1")],
                message: "",
                want: Some(Retry::RateLimited(Duration::from_secs(1))),
            },
            Case {
                reason: "secondary rate limit without hints waits a minute",
                status: 403,
                headers: &[],
                message: "secondary rate limit",
                want: Some(Retry::RateLimited(SECONDARY_DEFAULT)),
            },
            Case {
                reason: "a plain 403 is a permission problem, not retried",
                status: 403,
                headers: &[("x-ratelimit-remaining", "4999")],
                message: "Resource not accessible by integration",
                want: None,
            },
            Case {
                reason: "502 backs off",
                status: 502,
                headers: &[],
                message: "",
                want: Some(Retry::Backoff(Duration::from_millis(250))),
            },
            Case {
                reason: "422 is final",
                status: 422,
                headers: &[],
                message: "Validation Failed",
                want: None,
            },
        ];
        for c in cases {
            let mut headers = HeaderMap::new();
            for (k, v) in c.headers {
                headers.insert(*k, HeaderValue::from_static(v));
            }
            let status = StatusCode::from_u16(c.status).expect("status");
            let got = for_retry(status, &headers, c.message, 1, 1000, 1.0, &p);
            assert_eq!(got, c.want, "{}", c.reason);
        }
    }

    #[test]
    fn backoff_doubles_within_bounds() {
        let p = Policy::default();
        assert_eq!(backoff(1, 1.0, &p), Duration::from_millis(250));
        assert_eq!(backoff(2, 1.0, &p), Duration::from_millis(500));
        assert_eq!(backoff(2, 0.0, &p), Duration::from_millis(250));
        assert_eq!(backoff(30, 1.0, &p), p.max_delay);
        let j = jitter();
        assert!((0.0..1.0).contains(&j));
    }
}
