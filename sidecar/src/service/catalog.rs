//! `osp.v1.CatalogService`: Backstage entities with incremental change.
//! Snapshots and deltas come from the live [`crate::catalog::Catalog`];
//! until it is ready every call answers `UNAVAILABLE`, never a partial
//! catalog.
use std::pin::Pin;

use osp::catalog::{Delta, Entry};
use osp::resource::{Node, ObjectRef, State as ResState, for_state, for_tree};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::{State, structs};
use crate::errors::Error;
use crate::pb::{self, catalog_service_server::CatalogService};

/// The CatalogService implementation.
#[derive(Debug, Clone)]
pub struct Catalog {
    state: State,
}

impl Catalog {
    /// A service over the shared state.
    pub fn new(state: State) -> Self {
        Self { state }
    }

    fn clusters(&self) -> Vec<pb::ClusterState> {
        self.state
            .catalog
            .clusters()
            .into_iter()
            .map(|c| pb::ClusterState {
                name: c.name,
                synced: c.synced,
                stale: c.stale,
                message: c.message,
            })
            .collect()
    }

    fn delta(&self, since: u64) -> Result<pb::GetDeltaResponse, Error> {
        let delta = self
            .state
            .catalog
            .delta(since)
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        Ok(self.encode(delta))
    }

    fn encode(&self, delta: Delta) -> pb::GetDeltaResponse {
        pb::GetDeltaResponse {
            revision: delta.revision,
            resync_needed: delta.resync_needed,
            upserted: delta.upserted.iter().map(entity).collect(),
            removed: delta.removed,
            clusters: self.clusters(),
        }
    }

    /// The first message of a change stream: the delta since `since`, or,
    /// when that revision is unknown here (0, another instance, too old),
    /// every entity with `resync_needed` set so the caller replaces all.
    fn first(&self, since: u64) -> Result<pb::GetDeltaResponse, Error> {
        let unavailable = |e: crate::catalog::Error| Error::Unavailable(e.to_string());
        let delta = self.state.catalog.delta(since).map_err(unavailable)?;
        if !delta.resync_needed {
            return Ok(self.encode(delta));
        }
        let snap = self.state.catalog.snapshot().map_err(unavailable)?;
        Ok(self.encode(Delta {
            revision: snap.revision,
            resync_needed: since != 0,
            upserted: snap.entities,
            removed: Vec::new(),
        }))
    }

    fn status(
        &self,
        req: &pb::GetResourceStatusRequest,
    ) -> Result<pb::GetResourceStatusResponse, Error> {
        for (field, v) in [
            ("kind", &req.kind),
            ("name", &req.name),
            ("api_version", &req.api_version),
        ] {
            if v.is_empty() {
                return Err(Error::invalid(field, "required"));
            }
        }
        let id = ObjectRef {
            api_version: req.api_version.clone(),
            kind: req.kind.clone(),
            namespace: req.namespace.clone(),
            name: req.name.clone(),
        };
        let catalog = &self.state.catalog;
        let (cluster, obj) = catalog
            .object(&req.cluster, &id)
            .ok_or_else(|| Error::NotFound {
                what: "resource",
                name: format!(
                    "{}/{}/{}{}",
                    req.api_version,
                    req.kind,
                    if req.namespace.is_empty() {
                        String::new()
                    } else {
                        format!("{}/", req.namespace)
                    },
                    req.name
                ),
            })?;
        let lookup = |r: &ObjectRef| catalog.object(&cluster, r).map(|(_, o)| (*o).clone());
        let root = for_tree(&obj, &lookup);
        let (_, message) = for_state(&obj);
        Ok(pb::GetResourceStatusResponse {
            root: Some(node(&root)),
            message,
            status: obj.get("status").map(structs::to_struct),
        })
    }
}

fn entity((r, e): &(String, Entry)) -> pb::Entity {
    pb::Entity {
        r#ref: r.clone(),
        entity: Some(structs::to_struct(&e.entity)),
        etag: e.etag.clone(),
    }
}

fn node(n: &Node) -> pb::ResourceNode {
    pb::ResourceNode {
        api_version: n.object.api_version.clone(),
        kind: n.object.kind.clone(),
        namespace: n.object.namespace.clone(),
        name: n.object.name.clone(),
        state: match n.state {
            None => pb::ResourceState::Unspecified,
            Some(ResState::Pending) => pb::ResourceState::Pending,
            Some(ResState::Provisioning) => pb::ResourceState::Provisioning,
            Some(ResState::Ready) => pb::ResourceState::Ready,
            Some(ResState::Error) => pb::ResourceState::Error,
            Some(ResState::Deleting) => pb::ResourceState::Deleting,
        } as i32,
        conditions: n
            .conditions
            .iter()
            .map(|c| pb::Condition {
                r#type: c.kind.clone(),
                status: c.status.clone(),
                reason: c.reason.clone(),
                message: c.message.clone(),
                last_transition_time: c.last_transition_time.clone(),
            })
            .collect(),
        children: n.children.iter().map(node).collect(),
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
        let snap = self
            .state
            .catalog
            .snapshot()
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        Ok(Response::new(pb::GetSnapshotResponse {
            revision: snap.revision,
            entities: snap.entities.iter().map(entity).collect(),
            clusters: self.clusters(),
        }))
    }

    async fn get_delta(
        &self,
        request: Request<pb::GetDeltaRequest>,
    ) -> Result<Response<pb::GetDeltaResponse>, Status> {
        Ok(Response::new(
            self.delta(request.into_inner().since_revision)?,
        ))
    }

    async fn watch_changes(
        &self,
        request: Request<pb::WatchChangesRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
        let since = request.into_inner().since_revision;
        let mut changes = self.state.catalog.subscribe();
        changes.mark_unchanged();
        let first = self.first(since)?;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let me = self.clone();
        tokio::spawn(async move {
            let mut last;
            let mut next = Ok(first);
            loop {
                match next {
                    Ok(d) => {
                        last = d.revision;
                        let msg = pb::WatchChangesResponse { delta: Some(d) };
                        if tx.send(Ok(msg)).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(Status::from(e))).await;
                        return;
                    }
                }
                loop {
                    tokio::select! {
                        // The server is going away.
                        r = changes.changed() => if r.is_err() { return },
                        () = tx.closed() => return,
                    }
                    match me.first(last) {
                        Ok(d)
                            if !d.resync_needed
                                && d.upserted.is_empty()
                                && d.removed.is_empty() => {}
                        other => {
                            next = other;
                            break;
                        }
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn get_resource_status(
        &self,
        request: Request<pb::GetResourceStatusRequest>,
    ) -> Result<Response<pb::GetResourceStatusResponse>, Status> {
        Ok(Response::new(self.status(&request.into_inner())?))
    }
}
