//! gRPC service implementations, one module per `osp.v1` service. Handlers
//! are thin: decode, call the core, encode; errors go through
//! [`crate::errors::respond`].
pub(crate) mod catalog;
pub(crate) mod claims;
pub(crate) mod protobuf_struct;
pub(crate) mod publish;
pub(crate) mod templates;

use crate::catalog::Catalog;
use crate::store::Store;

/// State shared by every service.
#[derive(Debug, Clone)]
pub(crate) struct State {
    /// Known definitions.
    pub store: Store,
    /// The live catalog (reads the same store).
    pub catalog: Catalog,
    /// Limits on YAML/JSON documents in requests.
    pub document_limits: osp::document::Limits,
    /// Limits on CEL validation rules when rendering claims.
    pub cel_limits: osp::claim::CelLimits,
    /// Becomes true when the server starts draining: open streams end with
    /// `UNAVAILABLE` instead of being cut.
    pub stopping: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
}

impl Default for State {
    fn default() -> Self {
        let store = Store::default();
        Self {
            catalog: Catalog::new(store.clone(), crate::catalog::epoch()),
            store,
            document_limits: osp::document::Limits::default(),
            cel_limits: osp::claim::CelLimits::default(),
            stopping: std::sync::Arc::new(tokio::sync::watch::Sender::new(false)),
        }
    }
}

impl State {
    /// The state with the configured limits.
    pub(crate) fn with_limits(
        self,
        document_limits: osp::document::Limits,
        cel_limits: osp::claim::CelLimits,
    ) -> Self {
        Self {
            document_limits,
            cel_limits,
            ..self
        }
    }
}

/// Largest request (encoded bytes) whose conversion or rendering runs inline
/// on the async worker (see [`cpu_sized`]). A typical XRD (2 KiB) converts in
/// about 0.1 ms and a claim renders in about 20 µs, less than handing the job
/// to the blocking pool and back costs (two thread wake-ups, measured at 30–50
/// µs of CPU per call under load); 16 KiB of input stays well under a
/// millisecond.
pub(crate) const INLINE_MAX_BYTES: usize = 16 * 1024;

/// Runs CPU-bound work (conversion, rendering, validation) on the blocking
/// pool, so the async worker stays free and the request timeout can answer
/// `DEADLINE_EXCEEDED` while a pathological input is still being processed.
/// The concurrency limit bounds how many such jobs exist at once.
pub(crate) async fn cpu<T, F>(work: F) -> Result<T, tonic::Status>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, crate::errors::Error> + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(tonic::Status::from),
        Err(e) => {
            tracing::error!(error = %e, "request handler panicked");
            Err(tonic::Status::internal("request handler failed"))
        }
    }
}

/// Like [`cpu`], but work whose input is at most [`INLINE_MAX_BYTES`] runs
/// right here on the async worker: it finishes sooner than the hand-off to
/// the blocking pool would, and the timeout could not have fired before it
/// anyway. Larger inputs still go to the blocking pool so the request timeout
/// answers on time. A panic answers `INTERNAL` either way instead of
/// unwinding into (and resetting) the caller's shared HTTP/2 connection.
pub(crate) async fn cpu_sized<T, F>(input_bytes: usize, work: F) -> Result<T, tonic::Status>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, crate::errors::Error> + Send + 'static,
{
    if input_bytes > INLINE_MAX_BYTES {
        return cpu(work).await;
    }
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
        Ok(result) => result.map_err(tonic::Status::from),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("non-string panic");
            tracing::error!(error = %message, "request handler panicked");
            Err(tonic::Status::internal("request handler failed"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn small_work_runs_inline_large_on_the_blocking_pool() {
        struct Case {
            reason: &'static str,
            input_bytes: usize,
            panics: bool,
            inline: bool,
            want: Result<(), tonic::Code>,
        }
        let cases = [
            Case {
                reason: "a small input runs on the calling thread",
                input_bytes: 100,
                panics: false,
                inline: true,
                want: Ok(()),
            },
            Case {
                reason: "a large input leaves the async worker",
                input_bytes: INLINE_MAX_BYTES + 1,
                panics: false,
                inline: false,
                want: Ok(()),
            },
            Case {
                reason: "an inline panic answers INTERNAL",
                input_bytes: 100,
                panics: true,
                inline: true,
                want: Err(tonic::Code::Internal),
            },
            Case {
                reason: "a pooled panic answers INTERNAL",
                input_bytes: INLINE_MAX_BYTES + 1,
                panics: true,
                inline: false,
                want: Err(tonic::Code::Internal),
            },
        ];
        for c in cases {
            let caller = std::thread::current().id();
            let panics = c.panics;
            let got = cpu_sized(c.input_bytes, move || {
                assert!(!panics, "boom");
                Ok(std::thread::current().id())
            })
            .await;
            match (got, c.want) {
                (Ok(thread), Ok(())) => assert_eq!(thread == caller, c.inline, "{}", c.reason),
                (Err(status), Err(code)) => assert_eq!(status.code(), code, "{}", c.reason),
                (got, want) => panic!("{}: got {got:?}, want {want:?}", c.reason),
            }
        }
    }
}
