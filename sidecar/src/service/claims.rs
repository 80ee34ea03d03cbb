//! `osp.v1.ClaimService`: render, validate and apply claims and XRs.
use tonic::{Request, Response, Status};

use super::State;
use crate::errors::Error;
use crate::pb::{self, claim_service_server::ClaimService};

/// The ClaimService implementation.
#[derive(Debug, Clone)]
pub struct Claims {
    #[allow(dead_code)]
    state: State,
}

impl Claims {
    /// A service over the shared state.
    pub fn new(state: State) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl ClaimService for Claims {
    async fn render_claim(
        &self,
        _request: Request<pb::RenderClaimRequest>,
    ) -> Result<Response<pb::RenderClaimResponse>, Status> {
        Err(Error::Unimplemented("RenderClaim").into())
    }

    async fn apply_claim(
        &self,
        _request: Request<pb::ApplyClaimRequest>,
    ) -> Result<Response<pb::ApplyClaimResponse>, Status> {
        Err(Error::Unimplemented("ApplyClaim").into())
    }
}
