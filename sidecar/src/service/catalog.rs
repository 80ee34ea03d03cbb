//! `osp.v1.CatalogService`: Backstage entities with incremental change.
//! Snapshots and deltas come from the live [`crate::catalog::Catalog`];
//! until it is ready every call answers `UNAVAILABLE`, never a partial
//! catalog. Snapshots are paged from a kept copy, so every page of one
//! snapshot has its revision, and no message grows with the catalog.
use std::pin::Pin;

use osp::catalog::{Delta, Entry};
use osp::resource::{Node, ObjectRef, State as ResState, for_state, for_tree};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::{State, cpu_sized, protobuf_struct};
use crate::errors::Error;
use crate::pb::{self, EntityEncoding, catalog_service_server::CatalogService};

/// Entities per snapshot page when the caller does not say.
pub(crate) const DEFAULT_PAGE_SIZE: usize = 1000;

/// Most entities in one message: a larger page is cut to this, and a
/// larger delta answers `resync_needed` (the caller pages a snapshot).
pub(crate) const MAX_PAGE_SIZE: usize = 5000;

/// A page also ends before its entities pass this many bytes (estimated
/// from their JSON text), so it fits the 4 MiB receive limit that tonic,
/// grpc-go and grpcurl clients have by default.
pub(crate) const MAX_PAGE_BYTES: usize = 3 << 20;

/// Estimated encoded size of an entity: a Struct takes about twice its
/// JSON text.
fn weight(e: &Entry, encoding: EntityEncoding) -> usize {
    let json = e.json.len() + e.etag.len() + 64;
    if encoding == EntityEncoding::Json {
        json
    } else {
        2 * json
    }
}

/// How many of `entries` fit in one message (at least one).
fn fitting(entries: &[(String, Entry)], max: usize, encoding: EntityEncoding) -> usize {
    let mut bytes = 0;
    let n = entries
        .iter()
        .take(max)
        .take_while(|(_, e)| {
            bytes += weight(e, encoding);
            bytes <= MAX_PAGE_BYTES
        })
        .count();
    n.max(1).min(entries.len())
}

/// The CatalogService implementation.
#[derive(Debug, Clone)]
pub(crate) struct Catalog {
    state: State,
    /// Direct apply's admission, for `direct_delete` (disabled by default).
    applier: crate::apply::Applier,
}

fn unavailable(e: crate::catalog::Error) -> Error {
    Error::Unavailable(e.to_string())
}

/// A page token: the snapshot's revision and the offset of the next entity.
fn page_token(revision: u64, offset: usize) -> String {
    format!("{revision:016x}{offset:08x}")
}

fn parse_page_token(token: &str) -> Result<(u64, usize), Error> {
    let bad = || Error::invalid("page_token", "not a `next_page_token` of GetSnapshot");
    if token.len() != 24 || !token.is_ascii() {
        return Err(bad());
    }
    let revision = u64::from_str_radix(&token[..16], 16).map_err(|_| bad())?;
    let offset = usize::from_str_radix(&token[16..], 16).map_err(|_| bad())?;
    Ok((revision, offset))
}

impl Catalog {
    /// A service over the shared state.
    pub(crate) fn new(state: State) -> Self {
        Self {
            state,
            applier: crate::apply::Applier::default(),
        }
    }

    /// Reports `direct_delete` as direct apply's admission says.
    pub(crate) fn with_applier(mut self, applier: crate::apply::Applier) -> Self {
        self.applier = applier;
        self
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

    fn encode(&self, mut delta: Delta, encoding: EntityEncoding) -> pb::GetDeltaResponse {
        if fitting(&delta.upserted, MAX_PAGE_SIZE, encoding) < delta.upserted.len() {
            delta = Delta {
                revision: delta.revision,
                resync_needed: true,
                ..Delta::default()
            };
        }
        pb::GetDeltaResponse {
            revision: delta.revision,
            resync_needed: delta.resync_needed,
            upserted: delta
                .upserted
                .iter()
                .map(|(r, e)| entity(r, e, encoding))
                .collect(),
            removed: delta.removed,
            clusters: self.clusters(),
        }
    }

    /// The first message of a change stream: the delta since `since`, or,
    /// when that revision is unknown here (0, another instance, too old),
    /// every entity with `resync_needed` set so the caller replaces all
    /// (or, past [`MAX_PAGE_SIZE`] entities, only `resync_needed`).
    fn first(&self, since: u64, encoding: EntityEncoding) -> Result<pb::GetDeltaResponse, Error> {
        let delta = self.state.catalog.delta(since).map_err(unavailable)?;
        if !delta.resync_needed {
            return Ok(self.encode(delta, encoding));
        }
        let snap = self.state.catalog.snapshot().map_err(unavailable)?;
        let delta = if fitting(&snap.entities, MAX_PAGE_SIZE, encoding) < snap.entities.len() {
            Delta {
                revision: snap.revision,
                resync_needed: true,
                ..Delta::default()
            }
        } else {
            Delta {
                revision: snap.revision,
                resync_needed: since != 0,
                upserted: snap.entities.clone(),
                removed: Vec::new(),
            }
        };
        Ok(self.encode(delta, encoding))
    }

    fn page(&self, req: &pb::GetSnapshotRequest) -> Result<pb::GetSnapshotResponse, Error> {
        let catalog = &self.state.catalog;
        let (snap, offset) = if req.page_token.is_empty() {
            (catalog.snapshot().map_err(unavailable)?, 0)
        } else {
            let (revision, offset) = parse_page_token(&req.page_token)?;
            let snap = catalog
                .snapshot_at(revision)
                .map_err(unavailable)?
                .ok_or(Error::SnapshotExpired { revision })?;
            (snap, offset)
        };
        let size = match req.page_size as usize {
            0 => DEFAULT_PAGE_SIZE,
            n => n.min(MAX_PAGE_SIZE),
        };
        let encoding = req.encoding();
        let rest = snap.entities.get(offset..).unwrap_or_default();
        let end = offset + fitting(rest, size, encoding);
        let entities = snap
            .entities
            .get(offset..end)
            .unwrap_or_default()
            .iter()
            .map(|(r, e)| entity(r, e, encoding))
            .collect();
        Ok(pb::GetSnapshotResponse {
            revision: snap.revision,
            entities,
            clusters: self.clusters(),
            next_page_token: if end < snap.entities.len() {
                page_token(snap.revision, end)
            } else {
                String::new()
            },
        })
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
            status: obj.get("status").map(protobuf_struct::to_struct),
            yaml: osp::document::to_yaml(&osp::resource::for_display(&obj)),
            direct_delete: self.applier.admits(
                &cluster,
                Some(req.namespace.as_str()).filter(|n| !n.is_empty()),
            ),
        })
    }
}

fn entity(r: &str, e: &Entry, encoding: EntityEncoding) -> pb::Entity {
    let json = encoding == EntityEncoding::Json;
    pb::Entity {
        r#ref: r.to_string(),
        entity: (!json).then(|| protobuf_struct::to_struct(&e.entity)),
        etag: e.etag.clone(),
        json: if json {
            e.json.to_string()
        } else {
            String::new()
        },
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
        request: Request<pb::GetSnapshotRequest>,
    ) -> Result<Response<pb::GetSnapshotResponse>, Status> {
        let me = self.clone();
        let req = request.into_inner();
        // A page of JSON text is a copy of at most 3 MiB; a page of Structs
        // costs milliseconds of CPU, so it goes to the blocking pool.
        let work = match req.encoding() {
            EntityEncoding::Json => 0,
            _ => usize::MAX,
        };
        Ok(Response::new(cpu_sized(work, move || me.page(&req)).await?))
    }

    async fn get_delta(
        &self,
        request: Request<pb::GetDeltaRequest>,
    ) -> Result<Response<pb::GetDeltaResponse>, Status> {
        let req = request.into_inner();
        let encoding = req.encoding();
        let delta = self
            .state
            .catalog
            .delta(req.since_revision)
            .map_err(unavailable)?;
        // Most deltas are a few entities: encode them here; many Structs go
        // to the blocking pool.
        let work = match encoding {
            EntityEncoding::Json => 0,
            _ => delta.upserted.len().saturating_mul(1024),
        };
        let me = self.clone();
        Ok(Response::new(
            cpu_sized(work, move || Ok(me.encode(delta, encoding))).await?,
        ))
    }

    async fn watch_changes(
        &self,
        request: Request<pb::WatchChangesRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
        let req = request.into_inner();
        let (since, encoding) = (req.since_revision, req.encoding());
        let mut changes = self.state.catalog.subscribe();
        changes.mark_unchanged();
        let first = self.first(since, encoding)?;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let me = self.clone();
        let mut stopping = self.state.stopping.subscribe();
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
                        // (The guard `wait_for` returns is not `Send`.)
                        () = async { let _ = stopping.wait_for(|s| *s).await; } => {
                            let bye = Status::unavailable(
                                "server shutting down: reconnect and watch again from the last revision",
                            );
                            let _ = tx.send(Err(bye)).await;
                            return;
                        }
                    }
                    match me.first(last, encoding) {
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

#[cfg(test)]
mod tests;
