//! The local Git target against real repositories in a temporary folder.
use std::collections::BTreeMap;
use std::path::Path;

use git2::{Repository, Signature};
use osp::publish::{Change, ChangeKind, Layout, Plan, Request, for_plan};
use osp_sidecar::gitlocal::{self, Error};

const FILE: &str = "clusters/dev/team-a/db1.yaml";

/// A repository (bare or not) with `main` holding one file.
fn repository(dir: &Path, bare: bool) -> Repository {
    let repo = if bare {
        Repository::init_bare(dir)
    } else {
        Repository::init(dir)
    }
    .expect("init");
    {
        let blob = repo.blob(b"# gitops\n").expect("blob");
        let mut tb = repo.treebuilder(None).expect("treebuilder");
        tb.insert("README.md", blob, 0o100644).expect("insert");
        let tree = repo
            .find_tree(tb.write().expect("tree"))
            .expect("find tree");
        let sig = Signature::now("test", "test@example.com").expect("sig");
        repo.commit(Some("refs/heads/main"), &sig, &sig, "init", &tree, &[])
            .expect("commit");
        repo.set_head("refs/heads/main").expect("head");
    }
    repo
}

fn plan(changes: Vec<(&str, Option<&str>)>, kustomize: bool) -> Plan {
    let request = Request {
        changes: changes
            .into_iter()
            .map(|(p, c)| Change {
                path: p.into(),
                content: c.map(str::to_owned),
            })
            .collect(),
        idempotency_key: "claim/team-a/db1".into(),
        title: "Add db1".into(),
        requested_by: "user:default/jane".into(),
        update_kustomization: kustomize,
        ..Request::default()
    };
    let layout = Layout {
        base: "clusters".into(),
        ..Layout::default()
    };
    for_plan(&request, &layout).expect("plan")
}

/// Every file on a branch.
fn files(repo: &Repository, branch: &str) -> BTreeMap<String, String> {
    let tree = repo
        .find_reference(&format!("refs/heads/{branch}"))
        .and_then(|r| r.peel_to_tree())
        .expect("branch tree");
    let mut out = BTreeMap::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if let Some(Ok(blob)) = entry.to_object(repo).ok().map(|o| o.into_blob()) {
            let name = format!("{dir}{}", entry.name().unwrap_or_default());
            out.insert(name, String::from_utf8_lossy(blob.content()).into_owned());
        }
        git2::TreeWalkResult::Ok
    })
    .expect("walk");
    out
}

#[test]
fn commits_land_on_the_branch_with_the_expected_tree() {
    for bare in [true, false] {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = repository(dir.path(), bare);
        let plan = plan(vec![(FILE, Some("kind: XPostgreSQLInstance\n"))], true);
        let out = gitlocal::publish(dir.path(), "main", &plan).expect("publish");
        assert!(out.created && !out.unchanged, "bare={bare}");
        assert_eq!(out.kind, ChangeKind::LocalBranch, "bare={bare}");
        assert_eq!(
            out.url, "",
            "bare={bare}: a local repository has no web page"
        );
        assert_eq!(out.number, 0);
        let want = BTreeMap::from([
            ("README.md".to_owned(), "# gitops\n".to_owned()),
            (FILE.to_owned(), "kind: XPostgreSQLInstance\n".to_owned()),
            (
                "clusters/dev/team-a/kustomization.yaml".to_owned(),
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- db1.yaml\n"
                    .to_owned(),
            ),
        ]);
        assert_eq!(files(&repo, &out.branch), want, "bare={bare}");
        let commit = repo
            .find_commit(git2::Oid::from_str(&out.commit_sha).expect("oid"))
            .expect("commit");
        assert!(
            commit
                .message()
                .unwrap_or_default()
                .contains("Osp-Idempotency-Key: claim/team-a/db1")
        );
        assert_eq!(
            commit.parent_id(0).expect("parent"),
            repo.refname_to_id("refs/heads/main").expect("main")
        );
        // main is untouched.
        assert_eq!(files(&repo, "main").len(), 1);
    }
}

#[test]
fn second_identical_request_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = repository(dir.path(), true);
    let plan = plan(vec![(FILE, Some("a: 1\n"))], true);
    let first = gitlocal::publish(dir.path(), "", &plan).expect("first");
    let refs_before = repo.references().expect("refs").count();
    let second = gitlocal::publish(dir.path(), "", &plan).expect("second");
    assert!(second.unchanged && !second.created);
    assert_eq!(second.commit_sha, first.commit_sha);
    assert_eq!(
        second.kind,
        ChangeKind::LocalBranch,
        "the branch still holds the change"
    );
    assert_eq!(repo.references().expect("refs").count(), refs_before);
}

#[test]
fn nothing_to_propose_makes_no_branch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = repository(dir.path(), true);
    // Deleting a file that is not there: the base already holds the change.
    let out =
        gitlocal::publish(dir.path(), "main", &plan(vec![(FILE, None)], false)).expect("publish");
    assert_eq!(out.kind, ChangeKind::None);
    assert!(out.unchanged && !out.created);
    assert_eq!((out.url.as_str(), out.commit_sha.as_str()), ("", ""));
    assert!(
        repo.find_reference(&format!("refs/heads/{}", out.branch))
            .is_err(),
        "no branch was created"
    );
}

#[test]
fn updates_build_on_the_branch_head_and_delete_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = repository(dir.path(), true);
    let first = gitlocal::publish(
        dir.path(),
        "main",
        &plan(vec![(FILE, Some("a: 1\n"))], true),
    )
    .expect("first");
    // Someone else commits on the branch meanwhile.
    let head = repo
        .find_commit(git2::Oid::from_str(&first.commit_sha).expect("oid"))
        .expect("head");
    let mut tb = repo
        .treebuilder(Some(&head.tree().expect("tree")))
        .expect("tb");
    tb.insert("NOTES.md", repo.blob(b"note\n").expect("blob"), 0o100644)
        .expect("insert");
    let tree = repo.find_tree(tb.write().expect("write")).expect("tree");
    let sig = Signature::now("other", "other@example.com").expect("sig");
    let theirs = repo
        .commit(
            Some(&format!("refs/heads/{}", first.branch)),
            &sig,
            &sig,
            "note",
            &tree,
            &[&head],
        )
        .expect("their commit");

    let second =
        gitlocal::publish(dir.path(), "main", &plan(vec![(FILE, None)], true)).expect("delete");
    assert!(!second.created && !second.unchanged);
    let got = files(&repo, &second.branch);
    assert!(!got.contains_key(FILE));
    assert_eq!(got["NOTES.md"], "note\n", "their commit kept");
    assert_eq!(
        got["clusters/dev/team-a/kustomization.yaml"],
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n"
    );
    let commit = repo
        .find_commit(git2::Oid::from_str(&second.commit_sha).expect("oid"))
        .expect("commit");
    assert_eq!(commit.parent_id(0).expect("parent"), theirs);
}

#[test]
fn reports_a_missing_base_branch() {
    let dir = tempfile::tempdir().expect("tempdir");
    repository(dir.path(), true);
    let err = gitlocal::publish(
        dir.path(),
        "develop",
        &plan(vec![(FILE, Some("a\n"))], false),
    )
    .expect_err("no develop");
    assert!(matches!(err, Error::ResolveBase { .. }), "{err}");
    assert!(err.to_string().contains("`develop`"), "{err}");
}

#[test]
fn osp_publish_commits_to_a_local_repository() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = repository(dir.path(), true);
    let manifest = dir.path().join("db1.yaml");
    std::fs::write(&manifest, "kind: XPostgreSQLInstance\n").expect("write");
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_osp"))
            .args([
                "publish",
                "--repository",
                "gitops",
                "--key",
                "claim/team-a/db1",
            ])
            .args(["--base", "clusters", "--kustomization", "--local"])
            .arg(dir.path())
            .arg("--file")
            .arg(format!("{FILE}={}", manifest.display()))
            .output()
            .expect("run osp")
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let out: serde_json::Value = serde_json::from_slice(&first.stdout).expect("json");
    assert_eq!(out["created"], true);
    assert_eq!(out["changeKind"], "CHANGE_KIND_LOCAL_BRANCH");
    assert_eq!(out["url"], "", "no web URL for a local repository");
    let branch = out["branch"].as_str().expect("branch");
    assert_eq!(files(&repo, branch)[FILE], "kind: XPostgreSQLInstance\n");
    let second: serde_json::Value = serde_json::from_slice(&run().stdout).expect("json");
    assert_eq!(second["unchanged"], true);
}

/// A committed symlinked folder (or a file where a folder is needed) used to
/// fail with libgit2's "D/F conflict when updating tree", answered INTERNAL.
#[test]
fn a_file_or_symlink_where_a_folder_is_needed_is_a_conflict() {
    struct Case {
        reason: &'static str,
        path: &'static str,
        want: Option<(&'static str, &'static str)>,
    }
    let cases = [
        Case {
            reason: "through a committed symlink to a folder",
            path: "clusters/link/db1.yaml",
            want: Some(("clusters/link", "symlink")),
        },
        Case {
            reason: "through a committed file",
            path: "clusters/notes.yaml/db1.yaml",
            want: Some(("clusters/notes.yaml", "file")),
        },
        Case {
            reason: "a file where a folder is",
            path: "clusters/dev",
            want: Some(("clusters/dev", "folder")),
        },
        Case {
            reason: "next to them is fine",
            path: "clusters/dev/db2.yaml",
            want: None,
        },
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = repository(dir.path(), true);
    {
        // main: clusters/link -> dev (symlink), clusters/notes.yaml, clusters/dev/a.yaml
        let blob = |b: &[u8]| repo.blob(b).expect("blob");
        let mut dev = repo.treebuilder(None).expect("treebuilder");
        dev.insert("a.yaml", blob(b"a: 1\n"), 0o100644)
            .expect("insert");
        let dev = dev.write().expect("tree");
        let mut clusters = repo.treebuilder(None).expect("treebuilder");
        clusters.insert("dev", dev, 0o040000).expect("insert");
        clusters
            .insert("link", blob(b"dev"), 0o120000)
            .expect("insert");
        clusters
            .insert("notes.yaml", blob(b"n: 1\n"), 0o100644)
            .expect("insert");
        let clusters = clusters.write().expect("tree");
        let main = repo.find_reference("refs/heads/main").expect("main");
        let parent = main.peel_to_commit().expect("commit");
        let mut root = repo
            .treebuilder(Some(&parent.tree().expect("tree")))
            .expect("treebuilder");
        root.insert("clusters", clusters, 0o040000).expect("insert");
        let tree = repo.find_tree(root.write().expect("tree")).expect("tree");
        let sig = Signature::now("test", "test@example.com").expect("sig");
        repo.commit(
            Some("refs/heads/main"),
            &sig,
            &sig,
            "links",
            &tree,
            &[&parent],
        )
        .expect("commit");
    }
    for c in cases {
        let got = gitlocal::publish(
            dir.path(),
            "main",
            &plan(vec![(c.path, Some("x: 1\n"))], false),
        );
        match (got, c.want) {
            (Ok(_), None) => {}
            (Err(Error::PathConflict { existing, kind, .. }), Some((e, k))) => {
                assert_eq!((existing.as_str(), kind), (e, k), "{}", c.reason);
            }
            (got, want) => panic!("{}: got {got:?}, want {want:?}", c.reason),
        }
    }
}
