//! The local Git target: commit a plan on its branch in a repository on
//! disk (bare or not) with libgit2, without touching any work tree or index.
//! Same layout and idempotency rules as GitHub: the branch derives from the
//! idempotency key, commits build on the branch head (never rewriting it),
//! and a request whose change is already there writes nothing.
//!
//! Blocking: call it from `tokio::task::spawn_blocking`.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use git2::{ErrorCode, FileMode, Oid, Repository, Signature, build::TreeUpdateBuilder};
use osp::publish::{ChangeKind, Entry, Plan, Published};

/// Who the commits are by, unless the repository configures `user.name`.
const DEFAULT_NAME: &str = "Open Service Portal";
const DEFAULT_EMAIL: &str = "osp@localhost";

/// Errors from publishing to a local repository.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The repository could not be opened.
    #[error("cannot open repository `{path}`: {message}")]
    OpenRepository { path: PathBuf, message: String },
    /// The base branch does not exist.
    #[error("base branch `{branch}` not found in `{path}`")]
    ResolveBase { path: PathBuf, branch: String },
    /// The request does not make a valid plan.
    #[error(transparent)]
    Plan(#[from] osp::publish::Error),
    /// A file could not be read from the tree.
    #[error("cannot read `{path}` on `{branch}`: {message}")]
    ReadFile {
        path: String,
        branch: String,
        message: String,
    },
    /// A path needs a folder where the branch has a file or symlink (or
    /// names a folder as a file): Git cannot hold both.
    #[error(
        "path `{path}` conflicts with `{existing}` on `{branch}`, which is a {kind} there: publish elsewhere or remove it first"
    )]
    PathConflict {
        path: String,
        existing: String,
        kind: &'static str,
        branch: String,
    },
    /// Objects could not be written.
    #[error("cannot write the commit on `{branch}`: {message}")]
    WriteCommit { branch: String, message: String },
    /// The branch moved or appeared while publishing.
    #[error("branch `{branch}` changed while publishing, retry the request: {message}")]
    UpdateBranch { branch: String, message: String },
}

/// Commits the plan in the repository at `path` on top of `base_branch`
/// (empty: the branch `HEAD` points to) or of the plan's branch when it
/// exists.
pub fn publish(path: &Path, base_branch: &str, plan: &Plan) -> Result<Published, Error> {
    let repo = Repository::open(path).map_err(|e| Error::OpenRepository {
        path: path.to_owned(),
        message: e.message().to_owned(),
    })?;
    let ref_name = format!("refs/heads/{}", plan.branch);
    let head = branch_head(&repo, &ref_name, &plan.branch)?;
    let parent = match &head {
        Some(c) => c.clone(),
        None => base_commit(&repo, path, base_branch)?,
    };
    let tree = parent.tree().map_err(write_err(&plan.branch))?;
    let current = current_files(&repo, &tree, plan)?;
    let entries = plan.for_entries(&current)?;
    let new_tree = updated_tree(&repo, &tree, &entries, &plan.branch)?;
    // A local repository has no web page: the change is the branch and its
    // commit, and the response carries no URL.
    if new_tree == tree.id() {
        return Ok(Published {
            // A new branch with nothing to change is not created: there is
            // nothing to propose.
            kind: if head.is_some() {
                ChangeKind::LocalBranch
            } else {
                ChangeKind::None
            },
            branch: plan.branch.clone(),
            commit_sha: head.map(|c| c.id().to_string()).unwrap_or_default(),
            unchanged: true,
            ..Published::default()
        });
    }
    let commit = commit_tree(&repo, new_tree, &parent, plan)?;
    move_branch(
        &repo,
        &ref_name,
        head.as_ref().map(|c| c.id()),
        commit,
        &plan.branch,
    )?;
    Ok(Published {
        kind: ChangeKind::LocalBranch,
        branch: plan.branch.clone(),
        commit_sha: commit.to_string(),
        created: head.is_none(),
        ..Published::default()
    })
}

/// Turns a libgit2 error into [`Error::WriteCommit`] on `branch`.
fn write_err(branch: &str) -> impl Fn(git2::Error) -> Error + '_ {
    move |e| Error::WriteCommit {
        branch: branch.to_owned(),
        message: e.message().to_owned(),
    }
}

/// The commit the plan's branch points to; `None` when it does not exist yet.
fn branch_head<'r>(
    repo: &'r Repository,
    ref_name: &str,
    branch: &str,
) -> Result<Option<git2::Commit<'r>>, Error> {
    match repo.find_reference(ref_name) {
        Ok(r) => Ok(Some(r.peel_to_commit().map_err(write_err(branch))?)),
        Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
        Err(e) => Err(write_err(branch)(e)),
    }
}

/// The content in `tree` of every file the plan needs to read.
fn current_files(
    repo: &Repository,
    tree: &git2::Tree<'_>,
    plan: &Plan,
) -> Result<BTreeMap<String, Option<String>>, Error> {
    let mut current = BTreeMap::new();
    for p in plan.reads() {
        let content = read(repo, tree, &p).map_err(|message| Error::ReadFile {
            path: p.clone(),
            branch: plan.branch.clone(),
            message,
        })?;
        current.insert(p, content);
    }
    Ok(current)
}

/// Writes the entries' blobs and the tree they make on top of `tree`;
/// refuses path conflicts before writing anything.
fn updated_tree(
    repo: &Repository,
    tree: &git2::Tree<'_>,
    entries: &[Entry],
    branch: &str,
) -> Result<Oid, Error> {
    for e in entries {
        if let Entry::Write { path, .. } = e {
            check_conflict(tree, path, branch)?;
        }
    }
    let mut update = TreeUpdateBuilder::new();
    for e in entries {
        match e {
            Entry::Write { path, content } => {
                let blob = repo.blob(content.as_bytes()).map_err(write_err(branch))?;
                update.upsert(path, blob, FileMode::Blob);
            }
            Entry::Delete { path } => {
                update.remove(path);
            }
        }
    }
    update.create_updated(repo, tree).map_err(write_err(branch))
}

/// Writes the commit of `tree` on `parent`, by the repository's configured
/// user or else ours; the branch is not moved.
fn commit_tree(
    repo: &Repository,
    tree: Oid,
    parent: &git2::Commit<'_>,
    plan: &Plan,
) -> Result<Oid, Error> {
    let tree = repo.find_tree(tree).map_err(write_err(&plan.branch))?;
    let sig = repo
        .signature()
        .or_else(|_| Signature::now(DEFAULT_NAME, DEFAULT_EMAIL))
        .map_err(write_err(&plan.branch))?;
    repo.commit(None, &sig, &sig, &plan.message, &tree, &[parent])
        .map_err(write_err(&plan.branch))
}

/// Refuses a write whose folders are files or symlinks in `tree` (a
/// committed symlinked folder, say), or whose path is a folder: libgit2
/// would fail with a "D/F conflict" the caller cannot act on.
fn check_conflict(tree: &git2::Tree<'_>, path: &str, branch: &str) -> Result<(), Error> {
    let conflict = |existing: &str, kind| Error::PathConflict {
        path: path.to_owned(),
        existing: existing.to_owned(),
        kind,
        branch: branch.to_owned(),
    };
    let mut prefix = 0;
    for segment in path.split('/') {
        prefix += segment.len();
        let here = &path[..prefix];
        let last = prefix == path.len();
        if let Ok(entry) = tree.get_path(Path::new(here)) {
            match (entry.kind(), last) {
                (Some(git2::ObjectType::Tree), true) => return Err(conflict(here, "folder")),
                (Some(git2::ObjectType::Tree), false) | (_, true) => {}
                (_, false) if entry.filemode() == i32::from(FileMode::Link) => {
                    return Err(conflict(here, "symlink"));
                }
                (_, false) => return Err(conflict(here, "file")),
            }
        }
        prefix += 1;
    }
    Ok(())
}

fn base_commit<'r>(
    repo: &'r Repository,
    path: &Path,
    base_branch: &str,
) -> Result<git2::Commit<'r>, Error> {
    let missing = |branch: &str| Error::ResolveBase {
        path: path.to_owned(),
        branch: branch.to_owned(),
    };
    let reference = match base_branch {
        "" => repo.head().map_err(|_| missing("HEAD"))?,
        b => repo
            .find_reference(&format!("refs/heads/{b}"))
            .map_err(|_| missing(b))?,
    };
    reference
        .peel_to_commit()
        .map_err(|_| missing(reference.shorthand().unwrap_or(base_branch)))
}

fn read(repo: &Repository, tree: &git2::Tree<'_>, path: &str) -> Result<Option<String>, String> {
    let entry = match tree.get_path(Path::new(path)) {
        Ok(e) => e,
        Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(e.message().to_owned()),
    };
    let object = entry.to_object(repo).map_err(|e| e.message().to_owned())?;
    let blob = object.as_blob().ok_or("not a file")?;
    String::from_utf8(blob.content().to_vec())
        .map(Some)
        .map_err(|_| "content is not UTF-8".to_owned())
}

/// Points the branch at `commit` only if it still is where we read it
/// (compare-and-swap), so a concurrent writer's commit is never lost.
fn move_branch(
    repo: &Repository,
    ref_name: &str,
    expected: Option<Oid>,
    commit: Oid,
    branch: &str,
) -> Result<(), Error> {
    let log = format!("osp: publish on {branch}");
    let result = match expected {
        Some(old) => repo
            .reference_matching(ref_name, commit, true, old, &log)
            .map(drop),
        None => repo.reference(ref_name, commit, false, &log).map(drop),
    };
    result.map_err(|e| Error::UpdateBranch {
        branch: branch.to_owned(),
        message: e.message().to_owned(),
    })
}
