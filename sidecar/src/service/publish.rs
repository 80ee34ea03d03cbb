//! `osp.v1.PublishService`: GitOps pull requests.
use tonic::{Request, Response, Status};

use super::State;
use crate::errors::Error;
use crate::pb::{self, publish_service_server::PublishService};

/// The PublishService implementation.
#[derive(Debug, Clone)]
pub struct Publish {
    #[allow(dead_code)]
    state: State,
}

impl Publish {
    /// A service over the shared state.
    pub fn new(state: State) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl PublishService for Publish {
    async fn create_pull_request(
        &self,
        _request: Request<pb::CreatePullRequestRequest>,
    ) -> Result<Response<pb::CreatePullRequestResponse>, Status> {
        Err(Error::Unimplemented("CreatePullRequest").into())
    }
}
