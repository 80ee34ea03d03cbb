//! The live catalog shared by the CatalogService and the sources that fill
//! it (the `--from-dir` watcher and the cluster watchers). Sources report
//! objects and cluster states; a builder task turns them, together with the
//! definitions in the [`Store`], into the entity set (pure core:
//! [`osp::catalog`], [`osp::resource`]) and records it in the revisioned
//! [`Log`]. Readiness is decided here: no snapshot is served before every
//! configured cluster synced once, or the sync timeout passed and at least
//! one did.
mod build;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use osp::catalog::{Delta, Log, Snapshot};
use serde_json::Value;
use tokio::sync::{Notify, watch};

use crate::store::Store;

/// Bursts of changes within this window become one revision.
pub(crate) const DEBOUNCE: Duration = Duration::from_millis(25);

/// Snapshots kept for paging: a page token names one of them. A snapshot
/// is made only when asked for, so only other snapshot calls at newer
/// revisions evict one, and they share their entities.
pub(crate) const KEPT_SNAPSHOTS: usize = 8;

/// Default Backstage app base URL: Backstage's own default `app.baseUrl`
/// (what `npx @backstage/create-app` writes into `app-config.yaml`), so links
/// work in a new app; set it to the app's public URL in production.
pub(crate) const DEFAULT_APP_BASE_URL: &str = "http://localhost:3000";

/// The source name of a cluster's Namespaces (watched for the owner and
/// system they give their objects when `namespace_keys` is set).
pub(crate) const NAMESPACES: &str = "/Namespace";

/// Default time to wait for every cluster's first sync.
pub(crate) const DEFAULT_SYNC_TIMEOUT: Duration = Duration::from_secs(60);

/// What the operator configured.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Configured sources (cluster names, `from-dir`), in configuration order.
    pub clusters: Vec<String>,
    /// How long to wait for every cluster's first sync before serving the
    /// ones that did.
    pub sync_timeout: Duration,
    /// Owner of Resources whose object names none; else the Template's owner.
    pub default_owner: Option<String>,
    /// Backstage's `app.baseUrl`: entity links are absolute under it.
    pub app_base_url: String,
    /// Object annotations and labels copied onto Resources.
    pub passthrough: osp::resource::Passthrough,
    /// Which definitions get Templates and APIs, per label and cluster.
    pub listing: osp::catalog::Listing,
    /// Annotations or labels of a Namespace naming the owner and system of
    /// the claims and XRs in it that name none; watched only when set.
    pub namespace_keys: osp::resource::NamespaceKeys,
    /// Hosts the Templates' repository picker offers (`github.com` when
    /// empty).
    pub repo_hosts: Vec<String>,
    /// The picker asks the user to sign in to the forge.
    pub user_credentials: bool,
    /// Templates end with the live claim preview page.
    pub claim_preview: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            clusters: Vec::new(),
            sync_timeout: DEFAULT_SYNC_TIMEOUT,
            default_owner: None,
            app_base_url: DEFAULT_APP_BASE_URL.to_string(),
            passthrough: osp::resource::Passthrough::default(),
            listing: osp::catalog::Listing::default(),
            namespace_keys: osp::resource::NamespaceKeys::default(),
            repo_hosts: Vec::new(),
            user_credentials: false,
            claim_preview: false,
        }
    }
}

/// How fresh one cluster's data is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ClusterState {
    /// Configured name.
    pub name: String,
    /// The first full list of every watched kind completed.
    pub synced: bool,
    /// Unreachable; its last good state is served.
    pub stale: bool,
    /// Last error seen, if any.
    pub message: String,
}

/// What a source (a cluster or the `--from-dir` folder) reports about
/// itself: named fields instead of positional booleans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SourceReport<'a> {
    /// Everything it watches has been listed once. Sticky: a later report
    /// of `false` does not unset it.
    pub synced: bool,
    /// Why it is failing; `None` when healthy. A failing source is served
    /// from its last good state, marked stale.
    pub problem: Option<&'a str>,
}

impl<'a> SourceReport<'a> {
    /// Listed and healthy.
    pub(crate) const SYNCED: SourceReport<'static> = SourceReport {
        synced: true,
        problem: None,
    };

    /// Failing (unreachable, unreadable) for `problem`.
    pub(crate) fn failing(problem: &'a str) -> Self {
        Self {
            synced: false,
            problem: Some(problem),
        }
    }
}

/// Why the catalog cannot answer yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Error {
    /// Nothing to build a catalog from.
    #[error("no catalog source configured: set `--from-dir` or `clusters`")]
    ConfigureSources,
    /// Some cluster has not synced and the timeout has not passed.
    #[error("catalog not synced yet: waiting for {}", waiting.join(", "))]
    AwaitSync { waiting: Vec<String> },
}

/// One held object: cluster, source (one watch), object key.
pub(crate) type ObjectId = (String, String, String);

#[derive(Debug, Default)]
pub(crate) struct Data {
    // Cluster → source (one watch) → object key → object.
    pub(crate) objects: BTreeMap<String, BTreeMap<String, BTreeMap<String, Arc<Value>>>>,
    pub(crate) states: BTreeMap<String, ClusterState>,
    // What the next build re-does.
    pub(crate) changed: Changed,
}

/// The objects changed since the last build, or everything (at first, and
/// after the settings changed).
#[derive(Debug)]
pub(crate) struct Changed {
    pub(crate) all: bool,
    pub(crate) objects: BTreeSet<ObjectId>,
}

impl Default for Changed {
    fn default() -> Self {
        Self {
            all: true,
            objects: BTreeSet::new(),
        }
    }
}

impl Changed {
    fn object(&mut self, cluster: &str, source: &str, key: String) {
        // Everything is re-done anyway: no need to remember which.
        if !self.all {
            self.objects
                .insert((cluster.to_string(), source.to_string(), key));
        }
    }
}

#[derive(Debug)]
struct Inner {
    started: Instant,
    settings: RwLock<Settings>,
    store: Store,
    data: Mutex<Data>,
    cache: Mutex<build::Cache>,
    log: RwLock<Log>,
    snapshots: Mutex<VecDeque<Arc<Snapshot>>>,
    revision: watch::Sender<u64>,
    ready: watch::Sender<Result<(), Error>>,
    dirty: Notify,
}

/// The live catalog; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Catalog {
    inner: Arc<Inner>,
}

impl Default for Catalog {
    fn default() -> Self {
        Self::new(Store::default(), epoch())
    }
}

/// This instance's epoch: the start time in seconds, so a restarted
/// sidecar's revisions are larger than and distinct from the last one's.
pub(crate) fn epoch() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(1)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every critical section leaves the data consistent before it can panic.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Catalog {
    /// A catalog over the definitions in `store`.
    pub(crate) fn new(store: Store, epoch: u32) -> Self {
        let log = Log::new(epoch);
        let (revision, _) = watch::channel(log.revision());
        let (ready, _) = watch::channel(Err(Error::ConfigureSources));
        Self {
            inner: Arc::new(Inner {
                started: Instant::now(),
                settings: RwLock::new(Settings::default()),
                store,
                data: Mutex::new(Data::default()),
                cache: Mutex::new(build::Cache::default()),
                log: RwLock::new(log),
                snapshots: Mutex::new(VecDeque::new()),
                revision,
                ready,
                dirty: Notify::new(),
            }),
        }
    }

    /// The definitions store the catalog reads.
    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Sets the configured sources; call before the sources start.
    pub(crate) fn configure(&self, settings: Settings) {
        self.inner.store.set_order(settings.clusters.clone());
        {
            let mut data = lock(&self.inner.data);
            data.changed.all = true;
            for c in &settings.clusters {
                data.states
                    .entry(c.clone())
                    .or_insert_with(|| ClusterState {
                        name: c.clone(),
                        ..ClusterState::default()
                    });
            }
        }
        *self
            .inner
            .settings
            .write()
            .unwrap_or_else(|e| e.into_inner()) = settings;
        self.changed();
    }

    /// Tells the builder that definitions or objects changed.
    pub(crate) fn changed(&self) {
        self.inner.dirty.notify_one();
    }

    /// Replaces every object `source` of `cluster` reported (a full list).
    /// Objects equal to the ones held keep their identity, so a re-list
    /// (after `410 Gone`, or a directory rescan) rebuilds only what changed.
    pub(crate) fn replace_objects<O>(&self, cluster: &str, source: &str, objects: O)
    where
        O: IntoIterator,
        O::Item: Into<Arc<Value>>,
    {
        let mut data = lock(&self.inner.data);
        let Data {
            objects: held,
            changed,
            ..
        } = &mut *data;
        let held = held
            .entry(cluster.to_string())
            .or_default()
            .entry(source.to_string())
            .or_default();
        let mut old = std::mem::take(held);
        *held = objects
            .into_iter()
            .map(|o| {
                let o: Arc<Value> = o.into();
                let key = build::key_of(&o);
                let o = match old.remove(&key) {
                    Some(same) if Arc::ptr_eq(&same, &o) || *same == *o => same,
                    _ => {
                        changed.object(cluster, source, key.clone());
                        o
                    }
                };
                (key, o)
            })
            .collect();
        for gone in old.into_keys() {
            changed.object(cluster, source, gone);
        }
        drop(data);
        self.changed();
    }

    /// Adds or replaces one object.
    pub(crate) fn upsert_object(&self, cluster: &str, source: &str, object: Value) {
        let key = build::key_of(&object);
        let mut data = lock(&self.inner.data);
        data.changed.object(cluster, source, key.clone());
        data.objects
            .entry(cluster.to_string())
            .or_default()
            .entry(source.to_string())
            .or_default()
            .insert(key, Arc::new(object));
        drop(data);
        self.changed();
    }

    /// Removes one object.
    pub(crate) fn remove_object(&self, cluster: &str, source: &str, object: &Value) {
        let key = build::key_of(object);
        let mut data = lock(&self.inner.data);
        if let Some(m) = data
            .objects
            .get_mut(cluster)
            .and_then(|c| c.get_mut(source))
        {
            m.remove(&key);
        }
        data.changed.object(cluster, source, key);
        drop(data);
        self.changed();
    }

    /// Forgets everything `source` of `cluster` reported (its definition
    /// went away).
    pub(crate) fn drop_source(&self, cluster: &str, source: &str) {
        let mut data = lock(&self.inner.data);
        let gone = data.objects.get_mut(cluster).and_then(|c| c.remove(source));
        for key in gone.into_iter().flat_map(BTreeMap::into_keys) {
            data.changed.object(cluster, source, key);
        }
        drop(data);
        self.changed();
    }

    /// Records a cluster's freshness. `synced` stays true once reached.
    pub(crate) fn set_state(&self, cluster: &str, report: SourceReport<'_>) {
        {
            let mut data = lock(&self.inner.data);
            let s = data
                .states
                .entry(cluster.to_string())
                .or_insert_with(|| ClusterState {
                    name: cluster.to_string(),
                    ..ClusterState::default()
                });
            s.synced |= report.synced;
            s.stale = report.problem.is_some();
            s.message = report.problem.unwrap_or_default().to_string();
        }
        self.changed();
    }

    /// State of every configured cluster, in configuration order.
    pub(crate) fn clusters(&self) -> Vec<ClusterState> {
        let order = self.settings().clusters;
        let data = lock(&self.inner.data);
        order
            .iter()
            .map(|c| {
                data.states.get(c).cloned().unwrap_or_else(|| ClusterState {
                    name: c.clone(),
                    ..ClusterState::default()
                })
            })
            .collect()
    }

    /// The conversion options every source uses: the default owner and the
    /// forges' hosts.
    pub(crate) fn options(&self) -> osp::convert::Options {
        let settings = self.settings();
        osp::convert::Options {
            default_owner: settings.default_owner,
            allowed_hosts: settings.repo_hosts,
            user_credentials: settings.user_credentials,
            claim_preview: settings.claim_preview,
            ..osp::convert::Options::default()
        }
    }

    /// Whether Namespaces are watched (for their owner or system).
    pub(crate) fn watches_namespaces(&self) -> bool {
        self.settings().namespace_keys.any()
    }

    fn settings(&self) -> Settings {
        self.inner
            .settings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// `Ok` once snapshots may be served.
    pub(crate) fn ready(&self) -> Result<(), Error> {
        self.inner.ready.borrow().clone()
    }

    /// Waits until snapshots may be served.
    pub(crate) async fn wait_ready(&self) {
        let mut rx = self.inner.ready.subscribe();
        let _ = rx.wait_for(|r| r.is_ok()).await;
    }

    /// The whole catalog, or why it cannot be served yet.
    pub(crate) fn snapshot(&self) -> Result<Arc<Snapshot>, Error> {
        self.ready()?;
        let log = self.read_log();
        let mut kept = lock(&self.inner.snapshots);
        if let Some(s) = kept.iter().find(|s| s.revision == log.revision()) {
            return Ok(s.clone());
        }
        let s = Arc::new(log.snapshot());
        kept.push_front(s.clone());
        kept.truncate(KEPT_SNAPSHOTS);
        Ok(s)
    }

    /// A kept snapshot (see [`KEPT_SNAPSHOTS`]) at `revision`.
    pub(crate) fn snapshot_at(&self, revision: u64) -> Result<Option<Arc<Snapshot>>, Error> {
        self.ready()?;
        let kept = lock(&self.inner.snapshots);
        Ok(kept.iter().find(|s| s.revision == revision).cloned())
    }

    /// Changes since `since`, or why it cannot be served yet.
    pub(crate) fn delta(&self, since: u64) -> Result<Delta, Error> {
        self.ready()?;
        Ok(self.read_log().delta(since))
    }

    /// Notified with the new revision after every change.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.revision.subscribe()
    }

    /// The cached claim/XR `cluster` (empty: any, in order) holds.
    pub(crate) fn object(
        &self,
        cluster: &str,
        r: &osp::resource::ObjectRef,
    ) -> Option<(String, Arc<Value>)> {
        let key = build::key_for(&r.api_version, &r.kind, &r.namespace, &r.name);
        let order = self.settings().clusters;
        let data = lock(&self.inner.data);
        let mut clusters: Vec<&String> = order.iter().collect();
        clusters.extend(data.objects.keys().filter(|c| !order.contains(c)));
        clusters
            .into_iter()
            .filter(|c| cluster.is_empty() || c.as_str() == cluster)
            .find_map(|c| {
                data.objects
                    .get(c)?
                    .values()
                    .find_map(|m| m.get(&key).cloned())
                    .map(|o| (c.clone(), o))
            })
    }

    fn read_log(&self) -> std::sync::RwLockReadGuard<'_, Log> {
        self.inner.log.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Brings the entity set up to date now, re-doing only what changed
    /// since the last build; returns whether the revision advanced.
    pub(crate) fn rebuild(&self) -> bool {
        let settings = self.settings();
        let (changes, ready) = {
            let mut data = lock(&self.inner.data);
            let ready = self.readiness(&data, &settings);
            if ready.is_err() && self.ready().is_err() {
                // Nothing is served before the first sync; building a set
                // after each watcher's first list would make the sync
                // quadratic in the number of watched kinds.
                self.inner.ready.send_if_modified(|r| {
                    let modified = *r != ready;
                    *r = ready;
                    modified
                });
                return false;
            }
            let mut cache = lock(&self.inner.cache);
            let none = Changed {
                all: false,
                objects: BTreeSet::new(),
            };
            let objects = std::mem::replace(&mut data.changed, none);
            let definitions = self.inner.store.take_changes(objects.all);
            let changes = build::update(definitions, objects, &data, &settings, &mut cache);
            (changes, ready)
        };
        let changed = {
            let mut log = self.inner.log.write().unwrap_or_else(|e| e.into_inner());
            let changed = log.apply(changes);
            if changed {
                self.inner.revision.send_replace(log.revision());
            }
            changed
        };
        // Ready only after the log holds the synced data.
        self.inner.ready.send_if_modified(|r| {
            let modified = *r != ready;
            *r = ready;
            modified
        });
        changed
    }

    fn readiness(&self, data: &Data, settings: &Settings) -> Result<(), Error> {
        if settings.clusters.is_empty() {
            return Err(Error::ConfigureSources);
        }
        let waiting: Vec<String> = settings
            .clusters
            .iter()
            .filter(|c| !data.states.get(*c).is_some_and(|s| s.synced))
            .cloned()
            .collect();
        let any = waiting.len() < settings.clusters.len();
        let timed_out = self.inner.started.elapsed() >= settings.sync_timeout;
        if waiting.is_empty() || (any && timed_out) {
            Ok(())
        } else {
            Err(Error::AwaitSync { waiting })
        }
    }

    /// Runs the builder until the process ends: rebuilds after each burst
    /// of changes, and once when the sync timeout passes.
    pub(crate) async fn run(self) {
        loop {
            let timeout = self
                .settings()
                .sync_timeout
                .saturating_sub(self.inner.started.elapsed());
            if self.ready().is_ok() || timeout.is_zero() {
                self.inner.dirty.notified().await;
            } else {
                let _ = tokio::time::timeout(timeout, self.inner.dirty.notified()).await;
            }
            tokio::time::sleep(DEBOUNCE).await;
            let me = self.clone();
            let started = Instant::now();
            match tokio::task::spawn_blocking(move || me.rebuild()).await {
                Ok(true) => tracing::debug!(
                    revision = self.read_log().revision(),
                    entities = self.read_log().len(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "catalog changed"
                ),
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "catalog build failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests;
