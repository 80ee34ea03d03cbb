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
}

impl Default for State {
    fn default() -> Self {
        let store = Store::default();
        Self {
            catalog: Catalog::new(store.clone(), crate::catalog::epoch()),
            store,
        }
    }
}
