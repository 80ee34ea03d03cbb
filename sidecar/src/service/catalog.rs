//! `osp.v1.CatalogService`: Backstage entities with incremental change.
use std::pin::Pin;

use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::State;
use crate::errors::Error;
use crate::pb::{self, catalog_service_server::CatalogService};

/// The CatalogService implementation.
#[derive(Debug, Clone)]
pub struct Catalog {
    #[allow(dead_code)]
    state: State,
}

impl Catalog {
    /// A service over the shared state.
    pub fn new(state: State) -> Self {
        Self { state }
    }
}

type ChangeStream = Pin<Box<dyn Stream<Item = Result<pb::WatchChangesResponse, Status>> + Send>>;

#[tonic::async_trait]
impl CatalogService for Catalog {
    type WatchChangesStream = ChangeStream;

    async fn get_snapshot(
        &self,
        _request: Request<pb::GetSnapshotRequest>,
    ) -> Result<Response<pb::GetSnapshotResponse>, Status> {
        Err(Error::Unimplemented("GetSnapshot").into())
    }

    async fn get_delta(
        &self,
        _request: Request<pb::GetDeltaRequest>,
    ) -> Result<Response<pb::GetDeltaResponse>, Status> {
        Err(Error::Unimplemented("GetDelta").into())
    }

    async fn watch_changes(
        &self,
        _request: Request<pb::WatchChangesRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
        Err(Error::Unimplemented("WatchChanges").into())
    }

    async fn get_resource_status(
        &self,
        _request: Request<pb::GetResourceStatusRequest>,
    ) -> Result<Response<pb::GetResourceStatusResponse>, Status> {
        Err(Error::Unimplemented("GetResourceStatus").into())
    }
}
