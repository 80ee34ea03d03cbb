//! kube-runtime's watcher through the fault-injecting proxy: dropped
//! connections, `410 Gone` (as a watch event and as an HTTP status), `500`s
//! and stalls, with objects created across every fault. No event may be
//! lost or duplicated, and the reflector's store must equal a fresh list.
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::utils::Backoff;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use osp_tests::kube::ApiServer;
use osp_tests::kube::proxy::{Gone, Proxy};
use serde_json::json;

const NS: &str = "team-a";
const LABEL: &str = "osp-test=watch";

/// What the watcher emitted, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Init,
    InitApply(String, String),
    InitDone,
    Apply(String, String),
    Delete(String, String),
    Error(String),
}

/// A short constant backoff: the default (0.8 s doubling to 30 s) would make
/// five faults in a row take minutes; what is under test is the watcher's
/// resume/re-list logic, not its backoff.
struct Quick;

impl Iterator for Quick {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        Some(Duration::from_millis(100))
    }
}

impl Backoff for Quick {
    fn reset(&mut self) {}
}

type Log = Arc<Mutex<Vec<Seen>>>;

fn seen(log: &Log) -> Vec<Seen> {
    log.lock().expect("log lock").clone()
}

fn key(cm: &ConfigMap) -> (String, String) {
    (
        cm.metadata.name.clone().unwrap_or_default(),
        cm.metadata.resource_version.clone().unwrap_or_default(),
    )
}

async fn wait_for(log: &Log, what: &str, pred: impl Fn(&[Seen]) -> bool) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if pred(&seen(log)) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}; watcher saw {:#?}", seen(log));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Creates `names` and returns their `(name, resourceVersion)`.
async fn create(
    api: &Api<ConfigMap>,
    names: std::ops::Range<usize>,
) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for i in names {
        let cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {"name": format!("w-{i:02}"), "labels": {"osp-test": "watch"}},
            "data": {"i": i.to_string()},
        }))?;
        out.push(key(&api.create(&PostParams::default(), &cm).await?));
    }
    Ok(out)
}

/// Whether every one of `objects` was delivered (as Apply or InitApply).
fn delivered(events: &[Seen], objects: &[(String, String)]) -> bool {
    objects.iter().all(|(n, rv)| {
        events.iter().any(|e| {
            matches!(e, Seen::Apply(en, erv) | Seen::InitApply(en, erv) if en == n && erv == rv)
        })
    })
}

fn count(events: &[Seen], f: impl Fn(&Seen) -> bool) -> usize {
    events.iter().filter(|e| f(e)).count()
}

#[tokio::test]
async fn watcher_through_the_proxy_survives_drops_gone_errors_and_stalls() -> Result<()> {
    let Some(server) = ApiServer::shared()? else {
        return Ok(());
    };
    let direct: Api<ConfigMap> = Api::namespaced(server.client().await?, NS);
    let proxy = Proxy::start(server.url(), &server.info.ca_pem).await?;
    let through = kube::Client::try_from(proxy.through(server.config("admin").await?))?;

    let mut written = create(&direct, 0..3).await?;

    let (reader, writer) = reflector::store();
    let log: Log = Arc::default();
    let stream = watcher(
        Api::<ConfigMap>::namespaced(through, NS),
        watcher::Config::default().labels(LABEL),
    )
    .backoff(Quick)
    .reflect(writer);
    let task_log = log.clone();
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            let record = match event {
                Ok(watcher::Event::Init) => Seen::Init,
                Ok(watcher::Event::InitApply(o)) => {
                    let (n, rv) = key(&o);
                    Seen::InitApply(n, rv)
                }
                Ok(watcher::Event::InitDone) => Seen::InitDone,
                Ok(watcher::Event::Apply(o)) => {
                    let (n, rv) = key(&o);
                    Seen::Apply(n, rv)
                }
                Ok(watcher::Event::Delete(o)) => {
                    let (n, rv) = key(&o);
                    Seen::Delete(n, rv)
                }
                Err(e) => Seen::Error(e.to_string()),
            };
            task_log.lock().expect("log lock").push(record);
        }
    });

    wait_for(&log, "the initial list", |e| e.contains(&Seen::InitDone)).await?;
    proxy.wait_live_watches(1, Duration::from_secs(10)).await?;
    let batch = create(&direct, 3..6).await?;
    wait_for(&log, "objects created while watching", |e| {
        delivered(e, &batch)
    })
    .await?;
    written.extend(batch);

    // 1. The connection dies mid-stream: the watcher resumes from its last
    //    resourceVersion, objects created meanwhile arrive once.
    assert!(proxy.drop_watches() >= 1, "a watch was open to drop");
    let batch = create(&direct, 6..9).await?;
    wait_for(&log, "objects created across a dropped watch", |e| {
        delivered(e, &batch)
    })
    .await?;
    written.extend(batch);
    proxy.wait_live_watches(1, Duration::from_secs(10)).await?;

    // 2. 410 Gone as a watch ERROR event (what the real server sends for an
    //    expired resourceVersion): the watcher re-lists.
    proxy.gone_next_watch(Gone::Event);
    assert!(proxy.drop_watches() >= 1);
    let batch = create(&direct, 9..12).await?;
    wait_for(&log, "a re-list after 410", |e| {
        count(e, |s| *s == Seen::InitDone) == 2 && delivered(e, &batch)
    })
    .await?;
    written.extend(batch);
    proxy.wait_live_watches(1, Duration::from_secs(10)).await?;

    // 3. 410 as an HTTP status on the watch request: kube-runtime retries
    //    the watch from the same resourceVersion (no re-list).
    proxy.gone_next_watch(Gone::Status);
    assert!(proxy.drop_watches() >= 1);
    let batch = create(&direct, 12..15).await?;
    wait_for(&log, "objects across an HTTP 410", |e| delivered(e, &batch)).await?;
    written.extend(batch);
    proxy.wait_live_watches(1, Duration::from_secs(10)).await?;

    // 4. Two 500s on the way back.
    proxy.fail_next(2);
    assert!(proxy.drop_watches() >= 1);
    let batch = create(&direct, 15..18).await?;
    wait_for(&log, "objects across 500s", |e| delivered(e, &batch)).await?;
    written.extend(batch);
    proxy.wait_live_watches(1, Duration::from_secs(10)).await?;

    // 5. A stalled proxy (every response 300 ms late).
    proxy.stall(Some(Duration::from_millis(300)));
    assert!(proxy.drop_watches() >= 1);
    let batch = create(&direct, 18..21).await?;
    proxy.stall(None);
    wait_for(&log, "objects across a stall", |e| delivered(e, &batch)).await?;
    written.extend(batch);

    // Updates and deletes arrive too.
    let mut first = direct.get("w-01").await?;
    first.data = Some([("i".to_string(), "updated".to_string())].into());
    written.push(key(&direct
        .replace("w-01", &PostParams::default(), &first)
        .await?));
    direct.delete("w-00", &DeleteParams::default()).await?;
    let last = written.last().cloned().unwrap_or_default();
    wait_for(&log, "an update and a delete", |e| {
        delivered(e, std::slice::from_ref(&last))
            && e.iter()
                .any(|s| matches!(s, Seen::Delete(n, _) if n == "w-00"))
    })
    .await?;

    let events = seen(&log);
    task.abort();

    // Nothing lost: every write was delivered.
    assert!(
        delivered(&events, &written),
        "every write delivered: {events:#?}"
    );
    // Nothing duplicated: a watch event never repeats a version the watcher
    // already delivered (a re-list re-announces, as InitApply, by design).
    let mut before = HashSet::new();
    for e in &events {
        match e {
            Seen::Apply(n, rv) | Seen::Delete(n, rv) => {
                assert!(
                    before.insert((n.clone(), rv.clone())),
                    "duplicate event {e:?} in {events:#?}"
                );
            }
            Seen::InitApply(n, rv) => {
                before.insert((n.clone(), rv.clone()));
            }
            _ => {}
        }
    }
    assert_eq!(
        count(&events, |s| matches!(s, Seen::Delete(..))),
        1,
        "{events:#?}"
    );
    // Exactly one re-list (the 410 event), and the faults were seen as errors.
    assert_eq!(count(&events, |s| *s == Seen::Init), 2, "{events:#?}");
    let errors: Vec<&String> = events
        .iter()
        .filter_map(|s| match s {
            Seen::Error(e) => Some(e),
            _ => None,
        })
        .collect();
    assert!(
        errors.iter().any(|e| e.contains("Expired")),
        "410 seen: {errors:#?}"
    );
    // A cut connection is no error to the watcher (kube-client reads the
    // broken chunked body as EOF and the watcher resumes quietly); the 410s
    // and 500s are.
    assert!(errors.len() >= 4, "one error per 410/500: {errors:#?}");
    // 1 initial + 5 re-watches after cuts + 1 after the re-list + 1 retry
    // after the HTTP 410 + 2 retries after the 500s.
    let watches = proxy
        .counts()
        .watches
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(watches >= 10, "watch requests: {watches}");

    // The reflector's store equals a fresh list from the server.
    let store: BTreeMap<String, String> = reader.state().iter().map(|o| key(o)).collect();
    let listed: BTreeMap<String, String> = direct
        .list(&ListParams::default().labels(LABEL))
        .await?
        .items
        .iter()
        .map(key)
        .collect();
    assert_eq!(store, listed);
    assert_eq!(listed.len(), 20);
    let counts = proxy.counts();
    eprintln!(
        "proxy: {} requests, {} watches, {} faults; watcher: {} events, errors: {errors:#?}",
        counts.requests.load(std::sync::atomic::Ordering::SeqCst),
        counts.watches.load(std::sync::atomic::Ordering::SeqCst),
        counts.faults.load(std::sync::atomic::Ordering::SeqCst),
        events.len(),
    );
    Ok(())
}

#[tokio::test]
async fn proxy_passes_impersonation_and_injects_500_and_410_as_status_objects() -> Result<()> {
    let Some(server) = ApiServer::shared()? else {
        return Ok(());
    };
    let proxy = Proxy::start(server.url(), &server.info.ca_pem).await?;
    let mut config = proxy.through(server.config("admin").await?);
    config.auth_info.impersonate = Some("alice".into());
    let alice = kube::Client::try_from(config)?;

    // Impersonate-User reaches the server through the proxy.
    let team_b: Api<ConfigMap> = Api::namespaced(alice.clone(), "team-b");
    match team_b.list(&ListParams::default()).await {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 403, "{s:?}"),
        other => panic!("alice listing team-b: {other:?}"),
    }
    let team_a: Api<ConfigMap> = Api::namespaced(alice, NS);
    team_a.list(&ListParams::default()).await?;

    proxy.fail_next(1);
    match team_a.list(&ListParams::default()).await {
        Err(kube::Error::Api(s)) => {
            assert_eq!((s.code, s.reason.as_str()), (500, "InternalError"), "{s:?}")
        }
        other => panic!("injected 500: {other:?}"),
    }
    team_a.list(&ListParams::default()).await?;

    proxy.gone_next_watch(Gone::Status);
    match team_a.watch(&Default::default(), "0").await {
        Err(kube::Error::Api(s)) => {
            assert_eq!((s.code, s.reason.as_str()), (410, "Expired"), "{s:?}")
        }
        other => panic!("injected 410: {:?}", other.map(|_| "a stream")),
    }

    let started = Instant::now();
    proxy.stall(Some(Duration::from_millis(400)));
    team_a.list(&ListParams::default()).await?;
    proxy.stall(None);
    assert!(started.elapsed() >= Duration::from_millis(400));
    Ok(())
}
