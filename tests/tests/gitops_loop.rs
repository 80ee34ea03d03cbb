//! The whole GitOps loop, real, through osp's own gRPC (issue #20):
//! RenderClaim → CreatePullRequest (osp's local target, libgit2, writing the
//! branch into the bare repository the loopback git server serves) → the
//! pull request merged and pushed with the `git` binary → Flux
//! (source-controller + kustomize-controller) applies `main` → Crossplane
//! composes → osp's catalog shows the Resource `ready` (or `error` with
//! Crossplane's message). Then an edit (same key, same file, one more
//! merge) and a delete made from the Resource's own annotations, as the
//! Backstage card does (`delete/<key>` branch, file removed) → Flux prunes →
//! Crossplane deletes → the Resource leaves the catalog.
//!
//! Cases: a v1 claim (with its folder's kustomization.yaml kept), a v2
//! namespaced XR, and a claim whose Composition's function rejects its
//! input. Flux is asked to reconcile right after each push, as a webhook
//! `Receiver` or `flux reconcile source git` would (its poll interval is
//! not part of our share). Every hop is printed as a `figure:` line.
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use osp_sidecar::pb;
use osp_sidecar::pb::catalog_service_client::CatalogServiceClient;
use osp_sidecar::pb::claim_service_client::ClaimServiceClient;
use osp_sidecar::pb::publish_service_client::PublishServiceClient;
use osp_tests::crossplane::catalog::{Trace, resource_ref, secs, start_osp, state_of, until};
use osp_tests::crossplane::tree::same_tree;
use osp_tests::crossplane::world::{ar, configmaps, definitions, has_condition};
use osp_tests::crossplane::{Loop, LoopOptions, POLL, TIMEOUT};
use osp_tests::kube::tail;
use serde_json::{Value, json};
use tonic::transport::Channel;

/// The local target's name: what Backstage's `repositoryOf` makes of
/// [`REPO_URL`], so a delete read from a Resource's annotations finds it.
const REPO: &str = "osp/gitops";
/// What RepoUrlPicker would write for it.
const REPO_URL: &str = "git.osp.test?owner=osp&repo=gitops";
const NS: &str = "team-a";
const OWNER: &str = "group:default/team-a";

/// A service requested through the portal, and what should come of it.
struct Case {
    what: &'static str,
    definition: &'static str,
    resource: ApiResource,
    name: &'static str,
    values: Value,
    composition: &'static str,
    /// Keep the folder's kustomization.yaml listing the file.
    kustomization: bool,
    /// Kinds from the object down to the composed ConfigMap.
    chain: &'static [&'static str],
    /// `Ok((key, value))` of the composed ConfigMap, or `Err(message)`:
    /// part of the error osp must show.
    outcome: std::result::Result<(&'static str, &'static str), &'static str>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            what: "v1 claim",
            definition: "xdbs.example.org",
            resource: ar("example.org/v1", "DB", "dbs"),
            name: "orders",
            values: json!({"parameters": {"storageGB": 10}}),
            composition: "xdbs",
            kustomization: true,
            chain: &["DB", "XDB", "ConfigMap"],
            outcome: Ok(("storageGB", "10")),
        },
        Case {
            what: "v2 namespaced XR",
            definition: "xapps.example.org",
            resource: ar("example.org/v1", "XApp", "xapps"),
            name: "hello",
            values: json!({}),
            composition: "xapps",
            kustomization: false,
            chain: &["XApp", "ConfigMap"],
            outcome: Ok(("app", "hello")),
        },
        Case {
            what: "XR whose composition fails",
            definition: "xapps.example.org",
            resource: ar("example.org/v1", "XApp", "xapps"),
            name: "broken",
            values: json!({}),
            composition: "xapps-invalid-input",
            kustomization: false,
            chain: &["XApp"],
            outcome: Err("NoSuchPatchType"),
        },
    ]
}

/// The clients of one `osp serve`, and the git and cluster side.
struct Portal {
    catalog: CatalogServiceClient<Channel>,
    claims: ClaimServiceClient<Channel>,
    publish: PublishServiceClient<Channel>,
    kube: kube::Client,
    /// A clone of the repo, where pull requests are merged and pushed.
    clone: std::path::PathBuf,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_goes_through_git_and_flux_to_ready_and_back() -> Result<()> {
    let Some(api) = osp_tests::crossplane::api_server()? else {
        return Ok(());
    };
    let Some(xp) = Loop::start_with(&api.kubeconfig(), &LoopOptions { flux: true })? else {
        return Ok(());
    };
    eprintln!(
        "figure: osp-loop --flux start → READY {} ({})",
        secs(xp.ready_in),
        xp.ready
    );
    let (url, repo) = match (&xp.info.git_url, &xp.info.git_dir) {
        (Some(u), Some(d)) => (u.clone(), d.clone()),
        _ => bail!(
            "osp-loop reported no git_url/git_dir: rebuild it (OSP_LOOP_FLUX=1 tests/loop/build.sh)"
        ),
    };
    let kube = api.client().await?;
    definitions(&kube).await?;
    let dir = std::env::temp_dir().join(format!("osp-gitops-loop-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let more = format!("publish:\n  local:\n    {REPO}: \"{}\"\n", repo.display());
    let (sidecar, catalog) = start_osp(&api, &dir, &more).await?;
    let target = format!("http://{}", sidecar.target());
    let clone = dir.join("clone");
    git(&dir, &["clone", "-q", "-b", "main", &url, "clone"])?;
    let mut portal = Portal {
        catalog,
        claims: ClaimServiceClient::connect(target.clone()).await?,
        publish: PublishServiceClient::connect(target).await?,
        kube,
        clone,
    };
    let result = async {
        for case in cases() {
            request(&mut portal, &case).await?;
        }
        edit(&mut portal, &cases()[0]).await?;
        for case in cases() {
            delete(&mut portal, &case).await?;
        }
        Ok(())
    }
    .await;
    if result.is_err() {
        eprintln!("osp serve's log:\n{}", tail(&sidecar.log(), 8000));
        eprintln!("osp-loop's logs:\n{}", tail(&xp.logs(), 12000));
    }
    let _ = std::fs::remove_dir_all(dir);
    result
}

/// What osp answered for one proposal.
struct Proposed {
    /// The manifest's path in the repository.
    path: String,
    /// The pull request's branch.
    branch: String,
    /// Whether the branch is new.
    created: bool,
}

/// RenderClaim + CreatePullRequest for `case` with `values`.
async fn propose(p: &mut Portal, case: &Case, values: &Value) -> Result<Proposed> {
    let rendered = p
        .claims
        .render_claim(pb::RenderClaimRequest {
            definition: Some(pb::DefinitionSource {
                source: Some(pb::definition_source::Source::Name(case.definition.into())),
                cluster: String::new(),
            }),
            name: case.name.into(),
            namespace: NS.into(),
            values_json: values.to_string(),
            owner: OWNER.into(),
            template_ref: format!("template:default/{}", case.definition),
            composition: Some(pb::CompositionChoice {
                composition_name: case.composition.into(),
                ..Default::default()
            }),
            repo_url: REPO_URL.into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let yaml = rendered.manifest.context("no manifest")?.yaml;
    let pr = p
        .publish
        .create_pull_request(pb::CreatePullRequestRequest {
            template_ref: format!("template:default/{}", case.definition),
            entity_refs: vec![rendered.entity_ref.clone()],
            ..pull_request(
                case,
                pb::FileChange {
                    path: rendered.path.clone(),
                    content: yaml,
                    delete: false,
                },
                format!("{}: {}", case.what, case.name),
                rendered.idempotency_key.clone(),
            )
        })
        .await?
        .into_inner();
    ensure!(
        pr.change_kind == pb::ChangeKind::LocalBranch as i32 && !pr.unchanged,
        "{}: a new commit on a branch expected: {pr:?}",
        case.what
    );
    Ok(Proposed {
        path: rendered.path,
        branch: pr.branch,
        created: pr.created,
    })
}

/// Merges the pull request's branch into `main` (a merge commit, as a
/// forge's merge button makes) and pushes it; then asks Flux to fetch.
async fn merge(p: &Portal, branch: &str) -> Result<()> {
    let c = &p.clone;
    git(c, &["fetch", "-q", "origin"])?;
    git(
        c,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            &format!("Merge {branch}"),
            &format!("origin/{branch}"),
        ],
    )?;
    git(c, &["push", "-q", "origin", "HEAD:main"])?;
    let repos: Api<DynamicObject> = Api::namespaced_with(
        p.kube.clone(),
        "flux-system",
        &ar(
            "source.toolkit.fluxcd.io/v1",
            "GitRepository",
            "gitrepositories",
        ),
    );
    let now = format!("{:?}", std::time::SystemTime::now());
    let patch = json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": now}}});
    repos
        .patch("osp", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

/// With `case.kustomization`, whether main's kustomization.yaml beside
/// `path` lists it (`listed`) or not.
fn listed_in_kustomization(p: &Portal, case: &Case, path: &str, listed: bool) -> Result<()> {
    if !case.kustomization {
        return Ok(());
    }
    git(&p.clone, &["pull", "-q", "--ff-only", "origin", "main"])?;
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    let k =
        std::fs::read_to_string(p.clone.join(dir).join("kustomization.yaml")).unwrap_or_default();
    ensure!(
        k.lines().any(|l| l.trim() == format!("- {file}")) == listed,
        "{}: `{file}` listed={listed} expected in {dir}/kustomization.yaml on main:\n{k}",
        case.what
    );
    Ok(())
}

fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.name=Reviewer",
            "-c",
            "user.email=reviewer@osp.test",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .context("run git")?;
    ensure!(
        out.status.success(),
        "git {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Requests `case` and follows it to `ready` (or `error`).
async fn request(p: &mut Portal, case: &Case) -> Result<()> {
    let t0 = Instant::now();
    let proposal = propose(p, case, &case.values).await?;
    let proposed = t0.elapsed();
    ensure!(proposal.created, "{}: a new branch expected", case.what);
    merge(p, &proposal.branch).await?;
    let merged = t0.elapsed();
    listed_in_kustomization(p, case, &proposal.path, true)?;
    let live: Api<DynamicObject> = Api::namespaced_with(p.kube.clone(), NS, &case.resource);
    let applied = poll(TIMEOUT, || async {
        Ok(live.get_opt(case.name).await?.is_some())
    })
    .await
    .with_context(|| format!("{}: Flux never applied `{}`", case.what, case.name))?;
    let obj = live.get(case.name).await?;
    ensure!(
        obj.metadata
            .labels
            .unwrap_or_default()
            .get("kustomize.toolkit.fluxcd.io/name")
            == Some(&"osp".to_string()),
        "{}: applied by Flux's Kustomization `osp`",
        case.what
    );
    let r = resource_ref(&case.resource.kind, NS, case.name);
    let mut trace = Trace::default();
    let want = if case.outcome.is_ok() {
        "ready"
    } else {
        "error"
    };
    let entity = until(&mut p.catalog, &r, t0, &mut trace, case.what, |e| {
        e.is_some_and(|e| state_of(e) == want)
    })
    .await?
    .context("listed")?;
    eprintln!(
        "figure: {} request → pull request {} → merged and pushed {} → applied by Flux {} → Resource listed {} → {want} in osp {} ({})",
        case.what,
        secs(proposed),
        secs(merged),
        secs(merged + applied),
        trace.listed.map(secs).unwrap_or_default(),
        trace.at(want).map(secs).unwrap_or_default(),
        trace.path()
    );
    let annotations = &entity["metadata"]["annotations"];
    ensure!(
        annotations["osp.dev/repo-url"] == REPO_URL && entity["spec"]["owner"] == OWNER,
        "{}: the Resource records where it was published, and its owner: {entity:#}",
        case.what
    );
    match case.outcome {
        Ok((key, value)) => {
            // osp's tree is the one Crossplane built, with its conditions.
            let (chain, _) = same_tree(
                &mut p.catalog,
                &p.kube,
                &case.resource,
                NS,
                case.name,
                case.chain,
            )
            .await?;
            let cm = &chain.last().context("a ConfigMap")?.obj;
            ensure!(
                cm["data"][key] == value,
                "{}: the composed ConfigMap holds `{key}: {value}`: {cm:#}",
                case.what
            );
            Ok(())
        }
        Err(part) => {
            let message = annotations["osp.dev/status-message"]
                .as_str()
                .unwrap_or_default();
            ensure!(
                message.contains(part),
                "{}: Crossplane's message expected, got {message:?}",
                case.what
            );
            Ok(())
        }
    }
}

/// Waits until the ConfigMap composed for `case` holds `key: value`.
async fn composed(p: &Portal, case: &Case, key: &str, value: &str) -> Result<()> {
    let all: Api<DynamicObject> = Api::all_with(p.kube.clone(), &configmaps());
    let root: Api<DynamicObject> = Api::namespaced_with(p.kube.clone(), NS, &case.resource);
    poll(TIMEOUT, || async {
        let Some(obj) = root.get_opt(case.name).await? else {
            return Ok(false);
        };
        let obj = serde_json::to_value(obj)?;
        // A claim's XR is named in its spec; an XR composes directly.
        let xr = obj["spec"]["resourceRef"]["name"]
            .as_str()
            .unwrap_or(case.name)
            .to_string();
        let list = all
            .list(
                &kube::api::ListParams::default().labels(&format!("crossplane.io/composite={xr}")),
            )
            .await?;
        Ok(list
            .items
            .iter()
            .any(|cm| cm.data["data"][key] == value && has_condition(&obj, "Ready", "True")))
    })
    .await
    .with_context(|| format!("{}: no composed ConfigMap with `{key}: {value}`", case.what))?;
    Ok(())
}

/// The same claim with another value: the same key updates the same file;
/// merged, Flux applies it and Crossplane composes the new value.
async fn edit(p: &mut Portal, case: &Case) -> Result<()> {
    let t0 = Instant::now();
    let proposal = propose(p, case, &json!({"parameters": {"storageGB": 20}})).await?;
    let proposed = t0.elapsed();
    ensure!(
        !proposal.created,
        "the same key commits on the same branch: {}",
        proposal.branch
    );
    merge(p, &proposal.branch).await?;
    let path = proposal.path;
    let text = std::fs::read_to_string(p.clone.join(&path))?;
    ensure!(
        text.contains("storageGB: 20"),
        "{path} on main after the edit:\n{text}"
    );
    composed(p, case, "storageGB", "20").await?;
    let r = resource_ref(&case.resource.kind, NS, case.name);
    let mut trace = Trace::default();
    until(&mut p.catalog, &r, t0, &mut trace, "edited", |e| {
        e.is_some_and(|e| state_of(e) == "ready")
    })
    .await?;
    eprintln!(
        "figure: {} edit → pull request {} → composed with the new value and ready {}",
        case.what,
        secs(proposed),
        secs(t0.elapsed())
    );
    Ok(())
}

/// Deletes `case` by pull request from its Resource's annotations (what
/// the card's Delete does), until the Resource leaves the catalog.
async fn delete(p: &mut Portal, case: &Case) -> Result<()> {
    let r = resource_ref(&case.resource.kind, NS, case.name);
    let mut trace = Trace::default();
    let t0 = Instant::now();
    let entity = until(&mut p.catalog, &r, t0, &mut trace, "listed", |e| {
        e.is_some()
    })
    .await?
    .context("listed")?;
    let a = &entity["metadata"]["annotations"];
    let s = |k: &str| a[k].as_str().unwrap_or_default().to_string();
    ensure!(s("osp.dev/repo-url") == REPO_URL, "{}: {a:#}", case.what);
    let live: Api<DynamicObject> = Api::namespaced_with(p.kube.clone(), NS, &case.resource);
    // A claim's XR (cluster-scoped, `XDB`) must leave the catalog with it.
    let xr = serde_json::to_value(live.get(case.name).await?)?["spec"]["resourceRef"].clone();
    let xr_ref = xr["name"]
        .as_str()
        .map(|name| resource_ref(xr["kind"].as_str().unwrap_or_default(), "", name));
    let pr = p
        .publish
        .create_pull_request(pull_request(
            case,
            pb::FileChange {
                path: s("osp.dev/repo-path"),
                delete: true,
                ..Default::default()
            },
            format!("Delete {}", case.name),
            format!("delete/{}", s("osp.dev/idempotency-key")),
        ))
        .await?
        .into_inner();
    let proposed = t0.elapsed();
    merge(p, &pr.branch).await?;
    let merged = t0.elapsed();
    listed_in_kustomization(p, case, &s("osp.dev/repo-path"), false)?;
    let gone = poll(TIMEOUT, || async {
        Ok(live.get_opt(case.name).await?.is_none())
    })
    .await
    .with_context(|| format!("{}: Flux never pruned `{}`", case.what, case.name))?;
    until(&mut p.catalog, &r, t0, &mut trace, "gone", |e| e.is_none()).await?;
    if let Some(xr_ref) = xr_ref {
        let mut xr_trace = Trace::default();
        until(&mut p.catalog, &xr_ref, t0, &mut xr_trace, "XR gone", |e| {
            e.is_none()
        })
        .await?;
    }
    eprintln!(
        "figure: {} delete → pull request {} → pruned by Flux and deleted by Crossplane {} → gone from osp {}",
        case.what,
        secs(proposed),
        secs(merged + gone),
        secs(t0.elapsed())
    );
    Ok(())
}

/// Polls `check` until it holds; how long that took.
async fn poll<F, Fut>(timeout: Duration, check: F) -> Result<Duration>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let t0 = Instant::now();
    loop {
        if check().await? {
            return Ok(t0.elapsed());
        }
        if t0.elapsed() > timeout {
            bail!("not within {}", secs(timeout));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// A pull request of one file change into the repository's `main`, as the
/// scaffolder action and the Resource's delete action send it.
fn pull_request(
    case: &Case,
    file: pb::FileChange,
    title: String,
    idempotency_key: String,
) -> pb::CreatePullRequestRequest {
    pb::CreatePullRequestRequest {
        repository: REPO.into(),
        base_branch: "main".into(),
        files: vec![file],
        title,
        idempotency_key,
        update_kustomization: case.kustomization,
        ..Default::default()
    }
}
