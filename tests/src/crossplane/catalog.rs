//! The osp side of the Crossplane tests: `osp serve` watching the cluster
//! as [`CLUSTER`], its catalog read over gRPC and followed over time.
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Result, bail, ensure};
use osp_sidecar::pb::GetSnapshotRequest;
use osp_sidecar::pb::catalog_service_client::CatalogServiceClient;
use serde_json::Value;
use tonic::transport::Channel;

use super::{CLUSTER, POLL, TIMEOUT};
use crate::kube::ApiServer;
use crate::server::OspServer;

/// The catalog ref of the Resource for an object of cluster [`CLUSTER`].
pub fn resource_ref(kind: &str, namespace: &str, name: &str) -> String {
    format!(
        "resource:default/{}",
        osp::resource::name_of(CLUSTER, kind, namespace, name)
    )
}

/// A Resource entity's `osp.dev/state`.
pub fn state_of(e: &Value) -> &str {
    e["metadata"]["annotations"]["osp.dev/state"]
        .as_str()
        .unwrap_or_default()
}

/// The catalog's entities by ref (`None` while it has no snapshot yet).
pub async fn entities(c: &mut CatalogServiceClient<Channel>) -> Option<BTreeMap<String, Value>> {
    let r = c.get_snapshot(GetSnapshotRequest::default()).await.ok()?;
    Some(
        r.into_inner()
            .entities
            .into_iter()
            .map(|e| {
                let v = osp_sidecar::from_struct(&e.entity.unwrap_or_default());
                (e.r#ref, v)
            })
            .collect(),
    )
}

/// What the catalog showed of one Resource over time.
#[derive(Debug, Default)]
pub struct Trace {
    /// First time it was listed.
    pub listed: Option<Duration>,
    /// Each state it was seen in (`gone` once no longer listed), with the
    /// time it was first seen.
    pub states: Vec<(String, Duration)>,
    /// The message of each `error` seen.
    pub errors: Vec<String>,
}

impl Trace {
    pub fn see(&mut self, entity: Option<&Value>, at: Duration) {
        let state = match entity {
            Some(e) => {
                self.listed.get_or_insert(at);
                state_of(e).to_string()
            }
            None if self.listed.is_some() => "gone".to_string(),
            None => return,
        };
        if self.states.last().is_none_or(|(s, _)| *s != state) {
            if state == "error" {
                let message =
                    entity.map(|e| &e["metadata"]["annotations"]["osp.dev/status-message"]);
                self.errors.push(format!(
                    "{:.2} s: {}",
                    at.as_secs_f64(),
                    message.cloned().unwrap_or_default()
                ));
            }
            self.states.push((state, at));
        }
    }

    pub fn at(&self, state: &str) -> Option<Duration> {
        self.states
            .iter()
            .find(|(s, _)| s == state)
            .map(|(_, t)| *t)
    }

    pub fn path(&self) -> String {
        self.states
            .iter()
            .map(|(s, t)| format!("{s} ({:.2} s)", t.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(" → ")
    }
}

/// Polls the catalog until `done` holds for the entity `r` (`None`: not
/// listed); `trace` records what was seen, timed from `t0`.
pub async fn until(
    c: &mut CatalogServiceClient<Channel>,
    r: &str,
    t0: Instant,
    trace: &mut Trace,
    what: &str,
    done: impl Fn(Option<&Value>) -> bool,
) -> Result<Option<Value>> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(all) = entities(c).await {
            let e = all.get(r);
            trace.see(e, t0.elapsed());
            if done(e) {
                return Ok(e.cloned());
            }
            if Instant::now() > deadline {
                bail!("{what}: not seen for `{r}`; seen {}; {e:#?}", trace.path());
            }
        } else if Instant::now() > deadline {
            bail!("{what}: the catalog never served a snapshot");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// `osp serve` with the server as cluster [`CLUSTER`] (`more_config`: YAML
/// lines appended to its config), once both fixtures' Templates are listed.
pub async fn start_osp(
    api: &ApiServer,
    dir: &std::path::Path,
    more_config: &str,
) -> Result<(OspServer, CatalogServiceClient<Channel>)> {
    let config = dir.join("osp.yaml");
    std::fs::write(
        &config,
        format!(
            "clusters:\n- {{name: {CLUSTER}, kubeconfig: \"{}\", context: admin}}\ncatalog:\n  clusters: [{CLUSTER}]\n{more_config}",
            api.kubeconfig().display()
        ),
    )?;
    // Built (or found) before the clock starts.
    crate::server::osp_bin()?;
    let t0 = Instant::now();
    let sidecar = OspServer::start(&["--config", &config.display().to_string()])?;
    let mut c = CatalogServiceClient::connect(format!("http://{}", sidecar.target())).await?;
    let templates = [
        "template:default/xdbs.example.org",
        "template:default/xapps.example.org",
    ];
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let all = entities(&mut c).await.unwrap_or_default();
        if templates.iter().all(|t| all.contains_key(*t)) {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "Templates not listed: {:?}\n{}",
            all.keys().collect::<Vec<_>>(),
            sidecar.log()
        );
        tokio::time::sleep(POLL).await;
    }
    eprintln!(
        "figure: osp serve start → both Templates listed {}",
        secs(t0.elapsed())
    );

    Ok((sidecar, c))
}

/// `1.23 s`.
pub fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}
