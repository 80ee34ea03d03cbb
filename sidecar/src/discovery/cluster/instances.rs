//! The watcher of one kind users create (claims, XRs, RGD instances,
//! Promise resources): a full list replaces what the catalog holds for it,
//! then single changes are applied as they come.
use std::time::Duration;

use kube::api::{ApiResource, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;

use super::{PAGE_SIZE, to_value};
use crate::catalog::Catalog;

/// What an instance watcher tells its cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Report {
    /// A full list completed.
    Synced(String),
    /// Events flow again after an error.
    Healthy(String),
    /// The watch failed; it retries with backoff.
    Failed(String, String),
}

/// How often a kind that is not served (yet) is looked for again: at a
/// steady pace, not on the watcher's backoff, which grows to 30 s.
pub(super) const ABSENT_RETRY: Duration = Duration::from_secs(2);

/// Watches `ar` in every namespace until aborted.
pub(super) async fn watch(
    client: Client,
    ar: ApiResource,
    cluster: String,
    source: String,
    catalog: Catalog,
    reports: mpsc::UnboundedSender<Report>,
) {
    let api = Api::<DynamicObject>::all_with(client, &ar);
    let config = watcher::Config::default().page_size(PAGE_SIZE);
    let mut buffer = Vec::new();
    let mut failing = false;
    let mut absent = false;
    'watch: loop {
        let mut events = Box::pin(watcher::watcher(api.clone(), config.clone()).default_backoff());
        while let Some(event) = events.next().await {
            let event = match event {
                Ok(e) => e,
                // KRO and Kratix create an instance CRD after its definition:
                // a kind not served (yet, or any more) has no objects, and
                // says nothing about the cluster's health.
                Err(
                    watcher::Error::InitialListFailed(kube::Error::Api(s))
                    | watcher::Error::WatchStartFailed(kube::Error::Api(s)),
                ) if s.code == 404 => {
                    if !absent {
                        absent = true;
                        tracing::info!(%cluster, %source, "kind not served yet");
                        catalog.replace_objects(&cluster, &source, Vec::<serde_json::Value>::new());
                        let _ = reports.send(Report::Synced(source.clone()));
                    }
                    tokio::time::sleep(ABSENT_RETRY).await;
                    continue 'watch;
                }
                Err(e) => {
                    failing = true;
                    let _ = reports.send(Report::Failed(source.clone(), e.to_string()));
                    continue;
                }
            };
            absent = false;
            if failing {
                failing = false;
                let _ = reports.send(Report::Healthy(source.clone()));
            }
            match event {
                Event::Init => buffer.clear(),
                Event::InitApply(o) => buffer.push(typed(o, &ar)),
                Event::InitDone => {
                    catalog.replace_objects(&cluster, &source, std::mem::take(&mut buffer));
                    let _ = reports.send(Report::Synced(source.clone()));
                }
                Event::Apply(o) => catalog.upsert_object(&cluster, &source, typed(o, &ar)),
                Event::Delete(o) => catalog.remove_object(&cluster, &source, &typed(o, &ar)),
            }
        }
        return;
    }
}

/// `obj` as JSON with its `apiVersion` and `kind`: list items of built-in
/// kinds (Namespaces) come without them, and objects are keyed by them.
fn typed(mut obj: DynamicObject, ar: &ApiResource) -> serde_json::Value {
    if obj.types.is_none() {
        obj.types = Some(kube::api::TypeMeta {
            api_version: ar.api_version.clone(),
            kind: ar.kind.clone(),
        });
    }
    to_value(obj)
}
