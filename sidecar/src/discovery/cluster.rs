//! One watched cluster: kube-runtime watchers (paginated initial list,
//! bookmarks, re-list after `410 Gone`, backoff on errors) for the
//! definitions (XRDs v2 or v1, KRO RGDs, Kratix Promises) and Compositions,
//! and, started and stopped as definitions come and go, one watcher per
//! kind users create (claims and XRs, RGD instances, Promise resources).
//! An unreachable cluster keeps its last good state in the catalog,
//! marked stale.
mod instances;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use osp::convert::{Converted, Options};
use osp::definition::compositions::Compositions;
use osp::definition::kinds::{self, KINDS, SourceKind};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_stream::{Stream, StreamExt, StreamMap};

use crate::catalog::{Catalog, SourceReport};
use crate::clusters::Cluster as ClusterSource;
use crate::store::Known;

pub(crate) use instances::Report;

/// Objects per page of an initial list.
pub(crate) const PAGE_SIZE: u32 = 500;

/// How often the served definition kinds are checked again, so Crossplane,
/// KRO or Kratix installed (or upgraded) after the sidecar started is
/// picked up without a restart.
pub(crate) const REDISCOVER_INTERVAL: Duration = Duration::from_secs(30);

/// How often an erroring cluster is probed for reachability.
pub(crate) const PROBE_INTERVAL: Duration = Duration::from_secs(2);

/// Errors of one cluster.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The kubeconfig or in-cluster configuration could not be loaded.
    #[error(transparent)]
    LoadConfig(#[from] crate::clusters::Error),
    /// API discovery failed (cluster unreachable or forbidden).
    #[error("cannot discover APIs of cluster `{cluster}`: {message}")]
    Discover { cluster: String, message: String },
}

type Events = Pin<Box<dyn Stream<Item = Result<Event<DynamicObject>, watcher::Error>> + Send>>;

/// Watches one cluster until the process ends, reconnecting with backoff.
pub(crate) async fn run(source: ClusterSource, catalog: Catalog) {
    let mut delay = Duration::from_millis(500);
    loop {
        match connect(&source).await {
            Ok((client, kinds)) => {
                Cluster::new(source.name.clone(), client, catalog.clone())
                    .watch(kinds)
                    .await;
                delay = Duration::from_millis(500);
            }
            Err(e) => {
                tracing::warn!(cluster = %source.name, error = %e, "cluster unreachable; retrying");
                catalog.set_state(&source.name, SourceReport::failing(&e.to_string()));
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

/// A client and the definition kinds the cluster serves.
async fn connect(
    source: &ClusterSource,
) -> Result<(Client, Vec<(&'static str, ApiResource)>), Error> {
    let client = crate::clusters::client(source, None).await?;
    let kinds = definition_kinds(&client, &source.name).await?;
    tracing::info!(cluster = %source.name, kinds = ?kinds.iter().map(|(t, _)| *t).collect::<Vec<_>>(), "watching definitions");
    Ok((client, kinds))
}

/// The kinds of the core's table ([`KINDS`]) the cluster serves, each in
/// its most preferred served version.
async fn definition_kinds(
    client: &Client,
    cluster: &str,
) -> Result<Vec<(&'static str, ApiResource)>, Error> {
    let mut kinds = Vec::new();
    for SourceKind {
        tag,
        group,
        kind,
        versions,
        ..
    } in KINDS
    {
        for version in versions {
            match client
                .list_api_group_resources(&format!("{group}/{version}"))
                .await
            {
                Ok(list) => {
                    if let Some(r) = list.resources.iter().find(|r| r.kind == kind) {
                        let gvk = GroupVersionKind::gvk(group, version, kind);
                        kinds.push((tag, ApiResource::from_gvk_with_plural(&gvk, &r.name)));
                        break;
                    }
                }
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => {
                    return Err(Error::Discover {
                        cluster: cluster.to_string(),
                        message: e.to_string(),
                    });
                }
            }
        }
    }
    Ok(kinds)
}

/// A watch event's object as JSON, without what the catalog never needs
/// (managed fields, the last-applied copy).
pub(crate) fn to_value(obj: DynamicObject) -> Value {
    let mut v = serde_json::to_value(obj).unwrap_or(Value::Null);
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        if let Some(a) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            a.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
    v
}

struct Cluster {
    name: String,
    client: Client,
    catalog: Catalog,
    // Tag → definition name → object.
    raw: BTreeMap<&'static str, BTreeMap<String, Value>>,
    buffers: HashMap<&'static str, Vec<Value>>,
    synced_kinds: BTreeSet<&'static str>,
    converted: HashMap<String, (String, Vec<String>, Arc<Converted>)>,
    instances: HashMap<String, (ApiResource, tokio::task::JoinHandle<()>)>,
    pending: BTreeSet<String>,
    errors: BTreeMap<String, String>,
    reports: (
        mpsc::UnboundedSender<Report>,
        mpsc::UnboundedReceiver<Report>,
    ),
}

impl Cluster {
    fn new(name: String, client: Client, catalog: Catalog) -> Self {
        Self {
            name,
            client,
            catalog,
            raw: BTreeMap::new(),
            buffers: HashMap::new(),
            synced_kinds: BTreeSet::new(),
            converted: HashMap::new(),
            instances: HashMap::new(),
            pending: BTreeSet::new(),
            errors: BTreeMap::new(),
            reports: mpsc::unbounded_channel(),
        }
    }

    async fn watch(mut self, kinds: Vec<(&'static str, ApiResource)>) {
        let mut streams: StreamMap<&'static str, Events> = StreamMap::new();
        let expected: BTreeSet<&'static str> = kinds.iter().map(|(t, _)| *t).collect();
        let kinds_now = kinds.clone();
        for (tag, ar) in kinds {
            let api = Api::<DynamicObject>::all_with(self.client.clone(), &ar);
            let config = watcher::Config::default().page_size(PAGE_SIZE);
            streams.insert(
                tag,
                Box::pin(watcher::watcher(api, config).default_backoff()),
            );
        }
        if expected.is_empty() {
            self.sync_check(&expected);
        }
        // A watch that recovers emits nothing until something changes, so
        // while errors are recorded, reachability is probed directly.
        let mut probe = tokio::time::interval(PROBE_INTERVAL);
        probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut rediscover = tokio::time::interval_at(
            tokio::time::Instant::now() + REDISCOVER_INTERVAL,
            REDISCOVER_INTERVAL,
        );
        rediscover.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let served: BTreeMap<&'static str, ApiResource> = kinds_now.into_iter().collect();
        loop {
            tokio::select! {
                _ = rediscover.tick() => {
                    if let Ok(Ok(now)) = tokio::time::timeout(PROBE_INTERVAL, definition_kinds(&self.client, &self.name)).await {
                        let now: BTreeMap<&'static str, ApiResource> = now.into_iter().collect();
                        if now != served {
                            tracing::info!(cluster = %self.name, kinds = ?now.keys().collect::<Vec<_>>(), "definition kinds changed; watching again");
                            return;
                        }
                    }
                }
                _ = probe.tick(), if !self.errors.is_empty() => {
                    let version = tokio::time::timeout(PROBE_INTERVAL, self.client.apiserver_version()).await;
                    match version {
                        Ok(Ok(_)) => self.errors.clear(),
                        Ok(Err(e)) => { self.errors.insert("probe".into(), e.to_string()); }
                        Err(_) => { self.errors.insert("probe".into(), "API server did not answer".into()); }
                    }
                }
                Some((tag, event)) = streams.next() => {
                    match event {
                        Ok(e) => {
                            self.errors.remove(tag);
                            // Until every definition kind has listed once, a
                            // refresh would drop the definitions of the others
                            // (after a reconnect: flapping entities).
                            if self.definition_event(tag, e)
                                && expected.iter().all(|t| self.synced_kinds.contains(t))
                            {
                                self.refresh();
                            }
                        }
                        Err(e) => {
                            self.errors.insert(tag.to_string(), e.to_string());
                        }
                    }
                }
                Some(report) = self.reports.1.recv() => self.report(report),
                else => return,
            }
            self.sync_check(&expected);
        }
    }

    /// Applies a definition event; true when the definitions changed.
    fn definition_event(&mut self, tag: &'static str, event: Event<DynamicObject>) -> bool {
        let map = self.raw.entry(tag).or_default();
        match event {
            Event::Init => {
                self.buffers.insert(tag, Vec::new());
                false
            }
            Event::InitApply(o) => {
                self.buffers.entry(tag).or_default().push(to_value(o));
                false
            }
            Event::InitDone => {
                let listed = self.buffers.remove(tag).unwrap_or_default();
                *map = listed
                    .into_iter()
                    .map(|o| {
                        (
                            o["metadata"]["name"]
                                .as_str()
                                .unwrap_or_default()
                                .to_string(),
                            o,
                        )
                    })
                    .collect();
                self.synced_kinds.insert(tag);
                true
            }
            Event::Apply(o) => {
                let o = to_value(o);
                let name = o["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                map.insert(name, o);
                true
            }
            Event::Delete(o) => map
                .remove(o.metadata.name.as_deref().unwrap_or_default())
                .is_some(),
        }
    }

    fn report(&mut self, report: Report) {
        match report {
            Report::Synced(source) => {
                self.pending.remove(&source);
                self.errors.remove(&source);
            }
            Report::Healthy(source) => {
                self.errors.remove(&source);
            }
            Report::Failed(source, message) => {
                self.errors.insert(source, message);
            }
        }
    }

    fn sync_check(&self, expected: &BTreeSet<&'static str>) {
        let synced =
            expected.iter().all(|t| self.synced_kinds.contains(t)) && self.pending.is_empty();
        let message = self
            .errors
            .iter()
            .map(|(s, e)| format!("{s}: {e}"))
            .collect::<Vec<_>>()
            .join("; ");
        let stale = !self.errors.is_empty();
        let states = self.catalog.clusters();
        let now = states.iter().find(|s| s.name == self.name);
        if now.is_none_or(|s| s.stale != stale || s.message != message || (synced && !s.synced)) {
            let problem = stale.then_some(message.as_str());
            self.catalog
                .set_state(&self.name, SourceReport { synced, problem });
        }
    }

    /// Converts the definitions, publishes them, and starts or stops the
    /// instance watchers to match.
    fn refresh(&mut self) {
        let known = self.convert_all();
        let mut wanted = instance_kinds(&known);
        if self.catalog.watches_namespaces() {
            let gvk = GroupVersionKind::gvk("", "v1", "Namespace");
            wanted.insert(
                crate::catalog::NAMESPACES.to_string(),
                ApiResource::from_gvk_with_plural(&gvk, "namespaces"),
            );
        }
        self.catalog.store().replace_cluster(&self.name, known);
        self.catalog.changed();
        self.watch_instances(wanted);
    }

    /// Every ready definition converted with its Compositions, reusing the
    /// conversions whose object and Compositions are unchanged.
    fn convert_all(&mut self) -> Vec<Known> {
        let compositions = Compositions::for_objects(
            self.raw
                .iter()
                .filter(|(tag, _)| kinds::by_tag(tag).is_some_and(|k| !k.is_definition()))
                .flat_map(|(_, m)| m.values()),
        );
        let mut known = Vec::new();
        let mut converted = HashMap::new();
        for (tag, defs) in &self.raw {
            let Some(source_kind) = kinds::by_tag(tag).filter(|k| k.is_definition()) else {
                continue;
            };
            for (name, doc) in defs {
                // A Template for an XRD whose CRDs are not served yet would fail.
                if !source_kind.is_ready(doc) {
                    continue;
                }
                let version = doc["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let comps = compositions.for_definition(doc);
                let c = match self.converted.remove(name) {
                    Some((v, c, conv)) if v == version && c == comps => conv,
                    _ => {
                        let options = Options {
                            compositions: comps.clone(),
                            ..self.catalog.options()
                        };
                        match osp::convert::for_entities_with(doc, &options) {
                            Ok(c) => Arc::new(c),
                            Err(e) => {
                                tracing::warn!(cluster = %self.name, definition = %name, error = %e, "definition rejected");
                                continue;
                            }
                        }
                    }
                };
                known.push(Known {
                    cluster: self.name.clone(),
                    file: None,
                    converted: c.clone(),
                });
                converted.insert(name.clone(), (version, comps, c));
            }
        }
        self.converted = converted;
        known
    }

    /// Stops the instance watchers no definition wants any more (or wants
    /// with another version or plural) and starts the missing ones.
    fn watch_instances(&mut self, wanted: BTreeMap<String, ApiResource>) {
        let stale: Vec<String> = self
            .instances
            .iter()
            .filter(|(k, (ar, _))| wanted.get(*k).is_none_or(|w| w != ar))
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            if let Some((_, handle)) = self.instances.remove(&k) {
                handle.abort();
            }
            self.pending.remove(&k);
            self.errors.remove(&k);
            self.catalog.drop_source(&self.name, &k);
            tracing::info!(cluster = %self.name, source = %k, "stopped watching");
        }
        for (k, ar) in wanted {
            if self.instances.contains_key(&k) {
                continue;
            }
            self.pending.insert(k.clone());
            let handle = tokio::spawn(instances::watch(
                self.client.clone(),
                ar.clone(),
                self.name.clone(),
                k.clone(),
                self.catalog.clone(),
                self.reports.0.clone(),
            ));
            tracing::info!(cluster = %self.name, source = %k, "watching");
            self.instances.insert(k, (ar, handle));
        }
    }
}

/// The claim and XR kinds the definitions serve, keyed `group/Kind` (the
/// source name in ClusterState and logs).
fn instance_kinds(known: &[Known]) -> BTreeMap<String, ApiResource> {
    let mut wanted: BTreeMap<String, ApiResource> = BTreeMap::new();
    for k in known {
        let d = &k.converted.definition;
        let mut names = vec![&d.names];
        names.extend(d.claim_names.as_ref());
        for n in names {
            let gvk = GroupVersionKind::gvk(&d.group, &d.version, &n.kind);
            wanted.insert(
                format!("{}/{}", d.group, n.kind),
                ApiResource::from_gvk_with_plural(&gvk, &n.plural),
            );
        }
    }
    wanted
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, (_, handle)) in self.instances.drain() {
            handle.abort();
        }
    }
}
