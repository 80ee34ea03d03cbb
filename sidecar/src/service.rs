//! gRPC service implementations, one module per `osp.v1` service. Handlers
//! are thin: decode, call the core, encode; errors go through
//! [`crate::errors::respond`].
pub mod catalog;
pub mod claims;
pub mod publish;
pub mod structs;
pub mod templates;

use crate::catalog::Catalog;
use crate::store::Store;

/// State shared by every service.
#[derive(Debug, Clone)]
pub struct State {
    /// Known definitions.
    pub store: Store,
    /// The live catalog (reads the same store).
    pub catalog: Catalog,
    /// Limits on YAML/JSON documents in requests.
    pub document_limits: osp::document::Limits,
    /// Limits on CEL validation rules when rendering claims.
    pub cel_limits: osp::claim::CelLimits,
}

impl Default for State {
    fn default() -> Self {
        let store = Store::default();
        Self {
            catalog: Catalog::new(store.clone(), crate::catalog::epoch()),
            store,
            document_limits: osp::document::Limits::default(),
            cel_limits: osp::claim::CelLimits::default(),
        }
    }
}

impl State {
    /// The state with the configured limits.
    pub fn with_limits(self, config: &crate::config::Config) -> Self {
        Self {
            document_limits: config.document_limits,
            cel_limits: config.cel_limits,
            ..self
        }
    }
}

/// Runs CPU-bound work (conversion, rendering, validation) on the blocking
/// pool, so the async worker stays free and the request timeout can answer
/// `DEADLINE_EXCEEDED` while a pathological input is still being processed.
/// The concurrency limit bounds how many such jobs exist at once.
pub async fn cpu<T, F>(work: F) -> Result<T, tonic::Status>
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
